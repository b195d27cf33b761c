//! `OrganizationStore`: organizations, their slugs, external ids and settings.

use super::*;

pub(super) const ORGANIZATION_COLUMNS: &str =
    "organization_id, name, slug, logo_url, external_id, trusted_metadata, settings, created_at, updated_at";

pub(super) fn organization_row(
    row: &<Db as sqlx::Database>::Row,
) -> Result<Organization, StoreError> {
    Ok(Organization {
        organization_id: stored_id(
            row,
            "organizations",
            "organization_id",
            OrganizationId::parse,
        )?,
        name: row.try_get("name")?,
        slug: stored_id(row, "organizations", "slug", OrganizationSlug::parse)?,
        logo_url: row.try_get("logo_url")?,
        external_id: row.try_get("external_id")?,
        trusted_metadata: metadata(row, "organizations", "trusted_metadata")?,
        settings: metadata(row, "organizations", "settings")?,
        created_at: instant(row, "organizations", "created_at")?,
        updated_at: instant(row, "organizations", "updated_at")?,
    })
}

/// Maps the organizations' unique constraints to their conflicts.
pub(super) fn organization_conflict(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db_error) = &error {
        if db_error.is_unique_violation() {
            let names = |needle: &str| {
                db_error.message().contains(needle)
                    || db_error.constraint().unwrap_or_default().contains(needle)
            };
            if names("slug") {
                return StoreError::Conflict(Conflict::DuplicateOrganizationSlug);
            }
            if names("external_id") {
                return StoreError::Conflict(Conflict::DuplicateOrganizationExternalId);
            }
        }
    }
    error.into()
}

pub(super) async fn find_organization(
    conn: &mut Conn,
    project: &str,
    organization: &OrganizationRef,
    lock: bool,
) -> Result<Option<Organization>, StoreError> {
    let (condition, value) = match organization {
        OrganizationRef::Id(id) => ("organization_id = $2", id.as_str()),
        OrganizationRef::SlugOrExternalId(key) => (
            "(slug = $2 OR external_id = $2) ORDER BY CASE WHEN slug = $2 THEN 0 ELSE 1 END LIMIT 1",
            key.as_str(),
        ),
    };
    let sql = format!(
        "SELECT {ORGANIZATION_COLUMNS} FROM organizations WHERE project_id = $1 AND {condition}{}",
        if lock { FOR_UPDATE } else { "" }
    );
    let row = sqlx::query(&sql)
        .bind(project)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(organization_row).transpose()
}

pub(super) fn push_organization_filter<'a>(
    query: &mut QueryBuilder<'a, Db>,
    project: &str,
    filter: &OrganizationFilter,
) {
    query.push(" WHERE project_id = ");
    query.push_bind(project.to_owned());
    let lists = [
        ("organization_id", &filter.organization_ids),
        ("slug", &filter.organization_slugs),
        ("external_id", &filter.external_ids),
    ];
    for (column, values) in lists {
        match values {
            Some(values) if values.is_empty() => {
                query.push(" AND 1 = 0");
            }
            Some(values) => {
                query.push(format!(" AND {column} IN "));
                push_list(query, values);
            }
            None => {}
        }
    }
    let fuzzy = [
        ("name", &filter.organization_name_fuzzy),
        ("slug", &filter.organization_slug_fuzzy),
    ];
    for (column, text) in fuzzy {
        if let Some(text) = text {
            query.push(format!(" AND LOWER({column}) LIKE "));
            query.push_bind(like_contains(&text.to_lowercase()));
            query.push(" ESCAPE '\\'");
        }
    }
}

/// Writes a new organization; `Conflict::DuplicateOrganizationSlug` /
/// `DuplicateOrganizationExternalId`.
pub(super) async fn insert_organization(
    conn: &mut Conn,
    project: &str,
    organization: &Organization,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO organizations (organization_id, project_id, name, slug, logo_url, external_id, \
         trusted_metadata, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(organization.organization_id.as_str())
    .bind(project)
    .bind(&organization.name)
    .bind(organization.slug.as_str())
    .bind(&organization.logo_url)
    .bind(&organization.external_id)
    .bind(metadata_to_text("trusted_metadata", &organization.trusted_metadata)?)
    .bind(metadata_to_text("organization settings", &organization.settings)?)
    .bind(to_micros(organization.created_at))
    .bind(to_micros(organization.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(organization_conflict)?;
    Ok(())
}

#[async_trait]
impl OrganizationStore for Engine {
    async fn create_organization(
        &self,
        project_id: &ProjectId,
        organization: &Organization,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        insert_organization(&mut conn, project_id.as_str(), organization).await
    }

    async fn get_organization(
        &self,
        project_id: &ProjectId,
        organization: &OrganizationRef,
    ) -> Result<Option<Organization>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        find_organization(&mut conn, project_id.as_str(), organization, false).await
    }

    async fn update_organization(
        &self,
        project_id: &ProjectId,
        organization: &OrganizationRef,
        patch: OrganizationPatch,
        now: DateTime<Utc>,
    ) -> Result<Organization, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let mut current = find_organization(&mut tx, project, organization, true)
            .await?
            .ok_or(StoreError::NotFound(Missing::Organization))?;
        if let Some(name) = patch.name {
            current.name = name;
        }
        if let Some(slug) = patch.slug {
            current.slug = slug;
        }
        if let Some(logo_url) = patch.logo_url {
            current.logo_url = logo_url;
        }
        if let Some(external_id) = patch.external_id {
            current.external_id = external_id;
        }
        if let Some(metadata) = patch.trusted_metadata {
            merge_metadata("trusted_metadata", &mut current.trusted_metadata, metadata)?;
        }
        latchkey_core::organizations::apply_settings(&mut current.settings, &patch.settings)?;
        current.updated_at = now;
        sqlx::query(
            "UPDATE organizations SET name = $1, slug = $2, logo_url = $3, external_id = $4, \
             trusted_metadata = $5, settings = $6, updated_at = $7 WHERE project_id = $8 AND organization_id = $9",
        )
        .bind(&current.name)
        .bind(current.slug.as_str())
        .bind(&current.logo_url)
        .bind(&current.external_id)
        .bind(metadata_to_text("trusted_metadata", &current.trusted_metadata)?)
        .bind(metadata_to_text("organization settings", &current.settings)?)
        .bind(to_micros(now))
        .bind(project)
        .bind(current.organization_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(organization_conflict)?;
        tx.commit().await?;
        Ok(current)
    }

    async fn delete_organization(
        &self,
        project_id: &ProjectId,
        organization: &OrganizationRef,
    ) -> Result<OrganizationId, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let found = find_organization(&mut tx, project, organization, true)
            .await?
            .ok_or(StoreError::NotFound(Missing::Organization))?;
        sqlx::query("DELETE FROM organizations WHERE project_id = $1 AND organization_id = $2")
            .bind(project)
            .bind(found.organization_id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(found.organization_id)
    }

    async fn search_organizations(
        &self,
        project_id: &ProjectId,
        filter: &OrganizationFilter,
        limit: u32,
        after: Option<(i64, String)>,
    ) -> Result<OrganizationPage, StoreError> {
        let project = project_id.as_str();
        let mut conn = self.reader().acquire().await?;
        let mut count = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM organizations");
        push_organization_filter(&mut count, project, filter);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations"));
        push_organization_filter(&mut query, project, filter);
        push_keyset_page(&mut query, ("created_at", "organization_id"), after, limit);
        let rows = query.build().fetch_all(&mut *conn).await?;
        let mut organizations: Vec<Organization> = rows
            .iter()
            .map(organization_row)
            .collect::<Result<_, _>>()?;
        let next_cursor = cut_page(&mut organizations, limit, |last| {
            (
                to_micros(last.created_at),
                last.organization_id.as_str().to_owned(),
            )
        });
        Ok(OrganizationPage {
            organizations,
            total,
            next_cursor,
        })
    }
}
