//! B2B email magic links: `login_or_signup` and `invite` for an organization, `authenticate`,
//! and discovery (`email/discovery/send`, `discovery/authenticate`). Links go straight to the
//! application's URL with B2B token types (`multi_tenant_magic_links`, `discovery`); tokens
//! are 256 random bits kept only as keyed digests, used once. The organization's policy is
//! enforced before anything is written: `auth_methods`, JIT provisioning by email domain, and
//! `email_invites`. Authenticate ends in a member session, or, when the organization demands
//! MFA, in an intermediate session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use latchkey_core::delivery::{Channel, TemplateKind};
use latchkey_core::ids::{MemberId, ProjectId};
use latchkey_core::magic_links::{self, LinkPurpose};
use latchkey_core::members::{parse_member_name, Member, MemberStatus};
use latchkey_core::organizations::{InviteRefusal, JitRefusal, Organization};
use latchkey_core::redirect_urls::RedirectType;
use latchkey_core::secret::{Secret, SecretDigest};
use latchkey_core::sessions::intermediate::IntermediateSession;
use latchkey_core::sessions::AuthenticationFactor;
use latchkey_core::values::Email;
use latchkey_core::vault::Vault;
use latchkey_store::{
    CodeDigest, Consume, MemberLinkSend, MemberRef, MemberTarget, Missing, NewMemberLink, Refusal,
    StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::{metadata, roles, MemberResponse};
use super::organizations::find_organization;
use super::sessions::{given_intermediate, MemberSessionOptions, MemberSessionResponse};
use crate::authentication::{self, Principal, Proof};
use crate::delivery::templates;
use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::magic_links::parse_code_challenge;
use crate::stytch::passwordless::{self, check_locale, need_url, redirect_url};
use crate::stytch::users::given;
use crate::stytch::{reply, Envelope};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login_or_signup))
        .routes(routes!(invite))
        .routes(routes!(authenticate))
        .routes(routes!(discovery_send))
        .routes(routes!(discovery_authenticate))
}

/// What a B2B link token's keyed digest is made under: its own use of the key, per project,
/// so a consumer token never passes for a member's, nor the reverse.
fn token_context(project_id: &ProjectId) -> String {
    format!("member-magic-link-token:{project_id}")
}

pub(crate) fn new_token(vault: &Vault, project_id: &ProjectId) -> (Secret, CodeDigest) {
    let token = Secret::generate_token();
    let digest = vault.code_digest(&token_context(project_id), token.expose());
    (token, digest)
}

/// The stored link a token names, under any key the vault accepts.
async fn find_link(
    state: &AppState,
    project_id: &ProjectId,
    token: &str,
) -> Result<(latchkey_store::StoredMemberLink, CodeDigest), ApiError> {
    for digest in state.vault.code_digests(&token_context(project_id), token) {
        if let Some(link) = state.store.member_magic_link(project_id, &digest).await? {
            return Ok((link, digest));
        }
    }
    Err(StoreError::NotFound(Missing::MagicLink).into())
}

pub(crate) fn parse_email_address(email: Option<String>) -> Result<Email, ApiError> {
    let email = given(email)
        .ok_or_else(|| ApiError::new(ErrorType::InvalidEmail, "email_address is required."))?;
    Ok(Email::parse(&email)?)
}

/// Refuses a login method the organization does not allow.
pub(crate) fn require_auth_method(
    organization: &Organization,
    method: &str,
) -> Result<(), ApiError> {
    if organization.allows_auth_method(method) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorType::OperationRestrictedByOrganizationAuthMethods,
            format!("The organization does not allow {method} for its members' logins."),
        ))
    }
}

pub(crate) fn jit_refused(refusal: JitRefusal) -> ApiError {
    match refusal {
        JitRefusal::NotAllowed => ApiError::new(
            ErrorType::EmailJitProvisioningNotAllowed,
            "The organization does not allow members to join by email.",
        ),
        JitRefusal::DomainNotAllowed => ApiError::new(
            ErrorType::InvalidEmailForJitProvisioning,
            "The email's domain is not one the organization lets join.",
        ),
    }
}

/// The organization's member a login of `email` is for: the live member of that email, or a
/// new pending member its JIT provisioning allows (refused as the organization says).
pub(crate) enum LoginMember {
    Existing(Member),
    New(Member),
}

pub(crate) async fn login_member(
    state: &AppState,
    project_id: &ProjectId,
    organization: &Organization,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<LoginMember, ApiError> {
    let existing = state
        .store
        .get_member(
            project_id,
            &organization.organization_id,
            &MemberRef::Email(email.as_str().to_owned()),
            false,
        )
        .await?;
    match existing {
        Some(member) => Ok(LoginMember::Existing(member)),
        None => {
            organization.jit_by_email(email).map_err(jit_refused)?;
            Ok(LoginMember::New(new_member(
                project_id,
                organization,
                email,
                MemberStatus::Pending,
                now,
            )))
        }
    }
}

/// A member made on its first login (JIT), or by an invite.
pub(crate) fn new_member(
    project_id: &ProjectId,
    organization: &Organization,
    email: &Email,
    status: MemberStatus,
    now: DateTime<Utc>,
) -> Member {
    Member {
        member_id: MemberId::generate(project_id.environment()),
        organization_id: organization.organization_id.clone(),
        email: email.as_str().to_owned(),
        email_verified: false,
        status,
        name: String::new(),
        is_breakglass: false,
        mfa_phone_number: String::new(),
        mfa_phone_number_verified: false,
        mfa_enrolled: false,
        default_mfa_method: String::new(),
        trusted_metadata: Default::default(),
        untrusted_metadata: Default::default(),
        external_id: None,
        roles: Vec::new(),
        totp_registration_id: String::new(),
        lock_created_at: None,
        lock_expires_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// A link of `purpose` to `url`, its record and its message.
fn prepare(
    state: &AppState,
    auth: &Authenticated,
    (purpose, url, minutes): (LinkPurpose, &url::Url, i64),
    code_challenge: Option<String>,
    template: Option<&latchkey_core::delivery::Template>,
    email: &Email,
) -> (NewMemberLink, Option<latchkey_store::NewMessage>) {
    let (token, token_digest) = new_token(&state.vault, &auth.project.project_id);
    let link = passwordless::link(url, purpose.b2b_token_type(), token.expose());
    let (subject, content) =
        templates::magic_link(&auth.project.name, purpose, &link, minutes, template);
    let message = state.delivery.compose(
        &state.vault,
        &auth.project.project_id,
        Channel::Email,
        email.as_str(),
        subject,
        &content,
    );
    let new = NewMemberLink {
        token_digest,
        purpose,
        code_challenge,
        expires_at: Utc::now() + chrono::Duration::minutes(minutes),
    };
    (new, Some(message))
}

pub(crate) fn throttled(error: StoreError) -> ApiError {
    match error {
        StoreError::Refused(Refusal::Throttled(throttled)) => ApiError::new(
            ErrorType::TooManyRequests,
            "Too many requests have been made.",
        )
        .retry_after(throttled.retry_after_seconds),
        other => other.into(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bLoginOrSignupRequest {
    organization_id: Option<String>,
    email_address: Option<String>,
    login_redirect_url: Option<String>,
    signup_redirect_url: Option<String>,
    pkce_code_challenge: Option<String>,
    login_template_id: Option<String>,
    signup_template_id: Option<String>,
    locale: Option<String>,
    login_expiration_minutes: Option<i64>,
    signup_expiration_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct B2bLoginOrSignupResponse {
    #[serde(flatten)]
    member: MemberResponse,
    member_created: bool,
}

/// Send a login link to the organization's member with this email, or a sign-up link to a
/// pending, invited or new member (JIT provisioning by email domain, as the organization allows).
#[utoipa::path(post, path = "/v1/b2b/magic_links/email/login_or_signup", tag = "b2b.magic_links",
    operation_id = "b2b.magic_links.email.login_or_signup", request_body = B2bLoginOrSignupRequest,
    responses((status = 200, description = "The link was queued.",
               body = Envelope<B2bLoginOrSignupResponse>)))]
async fn login_or_signup(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bLoginOrSignupRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let organization_id = given(request.organization_id)
        .ok_or_else(|| ApiError::bad_request("organization_id is required."))?;
    let email = parse_email_address(request.email_address)?;
    check_locale(request.locale.as_deref())?;
    crate::stytch::magic_links::refuse_templates([
        request.login_template_id.as_deref(),
        request.signup_template_id.as_deref(),
    ])?;
    let login_life = LinkPurpose::Login.b2b_expiry(request.login_expiration_minutes)?;
    let signup_life = LinkPurpose::Signup.b2b_expiry(request.signup_expiration_minutes)?;
    let code_challenge = parse_code_challenge(request.pkce_code_challenge)?;
    let organization = find_organization(&state, project_id, &organization_id).await?;
    require_auth_method(&organization, "magic_link")?;
    let (login_url, signup_url) = passwordless::redirect_url_pair(
        &state,
        &auth.project,
        (RedirectType::Login, request.login_redirect_url.as_deref()),
        (RedirectType::Signup, request.signup_redirect_url.as_deref()),
    )
    .await?;
    let login_template = state
        .store
        .message_template(project_id, TemplateKind::Login)
        .await?;
    let signup_template = state
        .store
        .message_template(project_id, TemplateKind::Signup)
        .await?;
    let now = Utc::now();
    for attempt in 0..2 {
        let (target, purpose, created) =
            match login_member(&state, project_id, &organization, &email, now).await? {
                LoginMember::Existing(member) if member.status == MemberStatus::Active => (
                    MemberTarget::Existing(member.member_id),
                    LinkPurpose::Login,
                    false,
                ),
                LoginMember::Existing(member) => (
                    MemberTarget::Existing(member.member_id),
                    LinkPurpose::Signup,
                    false,
                ),
                LoginMember::New(member) => (
                    MemberTarget::Create(Box::new(member)),
                    LinkPurpose::Signup,
                    true,
                ),
            };
        let (url, life, template, kind) = match purpose {
            LinkPurpose::Login => (&login_url, login_life, &login_template, RedirectType::Login),
            _ => (
                &signup_url,
                signup_life,
                &signup_template,
                RedirectType::Signup,
            ),
        };
        let url = need_url(url.clone(), kind)?;
        let (link, message) = prepare(
            &state,
            &auth,
            (purpose, &url, life.num_minutes()),
            code_challenge.clone(),
            template.as_ref(),
            &email,
        );
        let send = MemberLinkSend {
            organization_id: organization.organization_id.clone(),
            email: email.clone(),
            target,
            link,
            message,
        };
        match state
            .store
            .start_member_link(project_id, send, &state.delivery.limits, now)
            .await
        {
            Ok(member) => {
                state.delivery.queued();
                let body = B2bLoginOrSignupResponse {
                    member: MemberResponse::new(&member, &organization, now),
                    member_created: created,
                };
                return Ok(reply(&auth.request_id, StatusCode::OK, body));
            }
            Err(StoreError::Conflict(_)) if attempt == 0 => continue,
            Err(error) => return Err(throttled(error)),
        }
    }
    Err(StoreError::Conflict(latchkey_store::Conflict::DuplicateMemberEmail).into())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bInviteRequest {
    organization_id: Option<String>,
    email_address: Option<String>,
    invite_redirect_url: Option<String>,
    invited_by_member_id: Option<String>,
    name: Option<String>,
    #[schema(value_type = Option<Object>)]
    trusted_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    untrusted_metadata: Option<Value>,
    invite_template_id: Option<String>,
    locale: Option<String>,
    roles: Option<Vec<String>>,
    invite_expiration_minutes: Option<i64>,
}

/// Invite a new member to an organization by email: the member is `invited` until the link is
/// used; a pending member becomes invited; an active member is refused.
#[utoipa::path(post, path = "/v1/b2b/magic_links/email/invite", tag = "b2b.magic_links",
    operation_id = "b2b.magic_links.email.invite", request_body = B2bInviteRequest,
    responses((status = 200, description = "The invite was queued.", body = Envelope<MemberResponse>)))]
async fn invite(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bInviteRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let organization_id = given(request.organization_id)
        .ok_or_else(|| ApiError::bad_request("organization_id is required."))?;
    let email = parse_email_address(request.email_address)?;
    check_locale(request.locale.as_deref())?;
    crate::stytch::magic_links::refuse_templates([request.invite_template_id.as_deref()])?;
    let life = LinkPurpose::Invite.b2b_expiry(request.invite_expiration_minutes)?;
    let name = parse_member_name(&request.name.unwrap_or_default())?;
    let trusted = metadata("trusted_metadata", request.trusted_metadata)?.unwrap_or_default();
    let untrusted = metadata("untrusted_metadata", request.untrusted_metadata)?.unwrap_or_default();
    let member_roles = roles(request.roles.unwrap_or_default())?;
    let organization = find_organization(&state, project_id, &organization_id).await?;
    if let Some(inviter) = given(request.invited_by_member_id) {
        super::members::find_member(
            &state,
            project_id,
            &organization,
            &MemberRef::parse(&inviter),
        )
        .await?;
    }
    organization
        .invites(&email)
        .map_err(|refusal| match refusal {
            InviteRefusal::NotAllowed => ApiError::new(
                ErrorType::EmailInvitesNotAllowed,
                "The organization does not allow email invites.",
            ),
            InviteRefusal::DomainNotAllowed => ApiError::new(
                ErrorType::InvalidEmailForInvites,
                "The email's domain is not one the organization lets be invited.",
            ),
        })?;
    let url = redirect_url(
        &state,
        &auth.project,
        RedirectType::Invite,
        request.invite_redirect_url.as_deref(),
    )
    .await?;
    let url = need_url(url, RedirectType::Invite)?;
    let template = state
        .store
        .message_template(project_id, TemplateKind::Invite)
        .await?;
    let now = Utc::now();
    for attempt in 0..2 {
        let existing = state
            .store
            .get_member(
                project_id,
                &organization.organization_id,
                &MemberRef::Email(email.as_str().to_owned()),
                false,
            )
            .await?;
        let target = match existing {
            Some(member) if member.status == MemberStatus::Active => {
                return Err(ApiError::new(
                    ErrorType::DuplicateMemberEmail,
                    "This member is active already: there is nothing to invite them to.",
                ))
            }
            Some(member) => MemberTarget::Invite(member.member_id),
            None => {
                let mut member = new_member(
                    project_id,
                    &organization,
                    &email,
                    MemberStatus::Invited,
                    now,
                );
                member.name = name.clone();
                member.trusted_metadata = trusted.clone();
                member.untrusted_metadata = untrusted.clone();
                member.roles = member_roles.clone();
                MemberTarget::Create(Box::new(member))
            }
        };
        let (link, message) = prepare(
            &state,
            &auth,
            (LinkPurpose::Invite, &url, life.num_minutes()),
            None,
            template.as_ref(),
            &email,
        );
        let send = MemberLinkSend {
            organization_id: organization.organization_id.clone(),
            email: email.clone(),
            target,
            link,
            message,
        };
        match state
            .store
            .start_member_link(project_id, send, &state.delivery.limits, now)
            .await
        {
            Ok(member) => {
                state.delivery.queued();
                let body = MemberResponse::new(&member, &organization, now);
                return Ok(reply(&auth.request_id, StatusCode::OK, body));
            }
            Err(StoreError::Conflict(_)) if attempt == 0 => continue,
            Err(error) => return Err(throttled(error)),
        }
    }
    Err(StoreError::Conflict(latchkey_store::Conflict::DuplicateMemberEmail).into())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct B2bMagicLinkAuthenticateRequest {
    magic_links_token: Option<String>,
    pkce_code_verifier: Option<String>,
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
pub struct B2bMagicLinkAuthenticatedResponse {
    #[serde(flatten)]
    session: MemberSessionResponse,
    /// The email the link was sent to.
    method_id: String,
    reset_sessions: bool,
}

/// The factor an email magic link proves for a member.
pub(crate) fn email_factor(kind: &str, now: DateTime<Utc>) -> AuthenticationFactor {
    AuthenticationFactor {
        kind: kind.to_owned(),
        delivery_method: "email".to_owned(),
        last_authenticated_at: now,
        created_at: now,
        updated_at: now,
        email: None,
        totp_id: None,
        phone: None,
    }
}

/// Authenticate an organization magic link (login, sign-up or invite): a member session, or
/// an intermediate session when the organization demands MFA.
#[utoipa::path(post, path = "/v1/b2b/magic_links/authenticate", tag = "b2b.magic_links",
    operation_id = "b2b.magic_links.authenticate", request_body = B2bMagicLinkAuthenticateRequest,
    responses((status = 200, description = "The member and its session, or what MFA needs.",
               body = Envelope<B2bMagicLinkAuthenticatedResponse>)))]
async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bMagicLinkAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let token = given(request.magic_links_token)
        .ok_or_else(|| ApiError::bad_request("magic_links_token is required."))?;
    check_locale(request.locale.as_deref())?;
    let _ = request.telemetry_id;
    let (session_request, intermediate) = MemberSessionOptions {
        intermediate_session_token: request.intermediate_session_token,
        session_token: request.session_token,
        session_jwt: request.session_jwt,
        session_duration_minutes: request.session_duration_minutes,
        session_custom_claims: request.session_custom_claims,
    }
    .parse()?;
    let now = Utc::now();
    let (link, digest) = find_link(&state, project_id, &token).await?;
    // A discovery token is not an organization's: refused here, and left usable.
    let (Some(organization_id), Some(member_id)) = (&link.organization_id, &link.member_id) else {
        return Err(StoreError::NotFound(Missing::MagicLink).into());
    };
    if !link.usable(now) {
        return Err(StoreError::Refused(Refusal::MagicLinkUnusable).into());
    }
    magic_links::check_pkce(
        link.code_challenge.as_deref(),
        request.pkce_code_verifier.as_deref(),
    )?;
    let organization = find_organization(&state, project_id, organization_id.as_str()).await?;
    let member = super::members::find_member(
        &state,
        project_id,
        &organization,
        &MemberRef::Id(member_id.clone()),
    )
    .await?;
    // A link proves the address it was sent to: once the member's email changed, it proves
    // nothing about the member.
    if link.email != member.email {
        return Err(StoreError::NotFound(Missing::MagicLink).into());
    }
    require_auth_method(&organization, "magic_link")?;
    let intermediate = given_intermediate(
        &state,
        project_id,
        intermediate,
        (&organization, &member),
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
    let proof = Proof {
        factor: Some(email_factor("magic_link", now)),
        consume: Some(Consume::MemberMagicLink { digest, at: now }),
        attempt: None,
    };
    let mut session =
        authentication::complete(&state, &auth, principal, &session_request, proof, now)
            .await?
            .member()?;
    // The member's MFA methods are as read before the completion, which changes neither.
    if session.owes_mfa() {
        session.secondary_initiated(
            super::otps::start_secondary(&state, &auth, &organization, &member).await?,
        );
    }
    let body = B2bMagicLinkAuthenticatedResponse {
        session,
        method_id: String::new(),
        reset_sessions: false,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySendRequest {
    email_address: Option<String>,
    discovery_redirect_url: Option<String>,
    pkce_code_challenge: Option<String>,
    login_template_id: Option<String>,
    locale: Option<String>,
    discovery_expiration_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DiscoverySent {}

/// Send a discovery link: it proves the email, then lists the organizations it may enter.
#[utoipa::path(post, path = "/v1/b2b/magic_links/email/discovery/send", tag = "b2b.magic_links",
    operation_id = "b2b.magic_links.email.discovery.send", request_body = DiscoverySendRequest,
    responses((status = 200, description = "The link was queued.", body = Envelope<DiscoverySent>)))]
async fn discovery_send(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<DiscoverySendRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let email = parse_email_address(request.email_address)?;
    check_locale(request.locale.as_deref())?;
    crate::stytch::magic_links::refuse_templates([request.login_template_id.as_deref()])?;
    let life = LinkPurpose::Discovery.b2b_expiry(request.discovery_expiration_minutes)?;
    let code_challenge = parse_code_challenge(request.pkce_code_challenge)?;
    let url = redirect_url(
        &state,
        &auth.project,
        RedirectType::Discovery,
        request.discovery_redirect_url.as_deref(),
    )
    .await?;
    let url = need_url(url, RedirectType::Discovery)?;
    let template = state
        .store
        .message_template(project_id, TemplateKind::Login)
        .await?;
    let (link, message) = prepare(
        &state,
        &auth,
        (LinkPurpose::Discovery, &url, life.num_minutes()),
        code_challenge,
        template.as_ref(),
        &email,
    );
    state
        .store
        .start_discovery_link(
            project_id,
            &email,
            link,
            message,
            &state.delivery.limits,
            Utc::now(),
        )
        .await
        .map_err(throttled)?;
    state.delivery.queued();
    Ok(reply(&auth.request_id, StatusCode::OK, DiscoverySent {}))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryAuthenticateRequest {
    discovery_magic_links_token: Option<String>,
    pkce_code_verifier: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DiscoveryAuthenticatedResponse {
    intermediate_session_token: String,
    email_address: String,
    discovered_organizations: Vec<super::discovery::DiscoveredOrganization>,
}

/// Authenticate a discovery link: an intermediate session bound to the email, and the
/// organizations it may enter.
#[utoipa::path(post, path = "/v1/b2b/magic_links/discovery/authenticate", tag = "b2b.magic_links",
    operation_id = "b2b.magic_links.discovery.authenticate",
    request_body = DiscoveryAuthenticateRequest,
    responses((status = 200, description = "The intermediate session and the organizations.",
               body = Envelope<DiscoveryAuthenticatedResponse>)))]
async fn discovery_authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<DiscoveryAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let token = given(request.discovery_magic_links_token)
        .ok_or_else(|| ApiError::bad_request("discovery_magic_links_token is required."))?;
    let now = Utc::now();
    let (link, digest) = find_link(&state, project_id, &token).await?;
    if link.purpose != LinkPurpose::Discovery {
        // An organization's token is not a discovery token: refused, and left usable.
        return Err(StoreError::NotFound(Missing::MagicLink).into());
    }
    if !link.usable(now) {
        return Err(StoreError::Refused(Refusal::MagicLinkUnusable).into());
    }
    magic_links::check_pkce(
        link.code_challenge.as_deref(),
        request.pkce_code_verifier.as_deref(),
    )?;
    let ist = Secret::generate_token();
    let session = IntermediateSession {
        email: link.email.clone(),
        organization_id: None,
        member_id: None,
        factors: vec![email_factor("magic_link", now)],
        expires_at: now + IntermediateSession::lifetime(),
        created_at: now,
    };
    state
        .store
        .use_discovery_link(project_id, &digest, (&ist.digest(), &session), now)
        .await?;
    let discovered = super::discovery::discovered(&state, project_id, &session).await?;
    let body = DiscoveryAuthenticatedResponse {
        intermediate_session_token: ist.expose().to_owned(),
        email_address: link.email,
        discovered_organizations: discovered,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// The intermediate session a token names, active (any binding): for discovery calls.
pub(crate) async fn active_intermediate(
    state: &AppState,
    project_id: &ProjectId,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(SecretDigest, IntermediateSession), ApiError> {
    let digest = SecretDigest::of(token);
    match state
        .store
        .intermediate_session(project_id, &digest)
        .await?
    {
        Some(session) if session.is_active(now) => Ok((digest, session)),
        _ => Err(crate::stytch::sessions::SessionError::IntermediateNotFound.into()),
    }
}
