//! `DELETE /v1/users/{user_id}` and the deletes of each factor
//! (`/v1/users/<factor kind>/{id}`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use latchkey_core::ids::{
    BiometricRegistrationId, CryptoWalletId, EmailId, OAuthUserRegistrationId, PasswordId, PhoneId,
    TotpId, WebAuthnRegistrationId,
};
use latchkey_core::users::UserRef;
use latchkey_core::InputError;
use latchkey_store::FactorRef;
use serde::Serialize;
use utoipa::ToSchema;

use super::update::user_reply;
use crate::error::ApiError;
use crate::extract::{Authenticated, Segment};
use crate::stytch::{reply, Envelope, UserResponse};
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct DeleteUserResponse {
    user_id: String,
}

/// Delete a user and everything attached to it: factors, sessions, roles.
#[utoipa::path(delete, path = "/v1/users/{user_id}", tag = "users", operation_id = "users.delete",
    params(("user_id" = String, Path, description = "The user's id, or the external id the app set.")),
    responses((status = 200, description = "The deleted user's id.", body = Envelope<DeleteUserResponse>)))]
pub async fn delete_user(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(user_id): Segment,
) -> Result<Response, ApiError> {
    let user_ref = UserRef::parse(&user_id)?;
    let deleted = state
        .store
        .delete_user(&auth.project.project_id, &user_ref)
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        DeleteUserResponse {
            user_id: deleted.as_str().to_owned(),
        },
    ))
}

async fn delete_factor(
    state: &AppState,
    auth: &Authenticated,
    factor: Result<FactorRef, InputError>,
) -> Result<Response, ApiError> {
    let factor = factor?;
    let user = state
        .store
        .delete_factor(&auth.project.project_id, &factor)
        .await?;
    Ok(user_reply(auth, &user, Utc::now()))
}

// rustfmt re-indents a multi-line attribute inside a macro on every run; leave it as written.
#[rustfmt::skip]
macro_rules! factor_delete {
    ($handler:ident, $id:ident, $variant:ident, $path:literal, $param:literal, $operation:literal,
     $what:literal) => {
        #[doc = $what]
        #[utoipa::path(delete, path = $path, tag = "users", operation_id = $operation,
            params(($param = String, Path, description = "The factor's id.")),
            responses((status = 200, description = "The user, without it.",
                       body = Envelope<UserResponse>)))]
        pub async fn $handler(
            State(state): State<AppState>,
            auth: Authenticated,
            Segment(id): Segment,
        ) -> Result<Response, ApiError> {
            delete_factor(&state, &auth, $id::parse(&id).map(FactorRef::$variant)).await
        }
    };
}

factor_delete!(
    delete_email,
    EmailId,
    Email,
    "/v1/users/emails/{email_id}",
    "email_id",
    "users.delete_email",
    "Delete one of a user's factors: the email."
);
factor_delete!(
    delete_phone_number,
    PhoneId,
    PhoneNumber,
    "/v1/users/phone_numbers/{phone_id}",
    "phone_id",
    "users.delete_phone_number",
    "Delete one of a user's factors: the phone number."
);
factor_delete!(
    delete_webauthn_registration,
    WebAuthnRegistrationId,
    WebAuthnRegistration,
    "/v1/users/webauthn_registrations/{webauthn_registration_id}",
    "webauthn_registration_id",
    "users.delete_webauthn_registration",
    "Delete one of a user's factors: the WebAuthn registration."
);
factor_delete!(
    delete_biometric_registration,
    BiometricRegistrationId,
    BiometricRegistration,
    "/v1/users/biometric_registrations/{biometric_registration_id}",
    "biometric_registration_id",
    "users.delete_biometric_registration",
    "Delete one of a user's factors: the biometric registration."
);
factor_delete!(
    delete_totp,
    TotpId,
    Totp,
    "/v1/users/totps/{totp_id}",
    "totp_id",
    "users.delete_totp",
    "Delete one of a user's factors: the TOTP registration."
);
factor_delete!(
    delete_crypto_wallet,
    CryptoWalletId,
    CryptoWallet,
    "/v1/users/crypto_wallets/{crypto_wallet_id}",
    "crypto_wallet_id",
    "users.delete_crypto_wallet",
    "Delete one of a user's factors: the crypto wallet."
);
factor_delete!(
    delete_password,
    PasswordId,
    Password,
    "/v1/users/passwords/{password_id}",
    "password_id",
    "users.delete_password",
    "Delete one of a user's factors: the password."
);
factor_delete!(
    delete_oauth_registration,
    OAuthUserRegistrationId,
    OAuthRegistration,
    "/v1/users/oauth/{oauth_user_registration_id}",
    "oauth_user_registration_id",
    "users.delete_oauth_registration",
    "Delete one of a user's factors: the OAuth registration."
);
