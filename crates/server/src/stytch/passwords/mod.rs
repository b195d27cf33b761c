//! Passwords: migrate, authenticate (upgrading legacy hashes to argon2id), create, strength
//! check, and reset by existing password or by session.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use latchkey_core::lock::Factor;
use latchkey_core::passwords::migrate::MigrateHash;
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
use crate::authentication::{self, Attempt, Principal, Proof};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::stytch::{reply, Envelope, UserObject};
use crate::AppState;

mod authenticate;
mod create;
mod email_reset;
mod error;
mod migrate;
mod reset;
mod strength_check;

use authenticate::verify_login;
pub use error::PasswordError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create))
        .routes(routes!(authenticate::authenticate))
        .routes(routes!(migrate::migrate_password))
        .routes(routes!(strength_check::strength_check))
        .routes(routes!(reset::reset_by_existing_password))
        .routes(routes!(reset::reset_by_session))
        .routes(routes!(email_reset::reset_start))
        .routes(routes!(email_reset::reset))
}

fn required_password(
    field: &'static str,
    password: Option<String>,
) -> Result<String, PasswordError> {
    match password {
        Some(password) if password.len() > MAX_PASSWORD_BYTES => Err(PasswordError::TooLong(field)),
        Some(password) if !password.is_empty() => Ok(password),
        _ => Err(PasswordError::Required(field)),
    }
}

fn required_email(email: Option<String>) -> Result<Email, ApiError> {
    let email = given(email).ok_or_else(|| ApiError::bad_request("email is required."))?;
    Ok(Email::parse(&email)?)
}

/// How long rating a password may take, waiting for a thread included; past it the request is
/// answered 503 `service_unavailable` with `Retry-After`. The prefix bound keeps the scoring
/// itself far below this; only a saturated pool makes a request wait this long.
pub const STRENGTH_DEADLINE: Duration = Duration::from_secs(5);

/// Rates `password` under the project's policy, with the user's email counting against it.
/// zxcvbn's worst inputs cost hundreds of milliseconds of CPU, so it runs on the hashing pool
/// (bounded, per project too, and off the async runtime) under [`STRENGTH_DEADLINE`]; a check
/// abandoned while queued is skipped.
async fn rate(
    state: &AppState,
    project: &ProjectRecord,
    password: &str,
    email: Option<&str>,
) -> Result<Strength, ApiError> {
    let password = password.to_owned();
    let inputs: Vec<String> = email.map(str::to_owned).into_iter().collect();
    let policy = project.settings.strength_policy;
    let job = state.hashing.run(&project.project_id, move || {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        strength::check(&password, &inputs, policy)
    });
    match tokio::time::timeout(STRENGTH_DEADLINE, job).await {
        Ok(rated) => rated,
        Err(_) => Err(PasswordError::NotRatedInTime.into()),
    }
}

/// Rates a new password under the project's policy, refusing it with `weak_password`.
async fn require_strong(
    state: &AppState,
    project: &ProjectRecord,
    password: &str,
    email: Option<&str>,
) -> Result<(), ApiError> {
    let rated = rate(state, project, password, email).await?;
    if rated.valid_password {
        return Ok(());
    }
    Err(PasswordError::Weak {
        warning: rated.warning,
    }
    .into())
}

async fn new_hash(
    state: &AppState,
    project: &ProjectRecord,
    password: String,
) -> Result<StoredHash, ApiError> {
    let settings = state.argon2;
    state
        .hashing
        .run(&project.project_id, move || {
            hash_password(&password, &settings)
        })
        .await?
        .map_err(|error| {
            tracing::error!(%error, "hashing a new password failed");
            ApiError::internal()
        })
}
