//! `/v1/b2b/organizations/{organization_id}/members`: create, get (by id or email), update,
//! delete, reactivate, delete TOTP; and `/v1/b2b/organizations/members/search`.
//!
//! A member is named by its id or, as Stytch allows, by its external id; its organization by
//! id, slug or external id.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{MemberId, OrganizationId, ProjectId};
use latchkey_core::members::{
    parse_default_mfa_method, parse_member_name, Member, MemberStatus, MEMBER_ROLE,
};
use latchkey_core::organizations::Organization;
use latchkey_core::values::{parse_metadata, parse_roles, Email, ExternalId, PhoneNumber};
use latchkey_core::InputError;
use latchkey_store::{MemberFilter, MemberPatch, MemberRef, Missing, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::organizations::{find_organization, B2bResultsMetadata, OrganizationObject};
use super::{
    encode_cursor, filter_bool, filter_strings, filter_text, search_operands, search_page,
    unknown_filter,
};
use crate::error::{ApiError, ErrorType};
use crate::extract::{Authenticated, JsonBody, Segment, Segments};
use crate::stytch::users::given;
use crate::stytch::{reply, timestamp, Envelope};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(get))
        .routes(routes!(update, remove))
        .routes(routes!(reactivate))
        .routes(routes!(delete_totp))
        .routes(routes!(search))
}

/// The Member object, every field present.
#[derive(Serialize, ToSchema)]
pub struct MemberObject {
    organization_id: String,
    member_id: String,
    email_address: String,
    /// `active`, `pending`, `invited` or `deleted`.
    status: String,
    name: String,
    /// Always empty: Latchkey has no SSO.
    #[schema(value_type = Vec<Object>)]
    sso_registrations: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    scim_registrations: Vec<Value>,
    #[schema(value_type = Option<Object>)]
    scim_registration: Option<Value>,
    is_breakglass: bool,
    /// Always `""`: members hold no passwords yet.
    member_password_id: String,
    #[schema(value_type = Vec<Object>)]
    oauth_registrations: Vec<Value>,
    email_address_verified: bool,
    mfa_phone_number_verified: bool,
    is_admin: bool,
    /// `""` without TOTP.
    totp_registration_id: String,
    #[schema(value_type = Vec<Object>)]
    retired_email_addresses: Vec<Value>,
    is_locked: bool,
    mfa_enrolled: bool,
    mfa_phone_number: String,
    /// `totp`, `sms_otp` or `""`.
    default_mfa_method: String,
    /// `stytch_member` first, then the directly assigned roles.
    roles: Vec<MemberRole>,
    trusted_metadata: Map<String, Value>,
    untrusted_metadata: Map<String, Value>,
    created_at: String,
    updated_at: String,
    /// `""` when the member has none.
    external_id: String,
    lock_created_at: Option<String>,
    lock_expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberRole {
    role_id: String,
    sources: Vec<RoleSource>,
}

#[derive(Serialize, ToSchema)]
pub struct RoleSource {
    /// Always `direct_assignment`.
    #[serde(rename = "type")]
    kind: &'static str,
    details: Map<String, Value>,
}

impl MemberObject {
    pub fn new(member: &Member, now: DateTime<Utc>) -> MemberObject {
        MemberObject {
            organization_id: member.organization_id.as_str().to_owned(),
            member_id: member.member_id.as_str().to_owned(),
            email_address: member.email.clone(),
            status: member.status.as_str().to_owned(),
            name: member.name.clone(),
            sso_registrations: Vec::new(),
            scim_registrations: Vec::new(),
            scim_registration: None,
            is_breakglass: member.is_breakglass,
            member_password_id: String::new(),
            oauth_registrations: Vec::new(),
            email_address_verified: member.email_verified,
            mfa_phone_number_verified: member.mfa_phone_number_verified,
            is_admin: member.is_admin(),
            totp_registration_id: member.totp_registration_id.clone(),
            retired_email_addresses: Vec::new(),
            is_locked: member.is_locked(now),
            mfa_enrolled: member.mfa_enrolled,
            mfa_phone_number: member.mfa_phone_number.clone(),
            default_mfa_method: member.default_mfa_method.clone(),
            roles: member
                .all_roles()
                .into_iter()
                .map(|role_id| MemberRole {
                    role_id,
                    sources: vec![RoleSource {
                        kind: "direct_assignment",
                        details: Map::new(),
                    }],
                })
                .collect(),
            trusted_metadata: member.trusted_metadata.clone(),
            untrusted_metadata: member.untrusted_metadata.clone(),
            created_at: timestamp(member.created_at),
            updated_at: timestamp(member.updated_at),
            external_id: member.external_id.clone().unwrap_or_default(),
            lock_created_at: member.lock_created_at.map(timestamp),
            lock_expires_at: member.lock_expires_at.map(timestamp),
        }
    }
}

/// `member_id`, `member` and `organization`: what every member response carries.
#[derive(Serialize, ToSchema)]
pub struct MemberResponse {
    member_id: String,
    member: MemberObject,
    organization: OrganizationObject,
}

impl MemberResponse {
    pub fn new(member: &Member, organization: &Organization, now: DateTime<Utc>) -> MemberResponse {
        MemberResponse {
            member_id: member.member_id.as_str().to_owned(),
            member: MemberObject::new(member, now),
            organization: OrganizationObject::new(organization),
        }
    }
}

/// The live member a request names within `organization`, or `member_not_found`.
pub async fn find_member(
    state: &AppState,
    project_id: &ProjectId,
    organization: &Organization,
    member: &MemberRef,
) -> Result<Member, ApiError> {
    Ok(state
        .store
        .get_member(project_id, &organization.organization_id, member, false)
        .await?
        .ok_or(StoreError::NotFound(Missing::Member))?)
}

/// The organization and live member named by `organization_id` and `member_id` fields or path
/// segments; both are required.
pub async fn organization_and_member(
    state: &AppState,
    project_id: &ProjectId,
    organization_id: Option<String>,
    member_id: Option<String>,
) -> Result<(Organization, Member), ApiError> {
    let organization_id = given(organization_id)
        .ok_or_else(|| ApiError::bad_request("organization_id is required."))?;
    let member_id =
        given(member_id).ok_or_else(|| ApiError::bad_request("member_id is required."))?;
    let organization = find_organization(state, project_id, &organization_id).await?;
    let member = find_member(
        state,
        project_id,
        &organization,
        &MemberRef::parse(&member_id),
    )
    .await?;
    Ok((organization, member))
}

fn metadata(field: &str, value: Option<Value>) -> Result<Option<Map<String, Value>>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => Ok(Some(parse_metadata(field, value)?)),
    }
}

/// Directly assigned roles. `stytch_member` is every member's and cannot be assigned.
fn roles(roles: Vec<String>) -> Result<Vec<String>, ApiError> {
    let roles = parse_roles(roles)?;
    if roles.iter().any(|role| role == MEMBER_ROLE) {
        return Err(ApiError::new(
            ErrorType::CannotAssignDefaultRbacRoleId,
            "stytch_member is held by every member and cannot be assigned.",
        ));
    }
    Ok(roles)
}

fn phone(raw: &str) -> Result<String, ApiError> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    Ok(PhoneNumber::parse(raw)?.as_str().to_owned())
}

fn external_id(raw: &str) -> Result<Option<String>, ApiError> {
    if raw.is_empty() {
        return Ok(None);
    }
    Ok(Some(ExternalId::parse(raw)?.as_str().to_owned()))
}

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
async fn create(
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
async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(organization_id): Segment,
    Query(query): Query<GetQuery>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let member_ref = match (given(query.member_id), given(query.email_address)) {
        (Some(id), _) => MemberRef::parse(&id),
        (None, Some(email)) => MemberRef::Email(Email::parse(&email)?.as_str().to_owned()),
        (None, None) => {
            return Err(ApiError::bad_request(
                "Include one of member_id or email_address.",
            ))
        }
    };
    let organization = find_organization(&state, project_id, &organization_id).await?;
    let member = find_member(&state, project_id, &organization, &member_ref).await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        MemberResponse::new(&member, &organization, Utc::now()),
    ))
}

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
async fn update(
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

#[derive(Serialize, ToSchema)]
pub struct DeleteMemberResponse {
    member_id: String,
}

/// Delete a member (its status becomes `deleted`) and end its sessions.
#[utoipa::path(delete, path = "/v1/b2b/organizations/{organization_id}/members/{member_id}",
    tag = "b2b.members", operation_id = "b2b.members.delete", params(("organization_id" = String, Path, description = "The organization's id, slug or external id."), ("member_id" = String, Path, description = "The member's id or external id.")),
    responses((status = 200, description = "The deleted member's id.",
               body = Envelope<DeleteMemberResponse>)))]
async fn remove(
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

/// Bring a deleted member back, if its email is still free in the organization.
#[utoipa::path(put,
    path = "/v1/b2b/organizations/{organization_id}/members/{member_id}/reactivate",
    tag = "b2b.members", operation_id = "b2b.members.reactivate", params(("organization_id" = String, Path, description = "The organization's id, slug or external id."), ("member_id" = String, Path, description = "The member's id or external id.")),
    responses((status = 200, description = "The member, active.", body = Envelope<MemberResponse>)))]
async fn reactivate(
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

/// Remove a member's TOTP registration.
#[utoipa::path(delete, path = "/v1/b2b/organizations/{organization_id}/members/{member_id}/totp",
    tag = "b2b.members", operation_id = "b2b.members.delete_totp", params(("organization_id" = String, Path, description = "The organization's id, slug or external id."), ("member_id" = String, Path, description = "The member's id or external id.")),
    responses((status = 200, description = "The member, without TOTP.",
               body = Envelope<MemberResponse>)))]
async fn delete_totp(
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

/// The member search filters Stytch documents.
fn search_filter(query: Option<&Value>) -> Result<MemberFilter, ApiError> {
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
    page: super::organizations::B2bSearchRequest,
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
async fn search(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<MemberSearchRequest>,
) -> Result<Response, ApiError> {
    let organization_ids = request.organization_ids;
    let body = request.page.into_map();
    let project_id = &auth.project.project_id;
    let organization_refs = match &organization_ids {
        Some(value) => filter_strings(value).map_err(|_| {
            ApiError::bad_request("organization_ids must be a list of organization ids.")
        })?,
        None => Vec::new(),
    };
    if organization_refs.is_empty() {
        return Err(ApiError::bad_request(
            "organization_ids is required: at least one organization.",
        ));
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
