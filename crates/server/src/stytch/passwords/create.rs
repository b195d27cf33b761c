//! `POST /v1/passwords`: a new user with a password.

use super::*;

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
pub(super) async fn create(
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
    require_strong(&state, &auth.project, &password, Some(email.as_str())).await?;
    let custom_claims = session_request.new_custom_claims()?;
    let hash = new_hash(&state, &auth.project, password).await?;
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
