//! `GET /v1/users/{user_id}` and `POST /v1/users/search`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use latchkey_core::search::{parse_limit, SearchCursor, SearchQuery};
use latchkey_core::user::UserRef;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, Segment};
use crate::stytch::{reply, user_json};
use crate::AppState;

/// The user's fields at the top level of the response, as Stytch's Get User returns them.
pub async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(user_id): Segment,
) -> Result<Response, ApiError> {
    let user_ref = UserRef::parse(&user_id)?;
    let user = super::find_user(&state, &auth.project.project_id, &user_ref).await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        user_json(&user, Utc::now()),
    ))
}

#[derive(Debug, Deserialize)]
pub struct SearchUsersRequest {
    cursor: Option<String>,
    limit: Option<i64>,
    query: Option<Value>,
}

pub async fn search(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<SearchUsersRequest>,
) -> Result<Response, ApiError> {
    let limit = parse_limit(request.limit)?;
    let cursor = super::given(request.cursor)
        .map(|raw| SearchCursor::decode(&raw))
        .transpose()?;
    let query = match &request.query {
        None | Some(Value::Null) => SearchQuery::all(),
        Some(query) => SearchQuery::parse(query)?,
    };
    let page = state
        .store
        .search_users(&auth.project.project_id, &query, limit, cursor)
        .await?;
    let now = Utc::now();
    let body = json!({
        "results": page.users.iter().map(|user| Value::Object(user_json(user, now))).collect::<Vec<_>>(),
        "results_metadata": {
            "total": page.total,
            "next_cursor": page.next_cursor.map(SearchCursor::encode),
        },
    });
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
