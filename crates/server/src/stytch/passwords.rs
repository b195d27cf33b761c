//! Passwords: migrate, authenticate (upgrading legacy hashes to argon2id), create, strength
//! check, and reset by existing password or by session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use latchkey_core::passwords::migrate::{self, MigrateHash};
use latchkey_core::passwords::strength::{self, Strength, MAX_PASSWORD_BYTES};
use latchkey_core::passwords::{hash_password, StoredHash};
use latchkey_core::principal::PrincipalId;
use latchkey_core::sessions::{AuthenticationFactor, SessionRequest};
use latchkey_core::users::NewUser;
use latchkey_core::values::{parse_roles, Email, ExternalId, PhoneNumber};
use latchkey_store::{
    Completion, MigratePassword, Missing, PasswordWrite, ProjectRecord, Revocation, StoreError,
    UserCompletion,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sessions::{
    authenticated_body, new_session, required_session, AuthenticatedResponse, SessionOptions,
};
use super::users::{given, new_metadata, new_name, NameRequest};
use crate::authentication::{self, Principal, Proof};
use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::{reply, Envelope, UserObject};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(authenticate))
        .routes(routes!(migrate_password))
        .routes(routes!(strength_check))
        .routes(routes!(reset_by_existing_password))
        .routes(routes!(reset_by_session))
}

fn unauthorized() -> ApiError {
    ApiError::new(
        ErrorType::UnauthorizedCredentials,
        "Unauthorized credentials.",
    )
}

fn required_password(field: &str, password: Option<String>) -> Result<String, ApiError> {
    match password {
        Some(password) if !password.is_empty() && password.len() <= MAX_PASSWORD_BYTES => {
            Ok(password)
        }
        Some(password) if password.len() > MAX_PASSWORD_BYTES => Err(ApiError::bad_request(
            format!("{field} must be at most {MAX_PASSWORD_BYTES} bytes."),
        )),
        _ => Err(ApiError::bad_request(format!("{field} is required."))),
    }
}

fn required_email(email: Option<String>) -> Result<Email, ApiError> {
    let email = given(email).ok_or_else(|| ApiError::bad_request("email is required."))?;
    Ok(Email::parse(&email)?)
}

/// Rates a new password under the project's policy, refusing it with `weak_password`.
fn require_strong(
    project: &ProjectRecord,
    password: &str,
    email: Option<&str>,
) -> Result<(), ApiError> {
    let inputs: Vec<&str> = email.into_iter().collect();
    let rated = strength::check(password, &inputs, project.settings.strength_policy);
    if rated.valid_password {
        return Ok(());
    }
    let mut message = "The password is too weak.".to_owned();
    if !rated.warning.is_empty() {
        message = format!("{message} {}", rated.warning);
    }
    Err(ApiError::new(ErrorType::WeakPassword, message))
}

async fn new_hash(state: &AppState, password: String) -> Result<StoredHash, ApiError> {
    let settings = state.argon2;
    state
        .hashing
        .run(move || hash_password(&password, &settings))
        .await?
        .map_err(|error| {
            tracing::error!(%error, "hashing a new password failed");
            ApiError::internal()
        })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MigrateRequest {
    email: Option<String>,
    #[serde(flatten)]
    hash: MigrateHash,
    #[schema(value_type = Option<Object>)]
    trusted_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    untrusted_metadata: Option<Value>,
    set_email_verified: Option<bool>,
    name: Option<NameRequest>,
    phone_number: Option<String>,
    set_phone_number_verified: Option<bool>,
    external_id: Option<String>,
    roles: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct MigrateResponse {
    user_id: String,
    email_id: String,
    /// Whether the user was created, rather than found by its email.
    user_created: bool,
    user: UserObject,
}

/// Bring a user's password hash from another system: bcrypt, md_5, argon_2i, argon_2id, sha_1,
/// sha_512, scrypt, phpass, pbkdf_2 (and Latchkey's extensions, see docs/compatibility.md). The
/// user is created, or the password attached to the user of that email.
#[utoipa::path(post, path = "/v1/passwords/migrate", tag = "passwords",
    operation_id = "passwords.migrate", request_body = MigrateRequest,
    responses((status = 200, description = "The user, with the password attached.",
               body = Envelope<MigrateResponse>)))]
async fn migrate_password(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MigrateRequest>,
) -> Result<Response, ApiError> {
    let email = required_email(request.email)?;
    let hash = migrate::parse(&request.hash)?;
    let new_user = NewUser {
        email: Some(email.clone()),
        email_verified: request.set_email_verified.unwrap_or(false),
        phone_number: given(request.phone_number)
            .map(|phone| PhoneNumber::parse(&phone))
            .transpose()?,
        phone_verified: request.set_phone_number_verified.unwrap_or(false),
        name: new_name(request.name)?,
        pending: false,
        trusted_metadata: new_metadata("trusted_metadata", request.trusted_metadata)?,
        untrusted_metadata: new_metadata("untrusted_metadata", request.untrusted_metadata)?,
        external_id: given(request.external_id)
            .map(|id| ExternalId::parse(&id))
            .transpose()?,
        roles: parse_roles(request.roles.unwrap_or_default())?,
    };
    let (user, email_id, user_created) = state
        .migrations
        .migrate(
            auth.project.project_id.clone(),
            MigratePassword {
                email,
                hash,
                new_user,
            },
        )
        .await?;
    let now = Utc::now();
    let body = MigrateResponse {
        user_id: user.user_id.as_str().to_owned(),
        email_id: email_id.as_str().to_owned(),
        user_created,
        user: UserObject::new(&user, now),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// A verified email-and-password pair: whose it is, the factor it counts as, and the hash
/// upgrade it calls for.
struct Verified {
    user_id: latchkey_core::ids::UserId,
    factor: AuthenticationFactor,
    upgrade: PasswordWrite,
}

/// Checks `password` for the user of `email`, counting the attempt toward the user's lock.
/// Legacy (or differently tuned) hashes come back with their argon2id replacement.
async fn verify_login(
    state: &AppState,
    project: &ProjectRecord,
    email: &Email,
    password: String,
    now: DateTime<Utc>,
) -> Result<Verified, ApiError> {
    let project_id = &project.project_id;
    let login = state
        .store
        .password_login(project_id, email)
        .await?
        .ok_or(StoreError::NotFound(Missing::Email))?;
    state
        .store
        .reserve_attempt(
            project_id,
            &PrincipalId::User(login.user_id.clone()),
            &project.settings,
            now,
        )
        .await?;
    let Some(stored) = login.password else {
        return Err(unauthorized());
    };
    let settings = state.argon2;
    let hash = stored.hash.clone();
    let (matched, replacement) = state
        .hashing
        .run(move || match hash {
            hash if hash.verify(&password) => {
                let replacement = hash
                    .needs_upgrade(&settings)
                    .then(|| hash_password(&password, &settings).ok())
                    .flatten();
                (true, replacement)
            }
            _ => (false, None),
        })
        .await?;
    if !matched {
        return Err(unauthorized());
    }
    if stored.requires_reset {
        // The right password, but it must be reset first: the attempt still counts as a success.
        state
            .store
            .complete(
                project_id,
                Completion::User(UserCompletion {
                    user_id: login.user_id.clone(),
                    password: PasswordWrite::Keep,
                    revoke: Revocation::None,
                    session: None,
                    consume: None,
                }),
                now,
            )
            .await?;
        return Err(ApiError::new(
            ErrorType::ResetPassword,
            "This password must be reset before it can be used to log in.",
        ));
    }
    let upgrade = match replacement {
        Some(to) => PasswordWrite::Upgrade {
            from: stored.hash_text,
            to,
        },
        None => PasswordWrite::Keep,
    };
    Ok(Verified {
        user_id: login.user_id,
        factor: AuthenticationFactor::password(login.email_id, login.email, now),
        upgrade,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordAuthenticateRequest {
    email: Option<String>,
    password: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

/// Log a user in by email and password. A legacy hash is upgraded to argon2id in the same
/// transaction; wrong passwords count toward the user's lock.
#[utoipa::path(post, path = "/v1/passwords/authenticate", tag = "passwords",
    operation_id = "passwords.authenticate", request_body = PasswordAuthenticateRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<AuthenticatedResponse>)))]
async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<PasswordAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let email = required_email(request.email)?;
    let password = required_password("password", request.password)?;
    let session_request = request.session.parse()?;
    let now = Utc::now();
    let verified = verify_login(&state, &auth.project, &email, password, now).await?;
    let principal = Principal::User {
        user_id: verified.user_id,
        password: verified.upgrade,
        revoke_other_sessions: false,
    };
    let proof = Proof {
        factor: Some(verified.factor),
        consume: None,
    };
    let body = authentication::complete(&state, &auth, principal, &session_request, proof, now)
        .await?
        .user()?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordCreateRequest {
    email: Option<String>,
    password: Option<String>,
    session_duration_minutes: Option<i64>,
    #[schema(value_type = Option<Object>)]
    session_custom_claims: Option<Value>,
    #[schema(value_type = Option<Object>)]
    trusted_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    untrusted_metadata: Option<Value>,
    name: Option<NameRequest>,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordCreateResponse {
    #[serde(flatten)]
    authenticated: AuthenticatedResponse,
    email_id: String,
}

/// Create a user with an email and a password strong enough for the project's policy.
#[utoipa::path(post, path = "/v1/passwords", tag = "passwords", operation_id = "passwords.create",
    request_body = PasswordCreateRequest,
    responses((status = 200, description = "The new user and, when asked for, a session.",
               body = Envelope<PasswordCreateResponse>)))]
async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<PasswordCreateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let email = required_email(request.email)?;
    let password = required_password("password", request.password)?;
    let session_request = SessionRequest::parse(
        None,
        None,
        request.session_duration_minutes,
        request.session_custom_claims,
    )?;
    let new_user = NewUser {
        email: Some(email.clone()),
        email_verified: false,
        phone_number: None,
        phone_verified: false,
        name: new_name(request.name)?,
        pending: false,
        trusted_metadata: new_metadata("trusted_metadata", request.trusted_metadata)?,
        untrusted_metadata: new_metadata("untrusted_metadata", request.untrusted_metadata)?,
        external_id: None,
        roles: Vec::new(),
    };
    require_strong(&auth.project, &password, Some(email.as_str()))?;
    let custom_claims = session_request.new_custom_claims()?;
    let hash = new_hash(&state, password).await?;
    let now = Utc::now();
    let (session, token) = match session_request.duration() {
        Some(duration) => {
            let (new, token) = new_session(project_id, now + duration, custom_claims);
            (Some(new), token)
        }
        None => (None, String::new()),
    };
    let (user, email_id, session) = state
        .store
        .create_password_user(project_id, new_user, hash, session, now)
        .await?;
    let body = PasswordCreateResponse {
        authenticated: authenticated_body(&state, project_id, &user, session.as_ref(), &token, now)
            .await?,
        email_id: email_id.as_str().to_owned(),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StrengthCheckRequest {
    password: Option<String>,
    email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StrengthCheckResponse {
    valid_password: bool,
    /// zxcvbn's score, 0 to 4.
    score: u8,
    /// Always `false`: Latchkey checks no breach corpus.
    breached_password: bool,
    /// `zxcvbn` or `luds`.
    strength_policy: String,
    breach_detection_on_create: bool,
    feedback: StrengthFeedback,
}

#[derive(Serialize, ToSchema)]
pub struct StrengthFeedback {
    warning: String,
    suggestions: Vec<String>,
    luds_requirements: LudsRequirements,
}

#[derive(Serialize, ToSchema)]
pub struct LudsRequirements {
    has_lower_case: bool,
    has_upper_case: bool,
    has_digit: bool,
    has_symbol: bool,
    missing_complexity: u32,
    missing_characters: u32,
}

impl StrengthCheckResponse {
    fn new(rated: &Strength) -> StrengthCheckResponse {
        StrengthCheckResponse {
            valid_password: rated.valid_password,
            score: rated.score,
            breached_password: false,
            strength_policy: rated.strength_policy.to_string(),
            breach_detection_on_create: false,
            feedback: StrengthFeedback {
                warning: rated.warning.clone(),
                suggestions: rated.suggestions.clone(),
                luds_requirements: LudsRequirements {
                    has_lower_case: rated.luds.has_lower_case,
                    has_upper_case: rated.luds.has_upper_case,
                    has_digit: rated.luds.has_digit,
                    has_symbol: rated.luds.has_symbol,
                    missing_complexity: rated.luds.missing_complexity,
                    missing_characters: rated.luds.missing_characters,
                },
            },
        }
    }
}

/// Rate a password under the project's policy (zxcvbn or LUDS), with feedback.
#[utoipa::path(post, path = "/v1/passwords/strength_check", tag = "passwords",
    operation_id = "passwords.strength_check", request_body = StrengthCheckRequest,
    responses((status = 200, description = "The rating.", body = Envelope<StrengthCheckResponse>)))]
async fn strength_check(
    auth: Authenticated,
    JsonBody(request): JsonBody<StrengthCheckRequest>,
) -> Result<Response, ApiError> {
    let password = required_password("password", request.password)?;
    let email = given(request.email)
        .map(|email| Email::parse(&email))
        .transpose()?;
    let inputs: Vec<&str> = email.as_ref().map(Email::as_str).into_iter().collect();
    let rated = strength::check(&password, &inputs, auth.project.settings.strength_policy);
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        StrengthCheckResponse::new(&rated),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExistingPasswordResetRequest {
    email: Option<String>,
    existing_password: Option<String>,
    new_password: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

/// Reset by existing password: every session of the user ends (but one continued here).
#[utoipa::path(post, path = "/v1/passwords/existing_password/reset", tag = "passwords",
    operation_id = "passwords.existing_password.reset", request_body = ExistingPasswordResetRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<AuthenticatedResponse>)))]
async fn reset_by_existing_password(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<ExistingPasswordResetRequest>,
) -> Result<Response, ApiError> {
    let email = required_email(request.email)?;
    let existing = required_password("existing_password", request.existing_password)?;
    let new_password = required_password("new_password", request.new_password)?;
    let session_request = request.session.parse()?;
    require_strong(&auth.project, &new_password, Some(email.as_str()))?;
    let now = Utc::now();
    let verified = verify_login(&state, &auth.project, &email, existing, now).await?;
    let hash = new_hash(&state, new_password).await?;
    let principal = Principal::User {
        user_id: verified.user_id,
        password: PasswordWrite::Replace(hash),
        revoke_other_sessions: true,
    };
    let proof = Proof {
        factor: Some(verified.factor),
        consume: None,
    };
    let body = authentication::complete(&state, &auth, principal, &session_request, proof, now)
        .await?
        .user()?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SessionResetRequest {
    password: Option<String>,
    #[serde(flatten)]
    session: SessionOptions,
}

/// Reset by session: the session's user gets the new password; every other session ends.
#[utoipa::path(post, path = "/v1/passwords/session/reset", tag = "passwords",
    operation_id = "passwords.session.reset", request_body = SessionResetRequest,
    responses((status = 200, description = "The user and its session.",
               body = Envelope<AuthenticatedResponse>)))]
async fn reset_by_session(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<SessionResetRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let password = required_password("password", request.password)?;
    let options = request.session.parse()?;
    let now = Utc::now();
    let presented = required_session(&state, project_id, &options, now).await?;
    let user_id = presented.session.user_id.clone();
    let email = presented
        .session
        .authentication_factors
        .iter()
        .find_map(|factor| factor.email.as_ref().map(|(_, email)| email.clone()));
    require_strong(&auth.project, &password, email.as_deref())?;
    let hash = new_hash(&state, password).await?;
    // The presented session continues (it is looked up again with the completion); every other
    // session of the user ends.
    let principal = Principal::User {
        user_id,
        password: PasswordWrite::Replace(hash),
        revoke_other_sessions: true,
    };
    let proof = Proof {
        factor: None,
        consume: None,
    };
    let body = authentication::complete(&state, &auth, principal, &options, proof, now)
        .await?
        .user()?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
