//! B2B one-time passcodes by SMS: the MFA factor (`/v1/b2b/otps/sms/send` and
//! `/authenticate`). A code is six digits kept as a keyed digest bound to the phone number,
//! replaced by the next send, dead after ten wrong tries, used once; wrong codes count toward
//! the member's lock. Sending to a member who already has an MFA factor needs an intermediate
//! session or a session of that member, so that no one bypasses the factor by enrolling a
//! phone of their own.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use latchkey_core::delivery::{sandbox, Channel, TemplateKind};
use latchkey_core::ids::{Environment, ProjectId};
use latchkey_core::lock::Factor;
use latchkey_core::members::Member;
use latchkey_core::organizations::Organization;
use latchkey_core::otps::{self, OtpChannel};
use latchkey_core::principal::PrincipalId;
use latchkey_core::sessions::intermediate::IntermediateSession;
use latchkey_core::sessions::{AuthenticationFactor, MemberSession};
use latchkey_core::values::PhoneNumber;
use latchkey_store::{Consume, MemberOtpSend, Missing, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::{organization_and_member, MemberResponse};
use super::sessions::{
    given_intermediate, intermediate_for, IstToken, MemberSessionOptions, MemberSessionResponse,
};
use crate::authentication::{self, Principal};
use crate::delivery::templates;
use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::sessions::{presented, SessionError};
use crate::stytch::users::given;
use crate::stytch::{reply, Envelope};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sms_send))
        .routes(routes!(sms_authenticate))
        .routes(routes!(email_login_or_signup))
        .routes(routes!(email_authenticate))
        .routes(routes!(email_discovery_send))
        .routes(routes!(email_discovery_authenticate))
}

/// Refuses an MFA method the organization does not allow.
pub(crate) fn require_mfa_method(
    organization: &Organization,
    method: &str,
) -> Result<(), ApiError> {
    if organization.allows_mfa_method(method) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorType::OperationRestrictedByOrganizationMfaMethods,
            format!("The organization does not allow {method} for MFA."),
        ))
    }
}

/// Whether the member has an MFA factor already (a verified phone, or TOTP).
fn has_mfa_factor(member: &Member) -> bool {
    (!member.mfa_phone_number.is_empty() && member.mfa_phone_number_verified)
        || !member.totp_registration_id.is_empty()
}

/// The intermediate session (checked for the member) or the member's own session a request
/// gave; `Ok(None)` when it gave neither.
pub(crate) async fn proof_of_primary(
    state: &AppState,
    project_id: &ProjectId,
    options: &MemberSessionOptions,
    (organization, member): (&Organization, &Member),
    now: DateTime<Utc>,
) -> Result<Option<Option<(IstToken, IntermediateSession)>>, ApiError> {
    let (request, intermediate) = options.parse()?;
    if let Some(digest) = intermediate {
        let session = intermediate_for(
            state,
            project_id,
            &digest.digest,
            (organization, member),
            now,
        )
        .await?;
        return Ok(Some(Some((digest, session))));
    }
    match presented::<MemberSession>(state, project_id, request.presented(), now).await? {
        Some(presented) if presented.session.member_id == member.member_id => Ok(Some(None)),
        Some(_) => Err(SessionError::NotFound.into()),
        None => Ok(None),
    }
}

/// Sends the member an MFA code by SMS to `destination` (first giving it `set_phone` as its MFA
/// phone); returns the member as it is after.
async fn send_code(
    state: &AppState,
    auth: &Authenticated,
    (organization, member): (&Organization, &Member),
    destination: String,
    set_phone: Option<String>,
    now: DateTime<Utc>,
) -> Result<Member, ApiError> {
    let project_id = &auth.project.project_id;
    let sandboxed =
        auth.project.environment == Environment::Test && destination == sandbox::PHONE_NUMBER;
    let code = if sandboxed {
        sandbox::OTP_CODE.to_owned()
    } else {
        otps::generate_code()
    };
    let life = otps::expiry(None)?;
    let template = state
        .store
        .message_template(project_id, TemplateKind::Otp)
        .await?;
    let message = (!sandboxed).then(|| {
        let content = templates::otp_text(
            &organization.name,
            &code,
            life.num_minutes(),
            template.as_ref(),
        );
        state.delivery.compose(
            &state.vault,
            project_id,
            Channel::Sms,
            &destination,
            String::new(),
            &content,
        )
    });
    let send = MemberOtpSend {
        member_id: member.member_id.clone(),
        create: None,
        channel: OtpChannel::Sms,
        code_digest: state
            .vault
            .code_digest(&otps::code_context(project_id, &destination), &code),
        destination,
        set_mfa_phone_number: set_phone,
        expires_at: now + life,
        message,
    };
    let queued = send.message.is_some();
    let member = state
        .store
        .send_member_otp(project_id, send, &state.delivery.limits, now)
        .await
        .map_err(super::magic_links::throttled)?;
    if queued {
        state.delivery.queued();
    }
    Ok(member)
}

/// After a primary factor that left MFA owed: sends the SMS code at once when SMS is how the
/// member completes MFA (a verified MFA phone, and SMS its default method or its only one), as
/// Stytch does. Returns `sms_otp` when it sent one (`secondary_auth_initiated`).
pub(crate) async fn start_secondary(
    state: &AppState,
    auth: &Authenticated,
    organization: &Organization,
    member: &Member,
) -> Result<Option<String>, ApiError> {
    let by_sms = !member.mfa_phone_number.is_empty()
        && member.mfa_phone_number_verified
        && (member.default_mfa_method == "sms_otp" || member.totp_registration_id.is_empty())
        && organization.allows_mfa_method("sms_otp");
    if !by_sms {
        return Ok(None);
    }
    send_code(
        state,
        auth,
        (organization, member),
        member.mfa_phone_number.clone(),
        None,
        Utc::now(),
    )
    .await?;
    Ok(Some("sms_otp".to_owned()))
}

/// Proves a member's passcode of `channel`: the code must be the live one, unexpired; the
/// attempt is reserved against the member's lock first, and a wrong code counts against the
/// code as well (it dies after ten). `factor` makes the session factor from the destination.
async fn prove_member_code(
    state: &AppState,
    auth: &Authenticated,
    member: &Member,
    (channel, code): (OtpChannel, &str),
    factor: impl FnOnce(&str) -> AuthenticationFactor,
    now: DateTime<Utc>,
) -> Result<crate::authentication::Proof, ApiError> {
    let project_id = &auth.project.project_id;
    let stored = state
        .store
        .member_otp(project_id, &member.member_id, channel)
        .await?
        .ok_or(StoreError::NotFound(Missing::OtpCode))?;
    if stored.expires_at <= now {
        return Err(ApiError::new(
            ErrorType::UnableToAuthOtpCode,
            "The passcode could not be authenticated because it was either already used or \
             expired. Send another passcode to this member.",
        ));
    }
    let checked_wrong = AtomicBool::new(false);
    let proof = authentication::prove_code(
        state,
        &auth.project,
        PrincipalId::Member(member.member_id.clone()),
        Factor::Otp,
        now,
        || {
            if !right_code(
                state,
                project_id,
                &stored.destination,
                code,
                &stored.code_digest,
            ) {
                checked_wrong.store(true, Ordering::Relaxed);
                return Ok(None);
            }
            let consume = Consume::MemberOtp {
                channel,
                digest: stored.code_digest,
                at: now,
            };
            Ok(Some((factor(&stored.destination), consume)))
        },
        ApiError::from(StoreError::NotFound(Missing::OtpCode)),
    )
    .await;
    if proof.is_err() && checked_wrong.load(Ordering::Relaxed) {
        state
            .store
            .member_otp_failed(project_id, &member.member_id, channel, &stored.code_digest)
            .await?;
    }
    proof
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bSmsSendRequest {
    organization_id: Option<String>,
    member_id: Option<String>,
    mfa_phone_number: Option<String>,
    locale: Option<String>,
    intermediate_session_token: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
}

/// Send an MFA passcode by SMS to the member's phone (giving the member `mfa_phone_number`
/// first when it has none).
#[utoipa::path(post, path = "/v1/b2b/otps/sms/send", tag = "b2b.otps",
    operation_id = "b2b.otps.sms.send", request_body = B2bSmsSendRequest,
    responses((status = 200, description = "The code was queued.", body = Envelope<MemberResponse>)))]
async fn sms_send(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bSmsSendRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    crate::stytch::passwordless::check_locale(request.locale.as_deref())?;
    let phone = given(request.mfa_phone_number)
        .map(|phone| PhoneNumber::parse(&phone))
        .transpose()?;
    let now = Utc::now();
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    require_mfa_method(&organization, "sms_otp")?;
    let options = MemberSessionOptions {
        intermediate_session_token: request.intermediate_session_token,
        session_token: request.session_token,
        session_jwt: request.session_jwt,
        ..MemberSessionOptions::default()
    };
    let primary =
        proof_of_primary(&state, project_id, &options, (&organization, &member), now).await?;
    if primary.is_none() && has_mfa_factor(&member) {
        return Err(ApiError::new(
            ErrorType::IntermediateSessionNotFound,
            "This member has an MFA factor already: send with its intermediate session or a \
             session of the member.",
        ));
    }
    let destination = match (&phone, member.mfa_phone_number.as_str()) {
        (Some(phone), _) => phone.as_str().to_owned(),
        (None, "") => {
            return Err(ApiError::new(
                ErrorType::InvalidPhoneNumber,
                "mfa_phone_number is required: the member has none.",
            ))
        }
        (None, existing) => existing.to_owned(),
    };
    let member = send_code(
        &state,
        &auth,
        (&organization, &member),
        destination,
        phone.map(|phone| phone.as_str().to_owned()),
        now,
    )
    .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        MemberResponse::new(&member, &organization, now),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bSmsAuthenticateRequest {
    organization_id: Option<String>,
    member_id: Option<String>,
    code: Option<String>,
    intermediate_session_token: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
    session_duration_minutes: Option<i64>,
    #[schema(value_type = Option<Object>)]
    session_custom_claims: Option<Value>,
    set_mfa_enrollment: Option<String>,
    set_default_mfa: Option<bool>,
    telemetry_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct B2bSmsAuthenticated {
    #[serde(flatten)]
    session: MemberSessionResponse,
}

/// Check an MFA passcode sent by SMS, with the member's intermediate session (which it
/// completes into a member session) or session (which it extends).
#[utoipa::path(post, path = "/v1/b2b/otps/sms/authenticate", tag = "b2b.otps",
    operation_id = "b2b.otps.sms.authenticate", request_body = B2bSmsAuthenticateRequest,
    responses((status = 200, description = "The member and its session.",
               body = Envelope<B2bSmsAuthenticated>)))]
async fn sms_authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bSmsAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let code = given(request.code).ok_or_else(|| ApiError::bad_request("code is required."))?;
    let code = otps::parse_code(&code)?.to_owned();
    let set_mfa_enrolled = super::totps::enrollment(request.set_mfa_enrollment.as_deref())?;
    let _ = request.telemetry_id;
    let options = MemberSessionOptions {
        intermediate_session_token: request.intermediate_session_token,
        session_token: request.session_token,
        session_jwt: request.session_jwt,
        session_duration_minutes: request.session_duration_minutes,
        session_custom_claims: request.session_custom_claims,
    };
    let (session_request, _) = options.parse()?;
    let now = Utc::now();
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    require_mfa_method(&organization, "sms_otp")?;
    let intermediate =
        proof_of_primary(&state, project_id, &options, (&organization, &member), now)
            .await?
            .ok_or_else(|| {
                ApiError::bad_request(
                    "Exactly one of intermediate_session_token, session_token and session_jwt is \
                 required.",
                )
            })?;
    let proof = prove_member_code(
        &state,
        &auth,
        &member,
        (OtpChannel::Sms, &code),
        |destination| {
            AuthenticationFactor::phone_otp(
                "sms",
                member.member_id.as_str().to_owned(),
                destination.to_owned(),
                now,
            )
        },
        now,
    )
    .await?;
    // Under REQUIRED_FOR_ALL a success enrolls the member; the first MFA success sets the
    // default method.
    let set_mfa_enrolled = if organization.requires_mfa(false) {
        Some(true)
    } else {
        set_mfa_enrolled
    };
    let set_default = (request.set_default_mfa.unwrap_or(false)
        || member.default_mfa_method.is_empty())
    .then(|| "sms_otp".to_owned());
    let session = super::totps::use_up(
        &state,
        &auth,
        (&organization, &member),
        (&session_request, intermediate),
        proof,
        (set_mfa_enrolled, set_default),
        now,
    )
    .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        B2bSmsAuthenticated { session },
    ))
}

/// A code by email for `email`: the digest to keep and the sealed message (`None` for the
/// sandbox address), with the code's life.
fn email_code(
    state: &AppState,
    auth: &Authenticated,
    email: &latchkey_core::values::Email,
    minutes: Option<i64>,
    template: Option<&latchkey_core::delivery::Template>,
) -> Result<
    (
        latchkey_store::CodeDigest,
        Option<latchkey_store::NewMessage>,
        chrono::Duration,
    ),
    ApiError,
> {
    let project_id = &auth.project.project_id;
    let life = otps::b2b_email_expiry(minutes)?;
    let sandboxed =
        auth.project.environment == Environment::Test && email.as_str() == sandbox::EMAIL;
    let code = if sandboxed {
        sandbox::OTP_CODE.to_owned()
    } else {
        otps::generate_code()
    };
    let digest = state
        .vault
        .code_digest(&otps::code_context(project_id, email.as_str()), &code);
    let message = (!sandboxed).then(|| {
        let (subject, content) =
            templates::otp_email(&auth.project.name, &code, life.num_minutes(), template);
        state.delivery.compose(
            &state.vault,
            project_id,
            Channel::Email,
            email.as_str(),
            subject,
            &content,
        )
    });
    Ok((digest, message, life))
}

fn right_code(
    state: &AppState,
    project_id: &ProjectId,
    destination: &str,
    code: &str,
    stored: &latchkey_store::CodeDigest,
) -> bool {
    state
        .vault
        .code_digests(&otps::code_context(project_id, destination), code)
        .iter()
        .any(|digest| bool::from(digest.ct_eq(stored)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bEmailOtpLoginOrSignupRequest {
    organization_id: Option<String>,
    email_address: Option<String>,
    login_template_id: Option<String>,
    signup_template_id: Option<String>,
    locale: Option<String>,
    login_expiration_minutes: Option<i64>,
    signup_expiration_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct B2bEmailOtpSent {
    #[serde(flatten)]
    member: MemberResponse,
    member_created: bool,
}

/// Send a passcode by email to the organization's member with this email, or to a new member
/// (JIT provisioning by email domain, as the organization allows).
#[utoipa::path(post, path = "/v1/b2b/otps/email/login_or_signup", tag = "b2b.otps",
    operation_id = "b2b.otps.email.login_or_signup", request_body = B2bEmailOtpLoginOrSignupRequest,
    responses((status = 200, description = "The code was queued.", body = Envelope<B2bEmailOtpSent>)))]
async fn email_login_or_signup(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bEmailOtpLoginOrSignupRequest>,
) -> Result<Response, ApiError> {
    use latchkey_core::members::MemberStatus;
    let project_id = &auth.project.project_id;
    let organization_id = given(request.organization_id)
        .ok_or_else(|| ApiError::bad_request("organization_id is required."))?;
    let email = super::magic_links::parse_email_address(request.email_address)?;
    crate::stytch::passwordless::check_locale(request.locale.as_deref())?;
    crate::stytch::magic_links::refuse_templates([
        request.login_template_id.as_deref(),
        request.signup_template_id.as_deref(),
    ])?;
    otps::b2b_email_expiry(request.login_expiration_minutes)?;
    otps::b2b_email_expiry(request.signup_expiration_minutes)?;
    let organization =
        super::organizations::find_organization(&state, project_id, &organization_id).await?;
    super::magic_links::require_auth_method(&organization, "email_otp")?;
    let template = state
        .store
        .message_template(project_id, TemplateKind::Otp)
        .await?;
    let now = Utc::now();
    for attempt in 0..2 {
        use super::magic_links::LoginMember;
        let login =
            super::magic_links::login_member(&state, project_id, &organization, &email, now)
                .await?;
        let (member_id, create, minutes) = match login {
            LoginMember::Existing(member) => {
                let minutes = if member.status == MemberStatus::Active {
                    request.login_expiration_minutes
                } else {
                    request.signup_expiration_minutes
                };
                (member.member_id, None, minutes)
            }
            LoginMember::New(member) => (
                member.member_id.clone(),
                Some(Box::new(member)),
                request.signup_expiration_minutes,
            ),
        };
        let created = create.is_some();
        let (code_digest, message, life) =
            email_code(&state, &auth, &email, minutes, template.as_ref())?;
        let queued = message.is_some();
        let send = MemberOtpSend {
            member_id,
            create,
            channel: OtpChannel::Email,
            destination: email.as_str().to_owned(),
            set_mfa_phone_number: None,
            code_digest,
            expires_at: now + life,
            message,
        };
        match state
            .store
            .send_member_otp(project_id, send, &state.delivery.limits, now)
            .await
        {
            Ok(member) => {
                if queued {
                    state.delivery.queued();
                }
                let body = B2bEmailOtpSent {
                    member: MemberResponse::new(&member, &organization, now),
                    member_created: created,
                };
                return Ok(reply(&auth.request_id, StatusCode::OK, body));
            }
            Err(StoreError::Conflict(_)) if attempt == 0 => continue,
            Err(error) => return Err(super::magic_links::throttled(error)),
        }
    }
    Err(StoreError::Conflict(latchkey_store::Conflict::DuplicateMemberEmail).into())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bEmailOtpAuthenticateRequest {
    organization_id: Option<String>,
    email_address: Option<String>,
    code: Option<String>,
    intermediate_session_token: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
    session_duration_minutes: Option<i64>,
    #[schema(value_type = Option<Object>)]
    session_custom_claims: Option<Value>,
    locale: Option<String>,
    telemetry_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct B2bEmailOtpAuthenticated {
    #[serde(flatten)]
    session: MemberSessionResponse,
    method_id: String,
}

/// Check a passcode sent by email: a member session, or an intermediate session when the
/// organization demands MFA.
#[utoipa::path(post, path = "/v1/b2b/otps/email/authenticate", tag = "b2b.otps",
    operation_id = "b2b.otps.email.authenticate", request_body = B2bEmailOtpAuthenticateRequest,
    responses((status = 200, description = "The member and its session, or what MFA needs.",
               body = Envelope<B2bEmailOtpAuthenticated>)))]
async fn email_authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bEmailOtpAuthenticateRequest>,
) -> Result<Response, ApiError> {
    use latchkey_store::MemberRef;
    let project_id = &auth.project.project_id;
    let organization_id = given(request.organization_id)
        .ok_or_else(|| ApiError::bad_request("organization_id is required."))?;
    let email = super::magic_links::parse_email_address(request.email_address)?;
    let code = given(request.code).ok_or_else(|| ApiError::bad_request("code is required."))?;
    let code = otps::parse_code(&code)?.to_owned();
    crate::stytch::passwordless::check_locale(request.locale.as_deref())?;
    let _ = request.telemetry_id;
    let options = MemberSessionOptions {
        intermediate_session_token: request.intermediate_session_token,
        session_token: request.session_token,
        session_jwt: request.session_jwt,
        session_duration_minutes: request.session_duration_minutes,
        session_custom_claims: request.session_custom_claims,
    };
    let (session_request, intermediate) = options.parse()?;
    let now = Utc::now();
    let organization =
        super::organizations::find_organization(&state, project_id, &organization_id).await?;
    let member = state
        .store
        .get_member(
            project_id,
            &organization.organization_id,
            &MemberRef::Email(email.as_str().to_owned()),
            false,
        )
        .await?
        .ok_or(StoreError::NotFound(Missing::OtpCode))?;
    super::magic_links::require_auth_method(&organization, "email_otp")?;
    let intermediate = given_intermediate(
        &state,
        project_id,
        intermediate,
        (&organization, &member),
        now,
    )
    .await?;
    let proof = prove_member_code(
        &state,
        &auth,
        &member,
        (OtpChannel::Email, &code),
        |_| super::magic_links::email_factor("email_otp", now),
        now,
    )
    .await?;
    let principal = Principal::Member {
        organization: &organization,
        member: &member,
        set_mfa_enrolled: None,
        set_default_mfa_method: None,
        intermediate,
        create: None,
    };
    let mut session =
        authentication::complete(&state, &auth, principal, &session_request, proof, now)
            .await?
            .member()?;
    if session.owes_mfa() {
        session.secondary_initiated(start_secondary(&state, &auth, &organization, &member).await?);
    }
    let body = B2bEmailOtpAuthenticated {
        session,
        method_id: String::new(),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bEmailOtpDiscoverySendRequest {
    email_address: Option<String>,
    login_template_id: Option<String>,
    locale: Option<String>,
    discovery_expiration_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct B2bEmailOtpDiscoverySent {}

/// Send a discovery passcode by email: it proves the email, then lists the organizations it
/// may enter.
#[utoipa::path(post, path = "/v1/b2b/otps/email/discovery/send", tag = "b2b.otps",
    operation_id = "b2b.otps.email.discovery.send", request_body = B2bEmailOtpDiscoverySendRequest,
    responses((status = 200, description = "The code was queued.", body = Envelope<B2bEmailOtpDiscoverySent>)))]
async fn email_discovery_send(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bEmailOtpDiscoverySendRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let email = super::magic_links::parse_email_address(request.email_address)?;
    crate::stytch::passwordless::check_locale(request.locale.as_deref())?;
    crate::stytch::magic_links::refuse_templates([request.login_template_id.as_deref()])?;
    let template = state
        .store
        .message_template(project_id, TemplateKind::Otp)
        .await?;
    let (digest, message, life) = email_code(
        &state,
        &auth,
        &email,
        request.discovery_expiration_minutes,
        template.as_ref(),
    )?;
    let queued = message.is_some();
    let now = Utc::now();
    state
        .store
        .send_discovery_otp(
            project_id,
            email.as_str(),
            (&digest, now + life),
            message,
            &state.delivery.limits,
            now,
        )
        .await
        .map_err(super::magic_links::throttled)?;
    if queued {
        state.delivery.queued();
    }
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        B2bEmailOtpDiscoverySent {},
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bEmailOtpDiscoveryAuthenticateRequest {
    email_address: Option<String>,
    code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct B2bEmailOtpDiscoveryAuthenticated {
    intermediate_session_token: String,
    email_address: String,
    discovered_organizations: Vec<super::discovery::DiscoveredOrganization>,
}

/// Check a discovery passcode: an intermediate session bound to the email, and the
/// organizations it may enter.
#[utoipa::path(post, path = "/v1/b2b/otps/email/discovery/authenticate", tag = "b2b.otps",
    operation_id = "b2b.otps.email.discovery.authenticate",
    request_body = B2bEmailOtpDiscoveryAuthenticateRequest,
    responses((status = 200, description = "The intermediate session and the organizations.",
               body = Envelope<B2bEmailOtpDiscoveryAuthenticated>)))]
async fn email_discovery_authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bEmailOtpDiscoveryAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let email = super::magic_links::parse_email_address(request.email_address)?;
    let code = given(request.code).ok_or_else(|| ApiError::bad_request("code is required."))?;
    let code = otps::parse_code(&code)?.to_owned();
    let now = Utc::now();
    let (stored, expires_at) = state
        .store
        .discovery_otp(project_id, email.as_str())
        .await?
        .ok_or(StoreError::NotFound(Missing::OtpCode))?;
    if expires_at <= now {
        return Err(ApiError::new(
            ErrorType::UnableToAuthOtpCode,
            "The passcode could not be authenticated because it was either already used or \
             expired. Send another passcode.",
        ));
    }
    if !right_code(&state, project_id, email.as_str(), &code, &stored) {
        state
            .store
            .use_discovery_otp(project_id, email.as_str(), &stored, None, now)
            .await?;
        return Err(StoreError::NotFound(Missing::OtpCode).into());
    }
    let ist = latchkey_core::secret::Secret::generate_token();
    let session = IntermediateSession {
        email: email.as_str().to_owned(),
        organization_id: None,
        member_id: None,
        factors: vec![super::magic_links::email_factor("email_otp", now)],
        expires_at: now + IntermediateSession::lifetime(),
        created_at: now,
    };
    state
        .store
        .use_discovery_otp(
            project_id,
            email.as_str(),
            &stored,
            Some((&ist.digest(), &session)),
            now,
        )
        .await?;
    let body = B2bEmailOtpDiscoveryAuthenticated {
        intermediate_session_token: ist.expose().to_owned(),
        email_address: email.as_str().to_owned(),
        discovered_organizations: super::discovery::discovered(&state, project_id, &session)
            .await?,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
