//! The project's redirect URLs, in the shape of Stytch's workspace-management API:
//! `GET /v1/redirect_urls`, `POST /v1/redirect_urls` (add a URL or replace its types), and
//! `DELETE /v1/redirect_urls?url=`. `latchkey project settings --redirect-url` sets the same list.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use latchkey_core::redirect_urls::{RedirectType, MAX_URL_LENGTH};
use latchkey_store::RedirectUrl;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{reply, Envelope};
use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidType {
    /// `LOGIN`, `SIGNUP`, `INVITE`, `RESET_PASSWORD` or `DISCOVERY`.
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    is_default: bool,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectUrlObject {
    url: String,
    valid_types: Vec<ValidType>,
}

impl RedirectUrlObject {
    fn of(url: &RedirectUrl) -> RedirectUrlObject {
        RedirectUrlObject {
            url: url.url.clone(),
            valid_types: url
                .valid_types
                .iter()
                .map(|(kind, is_default)| ValidType {
                    kind: kind.wire_name().to_owned(),
                    is_default: *is_default,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RedirectUrlsResponse {
    redirect_urls: Vec<RedirectUrlObject>,
}

#[derive(Serialize, ToSchema)]
pub struct RedirectUrlResponse {
    redirect_url: RedirectUrlObject,
}

/// The project's redirect URLs.
#[utoipa::path(get, path = "/v1/redirect_urls", tag = "redirect_urls",
    operation_id = "redirect_urls.list",
    responses((status = 200, description = "The list.", body = Envelope<RedirectUrlsResponse>)))]
pub(super) async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let urls = state.store.redirect_urls(&auth.project.project_id).await?;
    let body = RedirectUrlsResponse {
        redirect_urls: urls.iter().map(RedirectUrlObject::of).collect(),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// Add a redirect URL for its types, or replace the types of one already listed.
#[utoipa::path(post, path = "/v1/redirect_urls", tag = "redirect_urls",
    operation_id = "redirect_urls.create", request_body = RedirectUrlObject,
    responses((status = 200, description = "The URL as stored.", body = Envelope<RedirectUrlResponse>)))]
pub(super) async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<RedirectUrlObject>,
) -> Result<Response, ApiError> {
    let invalid = |message: String| ApiError::new(ErrorType::InvalidRedirectUrl, message);
    let parsed = url::Url::parse(&request.url)
        .ok()
        .filter(|url| {
            request.url.len() <= MAX_URL_LENGTH
                && !url.cannot_be_a_base()
                && url.fragment().is_none()
        })
        .ok_or_else(|| invalid("url is not a redirect URL.".to_owned()))?;
    if request.valid_types.is_empty() {
        return Err(invalid(
            "valid_types must name at least one type.".to_owned(),
        ));
    }
    let mut valid_types = Vec::with_capacity(request.valid_types.len());
    for valid in &request.valid_types {
        let kind = RedirectType::parse(&valid.kind)
            .ok_or_else(|| invalid(format!("{:?} is not a redirect URL type.", valid.kind)))?;
        if valid_types.iter().any(|(known, _)| *known == kind) {
            return Err(invalid(format!("{} is listed twice.", kind.wire_name())));
        }
        valid_types.push((kind, valid.is_default));
    }
    let url = RedirectUrl {
        url: parsed.as_str().to_owned(),
        valid_types,
    };
    state
        .store
        .put_redirect_url(&auth.project.project_id, url.clone(), Utc::now())
        .await?;
    let body = RedirectUrlResponse {
        redirect_url: RedirectUrlObject::of(&url),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// The URL to remove, as listed.
    url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RedirectUrlDeleted {}

/// Remove a redirect URL.
#[utoipa::path(delete, path = "/v1/redirect_urls", tag = "redirect_urls",
    operation_id = "redirect_urls.delete", params(DeleteQuery),
    responses((status = 200, description = "Removed.", body = Envelope<RedirectUrlDeleted>)))]
pub(super) async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    Query(query): Query<DeleteQuery>,
) -> Result<Response, ApiError> {
    let url = query
        .url
        .filter(|url| !url.is_empty())
        .ok_or_else(|| ApiError::bad_request("url is required."))?;
    state
        .store
        .delete_redirect_url(&auth.project.project_id, &url)
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        RedirectUrlDeleted {},
    ))
}
