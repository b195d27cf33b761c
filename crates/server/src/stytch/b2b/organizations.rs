//! `/v1/b2b/organizations`: create, get, update, delete, search.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use latchkey_core::b2b::{
    apply_settings, parse_logo_url, parse_organization_name, settings_json, Organization,
    OrganizationSlug,
};
use latchkey_core::ids::{OrganizationId, ProjectId};
use latchkey_core::values::{parse_metadata, ExternalId};
use latchkey_core::InputError;
use latchkey_store::{Missing, OrganizationFilter, OrganizationPatch, OrganizationRef, StoreError};
use serde_json::{json, Map, Value};

use super::{
    encode_cursor, filter_strings, filter_text, search_operands, search_page, unknown_filter,
};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, Segment};
use crate::stytch::{reply, timestamp};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/b2b/organizations", post(create))
        .route("/v1/b2b/organizations/search", post(search))
        .route(
            "/v1/b2b/organizations/{organization_id}",
            axum::routing::get(get).put(update).delete(delete),
        )
}

/// The Organization object, every field present.
pub fn organization_json(organization: &Organization) -> Value {
    let mut fields = Map::new();
    fields.insert(
        "organization_id".into(),
        json!(organization.organization_id),
    );
    fields.insert("organization_name".into(), json!(organization.name));
    fields.insert("organization_logo_url".into(), json!(organization.logo_url));
    fields.insert(
        "organization_slug".into(),
        json!(organization.slug.as_str()),
    );
    fields.extend(settings_json(&organization.settings));
    fields.insert("sso_active_connections".into(), json!([]));
    fields.insert("sso_default_connection_id".into(), Value::Null);
    fields.insert("scim_active_connection".into(), Value::Null);
    fields.insert("rbac_email_implicit_role_assignments".into(), json!([]));
    fields.insert("custom_roles".into(), json!([]));
    fields.insert("allowed_oauth_tenants".into(), json!({}));
    fields.insert(
        "trusted_metadata".into(),
        json!(organization.trusted_metadata),
    );
    fields.insert(
        "organization_external_id".into(),
        json!(organization.external_id.clone().unwrap_or_default()),
    );
    fields.insert(
        "created_at".into(),
        json!(timestamp(organization.created_at)),
    );
    fields.insert(
        "updated_at".into(),
        json!(timestamp(organization.updated_at)),
    );
    Value::Object(fields)
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

async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let project_id = &auth.project.project_id;
    let name =
        parse_organization_name(&optional_string(&body, "organization_name")?.unwrap_or_default())?;
    let slug = match optional_string(&body, "organization_slug")?.filter(|s| !s.is_empty()) {
        Some(slug) => OrganizationSlug::parse(&slug)?,
        None => OrganizationSlug::from_name(&name).ok_or_else(|| {
            ApiError::from(InputError::Named {
                error_type: "invalid_organization_slug",
                message: "organization_slug is required when the name has no letters or digits."
                    .to_owned(),
            })
        })?,
    };
    let mut settings = Map::new();
    apply_settings(&mut settings, &body)?;
    let now = Utc::now();
    let organization = Organization {
        organization_id: OrganizationId::generate(project_id.environment()),
        name,
        slug,
        logo_url: parse_logo_url(
            &optional_string(&body, "organization_logo_url")?.unwrap_or_default(),
        )?,
        external_id: external_id(
            &optional_string(&body, "organization_external_id")?.unwrap_or_default(),
        )?,
        trusted_metadata: metadata(&body)?.unwrap_or_default(),
        settings,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .create_organization(project_id, &organization)
        .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        json!({"organization": organization_json(&organization)}),
    ))
}

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
        json!({"organization": organization_json(&organization)}),
    ))
}

async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    Segment(organization_id): Segment,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
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
        json!({"organization": organization_json(&organization)}),
    ))
}

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
        json!({"organization_id": deleted}),
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

async fn search(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let filter = search_filter(body.get("query"))?;
    let (limit, after) = search_page(&body, |id| OrganizationId::parse(id).is_ok())?;
    let page = state
        .store
        .search_organizations(&auth.project.project_id, &filter, limit, after)
        .await?;
    let body = json!({
        "organizations": page.organizations.iter().map(organization_json).collect::<Vec<_>>(),
        "results_metadata": {
            "total": page.total,
            "next_cursor": page.next_cursor.as_ref().map(encode_cursor),
        },
    });
    Ok(reply(&auth.request_id, StatusCode::OK, body))
}
