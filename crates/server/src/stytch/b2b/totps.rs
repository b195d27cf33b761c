//! `/v1/b2b/totp`: create, authenticate and migrate a member's TOTP registration.
//!
//! The same rules as consumer TOTP (`stytch/totps.rs`): secrets sealed by the vault, recovery
//! codes kept as keyed digests, each step accepted once (settled in the completing transaction),
//! wrong codes counted toward the member's lock. A successful code starts or extends a member
//! session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use latchkey_core::b2b::Organization;
use latchkey_core::ids::MemberTotpId;
use latchkey_core::member::Member;
use latchkey_core::session::AuthenticationFactor;
use latchkey_core::totp::{self, TotpSecret};
use latchkey_store::{Consume, MemberCompletion, NewTotp};
use serde::Deserialize;
use serde_json::{json, Map};

use super::members::{member_body, organization_and_member};
use super::sessions::{
    member_session_body, plan_member_session, presented_member_session, MemberSessionOptions,
};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::reply;
use crate::stytch::sessions::session_not_found;
use crate::stytch::totps::{
    accept_code, check_code_shape, code_digest, current_totp, expiration_minutes, seal_context,
    secret_and_qr_code,
};
use crate::stytch::users::given;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/b2b/totp", post(create))
        .route("/v1/b2b/totp/authenticate", post(authenticate))
        .route("/v1/b2b/totp/migrate", post(migrate))
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
    NewTotp {
        secret_sealed: state
            .vault
            .seal(&seal_context(project_id, &totp_id), secret.as_bytes()),
        recovery_codes: codes
            .iter()
            .map(|code| code_digest(&state.vault, &totp_id, code))
            .collect(),
        totp_id,
        verified,
        expires_at,
    }
}

/// Completes a member's TOTP or recovery-code authentication: plans the session, then in one
/// transaction clears the lock, uses up the step or code, applies the MFA preferences and writes
/// the session. Answers with the member, organization and session fields, plus `extra`.
#[allow(clippy::too_many_arguments)]
pub async fn use_up(
    state: &AppState,
    auth: &Authenticated,
    organization: &Organization,
    member: &Member,
    options: MemberSessionOptions,
    factor: AuthenticationFactor,
    completion: (Consume, Option<bool>, Option<String>),
    extra: Map<String, serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let (consume, set_mfa_enrolled, set_default_mfa_method) = completion;
    let (session, token) =
        plan_member_session(state, project_id, member, options, factor, now).await?;
    let (member, session) = state
        .store
        .complete_member(
            project_id,
            MemberCompletion {
                member_id: member.member_id.clone(),
                consume: Some(consume),
                set_mfa_enrolled,
                set_default_mfa_method,
                session,
            },
            now,
        )
        .await?;
    let mut body = member_session_body(
        state,
        project_id,
        &member,
        organization,
        &session,
        &token,
        now,
    )
    .await?;
    body.extend(extra);
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
pub struct CreateRequest {
    organization_id: Option<String>,
    member_id: Option<String>,
    expiration_minutes: Option<i64>,
    #[serde(flatten)]
    session: MemberSessionOptions,
}

async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<CreateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let minutes = expiration_minutes(request.expiration_minutes)?;
    request.session.check()?;
    let now = Utc::now();
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    // A session given with the request must be the member's own.
    if let Some(presented) = presented_member_session(
        &state,
        project_id,
        request.session.session_token,
        request.session.session_jwt,
        now,
    )
    .await?
    {
        if presented.session.member_id != member.member_id {
            return Err(session_not_found());
        }
    }
    let secret = TotpSecret::generate();
    let codes = totp::generate_recovery_codes();
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
    let mut body = member_body(&member, &organization, now);
    body.insert("totp_registration_id".into(), json!(totp_id));
    body.insert("secret".into(), json!(secret_text));
    body.insert("qr_code".into(), json!(qr_code));
    body.insert("recovery_codes".into(), json!(codes));
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
pub struct AuthenticateRequest {
    organization_id: Option<String>,
    member_id: Option<String>,
    code: Option<String>,
    set_mfa_enrollment: Option<String>,
    set_default_mfa: Option<bool>,
    #[serde(flatten)]
    session: MemberSessionOptions,
}

async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<AuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let code = given(request.code).ok_or_else(|| ApiError::bad_request("code is required."))?;
    check_code_shape(&code)?;
    let set_mfa_enrolled = match request.set_mfa_enrollment.as_deref() {
        None | Some("") => None,
        Some("enroll") => Some(true),
        Some("unenroll") => Some(false),
        Some(_) => {
            return Err(ApiError::bad_request(
                "set_mfa_enrollment must be enroll or unenroll.",
            ))
        }
    };
    let set_default = request
        .set_default_mfa
        .unwrap_or(false)
        .then(|| "totp".to_owned());
    request.session.check()?;
    let now = Utc::now();
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    let registration = current_totp(
        state
            .store
            .member_totps(project_id, &member.member_id)
            .await?,
        now,
    )?;
    // Counted before it is checked: concurrent guesses cannot pass the lock.
    state
        .store
        .reserve_member_attempt(project_id, &member.member_id, &auth.project.settings, now)
        .await?;
    let (factor, consume) = accept_code(&state.vault, project_id, registration, &code, now)?;
    use_up(
        &state,
        &auth,
        &organization,
        &member,
        request.session,
        factor,
        (consume, set_mfa_enrolled, set_default),
        Map::new(),
        now,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct MigrateRequest {
    organization_id: Option<String>,
    member_id: Option<String>,
    secret: Option<String>,
    recovery_codes: Option<Vec<String>>,
}

/// Brings a member's existing authenticator secret, and its recovery codes (10 are minted when
/// none are given). The registration is verified at once: the member already uses it.
async fn migrate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MigrateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let secret =
        given(request.secret).ok_or_else(|| ApiError::bad_request("secret is required."))?;
    let secret = TotpSecret::from_base32(&secret)?;
    let codes = match request.recovery_codes {
        Some(codes) if !codes.is_empty() => totp::parse_recovery_codes(&codes)?,
        _ => totp::generate_recovery_codes(),
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
    let mut body = member_body(&member, &organization, now);
    body.insert(
        "organization_id".into(),
        json!(organization.organization_id),
    );
    body.insert("totp_registration_id".into(), json!(totp_id));
    body.insert("recovery_codes".into(), json!(codes));
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
