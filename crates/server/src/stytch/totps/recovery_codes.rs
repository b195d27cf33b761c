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
    /// The codes not yet used.
    recovery_codes: Vec<String>,
    /// Latchkey extension: how many codes are left unused.
    remaining_recovery_codes: usize,
}

/// Lists the user's registrations with their unused recovery codes, opened from their sealed
/// copy (retrievable only with the project's secret); `remaining_recovery_codes` (a Latchkey
/// extension) tells how many there are.
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
            .map(|totp| {
                Ok(TotpRecoveryCodes {
                    totp_id: totp.totp_id.clone(),
                    verified: totp.verified,
                    recovery_codes: unused_codes(&state.vault, project_id, totp)?,
                    remaining_recovery_codes: totp.recovery_codes.len(),
                })
            })
            .collect::<Result<_, ApiError>>()?,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
