//! `/v1/b2b/recovery_codes`: recover (a member authenticates with a recovery code), get, and
//! rotate. Codes are shown when minted and kept only as keyed digests afterwards.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use latchkey_core::ids::ProjectId;
use latchkey_core::lock::Factor;
use latchkey_core::members::Member;
use latchkey_core::totps;
use latchkey_store::{Missing, StoreError, StoredTotp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::members::{organization_and_member, MemberResponse};
use super::sessions::{given_intermediate, MemberSessionOptions, MemberSessionResponse};
use super::totps::use_up;
use crate::authentication;
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, Segments};
use crate::stytch::totps::{accept_recovery_code, stored_codes, unused_codes, TotpError};
use crate::stytch::users::given;
use crate::stytch::{reply, Envelope};
use crate::AppState;
use latchkey_core::principal::PrincipalId;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(recover))
        .routes(routes!(rotate))
        .routes(routes!(list))
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

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberRecoverRequest {
    /// The organization's id, slug or external id.
    organization_id: Option<String>,
    /// The member's id or external id.
    member_id: Option<String>,
    /// One of the member's unused recovery codes (case does not matter).
    recovery_code: Option<String>,
    #[serde(flatten)]
    session: MemberSessionOptions,
}

#[derive(Serialize, ToSchema)]
pub struct MemberRecoverResponse {
    #[serde(flatten)]
    session: MemberSessionResponse,
    recovery_codes_remaining: usize,
}

/// Authenticate a member by one of its recovery codes, used up by this; starts a member session
/// or extends the one given.
#[utoipa::path(post, path = "/v1/b2b/recovery_codes/recover", tag = "b2b.recovery_codes",
    operation_id = "b2b.recovery_codes.recover", request_body = MemberRecoverRequest,
    responses((status = 200, description = "The member, its session and the codes left.",
               body = Envelope<MemberRecoverResponse>)))]
async fn recover(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MemberRecoverRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let code = given(request.recovery_code)
        .ok_or_else(|| ApiError::bad_request("recovery_code is required."))?;
    let (session_request, intermediate) = request.session.parse()?;
    let now = Utc::now();
    let (organization, member) = organization_and_member(
        &state,
        project_id,
        request.organization_id,
        request.member_id,
    )
    .await?;
    super::otps::require_mfa_method(&organization, "totp")?;
    super::sessions::second_factor_alone(&organization, intermediate.is_some(), &session_request)?;
    let intermediate = given_intermediate(
        &state,
        project_id,
        intermediate,
        (&organization, &member),
        now,
    )
    .await?;
    let registration = verified_totp(&state, project_id, &member).await?;
    let remaining = registration.recovery_codes.len().saturating_sub(1);
    let proof = authentication::prove_code(
        &state,
        &auth.project,
        PrincipalId::Member(member.member_id.clone()),
        Factor::RecoveryCode,
        now,
        || Ok(accept_recovery_code(&state.vault, registration, &code, now)),
        TotpError::RecoveryCodeRejected,
    )
    .await?;
    let session = use_up(
        &state,
        &auth,
        (&organization, &member),
        (&session_request, intermediate),
        proof,
        (None, None),
        now,
    )
    .await?;
    let body = MemberRecoverResponse {
        session,
        recovery_codes_remaining: remaining,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Serialize, ToSchema)]
pub struct MemberRecoveryCodesResponse {
    #[serde(flatten)]
    member: MemberResponse,
    /// The unused codes from `get`; the new codes from `rotate`.
    recovery_codes: Vec<String>,
    /// Latchkey extension, from `get`: how many codes are unused.
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining_recovery_codes: Option<usize>,
}

/// A member's unused recovery codes, opened from their sealed copy (retrievable only with the
/// project's secret); `remaining_recovery_codes` (a Latchkey extension) tells how many there
/// are.
#[utoipa::path(get, path = "/v1/b2b/recovery_codes/{organization_id}/{member_id}",
    tag = "b2b.recovery_codes", operation_id = "b2b.recovery_codes.get",
    params(("organization_id" = String, Path, description = "The organization's id, slug or external id."),
           ("member_id" = String, Path, description = "The member's id or external id.")),
    responses((status = 200, description = "How many recovery codes are left.",
               body = Envelope<MemberRecoveryCodesResponse>)))]
async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
    Segments(organization_id, member_id): Segments,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let (organization, member) =
        organization_and_member(&state, project_id, Some(organization_id), Some(member_id)).await?;
    let registration = verified_totp(&state, project_id, &member).await?;
    let body = MemberRecoveryCodesResponse {
        member: MemberResponse::new(&member, &organization, Utc::now()),
        recovery_codes: unused_codes(&state.vault, project_id, &registration)?,
        remaining_recovery_codes: Some(registration.recovery_codes.len()),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberRotateRequest {
    /// The organization's id, slug or external id.
    organization_id: Option<String>,
    /// The member's id or external id.
    member_id: Option<String>,
}

/// Replace a member's recovery codes with 10 new ones, shown this once.
#[utoipa::path(post, path = "/v1/b2b/recovery_codes/rotate", tag = "b2b.recovery_codes",
    operation_id = "b2b.recovery_codes.rotate", request_body = MemberRotateRequest,
    responses((status = 200, description = "The new recovery codes.",
               body = Envelope<MemberRecoveryCodesResponse>)))]
async fn rotate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MemberRotateRequest>,
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
    let codes = totps::generate_recovery_codes();
    let (digests, sealed) = stored_codes(&state.vault, project_id, &registration.totp_id, &codes);
    state
        .store
        .rotate_member_recovery_codes(
            project_id,
            &member.member_id,
            &registration.totp_id,
            digests,
            sealed,
        )
        .await?;
    let body = MemberRecoveryCodesResponse {
        member: MemberResponse::new(&member, &organization, Utc::now()),
        recovery_codes: codes,
        remaining_recovery_codes: None,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
