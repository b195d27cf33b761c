//! The authentication kernel's storage: the [`AuthenticationStore`] trait, implemented in
//! `sql/authentication.rs`. An attempt is counted before its factor is verified
//! (`reserve_attempt`), and a verified factor takes effect in one transaction (`complete`):
//! the lock cleared, what is single-use consumed, the password, revocation and session written.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{MemberId, ProjectId, SessionId, UserId};
use latchkey_core::members::Member;
use latchkey_core::sessions::{MemberSession, Session};
use latchkey_core::users::User;

use crate::*;

/// Which sessions of the user end when a login or reset completes.
#[derive(Clone, Debug)]
pub enum Revocation {
    None,
    /// Every session except this one (if any).
    AllExcept(Option<SessionId>),
}

pub use latchkey_core::principal::PrincipalId;

/// The writes that make a user's authentication (or reset) take effect, all in one
/// transaction.
#[derive(Clone, Debug)]
pub struct UserCompletion {
    pub user_id: UserId,
    pub password: PasswordWrite,
    pub revoke: Revocation,
    pub session: Option<SessionWrite>,
    /// The TOTP step or recovery code the authentication uses up.
    pub consume: Option<Consume>,
}

/// A successful member authentication, written in one transaction: the lock cleared, the
/// TOTP step or recovery code used up, a pending member activated, the MFA preferences
/// applied, the session written.
#[derive(Clone, Debug)]
pub struct MemberCompletion {
    pub member_id: MemberId,
    pub consume: Option<Consume>,
    pub set_mfa_enrolled: Option<bool>,
    pub set_default_mfa_method: Option<String>,
    pub session: MemberSessionWrite,
}

/// A successful authentication of either principal.
#[derive(Clone, Debug)]
pub enum Completion {
    User(UserCompletion),
    Member(MemberCompletion),
}

/// The principal as it is after its authentication, and the session written.
#[derive(Clone, Debug)]
pub enum Completed {
    User(User, Option<Session>),
    Member(Member, MemberSession),
}

#[async_trait]
pub trait AuthenticationStore: Send + Sync {
    /// Counts one authentication attempt against the user or member before it is verified, by
    /// the project's lock policy: refuses with `Refusal::UserLocked` while a lock is active, and
    /// locks when the count reaches the threshold. Counting before verifying means concurrent
    /// guesses can never verify more than `lock_threshold` secrets between two successes.
    async fn reserve_attempt(
        &self,
        project_id: &ProjectId,
        principal: &PrincipalId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A successful authentication, in one transaction: clears the failure count and any lock,
    /// uses up what is single-use, then applies the principal's writes (users: password,
    /// revocation; members: activation, MFA preferences) and the session.
    async fn complete(
        &self,
        project_id: &ProjectId,
        completion: Completion,
        now: DateTime<Utc>,
    ) -> Result<Completed, StoreError>;
}
