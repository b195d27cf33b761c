//! `POST /v1/passwords/authenticate`: email and password, upgrading legacy hashes to argon2id.

use super::*;

/// A verified email-and-password pair: whose it is, the factor it counts as, and the hash
/// upgrade it calls for.
pub(super) struct Verified {
    pub(super) user_id: latchkey_core::ids::UserId,
    pub(super) factor: AuthenticationFactor,
    pub(super) upgrade: PasswordWrite,
    /// The attempt it proved, for the completion to reset.
    pub(super) attempt: Attempt,
}

/// Checks `password` for the user of `email`, counting the attempt toward the user's lock.
/// Legacy (or differently tuned) hashes come back with their argon2id replacement.
pub(super) async fn verify_login(
    state: &AppState,
    project: &ProjectRecord,
    email: &Email,
    password: String,
    now: DateTime<Utc>,
) -> Result<Verified, ApiError> {
    let project_id = &project.project_id;
    let login = state
        .store
        .password_login(project_id, email)
        .await?
        .ok_or(StoreError::NotFound(Missing::Email))?;
    let attempt = authentication::reserve_attempt(
        state,
        project,
        PrincipalId::User(login.user_id.clone()),
        Factor::Password,
        now,
    )
    .await?;
    let Some(stored) = login.password else {
        // No password to be right: as wrong as a wrong one.
        return Err(attempt
            .failed(state, project, PasswordError::Unauthorized)
            .await);
    };
    let settings = state.argon2;
    let hash = stored.hash.clone();
    // The replacement hashes the password exactly as sent, every byte of it: a password over
    // bcrypt's 72 bytes that matched by its first 72 leaves only itself able to log in.
    let verified = state
        .hashing
        .run(project_id, move || {
            match hash.verify(&password, &settings) {
                Ok(true) => {
                    let replacement = hash
                        .needs_upgrade(&settings)
                        .then(|| hash_password(&password, &settings).ok())
                        .flatten();
                    (Ok(true), replacement)
                }
                other => (other, None),
            }
        })
        .await;
    let (verdict, replacement) = match verified {
        Ok(verified) => verified,
        // The hash was never judged (the pool is full or gone): no failure.
        Err(error) => {
            attempt.release(state, project).await;
            return Err(error);
        }
    };
    if let Err(over_budget) = &verdict {
        // Written before its bound (or by hand): refused without computing it. The login fails
        // like a wrong password, so nothing about the account leaks; the operator learns which
        // account must reset its password.
        tracing::warn!(
            user_id = %login.user_id,
            hash = stored.hash.kind(),
            reason = %over_budget,
            "a stored password hash costs more than a login may; the password must be reset"
        );
    }
    let matched = matches!(verdict, Ok(true));
    let ((), attempt) = attempt
        .judge(
            state,
            project,
            matched.then_some(()),
            PasswordError::Unauthorized,
        )
        .await?;
    if stored.requires_reset {
        // The right password, but it must be reset first: the attempt still counts as a success.
        state
            .store
            .complete(
                project_id,
                Completion::User(UserCompletion {
                    user_id: login.user_id.clone(),
                    password: PasswordWrite::Keep,
                    revoke: Revocation::None,
                    session: None,
                    consume: None,
                    attempt: Some(attempt.factor()),
                }),
                now,
            )
            .await?;
        return Err(PasswordError::MustReset.into());
    }
    let upgrade = match replacement {
        Some(to) => PasswordWrite::Upgrade {
            from: stored.hash_text,
            to,
        },
        None => PasswordWrite::Keep,
    };
    Ok(Verified {
        user_id: login.user_id,
        factor: AuthenticationFactor::password(login.email_id, login.email, now),
        upgrade,
        attempt,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordAuthenticateRequest {
    email: Option<String>,
    password: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

/// Log a user in by email and password. A legacy hash is upgraded to argon2id in the same
/// transaction; wrong passwords count toward the user's lock.
#[utoipa::path(post, path = "/v1/passwords/authenticate", tag = "passwords",
    operation_id = "passwords.authenticate", request_body = PasswordAuthenticateRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<AuthenticatedResponse>)))]
pub(super) async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<PasswordAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let email = required_email(request.email)?;
    let password = required_password("password", request.password)?;
    let session_request = request.session.parse()?;
    let now = Utc::now();
    let verified = verify_login(&state, &auth.project, &email, password, now).await?;
    let principal = Principal::User {
        user_id: verified.user_id,
        password: verified.upgrade,
        revoke_other_sessions: false,
    };
    let proof = Proof {
        factor: Some(verified.factor),
        consume: None,
        attempt: Some(verified.attempt),
    };
    let body = authentication::complete(&state, &auth, principal, &session_request, proof, now)
        .await?
        .user()?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
