//! The authentication kernel's storage: the [`AuthenticationStore`] trait, implemented in
//! `sql/authentication.rs`. An attempt is reserved before its factor is verified
//! (`reserve_attempt`); a wrong secret ends it as a failure (`end_attempt`), and a verified
//! factor takes effect in one transaction (`complete`): its count reset, what is single-use
//! consumed, the password, revocation and session written.

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

pub use latchkey_core::lock::Factor;
pub use latchkey_core::principal::PrincipalId;

/// How a reserved attempt ended, other than in success (which `complete` records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The secret was wrong: a failure.
    Failed,
    /// The request failed before or after its secret was judged, for another reason: no
    /// failure and no success.
    Released,
}

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
    /// The factor whose reserved attempt succeeded; its count starts afresh.
    pub attempt: Option<Factor>,
}

/// A successful member authentication, written in one transaction: the lock cleared, the
/// TOTP step or recovery code used up, a pending member activated, the MFA preferences
/// applied, the session written.
#[derive(Clone, Debug)]
pub struct MemberCompletion {
    pub member_id: MemberId,
    /// The factor whose reserved attempt succeeded; its count starts afresh.
    pub attempt: Option<Factor>,
    pub consume: Option<Consume>,
    pub set_mfa_enrolled: Option<bool>,
    pub set_default_mfa_method: Option<String>,
    /// The intermediate session this authentication completes, used up with it: only if it is
    /// still there, unexpired, and bound to nothing but this member's organization and member
    /// (`NotFound(IntermediateSession)` otherwise).
    pub intermediate: Option<latchkey_core::secret::SecretDigest>,
    /// Written first, in the same transaction: a new organization (created through discovery)
    /// and the member itself (JIT provisioning, or the new organization's first member).
    pub create: Option<Box<(Option<latchkey_core::organizations::Organization>, Member)>>,
    pub session: MemberSessionWrite,
}

/// A successful authentication of either principal.
#[derive(Clone, Debug)]
pub enum Completion {
    User(UserCompletion),
    Member(MemberCompletion),
}

/// The principal as it is after its authentication, and the session written (for a member
/// who owes MFA, none: an intermediate session was written instead).
#[derive(Clone, Debug)]
pub enum Completed {
    User(User, Option<Session>),
    Member(Member, Option<MemberSession>),
}

#[async_trait]
pub trait AuthenticationStore: Send + Sync {
    /// Reserves one attempt of `factor` against the user or member before its secret is
    /// checked, by the project's lock policy: refuses with `Refusal::UserLocked` while the
    /// account is locked, or while the factor's failures and attempts in flight make up the
    /// threshold, so concurrent guesses can never have more than `lock_threshold` secrets
    /// checked between a success and the lock.
    async fn reserve_attempt(
        &self,
        project_id: &ProjectId,
        principal: &PrincipalId,
        factor: Factor,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Ends a reserved attempt that did not succeed: a wrong secret counts as a failure (and
    /// the one that reaches the threshold locks the account); a release counts nothing.
    async fn end_attempt(
        &self,
        project_id: &ProjectId,
        principal: &PrincipalId,
        factor: Factor,
        outcome: AttemptOutcome,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A successful authentication, in one transaction: resets the succeeding factor's count
    /// (and clears a lock that has run out), uses up what is single-use, then applies the
    /// principal's writes (users: password, revocation; members: activation, MFA preferences)
    /// and the session.
    async fn complete(
        &self,
        project_id: &ProjectId,
        completion: Completion,
        now: DateTime<Utc>,
    ) -> Result<Completed, StoreError>;
}
