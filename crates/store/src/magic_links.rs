//! Magic-link tokens (email links, embedded tokens, password-reset links): the
//! [`MagicLinkStore`] trait, implemented in `sql/magic_links.rs`. Tokens arrive as keyed
//! digests; the store never sees one in the clear. A token is used up by the completion of the
//! authentication it proves ([`Consume::MagicLink`]), in that transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{EmailId, ProjectId, UserId};
use latchkey_core::magic_links::LinkPurpose;

use crate::*;

/// A token to keep.
#[derive(Clone, Debug)]
pub struct NewMagicLink {
    pub token_digest: CodeDigest,
    pub user_id: UserId,
    /// Where it was sent; `None` for an embedded token.
    pub email_id: Option<EmailId>,
    pub purpose: LinkPurpose,
    pub code_challenge: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// A token as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMagicLink {
    pub user_id: UserId,
    pub email_id: Option<EmailId>,
    pub purpose: LinkPurpose,
    pub code_challenge: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl StoredMagicLink {
    /// Whether it can still prove anything at `now`: unused and unexpired.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

#[async_trait]
pub trait MagicLinkStore: Send + Sync {
    /// Keeps a token for the project's user (`NotFound(User)` if the project has no such user,
    /// `NotFound(Email)` if the email is not the user's).
    async fn issue_magic_link(
        &self,
        project_id: &ProjectId,
        link: NewMagicLink,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The project's token with this digest, used or not.
    async fn magic_link(
        &self,
        project_id: &ProjectId,
        token_digest: &CodeDigest,
    ) -> Result<Option<StoredMagicLink>, StoreError>;
}
