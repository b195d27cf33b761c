//! One-time passcodes by SMS, WhatsApp and email: `send` and `login_or_create` for each
//! channel, and `authenticate` by `method_id` (the `phone_id` or `email_id`). A code is six
//! digits drawn uniformly, kept only as a keyed digest bound to its destination, replaced by
//! the next send, dead after ten wrong tries, and used once.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use latchkey_core::delivery::{sandbox, Channel, Template, TemplateKind};
use latchkey_core::ids::EmailId;
use latchkey_core::lock::Factor;
use latchkey_core::otps::{self, OtpChannel, OtpError};
use latchkey_core::principal::PrincipalId;
use latchkey_core::sessions::AuthenticationFactor;
use latchkey_store::{Consume, Destination, Issue, Missing, PasswordWrite, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::magic_links::{named_user, MagicLinkSentResponse};
use super::passwordless::{
    self, check_locale, is_sandbox, parse_email, parse_phone, refuse_fields, Attributes,
    AuthenticateOptions, Prepared, Recipient,
};
use super::sessions::{AuthenticatedResponse, SessionOptions};
use super::users::given;
use super::{reply, Envelope};
use crate::authentication::{self, Principal};
use crate::delivery::templates;
use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sms_send))
        .routes(routes!(sms_login_or_create))
        .routes(routes!(whatsapp_send))
        .routes(routes!(whatsapp_login_or_create))
        .routes(routes!(email_send))
        .routes(routes!(email_login_or_create))
        .routes(routes!(authenticate))
}

impl From<OtpError> for ApiError {
    fn from(error: OtpError) -> ApiError {
        match error {
            OtpError::InvalidExpiration => {
                ApiError::new(ErrorType::InvalidExpirationMinutes, error.to_string())
            }
            OtpError::InvalidCode => {
                ApiError::new(ErrorType::InvalidCode, "Code format is invalid.")
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneSendRequest {
    phone_number: Option<String>,
    expiration_minutes: Option<i64>,
    attributes: Option<Attributes>,
    locale: Option<String>,
    /// `send` only: the user to add the phone number to…
    user_id: Option<String>,
    /// …or the user of this session.
    session_token: Option<String>,
    session_jwt: Option<String>,
    /// `login_or_create` only.
    create_user_as_pending: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSendRequest {
    email: Option<String>,
    expiration_minutes: Option<i64>,
    attributes: Option<Attributes>,
    locale: Option<String>,
    login_template_id: Option<String>,
    signup_template_id: Option<String>,
    user_id: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
    create_user_as_pending: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneSentResponse {
    user_id: String,
    phone_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_created: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct OtpEmailSentResponse {
    #[serde(flatten)]
    sent: MagicLinkSentResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_created: Option<bool>,
}

/// The user a `send` names to add the destination to: by id, or by a session.
type NamedUser = (Option<String>, SessionOptions);

/// What a send request asks, checked: the code's life, whether to make the user pending
/// (`login_or_create`), and the user to add the destination to (`send`). Fields of the other
/// endpoint of the pair are refused: a caller who names a user must not get a new user instead.
fn send_terms(
    login_or_create: bool,
    (expiration_minutes, locale): (Option<i64>, Option<&str>),
    (user_id, session_token, session_jwt): (Option<String>, Option<String>, Option<String>),
    create_user_as_pending: Option<bool>,
) -> Result<(Duration, Option<bool>, NamedUser), ApiError> {
    let given = |value: &Option<String>| value.as_deref().is_some_and(|text| !text.is_empty());
    if login_or_create {
        refuse_fields(&[
            ("user_id", given(&user_id)),
            ("session_token", given(&session_token)),
            ("session_jwt", given(&session_jwt)),
        ])?;
    } else {
        refuse_fields(&[("create_user_as_pending", create_user_as_pending.is_some())])?;
    }
    let life = otps::expiry(expiration_minutes)?;
    check_locale(locale)?;
    let pending = login_or_create.then(|| create_user_as_pending.unwrap_or(false));
    let session = SessionOptions {
        session_token,
        session_jwt,
        ..SessionOptions::default()
    };
    Ok((life, pending, (user_id, session)))
}

/// A code for `destination` and its message.
fn prepare_code(
    state: &AppState,
    auth: &Authenticated,
    (channel, destination): (OtpChannel, &Destination),
    life: Duration,
    template: Option<&Template>,
) -> Prepared {
    let code = if is_sandbox(&auth.project, destination) {
        sandbox::OTP_CODE.to_owned()
    } else {
        otps::generate_code()
    };
    let code_digest = state.vault.code_digest(
        &otps::code_context(&auth.project.project_id, destination.as_str()),
        &code,
    );
    let name = &auth.project.name;
    let message = match channel {
        OtpChannel::Email => templates::otp_email(name, &code, life.num_minutes(), template),
        OtpChannel::Sms | OtpChannel::WhatsApp => (
            String::new(),
            templates::otp_text(name, &code, life.num_minutes(), template),
        ),
    };
    Prepared {
        issue: Issue::Otp {
            channel,
            code_digest,
            expires_at: Utc::now() + life,
        },
        also: None,
        message: Some(message),
    }
}

fn delivery_channel(channel: OtpChannel) -> Channel {
    match channel {
        OtpChannel::Sms => Channel::Sms,
        OtpChannel::WhatsApp => Channel::WhatsApp,
        OtpChannel::Email => Channel::Email,
    }
}

/// A send of `channel`: `login_or_create` makes the user when none holds the destination;
/// `send` needs one, or adds the destination to the user named by `user_id` or the session.
async fn send_code(
    state: &AppState,
    auth: &Authenticated,
    channel: OtpChannel,
    destination: Destination,
    life: Duration,
    login_or_create: Option<bool>,
    (user_id, session): NamedUser,
) -> Result<latchkey_store::Sent, ApiError> {
    let now = Utc::now();
    let recipient = match login_or_create {
        Some(pending) => Recipient::LoginOrCreate { pending },
        None => match named_user(state, &auth.project.project_id, user_id, &session, now).await? {
            Some(user_id) => Recipient::User(user_id),
            None => Recipient::Existing,
        },
    };
    let prepared_for = destination.clone();
    let template = state
        .store
        .message_template(&auth.project.project_id, TemplateKind::Otp)
        .await?;
    passwordless::send(
        state,
        &auth.project,
        delivery_channel(channel),
        destination,
        recipient,
        |_| {
            Ok(prepare_code(
                state,
                auth,
                (channel, &prepared_for),
                life,
                template.as_ref(),
            ))
        },
        now,
    )
    .await
}

async fn phone_send(
    state: AppState,
    auth: Authenticated,
    channel: OtpChannel,
    request: PhoneSendRequest,
    login_or_create: bool,
) -> Result<Response, ApiError> {
    let phone = parse_phone(request.phone_number)?;
    let _ = request.attributes;
    let (life, pending, named) = send_terms(
        login_or_create,
        (request.expiration_minutes, request.locale.as_deref()),
        (request.user_id, request.session_token, request.session_jwt),
        request.create_user_as_pending,
    )?;
    let sent = send_code(
        &state,
        &auth,
        channel,
        Destination::Phone(phone),
        life,
        pending,
        named,
    )
    .await?;
    let body = PhoneSentResponse {
        user_id: sent.user_id.into_string(),
        phone_id: sent.method_id,
        user_created: login_or_create.then_some(sent.user_created),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// Send a passcode by SMS to the user with this phone number (or add it to a named user).
#[utoipa::path(post, path = "/v1/otps/sms/send", tag = "otps", operation_id = "otps.sms.send",
    request_body = PhoneSendRequest,
    responses((status = 200, description = "The code was queued.", body = Envelope<PhoneSentResponse>)))]
pub(super) async fn sms_send(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<PhoneSendRequest>,
) -> Result<Response, ApiError> {
    phone_send(state, auth, OtpChannel::Sms, request, false).await
}

/// Send a passcode by SMS, creating the user if no one has this phone number.
#[utoipa::path(post, path = "/v1/otps/sms/login_or_create", tag = "otps",
    operation_id = "otps.sms.login_or_create", request_body = PhoneSendRequest,
    responses((status = 200, description = "The code was queued.", body = Envelope<PhoneSentResponse>)))]
pub(super) async fn sms_login_or_create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<PhoneSendRequest>,
) -> Result<Response, ApiError> {
    phone_send(state, auth, OtpChannel::Sms, request, true).await
}

/// Send a passcode by WhatsApp to the user with this phone number (or add it to a named user).
#[utoipa::path(post, path = "/v1/otps/whatsapp/send", tag = "otps",
    operation_id = "otps.whatsapp.send", request_body = PhoneSendRequest,
    responses((status = 200, description = "The code was queued.", body = Envelope<PhoneSentResponse>)))]
pub(super) async fn whatsapp_send(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<PhoneSendRequest>,
) -> Result<Response, ApiError> {
    phone_send(state, auth, OtpChannel::WhatsApp, request, false).await
}

/// Send a passcode by WhatsApp, creating the user if no one has this phone number.
#[utoipa::path(post, path = "/v1/otps/whatsapp/login_or_create", tag = "otps",
    operation_id = "otps.whatsapp.login_or_create", request_body = PhoneSendRequest,
    responses((status = 200, description = "The code was queued.", body = Envelope<PhoneSentResponse>)))]
pub(super) async fn whatsapp_login_or_create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<PhoneSendRequest>,
) -> Result<Response, ApiError> {
    phone_send(state, auth, OtpChannel::WhatsApp, request, true).await
}

async fn email_code(
    state: AppState,
    auth: Authenticated,
    request: EmailSendRequest,
    login_or_create: bool,
) -> Result<Response, ApiError> {
    let email = parse_email(request.email)?;
    super::magic_links::refuse_templates([
        request.login_template_id.as_deref(),
        request.signup_template_id.as_deref(),
    ])?;
    let _ = request.attributes;
    let (life, pending, named) = send_terms(
        login_or_create,
        (request.expiration_minutes, request.locale.as_deref()),
        (request.user_id, request.session_token, request.session_jwt),
        request.create_user_as_pending,
    )?;
    let sent = send_code(
        &state,
        &auth,
        OtpChannel::Email,
        Destination::Email(email),
        life,
        pending,
        named,
    )
    .await?;
    let body = OtpEmailSentResponse {
        sent: MagicLinkSentResponse {
            user_id: sent.user_id.into_string(),
            email_id: sent.method_id,
        },
        user_created: login_or_create.then_some(sent.user_created),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// Send a passcode by email to the user with this address (or add it to a named user).
#[utoipa::path(post, path = "/v1/otps/email/send", tag = "otps", operation_id = "otps.email.send",
    request_body = EmailSendRequest,
    responses((status = 200, description = "The code was queued.", body = Envelope<OtpEmailSentResponse>)))]
pub(super) async fn email_send(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<EmailSendRequest>,
) -> Result<Response, ApiError> {
    email_code(state, auth, request, false).await
}

/// Send a passcode by email, creating the user if no one has this address.
#[utoipa::path(post, path = "/v1/otps/email/login_or_create", tag = "otps",
    operation_id = "otps.email.login_or_create", request_body = EmailSendRequest,
    responses((status = 200, description = "The code was queued.", body = Envelope<OtpEmailSentResponse>)))]
pub(super) async fn email_login_or_create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<EmailSendRequest>,
) -> Result<Response, ApiError> {
    email_code(state, auth, request, true).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpAuthenticateRequest {
    method_id: Option<String>,
    code: Option<String>,
    attributes: Option<Attributes>,
    options: Option<AuthenticateOptions>,
    session_token: Option<String>,
    session_jwt: Option<String>,
    session_duration_minutes: Option<i64>,
    #[schema(value_type = Option<Object>)]
    session_custom_claims: Option<Value>,
    telemetry_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OtpAuthenticatedResponse {
    #[serde(flatten)]
    authenticated: AuthenticatedResponse,
    method_id: String,
    reset_sessions: bool,
}

fn wrong_code() -> ApiError {
    StoreError::NotFound(Missing::OtpCode).into()
}

/// Check a passcode sent to a phone number or email (`method_id`: its phone_id or email_id).
#[utoipa::path(post, path = "/v1/otps/authenticate", tag = "otps", operation_id = "otps.authenticate",
    request_body = OtpAuthenticateRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<OtpAuthenticatedResponse>)))]
pub(super) async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<OtpAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let method_id = given(request.method_id)
        .ok_or_else(|| ApiError::new(ErrorType::InvalidMethodId, "method_id is required."))?;
    if method_id.len() > 128 {
        return Err(ApiError::new(
            ErrorType::InvalidMethodId,
            "method_id format is invalid.",
        ));
    }
    let code = given(request.code).ok_or_else(|| ApiError::bad_request("code is required."))?;
    let code = otps::parse_code(&code)?.to_owned();
    AuthenticateOptions::check(request.options.as_ref())?;
    let _ = (request.attributes, request.telemetry_id);
    let session = SessionOptions {
        session_token: request.session_token,
        session_jwt: request.session_jwt,
        session_duration_minutes: request.session_duration_minutes,
        session_custom_claims: request.session_custom_claims,
    }
    .parse()?;
    let now = Utc::now();
    let stored = state
        .store
        .otp_code(project_id, &method_id)
        .await?
        .ok_or_else(wrong_code)?;
    if stored.expires_at <= now {
        return Err(ApiError::new(
            ErrorType::UnableToAuthOtpCode,
            "The passcode could not be authenticated because it was either already used or \
             expired. Send another passcode to this user.",
        ));
    }
    let checked_wrong = AtomicBool::new(false);
    let proof = authentication::prove_code(
        &state,
        &auth.project,
        PrincipalId::User(stored.user_id.clone()),
        Factor::Otp,
        now,
        || {
            let context = otps::code_context(project_id, &stored.destination);
            let right = state
                .vault
                .code_digests(&context, &code)
                .iter()
                .any(|digest| bool::from(digest.ct_eq(&stored.code_digest)));
            if !right {
                checked_wrong.store(true, Ordering::Relaxed);
                return Ok(None);
            }
            let factor = match stored.channel {
                OtpChannel::Email => AuthenticationFactor::by_email(
                    "otp",
                    EmailId::parse(&method_id)?,
                    stored.destination.clone(),
                    now,
                ),
                OtpChannel::Sms | OtpChannel::WhatsApp => AuthenticationFactor::phone_otp(
                    stored.channel.as_str(),
                    method_id.clone(),
                    stored.destination.clone(),
                    now,
                ),
            };
            let consume = Consume::Otp {
                method_id: method_id.clone(),
                digest: stored.code_digest,
                at: now,
            };
            Ok(Some((factor, consume)))
        },
        ApiError::from(StoreError::NotFound(Missing::OtpCode)),
    )
    .await;
    let proof = match proof {
        Ok(proof) => proof,
        Err(error) => {
            if checked_wrong.load(Ordering::Relaxed) {
                state
                    .store
                    .otp_code_failed(project_id, &method_id, &stored.code_digest)
                    .await?;
            }
            return Err(error);
        }
    };
    let principal = Principal::User {
        user_id: stored.user_id.clone(),
        password: PasswordWrite::Keep,
        revoke_other_sessions: false,
    };
    let body = OtpAuthenticatedResponse {
        authenticated: authentication::complete(&state, &auth, principal, &session, proof, now)
            .await?
            .user()?,
        method_id,
        reset_sessions: false,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
