//! Consumer TOTP: create (secret, QR code, recovery codes), authenticate, list recovery codes,
//! recover. Deletion goes through `DELETE /v1/users/totps/{totp_id}`.
//!
//! Secrets are sealed by the vault before they reach the store and opened only to check a code;
//! recovery codes are shown once, at creation, and kept as keyed digests.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use latchkey_core::ids::{ProjectId, TotpId, UserId};
use latchkey_core::principal::PrincipalId;
use latchkey_core::sessions::{AuthenticationFactor, SessionRequest};
use latchkey_core::totps::{self, TotpSecret};
use latchkey_core::users::UserRef;
use latchkey_core::vault::Vault;
use latchkey_store::{
    CodeDigest, Consume, Missing, NewTotp, PasswordWrite, Refusal, StoreError, StoredTotp,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sessions::{AuthenticatedResponse, SessionOptions};
use super::users::{find_user, given};
use crate::authentication::{self, Principal, Proof};
use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::{reply, Envelope, UserObject};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(authenticate))
        .routes(routes!(recovery_codes))
        .routes(routes!(recover))
}

/// `expiration_minutes` of an unverified registration: 5 to 1440, default 1440 (Stytch's).
const DEFAULT_EXPIRATION_MINUTES: i64 = 1440;
const MIN_EXPIRATION_MINUTES: i64 = 5;

/// Where a TOTP secret is sealed: its registration in its project. Sealed values do not open
/// anywhere else.
pub fn seal_context(project_id: &ProjectId, totp_id: &str) -> String {
    format!("totp-secret:{project_id}:{totp_id}")
}

/// Opens a stored secret. Failing to open means the database and the key disagree: an
/// operator's problem, logged, and a 500 to the caller.
pub fn open_secret(
    vault: &Vault,
    project_id: &ProjectId,
    totp: &StoredTotp,
) -> Result<TotpSecret, ApiError> {
    vault
        .open(
            &seal_context(project_id, &totp.totp_id),
            &totp.secret_sealed,
        )
        .map(TotpSecret::from_bytes)
        .map_err(|error| {
            tracing::error!(totp_id = %totp.totp_id, %error, "a TOTP secret did not open");
            ApiError::internal()
        })
}

/// Whether `digest` is among `stored`, comparing each in constant time.
fn holds_code(stored: &[CodeDigest], digest: &CodeDigest) -> bool {
    stored
        .iter()
        .fold(false, |found, code| found | bool::from(code.ct_eq(digest)))
}

/// The stored form of a recovery code of registration `totp_id`.
pub fn code_digest(vault: &Vault, totp_id: &str, code: &str) -> CodeDigest {
    vault.code_digest(totp_id, &totps::normalize_recovery_code(code))
}

/// The secret, and the QR code of its `otpauth://` URI labelled with `issuer` and `account`.
pub fn secret_and_qr_code(
    secret: &TotpSecret,
    issuer: &str,
    account: &str,
) -> Result<(String, String), ApiError> {
    let qr_code = totps::qr_code_data_url(&secret.otpauth_uri(issuer, account)).map_err(|_| {
        tracing::error!("drawing a TOTP QR code failed");
        ApiError::internal()
    })?;
    Ok((secret.to_base32(), qr_code))
}

/// How long an unverified registration may wait for its first code.
pub fn expiration_minutes(minutes: Option<i64>) -> Result<i64, ApiError> {
    let minutes = minutes.unwrap_or(DEFAULT_EXPIRATION_MINUTES);
    if !(MIN_EXPIRATION_MINUTES..=DEFAULT_EXPIRATION_MINUTES).contains(&minutes) {
        return Err(ApiError::new(
            ErrorType::InvalidExpiration,
            "expiration_minutes must be between 5 and 1440.",
        ));
    }
    Ok(minutes)
}

/// A `totp_code` that cannot be a code at all.
pub fn check_code_shape(code: &str) -> Result<(), ApiError> {
    if totps::is_code_shaped(code) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorType::InvalidTotpCode,
        "totp_code must be 6 digits.",
    ))
}

fn required_user(user_id: Option<String>) -> Result<UserRef, ApiError> {
    let user_id = given(user_id).ok_or_else(|| ApiError::bad_request("user_id is required."))?;
    Ok(UserRef::parse(&user_id)?)
}

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
async fn create(
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
    let new = NewTotp {
        secret_sealed: state
            .vault
            .seal(&seal_context(project_id, &totp_id), secret.as_bytes()),
        recovery_codes: codes
            .iter()
            .map(|code| code_digest(&state.vault, &totp_id, code))
            .collect(),
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

/// The registration codes are checked against: the verified one, else the unverified one while
/// it has not expired.
pub fn current_totp(totps: Vec<StoredTotp>, now: DateTime<Utc>) -> Result<StoredTotp, ApiError> {
    let any = !totps.is_empty();
    match totps.into_iter().find(|totp| totp.is_usable(now)) {
        Some(totp) => Ok(totp),
        None if any => Err(ApiError::new(
            ErrorType::ExpiredTotp,
            "The TOTP registration expired before it was verified. Create a new one.",
        )),
        None => Err(StoreError::NotFound(Missing::Totp).into()),
    }
}

/// Checks a TOTP code against `registration`: the factor it adds and the step to use up, or
/// `unable_to_authenticate_totp`. A replayed step passes here; the completion refuses it.
pub fn accept_code(
    vault: &Vault,
    project_id: &ProjectId,
    registration: StoredTotp,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(AuthenticationFactor, Consume), ApiError> {
    let secret = open_secret(vault, project_id, &registration)?;
    let step = secret
        .matching_step(code, now.timestamp())
        .ok_or_else(unable_to_authenticate)?;
    let factor = AuthenticationFactor::totp(registration.totp_id.clone(), now);
    let consume = Consume::TotpStep {
        totp_id: registration.totp_id,
        step,
    };
    Ok((factor, consume))
}

/// Checks a recovery code against `registration`: the factor it adds and the code to use up, or
/// `unable_to_authenticate_recovery_code`. Checked here so that a wrong guess costs no write; the
/// completion removes the code only if it is still there, which settles concurrent uses.
pub fn accept_recovery_code(
    vault: &Vault,
    registration: StoredTotp,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(AuthenticationFactor, Consume), ApiError> {
    let digest = code_digest(vault, &registration.totp_id, code);
    if !holds_code(&registration.recovery_codes, &digest) {
        return Err(StoreError::Refused(Refusal::RecoveryCodeRejected).into());
    }
    let factor = AuthenticationFactor::recovery_code(registration.totp_id.clone(), now);
    let consume = Consume::RecoveryCode {
        totp_id: registration.totp_id,
        digest,
    };
    Ok((factor, consume))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpAuthenticateRequest {
    user_id: Option<String>,
    totp_code: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

pub fn unable_to_authenticate() -> ApiError {
    ApiError::new(
        ErrorType::UnableToAuthenticateTotp,
        "The TOTP code could not be authenticated.",
    )
}

#[derive(Serialize, ToSchema)]
pub struct TotpAuthenticatedResponse {
    #[serde(flatten)]
    authenticated: AuthenticatedResponse,
    /// The registration the code or recovery code belongs to.
    totp_id: String,
}

/// Check a code from the user's authenticator app; each code works once.
#[utoipa::path(post, path = "/v1/totps/authenticate", tag = "totps",
    operation_id = "totps.authenticate", request_body = TotpAuthenticateRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<TotpAuthenticatedResponse>)))]
async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<TotpAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let user_ref = required_user(request.user_id)?;
    let code =
        given(request.totp_code).ok_or_else(|| ApiError::bad_request("totp_code is required."))?;
    check_code_shape(&code)?;
    let session_request = request.session.parse()?;
    let now = Utc::now();
    let user = find_user(&state, project_id, &user_ref).await?;
    let registration = current_totp(
        state.store.user_totps(project_id, &user.user_id).await?,
        now,
    )?;
    // Counted before it is checked, like a password: concurrent guesses cannot pass the lock.
    state
        .store
        .reserve_attempt(
            project_id,
            &PrincipalId::User(user.user_id.clone()),
            &auth.project.settings,
            now,
        )
        .await?;
    let (factor, consume) = accept_code(&state.vault, project_id, registration, &code, now)?;
    use_up(
        &state,
        &auth,
        user.user_id,
        &session_request,
        factor,
        consume,
        now,
    )
    .await
}

/// Completes a TOTP or recovery-code authentication: plans the session, uses up the step or
/// code in the completing transaction, and answers with the session fields and `totp_id`.
async fn use_up(
    state: &AppState,
    auth: &Authenticated,
    user_id: UserId,
    options: &SessionRequest,
    factor: AuthenticationFactor,
    consume: Consume,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let totp_id = match &consume {
        Consume::TotpStep { totp_id, .. } | Consume::RecoveryCode { totp_id, .. } => {
            totp_id.clone()
        }
    };
    let principal = Principal::User {
        user_id,
        password: PasswordWrite::Keep,
        revoke_other_sessions: false,
    };
    let proof = Proof {
        factor: Some(factor),
        consume: Some(consume),
    };
    let body = TotpAuthenticatedResponse {
        authenticated: authentication::complete(state, auth, principal, options, proof, now)
            .await?
            .user()?,
        totp_id,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

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
async fn recovery_codes(
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

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecoverRequest {
    user_id: Option<String>,
    recovery_code: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

/// Log in with one of the user's recovery codes; each works once.
#[utoipa::path(post, path = "/v1/totps/recover", tag = "totps", operation_id = "totps.recover",
    request_body = RecoverRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<TotpAuthenticatedResponse>)))]
async fn recover(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<RecoverRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let user_ref = required_user(request.user_id)?;
    let code = given(request.recovery_code)
        .ok_or_else(|| ApiError::bad_request("recovery_code is required."))?;
    let session_request = request.session.parse()?;
    let now = Utc::now();
    let user = find_user(&state, project_id, &user_ref).await?;
    let registration = state
        .store
        .user_totps(project_id, &user.user_id)
        .await?
        .into_iter()
        .find(|totp| totp.verified)
        .ok_or(StoreError::NotFound(Missing::Totp))?;
    state
        .store
        .reserve_attempt(
            project_id,
            &PrincipalId::User(user.user_id.clone()),
            &auth.project.settings,
            now,
        )
        .await?;
    let (factor, consume) = accept_recovery_code(&state.vault, registration, &code, now)?;
    use_up(
        &state,
        &auth,
        user.user_id,
        &session_request,
        factor,
        consume,
        now,
    )
    .await
}
