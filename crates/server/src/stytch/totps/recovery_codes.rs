//! `POST /v1/totps/recovery_codes`: the user's TOTP registrations and their recovery codes.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecoveryCodesRequest {
    user_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesResponse {
    user_id: String,
    totps: Vec<TotpRecoveryCodes>,
}

#[derive(Serialize, ToSchema)]
pub struct TotpRecoveryCodes {
    totp_id: String,
    verified: bool,
    /// Always empty: codes are kept only as digests.
    recovery_codes: Vec<String>,
    /// Latchkey extension: how many codes are left unused.
    remaining_recovery_codes: usize,
}

/// Lists the user's registrations. Recovery codes are stored only as digests, so they cannot
/// be shown again: `recovery_codes` is empty and `remaining_recovery_codes` (a Latchkey
/// extension) tells how many are left unused.
#[utoipa::path(post, path = "/v1/totps/recovery_codes", tag = "totps",
    operation_id = "totps.recovery_codes", request_body = RecoveryCodesRequest,
    responses((status = 200, description = "The user's registrations.",
               body = Envelope<RecoveryCodesResponse>)))]
pub(super) async fn recovery_codes(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<RecoveryCodesRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let user_ref = required_user(request.user_id)?;
    let user = find_user(&state, project_id, &user_ref).await?;
    let totps = state.store.user_totps(project_id, &user.user_id).await?;
    let body = RecoveryCodesResponse {
        user_id: user.user_id.as_str().to_owned(),
        totps: totps
            .iter()
            .map(|totp| TotpRecoveryCodes {
                totp_id: totp.totp_id.clone(),
                verified: totp.verified,
                recovery_codes: Vec::new(),
                remaining_recovery_codes: totp.recovery_codes.len(),
            })
            .collect(),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
