//! Stytch's API, one module per resource. Wire types live beside their handlers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use latchkey_core::ids::RequestId;
use latchkey_core::user::User;
use serde_json::{json, Map, Value};

pub mod b2b;
pub mod passwords;
pub mod sessions;
pub mod totps;
pub mod users;

/// A successful Stytch response: the body's fields plus `status_code` and `request_id`.
pub fn reply(request_id: &RequestId, status: StatusCode, body: impl Into<Value>) -> Response {
    let mut body = body.into();
    if let Value::Object(fields) = &mut body {
        fields.insert("status_code".to_owned(), json!(status.as_u16()));
        fields.insert("request_id".to_owned(), json!(request_id));
    }
    (status, Json(body)).into_response()
}

/// RFC 3339 in UTC with whole seconds, as Stytch prints times: `2021-12-29T12:33:09Z`.
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The full User object: every key present, empty lists as `[]`, absent strings as `""`, absent
/// objects and times as `null`.
pub fn user_json(user: &User, now: DateTime<Utc>) -> Map<String, Value> {
    let value = json!({
        "user_id": user.user_id,
        "emails": user.emails.iter().map(|email| json!({
            "email_id": email.email_id,
            "email": email.email,
            "verified": email.verified,
        })).collect::<Vec<_>>(),
        "status": user.status.as_str(),
        "phone_numbers": user.phone_numbers.iter().map(|phone| json!({
            "phone_id": phone.phone_id,
            "phone_number": phone.phone_number,
            "verified": phone.verified,
        })).collect::<Vec<_>>(),
        "webauthn_registrations": user.webauthn_registrations.iter().map(|registration| json!({
            "webauthn_registration_id": registration.webauthn_registration_id,
            "domain": registration.domain,
            "user_agent": registration.user_agent,
            "verified": registration.verified,
            "authenticator_type": registration.authenticator_type,
            "name": registration.name,
        })).collect::<Vec<_>>(),
        "providers": user.providers.iter().map(|provider| json!({
            "provider_type": provider.provider_type,
            "provider_subject": provider.provider_subject,
            "profile_picture_url": provider.profile_picture_url,
            "locale": provider.locale,
            "oauth_user_registration_id": provider.oauth_user_registration_id,
        })).collect::<Vec<_>>(),
        "totps": user.totps.iter().map(|totp| json!({
            "totp_id": totp.totp_id,
            "verified": totp.verified,
        })).collect::<Vec<_>>(),
        "crypto_wallets": user.crypto_wallets.iter().map(|wallet| json!({
            "crypto_wallet_id": wallet.crypto_wallet_id,
            "crypto_wallet_address": wallet.crypto_wallet_address,
            "crypto_wallet_type": wallet.crypto_wallet_type,
            "verified": wallet.verified,
        })).collect::<Vec<_>>(),
        "biometric_registrations": user.biometric_registrations.iter().map(|registration| json!({
            "biometric_registration_id": registration.biometric_registration_id,
            "verified": registration.verified,
        })).collect::<Vec<_>>(),
        "is_locked": user.is_locked(now),
        "roles": user.roles,
        "name": {
            "first_name": user.name.first_name,
            "middle_name": user.name.middle_name,
            "last_name": user.name.last_name,
        },
        "created_at": timestamp(user.created_at),
        "password": user.password.as_ref().map(|password| json!({
            "password_id": password.password_id,
            "requires_reset": password.requires_reset,
        })),
        "trusted_metadata": user.trusted_metadata,
        "untrusted_metadata": user.untrusted_metadata,
        "external_id": user.external_id.clone().unwrap_or_default(),
        "lock_created_at": user.lock_created_at.map(timestamp),
        "lock_expires_at": user.lock_expires_at.map(timestamp),
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
