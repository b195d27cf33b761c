//! `POST /v1/sessions/revoke`: end a session by id, token or JWT.

use super::*;

/// Exactly one of the three.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    session_id: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
}

/// Nothing but `status_code` and `request_id`.
#[derive(Serialize, ToSchema)]
pub struct EmptyResponse {}

/// End a session, named by its id, its token or a JWT of it.
#[utoipa::path(post, path = "/v1/sessions/revoke", tag = "sessions",
    operation_id = "sessions.revoke", request_body = RevokeRequest,
    responses((status = 200, description = "The session has ended.", body = Envelope<EmptyResponse>)))]
pub(super) async fn revoke(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<RevokeRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let now = Utc::now();
    let given_count = [
        &request.session_id,
        &request.session_token,
        &request.session_jwt,
    ]
    .iter()
    .filter(|value| value.as_deref().is_some_and(|text| !text.is_empty()))
    .count();
    if given_count == 0 {
        return Err(SessionError::NoRevokeArguments.into());
    }
    if given_count > 1 {
        return Err(SessionError::TooManyRevokeArguments.into());
    }
    let session_id = match given(request.session_id) {
        Some(id) => SessionId::parse(&id).map_err(|_| SessionError::InvalidSessionId)?,
        None => {
            let named =
                SessionRequest::parse(request.session_token, request.session_jwt, None, None)?;
            presented::<Session>(&state, project_id, named.presented(), now)
                .await?
                .ok_or(SessionError::NotFound)?
                .session
                .session_id
        }
    };
    state.store.revoke_session(project_id, &session_id).await?;
    Ok(reply(&auth.request_id, StatusCode::OK, EmptyResponse {}))
}
