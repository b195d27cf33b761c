//! Consumer sessions: the [`SessionStore`] trait and the session a completing authentication
//! writes, implemented in `sql/sessions.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{ProjectId, SessionId};
use latchkey_core::secret::SecretDigest;
use latchkey_core::sessions::{AuthenticationFactor, Session};
use latchkey_core::users::UserRef;
use serde_json::{Map, Value};

use crate::*;

/// A session about to start: everything but its user and first factor.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub session_id: SessionId,
    pub token_digest: SecretDigest,
    pub expires_at: DateTime<Utc>,
    pub custom_claims: Map<String, Value>,
}

/// The session a completing authentication starts or continues.
#[derive(Clone, Debug)]
pub enum SessionWrite {
    /// A new session whose first factor is the authentication's.
    Start(NewSession, AuthenticationFactor),
    /// An existing session of the same user, already updated by the caller.
    Continue(Session),
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn session_by_token(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
    ) -> Result<Option<Session>, StoreError>;

    async fn session_by_id(
        &self,
        project_id: &ProjectId,
        session_id: &SessionId,
    ) -> Result<Option<Session>, StoreError>;

    /// Writes a session's access time, expiry, factors and claims back; `NotFound(Session)` if it
    /// was revoked meanwhile.
    async fn save_session(
        &self,
        project_id: &ProjectId,
        session: &Session,
    ) -> Result<(), StoreError>;

    async fn revoke_session(
        &self,
        project_id: &ProjectId,
        session_id: &SessionId,
    ) -> Result<(), StoreError>;

    /// The user's sessions that have not expired.
    async fn list_sessions(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError>;
}
