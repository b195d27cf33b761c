//! The authentication kernel. Every login method is: parse the request (its session options
//! into a [`SessionRequest`] first, so a bad request is refused before any secret is checked),
//! prove the factor, then [`complete`]. Proving is the product's business (a password hash, a
//! TOTP code, a recovery code, later a magic link or an OAuth callback); what follows a proven
//! factor is the same for a user and a member, and happens here:
//! - the attempt is reserved before the factor is checked ([`reserve_attempt`], by the core's
//!   `LockPolicy`, each factor counted on its own); only a wrong secret ends it as a failure
//!   ([`Attempt::judge`]), a success resets its count in the completing transaction, and a
//!   request that fails otherwise releases it;
//! - the session is planned by the core's `SessionPlan` (start, extend, attach the factor to the
//!   presented session);
//! - one store transaction clears the lock, uses up what is single-use, applies the principal's
//!   writes and writes the session;
//! - the answer carries the principal, its session and a fresh JWT.

use chrono::{DateTime, Utc};
use latchkey_core::lock::Factor;
use latchkey_core::members::Member;
use latchkey_core::organizations::Organization;
use latchkey_core::principal::PrincipalId;
use latchkey_core::sessions::intermediate::IntermediateSession;
use latchkey_core::sessions::{AuthenticationFactor, Session, SessionRequest};
use latchkey_store::{
    AttemptOutcome, Completed, Completion, Consume, MemberCompletion, PasswordWrite, ProjectRecord,
    Revocation, SessionWrite, UserCompletion,
};

use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::stytch::b2b::sessions::{plan_member_session, IstToken, MemberSessionResponse};
use crate::stytch::sessions::{authenticated_body, plan_with, presented, AuthenticatedResponse};
use crate::AppState;

/// Who authenticates, with what its completion writes besides lock, consumption and session.
pub enum Principal<'a> {
    User {
        user_id: latchkey_core::ids::UserId,
        password: PasswordWrite,
        /// End every other session of the user (a password reset does).
        revoke_other_sessions: bool,
    },
    Member {
        organization: &'a Organization,
        member: &'a Member,
        set_mfa_enrolled: Option<bool>,
        set_default_mfa_method: Option<String>,
        /// The intermediate session this factor completes (checked by the caller with
        /// `intermediate_for`), used up by the completion.
        intermediate: Option<(IstToken, IntermediateSession)>,
        /// Written first in the completion: a new organization and its first member (discovery),
        /// or the member alone (JIT provisioning).
        create: Option<Box<(Option<Organization>, Member)>>,
    },
}

/// What a product proved.
pub struct Proof {
    /// The factor to record in the session; `None` for a change made within the presented
    /// session (a password reset by session), which then starts none.
    pub factor: Option<AuthenticationFactor>,
    /// The TOTP step or recovery code the authentication uses up.
    pub consume: Option<Consume>,
    /// The attempt that proved it, whose count the completion resets.
    pub attempt: Option<Attempt>,
}

/// An attempt reserved against a principal's factor before its secret is checked. It ends as
/// a failure when the secret is wrong ([`Attempt::judge`]), as a success in [`complete`], or
/// released when the request fails for another reason; one that is simply dropped (its
/// request timed out) lapses with its lease and counts nothing.
#[must_use = "an attempt ends as a failure, a success or a release"]
pub struct Attempt {
    principal: PrincipalId,
    factor: Factor,
}

impl Attempt {
    /// Ends the attempt by what proving the factor found: `Some` is a right secret, carried on
    /// with the attempt to [`complete`]; `None` a wrong one, counted as a failure and answered
    /// with `wrong`.
    pub async fn judge<T>(
        self,
        state: &AppState,
        project: &ProjectRecord,
        proven: Option<T>,
        wrong: impl Into<ApiError>,
    ) -> Result<(T, Attempt), ApiError> {
        match proven {
            Some(proven) => Ok((proven, self)),
            None => Err(self.failed(state, project, wrong).await),
        }
    }

    /// Ends the attempt as a failure (its secret was wrong), answered with `wrong`.
    pub async fn failed(
        self,
        state: &AppState,
        project: &ProjectRecord,
        wrong: impl Into<ApiError>,
    ) -> ApiError {
        match self.end(state, project, AttemptOutcome::Failed).await {
            Ok(()) => wrong.into(),
            Err(error) => error,
        }
    }

    /// Ends the attempt with no verdict on its secret.
    pub async fn release(self, state: &AppState, project: &ProjectRecord) {
        if let Err(error) = self.end(state, project, AttemptOutcome::Released).await {
            // The reservation then lapses with its lease; nothing is counted either way.
            tracing::warn!(?error, "releasing an authentication attempt failed");
        }
    }

    async fn end(
        self,
        state: &AppState,
        project: &ProjectRecord,
        outcome: AttemptOutcome,
    ) -> Result<(), ApiError> {
        state
            .store
            .end_attempt(
                &project.project_id,
                &self.principal,
                self.factor,
                outcome,
                &project.settings,
                Utc::now(),
            )
            .await?;
        Ok(())
    }

    pub fn factor(&self) -> Factor {
        self.factor
    }
}

/// The answer to a completed authentication.
pub enum Answer {
    User(Box<AuthenticatedResponse>),
    Member(Box<MemberSessionResponse>),
}

impl Answer {
    pub fn user(self) -> Result<AuthenticatedResponse, ApiError> {
        match self {
            Answer::User(body) => Ok(*body),
            Answer::Member(_) => Err(mismatch()),
        }
    }

    pub fn member(self) -> Result<MemberSessionResponse, ApiError> {
        match self {
            Answer::Member(body) => Ok(*body),
            Answer::User(_) => Err(mismatch()),
        }
    }
}

fn mismatch() -> ApiError {
    tracing::error!("an authentication completed for another kind of principal");
    ApiError::internal()
}

/// Reserves one attempt of `principal`'s `factor` before its secret is checked.
pub async fn reserve_attempt(
    state: &AppState,
    project: &ProjectRecord,
    principal: PrincipalId,
    factor: Factor,
    now: DateTime<Utc>,
) -> Result<Attempt, ApiError> {
    state
        .store
        .reserve_attempt(
            &project.project_id,
            &principal,
            factor,
            &project.settings,
            now,
        )
        .await?;
    Ok(Attempt { principal, factor })
}

/// Proves a code (a TOTP code, a recovery code) for `principal`: reserves an attempt of
/// `factor`, then runs `check`. `Ok(None)` is a wrong code, counted and answered with `wrong`;
/// an `Err` is a check that could not be made, and releases the attempt. Gives the proof to
/// [`complete`] with.
pub async fn prove_code(
    state: &AppState,
    project: &ProjectRecord,
    principal: PrincipalId,
    factor: Factor,
    now: DateTime<Utc>,
    check: impl FnOnce() -> Result<Option<(AuthenticationFactor, Consume)>, ApiError>,
    wrong: impl Into<ApiError>,
) -> Result<Proof, ApiError> {
    let attempt = reserve_attempt(state, project, principal, factor, now).await?;
    let checked = match check() {
        Ok(checked) => checked,
        Err(error) => {
            attempt.release(state, project).await;
            return Err(error);
        }
    };
    let ((factor, consume), attempt) = attempt.judge(state, project, checked, wrong).await?;
    Ok(Proof {
        factor: Some(factor),
        consume: Some(consume),
        attempt: Some(attempt),
    })
}

/// Makes a proven factor take effect for `principal`, and answers with the principal and its
/// session. When it cannot (a presented session that is gone, a replayed code), the proving
/// attempt is released: a right secret is never counted as a failure.
pub async fn complete(
    state: &AppState,
    auth: &Authenticated,
    principal: Principal<'_>,
    request: &SessionRequest,
    mut proof: Proof,
    now: DateTime<Utc>,
) -> Result<Answer, ApiError> {
    let attempt = proof.attempt.take();
    let factor = attempt.as_ref().map(Attempt::factor);
    let answer = complete_with(state, auth, principal, request, proof, factor, now).await;
    if let (Err(_), Some(attempt)) = (&answer, attempt) {
        attempt.release(state, &auth.project).await;
    }
    answer
}

async fn complete_with(
    state: &AppState,
    auth: &Authenticated,
    principal: Principal<'_>,
    request: &SessionRequest,
    proof: Proof,
    attempt: Option<Factor>,
    now: DateTime<Utc>,
) -> Result<Answer, ApiError> {
    let project_id = &auth.project.project_id;
    match principal {
        Principal::User {
            user_id,
            password,
            revoke_other_sessions,
        } => {
            let presented =
                presented::<Session>(state, project_id, request.presented(), now).await?;
            let (session, token) =
                plan_with(project_id, &user_id, presented, request, proof.factor, now)?;
            let revoke = if revoke_other_sessions {
                let keep = match &session {
                    Some(SessionWrite::Continue(session)) => Some(session.session_id.clone()),
                    _ => None,
                };
                Revocation::AllExcept(keep)
            } else {
                Revocation::None
            };
            let completion = Completion::User(UserCompletion {
                user_id,
                password,
                revoke,
                session,
                consume: proof.consume,
                attempt,
            });
            let Completed::User(user, session) =
                state.store.complete(project_id, completion, now).await?
            else {
                return Err(mismatch());
            };
            let body =
                authenticated_body(state, project_id, &user, session.as_ref(), &token, now).await?;
            Ok(Answer::User(Box::new(body)))
        }
        Principal::Member {
            organization,
            member,
            set_mfa_enrolled,
            set_default_mfa_method,
            intermediate,
            create,
        } => {
            // Every member authentication proves a factor: a member session always has one.
            let factor = proof.factor.ok_or_else(|| {
                tracing::error!("a member authentication completed without a factor");
                ApiError::internal()
            })?;
            let (given, earlier) = match intermediate {
                Some((given, session)) => (Some(given), session.factors),
                None => (None, Vec::new()),
            };
            let digest = given.as_ref().map(|given| given.digest.clone());
            let (session, token) = plan_member_session(
                state,
                project_id,
                member,
                request,
                (factor, &earlier),
                organization.requires_mfa(member.mfa_enrolled),
                now,
            )
            .await?;
            let completion = Completion::Member(MemberCompletion {
                member_id: member.member_id.clone(),
                attempt,
                consume: proof.consume,
                set_mfa_enrolled,
                set_default_mfa_method,
                intermediate: digest,
                create,
                session,
            });
            let Completed::Member(member, session) =
                state.store.complete(project_id, completion, now).await?
            else {
                return Err(mismatch());
            };
            let body = match session {
                Some(session) => {
                    MemberSessionResponse::new(
                        state,
                        project_id,
                        &member,
                        organization,
                        &session,
                        &token,
                        now,
                    )
                    .await?
                }
                // Still short of MFA: an intermediate session given was extended in place and
                // keeps its token.
                None => {
                    let token = given.map_or(token, |given| given.token);
                    MemberSessionResponse::intermediate(&member, organization, &token, None, now)
                }
            };
            Ok(Answer::Member(Box::new(body)))
        }
    }
}
