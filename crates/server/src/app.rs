//! The router: every route Latchkey serves, and the layers around them.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{middleware, Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorType};
use crate::{openapi, operations, request_id, stack, stytch, AppState};

/// Request bodies above this many bytes are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    operations::metrics_handle();
    let (routes, api) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(stytch::users::routes())
        .merge(stytch::passwords::routes())
        .merge(stytch::sessions::routes())
        .merge(stytch::totps::routes())
        .merge(stytch::magic_links::routes())
        .merge(stytch::otps::routes())
        .merge(stytch::redirect_urls::routes())
        .merge(stytch::b2b::organizations::routes())
        .merge(stytch::b2b::members::routes())
        .merge(stytch::b2b::sessions::routes())
        .merge(stytch::b2b::totps::routes())
        .merge(stytch::b2b::recovery_codes::routes())
        .merge(stytch::b2b::magic_links::routes())
        .merge(stytch::b2b::discovery::routes())
        .merge(stytch::b2b::otps::routes())
        .merge(
            stack::contact_channels::routes()
                .layer(middleware::from_fn(stack::override_error_status)),
        )
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(operations::render))
        .routes(routes!(openapi::serve))
        .split_for_parts();
    let document = match openapi::finish(api).to_json() {
        Ok(json) => Bytes::from(json),
        Err(error) => {
            tracing::error!(%error, "rendering the OpenAPI document failed");
            Bytes::new()
        }
    };
    routes
        .layer(Extension(openapi::Document(document)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            operations::timeout,
        ))
        .layer(middleware::from_fn(request_id::assign))
        .layer(middleware::from_fn(operations::record))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(request_id::panic_response))
        .with_state(state)
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz",
    responses((status = 200, description = "The process is up.", body = String, example = "ok")))]
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz",
    responses((status = 200, description = "The database answers.", body = String, example = "ready"),
              (status = 503, description = "The database does not answer.", body = String)))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorType::RouteNotFound, "No route matches this path.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorType::MethodNotAllowed,
        "This route does not accept this HTTP method.",
    )
}
