//! `POST /v1/totps`: a new TOTP secret, QR code and recovery codes for a user.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpCreateRequest {
    user_id: Option<String>,
    /// How long the registration waits for its first code: 5 to 1440 minutes (1440).
    expiration_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TotpCreateResponse {
    totp_id: String,
    /// The base32 secret, shown only now.
    secret: String,
    /// `data:image/png;base64,…` of the `otpauth://` URI.
    qr_code: String,
    /// Shown only now; kept as digests.
    recovery_codes: Vec<String>,
    user_id: String,
    user: UserObject,
}

/// Register an authenticator app for a user: its secret, QR code and recovery codes.
#[utoipa::path(post, path = "/v1/totps", tag = "totps", operation_id = "totps.create",
    request_body = TotpCreateRequest,
    responses((status = 200, description = "The new, unverified registration.",
               body = Envelope<TotpCreateResponse>)))]
pub(super) async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<TotpCreateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let user_ref = required_user(request.user_id)?;
    let minutes = expiration_minutes(request.expiration_minutes)?;
    let now = Utc::now();
    let user = find_user(&state, project_id, &user_ref).await?;
    let totp_id = TotpId::generate(project_id.environment()).into_string();
    let secret = TotpSecret::generate();
    let codes = totps::generate_recovery_codes();
    let account = user
        .emails
        .first()
        .map(|email| email.email.clone())
        .or_else(|| user.phone_numbers.first().map(|p| p.phone_number.clone()))
        .unwrap_or_else(|| user.user_id.to_string());
    let (secret_text, qr_code) = secret_and_qr_code(&secret, &auth.project.name, &account)?;
    let (recovery_codes, recovery_codes_sealed) =
        stored_codes(&state.vault, project_id, &totp_id, &codes);
    let new = NewTotp {
        secret_sealed: state
            .vault
            .seal(&seal_context(project_id, &totp_id), secret.as_bytes()),
        recovery_codes,
        recovery_codes_sealed,
        totp_id: totp_id.clone(),
        verified: false,
        expires_at: Some(now + Duration::minutes(minutes)),
    };
    let user = state
        .store
        .create_totp(project_id, &user.user_id, new, now)
        .await?;
    let body = TotpCreateResponse {
        totp_id,
        secret: secret_text,
        qr_code,
        recovery_codes: codes,
        user_id: user.user_id.as_str().to_owned(),
        user: UserObject::new(&user, now),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
