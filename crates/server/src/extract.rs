//! Extractors whose rejections are [`ApiError`]s: the authenticated project, JSON bodies and
//! path segments.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use latchkey_core::ids::{ProjectId, RequestId};
use latchkey_core::secret::SecretDigest;
use latchkey_store::ProjectRecord;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorType};
use crate::AppState;

/// A request made with a project's id and secret (HTTP Basic), and its request id.
pub struct Authenticated {
    pub project: ProjectRecord,
    pub request_id: RequestId,
}

fn unauthorized() -> ApiError {
    ApiError::new(
        ErrorType::UnauthorizedCredentials,
        "Unauthorized credentials. Authenticate with HTTP Basic, the project_id as the user name \
         and the project secret as the password.",
    )
}

/// Compared against when the project does not exist, so an unknown project and a wrong secret
/// take the same time.
fn decoy_digest() -> SecretDigest {
    SecretDigest::of("latchkey-decoy-secret")
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId::generate(latchkey_core::Environment::Test));
        let project = authenticate(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        // Counted once the caller is known to be the project, so nobody spends its budget.
        state
            .check_rate(&project.project_id)
            .map_err(crate::operations::too_many_requests)?;
        Ok(Authenticated {
            project,
            request_id,
        })
    }
}

/// The project whose id and secret the request presents (HTTP Basic), compared in constant
/// time; an unknown project costs the same comparison as a wrong secret.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<ProjectRecord, ApiError> {
    let (project_id, secret) = basic_credentials(parts).ok_or_else(unauthorized)?;
    let Ok(project_id) = ProjectId::parse(&project_id) else {
        decoy_digest().matches(&secret);
        return Err(unauthorized());
    };
    match state.store.get_project(&project_id).await? {
        Some(project) if project.secret_digest.matches(&secret) => Ok(project),
        Some(_) => Err(unauthorized()),
        None => {
            decoy_digest().matches(&secret);
            Err(unauthorized())
        }
    }
}

fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// A JSON request body. An empty body reads as `{}`; malformed JSON and wrong types are a 400
/// naming the problem; bodies over the limit are a 413.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json_content = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| {
                let mime = value.split(';').next().unwrap_or_default().trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if let Some(timeout) = crate::serve::body_read_timeout(&rejection) {
                    ApiError::new(
                        ErrorType::RequestBodyTimeout,
                        format!(
                            "The request body did not arrive within {} seconds.",
                            timeout.limit.as_secs()
                        ),
                    )
                } else if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        ErrorType::RequestTooLarge,
                        format!(
                            "The request body is larger than the limit of {} bytes.",
                            crate::app::MAX_BODY_BYTES
                        ),
                    )
                } else {
                    ApiError::bad_request("The request body could not be read.")
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return serde_json::from_slice(b"{}")
                .map(JsonBody)
                .map_err(|error| ApiError::bad_request(format!("Invalid request body: {error}")));
        }
        if json_content == Some(false) {
            return Err(ApiError::new(
                ErrorType::UnsupportedMediaType,
                "The request body must be JSON (Content-Type: application/json).",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|error| ApiError::bad_request(format!("Invalid request body: {error}")))
    }
}

/// One path segment, percent-decoded.
pub struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(segment)| Segment(segment))
            .map_err(|_| ApiError::bad_request("A path parameter is malformed."))
    }
}

/// Two path segments, percent-decoded (e.g. an organization and a member).
pub struct Segments(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map(|Path((first, second))| Segments(first, second))
            .map_err(|_| ApiError::bad_request("A path parameter is malformed."))
    }
}
