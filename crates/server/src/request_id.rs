//! Request ids: one per request, `request-id-<env>-<uuid>`, in every response body and in the
//! request's tracing span. Error bodies are rendered here, after the handler, because only here
//! are both the error and the request id at hand.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::middleware::Next;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use latchkey_core::ids::{Environment, RequestId};
use tracing::Instrument;

use crate::error::{render_error, PendingError};

/// Mints the request id. The environment is read from the project id the caller presents: it
/// only labels the id, so it needs no verification.
pub async fn assign(mut request: Request, next: Next) -> Response<Body> {
    let env = presented_environment(&request);
    let request_id = RequestId::generate(env);
    request.extensions_mut().insert(request_id.clone());
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response = next.run(request).instrument(span).await;
    if let Some(pending) = response.extensions_mut().remove::<PendingError>() {
        let mut rendered = render_error(&pending, &request_id);
        // Headers the error's response carried (e.g. `Retry-After`) stay on it.
        for (name, value) in response.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                rendered.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return rendered;
    }
    response
}

fn presented_environment(request: &Request) -> Environment {
    let live = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .is_some_and(|decoded| decoded.starts_with(b"project-live-"));
    if live {
        Environment::Live
    } else {
        Environment::Test
    }
}

/// A panic in a handler becomes a bland 500 in Stytch's shape; the panic is logged.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %detail, "handler panicked");
    let body = serde_json::json!({
        "status_code": 500,
        "request_id": RequestId::generate(Environment::Test),
        "error_type": "internal_server_error",
        "error_message": "Something went wrong on the server. The error has been logged.",
        "error_url": "https://stytch.com/docs/api/errors/500",
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The request's id, for handlers that answer without authenticating a project.
pub struct CurrentRequestId(pub RequestId);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CurrentRequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(CurrentRequestId(
            parts
                .extensions
                .get::<RequestId>()
                .cloned()
                .unwrap_or_else(|| RequestId::generate(Environment::Test)),
        ))
    }
}
