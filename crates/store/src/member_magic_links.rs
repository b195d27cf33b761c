//! B2B email magic links: the [`MemberMagicLinkStore`] trait, implemented in
//! `sql/member_magic_links.rs`. An organization link (login, sign-up, invite) is sent in one
//! transaction with its member (found, created by JIT provisioning, or invited), the send
//! limits and the sealed message; it is used up by the completing member authentication
//! (`Consume::MemberMagicLink`). A discovery link is bound to the email alone; its authenticate
//! uses it up and leaves an intermediate session in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::delivery::SendLimits;
use latchkey_core::ids::{MemberId, OrganizationId, ProjectId};
use latchkey_core::magic_links::LinkPurpose;
use latchkey_core::members::Member;
use latchkey_core::secret::SecretDigest;
use latchkey_core::sessions::intermediate::IntermediateSession;
use latchkey_core::values::Email;

use crate::*;

/// The member an organization link is for.
#[derive(Clone, Debug)]
pub enum MemberTarget {
    /// The organization's member of this email, found before the send (`Conflict` if it is
    /// gone meanwhile, so the caller looks again).
    Existing(MemberId),
    /// A new member (JIT provisioning, or an invite): `Conflict(DuplicateMemberEmail)` if one
    /// took the email meanwhile.
    Create(Box<Member>),
    /// An existing pending member, invited: it becomes `invited`.
    Invite(MemberId),
}

/// A link to keep.
#[derive(Clone, Debug)]
pub struct NewMemberLink {
    pub token_digest: CodeDigest,
    pub purpose: LinkPurpose,
    pub code_challenge: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// An organization link's send.
#[derive(Clone, Debug)]
pub struct MemberLinkSend {
    pub organization_id: OrganizationId,
    pub email: Email,
    pub target: MemberTarget,
    pub link: NewMemberLink,
    /// `None`: deliver nothing (a sandbox destination).
    pub message: Option<NewMessage>,
}

/// A link as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMemberLink {
    pub organization_id: Option<OrganizationId>,
    pub member_id: Option<MemberId>,
    pub email: String,
    pub purpose: LinkPurpose,
    pub code_challenge: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl StoredMemberLink {
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

#[async_trait]
pub trait MemberMagicLinkStore: Send + Sync {
    /// Sends an organization link (see the module); returns the member as it is after.
    async fn start_member_link(
        &self,
        project_id: &ProjectId,
        send: MemberLinkSend,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError>;

    /// Sends a discovery link to `email`.
    async fn start_discovery_link(
        &self,
        project_id: &ProjectId,
        email: &Email,
        link: NewMemberLink,
        message: Option<NewMessage>,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The project's link of this digest, used or not.
    async fn member_magic_link(
        &self,
        project_id: &ProjectId,
        token_digest: &CodeDigest,
    ) -> Result<Option<StoredMemberLink>, StoreError>;

    /// Uses up a discovery link and keeps the intermediate session it leaves, in one
    /// transaction: `Refusal::MagicLinkUnusable` if it was used or has expired meanwhile.
    async fn use_discovery_link(
        &self,
        project_id: &ProjectId,
        token_digest: &CodeDigest,
        intermediate: (&SecretDigest, &IntermediateSession),
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
