//! `/v1/b2b/organizations`: create, get, update, delete, search.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use latchkey_core::ids::{OrganizationId, ProjectId};
use latchkey_core::organizations::{
    creation_settings, parse_logo_url, parse_organization_name, settings, settings_json,
    Organization, OrganizationSlug, Setting,
};
use latchkey_core::values::{parse_metadata, ExternalId};
use latchkey_core::InputError;
use latchkey_store::{Missing, OrganizationFilter, OrganizationPatch, OrganizationRef, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    encode_cursor, filter_strings, filter_text, search_operands, search_page, unknown_filter,
};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, Segment};
use crate::stytch::{reply, timestamp, Envelope};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(search))
        .routes(routes!(get, update, delete))
}

/// The Organization object, every field present.
#[derive(Serialize, ToSchema)]
pub struct OrganizationObject {
    organization_id: String,
    organization_name: String,
    organization_logo_url: String,
    organization_slug: String,
    #[serde(flatten)]
    settings: OrganizationSettings,
    /// Always empty: Latchkey has no SSO.
    #[schema(value_type = Vec<Object>)]
    sso_active_connections: Vec<Value>,
    sso_default_connection_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    scim_active_connection: Option<Value>,
    #[schema(value_type = Vec<Object>)]
    rbac_email_implicit_role_assignments: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    custom_roles: Vec<Value>,
    allowed_oauth_tenants: Map<String, Value>,
    trusted_metadata: Map<String, Value>,
    /// `""` when the organization has none.
    organization_external_id: String,
    created_at: String,
    updated_at: String,
}

impl OrganizationObject {
    pub fn new(organization: &Organization) -> OrganizationObject {
        OrganizationObject {
            organization_id: organization.organization_id.as_str().to_owned(),
            organization_name: organization.name.clone(),
            organization_logo_url: organization.logo_url.clone(),
            organization_slug: organization.slug.as_str().to_owned(),
            settings: OrganizationSettings(settings_json(&organization.settings)),
            sso_active_connections: Vec::new(),
            sso_default_connection_id: None,
            scim_active_connection: None,
            rbac_email_implicit_role_assignments: Vec::new(),
            custom_roles: Vec::new(),
            allowed_oauth_tenants: Map::new(),
            trusted_metadata: organization.trusted_metadata.clone(),
            organization_external_id: organization.external_id.clone().unwrap_or_default(),
            created_at: timestamp(organization.created_at),
            updated_at: timestamp(organization.updated_at),
        }
    }
}

/// Every setting of an organization, stored or Stytch's default. Its schema is drawn from the
/// core's table of settings, the same table that checks them.
#[derive(Serialize)]
#[serde(transparent)]
pub struct OrganizationSettings(Map<String, Value>);

impl utoipa::PartialSchema for OrganizationSettings {
    fn schema() -> RefOr<Schema> {
        settings_schema(true)
    }
}

impl ToSchema for OrganizationSettings {}

/// The settings a create or update may set; absent or `null` leaves one as it is.
pub struct OrganizationSettingsRequest;

impl utoipa::PartialSchema for OrganizationSettingsRequest {
    fn schema() -> RefOr<Schema> {
        settings_schema(false)
    }
}

impl ToSchema for OrganizationSettingsRequest {}

fn settings_schema(response: bool) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    for (name, kind, default) in settings() {
        let strings = |values: Option<&'static [&'static str]>| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(values.map(|values| values.to_vec()))
        };
        let mut schema: Schema = match kind {
            Setting::OneOf(values) => strings(Some(values)).into(),
            Setting::ListOf(values) => ArrayBuilder::new().items(strings(*values)).into(),
        };
        if let (Schema::Object(object), false) = (&mut schema, default.is_empty()) {
            object.default = Some(Value::String(default.to_owned()));
        }
        if !response {
            schema = Schema::OneOf(
                utoipa::openapi::schema::OneOfBuilder::new()
                    .item(schema)
                    .item(ObjectBuilder::new().schema_type(Type::Null))
                    .build(),
            );
        }
        object = object.property(name, schema);
        if response {
            object = object.required(name);
        }
    }
    object.into()
}

/// The organization a path names by id, slug or external id, or `organization_not_found`.
pub async fn find_organization(
    state: &AppState,
    project_id: &ProjectId,
    raw: &str,
) -> Result<Organization, ApiError> {
    Ok(state
        .store
        .get_organization(project_id, &OrganizationRef::parse(raw))
        .await?
        .ok_or(StoreError::NotFound(Missing::Organization))?)
}

fn optional_string(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::bad_request(format!("{field} must be a string."))),
    }
}

fn external_id(raw: &str) -> Result<Option<String>, ApiError> {
    if raw.is_empty() {
        return Ok(None);
    }
    Ok(Some(ExternalId::parse(raw)?.as_str().to_owned()))
}

fn metadata(body: &Map<String, Value>) -> Result<Option<Map<String, Value>>, ApiError> {
    match body.get("trusted_metadata") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => Ok(Some(parse_metadata("trusted_metadata", value.clone())?)),
    }
}

/// A create or update body. Its named fields stay JSON values so that each gets its own
/// clear error; the settings are the other fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrganizationRequest {
    /// Required to create.
    #[schema(value_type = Option<String>)]
    organization_name: Option<Value>,
    /// Made from the name when absent at creation.
    #[schema(value_type = Option<String>)]
    organization_slug: Option<Value>,
    #[schema(value_type = Option<String>)]
    organization_logo_url: Option<Value>,
    #[schema(value_type = Option<String>)]
    organization_external_id: Option<Value>,
    #[schema(value_type = Option<Object>)]
    trusted_metadata: Option<Value>,
    #[serde(flatten)]
    #[schema(value_type = OrganizationSettingsRequest)]
    settings: Map<String, Value>,
}

impl OrganizationRequest {
    /// The body as the field readers and the settings check take it.
    fn into_map(self) -> Map<String, Value> {
        let mut body = self.settings;
        for (name, value) in [
            ("organization_name", self.organization_name),
            ("organization_slug", self.organization_slug),
            ("organization_logo_url", self.organization_logo_url),
            ("organization_external_id", self.organization_external_id),
            ("trusted_metadata", self.trusted_metadata),
        ] {
            if let Some(value) = value {
                body.insert(name.to_owned(), value);
            }
        }
        body
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationResponse {
    organization: OrganizationObject,
}

impl OrganizationResponse {
    fn new(organization: &Organization) -> OrganizationResponse {
        OrganizationResponse {
            organization: OrganizationObject::new(organization),
        }
    }
}

/// A new organization from a create body's fields (name, slug, logo, external id, trusted
/// metadata, settings), each checked.
pub(crate) fn organization_from_body(
    project_id: &ProjectId,
    body: &Map<String, Value>,
    now: chrono::DateTime<Utc>,
) -> Result<Organization, ApiError> {
    let name =
        parse_organization_name(&optional_string(body, "organization_name")?.unwrap_or_default())?;
    let slug = match optional_string(body, "organization_slug")?.filter(|s| !s.is_empty()) {
        Some(slug) => OrganizationSlug::parse(&slug)?,
        None => OrganizationSlug::from_name(&name).ok_or_else(|| {
            ApiError::from(InputError::Named {
                error_type: "invalid_organization_slug",
                message: "organization_slug is required when the name has no letters or digits."
                    .to_owned(),
            })
        })?,
    };
    let settings = creation_settings(body)?;
    Ok(Organization {
        organization_id: OrganizationId::generate(project_id.environment()),
        name,
        slug,
        logo_url: parse_logo_url(
            &optional_string(body, "organization_logo_url")?.unwrap_or_default(),
        )?,
        external_id: external_id(
            &optional_string(body, "organization_external_id")?.unwrap_or_default(),
        )?,
        trusted_metadata: metadata(body)?.unwrap_or_default(),
        settings,
        created_at: now,
        updated_at: now,
    })
}

/// Create an organization.
#[utoipa::path(post, path = "/v1/b2b/organizations", tag = "b2b.organizations",
    operation_id = "b2b.organizations.create", request_body = OrganizationRequest,
    responses((status = 200, description = "The new organization.",
               body = Envelope<OrganizationResponse>)))]
async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<OrganizationRequest>,
) -> Result<Response, ApiError> {
    let body = request.into_map();
    let project_id = &auth.project.project_id;
    let organization = organization_from_body(project_id, &body, Utc::now())?;
    state
        .store
        .create_organization(project_id, &organization)
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        OrganizationResponse::new(&organization),
    ))
}

/// An organization, by id, slug or external id.
#[utoipa::path(get, path = "/v1/b2b/organizations/{organization_id}", tag = "b2b.organizations",
    operation_id = "b2b.organizations.get", params(("organization_id" = String, Path,
        description = "The organization's id, slug or external id.")),
    responses((status = 200, description = "The organization.",
               body = Envelope<OrganizationResponse>)))]
async fn get(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(organization_id): Segment,
) -> Result<Response, ApiError> {
    let organization =
        find_organization(&state, &auth.project.project_id, &organization_id).await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        OrganizationResponse::new(&organization),
    ))
}

/// Change an organization's name, slug, logo, external id, metadata or settings.
#[utoipa::path(put, path = "/v1/b2b/organizations/{organization_id}", tag = "b2b.organizations",
    operation_id = "b2b.organizations.update", params(("organization_id" = String, Path,
        description = "The organization's id, slug or external id.")), request_body = OrganizationRequest,
    responses((status = 200, description = "The organization.",
               body = Envelope<OrganizationResponse>)))]
async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(organization_id): Segment,
    JsonBody(request): JsonBody<OrganizationRequest>,
) -> Result<Response, ApiError> {
    let body = request.into_map();
    let project_id = &auth.project.project_id;
    let patch = OrganizationPatch {
        name: optional_string(&body, "organization_name")?
            .map(|name| parse_organization_name(&name))
            .transpose()?,
        slug: optional_string(&body, "organization_slug")?
            .map(|slug| OrganizationSlug::parse(&slug))
            .transpose()?,
        logo_url: optional_string(&body, "organization_logo_url")?
            .map(|url| parse_logo_url(&url))
            .transpose()?,
        external_id: optional_string(&body, "organization_external_id")?
            .map(|id| external_id(&id))
            .transpose()?,
        trusted_metadata: metadata(&body)?,
        settings: body,
    };
    let organization = state
        .store
        .update_organization(
            project_id,
            &OrganizationRef::parse(&organization_id),
            patch,
            Utc::now(),
        )
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        OrganizationResponse::new(&organization),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct DeleteOrganizationResponse {
    organization_id: String,
}

/// Delete an organization with its members and their sessions.
#[utoipa::path(delete, path = "/v1/b2b/organizations/{organization_id}",
    tag = "b2b.organizations", operation_id = "b2b.organizations.delete", params(("organization_id" = String, Path,
        description = "The organization's id, slug or external id.")),
    responses((status = 200, description = "The deleted organization's id.",
               body = Envelope<DeleteOrganizationResponse>)))]
async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(organization_id): Segment,
) -> Result<Response, ApiError> {
    let deleted = state
        .store
        .delete_organization(
            &auth.project.project_id,
            &OrganizationRef::parse(&organization_id),
        )
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        DeleteOrganizationResponse {
            organization_id: deleted.as_str().to_owned(),
        },
    ))
}

/// The organization search filters Latchkey serves.
fn search_filter(query: Option<&Value>) -> Result<OrganizationFilter, ApiError> {
    let mut filter = OrganizationFilter::default();
    for (name, value) in search_operands(query)? {
        match name.as_str() {
            "organization_ids" => filter.organization_ids = Some(filter_strings(&value)?),
            "organization_slugs" => filter.organization_slugs = Some(filter_strings(&value)?),
            "organization_external_ids" => filter.external_ids = Some(filter_strings(&value)?),
            "organization_name_fuzzy" => {
                filter.organization_name_fuzzy = Some(filter_text(&value)?)
            }
            "organization_slug_fuzzy" => {
                filter.organization_slug_fuzzy = Some(filter_text(&value)?)
            }
            other => return Err(unknown_filter(other)),
        }
    }
    Ok(filter)
}

/// A search body: `query` as for users (AND of operands), `limit` and `cursor`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct B2bSearchRequest {
    #[schema(value_type = Option<Object>)]
    query: Option<Value>,
    #[schema(value_type = Option<i64>)]
    limit: Option<Value>,
    #[schema(value_type = Option<String>)]
    cursor: Option<Value>,
}

impl B2bSearchRequest {
    /// The body as the shared search readers take it.
    pub fn into_map(self) -> Map<String, Value> {
        [
            ("query", self.query),
            ("limit", self.limit),
            ("cursor", self.cursor),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name.to_owned(), value)))
        .collect()
    }
}

#[derive(Serialize, ToSchema)]
pub struct SearchOrganizationsResponse {
    organizations: Vec<OrganizationObject>,
    results_metadata: B2bResultsMetadata,
}

#[derive(Serialize, ToSchema)]
pub struct B2bResultsMetadata {
    pub total: i64,
    pub next_cursor: Option<String>,
}

/// Search organizations by ids, slugs, external ids or fuzzy name and slug.
#[utoipa::path(post, path = "/v1/b2b/organizations/search", tag = "b2b.organizations",
    operation_id = "b2b.organizations.search", request_body = B2bSearchRequest,
    responses((status = 200, description = "A page of organizations.",
               body = Envelope<SearchOrganizationsResponse>)))]
async fn search(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<B2bSearchRequest>,
) -> Result<Response, ApiError> {
    let body = request.into_map();
    let filter = search_filter(body.get("query"))?;
    let (limit, after) = search_page(&body, |id| OrganizationId::parse(id).is_ok())?;
    let page = state
        .store
        .search_organizations(&auth.project.project_id, &filter, limit, after)
        .await?;
    let body = SearchOrganizationsResponse {
        organizations: page
            .organizations
            .iter()
            .map(OrganizationObject::new)
            .collect(),
        results_metadata: B2bResultsMetadata {
            total: page.total,
            next_cursor: page.next_cursor.as_ref().map(encode_cursor),
        },
    };
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
