//! `POST /v1/passwords/email/reset/start` and `/email/reset`: a reset link by email, then the
//! new password with its token. The token is a magic link of its own purpose
//! (`stytch_token_type=reset_password`), used once; a refused password leaves it usable.

use latchkey_core::delivery::{Channel, TemplateKind};
use latchkey_core::magic_links::{self, LinkPurpose};
use latchkey_core::redirect_urls::RedirectType;
use latchkey_store::{Consume, Destination, Issue, Missing, Refusal};
use url::Url;

use super::*;
use crate::delivery::templates;
use crate::stytch::magic_links::{find_link, new_token, parse_code_challenge, refuse_templates};
use crate::stytch::passwordless::{
    self, check_locale, need_url, redirect_url, Attributes, AuthenticateOptions, Prepared,
    Recipient,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetStartRequest {
    email: Option<String>,
    reset_password_redirect_url: Option<String>,
    reset_password_expiration_minutes: Option<i64>,
    code_challenge: Option<String>,
    attributes: Option<Attributes>,
    /// Where the mail's "log in without a password" link goes.
    login_redirect_url: Option<String>,
    locale: Option<String>,
    reset_password_template_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ResetStartResponse {
    user_id: String,
    email_id: String,
}

/// Mail a password reset link to the user with this email.
#[utoipa::path(post, path = "/v1/passwords/email/reset/start", tag = "passwords",
    operation_id = "passwords.email.reset_start", request_body = ResetStartRequest,
    responses((status = 200, description = "The link was queued.",
               body = Envelope<ResetStartResponse>)))]
pub(super) async fn reset_start(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<ResetStartRequest>,
) -> Result<Response, ApiError> {
    let email = passwordless::parse_email(request.email)?;
    check_locale(request.locale.as_deref())?;
    refuse_templates([request.reset_password_template_id.as_deref()])?;
    let _ = request.attributes;
    let life = LinkPurpose::ResetPassword.expiry(request.reset_password_expiration_minutes)?;
    let code_challenge = parse_code_challenge(request.code_challenge)?;
    let reset_url = redirect_url(
        &state,
        &auth.project,
        RedirectType::ResetPassword,
        request.reset_password_redirect_url.as_deref(),
    )
    .await?;
    let reset_url = need_url(reset_url, RedirectType::ResetPassword)?;
    let login_url: Option<Url> = match given(request.login_redirect_url) {
        Some(url) => redirect_url(&state, &auth.project, RedirectType::Login, Some(&url)).await?,
        None => None,
    };
    let project = &auth.project;
    let template = state
        .store
        .message_template(&project.project_id, TemplateKind::ResetPassword)
        .await?;
    let login_life = LinkPurpose::Login.expiry(None)?;
    let prepare = |_| -> Result<Prepared, ApiError> {
        let (token, token_digest) = new_token(&state.vault, &project.project_id);
        let reset_link = passwordless::link(
            &reset_url,
            LinkPurpose::ResetPassword.token_type(),
            token.expose(),
        );
        let now = Utc::now();
        let (also, login_link) = match &login_url {
            Some(url) => {
                let (login_token, login_digest) = new_token(&state.vault, &project.project_id);
                let issue = Issue::MagicLink {
                    token_digest: login_digest,
                    purpose: LinkPurpose::Login,
                    code_challenge: code_challenge.clone(),
                    expires_at: now + login_life,
                };
                (
                    Some(issue),
                    // Stytch names this link `login`; it authenticates as a magic link.
                    Some(passwordless::link(url, "login", login_token.expose())),
                )
            }
            None => (None, None),
        };
        let message = templates::reset_password(
            &project.name,
            &reset_link,
            login_link.as_deref(),
            life.num_minutes(),
            template.as_ref(),
        );
        Ok(Prepared {
            issue: Issue::MagicLink {
                token_digest,
                purpose: LinkPurpose::ResetPassword,
                code_challenge: code_challenge.clone(),
                expires_at: now + life,
            },
            also,
            message: Some(message),
        })
    };
    let sent = passwordless::send(
        &state,
        project,
        Channel::Email,
        Destination::Email(email),
        Recipient::Existing,
        prepare,
        Utc::now(),
    )
    .await?;
    let body = ResetStartResponse {
        user_id: sent.user_id.into_string(),
        email_id: sent.method_id,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailResetRequest {
    token: Option<String>,
    password: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
    session_duration_minutes: Option<i64>,
    #[schema(value_type = Option<Object>)]
    session_custom_claims: Option<Value>,
    code_verifier: Option<String>,
    attributes: Option<Attributes>,
    options: Option<AuthenticateOptions>,
    telemetry_id: Option<String>,
}

/// Set a new password with the token of a reset link. Every other session of the user ends.
#[utoipa::path(post, path = "/v1/passwords/email/reset", tag = "passwords",
    operation_id = "passwords.email.reset", request_body = EmailResetRequest,
    responses((status = 200, description = "The user and, when asked for, a session.",
               body = Envelope<AuthenticatedResponse>)))]
pub(super) async fn reset(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<EmailResetRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let token = given(request.token).ok_or_else(|| ApiError::bad_request("token is required."))?;
    let password = required_password("password", request.password)?;
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
    let (link, digest) = find_link(&state, project_id, &token).await?;
    if link.purpose != LinkPurpose::ResetPassword {
        return Err(StoreError::NotFound(Missing::MagicLink).into());
    }
    if !link.usable(now) {
        return Err(StoreError::Refused(Refusal::MagicLinkUnusable).into());
    }
    magic_links::check_pkce(
        link.code_challenge.as_deref(),
        request.code_verifier.as_deref(),
    )?;
    let user = state
        .store
        .get_user(
            project_id,
            &latchkey_core::users::UserRef::Id(link.user_id.clone()),
        )
        .await?
        .ok_or(StoreError::NotFound(Missing::MagicLink))?;
    let email = user
        .emails
        .iter()
        .find(|email| Some(&email.email_id) == link.email_id.as_ref())
        .ok_or(StoreError::NotFound(Missing::MagicLink))?;
    // Refused before the token is touched: a weak password leaves it usable.
    require_strong(&state, &auth.project, &password, Some(email.email.as_str())).await?;
    let hash = new_hash(&state, &auth.project, password).await?;
    let principal = Principal::User {
        user_id: user.user_id.clone(),
        password: PasswordWrite::Replace(hash),
        revoke_other_sessions: true,
    };
    let proof = Proof {
        factor: Some(AuthenticationFactor::by_email(
            "password",
            email.email_id.clone(),
            email.email.clone(),
            now,
        )),
        consume: Some(Consume::MagicLink { digest, at: now }),
        attempt: None,
    };
    let body = authentication::complete(&state, &auth, principal, &session, proof, now)
        .await?
        .user()?;
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
