//! Stytch's API, one module per resource. Wire types live beside their handlers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use latchkey_core::ids::RequestId;
use latchkey_core::users::User;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub use crate::openapi::Envelope;

pub mod b2b;
pub mod magic_links;
pub mod otps;
pub mod passwordless;
pub mod passwords;
pub mod redirect_urls;
pub mod sessions;
pub mod totps;
pub mod users;

/// A successful Stytch response: `body`'s fields plus `status_code` and `request_id`
/// ([`Envelope`], which the OpenAPI document describes).
pub fn reply<T: Serialize>(request_id: &RequestId, status: StatusCode, body: T) -> Response {
    let envelope = Envelope {
        body,
        status_code: status.as_u16(),
        request_id: request_id.as_str().to_owned(),
    };
    (status, Json(envelope)).into_response()
}

/// RFC 3339 in UTC with whole seconds, as Stytch prints times: `2021-12-29T12:33:09Z`.
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The full User object: every key present, empty lists as `[]`, absent strings as `""`, absent
/// objects and times as `null`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserObject {
    pub user_id: String,
    pub emails: Vec<EmailObject>,
    /// `active` or `pending`.
    pub status: String,
    pub phone_numbers: Vec<PhoneNumberObject>,
    pub webauthn_registrations: Vec<WebAuthnRegistrationObject>,
    pub providers: Vec<OAuthProviderObject>,
    pub totps: Vec<TotpObject>,
    pub crypto_wallets: Vec<CryptoWalletObject>,
    pub biometric_registrations: Vec<BiometricRegistrationObject>,
    pub is_locked: bool,
    pub roles: Vec<String>,
    pub name: NameObject,
    /// RFC 3339, whole seconds, UTC.
    pub created_at: String,
    pub password: Option<PasswordObject>,
    pub trusted_metadata: Map<String, Value>,
    pub untrusted_metadata: Map<String, Value>,
    /// `""` when the user has none.
    pub external_id: String,
    pub lock_created_at: Option<String>,
    pub lock_expires_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EmailObject {
    pub email_id: String,
    pub email: String,
    pub verified: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PhoneNumberObject {
    pub phone_id: String,
    pub phone_number: String,
    pub verified: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebAuthnRegistrationObject {
    pub webauthn_registration_id: String,
    pub domain: String,
    pub user_agent: String,
    pub verified: bool,
    pub authenticator_type: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OAuthProviderObject {
    pub provider_type: String,
    pub provider_subject: String,
    pub profile_picture_url: String,
    pub locale: String,
    pub oauth_user_registration_id: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TotpObject {
    pub totp_id: String,
    pub verified: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CryptoWalletObject {
    pub crypto_wallet_id: String,
    pub crypto_wallet_address: String,
    pub crypto_wallet_type: String,
    pub verified: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BiometricRegistrationObject {
    pub biometric_registration_id: String,
    pub verified: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NameObject {
    pub first_name: String,
    pub middle_name: String,
    pub last_name: String,
}

/// The password's id, never its hash.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PasswordObject {
    pub password_id: String,
    pub requires_reset: bool,
}

impl UserObject {
    pub fn new(user: &User, now: DateTime<Utc>) -> UserObject {
        UserObject {
            user_id: user.user_id.as_str().to_owned(),
            emails: user
                .emails
                .iter()
                .map(|email| EmailObject {
                    email_id: email.email_id.as_str().to_owned(),
                    email: email.email.clone(),
                    verified: email.verified,
                })
                .collect(),
            status: user.status.as_str().to_owned(),
            phone_numbers: user
                .phone_numbers
                .iter()
                .map(|phone| PhoneNumberObject {
                    phone_id: phone.phone_id.as_str().to_owned(),
                    phone_number: phone.phone_number.clone(),
                    verified: phone.verified,
                })
                .collect(),
            webauthn_registrations: user
                .webauthn_registrations
                .iter()
                .map(|registration| WebAuthnRegistrationObject {
                    webauthn_registration_id: registration
                        .webauthn_registration_id
                        .as_str()
                        .to_owned(),
                    domain: registration.domain.clone(),
                    user_agent: registration.user_agent.clone(),
                    verified: registration.verified,
                    authenticator_type: registration.authenticator_type.clone(),
                    name: registration.name.clone(),
                })
                .collect(),
            providers: user
                .providers
                .iter()
                .map(|provider| OAuthProviderObject {
                    provider_type: provider.provider_type.clone(),
                    provider_subject: provider.provider_subject.clone(),
                    profile_picture_url: provider.profile_picture_url.clone(),
                    locale: provider.locale.clone(),
                    oauth_user_registration_id: provider
                        .oauth_user_registration_id
                        .as_str()
                        .to_owned(),
                })
                .collect(),
            totps: user
                .totps
                .iter()
                .map(|totp| TotpObject {
                    totp_id: totp.totp_id.as_str().to_owned(),
                    verified: totp.verified,
                })
                .collect(),
            crypto_wallets: user
                .crypto_wallets
                .iter()
                .map(|wallet| CryptoWalletObject {
                    crypto_wallet_id: wallet.crypto_wallet_id.as_str().to_owned(),
                    crypto_wallet_address: wallet.crypto_wallet_address.clone(),
                    crypto_wallet_type: wallet.crypto_wallet_type.clone(),
                    verified: wallet.verified,
                })
                .collect(),
            biometric_registrations: user
                .biometric_registrations
                .iter()
                .map(|registration| BiometricRegistrationObject {
                    biometric_registration_id: registration
                        .biometric_registration_id
                        .as_str()
                        .to_owned(),
                    verified: registration.verified,
                })
                .collect(),
            is_locked: user.is_locked(now),
            roles: user.roles.clone(),
            name: NameObject {
                first_name: user.name.first_name.clone(),
                middle_name: user.name.middle_name.clone(),
                last_name: user.name.last_name.clone(),
            },
            created_at: timestamp(user.created_at),
            password: user.password.as_ref().map(|password| PasswordObject {
                password_id: password.password_id.as_str().to_owned(),
                requires_reset: password.requires_reset,
            }),
            trusted_metadata: user.trusted_metadata.clone(),
            untrusted_metadata: user.untrusted_metadata.clone(),
            external_id: user.external_id.clone().unwrap_or_default(),
            lock_created_at: user.lock_created_at.map(timestamp),
            lock_expires_at: user.lock_expires_at.map(timestamp),
        }
    }
}

/// `{user_id, user}`: the shape of every response that returns the affected user.
#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    pub user_id: String,
    pub user: UserObject,
}

impl UserResponse {
    pub fn new(user: &User, now: DateTime<Utc>) -> UserResponse {
        let user = UserObject::new(user, now);
        UserResponse {
            user_id: user.user_id.clone(),
            user,
        }
    }
}
