//! `POST /v1/magic_links/authenticate`: a token from an email link, an invite or an embeddable
//! link, as a factor; each token works once.

use latchkey_core::sessions::AuthenticationFactor;
use latchkey_core::users::{NewUser, User};
use latchkey_store::{Consume, PasswordWrite, StoredMagicLink};

use super::*;
use crate::authentication::{self, Principal, Proof};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MagicLinkAuthenticateRequest {
    token: Option<String>,
    attributes: Option<Attributes>,
    options: Option<AuthenticateOptions>,
    session_token: Option<String>,
    session_jwt: Option<String>,
    session_duration_minutes: Option<i64>,
    #[schema(value_type = Option<Object>)]
    session_custom_claims: Option<Value>,
    code_verifier: Option<String>,
    telemetry_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MagicLinkAuthenticatedResponse {
    #[serde(flatten)]
    pub authenticated: AuthenticatedResponse,
    /// The email_id the link was sent to (`""` for an embeddable token).
    pub method_id: String,
    /// Whether the application should end the user's other sessions; Latchkey's own sessions
    /// need no such step.
    pub reset_sessions: bool,
}

/// The stored link a token names, under any key the vault accepts.
pub async fn find_link(
    state: &AppState,
    project_id: &ProjectId,
    token: &str,
) -> Result<(StoredMagicLink, CodeDigest), ApiError> {
    for digest in state
        .vault
        .code_digests(&magic_links::token_context(project_id), token)
    {
        if let Some(link) = state.store.magic_link(project_id, &digest).await? {
            return Ok((link, digest));
        }
    }
    Err(StoreError::NotFound(Missing::MagicLink).into())
}

/// Authenticate a magic-link token.
#[utoipa::path(post, path = "/v1/magic_links/authenticate", tag = "magic_links",
    operation_id = "magic_links.authenticate", request_body = MagicLinkAuthenticateRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<MagicLinkAuthenticatedResponse>)))]
pub(super) async fn authenticate(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MagicLinkAuthenticateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let token = given(request.token).ok_or_else(|| ApiError::bad_request("token is required."))?;
    AuthenticateOptions::check(request.options.as_ref())?;
    let _ = (request.attributes, request.telemetry_id);
    let session = SessionOptions {
        session_token: request.session_token,
        session_jwt: request.session_jwt,
        session_duration_minutes: request.session_duration_minutes,
        session_custom_claims: request.session_custom_claims,
    }
    .parse()?;
    let now = Utc::now();
    let (user, factor, consume) = match sandbox_token(&state, &auth, &token, now).await? {
        Some((user, factor)) => (user, factor, None),
        None => {
            let (link, digest) = find_link(&state, project_id, &token).await?;
            if link.purpose == LinkPurpose::ResetPassword {
                // A reset token proves a reset, not a login: it is no magic link here.
                return Err(StoreError::NotFound(Missing::MagicLink).into());
            }
            if !link.usable(now) {
                return Err(StoreError::Refused(Refusal::MagicLinkUnusable).into());
            }
            magic_links::check_pkce(
                link.code_challenge.as_deref(),
                request.code_verifier.as_deref(),
            )?;
            let user = find_user(&state, project_id, &UserRef::Id(link.user_id.clone())).await?;
            let factor = link_factor(&user, &link, now)?;
            (user, factor, Some(Consume::MagicLink { digest, at: now }))
        }
    };
    let method_id = match &factor.email {
        Some((email_id, _)) => email_id.as_str().to_owned(),
        None => String::new(),
    };
    let principal = Principal::User {
        user_id: user.user_id.clone(),
        password: PasswordWrite::Keep,
        revoke_other_sessions: false,
    };
    let proof = Proof {
        factor: Some(factor),
        consume,
        attempt: None,
    };
    let body = MagicLinkAuthenticatedResponse {
        authenticated: authentication::complete(&state, &auth, principal, &session, proof, now)
            .await?
            .user()?,
        method_id,
        reset_sessions: false,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// The session factor a link proves: its email, or an embedded link.
fn link_factor(
    user: &User,
    link: &StoredMagicLink,
    now: DateTime<Utc>,
) -> Result<AuthenticationFactor, ApiError> {
    match &link.email_id {
        None => Ok(AuthenticationFactor::embedded_magic_link(now)),
        Some(email_id) => {
            let email = user
                .emails
                .iter()
                .find(|email| email.email_id == *email_id)
                // The email was removed from the user since the link was sent.
                .ok_or(StoreError::NotFound(Missing::MagicLink))?;
            Ok(AuthenticationFactor::by_email(
                "magic_link",
                email.email_id.clone(),
                email.email.clone(),
                now,
            ))
        }
    }
}

/// Stytch's sandbox tokens, on a test project: the success token logs in the sandbox user
/// (`sandbox@stytch.com`, made on first use), the others answer their documented errors.
async fn sandbox_token(
    state: &AppState,
    auth: &Authenticated,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(User, AuthenticationFactor)>, ApiError> {
    if auth.project.environment != latchkey_core::ids::Environment::Test {
        return Ok(None);
    }
    match token {
        sandbox::MAGIC_LINK_UNUSABLE => Err(StoreError::Refused(Refusal::MagicLinkUnusable).into()),
        sandbox::MAGIC_LINK_NOT_FOUND => Err(StoreError::NotFound(Missing::MagicLink).into()),
        sandbox::MAGIC_LINK_SUCCESS => {
            let user = sandbox_user(state, &auth.project.project_id, now).await?;
            let email = user
                .emails
                .iter()
                .find(|email| email.email == sandbox::EMAIL)
                .ok_or_else(ApiError::internal)?;
            let factor = AuthenticationFactor::by_email(
                "magic_link",
                email.email_id.clone(),
                email.email.clone(),
                now,
            );
            Ok(Some((user, factor)))
        }
        _ => Ok(None),
    }
}

/// The project's sandbox user, made the first time it is needed.
async fn sandbox_user(
    state: &AppState,
    project_id: &ProjectId,
    now: DateTime<Utc>,
) -> Result<User, ApiError> {
    let email = latchkey_core::values::Email::parse(sandbox::EMAIL)?;
    let destination = Destination::Email(email.clone());
    for _ in 0..2 {
        if let Some(holder) = state.store.holder(project_id, &destination).await? {
            return find_user(state, project_id, &UserRef::Id(holder.user_id)).await;
        }
        let new_user = NewUser {
            email: Some(email.clone()),
            email_verified: true,
            phone_number: None,
            phone_verified: false,
            name: Default::default(),
            pending: false,
            trusted_metadata: Default::default(),
            untrusted_metadata: Default::default(),
            external_id: None,
            roles: Vec::new(),
        };
        match state.store.create_user(project_id, new_user, now).await {
            Ok(user) => return Ok(user),
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::NotFound(Missing::User).into())
}
