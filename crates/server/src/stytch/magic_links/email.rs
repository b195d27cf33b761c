//! `POST /v1/magic_links/email/send`, `/login_or_create`, `/invite` and `/revoke_invite`.

use latchkey_core::delivery::{Template, TemplateKind};

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MagicLinkSendRequest {
    email: Option<String>,
    login_magic_link_url: Option<String>,
    signup_magic_link_url: Option<String>,
    login_expiration_minutes: Option<i64>,
    signup_expiration_minutes: Option<i64>,
    login_template_id: Option<String>,
    signup_template_id: Option<String>,
    attributes: Option<Attributes>,
    code_challenge: Option<String>,
    user_id: Option<String>,
    session_token: Option<String>,
    session_jwt: Option<String>,
    locale: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MagicLinkLoginOrCreateRequest {
    email: Option<String>,
    login_magic_link_url: Option<String>,
    signup_magic_link_url: Option<String>,
    login_expiration_minutes: Option<i64>,
    signup_expiration_minutes: Option<i64>,
    login_template_id: Option<String>,
    signup_template_id: Option<String>,
    attributes: Option<Attributes>,
    create_user_as_pending: Option<bool>,
    code_challenge: Option<String>,
    locale: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MagicLinkInviteRequest {
    email: Option<String>,
    invite_magic_link_url: Option<String>,
    invite_expiration_minutes: Option<i64>,
    invite_template_id: Option<String>,
    attributes: Option<Attributes>,
    #[schema(value_type = Option<Object>)]
    name: Option<super::super::users::NameRequest>,
    #[schema(value_type = Option<Object>)]
    trusted_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    untrusted_metadata: Option<Value>,
    locale: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeInviteRequest {
    email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MagicLinkLoginOrCreateResponse {
    user_id: String,
    email_id: String,
    user_created: bool,
}

/// The login and sign-up links a send may carry: their URLs (checked before anything is
/// written) and lives.
struct Links {
    login: Option<url::Url>,
    signup: Option<url::Url>,
    login_minutes: i64,
    signup_minutes: i64,
    code_challenge: Option<String>,
    login_template: Option<Template>,
    signup_template: Option<Template>,
}

impl Links {
    #[allow(clippy::too_many_arguments)]
    async fn parse(
        state: &AppState,
        auth: &Authenticated,
        login_url: Option<&str>,
        signup_url: Option<&str>,
        login_minutes: Option<i64>,
        signup_minutes: Option<i64>,
        code_challenge: Option<String>,
        template_ids: [Option<&str>; 2],
    ) -> Result<Links, ApiError> {
        let login_life = LinkPurpose::Login.expiry(login_minutes)?;
        let signup_life = LinkPurpose::Signup.expiry(signup_minutes)?;
        refuse_templates(template_ids)?;
        let project_id = &auth.project.project_id;
        let (login, signup) = redirect_url_pair(
            state,
            &auth.project,
            (RedirectType::Login, login_url),
            (RedirectType::Signup, signup_url),
        )
        .await?;
        Ok(Links {
            login_template: state
                .store
                .message_template(project_id, TemplateKind::Login)
                .await?,
            signup_template: state
                .store
                .message_template(project_id, TemplateKind::Signup)
                .await?,
            login,
            signup,
            login_minutes: login_life.num_minutes(),
            signup_minutes: signup_life.num_minutes(),
            code_challenge: parse_code_challenge(code_challenge)?,
        })
    }

    /// The token, its record and its mail, for a recipient who signs up or logs in.
    fn prepare(
        &self,
        vault: &Vault,
        project: &latchkey_store::ProjectRecord,
        audience: Audience,
    ) -> Result<Prepared, ApiError> {
        let (purpose, url, minutes, kind, template) = match audience {
            Audience::Signup => (
                LinkPurpose::Signup,
                self.signup.clone(),
                self.signup_minutes,
                RedirectType::Signup,
                self.signup_template.as_ref(),
            ),
            Audience::Login => (
                LinkPurpose::Login,
                self.login.clone(),
                self.login_minutes,
                RedirectType::Login,
                self.login_template.as_ref(),
            ),
        };
        let url = need_url(url, kind)?;
        prepare_link(
            vault,
            project,
            (purpose, &url, minutes),
            self.code_challenge.clone(),
            template,
        )
    }
}

/// Custom templates are a dashboard feature Latchkey does not have: a template id names
/// nothing here, so it is refused rather than ignored.
pub fn refuse_templates<const N: usize>(template_ids: [Option<&str>; N]) -> Result<(), ApiError> {
    if template_ids.iter().flatten().any(|id| !id.is_empty()) {
        return Err(ApiError::bad_request(
            "This server has no custom email templates; send without a template id.",
        ));
    }
    Ok(())
}

/// A token of `purpose` for a link to `url`, living `minutes`, and its mail.
pub fn prepare_link(
    vault: &Vault,
    project: &latchkey_store::ProjectRecord,
    (purpose, url, minutes): (LinkPurpose, &url::Url, i64),
    code_challenge: Option<String>,
    template: Option<&Template>,
) -> Result<Prepared, ApiError> {
    let (token, token_digest) = new_token(vault, &project.project_id);
    let link = passwordless::link(url, purpose.token_type(), token.expose());
    let message = templates::magic_link(&project.name, purpose, &link, minutes, template);
    Ok(Prepared {
        issue: Issue::MagicLink {
            token_digest,
            purpose,
            code_challenge,
            expires_at: Utc::now() + chrono::Duration::minutes(minutes),
        },
        also: None,
        message: Some(message),
    })
}

/// Send a magic link to an existing user's email (or add the email to the user named by
/// `user_id` or the session, unverified until the link is used).
#[utoipa::path(post, path = "/v1/magic_links/email/send", tag = "magic_links",
    operation_id = "magic_links.email.send", request_body = MagicLinkSendRequest,
    responses((status = 200, description = "The link was queued.", body = Envelope<MagicLinkSentResponse>)))]
pub(super) async fn send(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MagicLinkSendRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let email = parse_email(request.email)?;
    check_locale(request.locale.as_deref())?;
    let _ = request.attributes;
    let links = Links::parse(
        &state,
        &auth,
        request.login_magic_link_url.as_deref(),
        request.signup_magic_link_url.as_deref(),
        request.login_expiration_minutes,
        request.signup_expiration_minutes,
        request.code_challenge,
        [
            request.login_template_id.as_deref(),
            request.signup_template_id.as_deref(),
        ],
    )
    .await?;
    let now = Utc::now();
    let session = SessionOptions {
        session_token: request.session_token,
        session_jwt: request.session_jwt,
        ..SessionOptions::default()
    };
    let recipient = match named_user(&state, project_id, request.user_id, &session, now).await? {
        Some(user_id) => Recipient::User(user_id),
        None => Recipient::Existing,
    };
    let sent = passwordless::send(
        &state,
        &auth.project,
        Channel::Email,
        Destination::Email(email),
        recipient,
        |audience| links.prepare(&state.vault, &auth.project, audience),
        now,
    )
    .await?;
    let body = MagicLinkSentResponse {
        user_id: sent.user_id.into_string(),
        email_id: sent.method_id,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// Send a login link to the user with this email, or a sign-up link to a new user made with it.
#[utoipa::path(post, path = "/v1/magic_links/email/login_or_create", tag = "magic_links",
    operation_id = "magic_links.email.login_or_create", request_body = MagicLinkLoginOrCreateRequest,
    responses((status = 200, description = "The link was queued.",
               body = Envelope<MagicLinkLoginOrCreateResponse>)))]
pub(super) async fn login_or_create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MagicLinkLoginOrCreateRequest>,
) -> Result<Response, ApiError> {
    let email = parse_email(request.email)?;
    check_locale(request.locale.as_deref())?;
    let _ = request.attributes;
    let links = Links::parse(
        &state,
        &auth,
        request.login_magic_link_url.as_deref(),
        request.signup_magic_link_url.as_deref(),
        request.login_expiration_minutes,
        request.signup_expiration_minutes,
        request.code_challenge,
        [
            request.login_template_id.as_deref(),
            request.signup_template_id.as_deref(),
        ],
    )
    .await?;
    let sent = passwordless::send(
        &state,
        &auth.project,
        Channel::Email,
        Destination::Email(email),
        Recipient::LoginOrCreate {
            pending: request.create_user_as_pending.unwrap_or(false),
        },
        |audience| links.prepare(&state.vault, &auth.project, audience),
        Utc::now(),
    )
    .await?;
    let body = MagicLinkLoginOrCreateResponse {
        user_id: sent.user_id.into_string(),
        email_id: sent.method_id,
        user_created: sent.user_created,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

/// Invite a new user by email: the user is `pending` until the invite link is used.
#[utoipa::path(post, path = "/v1/magic_links/email/invite", tag = "magic_links",
    operation_id = "magic_links.email.invite", request_body = MagicLinkInviteRequest,
    responses((status = 200, description = "The invite was queued.", body = Envelope<MagicLinkSentResponse>)))]
pub(super) async fn invite(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MagicLinkInviteRequest>,
) -> Result<Response, ApiError> {
    let email = parse_email(request.email)?;
    check_locale(request.locale.as_deref())?;
    let _ = request.attributes;
    let life = LinkPurpose::Invite.expiry(request.invite_expiration_minutes)?;
    refuse_templates([request.invite_template_id.as_deref()])?;
    let name = super::super::users::new_name(request.name)?;
    let trusted_metadata =
        super::super::users::new_metadata("trusted_metadata", request.trusted_metadata)?;
    let untrusted_metadata =
        super::super::users::new_metadata("untrusted_metadata", request.untrusted_metadata)?;
    let url = redirect_url(
        &state,
        &auth.project,
        RedirectType::Invite,
        request.invite_magic_link_url.as_deref(),
    )
    .await?;
    let url = need_url(url, RedirectType::Invite)?;
    let template = state
        .store
        .message_template(&auth.project.project_id, TemplateKind::Invite)
        .await?;
    let sent = passwordless::send(
        &state,
        &auth.project,
        Channel::Email,
        Destination::Email(email),
        Recipient::Invite {
            name,
            trusted_metadata,
            untrusted_metadata,
        },
        |_| {
            prepare_link(
                &state.vault,
                &auth.project,
                (LinkPurpose::Invite, &url, life.num_minutes()),
                None,
                template.as_ref(),
            )
        },
        Utc::now(),
    )
    .await?;
    let body = MagicLinkSentResponse {
        user_id: sent.user_id.into_string(),
        email_id: sent.method_id,
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}

#[derive(Serialize, ToSchema)]
pub struct RevokeInviteResponse {}

/// Revoke the pending invite of this email: its links stop working.
#[utoipa::path(post, path = "/v1/magic_links/email/revoke_invite", tag = "magic_links",
    operation_id = "magic_links.email.revoke_invite", request_body = RevokeInviteRequest,
    responses((status = 200, description = "The invite was revoked.", body = Envelope<RevokeInviteResponse>)))]
pub(super) async fn revoke_invite(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<RevokeInviteRequest>,
) -> Result<Response, ApiError> {
    let email = parse_email(request.email)?;
    state
        .store
        .revoke_invite(&auth.project.project_id, &email, Utc::now())
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        RevokeInviteResponse {},
    ))
}
