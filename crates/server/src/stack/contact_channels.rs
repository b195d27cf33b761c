//! `/api/v1/contact-channels`: list, create, read, update, delete, and email verification
//! (send a code, verify it, check it), as Stack Auth serves them, with its route names
//! (`apps/backend/src/app/api/latest/contact-channels/`), the deprecated one included.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, Utc};
use latchkey_core::delivery::{Channel, MessageContent};
use latchkey_core::ids::EmailId;
use latchkey_core::secret::{Secret, SecretDigest};
use latchkey_core::values::Email;
use latchkey_store::{ContactChannel, ContactChannelPatch, NewContactChannel, NewVerification};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    channel_email_id, stack_channel_id, stack_user_id, success, target_user, Access, StackAuth,
    StackError, StackJson, Success,
};
use crate::error::ErrorType;
use crate::AppState;

/// How long an email verification code works.
const VERIFICATION_CODE_HOURS: i64 = 24;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(verify))
        .routes(routes!(check_code))
        .routes(routes!(read, update, remove))
        .routes(routes!(send_verification_code))
        .routes(routes!(send_primary_verification_code))
}

/// The contact channel object.
#[derive(Serialize, ToSchema)]
pub struct ContactChannelObject {
    /// The user's UUID.
    user_id: String,
    /// The channel's UUID.
    id: String,
    value: String,
    /// Always `email`: the only type Stack's API serves.
    #[serde(rename = "type")]
    kind: &'static str,
    used_for_auth: bool,
    is_verified: bool,
    is_primary: bool,
}

impl ContactChannelObject {
    fn new(channel: &ContactChannel) -> ContactChannelObject {
        ContactChannelObject {
            user_id: stack_user_id(&channel.user_id).to_owned(),
            id: stack_channel_id(&channel.email_id).to_owned(),
            value: channel.value.clone(),
            kind: "email",
            used_for_auth: channel.used_for_auth,
            is_verified: channel.verified,
            is_primary: channel.is_primary,
        }
    }
}

const USER_PARAMETER: &str = "A user's UUID, or `me` with a client's access token.";

/// Only `email` channels exist in Stack's API.
fn check_type(kind: Option<&str>) -> Result<(), StackError> {
    match kind {
        None | Some("email") => Ok(()),
        Some(other) => Err(StackError::schema(format!(
            "body.type must be one of the following values: email (got {other:?})"
        ))),
    }
}

fn email(value: &str) -> Result<Email, StackError> {
    Email::parse(value).map_err(|_| StackError::schema("body.value must be a valid email"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// A user's UUID, or `me` with a client's access token. Required.
    user_id: Option<String>,
    /// Only this channel.
    contact_channel_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactChannelList {
    items: Vec<ContactChannelObject>,
    /// Always `false`: a user's channels come in one page.
    is_paginated: bool,
}

/// A user's contact channels.
#[utoipa::path(get, path = "/api/v1/contact-channels", tag = "contact-channels",
    operation_id = "contact_channels.list", params(ListQuery),
    responses((status = 200, description = "The user's channels.", body = ContactChannelList)))]
async fn list(
    State(state): State<AppState>,
    auth: StackAuth,
    Query(query): Query<ListQuery>,
) -> Result<Response, StackError> {
    let raw = query
        .user_id
        .ok_or_else(|| StackError::schema("query.user_id is required"))?;
    let user_id = target_user(&auth, &raw, "list")?;
    let only = query
        .contact_channel_id
        .map(|id| channel_email_id(auth.project.environment, &id))
        .transpose()?;
    let channels = state
        .store
        .contact_channels(&auth.project.project_id, &user_id)
        .await?;
    let items = channels
        .iter()
        .filter(|channel| only.as_ref().is_none_or(|id| &channel.email_id == id))
        .map(ContactChannelObject::new)
        .collect();
    Ok(Json(ContactChannelList {
        items,
        is_paginated: false,
    })
    .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChannelCreateRequest {
    user_id: String,
    value: String,
    #[serde(rename = "type")]
    kind: String,
    used_for_auth: bool,
    is_primary: Option<bool>,
    /// Server access only.
    is_verified: Option<bool>,
}

/// Add an email channel to a user.
#[utoipa::path(post, path = "/api/v1/contact-channels", tag = "contact-channels",
    operation_id = "contact_channels.create", request_body = ContactChannelCreateRequest,
    responses((status = 201, description = "The new channel.", body = ContactChannelObject)))]
async fn create(
    State(state): State<AppState>,
    auth: StackAuth,
    StackJson(request): StackJson<ContactChannelCreateRequest>,
) -> Result<Response, StackError> {
    if auth.access == Access::Client && request.is_verified.is_some() {
        return Err(StackError::schema(
            "body contains unknown properties: is_verified",
        ));
    }
    check_type(Some(&request.kind))?;
    let value = email(&request.value)?;
    let user_id = target_user(&auth, &request.user_id, "create")?;
    let project_id = &auth.project.project_id;
    // Stack refuses a value the user has already as its own request error. Another user's
    // address is refused only where someone else signs in with it and this channel would too
    // (`CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE`, from the database), which a
    // client reaches only for an address it has verified (core `ChannelEffects::refused`).
    let existing = state.store.contact_channels(project_id, &user_id).await?;
    if existing
        .iter()
        .any(|channel| channel.value == value.as_str())
    {
        return Err(StackError::new(
            ErrorType::BadRequest,
            "Contact channel already exists.",
        ));
    }
    let channel = NewContactChannel {
        email_id: EmailId::generate(auth.project.environment),
        value,
        verified: request.is_verified.unwrap_or(false),
        used_for_auth: request.used_for_auth,
        is_primary: request.is_primary.unwrap_or(false),
        self_service: auth.access == Access::Client,
    };
    let created = state
        .store
        .create_contact_channel(project_id, &user_id, channel, Utc::now())
        .await
        .map_err(|error| with_value(error.into(), &request.value))?;
    Ok((
        StatusCode::CREATED,
        Json(ContactChannelObject::new(&created)),
    )
        .into_response())
}

/// Names the contested value in a duplicate's details, as Stack does.
fn with_value(error: StackError, value: &str) -> StackError {
    match error.kind {
        ErrorType::ContactChannelAlreadyUsedForAuthBySomeoneElse => StackError::new(
            error.kind,
            format!("This email \"({value})\" is already used by another account."),
        )
        .with_details(json!({"type": "email", "contact_channel_value": value,
                             "would_work_if_email_was_verified": false})),
        _ => error,
    }
}

async fn find(
    state: &AppState,
    auth: &StackAuth,
    user: &str,
    id: &str,
    action: &str,
) -> Result<ContactChannel, StackError> {
    let user_id = target_user(auth, user, action)?;
    let email_id = channel_email_id(auth.project.environment, id)?;
    state
        .store
        .contact_channels(&auth.project.project_id, &user_id)
        .await?
        .into_iter()
        .find(|channel| channel.email_id == email_id)
        .ok_or_else(|| StackError::new(ErrorType::EmailNotFound, "Contact channel not found."))
}

/// One of a user's channels.
#[utoipa::path(get, path = "/api/v1/contact-channels/{user_id}/{contact_channel_id}",
    tag = "contact-channels", operation_id = "contact_channels.get",
    params(("user_id" = String, Path, description = USER_PARAMETER),
           ("contact_channel_id" = String, Path, description = "The channel's UUID.")),
    responses((status = 200, description = "The channel.", body = ContactChannelObject)))]
async fn read(
    State(state): State<AppState>,
    auth: StackAuth,
    Path((user, id)): Path<(String, String)>,
) -> Result<Response, StackError> {
    let channel = find(&state, &auth, &user, &id, "read").await?;
    Ok(Json(ContactChannelObject::new(&channel)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChannelUpdateRequest {
    value: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    used_for_auth: Option<bool>,
    is_primary: Option<bool>,
    /// Server access only.
    is_verified: Option<bool>,
}

/// Change a channel's value or flags. A new value is unverified.
#[utoipa::path(patch, path = "/api/v1/contact-channels/{user_id}/{contact_channel_id}",
    tag = "contact-channels", operation_id = "contact_channels.update",
    params(("user_id" = String, Path, description = USER_PARAMETER),
           ("contact_channel_id" = String, Path, description = "The channel's UUID.")),
    request_body = ContactChannelUpdateRequest,
    responses((status = 200, description = "The channel.", body = ContactChannelObject)))]
async fn update(
    State(state): State<AppState>,
    auth: StackAuth,
    Path((user, id)): Path<(String, String)>,
    StackJson(request): StackJson<ContactChannelUpdateRequest>,
) -> Result<Response, StackError> {
    if auth.access == Access::Client && request.is_verified.is_some() {
        return Err(StackError::schema(
            "body contains unknown properties: is_verified",
        ));
    }
    check_type(request.kind.as_deref())?;
    let patch = ContactChannelPatch {
        value: request.value.as_deref().map(email).transpose()?,
        verified: request.is_verified,
        used_for_auth: request.used_for_auth,
        is_primary: request.is_primary,
        self_service: auth.access == Access::Client,
    };
    let user_id = target_user(&auth, &user, "update")?;
    let email_id = channel_email_id(auth.project.environment, &id)?;
    let updated = state
        .store
        .update_contact_channel(&auth.project.project_id, &user_id, &email_id, patch)
        .await
        .map_err(|error| with_value(error.into(), request.value.as_deref().unwrap_or_default()))?;
    Ok(Json(ContactChannelObject::new(&updated)).into_response())
}

/// Remove a channel from its user.
#[utoipa::path(delete, path = "/api/v1/contact-channels/{user_id}/{contact_channel_id}",
    tag = "contact-channels", operation_id = "contact_channels.delete",
    params(("user_id" = String, Path, description = USER_PARAMETER),
           ("contact_channel_id" = String, Path, description = "The channel's UUID.")),
    responses((status = 200, description = "The channel is gone.", body = Success)))]
async fn remove(
    State(state): State<AppState>,
    auth: StackAuth,
    Path((user, id)): Path<(String, String)>,
) -> Result<Response, StackError> {
    let user_id = target_user(&auth, &user, "delete")?;
    let email_id = channel_email_id(auth.project.environment, &id)?;
    state
        .store
        .delete_contact_channel(&auth.project.project_id, &user_id, &email_id)
        .await?;
    state.delivery.queued();
    Ok(success())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The page the emailed link opens, with `code` added to its query.
    callback_url: String,
}

/// An http(s) URL of at most 2048 characters, as Stack's schema takes `callback_url`.
fn check_callback_url(callback_url: &str) -> Result<(), StackError> {
    let valid = (callback_url.starts_with("https://") || callback_url.starts_with("http://"))
        && !callback_url.chars().any(char::is_whitespace)
        && callback_url.len() <= 2048;
    if !valid {
        return Err(StackError::schema("body.callback_url must be a valid URL"));
    }
    Ok(())
}

/// The link a verification email carries: the callback URL with `code` added to its query.
fn verification_link(callback_url: &str, code: &str) -> Result<String, StackError> {
    check_callback_url(callback_url)?;
    let separator = if callback_url.contains('?') { '&' } else { '?' };
    Ok(format!("{callback_url}{separator}code={code}"))
}

/// Email a verification link for the channel (to the outbox: `latchkey project outbox`).
#[utoipa::path(post,
    path = "/api/v1/contact-channels/{user_id}/{contact_channel_id}/send-verification-code",
    tag = "contact-channels", operation_id = "contact_channels.send_verification_code",
    params(("user_id" = String, Path, description = USER_PARAMETER),
           ("contact_channel_id" = String, Path, description = "The channel's UUID.")),
    request_body = SendRequest,
    responses((status = 200, description = "The code is on its way.", body = Success)))]
async fn send_verification_code(
    State(state): State<AppState>,
    auth: StackAuth,
    Path((user, id)): Path<(String, String)>,
    StackJson(request): StackJson<SendRequest>,
) -> Result<Response, StackError> {
    let channel = find(&state, &auth, &user, &id, "send verification codes for").await?;
    send_code(&state, &auth, &channel, &request.callback_url).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendPrimaryRequest {
    /// The signed-in user's primary email.
    email: String,
    /// The page the emailed link opens, with `code` added to its query.
    callback_url: String,
}

/// Stack's deprecated form (hidden from its documentation, still called by its clients'
/// `sendVerificationEmail`): a link for the signed-in user's primary email, named by its value.
#[utoipa::path(post, path = "/api/v1/contact-channels/send-verification-code",
    tag = "contact-channels", operation_id = "contact_channels.send_primary_verification_code",
    request_body = SendPrimaryRequest,
    responses((status = 200, description = "The code is on its way.", body = Success)))]
async fn send_primary_verification_code(
    State(state): State<AppState>,
    auth: StackAuth,
    StackJson(request): StackJson<SendPrimaryRequest>,
) -> Result<Response, StackError> {
    // Stack's schema wants a user (an access token) whatever the access type.
    let user_id = auth
        .user
        .clone()
        .ok_or_else(|| StackError::schema("auth.user must be defined"))?;
    let email = Email::parse(&request.email)
        .map_err(|_| StackError::schema("body.email must be a valid email"))?;
    check_callback_url(&request.callback_url)?;
    let channels = state
        .store
        .contact_channels(&auth.project.project_id, &user_id)
        .await?;
    let primary = channels.iter().find(|channel| channel.is_primary);
    let Some(primary) = primary.filter(|channel| channel.value == email.as_str()) else {
        let primary_email = primary.map(|channel| channel.value.clone());
        return Err(StackError::new(
            ErrorType::EmailIsNotPrimaryEmail,
            format!(
                "The given e-mail ({}) must equal the user's primary e-mail ({}).",
                request.email,
                primary_email.as_deref().unwrap_or("null")
            ),
        )
        .with_details(json!({"email": request.email, "primary_email": primary_email})));
    };
    send_code(&state, &auth, primary, &request.callback_url).await
}

/// Mints a code for `channel`, stores its digest and puts the link in the outbox; an already
/// verified channel is refused (`EMAIL_ALREADY_VERIFIED`).
async fn send_code(
    state: &AppState,
    auth: &StackAuth,
    channel: &ContactChannel,
    callback_url: &str,
) -> Result<Response, StackError> {
    let code = Secret::generate_token();
    let link = verification_link(callback_url, code.expose())?;
    let now = Utc::now();
    let verification = NewVerification {
        code_digest: code.digest(),
        expires_at: now + Duration::hours(VERIFICATION_CODE_HOURS),
        message: state.delivery.compose(
            &state.vault,
            &auth.project.project_id,
            Channel::Email,
            &channel.value,
            format!("Verify your email for {}", auth.project.name),
            &MessageContent {
                text: format!(
                    "Verify your email address by opening this link within {VERIFICATION_CODE_HOURS} hours:\n{link}\n"
                ),
                html: None,
            },
        ),
    };
    state
        .store
        .start_email_verification(
            &auth.project.project_id,
            &channel.user_id,
            &channel.email_id,
            verification,
        )
        .await?;
    Ok(success())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The code from the verification link.
    code: String,
}

#[derive(Serialize, ToSchema)]
pub struct CodeCheck {
    is_code_valid: bool,
}

/// Verify the channel a code was sent to; the code is used up.
#[utoipa::path(post, path = "/api/v1/contact-channels/verify", tag = "contact-channels",
    operation_id = "contact_channels.verify", request_body = CodeRequest,
    responses((status = 200, description = "The channel is verified.", body = Success)))]
async fn verify(
    State(state): State<AppState>,
    auth: StackAuth,
    StackJson(request): StackJson<CodeRequest>,
) -> Result<Response, StackError> {
    state
        .store
        .verify_email(
            &auth.project.project_id,
            &SecretDigest::of(&request.code),
            Utc::now(),
        )
        .await?;
    Ok(success())
}

/// Whether a verification code would work, without using it.
#[utoipa::path(post, path = "/api/v1/contact-channels/verify/check-code", tag = "contact-channels",
    operation_id = "contact_channels.check_verification_code", request_body = CodeRequest,
    responses((status = 200, description = "The code works.", body = CodeCheck)))]
async fn check_code(
    State(state): State<AppState>,
    auth: StackAuth,
    StackJson(request): StackJson<CodeRequest>,
) -> Result<Response, StackError> {
    state
        .store
        .check_email_verification(
            &auth.project.project_id,
            &SecretDigest::of(&request.code),
            Utc::now(),
        )
        .await?;
    Ok(Json(CodeCheck {
        is_code_valid: true,
    })
    .into_response())
}
