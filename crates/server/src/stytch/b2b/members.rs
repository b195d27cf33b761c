//! `/v1/b2b/organizations/{organization_id}/members`: create, get (by id or email), update,
//! delete, reactivate, delete TOTP; and `/v1/b2b/organizations/members/search`.
//!
//! A member is named by its id or, as Stytch allows, by its external id; its organization by
//! id, slug or external id.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, post, put};
use axum::Router;
use chrono::{DateTime, Utc};
use latchkey_core::b2b::Organization;
use latchkey_core::ids::{MemberId, OrganizationId, ProjectId};
use latchkey_core::member::{
    parse_default_mfa_method, parse_member_name, Member, MemberStatus, MEMBER_ROLE,
};
use latchkey_core::values::{parse_metadata, parse_roles, Email, ExternalId, PhoneNumber};
use latchkey_core::InputError;
use latchkey_store::{MemberFilter, MemberPatch, MemberRef, Missing, StoreError};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::organizations::{find_organization, organization_json};
use super::{
    encode_cursor, filter_bool, filter_strings, filter_text, search_operands, search_page,
    unknown_filter,
};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, Segment, Segments};
use crate::stytch::users::given;
use crate::stytch::{reply, timestamp};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/b2b/organizations/{organization_id}/members",
            post(create),
        )
        .route(
            "/v1/b2b/organizations/{organization_id}/member",
            axum::routing::get(get),
        )
        .route(
            "/v1/b2b/organizations/{organization_id}/members/{member_id}",
            put(update).delete(remove),
        )
        .route(
            "/v1/b2b/organizations/{organization_id}/members/{member_id}/reactivate",
            put(reactivate),
        )
        .route(
            "/v1/b2b/organizations/{organization_id}/members/{member_id}/totp",
            delete(delete_totp),
        )
        .route("/v1/b2b/organizations/members/search", post(search))
}

fn time_or_null(time: Option<DateTime<Utc>>) -> Value {
    time.map_or(Value::Null, |time| json!(timestamp(time)))
}

/// The Member object, every field present.
pub fn member_json(member: &Member, now: DateTime<Utc>) -> Value {
    let roles: Vec<Value> = member
        .all_roles()
        .iter()
        .map(|role| json!({"role_id": role, "sources": [{"type": "direct_assignment", "details": {}}]}))
        .collect();
    json!({
        "organization_id": member.organization_id,
        "member_id": member.member_id,
        "email_address": member.email,
        "status": member.status.as_str(),
        "name": member.name,
        "sso_registrations": [],
        "scim_registrations": [],
        "scim_registration": null,
        "is_breakglass": member.is_breakglass,
        "member_password_id": "",
        "oauth_registrations": [],
        "email_address_verified": member.email_verified,
        "mfa_phone_number_verified": member.mfa_phone_number_verified,
        "is_admin": member.is_admin(),
        "totp_registration_id": member.totp_registration_id,
        "retired_email_addresses": [],
        "is_locked": member.is_locked(now),
        "mfa_enrolled": member.mfa_enrolled,
        "mfa_phone_number": member.mfa_phone_number,
        "default_mfa_method": member.default_mfa_method,
        "roles": roles,
        "trusted_metadata": member.trusted_metadata,
        "untrusted_metadata": member.untrusted_metadata,
        "created_at": timestamp(member.created_at),
        "updated_at": timestamp(member.updated_at),
        "external_id": member.external_id.clone().unwrap_or_default(),
        "lock_created_at": time_or_null(member.lock_created_at),
        "lock_expires_at": time_or_null(member.lock_expires_at),
    })
}

/// `member_id`, `member` and `organization`: what every member response carries.
pub fn member_body(
    member: &Member,
    organization: &Organization,
    now: DateTime<Utc>,
) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("member_id".into(), json!(member.member_id));
    body.insert("member".into(), member_json(member, now));
    body.insert("organization".into(), organization_json(organization));
    body
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
        return Err(ApiError::named(
            "cannot_assign_default_rbac_role_id",
            StatusCode::BAD_REQUEST,
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

#[derive(Debug, Deserialize)]
pub struct CreateRequest {
    email_address: Option<String>,
    name: Option<String>,
    trusted_metadata: Option<Value>,
    untrusted_metadata: Option<Value>,
    create_member_as_pending: Option<bool>,
    is_breakglass: Option<bool>,
    mfa_phone_number: Option<String>,
    mfa_enrolled: Option<bool>,
    roles: Option<Vec<String>>,
    external_id: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(organization_id): Segment,
    JsonBody(request): JsonBody<CreateRequest>,
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
        member_body(&member, &organization, now),
    ))
}

#[derive(Debug, Deserialize)]
pub struct GetQuery {
    member_id: Option<String>,
    email_address: Option<String>,
}

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
        member_body(&member, &organization, Utc::now()),
    ))
}

#[derive(Debug, Deserialize)]
pub struct UpdateRequest {
    name: Option<String>,
    trusted_metadata: Option<Value>,
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

async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    Segments(organization_id, member_id): Segments,
    JsonBody(request): JsonBody<UpdateRequest>,
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
        member_body(&member, &organization, now),
    ))
}

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
        json!({"member_id": deleted}),
    ))
}

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
        member_body(&member, &organization, now),
    ))
}

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
        member_body(&member, &organization, now),
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

async fn search(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let organization_refs = match body.get("organization_ids") {
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
    let body = json!({
        "members": page.members.iter().map(|member| member_json(member, now)).collect::<Vec<_>>(),
        "organizations": organizations
            .iter()
            .filter(|(id, _)| page.members.iter().any(|m| m.organization_id.as_str() == id.as_str()))
            .map(|(id, organization)| (id.clone(), organization_json(organization)))
            .collect::<Map<String, Value>>(),
        "results_metadata": {
            "total": page.total,
            "next_cursor": page.next_cursor.as_ref().map(encode_cursor),
        },
    });
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
