//! `POST /v1/totps/authenticate`: a TOTP code as a factor, once per time step.

use super::*;

/// The registration codes are checked against: the verified one, else the unverified one while
/// it has not expired.
pub fn current_totp(totps: Vec<StoredTotp>, now: DateTime<Utc>) -> Result<StoredTotp, ApiError> {
    let any = !totps.is_empty();
    match totps.into_iter().find(|totp| totp.is_usable(now)) {
        Some(totp) => Ok(totp),
        None if any => Err(TotpError::Expired.into()),
        None => Err(StoreError::NotFound(Missing::Totp).into()),
    }
}

/// Checks a TOTP code against `registration`: the factor it adds and the step to use up, or
/// `unable_to_authenticate_totp`. A replayed step passes here; the completion refuses it.
pub fn accept_code(
    vault: &Vault,
    project_id: &ProjectId,
    registration: StoredTotp,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<(AuthenticationFactor, Consume)>, ApiError> {
    let secret = open_secret(vault, project_id, &registration)?;
    let Some(step) = secret.matching_step(code, now.timestamp()) else {
        return Ok(None);
    };
    let factor = AuthenticationFactor::totp(registration.totp_id.clone(), now);
    let consume = Consume::TotpStep {
        totp_id: registration.totp_id,
        step,
    };
    Ok(Some((factor, consume)))
}

/// Checks a recovery code against `registration`: the factor it adds and the code to use up, or
/// `unable_to_authenticate_recovery_code`. Checked here so that a wrong guess costs no write; the
/// completion removes the code only if it is still there, which settles concurrent uses.
pub fn accept_recovery_code(
    vault: &Vault,
    registration: StoredTotp,
    code: &str,
    now: DateTime<Utc>,
) -> Option<(AuthenticationFactor, Consume)> {
    let digest = matching_digest(
        vault,
        &registration.recovery_codes,
        &registration.totp_id,
        code,
    )?;
    let factor = AuthenticationFactor::recovery_code(registration.totp_id.clone(), now);
    let consume = Consume::RecoveryCode {
        totp_id: registration.totp_id,
        digest,
    };
    Some((factor, consume))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpAuthenticateRequest {
    user_id: Option<String>,
    totp_code: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

#[derive(Serialize, ToSchema)]
pub struct TotpAuthenticatedResponse {
    #[serde(flatten)]
    authenticated: AuthenticatedResponse,
    /// The registration the code or recovery code belongs to.
    totp_id: String,
}

/// Check a code from the user's authenticator app; each code works once.
#[utoipa::path(post, path = "/v1/totps/authenticate", tag = "totps",
    operation_id = "totps.authenticate", request_body = TotpAuthenticateRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<TotpAuthenticatedResponse>)))]
pub(super) async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<TotpAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let user_ref = required_user(request.user_id)?;
    let code =
        given(request.totp_code).ok_or_else(|| ApiError::bad_request("totp_code is required."))?;
    check_code_shape(&code)?;
    let session_request = request.session.parse()?;
    let now = Utc::now();
    let user = find_user(&state, project_id, &user_ref).await?;
    let registration = current_totp(
        state.store.user_totps(project_id, &user.user_id).await?,
        now,
    )?;
    // Reserved before it is checked, like a password: concurrent guesses cannot pass the lock.
    let proof = authentication::prove_code(
        &state,
        &auth.project,
        PrincipalId::User(user.user_id.clone()),
        Factor::Totp,
        now,
        || accept_code(&state.vault, project_id, registration, &code, now),
        TotpError::Unauthenticated,
    )
    .await?;
    use_up(&state, &auth, user.user_id, &session_request, proof, now).await
}

/// Completes a TOTP or recovery-code authentication: plans the session, uses up the step or
/// code in the completing transaction, and answers with the session fields and `totp_id`.
pub(super) async fn use_up(
    state: &AppState,
    auth: &Authenticated,
    user_id: UserId,
    options: &SessionRequest,
    proof: Proof,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let totp_id = match &proof.consume {
        Some(Consume::TotpStep { totp_id, .. } | Consume::RecoveryCode { totp_id, .. }) => {
            totp_id.clone()
        }
        Some(_) | None => {
            tracing::error!("a TOTP authentication completed without its step or code");
            return Err(ApiError::internal());
        }
    };
    let principal = Principal::User {
        user_id,
        password: PasswordWrite::Keep,
        revoke_other_sessions: false,
    };
    let body = TotpAuthenticatedResponse {
        authenticated: authentication::complete(state, auth, principal, options, proof, now)
            .await?
            .user()?,
        totp_id,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
