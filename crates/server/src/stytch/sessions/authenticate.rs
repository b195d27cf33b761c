//! `POST /v1/sessions/authenticate`: check a session token or JWT, optionally extending it.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SessionAuthenticateRequest {
    #[serde(flatten)]
    session: SessionOptions,
    /// Stytch's RBAC check of the session. Refused with a 400: there is no RBAC policy to
    /// check it against, and a check that is not made must not look passed.
    #[schema(value_type = Option<Object>)]
    authorization_check: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionAuthenticateResponse {
    session: Option<SessionObject>,
    session_token: String,
    session_jwt: String,
    user: UserObject,
}

/// Check a session by its token or a JWT of it, optionally extending it or changing its custom
/// claims; answers with a fresh JWT.
#[utoipa::path(post, path = "/v1/sessions/authenticate", tag = "sessions",
    operation_id = "sessions.authenticate", request_body = SessionAuthenticateRequest,
    responses((status = 200, description = "The session, still active.",
               body = Envelope<SessionAuthenticateResponse>)))]
pub(super) async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<SessionAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let now = Utc::now();
    if request
        .authorization_check
        .is_some_and(|check| !check.is_null())
    {
        return Err(SessionError::AuthorizationCheckUnsupported.into());
    }
    let options = request.session.parse()?;
    let presented = required_session(&state, project_id, &options, now).await?;
    let user_id = presented.session.user_id.clone();
    let (write, token) = plan_with(project_id, &user_id, Some(presented), &options, None, now)?;
    let Some(SessionWrite::Continue(session)) = write else {
        tracing::error!("a presented session was not continued");
        return Err(ApiError::internal());
    };
    state.store.save_session(project_id, &session).await?;
    let user = state
        .store
        .get_user(project_id, &UserRef::Id(session.user_id.clone()))
        .await?
        .ok_or(SessionError::NotFound)?;
    let (session_token, session_jwt, session) =
        session_fields(&state, project_id, Some(&session), &token, &user.roles, now).await?;
    let body = SessionAuthenticateResponse {
        session,
        session_token,
        session_jwt,
        user: UserObject::new(&user, now),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
