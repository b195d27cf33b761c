//! `/v1/b2b/recovery_codes`: recover (a member authenticates with a recovery code), get, and
//! rotate. Codes are shown when minted and kept only as keyed digests afterwards.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use latchkey_core::ids::ProjectId;
use latchkey_core::member::Member;
use latchkey_core::totp;
use latchkey_store::{Missing, StoreError, StoredTotp};
use serde::Deserialize;
use serde_json::{json, Map};

use super::members::{member_body, organization_and_member};
use super::sessions::MemberSessionOptions;
use super::totps::use_up;
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, Segments};
use crate::stytch::reply;
use crate::stytch::totps::{accept_recovery_code, code_digest};
use crate::stytch::users::given;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/b2b/recovery_codes/recover", post(recover))
        .route("/v1/b2b/recovery_codes/rotate", post(rotate))
        .route(
            "/v1/b2b/recovery_codes/{organization_id}/{member_id}",
            get(list),
        )
}

/// The member's verified registration, which its recovery codes belong to.
async fn verified_totp(
    state: &AppState,
    project_id: &ProjectId,
    member: &Member,
) -> Result<StoredTotp, ApiError> {
    Ok(state
        .store
        .member_totps(project_id, &member.member_id)
        .await?
        .into_iter()
        .find(|totp| totp.verified)
        .ok_or(StoreError::NotFound(Missing::Totp))?)
}

#[derive(Debug, Deserialize)]
pub struct RecoverRequest {
    organization_id: Option<String>,
    member_id: Option<String>,
    recovery_code: Option<String>,
    #[serde(flatten)]
    session: MemberSessionOptions,
}

async fn recover(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<RecoverRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let code = given(request.recovery_code)
        .ok_or_else(|| ApiError::bad_request("recovery_code is required."))?;
    request.session.check()?;
    let now = Utc::now();
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    let registration = verified_totp(&state, project_id, &member).await?;
    state
        .store
        .reserve_member_attempt(project_id, &member.member_id, &auth.project.settings, now)
        .await?;
    let remaining = registration.recovery_codes.len().saturating_sub(1);
    let (factor, consume) = accept_recovery_code(&state.vault, registration, &code, now)?;
    let mut extra = Map::new();
    extra.insert("recovery_codes_remaining".into(), json!(remaining));
    use_up(
        &state,
        &auth,
        &organization,
        &member,
        request.session,
        factor,
        (consume, None, None),
        extra,
        now,
    )
    .await
}

/// Recovery codes are stored only as digests, so they cannot be shown again: `recovery_codes`
/// is empty and `remaining_recovery_codes` (a Latchkey extension) tells how many are unused.
async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    Segments(organization_id, member_id): Segments,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let (organization, member) =
        organization_and_member(&state, project_id, Some(organization_id), Some(member_id)).await?;
    let registration = verified_totp(&state, project_id, &member).await?;
    let mut body = member_body(&member, &organization, Utc::now());
    body.insert("recovery_codes".into(), json!(Vec::<String>::new()));
    body.insert(
        "remaining_recovery_codes".into(),
        json!(registration.recovery_codes.len()),
    );
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
pub struct RotateRequest {
    organization_id: Option<String>,
    member_id: Option<String>,
}

/// Replaces the member's recovery codes with 10 new ones, shown this once.
async fn rotate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<RotateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    let registration = verified_totp(&state, project_id, &member).await?;
    let codes = totp::generate_recovery_codes();
    let digests = codes
        .iter()
        .map(|code| code_digest(&state.vault, &registration.totp_id, code))
        .collect();
    state
        .store
        .rotate_member_recovery_codes(
            project_id,
            &member.member_id,
            &registration.totp_id,
            digests,
        )
        .await?;
    let mut body = member_body(&member, &organization, Utc::now());
    body.insert("recovery_codes".into(), json!(codes));
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
