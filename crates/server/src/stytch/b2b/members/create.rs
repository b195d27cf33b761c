//! `POST /v1/b2b/organizations/{organization_id}/members`: add a member.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberCreateRequest {
    email_address: Option<String>,
    name: Option<String>,
    #[schema(value_type = Option<Object>)]
    trusted_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    untrusted_metadata: Option<Value>,
    create_member_as_pending: Option<bool>,
    is_breakglass: Option<bool>,
    mfa_phone_number: Option<String>,
    mfa_enrolled: Option<bool>,
    roles: Option<Vec<String>>,
    external_id: Option<String>,
}

/// Add a member to an organization.
#[utoipa::path(post, path = "/v1/b2b/organizations/{organization_id}/members",
    tag = "b2b.members", operation_id = "b2b.members.create", params(("organization_id" = String, Path, description = "The organization's id, slug or external id.")),
    request_body = MemberCreateRequest,
    responses((status = 200, description = "The new member.", body = Envelope<MemberResponse>)))]
pub(super) async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(organization_id): Segment,
    JsonBody(request): JsonBody<MemberCreateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let email = given(request.email_address)
        .ok_or_else(|| ApiError::bad_request("email_address is required."))?;
    let email = Email::parse(&email)?;
    let now = Utc::now();
    let member = Member {
        member_id: MemberId::generate(project_id.environment()),
        organization_id: OrganizationId::from_trusted(String::new()),
        email: email.as_str().to_owned(),
        email_verified: false,
        status: if request.create_member_as_pending.unwrap_or(false) {
            MemberStatus::Pending
        } else {
            MemberStatus::Active
        },
        name: parse_member_name(&request.name.unwrap_or_default())?,
        is_breakglass: request.is_breakglass.unwrap_or(false),
        mfa_phone_number: phone(&request.mfa_phone_number.unwrap_or_default())?,
        mfa_phone_number_verified: false,
        mfa_enrolled: request.mfa_enrolled.unwrap_or(false),
        default_mfa_method: String::new(),
        trusted_metadata: metadata("trusted_metadata", request.trusted_metadata)?
            .unwrap_or_default(),
        untrusted_metadata: metadata("untrusted_metadata", request.untrusted_metadata)?
            .unwrap_or_default(),
        external_id: external_id(&request.external_id.unwrap_or_default())?,
        roles: roles(request.roles.unwrap_or_default())?,
        totp_registration_id: String::new(),
        lock_created_at: None,
        lock_expires_at: None,
        created_at: now,
        updated_at: now,
    };
    // Checked after the input, so that a bad request is told about its input first.
    let organization = find_organization(&state, project_id, &organization_id).await?;
    let member = Member {
        organization_id: organization.organization_id.clone(),
        ..member
    };
    state.store.create_member(project_id, &member).await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        MemberResponse::new(&member, &organization, now),
    ))
}
