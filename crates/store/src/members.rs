//! B2B members: the [`MemberStore`] trait, implemented in `sql/members.rs`. Members have their
//! own tables, never mixed with users.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{MemberId, OrganizationId, ProjectId};
use latchkey_core::members::Member;
use serde_json::{Map, Value};

use crate::*;

/// How a request names a member of an organization: its id, or its external id (Stytch accepts
/// either where a `member_id` is expected), or its email (`members/get`).
#[derive(Clone, Debug)]
pub enum MemberRef {
    Id(MemberId),
    ExternalId(String),
    Email(String),
}

impl MemberRef {
    /// A well-formed member id names by id; anything else by external id.
    pub fn parse(raw: &str) -> MemberRef {
        match MemberId::parse(raw) {
            Ok(id) => MemberRef::Id(id),
            Err(_) => MemberRef::ExternalId(raw.to_owned()),
        }
    }
}

/// A change to a member; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct MemberPatch {
    pub name: Option<String>,
    /// Merged into the stored metadata: top-level keys replace, `null` deletes.
    pub trusted_metadata: Option<Map<String, Value>>,
    pub untrusted_metadata: Option<Map<String, Value>>,
    pub is_breakglass: Option<bool>,
    /// A new MFA phone number; refused when the member has one already.
    pub mfa_phone_number: Option<String>,
    pub mfa_enrolled: Option<bool>,
    pub roles: Option<Vec<String>>,
    pub default_mfa_method: Option<String>,
    /// A new email: it is unverified until proven.
    pub email: Option<String>,
    /// `Some(None)` removes the external id.
    pub external_id: Option<Option<String>>,
}

/// What `members/search` filters on within its organizations; every given filter must match.
#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    pub member_ids: Option<Vec<String>>,
    pub emails: Option<Vec<String>>,
    pub email_fuzzy: Option<String>,
    pub is_breakglass: Option<bool>,
    /// Without it, deleted members are left out.
    pub statuses: Option<Vec<String>>,
    pub mfa_phone_numbers: Option<Vec<String>>,
    pub mfa_phone_number_fuzzy: Option<String>,
    /// Members hold no passwords yet: `true` matches none, `false` all.
    pub password_exists: Option<bool>,
    /// Members holding any of these roles (`stytch_member` is held by all).
    pub roles: Option<Vec<String>>,
    pub external_ids: Option<Vec<String>>,
}

/// One page of members.
#[derive(Clone, Debug)]
pub struct MemberPage {
    pub members: Vec<Member>,
    pub total: i64,
    pub next_cursor: Option<(i64, String)>,
}

#[async_trait]
pub trait MemberStore: Send + Sync {
    /// Writes a new member of an existing organization; `Conflict::DuplicateMemberEmail` /
    /// `DuplicateMemberExternalId`.
    async fn create_member(
        &self,
        project_id: &ProjectId,
        member: &Member,
    ) -> Result<(), StoreError>;

    /// A member that is not deleted, unless `include_deleted`.
    async fn get_member(
        &self,
        project_id: &ProjectId,
        organization_id: &OrganizationId,
        member: &MemberRef,
        include_deleted: bool,
    ) -> Result<Option<Member>, StoreError>;

    /// Applies `patch` to a member that is not deleted, in one transaction.
    async fn update_member(
        &self,
        project_id: &ProjectId,
        organization_id: &OrganizationId,
        member: &MemberRef,
        patch: MemberPatch,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError>;

    /// Marks the member deleted and ends its sessions. Returns its id.
    async fn delete_member(
        &self,
        project_id: &ProjectId,
        organization_id: &OrganizationId,
        member: &MemberRef,
        now: DateTime<Utc>,
    ) -> Result<MemberId, StoreError>;

    /// Makes a deleted member active again; its email must not be taken meanwhile.
    async fn reactivate_member(
        &self,
        project_id: &ProjectId,
        organization_id: &OrganizationId,
        member: &MemberRef,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError>;

    async fn search_members(
        &self,
        project_id: &ProjectId,
        organization_ids: &[OrganizationId],
        filter: &MemberFilter,
        limit: u32,
        after: Option<(i64, String)>,
    ) -> Result<MemberPage, StoreError>;
}
