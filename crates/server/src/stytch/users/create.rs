//! `POST /v1/users`: add a user.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use latchkey_core::users::NewUser;
use latchkey_core::values::{parse_roles, Email, ExternalId, PhoneNumber};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{given, new_metadata, new_name, NameRequest, UserError};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::{reply, Envelope, UserObject};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    email: Option<String>,
    name: Option<NameRequest>,
    /// Fraud-detection hints (IP, user agent). Accepted and not stored, as there is no fraud
    /// engine to feed.
    #[allow(dead_code)]
    attributes: Option<Value>,
    phone_number: Option<String>,
    create_user_as_pending: Option<bool>,
    trusted_metadata: Option<Value>,
    untrusted_metadata: Option<Value>,
    external_id: Option<String>,
    roles: Option<Vec<String>>,
}

impl TryFrom<CreateUserRequest> for NewUser {
    type Error = ApiError;

    fn try_from(request: CreateUserRequest) -> Result<NewUser, ApiError> {
        let email = given(request.email)
            .map(|email| Email::parse(&email))
            .transpose()?;
        let phone_number = given(request.phone_number)
            .map(|phone| PhoneNumber::parse(&phone))
            .transpose()?;
        if email.is_none() && phone_number.is_none() {
            return Err(UserError::EmailOrPhoneNumberRequired.into());
        }
        Ok(NewUser {
            email,
            email_verified: false,
            phone_number,
            phone_verified: false,
            name: new_name(request.name)?,
            pending: request.create_user_as_pending.unwrap_or(false),
            trusted_metadata: new_metadata("trusted_metadata", request.trusted_metadata)?,
            untrusted_metadata: new_metadata("untrusted_metadata", request.untrusted_metadata)?,
            external_id: given(request.external_id)
                .map(|id| ExternalId::parse(&id))
                .transpose()?,
            roles: parse_roles(request.roles.unwrap_or_default())?,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreateUserResponse {
    user_id: String,
    /// The new email's id, `""` without one.
    email_id: String,
    status: String,
    /// The new phone number's id, `""` without one.
    phone_id: String,
    user: UserObject,
}

/// Create a user with an email, a phone number or both.
#[utoipa::path(post, path = "/v1/users", tag = "users", operation_id = "users.create",
    request_body = CreateUserRequest,
    responses((status = 200, description = "The new user.", body = Envelope<CreateUserResponse>)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<CreateUserRequest>,
) -> Result<Response, ApiError> {
    let new_user = NewUser::try_from(request)?;
    let now = Utc::now();
    let user = state
        .store
        .create_user(&auth.project.project_id, new_user, now)
        .await?;
    let body = CreateUserResponse {
        user_id: user.user_id.as_str().to_owned(),
        email_id: user
            .emails
            .first()
            .map(|email| email.email_id.as_str().to_owned())
            .unwrap_or_default(),
        status: user.status.as_str().to_owned(),
        phone_id: user
            .phone_numbers
            .first()
            .map(|phone| phone.phone_id.as_str().to_owned())
            .unwrap_or_default(),
        user: UserObject::new(&user, now),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
