//! `POST /v1/magic_links`: an embeddable token for a user, to deliver by the application's own
//! means. Authenticating it proves no email.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MagicLinkCreateRequest {
    user_id: Option<String>,
    expiration_minutes: Option<i64>,
    attributes: Option<Attributes>,
}

#[derive(Serialize, ToSchema)]
pub struct MagicLinkCreateResponse {
    user_id: String,
    token: String,
}

/// Make an embeddable magic-link token for a user.
#[utoipa::path(post, path = "/v1/magic_links", tag = "magic_links",
    operation_id = "magic_links.create", request_body = MagicLinkCreateRequest,
    responses((status = 200, description = "The token, shown once.", body = Envelope<MagicLinkCreateResponse>)))]
pub(super) async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MagicLinkCreateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let user_id =
        given(request.user_id).ok_or_else(|| ApiError::bad_request("user_id is required."))?;
    let user_ref = UserRef::parse(&user_id)?;
    let life = LinkPurpose::Embedded.expiry(request.expiration_minutes)?;
    let _ = request.attributes;
    let user = find_user(&state, project_id, &user_ref).await?;
    let (token, token_digest) = new_token(&state.vault, project_id);
    let now = Utc::now();
    state
        .store
        .issue_magic_link(
            project_id,
            latchkey_store::NewMagicLink {
                token_digest,
                user_id: user.user_id.clone(),
                email_id: None,
                purpose: LinkPurpose::Embedded,
                code_challenge: None,
                expires_at: now + life,
            },
            now,
        )
        .await?;
    let body = MagicLinkCreateResponse {
        user_id: user.user_id.into_string(),
        token: token.expose().to_owned(),
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
