//! Discovery: the organizations an email may enter (`/v1/b2b/discovery/organizations`), the
//! exchange of a discovery intermediate session for a member session of one of them
//! (`intermediate_sessions/exchange`), and a new organization made with it
//! (`organizations/create`). The intermediate session is used up only by the call that turns it
//! into a member session or creates an organization; an exchange that still owes MFA binds it
//! to the organization's member and returns the same token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use latchkey_core::ids::ProjectId;
use latchkey_core::members::{Member, MemberStatus};
use latchkey_core::organizations::Organization;
use latchkey_core::secret::SecretDigest;
use latchkey_core::sessions::intermediate::IntermediateSession;
use latchkey_core::sessions::{mfa_owed, MemberSession, SessionRequest};
use latchkey_core::values::Email;
use latchkey_store::MemberRef;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::magic_links::{active_intermediate, jit_refused, new_member};
use super::members::MemberObject;
use super::organizations::{find_organization, organization_from_body, OrganizationObject};
use super::sessions::MemberSessionResponse;
use crate::authentication::{self, Principal, Proof};
use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::sessions::presented;
use crate::stytch::users::given;
use crate::stytch::{reply, Envelope};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(organizations))
        .routes(routes!(exchange))
        .routes(routes!(create))
        .routes(routes!(session_exchange))
}

/// An organization an email may enter, and how.
#[derive(Serialize, ToSchema)]
pub struct DiscoveredOrganization {
    organization: OrganizationObject,
    membership: Membership,
    /// Whether the factors proven so far make a member session there.
    member_authenticated: bool,
    primary_required: Option<PrimaryRequired>,
    mfa_required: Option<MfaNeeded>,
}

#[derive(Serialize, ToSchema)]
pub struct Membership {
    /// `active_member`, `pending_member`, `invited_member` or `eligible_to_join_by_email_domain`.
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = Option<Object>)]
    details: Option<Value>,
    member: Option<MemberObject>,
}

#[derive(Serialize, ToSchema)]
pub struct PrimaryRequired {
    /// The primary methods the organization allows.
    allowed_auth_methods: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MfaNeeded {
    member_options: Option<MemberMfaOptions>,
    secondary_auth_initiated: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberMfaOptions {
    mfa_phone_number: String,
    totp_registration_id: String,
}

/// Whether the factors proven so far are a primary method the organization allows.
fn primary_allowed(organization: &Organization, session: &IntermediateSession) -> bool {
    latchkey_core::sessions::intermediate::primary_allowed(organization, &session.factors)
}

fn primary_required(organization: &Organization) -> PrimaryRequired {
    PrimaryRequired {
        allowed_auth_methods: organization
            .settings
            .get("allowed_auth_methods")
            .and_then(Value::as_array)
            .map(|methods| {
                methods
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn mfa_needed(member: Option<&Member>) -> MfaNeeded {
    let enrolled = member.filter(|member| {
        !member.mfa_phone_number.is_empty() || !member.totp_registration_id.is_empty()
    });
    MfaNeeded {
        member_options: enrolled.map(|member| MemberMfaOptions {
            mfa_phone_number: member.mfa_phone_number.clone(),
            totp_registration_id: member.totp_registration_id.clone(),
        }),
        secondary_auth_initiated: None,
    }
}

fn discovered_one(
    organization: &Organization,
    member: Option<&Member>,
    session: &IntermediateSession,
    now: DateTime<Utc>,
) -> DiscoveredOrganization {
    let kind = match member.map(|member| member.status) {
        Some(MemberStatus::Active) => "active_member",
        Some(MemberStatus::Pending) => "pending_member",
        Some(MemberStatus::Invited) => "invited_member",
        _ => "eligible_to_join_by_email_domain",
    };
    let primary = primary_allowed(organization, session);
    let owed = mfa_owed(
        organization.requires_mfa(member.is_some_and(|member| member.mfa_enrolled)),
        &session.factors,
    );
    DiscoveredOrganization {
        organization: OrganizationObject::new(organization),
        membership: Membership {
            kind: kind.to_owned(),
            details: None,
            member: member.map(|member| MemberObject::new(member, now)),
        },
        member_authenticated: primary && !owed,
        primary_required: (!primary).then(|| primary_required(organization)),
        mfa_required: (primary && owed).then(|| mfa_needed(member)),
    }
}

/// The organizations the intermediate session's email may enter: where it is a member
/// (active, pending, invited), then where it may join by its domain.
pub async fn discovered(
    state: &AppState,
    project_id: &ProjectId,
    session: &IntermediateSession,
) -> Result<Vec<DiscoveredOrganization>, ApiError> {
    let now = Utc::now();
    let memberships = state.store.memberships(project_id, &session.email).await?;
    let mut found: Vec<DiscoveredOrganization> = memberships
        .iter()
        .map(|(organization, member)| discovered_one(organization, Some(member), session, now))
        .collect();
    if let Ok(email) = Email::parse(&session.email) {
        for organization in state
            .store
            .jit_organizations(project_id, email.domain())
            .await?
        {
            let member_of = memberships
                .iter()
                .any(|(known, _)| known.organization_id == organization.organization_id);
            if !member_of {
                found.push(discovered_one(&organization, None, session, now));
            }
        }
    }
    Ok(found)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryOrganizationsRequest {
    intermediate_session_token: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DiscoveryOrganizationsResponse {
    email_address: String,
    discovered_organizations: Vec<DiscoveredOrganization>,
    organization_id_hint: Option<String>,
}

/// The organizations an email may enter, by its intermediate session (left usable) or by a
/// member session of it.
#[utoipa::path(post, path = "/v1/b2b/discovery/organizations", tag = "b2b.discovery",
    operation_id = "b2b.discovery.organizations.list", request_body = DiscoveryOrganizationsRequest,
    responses((status = 200, description = "The organizations.",
               body = Envelope<DiscoveryOrganizationsResponse>)))]
async fn organizations(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<DiscoveryOrganizationsRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let now = Utc::now();
    let (session, hint) = match given(request.intermediate_session_token) {
        Some(token) => {
            let (_, session) = active_intermediate(&state, project_id, &token, now).await?;
            let hint = session
                .organization_id
                .as_ref()
                .map(|id| id.as_str().to_owned());
            (session, hint)
        }
        None => {
            let named =
                SessionRequest::parse(request.session_token, request.session_jwt, None, None)?;
            let presented = presented::<MemberSession>(&state, project_id, named.presented(), now)
                .await?
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "intermediate_session_token, session_token or session_jwt is required.",
                    )
                })?;
            let organization = find_organization(
                &state,
                project_id,
                presented.session.organization_id.as_str(),
            )
            .await?;
            let member = super::members::find_member(
                &state,
                project_id,
                &organization,
                &MemberRef::Id(presented.session.member_id.clone()),
            )
            .await?;
            let session = IntermediateSession {
                email: member.email,
                organization_id: None,
                member_id: None,
                factors: presented.session.authentication_factors,
                expires_at: presented.session.expires_at,
                created_at: presented.session.started_at,
            };
            (
                session,
                Some(organization.organization_id.as_str().to_owned()),
            )
        }
    };
    let body = DiscoveryOrganizationsResponse {
        email_address: session.email.clone(),
        discovered_organizations: discovered(&state, project_id, &session).await?,
        organization_id_hint: hint,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    intermediate_session_token: Option<String>,
    organization_id: Option<String>,
    session_duration_minutes: Option<i64>,
    #[schema(value_type = Option<Object>)]
    session_custom_claims: Option<Value>,
    locale: Option<String>,
    telemetry_id: Option<String>,
}

/// Completes an intermediate session in `organization` for `member` (made first when `create`
/// says so): a member session, or, while MFA is owed, the same token bound to the member.
async fn enter(
    state: &AppState,
    auth: &Authenticated,
    (digest, session, token): (SecretDigest, IntermediateSession, &str),
    (organization, member): (&Organization, &Member),
    create: Option<Box<(Option<Organization>, Member)>>,
    request: &SessionRequest,
) -> Result<MemberSessionResponse, ApiError> {
    let project_id = &auth.project.project_id;
    let now = Utc::now();
    if !primary_allowed(organization, &session) {
        return Err(ApiError::new(
            ErrorType::OperationRestrictedByOrganizationAuthMethods,
            "The organization does not allow the login method of this intermediate session.",
        ));
    }
    let owed = mfa_owed(
        organization.requires_mfa(member.mfa_enrolled),
        &session.factors,
    );
    if owed && create.as_ref().is_none_or(|create| create.0.is_none()) {
        // The same token, now bound to the member: an MFA step completes it.
        state
            .store
            .bind_intermediate_session(project_id, &digest, member, create.is_some(), now)
            .await?;
        return Ok(MemberSessionResponse::intermediate(
            member,
            organization,
            token,
            None,
            now,
        ));
    }
    let mut factors = session.factors.clone();
    let last = factors
        .pop()
        .ok_or_else(|| ApiError::bad_request("The intermediate session proves no factor."))?;
    let carried = IntermediateSession { factors, ..session };
    let principal = Principal::Member {
        organization,
        member,
        set_mfa_enrolled: None,
        set_default_mfa_method: None,
        intermediate: Some((
            super::sessions::IstToken {
                digest,
                token: token.to_owned(),
            },
            carried,
        )),
        create,
    };
    let proof = Proof {
        factor: Some(last),
        consume: None,
        attempt: None,
    };
    authentication::complete(state, auth, principal, request, proof, now)
        .await?
        .member()
}

/// Exchange a discovery intermediate session for a member session of one organization
/// (joining it by email domain when it allows), or for an MFA step there.
#[utoipa::path(post, path = "/v1/b2b/discovery/intermediate_sessions/exchange",
    tag = "b2b.discovery", operation_id = "b2b.discovery.intermediate_sessions.exchange",
    request_body = ExchangeRequest,
    responses((status = 200, description = "The member and its session, or what MFA needs.",
               body = Envelope<MemberSessionResponse>)))]
async fn exchange(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<ExchangeRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let token = given(request.intermediate_session_token)
        .ok_or_else(|| ApiError::bad_request("intermediate_session_token is required."))?;
    let organization_id = given(request.organization_id)
        .ok_or_else(|| ApiError::bad_request("organization_id is required."))?;
    crate::stytch::passwordless::check_locale(request.locale.as_deref())?;
    let _ = request.telemetry_id;
    let session_request = SessionRequest::parse(
        None,
        None,
        request.session_duration_minutes,
        request.session_custom_claims,
    )?;
    let now = Utc::now();
    let (digest, session) = active_intermediate(&state, project_id, &token, now).await?;
    let organization = find_organization(&state, project_id, &organization_id).await?;
    if session
        .organization_id
        .as_ref()
        .is_some_and(|bound| *bound != organization.organization_id)
    {
        return Err(crate::stytch::sessions::SessionError::IntermediateNotFound.into());
    }
    let existing = state
        .store
        .get_member(
            project_id,
            &organization.organization_id,
            &MemberRef::Email(session.email.clone()),
            false,
        )
        .await?;
    let (member, create) = match existing {
        Some(member) => (member, None),
        None => {
            let email = Email::parse(&session.email)?;
            organization.jit_by_email(&email).map_err(jit_refused)?;
            let mut member =
                new_member(project_id, &organization, &email, MemberStatus::Active, now);
            // The intermediate session proved the email.
            member.email_verified = true;
            (member.clone(), Some(Box::new((None, member))))
        }
    };
    let body = enter(
        &state,
        &auth,
        (digest, session, &token),
        (&organization, &member),
        create,
        &session_request,
    )
    .await?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// Create an organization with a discovery intermediate session: its first member is the
/// email's owner, an admin, with a member session.
#[utoipa::path(post, path = "/v1/b2b/discovery/organizations/create", tag = "b2b.discovery",
    operation_id = "b2b.discovery.organizations.create",
    request_body = crate::stytch::b2b::organizations::OrganizationRequest,
    responses((status = 200, description = "The member, its organization and session.",
               body = Envelope<MemberSessionResponse>)))]
async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(mut body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let text = |body: &mut Map<String, Value>, field: &str| -> Result<Option<String>, ApiError> {
        match body.remove(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text).filter(|text| !text.is_empty())),
            Some(_) => Err(ApiError::bad_request(format!("{field} must be a string."))),
        }
    };
    let token = text(&mut body, "intermediate_session_token")?
        .ok_or_else(|| ApiError::bad_request("intermediate_session_token is required."))?;
    let minutes = match body.remove("session_duration_minutes") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_i64().ok_or_else(|| {
            ApiError::bad_request("session_duration_minutes must be an integer.")
        })?),
    };
    let claims = body.remove("session_custom_claims");
    let _ = (text(&mut body, "locale")?, text(&mut body, "telemetry_id")?);
    let session_request = SessionRequest::parse(None, None, minutes, claims)?;
    let now = Utc::now();
    let organization = organization_from_body(project_id, &body, now)?;
    let (digest, session) = active_intermediate(&state, project_id, &token, now).await?;
    if session.organization_id.is_some() {
        return Err(crate::stytch::sessions::SessionError::IntermediateNotFound.into());
    }
    let email = Email::parse(&session.email)?;
    let mut member = new_member(project_id, &organization, &email, MemberStatus::Active, now);
    member.email_verified = true;
    member.roles = vec![latchkey_core::members::ADMIN_ROLE.to_owned()];
    let create = Some(Box::new((Some(organization.clone()), member.clone())));
    let body = enter(
        &state,
        &auth,
        (digest, session, &token),
        (&organization, &member),
        create,
        &session_request,
    )
    .await?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionExchangeRequest {
    organization_id: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
    session_duration_minutes: Option<i64>,
    #[schema(value_type = Option<Object>)]
    session_custom_claims: Option<Value>,
    locale: Option<String>,
    telemetry_id: Option<String>,
}

/// The factors of a member session that another organization may count: the ones that proved
/// the email (magic links, email passcodes). Passwords and second factors stay behind.
fn transferable(
    factors: &[latchkey_core::sessions::AuthenticationFactor],
) -> Vec<latchkey_core::sessions::AuthenticationFactor> {
    factors
        .iter()
        .filter(|factor| matches!(factor.kind.as_str(), "magic_link" | "email_otp"))
        .cloned()
        .collect()
}

/// Exchange a member session for one in another organization the same email belongs to,
/// keeping the factors that organization accepts; when they are not enough, an intermediate
/// session carrying them.
#[utoipa::path(post, path = "/v1/b2b/sessions/exchange", tag = "b2b.sessions",
    operation_id = "b2b.sessions.exchange", request_body = SessionExchangeRequest,
    responses((status = 200, description = "The member and its session, or what MFA needs.",
               body = Envelope<MemberSessionResponse>)))]
async fn session_exchange(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<SessionExchangeRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let organization_id = given(request.organization_id)
        .ok_or_else(|| ApiError::bad_request("organization_id is required."))?;
    crate::stytch::passwordless::check_locale(request.locale.as_deref())?;
    let _ = request.telemetry_id;
    let named = SessionRequest::parse(request.session_token, request.session_jwt, None, None)?;
    let session_request = SessionRequest::parse(
        None,
        None,
        request.session_duration_minutes,
        request.session_custom_claims,
    )?;
    let now = Utc::now();
    let presented = presented::<MemberSession>(&state, project_id, named.presented(), now)
        .await?
        .ok_or_else(|| ApiError::bad_request("session_token or session_jwt is required."))?;
    let source = find_organization(
        &state,
        project_id,
        presented.session.organization_id.as_str(),
    )
    .await?;
    let source_member = super::members::find_member(
        &state,
        project_id,
        &source,
        &MemberRef::Id(presented.session.member_id.clone()),
    )
    .await?;
    let organization = find_organization(&state, project_id, &organization_id).await?;
    // An exchange joins no one by domain: the email must be a member there already.
    let member = super::members::find_member(
        &state,
        project_id,
        &organization,
        &MemberRef::Email(source_member.email.clone()),
    )
    .await?;
    let factors = transferable(&presented.session.authentication_factors);
    let session = IntermediateSession {
        email: source_member.email.clone(),
        organization_id: None,
        member_id: None,
        factors,
        expires_at: now + IntermediateSession::lifetime(),
        created_at: now,
    };
    if session.factors.is_empty() || !primary_allowed(&organization, &session) {
        return Err(ApiError::new(
            ErrorType::InsufficientFactorsForSessionExchange,
            "The session holds no factor this organization accepts for a login.",
        ));
    }
    let token = latchkey_core::secret::Secret::generate_token();
    state
        .store
        .issue_intermediate_session(project_id, &token.digest(), &session)
        .await?;
    let body = enter(
        &state,
        &auth,
        (token.digest(), session, token.expose()),
        (&organization, &member),
        None,
        &session_request,
    )
    .await?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
