//! `/v1/b2b/totp`: create, authenticate and migrate a member's TOTP registration.
//!
//! The same rules as consumer TOTP (`stytch/totps.rs`): secrets sealed by the vault, recovery
//! codes kept as keyed digests, each step accepted once (settled in the completing transaction),
//! wrong codes counted toward the member's lock. A successful code starts or extends a member
//! session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use latchkey_core::ids::MemberTotpId;
use latchkey_core::lock::Factor;
use latchkey_core::members::Member;
use latchkey_core::organizations::Organization;
use latchkey_core::principal::PrincipalId;
use latchkey_core::sessions::SessionRequest;
use latchkey_core::totps::{self, TotpSecret};
use latchkey_store::NewTotp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::{organization_and_member, MemberResponse};
use super::otps::require_mfa_method;
use super::sessions::{
    given_intermediate, intermediate_for, second_factor_alone, IstToken, MemberSessionOptions,
    MemberSessionResponse,
};
use crate::authentication::{self, Principal, Proof};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::sessions::presented;
use crate::stytch::sessions::SessionError;
use crate::stytch::totps::{
    accept_code, check_code_shape, current_totp, expiration_minutes, seal_context,
    secret_and_qr_code, stored_codes, TotpError,
};
use crate::stytch::users::given;
use crate::stytch::{reply, Envelope};
use crate::AppState;
use latchkey_core::sessions::intermediate::IntermediateSession;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(authenticate))
        .routes(routes!(migrate))
}

/// A registration for `member` about to be written: its id, its sealed secret and the digests
/// of `codes`.
pub fn new_registration(
    state: &AppState,
    auth: &Authenticated,
    secret: &TotpSecret,
    codes: &[String],
    verified: bool,
    expires_at: Option<DateTime<Utc>>,
) -> NewTotp {
    let project_id = &auth.project.project_id;
    let totp_id = MemberTotpId::generate(project_id.environment()).into_string();
    let (recovery_codes, recovery_codes_sealed) =
        stored_codes(&state.vault, project_id, &totp_id, codes);
    NewTotp {
        secret_sealed: state
            .vault
            .seal(&seal_context(project_id, &totp_id), secret.as_bytes()),
        recovery_codes,
        recovery_codes_sealed,
        totp_id,
        verified,
        expires_at,
    }
}

/// `set_mfa_enrollment`: `enroll`, `unenroll`, or nothing.
pub(crate) fn enrollment(value: Option<&str>) -> Result<Option<bool>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some("enroll") => Ok(Some(true)),
        Some("unenroll") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad_request(
            "set_mfa_enrollment must be enroll or unenroll.",
        )),
    }
}

/// Completes a member's TOTP or recovery-code authentication through the kernel: the lock
/// cleared, the step or code used up, the MFA preferences applied and the session written, in
/// one transaction. Answers with the member, organization and session fields.
#[allow(clippy::too_many_arguments)]
pub async fn use_up(
    state: &AppState,
    auth: &Authenticated,
    (organization, member): (&Organization, &Member),
    (options, intermediate): (&SessionRequest, Option<(IstToken, IntermediateSession)>),
    proof: Proof,
    mfa: (Option<bool>, Option<String>),
    now: DateTime<Utc>,
) -> Result<MemberSessionResponse, ApiError> {
    let (set_mfa_enrolled, set_default_mfa_method) = mfa;
    let principal = Principal::Member {
        organization,
        member,
        set_mfa_enrolled,
        set_default_mfa_method,
        intermediate,
        create: None,
    };
    authentication::complete(state, auth, principal, options, proof, now)
        .await?
        .member()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberTotpCreateRequest {
    /// The organization's id, slug or external id.
    organization_id: Option<String>,
    /// The member's id or external id.
    member_id: Option<String>,
    /// How long the unverified registration waits for its first code: 5 to 1440 (the default).
    expiration_minutes: Option<i64>,
    #[serde(flatten)]
    session: MemberSessionOptions,
}

#[derive(Serialize, ToSchema)]
pub struct MemberTotpCreateResponse {
    #[serde(flatten)]
    member: MemberResponse,
    totp_registration_id: String,
    /// Base32, for the authenticator app.
    secret: String,
    /// A PNG data URL of the `otpauth://` URI.
    qr_code: String,
    /// Shown this once; only their digests are kept.
    recovery_codes: Vec<String>,
}

/// Start a TOTP registration for a member: unverified until its first code.
#[utoipa::path(post, path = "/v1/b2b/totp", tag = "b2b.totps", operation_id = "b2b.totps.create",
    request_body = MemberTotpCreateRequest,
    responses((status = 200, description = "The registration, its secret and recovery codes.",
               body = Envelope<MemberTotpCreateResponse>)))]
async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MemberTotpCreateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let minutes = expiration_minutes(request.expiration_minutes)?;
    let (session_request, intermediate) = request.session.parse()?;
    let now = Utc::now();
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    require_mfa_method(&organization, "totp")?;
    // An intermediate session given with the request (enrollment during MFA) must fit the
    // member; a session must be the member's own.
    if let Some(digest) = &intermediate {
        intermediate_for(
            &state,
            project_id,
            &digest.digest,
            (&organization, &member),
            now,
        )
        .await?;
    }
    if let Some(presented) = presented::<latchkey_core::sessions::MemberSession>(
        &state,
        project_id,
        session_request.presented(),
        now,
    )
    .await?
    {
        if presented.session.member_id != member.member_id {
            return Err(SessionError::NotFound.into());
        }
    }
    let secret = TotpSecret::generate();
    let codes = totps::generate_recovery_codes();
    let (secret_text, qr_code) = secret_and_qr_code(&secret, &organization.name, &member.email)?;
    let new = new_registration(
        &state,
        &auth,
        &secret,
        &codes,
        false,
        Some(now + Duration::minutes(minutes)),
    );
    let totp_id = new.totp_id.clone();
    let member = state
        .store
        .create_member_totp(project_id, &member.member_id, new, now)
        .await?;
    let body = MemberTotpCreateResponse {
        member: MemberResponse::new(&member, &organization, now),
        totp_registration_id: totp_id,
        secret: secret_text,
        qr_code,
        recovery_codes: codes,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberTotpAuthenticateRequest {
    /// The organization's id, slug or external id.
    organization_id: Option<String>,
    /// The member's id or external id.
    member_id: Option<String>,
    /// Six digits from the authenticator app.
    code: Option<String>,
    /// `enroll` or `unenroll` the member in MFA.
    set_mfa_enrollment: Option<String>,
    /// Make TOTP the member's default MFA method.
    set_default_mfa: Option<bool>,
    #[serde(flatten)]
    session: MemberSessionOptions,
}

/// Check a member's TOTP code; a success starts a member session or extends the one given.
#[utoipa::path(post, path = "/v1/b2b/totp/authenticate", tag = "b2b.totps",
    operation_id = "b2b.totps.authenticate", request_body = MemberTotpAuthenticateRequest,
    responses((status = 200, description = "The member and its session.",
               body = Envelope<MemberSessionResponse>)))]
async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MemberTotpAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let code = given(request.code).ok_or_else(|| ApiError::bad_request("code is required."))?;
    check_code_shape(&code)?;
    let set_mfa_enrolled = enrollment(request.set_mfa_enrollment.as_deref())?;
    let set_default = request
        .set_default_mfa
        .unwrap_or(false)
        .then(|| "totp".to_owned());
    let (session_request, intermediate) = request.session.parse()?;
    let now = Utc::now();
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    require_mfa_method(&organization, "totp")?;
    second_factor_alone(&organization, intermediate.is_some(), &session_request)?;
    let intermediate = given_intermediate(
        &state,
        project_id,
        intermediate,
        (&organization, &member),
        now,
    )
    .await?;
    let registration = current_totp(
        state
            .store
            .member_totps(project_id, &member.member_id)
            .await?,
        now,
    )?;
    // Reserved before it is checked: concurrent guesses cannot pass the lock.
    let proof = authentication::prove_code(
        &state,
        &auth.project,
        PrincipalId::Member(member.member_id.clone()),
        Factor::Totp,
        now,
        || accept_code(&state.vault, project_id, registration, &code, now),
        TotpError::Unauthenticated,
    )
    .await?;
    let body = use_up(
        &state,
        &auth,
        (&organization, &member),
        (&session_request, intermediate),
        proof,
        (set_mfa_enrolled, set_default),
        now,
    )
    .await?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberTotpMigrateRequest {
    /// The organization's id, slug or external id.
    organization_id: Option<String>,
    /// The member's id or external id.
    member_id: Option<String>,
    /// The existing secret, base32.
    secret: Option<String>,
    /// The existing recovery codes; 10 are minted when none are given.
    recovery_codes: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberTotpMigrateResponse {
    #[serde(flatten)]
    member: MemberResponse,
    organization_id: String,
    totp_registration_id: String,
    recovery_codes: Vec<String>,
}

/// Bring a member's existing authenticator secret, and its recovery codes (10 are minted when
/// none are given). The registration is verified at once: the member already uses it.
#[utoipa::path(post, path = "/v1/b2b/totp/migrate", tag = "b2b.totps",
    operation_id = "b2b.totps.migrate", request_body = MemberTotpMigrateRequest,
    responses((status = 200, description = "The verified registration and its recovery codes.",
               body = Envelope<MemberTotpMigrateResponse>)))]
async fn migrate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MemberTotpMigrateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let secret =
        given(request.secret).ok_or_else(|| ApiError::bad_request("secret is required."))?;
    let secret = TotpSecret::from_base32(&secret)?;
    let codes = match request.recovery_codes {
        Some(codes) if !codes.is_empty() => totps::parse_recovery_codes(&codes)?,
        _ => totps::generate_recovery_codes(),
    };
    let now = Utc::now();
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    let new = new_registration(&state, &auth, &secret, &codes, true, None);
    let totp_id = new.totp_id.clone();
    let member = state
        .store
        .create_member_totp(project_id, &member.member_id, new, now)
        .await?;
    let body = MemberTotpMigrateResponse {
        member: MemberResponse::new(&member, &organization, now),
        organization_id: organization.organization_id.as_str().to_owned(),
        totp_registration_id: totp_id,
        recovery_codes: codes,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
