//! The one error type of the HTTP layer, and every mapping into it.
//!
//! Core and store errors arrive here and leave as Stytch's error body:
//! `{status_code, request_id, error_type, error_message, error_url}`. Database failures are
//! logged with their cause and answered with a bland 503 or 500 that reveals nothing.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::response::IntoResponse;
use latchkey_core::ids::RequestId;
use latchkey_core::InputError;
use latchkey_store::{Conflict, Missing, Refusal, StoreError};
use serde::Serialize;

/// Stytch's `error_type` names, each with its HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    BadRequest,
    InvalidEmail,
    InvalidPhoneNumber,
    InvalidUserId,
    InvalidExternalId,
    InvalidId(&'static str),
    InvalidMetadata,
    InvalidName,
    InvalidRoles,
    InvalidSearchQuery,
    InvalidSearchCursor,
    InvalidLimit,
    EmailOrPhoneNumberRequired,
    UserHasMultipleFactors,
    DuplicateEmail,
    DuplicatePhoneNumber,
    DuplicateExternalId,
    UnauthorizedCredentials,
    NotFound(Missing),
    RouteNotFound,
    MethodNotAllowed,
    RequestTooLarge,
    UnsupportedMediaType,
    ServiceUnavailable,
    InternalServerError,
    /// A Stytch error type named where it arises (password hashes, sessions, locks, …).
    Named(&'static str, StatusCode),
}

impl ErrorType {
    pub fn name(self) -> &'static str {
        match self {
            ErrorType::BadRequest => "bad_request",
            ErrorType::InvalidEmail => "invalid_email",
            ErrorType::InvalidPhoneNumber => "invalid_phone_number",
            ErrorType::InvalidUserId => "invalid_user_id",
            ErrorType::InvalidExternalId => "invalid_external_id",
            ErrorType::InvalidId(field) => match field {
                "email_id" => "invalid_email_id",
                "phone_id" => "invalid_phone_id",
                "webauthn_registration_id" => "invalid_webauthn_registration_id",
                "biometric_registration_id" => "invalid_biometric_registration_id",
                "totp_id" => "invalid_totp_id",
                "crypto_wallet_id" => "invalid_crypto_wallet_id",
                "password_id" => "invalid_password_id",
                "oauth_user_registration_id" => "invalid_oauth_user_registration_id",
                "user_id" => "invalid_user_id",
                _ => "bad_request",
            },
            ErrorType::InvalidMetadata => "invalid_metadata",
            ErrorType::InvalidName => "invalid_name",
            ErrorType::InvalidRoles => "invalid_roles",
            ErrorType::InvalidSearchQuery => "invalid_search_query",
            ErrorType::InvalidSearchCursor => "invalid_search_cursor",
            ErrorType::InvalidLimit => "invalid_limit",
            ErrorType::EmailOrPhoneNumberRequired => "email_or_phone_number_required",
            ErrorType::UserHasMultipleFactors => "user_has_multiple_factors",
            ErrorType::DuplicateEmail => "duplicate_email",
            ErrorType::DuplicatePhoneNumber => "duplicate_phone_number",
            ErrorType::DuplicateExternalId => "duplicate_external_id",
            ErrorType::UnauthorizedCredentials => "unauthorized_credentials",
            ErrorType::NotFound(missing) => match missing {
                Missing::User => "user_not_found",
                Missing::Email => "email_not_found",
                Missing::PhoneNumber => "phone_number_not_found",
                Missing::WebAuthnRegistration => "webauthn_registration_not_found",
                Missing::BiometricRegistration => "biometric_registration_not_found",
                Missing::Totp => "totp_not_found",
                Missing::CryptoWallet => "crypto_wallet_not_found",
                Missing::Password => "password_not_found",
                Missing::OAuthRegistration => "oauth_user_registration_not_found",
                Missing::Project => "project_not_found",
                Missing::Session => "session_not_found",
                Missing::Organization => "organization_not_found",
                Missing::Member => "member_not_found",
                // A contact channel is an email.
                Missing::ContactChannel => "email_not_found",
                Missing::VerificationCode => "verification_code_not_found",
            },
            ErrorType::RouteNotFound => "route_not_found",
            ErrorType::MethodNotAllowed => "method_not_allowed",
            ErrorType::RequestTooLarge => "request_too_large",
            ErrorType::UnsupportedMediaType => "unsupported_media_type",
            ErrorType::ServiceUnavailable => "service_unavailable",
            ErrorType::InternalServerError => "internal_server_error",
            ErrorType::Named(name, _) => name,
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::UnauthorizedCredentials => StatusCode::UNAUTHORIZED,
            ErrorType::NotFound(_) | ErrorType::RouteNotFound => StatusCode::NOT_FOUND,
            ErrorType::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorType::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorType::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorType::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::Named(_, status) => status,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error on its way to the caller.
#[derive(Debug)]
pub struct ApiError {
    pub error_type: ErrorType,
    pub message: String,
    /// Seconds the caller should wait before retrying (`Retry-After`), for a 429 or 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> ApiError {
        ApiError {
            error_type,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the caller to retry after `seconds`.
    pub fn retry_after(self, seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..self
        }
    }

    /// A Stytch error type named where it arises, with its status.
    pub fn named(name: &'static str, status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::Named(name, status), message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::BadRequest, message)
    }

    /// A failure of the server's own (already logged by the caller), never of the request.
    pub fn internal() -> ApiError {
        ApiError::new(
            ErrorType::InternalServerError,
            "Something went wrong on the server.",
        )
    }

    /// Work refused because the server is stopping.
    pub fn shutting_down() -> ApiError {
        ApiError::new(
            ErrorType::ServiceUnavailable,
            "The server is shutting down.",
        )
    }
}

/// Carried from `into_response` to the request-id middleware, which renders the body.
#[derive(Clone, Debug)]
pub struct PendingError {
    pub error_type: ErrorType,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self.error_type.status();
        if let Some(seconds) = self.retry_after {
            // Kept on the rendered error by the request-id middleware.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(PendingError {
            error_type: self.error_type,
            message: self.message,
        });
        response
    }
}

/// Stytch's error body, on every 4XX and 5XX answer of `/v1`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// The HTTP status, repeated.
    pub status_code: u16,
    #[schema(value_type = String)]
    pub request_id: &'a RequestId,
    /// A stable name for what went wrong, e.g. `user_not_found`.
    #[schema(value_type = String)]
    pub error_type: &'static str,
    /// What went wrong, for people.
    #[schema(value_type = String)]
    pub error_message: &'a str,
    /// Stytch's page about this error type.
    pub error_url: String,
}

/// Stytch's error body for `pending`.
pub fn render_error(pending: &PendingError, request_id: &RequestId) -> Response<Body> {
    let status = pending.error_type.status();
    let body = ErrorBody {
        status_code: status.as_u16(),
        request_id,
        error_type: pending.error_type.name(),
        error_message: &pending.message,
        error_url: format!(
            "https://stytch.com/docs/api/errors/{}#{}",
            status.as_u16(),
            pending.error_type.name()
        ),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if matches!(pending.error_type, ErrorType::RequestTooLarge) {
        // The rest of the body is not read, so the connection cannot carry another request:
        // say so, or a client may reuse it and lose its next request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

impl From<InputError> for ApiError {
    fn from(error: InputError) -> ApiError {
        let error_type = match &error {
            InputError::InvalidEmail => ErrorType::InvalidEmail,
            InputError::InvalidPhoneNumber => ErrorType::InvalidPhoneNumber,
            InputError::InvalidExternalId => ErrorType::InvalidExternalId,
            InputError::InvalidUserId => ErrorType::InvalidUserId,
            InputError::InvalidId { field } => ErrorType::InvalidId(field),
            InputError::InvalidMetadata(_) => ErrorType::InvalidMetadata,
            InputError::InvalidName(_) => ErrorType::InvalidName,
            InputError::InvalidRoles(_) => ErrorType::InvalidRoles,
            InputError::InvalidSearchQuery(_) => ErrorType::InvalidSearchQuery,
            InputError::InvalidCursor => ErrorType::InvalidSearchCursor,
            InputError::InvalidLimit => ErrorType::InvalidLimit,
            InputError::BadRequest(_) => ErrorType::BadRequest,
            InputError::Named { error_type, .. } => {
                ErrorType::Named(error_type, StatusCode::BAD_REQUEST)
            }
        };
        ApiError::new(error_type, error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(missing) => ApiError::new(
                ErrorType::NotFound(missing),
                match missing {
                    Missing::User => "User could not be found.",
                    Missing::Email => "Email could not be found.",
                    Missing::PhoneNumber => "Phone number could not be found.",
                    Missing::WebAuthnRegistration => "WebAuthn registration could not be found.",
                    Missing::BiometricRegistration => "Biometric registration could not be found.",
                    Missing::Totp => "TOTP could not be found.",
                    Missing::CryptoWallet => "Crypto wallet could not be found.",
                    Missing::Password => "Password could not be found.",
                    Missing::OAuthRegistration => "OAuth registration could not be found.",
                    Missing::Project => "Project could not be found.",
                    Missing::Session => "Session could not be found.",
                    Missing::Organization => "Organization could not be found.",
                    Missing::Member => "Member could not be found.",
                    Missing::ContactChannel => "Email could not be found.",
                    Missing::VerificationCode => "Verification code could not be found.",
                },
            ),
            StoreError::Conflict(Conflict::DuplicateEmail) => ApiError::new(
                ErrorType::DuplicateEmail,
                "A user with the specified email already exists for this project.",
            ),
            StoreError::Conflict(Conflict::DuplicatePhoneNumber) => ApiError::new(
                ErrorType::DuplicatePhoneNumber,
                "A user with the specified phone number already exists for this project.",
            ),
            StoreError::Conflict(Conflict::DuplicateExternalId) => ApiError::new(
                ErrorType::DuplicateExternalId,
                "A user with the specified external_id already exists for this project.",
            ),
            StoreError::Conflict(Conflict::PasswordAlreadyExists) => ApiError::new(
                ErrorType::Named("password_already_exists", StatusCode::BAD_REQUEST),
                "This user already has a password. Reset it instead of migrating another.",
            ),
            StoreError::Refused(Refusal::UserLocked) => ApiError::new(
                ErrorType::Named("user_lock_limit_reached", StatusCode::TOO_MANY_REQUESTS),
                "The user has been locked out due to too many failed authentication attempts. \
                 Please try again later.",
            ),
            StoreError::Conflict(Conflict::DuplicateOrganizationSlug) => ApiError::new(
                ErrorType::Named("organization_slug_already_used", StatusCode::BAD_REQUEST),
                "An organization with this organization_slug already exists in this project.",
            ),
            StoreError::Conflict(Conflict::DuplicateOrganizationExternalId) => ApiError::new(
                ErrorType::Named("duplicate_organization_external_id", StatusCode::BAD_REQUEST),
                "An organization with this organization_external_id already exists in this project.",
            ),
            StoreError::Conflict(Conflict::DuplicateMemberEmail) => ApiError::named(
                "duplicate_member_email",
                StatusCode::BAD_REQUEST,
                "A member with this email_address already exists in this organization.",
            ),
            StoreError::Conflict(Conflict::DuplicateMemberExternalId) => ApiError::named(
                "duplicate_member_external_id",
                StatusCode::BAD_REQUEST,
                "A member with this external_id already exists in this organization.",
            ),
            StoreError::Refused(Refusal::LastSignInMethod) => ApiError::named(
                "cannot_delete_last_primary_factor",
                StatusCode::BAD_REQUEST,
                "This is the user's last way to sign in.",
            ),
            // Refusals of Stack Auth's verification flow, which answers them in its own format.
            StoreError::Refused(
                refusal @ (Refusal::EmailAlreadyVerified
                | Refusal::VerificationCodeUsed
                | Refusal::VerificationCodeExpired),
            ) => ApiError::bad_request(format!("The email verification was refused: {refusal}.")),
            StoreError::Refused(Refusal::MfaPhoneNumberExists) => ApiError::named(
                "duplicate_member_phone_number_for_member",
                StatusCode::BAD_REQUEST,
                "The member already has an MFA phone number; delete it before setting another.",
            ),
            StoreError::Refused(Refusal::TotpStepUsed) => ApiError::named(
                "totp_code_already_authenticated",
                StatusCode::UNAUTHORIZED,
                "This TOTP code was already used. Wait for the next code.",
            ),
            // Wrong, or used already: the caller cannot tell which.
            StoreError::Refused(Refusal::RecoveryCodeRejected) => ApiError::named(
                "unable_to_authenticate_recovery_code",
                StatusCode::UNAUTHORIZED,
                "The recovery code could not be authenticated.",
            ),
            StoreError::Refused(Refusal::ActiveTotpExists) => ApiError::new(
                ErrorType::Named("active_totp_exists", StatusCode::BAD_REQUEST),
                "Cannot create a new TOTP for the specified user since the user already has an \
                 active TOTP. Users may only have one active TOTP at a time.",
            ),
            StoreError::Invalid(input) => input.into(),
            StoreError::Refused(Refusal::NotExactlyOnePrimaryFactor) => ApiError::new(
                ErrorType::UserHasMultipleFactors,
                "exchange_primary_factor only works for a user whose one factor is an email \
                 address or a phone number.",
            ),
            failure @ (StoreError::Unavailable(_)
            | StoreError::Corrupt(_)
            | StoreError::Database(_)
            | StoreError::Migration(_)) => store_failure(&failure),
        }
    }
}

/// How long a caller should wait before retrying a request the database could not serve.
pub const DATABASE_RETRY_AFTER_SECONDS: u64 = 1;

/// The store's own failures, not the request's: the cause goes to the log, never to the caller.
/// An unreachable database is worth a retry (503 with `Retry-After`); a corrupt row or a failed
/// statement is a 500.
pub fn store_failure(error: &StoreError) -> ApiError {
    match error {
        StoreError::Unavailable(cause) => {
            tracing::error!(error = %cause, "database unavailable");
            ApiError::new(
                ErrorType::ServiceUnavailable,
                "The database is unavailable. Retry the request later.",
            )
            .retry_after(DATABASE_RETRY_AFTER_SECONDS)
        }
        StoreError::Corrupt(cause) => {
            tracing::error!(error = %cause, "corrupt row in the database");
            ApiError::internal()
        }
        StoreError::Migration(cause) => {
            tracing::error!(error = %cause, "migration error during a request");
            ApiError::internal()
        }
        other => {
            tracing::error!(error = %other, "database error");
            ApiError::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_store_error_maps_to_its_stytch_type_and_status() {
        let cases = [
            (StoreError::NotFound(Missing::User), "user_not_found", 404),
            (StoreError::NotFound(Missing::Email), "email_not_found", 404),
            (
                StoreError::NotFound(Missing::PhoneNumber),
                "phone_number_not_found",
                404,
            ),
            (
                StoreError::Conflict(Conflict::DuplicateEmail),
                "duplicate_email",
                400,
            ),
            (
                StoreError::Conflict(Conflict::DuplicatePhoneNumber),
                "duplicate_phone_number",
                400,
            ),
            (
                StoreError::Conflict(Conflict::DuplicateExternalId),
                "duplicate_external_id",
                400,
            ),
            (
                StoreError::Refused(Refusal::NotExactlyOnePrimaryFactor),
                "user_has_multiple_factors",
                400,
            ),
            (
                StoreError::Unavailable(latchkey_store::DatabaseError::PoolTimedOut),
                "service_unavailable",
                503,
            ),
            (
                StoreError::Database(latchkey_store::DatabaseError::RowNotFound),
                "internal_server_error",
                500,
            ),
            (
                StoreError::Corrupt("users.status: not a user status".to_owned()),
                "internal_server_error",
                500,
            ),
        ];
        for (error, name, status) in cases {
            let api: ApiError = error.into();
            assert_eq!(api.error_type.name(), name);
            assert_eq!(api.error_type.status().as_u16(), status);
        }
    }

    /// An unreachable database, whichever way the driver says so, is one answer: 503
    /// `service_unavailable` with `Retry-After`.
    #[test]
    fn an_unavailable_database_is_a_503_with_retry_after() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        for cause in [
            latchkey_store::DatabaseError::PoolTimedOut,
            latchkey_store::DatabaseError::PoolClosed,
            latchkey_store::DatabaseError::Io(refused),
            latchkey_store::DatabaseError::Io(reset),
        ] {
            let api = ApiError::from(StoreError::from(cause));
            assert_eq!(api.error_type.name(), "service_unavailable");
            let response = api.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        }
        let failed = ApiError::from(StoreError::from(latchkey_store::DatabaseError::RowNotFound))
            .into_response();
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(failed.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn input_errors_map_to_400s() {
        let api: ApiError = InputError::InvalidEmail.into();
        assert_eq!(
            (api.error_type.name(), api.error_type.status().as_u16()),
            ("invalid_email", 400)
        );
        let api: ApiError = InputError::InvalidCursor.into();
        assert_eq!(api.error_type.name(), "invalid_search_cursor");
        let api: ApiError = InputError::InvalidId { field: "phone_id" }.into();
        assert_eq!(api.error_type.name(), "invalid_phone_id");
    }

    #[tokio::test]
    async fn error_body_has_stytch_shape() {
        let request_id = RequestId::generate(latchkey_core::Environment::Test);
        let response = render_error(
            &PendingError {
                error_type: ErrorType::NotFound(Missing::User),
                message: "User could not be found.".into(),
            },
            &request_id,
        );
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "status_code": 404,
                "request_id": request_id.as_str(),
                "error_type": "user_not_found",
                "error_message": "User could not be found.",
                "error_url": "https://stytch.com/docs/api/errors/404#user_not_found",
            })
        );
    }
}
