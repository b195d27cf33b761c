//! Update a member, and reactivate a deleted one.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberUpdateRequest {
    name: Option<String>,
    #[schema(value_type = Option<Object>)]
    trusted_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    untrusted_metadata: Option<Value>,
    is_breakglass: Option<bool>,
    mfa_phone_number: Option<String>,
    mfa_enrolled: Option<bool>,
    roles: Option<Vec<String>>,
    default_mfa_method: Option<String>,
    email_address: Option<String>,
    external_id: Option<String>,
    #[allow(dead_code)]
    preserve_existing_sessions: Option<bool>,
    #[allow(dead_code)]
    unlink_email: Option<bool>,
}

/// Change a member's name, metadata, roles, MFA settings, email or external id.
#[utoipa::path(put, path = "/v1/b2b/organizations/{organization_id}/members/{member_id}",
    tag = "b2b.members", operation_id = "b2b.members.update", params(("organization_id" = String, Path, description = "The organization's id, slug or external id."), ("member_id" = String, Path, description = "The member's id or external id.")),
    request_body = MemberUpdateRequest,
    responses((status = 200, description = "The member.", body = Envelope<MemberResponse>)))]
pub(super) async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    Segments(organization_id, member_id): Segments,
    JsonBody(request): JsonBody<MemberUpdateRequest>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let patch = MemberPatch {
        name: request.name.as_deref().map(parse_member_name).transpose()?,
        trusted_metadata: metadata("trusted_metadata", request.trusted_metadata)?,
        untrusted_metadata: metadata("untrusted_metadata", request.untrusted_metadata)?,
        is_breakglass: request.is_breakglass,
        mfa_phone_number: given(request.mfa_phone_number)
            .map(|raw| phone(&raw))
            .transpose()?,
        mfa_enrolled: request.mfa_enrolled,
        roles: request.roles.map(roles).transpose()?,
        default_mfa_method: request
            .default_mfa_method
            .as_deref()
            .map(parse_default_mfa_method)
            .transpose()?,
        email: given(request.email_address)
            .map(|raw| Email::parse(&raw).map(|email| email.as_str().to_owned()))
            .transpose()?,
        external_id: request
            .external_id
            .as_deref()
            .map(external_id)
            .transpose()?,
    };
    let organization = find_organization(&state, project_id, &organization_id).await?;
    let now = Utc::now();
    let member = state
        .store
        .update_member(
            project_id,
            &organization.organization_id,
            &MemberRef::parse(&member_id),
            patch,
            now,
        )
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        MemberResponse::new(&member, &organization, now),
    ))
}

/// Bring a deleted member back, if its email is still free in the organization.
#[utoipa::path(put,
    path = "/v1/b2b/organizations/{organization_id}/members/{member_id}/reactivate",
    tag = "b2b.members", operation_id = "b2b.members.reactivate", params(("organization_id" = String, Path, description = "The organization's id, slug or external id."), ("member_id" = String, Path, description = "The member's id or external id.")),
    responses((status = 200, description = "The member, active.", body = Envelope<MemberResponse>)))]
pub(super) async fn reactivate(
    State(state): State<AppState>,
    auth: Authenticated,
    Segments(organization_id, member_id): Segments,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let organization = find_organization(&state, project_id, &organization_id).await?;
    let now = Utc::now();
    let member = state
        .store
        .reactivate_member(
            project_id,
            &organization.organization_id,
            &MemberRef::parse(&member_id),
            now,
        )
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        MemberResponse::new(&member, &organization, now),
    ))
}
