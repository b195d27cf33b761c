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
use latchkey_core::user::UserRef;
use latchkey_core::InputError;
use latchkey_store::FactorRef;
use serde_json::json;

use super::update::user_reply;
use crate::error::ApiError;
use crate::extract::{Authenticated, Segment};
use crate::stytch::reply;
use crate::AppState;

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
        json!({ "user_id": deleted }),
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

macro_rules! factor_delete {
    ($handler:ident, $id:ident, $variant:ident) => {
        pub async fn $handler(
            State(state): State<AppState>,
            auth: Authenticated,
            Segment(id): Segment,
        ) -> Result<Response, ApiError> {
            delete_factor(&state, &auth, $id::parse(&id).map(FactorRef::$variant)).await
        }
    };
}

factor_delete!(delete_email, EmailId, Email);
factor_delete!(delete_phone_number, PhoneId, PhoneNumber);
factor_delete!(
    delete_webauthn_registration,
    WebAuthnRegistrationId,
    WebAuthnRegistration
);
factor_delete!(
    delete_biometric_registration,
    BiometricRegistrationId,
    BiometricRegistration
);
factor_delete!(delete_totp, TotpId, Totp);
factor_delete!(delete_crypto_wallet, CryptoWalletId, CryptoWallet);
factor_delete!(delete_password, PasswordId, Password);
factor_delete!(
    delete_oauth_registration,
    OAuthUserRegistrationId,
    OAuthRegistration
);
