//! `GET /v1/b2b/organizations/{organization_id}/member`: one member by id or email.

use super::*;

/// One of the two.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetQuery {
    /// The member's id or external id.
    member_id: Option<String>,
    email_address: Option<String>,
}

/// A member of an organization, by id, external id or email address.
#[utoipa::path(get, path = "/v1/b2b/organizations/{organization_id}/member",
    tag = "b2b.members", operation_id = "b2b.members.get", params(("organization_id" = String, Path, description = "The organization's id, slug or external id."), GetQuery),
    responses((status = 200, description = "The member.", body = Envelope<MemberResponse>)))]
pub(super) async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(organization_id): Segment,
    Query(query): Query<GetQuery>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let member_ref = match (given(query.member_id), given(query.email_address)) {
        (Some(id), _) => MemberRef::parse(&id),
        (None, Some(email)) => MemberRef::Email(Email::parse(&email)?.as_str().to_owned()),
        (None, None) => return Err(MemberError::NoMemberIdentifier.into()),
    };
    let organization = find_organization(&state, project_id, &organization_id).await?;
    let member = find_member(&state, project_id, &organization, &member_ref).await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        MemberResponse::new(&member, &organization, Utc::now()),
    ))
}
