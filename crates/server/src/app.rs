//! The router: every route Latchkey serves, and the layers around them.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, ErrorType};
use crate::{operations, request_id, stack, stytch, AppState};

/// Request bodies above this many bytes are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    operations::metrics_handle();
    Router::new()
        .merge(stytch::users::routes())
        .merge(stytch::passwords::routes())
        .merge(stytch::sessions::routes())
        .merge(stytch::totps::routes())
        .merge(stytch::b2b::organizations::routes())
        .merge(stytch::b2b::members::routes())
        .merge(stytch::b2b::sessions::routes())
        .merge(stytch::b2b::totps::routes())
        .merge(stytch::b2b::recovery_codes::routes())
        .merge(
            stack::contact_channels::routes()
                .layer(middleware::from_fn(stack::override_error_status)),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(operations::render))
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
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
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
