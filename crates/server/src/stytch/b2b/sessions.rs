//! Member sessions: how B2B authentications start or extend them, and `/v1/b2b/sessions`
//! (list, authenticate, revoke, JWKS). They use the consumer sessions' machinery — opaque
//! tokens kept as digests, RS256 JWTs under the project's keys — with their own ids and table,
//! so a consumer session is never accepted as a member session, nor the reverse.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use latchkey_core::ids::{MemberId, MemberSessionId, ProjectId};
use latchkey_core::jwt::KeyKind;
use latchkey_core::members::Member;
use latchkey_core::organizations::Organization;
use latchkey_core::secret::Secret;
use latchkey_core::secret::SecretDigest;
use latchkey_core::sessions::intermediate::IntermediateSession;
use latchkey_core::sessions::{
    mfa_owed, AuthenticationFactor, MemberSession, MemberSessionObject, SessionPlan, SessionRequest,
};
use latchkey_store::{
    MemberRef, MemberSessionWrite, Missing, NewIntermediateSession, NewMemberSession,
    OrganizationRef, StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::{find_member, organization_and_member, MemberResponse};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::request_id::CurrentRequestId;
use crate::stytch::sessions::{
    jwks_reply, presented, sign, EmptyResponse, JwksResponse, Presented, SessionError,
};
use crate::stytch::users::given;
use crate::stytch::{reply, Envelope};
use crate::AppState;

/// A member session lasts an hour unless `session_duration_minutes` says otherwise (Stytch's
/// B2B default).
const DEFAULT_DURATION_MINUTES: i64 = 60;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(authenticate))
        .routes(routes!(revoke))
        .routes(routes!(jwks))
}

/// The session fields of every B2B authenticate request.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MemberSessionOptions {
    /// An intermediate session this factor completes (an MFA step after a primary factor).
    pub intermediate_session_token: Option<String>,
    /// A member session to extend, by its token…
    pub session_token: Option<String>,
    /// …or by a JWT of it.
    pub session_jwt: Option<String>,
    /// 5 to 527040 minutes; a new member session lasts 60 unless this says otherwise.
    pub session_duration_minutes: Option<i64>,
    /// Claims to merge into the session's JWTs; `null` values remove a claim.
    #[schema(value_type = Option<Object>)]
    pub session_custom_claims: Option<Value>,
}

impl MemberSessionOptions {
    /// Refuses what cannot be right before anything is looked up: an intermediate session
    /// beside a session, both a token and a JWT, a bad duration, bad custom claims. Gives the
    /// session request and the digest of the intermediate session's token, if one was given.
    pub fn parse(&self) -> Result<(SessionRequest, Option<IstToken>), ApiError> {
        let request = SessionRequest::parse(
            self.session_token.clone(),
            self.session_jwt.clone(),
            self.session_duration_minutes,
            self.session_custom_claims.clone(),
        )?;
        let intermediate = given(self.intermediate_session_token.clone());
        if intermediate.is_some() && request.presented().is_some() {
            return Err(ApiError::bad_request(
                "Give an intermediate_session_token or a session_token / session_jwt, not both.",
            ));
        }
        Ok((
            request,
            intermediate.map(|token| IstToken {
                digest: SecretDigest::of(&token),
                token,
            }),
        ))
    }
}

/// An intermediate session's token as a request gave it, and its digest: an authentication
/// that still owes MFA after it answers with the same token.
#[derive(Clone, Debug)]
pub struct IstToken {
    pub digest: SecretDigest,
    pub token: String,
}

/// The intermediate session a request named, checked for `member` of `organization`:
/// unknown, expired, or bound to another organization or member, it is
/// `intermediate_session_not_found`; one bound to no organization yet (discovery) must show a
/// primary method the organization allows.
pub async fn intermediate_for(
    state: &AppState,
    project_id: &ProjectId,
    digest: &SecretDigest,
    (organization, member): (&Organization, &Member),
    now: DateTime<Utc>,
) -> Result<IntermediateSession, ApiError> {
    let session = match state.store.intermediate_session(project_id, digest).await? {
        Some(session) if session.is_active(now) && session.fits(member) => session,
        _ => return Err(SessionError::IntermediateNotFound.into()),
    };
    if session.organization_id.is_none()
        && !latchkey_core::sessions::intermediate::primary_allowed(organization, &session.factors)
    {
        return Err(ApiError::new(
            crate::error::ErrorType::OperationRestrictedByOrganizationAuthMethods,
            "The organization does not allow the login method of this intermediate session.",
        ));
    }
    Ok(session)
}

/// The intermediate session a request gave, if any, checked for `member` of `organization`
/// (see [`intermediate_for`]), with its token.
pub async fn given_intermediate(
    state: &AppState,
    project_id: &ProjectId,
    given: Option<IstToken>,
    (organization, member): (&Organization, &Member),
    now: DateTime<Utc>,
) -> Result<Option<(IstToken, IntermediateSession)>, ApiError> {
    match given {
        Some(given) => {
            let session = intermediate_for(
                state,
                project_id,
                &given.digest,
                (organization, member),
                now,
            )
            .await?;
            Ok(Some((given, session)))
        }
        None => Ok(None),
    }
}

/// A factor that is only a second factor (TOTP, a recovery code, SMS) does not log a member in
/// alone where the organization restricts its primary methods: it needs the intermediate
/// session of a primary factor, or a session of the member.
pub fn second_factor_alone(
    organization: &Organization,
    intermediate: bool,
    request: &SessionRequest,
) -> Result<(), ApiError> {
    if !intermediate && request.presented().is_none() && organization.restricts_auth_methods() {
        return Err(ApiError::new(
            crate::error::ErrorType::OperationRestrictedByOrganizationAuthMethods,
            "The organization restricts its primary login methods: complete a primary factor \
             first and present its intermediate_session_token.",
        ));
    }
    Ok(())
}

/// The session part of an authentication of `member` by `factor`: the presented session of
/// the member with the factor recorded, or a new one, unless MFA is still owed
/// (`mfa_required`, and `factor` is no second factor). Returns the write and the token.
pub async fn plan_member_session(
    state: &AppState,
    project_id: &ProjectId,
    member: &Member,
    request: &SessionRequest,
    (factor, earlier): (AuthenticationFactor, &[AuthenticationFactor]),
    mfa_required: bool,
    now: DateTime<Utc>,
) -> Result<(MemberSessionWrite, String), ApiError> {
    let (presented, token) =
        match presented::<MemberSession>(state, project_id, request.presented(), now).await? {
            Some(Presented { session, token }) => (Some(session), token),
            None => (None, String::new()),
        };
    let mut proven = earlier.to_vec();
    // A factor proven again replaces its earlier record.
    proven.retain(|known| !known.same_as(&factor));
    proven.push(factor.clone());
    let owed = mfa_owed(mfa_required, &proven);
    let plan = request
        .plan(
            presented,
            member.member_id.as_str(),
            Some(factor),
            Some(Duration::minutes(DEFAULT_DURATION_MINUTES)),
            now,
        )
        .map_err(SessionError::from)?
        .short_of_mfa(owed);
    match plan {
        SessionPlan::Start {
            factor,
            expires_at,
            custom_claims,
        } => {
            let token = Secret::generate_token();
            let new = NewMemberSession {
                member_session_id: MemberSessionId::generate(project_id.environment()),
                token_digest: token.digest(),
                expires_at,
                custom_claims,
                // Filled in by the completion from the intermediate session it uses up.
                earlier_factors: Vec::new(),
            };
            Ok((
                MemberSessionWrite::Start(new, factor),
                token.expose().to_owned(),
            ))
        }
        SessionPlan::Attach(session) | SessionPlan::Extend(session) => {
            Ok((MemberSessionWrite::Continue(session), token))
        }
        // MFA is owed: an intermediate session with what was proven, and no member session.
        SessionPlan::Intermediate { .. } => {
            let token = Secret::generate_token();
            let new = NewIntermediateSession {
                token_digest: token.digest(),
                factors: proven,
                expires_at: now + IntermediateSession::lifetime(),
            };
            Ok((
                MemberSessionWrite::Intermediate(new),
                token.expose().to_owned(),
            ))
        }
        // A factor and a default duration always make a session.
        SessionPlan::None => {
            tracing::error!("a member authentication planned no session");
            Err(ApiError::internal())
        }
    }
}

/// `member_id`, `member`, `organization`, `session_token`, `session_jwt`, `member_session`:
/// what every B2B authentication answers; a primary factor that leaves MFA owed answers
/// `member_authenticated: false` with an `intermediate_session_token` and `mfa_required`
/// instead of a session.
#[derive(Serialize, ToSchema)]
pub struct MemberSessionResponse {
    #[serde(flatten)]
    member: MemberResponse,
    organization_id: String,
    /// `""` when the session was named by its JWT (tokens are kept only as digests), or when
    /// there is none.
    session_token: String,
    session_jwt: String,
    member_session: Option<MemberSessionObject>,
    member_authenticated: bool,
    /// `""` unless MFA is owed.
    intermediate_session_token: String,
    mfa_required: Option<MfaRequired>,
}

#[derive(Serialize, ToSchema)]
pub struct MfaRequired {
    member_options: Option<MemberOptions>,
    /// `sms_otp` when a passcode was sent to the member's MFA phone; `null` otherwise.
    secondary_auth_initiated: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberOptions {
    mfa_phone_number: String,
    totp_registration_id: String,
}

impl MemberSessionResponse {
    pub async fn new(
        state: &AppState,
        project_id: &ProjectId,
        member: &Member,
        organization: &Organization,
        session: &MemberSession,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<MemberSessionResponse, ApiError> {
        let roles = member.all_roles();
        let slug = organization.slug.as_str();
        let session_jwt = sign(
            state,
            project_id,
            KeyKind::B2b,
            &session.jwt_claims(project_id, &roles, slug, now),
        )
        .await?;
        Ok(MemberSessionResponse {
            member: MemberResponse::new(member, organization, now),
            organization_id: organization.organization_id.as_str().to_owned(),
            session_token: token.to_owned(),
            session_jwt,
            member_session: Some(session.to_object(&roles, slug)),
            member_authenticated: true,
            intermediate_session_token: String::new(),
            mfa_required: None,
        })
    }

    /// Whether MFA is still owed (no member session).
    pub fn owes_mfa(&self) -> bool {
        !self.member_authenticated
    }

    /// Records that an SMS code was sent at once (`secondary_auth_initiated: sms_otp`).
    pub fn secondary_initiated(&mut self, method: Option<String>) {
        if let Some(required) = &mut self.mfa_required {
            required.secondary_auth_initiated = method;
        }
    }

    /// MFA is owed: the intermediate session's token, and the member's ways to finish.
    pub fn intermediate(
        member: &Member,
        organization: &Organization,
        intermediate_token: &str,
        secondary_auth_initiated: Option<String>,
        now: DateTime<Utc>,
    ) -> MemberSessionResponse {
        MemberSessionResponse {
            member: MemberResponse::new(member, organization, now),
            organization_id: organization.organization_id.as_str().to_owned(),
            session_token: String::new(),
            session_jwt: String::new(),
            member_session: None,
            member_authenticated: false,
            intermediate_session_token: intermediate_token.to_owned(),
            mfa_required: Some(MfaRequired {
                // `null` for a member with no MFA method yet: it enrolls one first.
                member_options: (!member.mfa_phone_number.is_empty()
                    || !member.totp_registration_id.is_empty())
                .then(|| MemberOptions {
                    mfa_phone_number: member.mfa_phone_number.clone(),
                    totp_registration_id: member.totp_registration_id.clone(),
                }),
                secondary_auth_initiated,
            }),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberSessionsQuery {
    /// The organization's id, slug or external id.
    organization_id: Option<String>,
    /// The member's id or external id.
    member_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ListMemberSessionsResponse {
    member_sessions: Vec<MemberSessionObject>,
}

/// A member's active sessions.
#[utoipa::path(get, path = "/v1/b2b/sessions", tag = "b2b.sessions",
    operation_id = "b2b.sessions.get", params(MemberSessionsQuery),
    responses((status = 200, description = "The member's active sessions.",
               body = Envelope<ListMemberSessionsResponse>)))]
async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    Query(query): Query<MemberSessionsQuery>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let (organization, member) =
        organization_and_member(&state, project_id, query.organization_id, query.member_id).await?;
    let sessions = state
        .store
        .member_sessions(project_id, &member.member_id, Utc::now())
        .await?;
    let roles = member.all_roles();
    let body = ListMemberSessionsResponse {
        member_sessions: sessions
            .iter()
            .map(|session| session.to_object(&roles, organization.slug.as_str()))
            .collect(),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// One of `session_token` and `session_jwt`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberSessionAuthenticateRequest {
    session_token: Option<String>,
    session_jwt: Option<String>,
    /// Extend the session to last this long from now: 5 to 527040 minutes.
    session_duration_minutes: Option<i64>,
    /// Claims to merge into the session's JWTs; `null` values remove a claim.
    #[schema(value_type = Option<Object>)]
    session_custom_claims: Option<Value>,
    /// Stytch's organization-scoped RBAC check. Refused with a 400: there is no RBAC policy to
    /// check it against, and a check that is not made must not look passed.
    #[schema(value_type = Option<Object>)]
    authorization_check: Option<Value>,
}

/// Check a member session by its token or a JWT of it, optionally extending it or changing its
/// custom claims; answers with a fresh JWT.
#[utoipa::path(post, path = "/v1/b2b/sessions/authenticate", tag = "b2b.sessions",
    operation_id = "b2b.sessions.authenticate", request_body = MemberSessionAuthenticateRequest,
    responses((status = 200, description = "The member session, still active.",
               body = Envelope<MemberSessionResponse>)))]
async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MemberSessionAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    if request
        .authorization_check
        .is_some_and(|check| !check.is_null())
    {
        return Err(SessionError::AuthorizationCheckUnsupported.into());
    }
    let session_request = SessionRequest::parse(
        request.session_token,
        request.session_jwt,
        request.session_duration_minutes,
        request.session_custom_claims,
    )?;
    let now = Utc::now();
    let Presented { session, token } =
        presented::<MemberSession>(&state, project_id, session_request.presented(), now)
            .await?
            .ok_or(SessionError::NoArguments)?;
    let organization = state
        .store
        .get_organization(
            project_id,
            &OrganizationRef::Id(session.organization_id.clone()),
        )
        .await?
        .ok_or(SessionError::NotFound)?;
    let member = find_member(
        &state,
        project_id,
        &organization,
        &MemberRef::Id(session.member_id.clone()),
    )
    .await
    .map_err(|_| SessionError::NotFound)?;
    let member_id = session.member_id.clone();
    let session = match session_request
        .plan(Some(session), member_id.as_str(), None, None, now)
        .map_err(SessionError::from)?
    {
        SessionPlan::Extend(session) => session,
        _ => {
            tracing::error!("a presented member session was not extended");
            return Err(ApiError::internal());
        }
    };
    state
        .store
        .save_member_session(project_id, &session)
        .await?;
    let body = MemberSessionResponse::new(
        &state,
        project_id,
        &member,
        &organization,
        &session,
        &token,
        now,
    )
    .await?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// Exactly one of the four.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberSessionRevokeRequest {
    member_session_id: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
    /// Every session of this member.
    member_id: Option<String>,
}

/// End one member session (by id, token or JWT) or every session of a member.
#[utoipa::path(post, path = "/v1/b2b/sessions/revoke", tag = "b2b.sessions",
    operation_id = "b2b.sessions.revoke", request_body = MemberSessionRevokeRequest,
    responses((status = 200, description = "The sessions have ended.",
               body = Envelope<EmptyResponse>)))]
async fn revoke(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MemberSessionRevokeRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let named = [
        &request.member_session_id,
        &request.session_token,
        &request.session_jwt,
        &request.member_id,
    ]
    .iter()
    .filter(|field| field.as_deref().is_some_and(|text| !text.is_empty()))
    .count();
    if named != 1 {
        return Err(ApiError::bad_request(
            "Include exactly one of member_session_id, session_token, session_jwt or member_id.",
        ));
    }
    if let Some(member_id) = given(request.member_id) {
        let member_id = MemberId::parse(&member_id)?;
        state
            .store
            .revoke_all_member_sessions(project_id, &member_id)
            .await?;
    } else {
        let session_id = match given(request.member_session_id) {
            Some(id) => MemberSessionId::parse(&id).map_err(|_| SessionError::NotFound)?,
            None => {
                let named =
                    SessionRequest::parse(request.session_token, request.session_jwt, None, None)?;
                presented::<MemberSession>(&state, project_id, named.presented(), Utc::now())
                    .await?
                    .ok_or(SessionError::NoArguments)?
                    .session
                    .member_session_id
            }
        };
        state
            .store
            .revoke_member_session(project_id, &session_id)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(Missing::Session) => ApiError::from(SessionError::NotFound),
                other => other.into(),
            })?;
    }
    Ok(reply(&auth.request_id, StatusCode::OK, EmptyResponse {}))
}

/// The project's public signing keys, which sign member session JWTs too. Public: JWT
/// libraries fetch it without credentials.
#[utoipa::path(get, path = "/v1/b2b/sessions/jwks/{project_id}", tag = "b2b.sessions",
    operation_id = "b2b.sessions.get_jwks", security(()),
    params(("project_id" = String, Path, description = "The project's id.")),
    responses((status = 200, description = "The keys that sign the project's session JWTs.",
               body = Envelope<JwksResponse>)))]
async fn jwks(
    State(state): State<AppState>,
    request_id: CurrentRequestId,
    Path(project_id): Path<String>,
) -> Result<Response, ApiError> {
    jwks_reply(&state, &request_id, &project_id, KeyKind::B2b).await
}
