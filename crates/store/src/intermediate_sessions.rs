//! B2B intermediate sessions: the [`IntermediateSessionStore`] trait, implemented in
//! `sql/intermediate_sessions.rs`. A member authentication that owes MFA writes one in its
//! completion (`MemberSessionWrite::Intermediate`); a discovery login writes one bound to the
//! email alone ([`IntermediateSessionStore::issue_intermediate_session`]). The completion that
//! turns it into a member session uses it up (`Consume::IntermediateSession`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::ProjectId;
use latchkey_core::secret::SecretDigest;
use latchkey_core::sessions::intermediate::IntermediateSession;
use latchkey_core::sessions::AuthenticationFactor;

use crate::*;

/// An intermediate session to write in a member's completion: bound to that member.
#[derive(Clone, Debug)]
pub struct NewIntermediateSession {
    pub token_digest: SecretDigest,
    /// The factors proven so far (the completion's own factor included).
    pub factors: Vec<AuthenticationFactor>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait IntermediateSessionStore: Send + Sync {
    /// Keeps an intermediate session (a discovery login's, bound to its email alone).
    async fn issue_intermediate_session(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
        session: &IntermediateSession,
    ) -> Result<(), StoreError>;

    /// Binds an active intermediate session to an organization's member (an exchange that
    /// still owes MFA): `NotFound(IntermediateSession)` if it is gone, expired, or bound to
    /// another. `create` is the member to write first (JIT provisioning), in the same
    /// transaction.
    async fn bind_intermediate_session(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
        member: &latchkey_core::members::Member,
        create: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The live members of every organization of the project with this email, each with its
    /// organization.
    async fn memberships(
        &self,
        project_id: &ProjectId,
        email: &str,
    ) -> Result<
        Vec<(
            latchkey_core::organizations::Organization,
            latchkey_core::members::Member,
        )>,
        StoreError,
    >;

    /// The organizations that name `domain` among their `email_allowed_domains` with
    /// `email_jit_provisioning: RESTRICTED`, and have a member of that domain whose email is
    /// verified (so a stranger cannot claim a domain by creating an organization for it).
    async fn jit_organizations(
        &self,
        project_id: &ProjectId,
        domain: &str,
    ) -> Result<Vec<latchkey_core::organizations::Organization>, StoreError>;

    /// The project's intermediate session of this token digest, expired or not.
    async fn intermediate_session(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
    ) -> Result<Option<IntermediateSession>, StoreError>;
}
