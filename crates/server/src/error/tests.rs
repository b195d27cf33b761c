//! The error table, the store and input mappings, and the body Stytch's clients parse.

use super::*;

#[test]
fn every_store_error_maps_to_its_stytch_type_and_status() {
    let cases = [
        (StoreError::NotFound(Missing::User), "user_not_found", 404),
        (StoreError::NotFound(Missing::Email), "email_not_found", 404),
        (
            StoreError::NotFound(Missing::MagicLink),
            "magic_link_not_found",
            404,
        ),
        (
            StoreError::Refused(Refusal::MagicLinkUnusable),
            "unable_to_auth_magic_link",
            401,
        ),
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

/// The one table of error kinds: every status an error status, every Stytch name and every
/// Stack code unique (and sendable as a header), and the pairs the wire tests rely on.
#[test]
fn the_error_table_holds_every_kind_once() {
    let mut names = std::collections::HashSet::new();
    let mut codes = std::collections::HashSet::new();
    for spec in ErrorType::TABLE {
        assert!(
            spec.status.is_client_error() || spec.status.is_server_error(),
            "{spec:?}"
        );
        assert_eq!(spec.error_type.spec(), *spec);
        assert!(names.insert(spec.name), "{} named twice", spec.name);
        assert!(
            spec.name
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte == b'_'),
            "{spec:?}"
        );
        if let Some(code) = spec.stack_code {
            assert!(codes.insert(code), "{code} coded twice");
            assert!(
                code.bytes()
                    .all(|byte| byte.is_ascii_uppercase() || byte == b'_'),
                "{spec:?}"
            );
            assert!(HeaderValue::from_str(code).is_ok());
        }
    }
    let known = [
        (ErrorType::BadRequest, "bad_request", 400, None),
        (ErrorType::DuplicateEmail, "duplicate_email", 400, None),
        (
            ErrorType::UnauthorizedCredentials,
            "unauthorized_credentials",
            401,
            None,
        ),
        (
            ErrorType::UserNotFound,
            "user_not_found",
            404,
            Some("USER_NOT_FOUND"),
        ),
        (ErrorType::EmailNotFound, "email_not_found", 404, None),
        (
            ErrorType::VerificationCodeNotFound,
            "verification_code_not_found",
            404,
            Some("VERIFICATION_CODE_NOT_FOUND"),
        ),
        (
            ErrorType::UserLockLimitReached,
            "user_lock_limit_reached",
            429,
            None,
        ),
        (ErrorType::TooManyRequests, "too_many_requests", 429, None),
        (ErrorType::RequestTimeout, "request_timeout", 503, None),
        (
            ErrorType::ServiceUnavailable,
            "service_unavailable",
            503,
            None,
        ),
        (
            ErrorType::InternalServerError,
            "internal_server_error",
            500,
            None,
        ),
        (
            ErrorType::SchemaError,
            "schema_error",
            400,
            Some("SCHEMA_ERROR"),
        ),
        (
            ErrorType::InvalidPublishableClientKey,
            "invalid_publishable_client_key",
            401,
            Some("INVALID_PUBLISHABLE_CLIENT_KEY"),
        ),
        (
            ErrorType::VerificationCodeAlreadyUsed,
            "verification_code_already_used",
            409,
            Some("VERIFICATION_CODE_ALREADY_USED"),
        ),
        (
            ErrorType::ContactChannelAlreadyUsedForAuthBySomeoneElse,
            "contact_channel_already_used_for_auth_by_someone_else",
            409,
            Some("CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE"),
        ),
        (ErrorType::Forbidden, "forbidden", 403, None),
    ];
    for (kind, name, status, code) in known {
        let spec = kind.spec();
        assert_eq!(
            (spec.name, spec.status.as_u16(), spec.stack_code),
            (name, status, code)
        );
    }
    // Core's own names are 400s, outside the table.
    let input = ErrorType::Input("invalid_totp_secret").spec();
    assert_eq!(
        (input.name, input.status, input.stack_code),
        ("invalid_totp_secret", StatusCode::BAD_REQUEST, None)
    );
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
            error_type: ErrorType::UserNotFound,
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
