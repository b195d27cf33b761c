//! `PUT /v1/users/{user_id}`, `PUT /v1/users/{user_id}/exchange_primary_factor` and
//! `DELETE /v1/users/{user_id}/external_id`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use latchkey_core::users::UserRef;
use latchkey_core::values::{parse_metadata, parse_roles, Email, ExternalId, PhoneNumber};
use latchkey_store::{PrimaryFactor, UserPatch};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{given, NameRequest, UserError};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, Segment};
use crate::stytch::{
    reply, CryptoWalletObject, EmailObject, Envelope, PhoneNumberObject, UserObject, UserResponse,
};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailRequest {
    email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PhoneNumberRequest {
    phone_number: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    name: Option<NameRequest>,
    #[allow(dead_code)]
    #[schema(value_type = Option<Object>)]
    attributes: Option<Value>,
    #[schema(value_type = Option<Object>)]
    trusted_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    untrusted_metadata: Option<Value>,
    external_id: Option<String>,
    roles: Option<Vec<String>>,
    /// Stytch's legacy way of attaching contacts: each is added unverified.
    emails: Option<Vec<EmailRequest>>,
    phone_numbers: Option<Vec<PhoneNumberRequest>>,
}

impl TryFrom<UpdateUserRequest> for UserPatch {
    type Error = ApiError;

    fn try_from(request: UpdateUserRequest) -> Result<UserPatch, ApiError> {
        let metadata = |field: &str, value: Option<Value>| match value {
            None | Some(Value::Null) => Ok(None),
            Some(value) => parse_metadata(field, value).map(Some),
        };
        Ok(UserPatch {
            name: request.name.map(NameRequest::parse).transpose()?,
            trusted_metadata: metadata("trusted_metadata", request.trusted_metadata)?,
            untrusted_metadata: metadata("untrusted_metadata", request.untrusted_metadata)?,
            external_id: given(request.external_id)
                .map(|id| ExternalId::parse(&id))
                .transpose()?,
            roles: request.roles.map(parse_roles).transpose()?,
            add_emails: request
                .emails
                .unwrap_or_default()
                .iter()
                .map(|email| Email::parse(&email.email))
                .collect::<Result<_, _>>()?,
            add_phone_numbers: request
                .phone_numbers
                .unwrap_or_default()
                .iter()
                .map(|phone| PhoneNumber::parse(&phone.phone_number))
                .collect::<Result<_, _>>()?,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct UpdateUserResponse {
    user_id: String,
    emails: Vec<EmailObject>,
    phone_numbers: Vec<PhoneNumberObject>,
    crypto_wallets: Vec<CryptoWalletObject>,
    user: UserObject,
}

/// Update a user's name, metadata, external id and roles, or add emails and phone numbers.
#[utoipa::path(put, path = "/v1/users/{user_id}", tag = "users", operation_id = "users.update",
    params(("user_id" = String, Path, description = "The user's id, or the external id the app set.")), request_body = UpdateUserRequest,
    responses((status = 200, description = "The updated user.", body = Envelope<UpdateUserResponse>)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(user_id): Segment,
    JsonBody(request): JsonBody<UpdateUserRequest>,
) -> Result<Response, ApiError> {
    let user_ref = UserRef::parse(&user_id)?;
    let patch = UserPatch::try_from(request)?;
    let now = Utc::now();
    let user = state
        .store
        .update_user(&auth.project.project_id, &user_ref, patch, now)
        .await?;
    let user = UserObject::new(&user, now);
    let body = UpdateUserResponse {
        user_id: user.user_id.clone(),
        emails: user.emails.clone(),
        phone_numbers: user.phone_numbers.clone(),
        crypto_wallets: user.crypto_wallets.clone(),
        user,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExchangePrimaryFactorRequest {
    email_address: Option<String>,
    phone_number: Option<String>,
}

/// Replace the user's primary email or phone number, keeping the user.
#[utoipa::path(put, path = "/v1/users/{user_id}/exchange_primary_factor", tag = "users",
    operation_id = "users.exchange_primary_factor", params(("user_id" = String, Path, description = "The user's id, or the external id the app set.")),
    request_body = ExchangePrimaryFactorRequest,
    responses((status = 200, description = "The user.", body = Envelope<UserResponse>)))]
pub async fn exchange_primary_factor(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(user_id): Segment,
    JsonBody(request): JsonBody<ExchangePrimaryFactorRequest>,
) -> Result<Response, ApiError> {
    let user_ref = UserRef::parse(&user_id)?;
    let to = match (given(request.email_address), given(request.phone_number)) {
        (Some(email), None) => PrimaryFactor::Email(Email::parse(&email)?),
        (None, Some(phone)) => PrimaryFactor::PhoneNumber(PhoneNumber::parse(&phone)?),
        _ => return Err(UserError::NotExactlyOneFactor.into()),
    };
    let now = Utc::now();
    let user = state
        .store
        .exchange_primary_factor(&auth.project.project_id, &user_ref, to, now)
        .await?;
    Ok(user_reply(&auth, &user, now))
}

/// Remove the external id the app set on the user.
#[utoipa::path(delete, path = "/v1/users/{user_id}/external_id", tag = "users",
    operation_id = "users.delete_external_id", params(("user_id" = String, Path, description = "The user's id, or the external id the app set.")),
    responses((status = 200, description = "The user.", body = Envelope<UserResponse>)))]
pub async fn delete_external_id(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(user_id): Segment,
) -> Result<Response, ApiError> {
    let user_ref = UserRef::parse(&user_id)?;
    let user = state
        .store
        .delete_external_id(&auth.project.project_id, &user_ref)
        .await?;
    Ok(user_reply(&auth, &user, Utc::now()))
}

/// `{user_id, user}`: the shape of every response that returns the affected user.
pub(crate) fn user_reply(
    auth: &Authenticated,
    user: &latchkey_core::users::User,
    now: chrono::DateTime<Utc>,
) -> Response {
    reply(
        &auth.request_id,
        StatusCode::OK,
        UserResponse::new(user, now),
    )
}
