//! Email magic links: `send`, `login_or_create`, `invite` and `revoke_invite` by email, the
//! embeddable token (`POST /v1/magic_links`), and `authenticate`. A token is 256 random bits,
//! URL-safe, kept only as a keyed digest (core `magic_links::token_context`), used once by the
//! completing authentication; the link goes straight to the application's redirect URL.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use latchkey_core::delivery::{sandbox, Channel};
use latchkey_core::ids::{ProjectId, UserId};
use latchkey_core::magic_links::{self, LinkError, LinkPurpose};
use latchkey_core::redirect_urls::RedirectType;
use latchkey_core::secret::Secret;
use latchkey_core::sessions::Session;
use latchkey_core::users::UserRef;
use latchkey_core::vault::Vault;
use latchkey_store::{CodeDigest, Destination, Issue, Missing, Refusal, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::passwordless::{
    self, check_locale, need_url, parse_email, redirect_url, redirect_url_pair, Attributes,
    Audience, AuthenticateOptions, Prepared, Recipient,
};
use super::sessions::{presented, AuthenticatedResponse, SessionOptions};
use super::users::{find_user, given};
use super::{reply, Envelope};
use crate::delivery::templates;
use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody};
use crate::AppState;

mod authenticate;
mod create;
mod email;

pub use authenticate::find_link;
pub use email::{prepare_link, refuse_templates};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(email::send))
        .routes(routes!(email::login_or_create))
        .routes(routes!(email::invite))
        .routes(routes!(email::revoke_invite))
        .routes(routes!(create::create))
        .routes(routes!(authenticate::authenticate))
}

impl From<LinkError> for ApiError {
    fn from(error: LinkError) -> ApiError {
        let kind = match error {
            LinkError::InvalidExpiration => ErrorType::InvalidExpirationMinutes,
            LinkError::ExpectedCodeVerifier => ErrorType::PkceExpectedCodeVerifier,
            LinkError::PkceMismatch => ErrorType::PkceMismatch,
        };
        ApiError::new(kind, error.to_string())
    }
}

/// A new token and its digest for the project.
pub fn new_token(vault: &Vault, project_id: &ProjectId) -> (Secret, CodeDigest) {
    let token = Secret::generate_token();
    let digest = vault.code_digest(&magic_links::token_context(project_id), token.expose());
    (token, digest)
}

/// A PKCE challenge as given: base64url of a SHA-256 digest (43 characters, no padding).
pub fn parse_code_challenge(challenge: Option<String>) -> Result<Option<String>, ApiError> {
    match given(challenge) {
        None => Ok(None),
        Some(challenge)
            if challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(challenge))
        }
        Some(_) => Err(ApiError::new(
            ErrorType::InvalidCodeChallenge,
            "code_challenge must be the base64url SHA-256 digest of the code_verifier.",
        )),
    }
}

/// The user `user_id` or the presented session names, for a send that adds the email to them.
pub async fn named_user(
    state: &AppState,
    project_id: &ProjectId,
    user_id: Option<String>,
    session: &SessionOptions,
    now: DateTime<Utc>,
) -> Result<Option<UserId>, ApiError> {
    if let Some(user_id) = given(user_id) {
        let user = find_user(state, project_id, &UserRef::parse(&user_id)?).await?;
        return Ok(Some(user.user_id));
    }
    let request = session.parse()?;
    Ok(
        presented::<Session>(state, project_id, request.presented(), now)
            .await?
            .map(|presented| presented.session.user_id),
    )
}

#[derive(Serialize, ToSchema)]
pub struct MagicLinkSentResponse {
    pub user_id: String,
    pub email_id: String,
}
