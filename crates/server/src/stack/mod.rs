//! Stack Auth's REST API (`/api/v1/…`) over the same users as the Stytch API: its request
//! authentication, its known-error responses, and the mapping of ids.
//!
//! Stack names a user by a bare UUID; Latchkey's Stytch ids are `user-<env>-<uuid>`. The UUID is
//! the same, so each API sees the other's users under ids it recognises. The same holds for
//! contact channels, which are user emails (`email-<env>-<uuid>`).

pub mod contact_channels;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{EmailId, Environment, ProjectId, SessionId, UserId};
use latchkey_core::jwt::{self, KeyKind};
use latchkey_core::sessions::SESSION_CLAIM;
use latchkey_store::{Conflict, Missing, ProjectRecord, Refusal, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use crate::error::{store_failure, too_many, ErrorType};
use crate::AppState;

/// An error as Stack Auth answers it. Its kind's entry in [`ErrorType::TABLE`] gives its status
/// and, when Stack names it, its known-error code: a known error is `{code, details?, error}`
/// with the `x-stack-known-error` header; any other is its status with a text message.
#[derive(Debug)]
pub struct StackError {
    pub kind: ErrorType,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds to wait before retrying (`Retry-After`), which Stack's clients wait out.
    pub retry_after: Option<u64>,
}

impl StackError {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> StackError {
        StackError {
            kind,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(self, details: Value) -> StackError {
        StackError {
            details: Some(details),
            ..self
        }
    }

    pub fn schema(message: impl Into<String>) -> StackError {
        let message = message.into();
        StackError::new(ErrorType::SchemaError, message.clone())
            .with_details(json!({"message": message}))
    }

    /// 429: the project's (or, client-side, this client's) requests come too fast; retry after
    /// `seconds`.
    pub fn rate_limited(seconds: u64) -> StackError {
        StackError {
            retry_after: Some(seconds),
            ..StackError::new(
                ErrorType::TooManyRequests,
                "Too many requests for this project; slow down.",
            )
        }
    }
}

/// A known error as Stack Auth answers it (other errors are plain text).
#[derive(Serialize, utoipa::ToSchema)]
pub struct StackErrorBody {
    /// A stable name, also sent as the `x-stack-known-error` header, e.g.
    /// `CONTACT_CHANNEL_NOT_FOUND`.
    #[schema(value_type = String)]
    pub code: &'static str,
    /// What went wrong, for people.
    pub error: String,
    /// More about it, for some codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl IntoResponse for StackError {
    fn into_response(self) -> Response {
        let spec = self.kind.spec();
        let mut response = match spec.stack_code {
            Some(code) => {
                let body = StackErrorBody {
                    code,
                    error: self.message,
                    details: self.details,
                };
                let json = serde_json::to_vec(&body).unwrap_or_default();
                let mut response = Response::new(Body::from(json));
                *response.status_mut() = spec.status;
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                );
                for name in ["x-stack-known-error", "x-hexclave-known-error"] {
                    if let Ok(value) = HeaderValue::from_str(code) {
                        headers.insert(HeaderName::from_static(name), value);
                    }
                }
                response
            }
            None => (spec.status, self.message).into_response(),
        };
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for StackError {
    fn from(error: StoreError) -> StackError {
        match error {
            StoreError::NotFound(Missing::User) => {
                StackError::new(ErrorType::UserNotFound, "User not found.")
            }
            StoreError::NotFound(Missing::ContactChannel) => {
                StackError::new(ErrorType::EmailNotFound, "Contact channel not found.")
            }
            StoreError::NotFound(Missing::VerificationCode) => StackError::new(
                ErrorType::VerificationCodeNotFound,
                "The verification code does not exist for this project.",
            ),
            StoreError::Refused(Refusal::VerificationCodeUsed) => StackError::new(
                ErrorType::VerificationCodeAlreadyUsed,
                "The verification link has already been used.",
            ),
            StoreError::Refused(Refusal::VerificationCodeExpired) => StackError::new(
                ErrorType::VerificationCodeExpired,
                "The verification code has expired.",
            ),
            StoreError::Refused(Refusal::EmailAlreadyVerified) => StackError::new(
                ErrorType::EmailAlreadyVerified,
                "The e-mail is already verified.",
            ),
            StoreError::Refused(Refusal::Throttled(throttled)) => {
                let limits = latchkey_core::contact_channels::VERIFICATION_THROTTLE;
                StackError {
                    retry_after: Some(throttled.retry_after_seconds),
                    ..StackError::new(
                        ErrorType::TooManyVerificationEmails,
                        format!(
                            "Too many verification emails: at most {} to one address and {} for \
                             one user in {} minutes. Retry in {} seconds.",
                            limits.per_destination,
                            limits.per_user,
                            limits.window.num_minutes(),
                            throttled.retry_after_seconds
                        ),
                    )
                    .with_details(json!({
                        "retry_after_seconds": throttled.retry_after_seconds,
                        "per_address": limits.per_destination,
                        "per_user": limits.per_user,
                        "window_seconds": limits.window.num_seconds(),
                    }))
                }
            }
            StoreError::Refused(Refusal::TooMany(kind)) => {
                let answer = too_many(kind);
                StackError::new(answer.error_type, answer.message)
            }
            // The same answer whoever else holds the address: it tells nothing about them.
            StoreError::Refused(Refusal::UnverifiedSignIn) => StackError::new(
                ErrorType::BadRequest,
                "Verify this email before using it for sign-in: add it with used_for_auth false, \
                 verify it, then set used_for_auth.",
            ),
            StoreError::Refused(Refusal::LastSignInMethod) => StackError::new(
                ErrorType::CannotDeleteLastPrimaryFactor,
                "This is the user's last way to sign in; add another before removing it.",
            ),
            StoreError::Conflict(Conflict::DuplicateEmail) => StackError::new(
                ErrorType::ContactChannelAlreadyUsedForAuthBySomeoneElse,
                "This email is already used by another account.",
            )
            .with_details(json!({"type": "email", "contact_channel_value": null,
                                 "would_work_if_email_was_verified": false})),
            StoreError::Invalid(input) => StackError::schema(input.to_string()),
            other => {
                // The store's own failures are logged and classified where the Stytch API's
                // are; only the wording is Stack's.
                let failure = store_failure(&other);
                let message = match failure.error_type {
                    ErrorType::InternalServerError => "Internal server error.".to_owned(),
                    _ => failure.message,
                };
                StackError {
                    retry_after: failure.retry_after,
                    ..StackError::new(failure.error_type, message)
                }
            }
        }
    }
}

/// Stack's clients ask for errors with status 200 (`x-stack-override-error-status: true`) and
/// read the real one from `x-stack-actual-status`; browsers then log no failed requests.
pub async fn override_error_status(request: Request, next: Next) -> Response {
    let wants = [
        "x-stack-override-error-status",
        "x-hexclave-override-error-status",
    ]
    .iter()
    .any(|name| {
        request
            .headers()
            .get(*name)
            .is_some_and(|value| value == "true")
    });
    let mut response = next.run(request).await;
    let status = response.status();
    if wants && (status.is_client_error() || status.is_server_error()) {
        let actual = HeaderValue::from(status.as_u16());
        response.headers_mut().insert(
            HeaderName::from_static("x-stack-actual-status"),
            actual.clone(),
        );
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-hexclave-actual-status"), actual);
        *response.status_mut() = StatusCode::OK;
    }
    response
}

/// A request header under Stack's name (`x-stack-…`) or the newer clients' (`x-hexclave-…`).
fn stack_header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    [format!("x-stack-{name}"), format!("x-hexclave-{name}")]
        .iter()
        .find_map(|full| parts.headers.get(full.as_str()))
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
}

fn keys_match(stored: &str, presented: &str) -> bool {
    stored.len() == presented.len() && bool::from(stored.as_bytes().ct_eq(presented.as_bytes()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Client,
    Server,
}

/// A request authenticated as Stack authenticates it: the project (by id and key), the access
/// type, and the user of the access token, if one was given.
pub struct StackAuth {
    pub project: ProjectRecord,
    pub access: Access,
    pub user: Option<UserId>,
}

impl FromRequestParts<AppState> for StackAuth {
    type Rejection = StackError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, StackError> {
        let publishable = stack_header(parts, "publishable-client-key");
        let secret = stack_header(parts, "secret-server-key");
        let admin_key = stack_header(parts, "super-secret-admin-key");
        let Some(access_type) = stack_header(parts, "access-type") else {
            if publishable.is_some() || secret.is_some() || admin_key.is_some() {
                return Err(StackError::new(
                    ErrorType::ProjectKeyWithoutAccessType,
                    "Either an API key or an admin access token was provided, but the x-stack-access-type header is missing. Set it to 'client', 'server', or 'admin' as appropriate.",
                ));
            }
            return Err(StackError::new(
                ErrorType::AccessTypeRequired,
                "You must specify an access level for this Stack project: set the x-stack-access-type header to 'client', 'server', or 'admin'.",
            ));
        };
        if !matches!(access_type, "client" | "server" | "admin") {
            return Err(StackError::new(
                ErrorType::InvalidAccessType,
                format!("The x-stack-access-type header must be 'client', 'server', or 'admin', but was '{access_type}'."),
            )
            .with_details(json!({"accessType": access_type})));
        }
        let Some(project_id) = stack_header(parts, "project-id") else {
            return Err(StackError::new(
                ErrorType::AccessTypeWithoutProjectId,
                format!("The x-stack-access-type header was '{access_type}', but the x-stack-project-id header was not provided."),
            )
            .with_details(json!({"request_type": access_type})));
        };
        let project_not_found = || {
            StackError::new(
                ErrorType::CurrentProjectNotFound,
                format!("The current project with ID {project_id} was not found. Please check the value of the x-stack-project-id header."),
            )
        };
        let project = find_project(state, project_id)
            .await?
            .ok_or_else(project_not_found)?;
        let details = json!({"project_id": project_id});
        let access = match access_type {
            "client" => {
                let Some(presented) = publishable else {
                    return Err(StackError::new(
                        ErrorType::PublishableClientKeyRequiredForProject,
                        "Publishable client keys are required for this project.",
                    )
                    .with_details(details));
                };
                let valid = project
                    .stack_keys
                    .as_ref()
                    .is_some_and(|keys| keys_match(&keys.publishable_client_key, presented));
                if !valid {
                    return Err(StackError::new(
                        ErrorType::InvalidPublishableClientKey,
                        format!("The publishable key is not valid for the project {project_id:?}. Does the project and/or the key exist?"),
                    )
                    .with_details(details));
                }
                Access::Client
            }
            "server" => {
                let Some(presented) = secret else {
                    return Err(StackError::new(
                        ErrorType::ServerAuthenticationRequired,
                        "The secret server key must be provided.",
                    ));
                };
                let valid = project
                    .stack_keys
                    .as_ref()
                    .is_some_and(|keys| keys.secret_server_key_digest.matches(presented));
                if !valid {
                    return Err(StackError::new(
                        ErrorType::InvalidSecretServerKey,
                        format!("The secret server key is not valid for the project {project_id:?}. Does the project and/or the key exist?"),
                    )
                    .with_details(details));
                }
                Access::Server
            }
            // Latchkey issues no admin keys: the dashboard's access is not served.
            _ => {
                return Err(StackError::new(
                    ErrorType::InvalidSuperSecretAdminKey,
                    format!("The super secret admin key is not valid for the project {project_id:?}. Latchkey serves client and server access only."),
                )
                .with_details(details))
            }
        };
        // Counted once the caller is known to hold the project's key. Client-side requests (a
        // publishable key anyone may hold) spend their client's budget, never the project's.
        let rate = match access {
            Access::Client => state.check_client_rate(&project.project_id, client_address(parts)),
            Access::Server => state.check_rate(&project.project_id),
        };
        if let Err(wait) = rate {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(StackError::rate_limited(seconds.max(1)));
        }
        let user = match stack_header(parts, "access-token") {
            Some(token) => {
                Some(access_token_user(state, &project.project_id, token, Utc::now()).await?)
            }
            None => None,
        };
        Ok(StackAuth {
            project,
            access,
            user,
        })
    }
}

/// The address the request came from (the TCP peer: a proxy in front of Latchkey is one client).
fn client_address(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(peer)| {
            peer.ip()
        })
}

/// The project Stack names by its UUID (Stack's clients require project ids to be UUIDs), or
/// by the whole Latchkey id.
async fn find_project(state: &AppState, raw: &str) -> Result<Option<ProjectRecord>, StackError> {
    let candidates: Vec<String> = if uuid::Uuid::parse_str(raw).is_ok() && raw.len() == 36 {
        [Environment::Test, Environment::Live]
            .iter()
            .map(|env| format!("project-{}-{}", env.as_str(), raw.to_lowercase()))
            .collect()
    } else {
        vec![raw.to_owned()]
    };
    for candidate in candidates {
        if let Ok(id) = ProjectId::parse(&candidate) {
            if let Some(project) = state.store.get_project(&id).await? {
                return Ok(Some(project));
            }
        }
    }
    Ok(None)
}

/// The UUID Stack knows a project by.
pub fn stack_project_id(project_id: &ProjectId) -> &str {
    uuid_part(project_id.as_str())
}

/// The project a JWT says it is for, read without checking it (to name a foreign project in the
/// error; the signature check decides everything else).
fn claimed_project(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    match &claims["aud"] {
        Value::Array(audiences) => audiences.first()?.as_str().map(str::to_owned),
        Value::String(audience) => Some(audience.clone()),
        _ => None,
    }
}

/// The user of an access token: a Latchkey session JWT of this project whose session is live.
async fn access_token_user(
    state: &AppState,
    project_id: &ProjectId,
    token: &str,
    now: DateTime<Utc>,
) -> Result<UserId, StackError> {
    if let Some(claimed) = claimed_project(token) {
        if claimed != project_id.as_str() && ProjectId::parse(&claimed).is_ok() {
            return Err(StackError::new(
                ErrorType::InvalidProjectForAccessToken,
                format!("Access token not valid for this project. Expected project ID {:?}, but the token is for project ID {claimed:?}.", project_id.as_str()),
            )
            .with_details(json!({"expected_project_id": project_id, "actual_project_id": claimed})));
        }
    }
    let unparsable = || {
        StackError::new(
            ErrorType::UnparsableAccessToken,
            "Access token is not parsable.",
        )
    };
    let keys: Vec<_> = state
        .store
        .signing_keys(project_id)
        .await?
        .into_iter()
        .filter(|key| key.kind == KeyKind::Consumer)
        .collect();
    let (claims, expired) = jwt::verify(token, &keys, project_id).map_err(|_| unparsable())?;
    let user_id = claims["sub"]
        .as_str()
        .and_then(|sub| UserId::parse(sub).ok())
        .ok_or_else(unparsable)?;
    if expired {
        let expired_at = claims["exp"].as_i64().unwrap_or_default() * 1000;
        return Err(StackError::new(
            ErrorType::AccessTokenExpired,
            "Access token has expired. Please refresh it and try again.",
        )
        .with_details(
            json!({"expired_at_millis": expired_at, "project_id": project_id,
                             "user_id": stack_user_id(&user_id), "refresh_token_id": null}),
        ));
    }
    // A revoked session's JWTs stop working at once, not only at their expiry.
    let session_id = claims[SESSION_CLAIM]["id"]
        .as_str()
        .and_then(|id| SessionId::parse(id).ok())
        .ok_or_else(unparsable)?;
    let live = state
        .store
        .session_by_id(project_id, &session_id)
        .await?
        .is_some_and(|session| session.is_active(now) && session.user_id == user_id);
    if !live {
        return Err(StackError::new(
            ErrorType::InvalidAccessToken,
            "The session of this access token has ended.",
        ));
    }
    Ok(user_id)
}

/// The UUID Stack knows a user by.
pub fn stack_user_id(user_id: &UserId) -> &str {
    uuid_part(user_id.as_str())
}

/// The UUID Stack knows a contact channel by.
pub fn stack_channel_id(email_id: &EmailId) -> &str {
    uuid_part(email_id.as_str())
}

fn uuid_part(id: &str) -> &str {
    // `<kind>-<env>-<uuid>`: the UUID is the last 36 characters.
    &id[id.len().saturating_sub(36)..]
}

fn parse_uuid(raw: &str, field: &str) -> Result<uuid::Uuid, StackError> {
    uuid::Uuid::parse_str(raw)
        .ok()
        .filter(|_| raw.len() == 36)
        .ok_or_else(|| StackError::schema(format!("{field} must be a valid UUID")))
}

/// The user a request names by UUID or `me`, checked against what the access may reach:
/// client access reaches only the user of its access token.
pub fn target_user(auth: &StackAuth, raw: &str, action: &str) -> Result<UserId, StackError> {
    let user_id = if raw == "me" {
        auth.user.clone().ok_or_else(|| {
            StackError::new(
                ErrorType::CannotGetOwnUserWithoutUser,
                "You have specified 'me' as a userId, but did not provide authentication for a user.",
            )
        })?
    } else {
        let uuid = parse_uuid(raw, "user_id")?;
        UserId::parse(&format!(
            "user-{}-{uuid}",
            auth.project.environment.as_str()
        ))
        .map_err(|_| StackError::schema("user_id must be a valid UUID"))?
    };
    if auth.access == Access::Client {
        let own = auth.user.as_ref().ok_or_else(|| {
            StackError::new(
                ErrorType::CannotGetOwnUserWithoutUser,
                "You have specified 'me' as a userId, but did not provide authentication for a user.",
            )
        })?;
        if own != &user_id {
            return Err(StackError::new(
                ErrorType::Forbidden,
                format!("Client can only {action} contact channels for their own user."),
            ));
        }
    }
    Ok(user_id)
}

/// A contact channel id (a UUID) as the email id it is.
pub fn channel_email_id(env: Environment, raw: &str) -> Result<EmailId, StackError> {
    let uuid = parse_uuid(raw, "contact_channel_id")?;
    EmailId::parse(&format!("email-{}-{uuid}", env.as_str()))
        .map_err(|_| StackError::schema("contact_channel_id must be a valid UUID"))
}

/// A JSON body, refused as Stack refuses one (`SCHEMA_ERROR`). Unknown fields are refused too,
/// as Stack's schemas do.
pub struct StackJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for StackJson<T> {
    type Rejection = StackError;

    async fn from_request(request: Request, state: &S) -> Result<Self, StackError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if let Some(timeout) = crate::serve::body_read_timeout(&rejection) {
                    StackError::new(
                        ErrorType::RequestBodyTimeout,
                        format!(
                            "The request body did not arrive within {} seconds.",
                            timeout.limit.as_secs()
                        ),
                    )
                } else if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    StackError::new(ErrorType::RequestTooLarge, "The request body is too large.")
                } else {
                    StackError::new(
                        ErrorType::BodyParsingError,
                        "The request body could not be read.",
                    )
                }
            })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes)
            .map(StackJson)
            .map_err(|error| {
                StackError::schema(format!("Request validation failed on the body: {error}"))
            })
    }
}

/// Stack's answer to an action without a result.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Success {
    /// Always `true`.
    success: bool,
}

/// `{"success": true}`.
pub fn success() -> Response {
    (StatusCode::OK, axum::Json(Success { success: true })).into_response()
}
