//! `POST /v1/passwords/existing_password/reset` and `/session/reset`.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExistingPasswordResetRequest {
    email: Option<String>,
    existing_password: Option<String>,
    new_password: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

/// Reset by existing password: every session of the user ends (but one continued here).
#[utoipa::path(post, path = "/v1/passwords/existing_password/reset", tag = "passwords",
    operation_id = "passwords.existing_password.reset", request_body = ExistingPasswordResetRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<AuthenticatedResponse>)))]
pub(super) async fn reset_by_existing_password(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<ExistingPasswordResetRequest>,
) -> Result<Response, ApiError> {
    let email = required_email(request.email)?;
    let existing = required_password("existing_password", request.existing_password)?;
    let new_password = required_password("new_password", request.new_password)?;
    let session_request = request.session.parse()?;
    require_strong(&state, &auth.project, &new_password, Some(email.as_str())).await?;
    let now = Utc::now();
    let verified = verify_login(&state, &auth.project, &email, existing, now).await?;
    let hash = new_hash(&state, &auth.project, new_password).await?;
    let principal = Principal::User {
        user_id: verified.user_id,
        password: PasswordWrite::Replace(hash),
        revoke_other_sessions: true,
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

#[derive(Debug, Deserialize, ToSchema)]
pub struct SessionResetRequest {
    password: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

/// Reset by session: the session's user gets the new password; every other session ends.
#[utoipa::path(post, path = "/v1/passwords/session/reset", tag = "passwords",
    operation_id = "passwords.session.reset", request_body = SessionResetRequest,
    responses((status = 200, description = "The user and its session.",
               body = Envelope<AuthenticatedResponse>)))]
pub(super) async fn reset_by_session(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<SessionResetRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let password = required_password("password", request.password)?;
    let options = request.session.parse()?;
    let now = Utc::now();
    let presented = required_session(&state, project_id, &options, now).await?;
    let user_id = presented.session.user_id.clone();
    let email = presented
        .session
        .authentication_factors
        .iter()
        .find_map(|factor| factor.email.as_ref().map(|(_, email)| email.clone()));
    require_strong(&state, &auth.project, &password, email.as_deref()).await?;
    let hash = new_hash(&state, &auth.project, password).await?;
    // The presented session continues (it is looked up again with the completion); every other
    // session of the user ends.
    let principal = Principal::User {
        user_id,
        password: PasswordWrite::Replace(hash),
        revoke_other_sessions: true,
    };
    let proof = Proof {
        factor: None,
        consume: None,
        attempt: None,
    };
    let body = authentication::complete(&state, &auth, principal, &options, proof, now)
        .await?
        .user()?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
