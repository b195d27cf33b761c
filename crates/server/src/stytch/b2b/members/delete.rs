//! Delete a member, or a member's TOTP.

use super::*;

#[derive(Serialize, ToSchema)]
pub struct DeleteMemberResponse {
    member_id: String,
}

/// Delete a member (its status becomes `deleted`) and end its sessions.
#[utoipa::path(delete, path = "/v1/b2b/organizations/{organization_id}/members/{member_id}",
    tag = "b2b.members", operation_id = "b2b.members.delete", params(("organization_id" = String, Path, description = "The organization's id, slug or external id."), ("member_id" = String, Path, description = "The member's id or external id.")),
    responses((status = 200, description = "The deleted member's id.",
               body = Envelope<DeleteMemberResponse>)))]
pub(super) async fn remove(
    State(state): State<AppState>,
    auth: Authenticated,
    Segments(organization_id, member_id): Segments,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let organization = find_organization(&state, project_id, &organization_id).await?;
    let deleted = state
        .store
        .delete_member(
            project_id,
            &organization.organization_id,
            &MemberRef::parse(&member_id),
            Utc::now(),
        )
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        DeleteMemberResponse {
            member_id: deleted.as_str().to_owned(),
        },
    ))
}

/// Remove a member's TOTP registration.
#[utoipa::path(delete, path = "/v1/b2b/organizations/{organization_id}/members/{member_id}/totp",
    tag = "b2b.members", operation_id = "b2b.members.delete_totp", params(("organization_id" = String, Path, description = "The organization's id, slug or external id."), ("member_id" = String, Path, description = "The member's id or external id.")),
    responses((status = 200, description = "The member, without TOTP.",
               body = Envelope<MemberResponse>)))]
pub(super) async fn delete_totp(
    State(state): State<AppState>,
    auth: Authenticated,
    Segments(organization_id, member_id): Segments,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let (organization, member) =
        organization_and_member(&state, project_id, Some(organization_id), Some(member_id)).await?;
    let now = Utc::now();
    let member = state
        .store
        .delete_member_totp(project_id, &member.member_id, now)
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        MemberResponse::new(&member, &organization, now),
    ))
}
