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

/// One kind of error answer: its Stytch `error_type`, its HTTP status and, where Stack Auth has
/// one, its known-error code (`x-stack-known-error`). Both APIs render from this entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorSpec {
    pub error_type: ErrorType,
    /// Stytch's `error_type` name (for a kind only Stack answers, the name its logs use).
    pub name: &'static str,
    pub status: StatusCode,
    /// Stack Auth's known-error code; a Stack answer of a kind without one is plain text.
    pub stack_code: Option<&'static str>,
}

/// Declares [`ErrorType`] and [`ErrorType::TABLE`] from one list, so each kind's name, status
/// and Stack code are written once, and a kind cannot exist without its entry.
macro_rules! error_table {
    ($($kind:ident => $name:literal, $status:ident $(, $code:literal)?;)*) => {
        /// Every kind of error answer. Its name, status and Stack code are in [`ErrorType::TABLE`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorType {
            $($kind,)*
            /// A 400 that core's input rules name themselves (`InputError::Named`: a
            /// `passwords/migrate` hash, an organization setting, …).
            Input(&'static str),
        }

        impl ErrorType {
            /// Every kind but [`ErrorType::Input`], with its name, status and Stack code.
            pub const TABLE: &'static [ErrorSpec] = &[$(ErrorSpec {
                error_type: ErrorType::$kind,
                name: $name,
                status: StatusCode::$status,
                stack_code: error_table!(@code $($code)?),
            },)*];

            pub fn spec(self) -> ErrorSpec {
                match self {
                    $(ErrorType::$kind => ErrorSpec {
                        error_type: self,
                        name: $name,
                        status: StatusCode::$status,
                        stack_code: error_table!(@code $($code)?),
                    },)*
                    ErrorType::Input(name) => ErrorSpec {
                        error_type: self,
                        name,
                        status: StatusCode::BAD_REQUEST,
                        stack_code: None,
                    },
                }
            }
        }
    };
    (@code) => { None };
    (@code $code:literal) => { Some($code) };
}

error_table! {
    // Requests that do not parse.
    BadRequest => "bad_request", BAD_REQUEST;
    InvalidEmail => "invalid_email", BAD_REQUEST;
    InvalidPhoneNumber => "invalid_phone_number", BAD_REQUEST;
    InvalidUserId => "invalid_user_id", BAD_REQUEST;
    InvalidExternalId => "invalid_external_id", BAD_REQUEST;
    InvalidEmailId => "invalid_email_id", BAD_REQUEST;
    InvalidPhoneId => "invalid_phone_id", BAD_REQUEST;
    InvalidWebAuthnRegistrationId => "invalid_webauthn_registration_id", BAD_REQUEST;
    InvalidBiometricRegistrationId => "invalid_biometric_registration_id", BAD_REQUEST;
    InvalidTotpId => "invalid_totp_id", BAD_REQUEST;
    InvalidCryptoWalletId => "invalid_crypto_wallet_id", BAD_REQUEST;
    InvalidPasswordId => "invalid_password_id", BAD_REQUEST;
    InvalidOAuthUserRegistrationId => "invalid_oauth_user_registration_id", BAD_REQUEST;
    InvalidSessionId => "invalid_session_id", BAD_REQUEST;
    InvalidMetadata => "invalid_metadata", BAD_REQUEST;
    InvalidName => "invalid_name", BAD_REQUEST;
    InvalidRoles => "invalid_roles", BAD_REQUEST;
    InvalidSearchQuery => "invalid_search_query", BAD_REQUEST;
    InvalidSearchCursor => "invalid_search_cursor", BAD_REQUEST;
    InvalidLimit => "invalid_limit", BAD_REQUEST;
    InvalidExpiration => "invalid_expiration", BAD_REQUEST;
    InvalidTotpCode => "invalid_totp_code", BAD_REQUEST;
    EmailOrPhoneNumberRequired => "email_or_phone_number_required", BAD_REQUEST;
    WeakPassword => "weak_password", BAD_REQUEST;
    NoSessionArguments => "no_session_arguments", BAD_REQUEST;
    TooManySessionArguments => "too_many_session_arguments", BAD_REQUEST;
    NoSessionRevokeArguments => "no_session_revoke_arguments", BAD_REQUEST;
    TooManySessionRevokeArguments => "too_many_session_revoke_arguments", BAD_REQUEST;
    CannotAssignDefaultRbacRoleId => "cannot_assign_default_rbac_role_id", BAD_REQUEST;
    // Changes the stored state refuses.
    UserHasMultipleFactors => "user_has_multiple_factors", BAD_REQUEST;
    DuplicateEmail => "duplicate_email", BAD_REQUEST;
    DuplicatePhoneNumber => "duplicate_phone_number", BAD_REQUEST;
    DuplicateExternalId => "duplicate_external_id", BAD_REQUEST;
    PasswordAlreadyExists => "password_already_exists", BAD_REQUEST;
    OrganizationSlugAlreadyUsed => "organization_slug_already_used", BAD_REQUEST;
    DuplicateOrganizationExternalId => "duplicate_organization_external_id", BAD_REQUEST;
    DuplicateMemberEmail => "duplicate_member_email", BAD_REQUEST;
    DuplicateMemberExternalId => "duplicate_member_external_id", BAD_REQUEST;
    DuplicateMemberPhoneNumberForMember => "duplicate_member_phone_number_for_member", BAD_REQUEST;
    // Latchkey's name: Stytch documents the refusal but not its error_type.
    MemberEmailNotVerified => "member_email_not_verified", BAD_REQUEST;
    CannotDeleteLastPrimaryFactor => "cannot_delete_last_primary_factor", BAD_REQUEST;
    ActiveTotpExists => "active_totp_exists", BAD_REQUEST;
    TooManyEmails => "too_many_emails", BAD_REQUEST;
    TooManyPhoneNumbers => "too_many_phone_numbers", BAD_REQUEST;
    TooManyFactors => "too_many_factors", BAD_REQUEST;
    ExpiredTotp => "expired_totp", BAD_REQUEST;
    // Credentials that do not authenticate.
    UnauthorizedCredentials => "unauthorized_credentials", UNAUTHORIZED;
    ResetPassword => "reset_password", UNAUTHORIZED;
    UnableToParseSessionJwt => "unable_to_parse_session_jwt", UNAUTHORIZED;
    UnableToAuthenticateTotp => "unable_to_authenticate_totp", UNAUTHORIZED;
    TotpCodeAlreadyAuthenticated => "totp_code_already_authenticated", UNAUTHORIZED;
    UnableToAuthenticateRecoveryCode => "unable_to_authenticate_recovery_code", UNAUTHORIZED;
    UserLockLimitReached => "user_lock_limit_reached", TOO_MANY_REQUESTS;
    // Things that are not there (a contact channel is an email: `EmailNotFound`).
    UserNotFound => "user_not_found", NOT_FOUND, "USER_NOT_FOUND";
    EmailNotFound => "email_not_found", NOT_FOUND;
    PhoneNumberNotFound => "phone_number_not_found", NOT_FOUND;
    WebAuthnRegistrationNotFound => "webauthn_registration_not_found", NOT_FOUND;
    BiometricRegistrationNotFound => "biometric_registration_not_found", NOT_FOUND;
    TotpNotFound => "totp_not_found", NOT_FOUND;
    CryptoWalletNotFound => "crypto_wallet_not_found", NOT_FOUND;
    PasswordNotFound => "password_not_found", NOT_FOUND;
    OAuthUserRegistrationNotFound => "oauth_user_registration_not_found", NOT_FOUND;
    ProjectNotFound => "project_not_found", NOT_FOUND;
    SessionNotFound => "session_not_found", NOT_FOUND;
    IntermediateSessionNotFound => "intermediate_session_not_found", NOT_FOUND;
    OperationRestrictedByOrganizationAuthMethods => "operation_restricted_by_organization_auth_methods", BAD_REQUEST;
    OperationRestrictedByOrganizationMfaMethods => "operation_restricted_by_organization_mfa_methods", BAD_REQUEST;
    InsufficientFactorsForSessionExchange => "insufficient_factors_for_session_exchange", BAD_REQUEST;
    EmailJitProvisioningNotAllowed => "email_jit_provisioning_not_allowed", BAD_REQUEST;
    InvalidEmailForJitProvisioning => "invalid_email_for_jit_provisioning", BAD_REQUEST;
    EmailInvitesNotAllowed => "email_invites_not_allowed", BAD_REQUEST;
    InvalidEmailForInvites => "invalid_email_for_invites", BAD_REQUEST;
    OrganizationNotFound => "organization_not_found", NOT_FOUND;
    MemberNotFound => "member_not_found", NOT_FOUND;
    VerificationCodeNotFound => "verification_code_not_found", NOT_FOUND, "VERIFICATION_CODE_NOT_FOUND";
    // Latchkey's own: signing keys are managed by `latchkey keys`, which no HTTP route reaches.
    SigningKeyNotFound => "signing_key_not_found", NOT_FOUND;
    MagicLinkNotFound => "magic_link_not_found", NOT_FOUND;
    UnableToAuthMagicLink => "unable_to_auth_magic_link", UNAUTHORIZED;
    OtpCodeNotFound => "otp_code_not_found", NOT_FOUND;
    UnableToAuthOtpCode => "unable_to_auth_otp_code", UNAUTHORIZED;
    RedirectUrlNotFound => "redirect_url_not_found", NOT_FOUND;
    InvalidCode => "invalid_code", BAD_REQUEST;
    InvalidMethodId => "invalid_method_id", BAD_REQUEST;
    InvalidMagicLinkUrl => "invalid_magic_link_url", BAD_REQUEST;
    NoMatchForProvidedMagicLinkUrl => "no_match_for_provided_magic_link_url", BAD_REQUEST;
    InvalidRedirectUrl => "invalid_redirect_url", BAD_REQUEST;
    PkceMismatch => "pkce_mismatch", BAD_REQUEST;
    PkceExpectedCodeVerifier => "pkce_expected_code_verifier", BAD_REQUEST;
    TooManyUnverifiedFactors => "too_many_unverified_factors", BAD_REQUEST;
    InvalidExpirationMinutes => "invalid_expiration_minutes", BAD_REQUEST;
    InvalidCodeChallenge => "invalid_code_challenge", BAD_REQUEST;
    // HTTP itself, and the server's own state.
    RouteNotFound => "route_not_found", NOT_FOUND;
    MethodNotAllowed => "method_not_allowed", METHOD_NOT_ALLOWED;
    RequestTooLarge => "request_too_large", PAYLOAD_TOO_LARGE;
    RequestBodyTimeout => "request_body_timeout", REQUEST_TIMEOUT;
    UnsupportedMediaType => "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    TooManyRequests => "too_many_requests", TOO_MANY_REQUESTS;
    RequestTimeout => "request_timeout", SERVICE_UNAVAILABLE;
    ServiceUnavailable => "service_unavailable", SERVICE_UNAVAILABLE;
    InternalServerError => "internal_server_error", INTERNAL_SERVER_ERROR;
    // Stack Auth's known errors that no Stytch answer shares.
    SchemaError => "schema_error", BAD_REQUEST, "SCHEMA_ERROR";
    BodyParsingError => "body_parsing_error", BAD_REQUEST, "BODY_PARSING_ERROR";
    AccessTypeRequired => "access_type_required", BAD_REQUEST, "ACCESS_TYPE_REQUIRED";
    ProjectKeyWithoutAccessType => "project_key_without_access_type", BAD_REQUEST, "PROJECT_KEY_WITHOUT_ACCESS_TYPE";
    InvalidAccessType => "invalid_access_type", BAD_REQUEST, "INVALID_ACCESS_TYPE";
    AccessTypeWithoutProjectId => "access_type_without_project_id", BAD_REQUEST, "ACCESS_TYPE_WITHOUT_PROJECT_ID";
    CurrentProjectNotFound => "current_project_not_found", BAD_REQUEST, "CURRENT_PROJECT_NOT_FOUND";
    CannotGetOwnUserWithoutUser => "cannot_get_own_user_without_user", BAD_REQUEST, "CANNOT_GET_OWN_USER_WITHOUT_USER";
    PublishableClientKeyRequiredForProject => "publishable_client_key_required_for_project", UNAUTHORIZED, "PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT";
    InvalidPublishableClientKey => "invalid_publishable_client_key", UNAUTHORIZED, "INVALID_PUBLISHABLE_CLIENT_KEY";
    ServerAuthenticationRequired => "server_authentication_required", UNAUTHORIZED, "SERVER_AUTHENTICATION_REQUIRED";
    InvalidSecretServerKey => "invalid_secret_server_key", UNAUTHORIZED, "INVALID_SECRET_SERVER_KEY";
    InvalidSuperSecretAdminKey => "invalid_super_secret_admin_key", UNAUTHORIZED, "INVALID_SUPER_SECRET_ADMIN_KEY";
    InvalidProjectForAccessToken => "invalid_project_for_access_token", UNAUTHORIZED, "INVALID_PROJECT_FOR_ACCESS_TOKEN";
    UnparsableAccessToken => "unparsable_access_token", UNAUTHORIZED, "UNPARSABLE_ACCESS_TOKEN";
    AccessTokenExpired => "access_token_expired", UNAUTHORIZED, "ACCESS_TOKEN_EXPIRED";
    InvalidAccessToken => "invalid_access_token", UNAUTHORIZED, "INVALID_ACCESS_TOKEN";
    VerificationCodeExpired => "verification_code_expired", BAD_REQUEST, "VERIFICATION_CODE_EXPIRED";
    VerificationCodeAlreadyUsed => "verification_code_already_used", CONFLICT, "VERIFICATION_CODE_ALREADY_USED";
    EmailAlreadyVerified => "email_already_verified", CONFLICT, "EMAIL_ALREADY_VERIFIED";
    EmailIsNotPrimaryEmail => "email_is_not_primary_email", BAD_REQUEST, "EMAIL_IS_NOT_PRIMARY_EMAIL";
    ContactChannelAlreadyUsedForAuthBySomeoneElse => "contact_channel_already_used_for_auth_by_someone_else", CONFLICT, "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE";
    // Latchkey's own known error (Stack has no throttle of its own): a known error, so Stack's
    // clients raise it at once instead of sleeping out `Retry-After` and sending again.
    TooManyVerificationEmails => "too_many_verification_emails", TOO_MANY_REQUESTS, "TOO_MANY_VERIFICATION_EMAILS";
    // Stack Auth's plain-text answers that no Stytch answer shares.
    Forbidden => "forbidden", FORBIDDEN;
}

impl ErrorType {
    /// Stytch's `error_type` name.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn status(self) -> StatusCode {
        self.spec().status
    }

    /// The kind of a request field's id that does not parse (`InputError::InvalidId`).
    pub fn invalid_id(field: &str) -> ErrorType {
        match field {
            "email_id" => ErrorType::InvalidEmailId,
            "phone_id" => ErrorType::InvalidPhoneId,
            "webauthn_registration_id" => ErrorType::InvalidWebAuthnRegistrationId,
            "biometric_registration_id" => ErrorType::InvalidBiometricRegistrationId,
            "totp_id" => ErrorType::InvalidTotpId,
            "crypto_wallet_id" => ErrorType::InvalidCryptoWalletId,
            "password_id" => ErrorType::InvalidPasswordId,
            "oauth_user_registration_id" => ErrorType::InvalidOAuthUserRegistrationId,
            "user_id" => ErrorType::InvalidUserId,
            _ => ErrorType::BadRequest,
        }
    }

    /// The kind of a lookup that found nothing.
    pub fn not_found(missing: Missing) -> ErrorType {
        match missing {
            Missing::User => ErrorType::UserNotFound,
            Missing::Email | Missing::ContactChannel => ErrorType::EmailNotFound,
            Missing::PhoneNumber => ErrorType::PhoneNumberNotFound,
            Missing::WebAuthnRegistration => ErrorType::WebAuthnRegistrationNotFound,
            Missing::BiometricRegistration => ErrorType::BiometricRegistrationNotFound,
            Missing::Totp => ErrorType::TotpNotFound,
            Missing::CryptoWallet => ErrorType::CryptoWalletNotFound,
            Missing::Password => ErrorType::PasswordNotFound,
            Missing::OAuthRegistration => ErrorType::OAuthUserRegistrationNotFound,
            Missing::Project => ErrorType::ProjectNotFound,
            Missing::Session => ErrorType::SessionNotFound,
            Missing::Organization => ErrorType::OrganizationNotFound,
            Missing::Member => ErrorType::MemberNotFound,
            Missing::VerificationCode => ErrorType::VerificationCodeNotFound,
            Missing::SigningKey => ErrorType::SigningKeyNotFound,
            Missing::MagicLink => ErrorType::MagicLinkNotFound,
            Missing::OtpCode => ErrorType::OtpCodeNotFound,
            Missing::RedirectUrl => ErrorType::RedirectUrlNotFound,
            Missing::IntermediateSession => ErrorType::IntermediateSessionNotFound,
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
    if matches!(
        pending.error_type,
        ErrorType::RequestTooLarge | ErrorType::RequestBodyTimeout
    ) {
        // The rest of the body is not read, so the connection cannot carry another request:
        // say so, or a client may reuse it and lose its next request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

mod from;
#[cfg(test)]
mod tests;

pub use from::{store_failure, too_many, DATABASE_RETRY_AFTER_SECONDS};
