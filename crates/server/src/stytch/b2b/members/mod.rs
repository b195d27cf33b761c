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
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, Segment, Segments};
use crate::stytch::users::given;
use crate::stytch::{reply, timestamp, Envelope};
use crate::AppState;

mod create;
mod delete;
mod error;
mod get;
mod search;
mod update;

pub use error::MemberError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create))
        .routes(routes!(get::get))
        .routes(routes!(update::update, delete::remove))
        .routes(routes!(update::reactivate))
        .routes(routes!(delete::delete_totp))
        .routes(routes!(search::search))
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

pub(crate) fn metadata(
    field: &str,
    value: Option<Value>,
) -> Result<Option<Map<String, Value>>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => Ok(Some(parse_metadata(field, value)?)),
    }
}

/// Directly assigned roles. `stytch_member` is every member's and cannot be assigned.
pub(crate) fn roles(roles: Vec<String>) -> Result<Vec<String>, ApiError> {
    let roles = parse_roles(roles)?;
    if roles.iter().any(|role| role == MEMBER_ROLE) {
        return Err(MemberError::DefaultRoleAssigned.into());
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
