//! `GET /v1/users/{user_id}` and `POST /v1/users/search`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use latchkey_core::search::{parse_limit, SearchCursor, SearchQuery};
use latchkey_core::users::UserRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, Segment};
use crate::stytch::{reply, Envelope, UserObject};
use crate::AppState;

/// The user's fields at the top level of the response, as Stytch's Get User returns them.
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "users", operation_id = "users.get",
    params(("user_id" = String, Path, description = "The user's id, or the external id the app set.")),
    responses((status = 200, description = "The user.", body = Envelope<UserObject>)))]
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
        UserObject::new(&user, Utc::now()),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchUsersRequest {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 1000; 100 when absent.
    limit: Option<i64>,
    /// `{"operator": "AND"|"OR", "operands": [{"filter_name": …, "filter_value": …}]}`.
    #[schema(value_type = Option<Object>)]
    query: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchUsersResponse {
    results: Vec<UserObject>,
    results_metadata: ResultsMetadata,
}

#[derive(Serialize, ToSchema)]
pub struct ResultsMetadata {
    /// How many users match the query, on every page.
    total: i64,
    /// The cursor of the next page; `null` on the last one.
    next_cursor: Option<String>,
}

/// Search users by filters combined with AND or OR, a page at a time.
#[utoipa::path(post, path = "/v1/users/search", tag = "users", operation_id = "users.search",
    request_body = SearchUsersRequest,
    responses((status = 200, description = "A page of users.", body = Envelope<SearchUsersResponse>)))]
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
    let body = SearchUsersResponse {
        results: page
            .users
            .iter()
            .map(|user| UserObject::new(user, now))
            .collect(),
        results_metadata: ResultsMetadata {
            total: page.total,
            next_cursor: page.next_cursor.map(SearchCursor::encode),
        },
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
