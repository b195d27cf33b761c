//! B2B organizations: the [`OrganizationStore`] trait, implemented in `sql/organizations.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{OrganizationId, ProjectId};
use latchkey_core::organizations::{Organization, OrganizationSlug};
use serde_json::{Map, Value};

use crate::*;

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
pub trait OrganizationStore: Send + Sync {
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
