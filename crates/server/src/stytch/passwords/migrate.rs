//! `POST /v1/passwords/migrate`: bring a user's hash from another system, in any of nine formats.

use super::*;

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
pub(super) async fn migrate_password(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MigrateRequest>,
) -> Result<Response, ApiError> {
    let email = required_email(request.email)?;
    let hash = latchkey_core::passwords::migrate::parse(&request.hash)?;
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
