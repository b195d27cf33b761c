//! What B2B organizations and members need from storage: the [`B2bStore`] and [`MemberStore`]
//! traits, implemented for both engines in `sql_b2b.rs` and `sql_members.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::b2b::{Organization, OrganizationSlug};
use latchkey_core::ids::{MemberId, MemberSessionId, OrganizationId, ProjectId};
use latchkey_core::member::Member;
use latchkey_core::secret::SecretDigest;
use latchkey_core::session::{AuthenticationFactor, MemberSession};
use serde_json::{Map, Value};

use crate::{CodeDigest, Consume, NewTotp, ProjectSettings, StoreError, StoredTotp};

/// How a request names an organization: Stytch accepts its id, its slug or its external id.
#[derive(Clone, Debug)]
pub enum OrganizationRef {
    Id(OrganizationId),
    /// A slug, or else an external id (when one organization's slug is another's external id,
    /// the slug wins).
    SlugOrExternalId(String),
}

impl OrganizationRef {
    /// A well-formed organization id names by id; anything else by slug or external id.
    pub fn parse(raw: &str) -> OrganizationRef {
        match OrganizationId::parse(raw) {
            Ok(id) => OrganizationRef::Id(id),
            Err(_) => OrganizationRef::SlugOrExternalId(raw.to_owned()),
        }
    }
}

/// A change to an organization; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub slug: Option<OrganizationSlug>,
    pub logo_url: Option<String>,
    /// `Some(None)` removes the external id.
    pub external_id: Option<Option<String>>,
    /// Merged into the stored metadata: top-level keys replace, `null` deletes.
    pub trusted_metadata: Option<Map<String, Value>>,
    /// The update request's body: its setting fields are checked and applied.
    pub settings: Map<String, Value>,
}

/// One page of organizations.
#[derive(Clone, Debug)]
pub struct OrganizationPage {
    pub organizations: Vec<Organization>,
    pub total: i64,
    /// The `created_at`/id of the last organization returned, when more follow.
    pub next_cursor: Option<(i64, String)>,
}

/// What `organizations/search` filters on; every given filter must match (AND).
#[derive(Clone, Debug, Default)]
pub struct OrganizationFilter {
    pub organization_ids: Option<Vec<String>>,
    pub organization_slugs: Option<Vec<String>>,
    pub organization_name_fuzzy: Option<String>,
    pub organization_slug_fuzzy: Option<String>,
    pub external_ids: Option<Vec<String>>,
}

#[async_trait]
pub trait B2bStore: Send + Sync {
    /// Writes a new organization; `Conflict::DuplicateSlug` / `DuplicateOrganizationExternalId`.
    async fn create_organization(
        &self,
        project_id: &ProjectId,
        organization: &Organization,
    ) -> Result<(), StoreError>;
    async fn get_organization(
        &self,
        project_id: &ProjectId,
        organization: &OrganizationRef,
    ) -> Result<Option<Organization>, StoreError>;
    /// Applies `patch` to the organization in one transaction.
    async fn update_organization(
        &self,
        project_id: &ProjectId,
        organization: &OrganizationRef,
        patch: OrganizationPatch,
        now: DateTime<Utc>,
    ) -> Result<Organization, StoreError>;
    /// Deletes the organization and, with it, its members. Returns its id.
    async fn delete_organization(
        &self,
        project_id: &ProjectId,
        organization: &OrganizationRef,
    ) -> Result<OrganizationId, StoreError>;
    async fn search_organizations(
        &self,
        project_id: &ProjectId,
        filter: &OrganizationFilter,
        limit: u32,
        after: Option<(i64, String)>,
    ) -> Result<OrganizationPage, StoreError>;
}

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

/// A member session to start.
#[derive(Clone, Debug)]
pub struct NewMemberSession {
    pub member_session_id: MemberSessionId,
    pub token_digest: SecretDigest,
    pub expires_at: DateTime<Utc>,
    pub custom_claims: Map<String, Value>,
}

/// The session part of a member's authentication.
#[derive(Clone, Debug)]
pub enum MemberSessionWrite {
    Start(NewMemberSession, AuthenticationFactor),
    /// A presented session of the member, already updated (factor recorded, expiry moved).
    Continue(MemberSession),
}

/// A successful member authentication, written in one transaction: the lock cleared, the
/// TOTP step or recovery code used up, a pending member activated, the MFA preferences
/// applied, the session written.
#[derive(Clone, Debug)]
pub struct MemberCompletion {
    pub member_id: MemberId,
    pub consume: Option<Consume>,
    pub set_mfa_enrolled: Option<bool>,
    pub set_default_mfa_method: Option<String>,
    pub session: MemberSessionWrite,
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

    /// The member's TOTP registrations, verified first, then newest first.
    async fn member_totps(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
    ) -> Result<Vec<StoredTotp>, StoreError>;
    /// Gives the member a TOTP registration (a migrated one arrives verified). An unverified
    /// one it had is replaced; a verified one refuses with `Refusal::ActiveTotpExists`.
    async fn create_member_totp(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        totp: NewTotp,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError>;
    /// Removes the member's TOTP registrations (`Missing::Totp` when it has none).
    async fn delete_member_totp(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError>;
    /// Replaces the recovery codes of the member's verified registration `totp_id`.
    async fn rotate_member_recovery_codes(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        totp_id: &str,
        codes: Vec<CodeDigest>,
    ) -> Result<(), StoreError>;
    /// Counts a member's authentication attempt before it is checked, as `reserve_attempt`
    /// does for users.
    async fn reserve_member_attempt(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn complete_member(
        &self,
        project_id: &ProjectId,
        completion: MemberCompletion,
        now: DateTime<Utc>,
    ) -> Result<(Member, MemberSession), StoreError>;

    async fn member_session_by_token(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
    ) -> Result<Option<MemberSession>, StoreError>;
    async fn member_session_by_id(
        &self,
        project_id: &ProjectId,
        member_session_id: &MemberSessionId,
    ) -> Result<Option<MemberSession>, StoreError>;
    /// Writes a presented session's new access time, expiry and claims.
    async fn save_member_session(
        &self,
        project_id: &ProjectId,
        session: &MemberSession,
    ) -> Result<(), StoreError>;
    /// The member's sessions that have not expired, newest first.
    async fn member_sessions(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        now: DateTime<Utc>,
    ) -> Result<Vec<MemberSession>, StoreError>;
    /// Ends every session of the member.
    async fn revoke_all_member_sessions(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
    ) -> Result<(), StoreError>;
    /// Ends a member session; `Missing::Session` when there is none.
    async fn revoke_member_session(
        &self,
        project_id: &ProjectId,
        member_session_id: &MemberSessionId,
    ) -> Result<(), StoreError>;
}
