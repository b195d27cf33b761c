//! The authentication kernel's storage: the [`AuthenticationStore`] trait, implemented in
//! `sql/authentication.rs`. An attempt is counted before its factor is verified
//! (`reserve_attempt`), and a verified factor takes effect in one transaction (`complete`):
//! the lock cleared, what is single-use consumed, the password, revocation and session written.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{MemberId, ProjectId, SessionId, UserId};
use latchkey_core::member::Member;
use latchkey_core::session::{MemberSession, Session};
use latchkey_core::user::User;

use crate::*;

/// Which sessions of the user end when a login or reset completes.
#[derive(Clone, Debug)]
pub enum Revocation {
    None,
    /// Every session except this one (if any).
    AllExcept(Option<SessionId>),
}

/// The writes that make an authentication (or reset) take effect, all in one transaction.
#[derive(Clone, Debug)]
pub struct Completion {
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

#[async_trait]
pub trait AuthenticationStore: Send + Sync {
    /// Counts one authentication attempt against the user before it is verified, locking the
    /// user when the count reaches the threshold. Refuses with `Refusal::UserLocked` while a lock
    /// is active. Counting before verifying means concurrent guesses can never verify more than
    /// `lock_threshold` passwords between two successes.
    async fn reserve_attempt(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A successful authentication: clears the failure count and any lock, then applies the
    /// password, revocation and session writes. Returns the user and the session written.
    async fn complete(
        &self,
        project_id: &ProjectId,
        completion: Completion,
        now: DateTime<Utc>,
    ) -> Result<(User, Option<Session>), StoreError>;

    /// Counts a member's authentication attempt before it is checked, as `reserve_attempt`
    /// does for users.
    async fn reserve_member_attempt(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn complete_member(
        &self,
        project_id: &ProjectId,
        completion: MemberCompletion,
        now: DateTime<Utc>,
    ) -> Result<(Member, MemberSession), StoreError>;
}
