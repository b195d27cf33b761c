//! `GET /v1/sessions`: a user's active sessions.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The user whose active sessions to list (or the external id the app set).
    user_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ListSessionsResponse {
    sessions: Vec<SessionObject>,
}

/// A user's active sessions.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", operation_id = "sessions.get",
    params(ListQuery),
    responses((status = 200, description = "The user's active sessions.",
               body = Envelope<ListSessionsResponse>)))]
pub(super) async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let now = Utc::now();
    let user_ref = UserRef::parse(query.user_id.as_deref().unwrap_or_default())?;
    let user = find_user(&state, project_id, &user_ref).await?;
    let sessions = state
        .store
        .list_sessions(project_id, &UserRef::Id(user.user_id.clone()), now)
        .await?;
    let body = ListSessionsResponse {
        sessions: sessions
            .iter()
            .map(|session| session.to_object(&user.roles))
            .collect(),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
