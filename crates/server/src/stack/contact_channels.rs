//! `/api/v1/contact-channels`: list, create, read, update, delete, and email verification
//! (send a code, verify it, check it), as Stack Auth serves them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use latchkey_core::ids::EmailId;
use latchkey_core::secret::{Secret, SecretDigest};
use latchkey_core::values::Email;
use latchkey_store::{
    ContactChannel, ContactChannelPatch, NewContactChannel, NewVerification, OutboxMessage,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    channel_email_id, stack_channel_id, stack_user_id, success, target_user, Access, StackAuth,
    StackError, StackJson,
};
use crate::AppState;

/// How long an email verification code works.
const VERIFICATION_CODE_HOURS: i64 = 24;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contact-channels", get(list).post(create))
        .route("/api/v1/contact-channels/verify", post(verify))
        .route("/api/v1/contact-channels/verify/check", post(check))
        .route(
            "/api/v1/contact-channels/{user_id}/{contact_channel_id}",
            get(read).patch(update).delete(remove),
        )
        .route(
            "/api/v1/contact-channels/{user_id}/{contact_channel_id}/send-verification-code",
            post(send_verification_code),
        )
}

/// The contact channel object.
pub fn channel_json(channel: &ContactChannel) -> Value {
    json!({
        "user_id": stack_user_id(&channel.user_id),
        "id": stack_channel_id(&channel.email_id),
        "value": channel.value,
        "type": "email",
        "used_for_auth": channel.used_for_auth,
        "is_verified": channel.verified,
        "is_primary": channel.is_primary,
    })
}

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

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    user_id: Option<String>,
    contact_channel_id: Option<String>,
}

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
    let items: Vec<Value> = channels
        .iter()
        .filter(|channel| only.as_ref().is_none_or(|id| &channel.email_id == id))
        .map(channel_json)
        .collect();
    Ok(Json(json!({"items": items, "is_paginated": false})).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    user_id: String,
    value: String,
    #[serde(rename = "type")]
    kind: String,
    used_for_auth: bool,
    is_primary: Option<bool>,
    is_verified: Option<bool>,
}

async fn create(
    State(state): State<AppState>,
    auth: StackAuth,
    StackJson(request): StackJson<CreateRequest>,
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
    // Stack refuses a value the user has already as its own request error, apart from another
    // user's (`CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE`, from the database).
    let existing = state.store.contact_channels(project_id, &user_id).await?;
    if existing
        .iter()
        .any(|channel| channel.value == value.as_str())
    {
        return Err(StackError::status(
            StatusCode::BAD_REQUEST,
            "Contact channel already exists.",
        ));
    }
    let channel = NewContactChannel {
        email_id: EmailId::generate(auth.project.environment),
        value,
        verified: request.is_verified.unwrap_or(false),
        used_for_auth: request.used_for_auth,
        is_primary: request.is_primary.unwrap_or(false),
    };
    let created = state
        .store
        .create_contact_channel(project_id, &user_id, channel, Utc::now())
        .await
        .map_err(|error| with_value(error.into(), &request.value))?;
    Ok((StatusCode::CREATED, Json(channel_json(&created))).into_response())
}

/// Names the contested value in a duplicate's details, as Stack does.
fn with_value(error: StackError, value: &str) -> StackError {
    match error {
        StackError::Known {
            code: code @ "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE",
            status,
            ..
        } => StackError::Known {
            code,
            status,
            message: format!("This email \"({value})\" is already used by another account."),
            details: Some(json!({"type": "email", "contact_channel_value": value,
                                 "would_work_if_email_was_verified": false})),
        },
        other => other,
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
        .ok_or_else(|| StackError::status(StatusCode::NOT_FOUND, "Contact channel not found."))
}

async fn read(
    State(state): State<AppState>,
    auth: StackAuth,
    Path((user, id)): Path<(String, String)>,
) -> Result<Response, StackError> {
    let channel = find(&state, &auth, &user, &id, "read").await?;
    Ok(Json(channel_json(&channel)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    value: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    used_for_auth: Option<bool>,
    is_primary: Option<bool>,
    is_verified: Option<bool>,
}

async fn update(
    State(state): State<AppState>,
    auth: StackAuth,
    Path((user, id)): Path<(String, String)>,
    StackJson(request): StackJson<UpdateRequest>,
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
    };
    let user_id = target_user(&auth, &user, "update")?;
    let email_id = channel_email_id(auth.project.environment, &id)?;
    let updated = state
        .store
        .update_contact_channel(&auth.project.project_id, &user_id, &email_id, patch)
        .await
        .map_err(|error| with_value(error.into(), request.value.as_deref().unwrap_or_default()))?;
    Ok(Json(channel_json(&updated)).into_response())
}

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
    Ok(success())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    callback_url: String,
}

/// The link a verification email carries: the callback URL with `code` added to its query.
fn verification_link(callback_url: &str, code: &str) -> Result<String, StackError> {
    let valid = (callback_url.starts_with("https://") || callback_url.starts_with("http://"))
        && !callback_url.chars().any(char::is_whitespace)
        && callback_url.len() <= 2048;
    if !valid {
        return Err(StackError::schema("body.callback_url must be a valid URL"));
    }
    let separator = if callback_url.contains('?') { '&' } else { '?' };
    Ok(format!("{callback_url}{separator}code={code}"))
}

async fn send_verification_code(
    State(state): State<AppState>,
    auth: StackAuth,
    Path((user, id)): Path<(String, String)>,
    StackJson(request): StackJson<SendRequest>,
) -> Result<Response, StackError> {
    let channel = find(&state, &auth, &user, &id, "send verification codes for").await?;
    let code = Secret::generate_token();
    let link = verification_link(&request.callback_url, code.expose())?;
    let now = Utc::now();
    let verification = NewVerification {
        code_digest: code.digest(),
        expires_at: now + Duration::hours(VERIFICATION_CODE_HOURS),
        message: OutboxMessage {
            message_id: uuid::Uuid::new_v4().to_string(),
            recipient: channel.value.clone(),
            subject: format!("Verify your email for {}", auth.project.name),
            body: format!(
                "Verify your email address by opening this link within {VERIFICATION_CODE_HOURS} hours:\n{link}\n"
            ),
            created_at: now,
        },
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    code: String,
}

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

async fn check(
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
    Ok(Json(json!({"is_code_valid": true})).into_response())
}
