//! `POST /v1/totps/recover`: a recovery code as a factor, each code once.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecoverRequest {
    user_id: Option<String>,
    recovery_code: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

/// Log in with one of the user's recovery codes; each works once.
#[utoipa::path(post, path = "/v1/totps/recover", tag = "totps", operation_id = "totps.recover",
    request_body = RecoverRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<TotpAuthenticatedResponse>)))]
pub(super) async fn recover(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<RecoverRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let user_ref = required_user(request.user_id)?;
    let code = given(request.recovery_code)
        .ok_or_else(|| ApiError::bad_request("recovery_code is required."))?;
    let session_request = request.session.parse()?;
    let now = Utc::now();
    let user = find_user(&state, project_id, &user_ref).await?;
    let registration = state
        .store
        .user_totps(project_id, &user.user_id)
        .await?
        .into_iter()
        .find(|totp| totp.verified)
        .ok_or(StoreError::NotFound(Missing::Totp))?;
    let proof = authentication::prove_code(
        &state,
        &auth.project,
        PrincipalId::User(user.user_id.clone()),
        Factor::RecoveryCode,
        now,
        || Ok(accept_recovery_code(&state.vault, registration, &code, now)),
        TotpError::RecoveryCodeRejected,
    )
    .await?;
    use_up(&state, &auth, user.user_id, &session_request, proof, now).await
}
