//! B2B member sessions: the [`MemberSessionStore`] trait, implemented in
//! `sql/member_sessions.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{MemberId, MemberSessionId, ProjectId};
use latchkey_core::secret::SecretDigest;
use latchkey_core::sessions::{AuthenticationFactor, MemberSession};
use serde_json::{Map, Value};

use crate::*;

/// A member session to start.
#[derive(Clone, Debug)]
pub struct NewMemberSession {
    pub member_session_id: MemberSessionId,
    pub token_digest: SecretDigest,
    pub expires_at: DateTime<Utc>,
    pub custom_claims: Map<String, Value>,
    /// Factors proven before this one, in an intermediate session this one completes.
    pub earlier_factors: Vec<AuthenticationFactor>,
}

/// The session part of a member's authentication.
#[derive(Clone, Debug)]
pub enum MemberSessionWrite {
    Start(NewMemberSession, AuthenticationFactor),
    /// A presented session of the member, already updated (factor recorded, expiry moved).
    Continue(MemberSession),
    /// MFA is owed: an intermediate session bound to the member, instead of a session.
    Intermediate(crate::NewIntermediateSession),
}

#[async_trait]
pub trait MemberSessionStore: Send + Sync {
    async fn member_session_by_token(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
    ) -> Result<Option<MemberSession>, StoreError>;

    async fn member_session_by_id(
        &self,
        project_id: &ProjectId,
        member_session_id: &MemberSessionId,
    ) -> Result<Option<MemberSession>, StoreError>;

    /// Writes a presented session's new access time, expiry and claims.
    async fn save_member_session(
        &self,
        project_id: &ProjectId,
        session: &MemberSession,
    ) -> Result<(), StoreError>;

    /// The member's sessions that have not expired, newest first.
    async fn member_sessions(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        now: DateTime<Utc>,
    ) -> Result<Vec<MemberSession>, StoreError>;

    /// Ends every session of the member.
    async fn revoke_all_member_sessions(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
    ) -> Result<(), StoreError>;

    /// Ends a member session; `Missing::Session` when there is none.
    async fn revoke_member_session(
        &self,
        project_id: &ProjectId,
        member_session_id: &MemberSessionId,
    ) -> Result<(), StoreError>;
}
