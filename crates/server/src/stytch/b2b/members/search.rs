//! `POST /v1/b2b/organizations/members/search`: members across organizations, filtered.

use latchkey_core::search::MAX_VALUES_PER_OPERAND;

use super::*;

/// The member search filters Stytch documents.
pub(super) fn search_filter(query: Option<&Value>) -> Result<MemberFilter, ApiError> {
    let mut filter = MemberFilter::default();
    for (name, value) in search_operands(query)? {
        match name.as_str() {
            "member_ids" => filter.member_ids = Some(filter_strings(&value)?),
            "member_emails" => {
                // Stored lowercased; an address that cannot be valid matches nothing.
                let emails = filter_strings(&value)?;
                filter.emails = Some(
                    emails
                        .iter()
                        .map(|email| email.trim().to_lowercase())
                        .collect(),
                );
            }
            "member_email_fuzzy" => filter.email_fuzzy = Some(filter_text(&value)?),
            "member_is_breakglass" => filter.is_breakglass = Some(filter_bool(&value)?),
            "statuses" => {
                let statuses = filter_strings(&value)?;
                if let Some(bad) = statuses.iter().find(|s| MemberStatus::parse(s).is_none()) {
                    return Err(InputError::InvalidSearchQuery(format!(
                        "Unknown member status {bad}; use active, pending, invited or deleted."
                    ))
                    .into());
                }
                filter.statuses = Some(statuses);
            }
            "member_mfa_phone_numbers" => filter.mfa_phone_numbers = Some(filter_strings(&value)?),
            "member_mfa_phone_number_fuzzy" => {
                filter.mfa_phone_number_fuzzy = Some(filter_text(&value)?)
            }
            "member_password_exists" => filter.password_exists = Some(filter_bool(&value)?),
            "member_roles" => filter.roles = Some(filter_strings(&value)?),
            "member_external_ids" => filter.external_ids = Some(filter_strings(&value)?),
            other => return Err(unknown_filter(other)),
        }
    }
    Ok(filter)
}

/// A member search: the organizations to search (at least one), then `query` (AND of
/// operands), `limit` and `cursor`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberSearchRequest {
    /// Organization ids, slugs or external ids.
    #[schema(value_type = Vec<String>)]
    organization_ids: Option<Value>,
    #[serde(flatten)]
    page: crate::stytch::b2b::organizations::B2bSearchRequest,
}

#[derive(Serialize, ToSchema)]
pub struct SearchMembersResponse {
    members: Vec<MemberObject>,
    /// The organizations of the members on this page, by id.
    organizations: BTreeMap<String, OrganizationObject>,
    results_metadata: B2bResultsMetadata,
}

/// Search the members of some organizations.
#[utoipa::path(post, path = "/v1/b2b/organizations/members/search", tag = "b2b.members",
    operation_id = "b2b.members.search", request_body = MemberSearchRequest,
    responses((status = 200, description = "A page of members.",
               body = Envelope<SearchMembersResponse>)))]
pub(super) async fn search(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MemberSearchRequest>,
) -> Result<Response, ApiError> {
    let organization_ids = request.organization_ids;
    let body = request.page.into_map();
    let project_id = &auth.project.project_id;
    let organization_refs = match &organization_ids {
        Some(value) => filter_strings(value).map_err(|_| MemberError::OrganizationIdsNotIds)?,
        None => Vec::new(),
    };
    if organization_refs.is_empty() {
        return Err(MemberError::NoOrganizations.into());
    }
    // Each is looked up, and each is a bound parameter of the search.
    if organization_refs.len() > MAX_VALUES_PER_OPERAND {
        return Err(ApiError::bad_request(format!(
            "organization_ids may name at most {MAX_VALUES_PER_OPERAND} organizations."
        )));
    }
    let filter = search_filter(body.get("query"))?;
    let (limit, after) = search_page(&body, |id| MemberId::parse(id).is_ok())?;
    let mut organizations = BTreeMap::new();
    for raw in &organization_refs {
        let organization = find_organization(&state, project_id, raw).await?;
        organizations.insert(
            organization.organization_id.as_str().to_owned(),
            organization,
        );
    }
    let organization_ids: Vec<OrganizationId> = organizations
        .values()
        .map(|organization| organization.organization_id.clone())
        .collect();
    let page = state
        .store
        .search_members(project_id, &organization_ids, &filter, limit, after)
        .await?;
    let now = Utc::now();
    let body = SearchMembersResponse {
        members: page
            .members
            .iter()
            .map(|member| MemberObject::new(member, now))
            .collect(),
        organizations: organizations
            .iter()
            .filter(|(id, _)| {
                page.members
                    .iter()
                    .any(|member| member.organization_id.as_str() == id.as_str())
            })
            .map(|(id, organization)| (id.clone(), OrganizationObject::new(organization)))
            .collect(),
        results_metadata: B2bResultsMetadata {
            total: page.total,
            next_cursor: page.next_cursor.as_ref().map(encode_cursor),
        },
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
