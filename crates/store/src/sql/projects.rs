//! `ProjectStore`: projects, their settings, signing keys and Stack keys (cached for a second,
//! see `project_cache.rs`), and the vault's check value.

use latchkey_core::delivery::{Template, TemplateKind};
use latchkey_core::redirect_urls::RedirectType;

use super::*;

pub(super) const PROJECT_COLUMNS: &str =
    "project_id, name, environment, secret_digest, created_at, \
     lock_threshold, lock_ttl_seconds, strength_policy, luds_min_length, luds_complexity, \
     stack_publishable_client_key, stack_secret_server_key_digest";

pub(super) fn project_row(row: &<Db as sqlx::Database>::Row) -> Result<ProjectRecord, StoreError> {
    let environment: String = row.try_get("environment")?;
    let digest: Vec<u8> = row.try_get("secret_digest")?;
    Ok(ProjectRecord {
        project_id: stored_id(row, "projects", "project_id", ProjectId::parse)?,
        name: row.try_get("name")?,
        environment: Environment::parse(&environment)
            .ok_or_else(|| corrupt("projects", "environment", "not test or live"))?,
        secret_digest: SecretDigest::from_bytes(&digest)
            .ok_or_else(|| corrupt("projects", "secret_digest", "not 32 bytes"))?,
        created_at: instant(row, "projects", "created_at")?,
        settings: settings_row(row)?,
        stack_keys: stack_keys_row(row)?,
    })
}

pub(super) async fn write_stack_keys(
    conn: &mut Conn,
    project_id: &ProjectId,
    keys: &crate::StackKeys,
) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE projects SET stack_publishable_client_key = $1, stack_secret_server_key_digest = $2 \
         WHERE project_id = $3",
    )
    .bind(&keys.publishable_client_key)
    .bind(keys.secret_server_key_digest.as_bytes().to_vec())
    .bind(project_id.as_str())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(Missing::Project));
    }
    Ok(())
}

pub(super) fn stack_keys_row(
    row: &<Db as sqlx::Database>::Row,
) -> Result<Option<crate::StackKeys>, StoreError> {
    let key: Option<String> = row.try_get("stack_publishable_client_key")?;
    let digest: Option<Vec<u8>> = row.try_get("stack_secret_server_key_digest")?;
    // Both are written together (`write_stack_keys`), or neither.
    match (key, digest) {
        (None, None) => Ok(None),
        (Some(publishable_client_key), Some(digest)) => Ok(Some(crate::StackKeys {
            publishable_client_key,
            secret_server_key_digest: SecretDigest::from_bytes(&digest).ok_or_else(|| {
                corrupt("projects", "stack_secret_server_key_digest", "not 32 bytes")
            })?,
        })),
        _ => Err(corrupt(
            "projects",
            "stack_publishable_client_key",
            "set without its secret server key digest, or the other way round",
        )),
    }
}

pub(super) fn settings_row(
    row: &<Db as sqlx::Database>::Row,
) -> Result<ProjectSettings, StoreError> {
    let policy: String = row.try_get("strength_policy")?;
    let min_length: i64 = row.try_get("luds_min_length")?;
    let complexity: i64 = row.try_get("luds_complexity")?;
    let threshold: i64 = row.try_get("lock_threshold")?;
    Ok(ProjectSettings {
        lock_threshold: stored_count("lock_threshold", threshold)?,
        lock_ttl_seconds: row.try_get("lock_ttl_seconds")?,
        strength_policy: match policy.as_str() {
            "luds" => Policy::Luds {
                min_length: stored_count("luds_min_length", min_length)?,
                min_complexity: stored_count("luds_complexity", complexity)?,
            },
            "zxcvbn" => Policy::Zxcvbn,
            _ => return Err(corrupt("projects", "strength_policy", "not zxcvbn or luds")),
        },
    })
}

/// A count stored in `projects.column`, which must fit a `u32`.
fn stored_count(column: &str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt("projects", column, "out of range"))
}

pub(super) async fn write_project_settings(
    conn: &mut Conn,
    project_id: &ProjectId,
    settings: &ProjectSettings,
) -> Result<(), StoreError> {
    let (policy, min_length, complexity) = match settings.strength_policy {
        Policy::Zxcvbn => ("zxcvbn", 8, 3),
        Policy::Luds {
            min_length,
            min_complexity,
        } => ("luds", min_length, min_complexity),
    };
    sqlx::query(
        "UPDATE projects SET lock_threshold = $1, lock_ttl_seconds = $2, strength_policy = $3, \
         luds_min_length = $4, luds_complexity = $5 WHERE project_id = $6",
    )
    .bind(i64::from(settings.lock_threshold))
    .bind(settings.lock_ttl_seconds)
    .bind(policy)
    .bind(i64::from(min_length))
    .bind(i64::from(complexity))
    .bind(project_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn insert_signing_key(
    conn: &mut Conn,
    project_id: &ProjectId,
    key: &SigningKey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, project_id, kind, private_key, n, e, created_at, retired_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(key.kid.as_str())
    .bind(project_id.as_str())
    .bind(key.kind.as_str())
    .bind(key.private_key.clone())
    .bind(&key.n)
    .bind(&key.e)
    .bind(to_micros(key.created_at))
    .bind(key.retired_at.map(to_micros))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The table, id column and owner column of `owner`'s TOTP registrations.
fn totp_table(owner: TotpOwner) -> (&'static str, &'static str) {
    match owner {
        TotpOwner::User => ("totps", "totp_id"),
        TotpOwner::Member => ("member_totps", "totp_registration_id"),
    }
}

#[async_trait]
impl ProjectStore for Engine {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }

    fn pool_stats(&self) -> Vec<crate::PoolStats> {
        self.pools()
    }

    async fn create_project(&self, project: &ProjectRecord) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO projects (project_id, name, environment, secret_digest, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(project.project_id.as_str())
        .bind(&project.name)
        .bind(project.environment.as_str())
        .bind(project.secret_digest.as_bytes().to_vec())
        .bind(to_micros(project.created_at))
        .execute(&mut *tx)
        .await?;
        write_project_settings(&mut tx, &project.project_id, &project.settings).await?;
        if let Some(keys) = &project.stack_keys {
            write_stack_keys(&mut tx, &project.project_id, keys).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_project(
        &self,
        project_id: &ProjectId,
    ) -> Result<Option<ProjectRecord>, StoreError> {
        if let Some(record) = self.projects.get(project_id) {
            return Ok(Some(record));
        }
        let read_at = std::time::Instant::now();
        let row = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE project_id = $1"
        ))
        .bind(project_id.as_str())
        .fetch_optional(self.reader())
        .await?;
        let record = row.as_ref().map(project_row).transpose()?;
        if let Some(record) = &record {
            self.projects.put(read_at, project_id, record);
        }
        Ok(record)
    }

    async fn list_projects(&self) -> Result<Vec<ProjectRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects ORDER BY created_at, project_id"
        ))
        .fetch_all(self.reader())
        .await?;
        Ok(rows.iter().map(project_row).collect::<Result<_, _>>()?)
    }

    async fn signing_keys(&self, project_id: &ProjectId) -> Result<Vec<SigningKey>, StoreError> {
        if let Some(keys) = self.signing_keys.get(project_id) {
            return Ok(keys);
        }
        let read_at = std::time::Instant::now();
        let rows = sqlx::query(
            "SELECT kid, kind, private_key, n, e, created_at, retired_at FROM signing_keys \
             WHERE project_id = $1 ORDER BY created_at DESC, kid DESC",
        )
        .bind(project_id.as_str())
        .fetch_all(self.reader())
        .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            keys.push(SigningKey::from_stored(StoredKey {
                kid: stored_id(row, "signing_keys", "kid", SigningKeyId::parse)?,
                project_id: project_id.clone(),
                kind: KeyKind::parse(&kind)
                    .ok_or_else(|| corrupt("signing_keys", "kind", "not a key kind"))?,
                private_key: row.try_get("private_key")?,
                n: row.try_get("n")?,
                e: row.try_get("e")?,
                created_at: instant(row, "signing_keys", "created_at")?,
                retired_at: optional_instant(row, "signing_keys", "retired_at")?,
            }));
        }
        // An unknown project has no keys; only found ones are kept.
        if !keys.is_empty() {
            self.signing_keys.put(read_at, project_id, &keys);
        }
        Ok(keys)
    }

    async fn add_signing_key(
        &self,
        project_id: &ProjectId,
        key: &SigningKey,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        let written = insert_signing_key(&mut conn, project_id, key).await;
        self.signing_keys.forget(project_id);
        written
    }

    async fn retire_signing_key(
        &self,
        project_id: &ProjectId,
        kid: &SigningKeyId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        let found = sqlx::query(
            "UPDATE signing_keys SET retired_at = COALESCE(retired_at, $1) \
             WHERE project_id = $2 AND kid = $3",
        )
        .bind(to_micros(now))
        .bind(project_id.as_str())
        .bind(kid.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
        self.signing_keys.forget(project_id);
        if found == 0 {
            return Err(StoreError::NotFound(Missing::SigningKey));
        }
        Ok(())
    }

    async fn reseal_signing_key(
        &self,
        project_id: &ProjectId,
        kid: &SigningKeyId,
        old: &[u8],
        new: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer().acquire().await?;
        let replaced = sqlx::query(
            "UPDATE signing_keys SET private_key = $1 \
             WHERE project_id = $2 AND kid = $3 AND private_key = $4",
        )
        .bind(new)
        .bind(project_id.as_str())
        .bind(kid.as_str())
        .bind(old)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        self.signing_keys.forget(project_id);
        Ok(replaced == 1)
    }

    async fn sealed_totps(
        &self,
        owner: TotpOwner,
        project_id: &ProjectId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredTotp>, StoreError> {
        let (table, id_column) = totp_table(owner);
        let rows = sqlx::query(&format!(
            "SELECT {id_column} AS totp_id, verified, secret_sealed, last_step, expires_at, \
             recovery_codes, recovery_codes_sealed, created_at FROM {table} \
             WHERE project_id = $1 AND {id_column} > $2 AND secret_sealed IS NOT NULL \
             ORDER BY {id_column} LIMIT $3"
        ))
        .bind(project_id.as_str())
        .bind(after.unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|row| totp_row(row, table)).collect()
    }

    async fn reseal_totp(
        &self,
        owner: TotpOwner,
        project_id: &ProjectId,
        old: &StoredTotp,
        new: &StoredTotp,
    ) -> Result<bool, StoreError> {
        let (table, id_column) = totp_table(owner);
        let mut conn = self.writer().acquire().await?;
        // The stored digests are compared as written; a used code changes them, and the pass
        // then reads the registration again.
        let replaced = sqlx::query(&format!(
            "UPDATE {table} SET secret_sealed = $1, recovery_codes = $2, recovery_codes_sealed = $3 \
             WHERE project_id = $4 AND {id_column} = $5 AND secret_sealed = $6 \
             AND recovery_codes = $7 AND recovery_codes_sealed IS NOT DISTINCT FROM $8"
        ))
        .bind(new.secret_sealed.clone())
        .bind(digests_to_text(&new.recovery_codes))
        .bind(new.recovery_codes_sealed.clone())
        .bind(project_id.as_str())
        .bind(&old.totp_id)
        .bind(old.secret_sealed.clone())
        .bind(digests_to_text(&old.recovery_codes))
        .bind(old.recovery_codes_sealed.clone())
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok(replaced == 1)
    }

    async fn update_project_settings(
        &self,
        project_id: &ProjectId,
        settings: &ProjectSettings,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        let written = write_project_settings(&mut conn, project_id, settings).await;
        self.projects.forget(project_id);
        written
    }

    async fn set_stack_keys(
        &self,
        project_id: &ProjectId,
        keys: &StackKeys,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        let written = write_stack_keys(&mut conn, project_id, keys).await;
        self.projects.forget(project_id);
        written
    }

    async fn message_template(
        &self,
        project_id: &ProjectId,
        kind: TemplateKind,
    ) -> Result<Option<Template>, StoreError> {
        let row = sqlx::query(
            "SELECT subject, text_body, html_body FROM message_templates \
             WHERE project_id = $1 AND kind = $2",
        )
        .bind(project_id.as_str())
        .bind(kind.as_str())
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            Template::new(
                kind,
                row.try_get("subject")?,
                row.try_get("text_body")?,
                row.try_get("html_body")?,
            )
            .map_err(|why| corrupt("message_templates", "text_body", why))
        })
        .transpose()
    }

    async fn set_message_template(
        &self,
        project_id: &ProjectId,
        kind: TemplateKind,
        template: Option<Template>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM message_templates WHERE project_id = $1 AND kind = $2")
            .bind(project_id.as_str())
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
        if let Some(template) = template {
            sqlx::query(
                "INSERT INTO message_templates (project_id, kind, subject, text_body, html_body, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(project_id.as_str())
            .bind(kind.as_str())
            .bind(template.subject)
            .bind(template.text)
            .bind(template.html)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn redirect_urls(&self, project_id: &ProjectId) -> Result<Vec<RedirectUrl>, StoreError> {
        let rows = sqlx::query(
            "SELECT url, url_type, is_default, created_at FROM redirect_urls WHERE project_id = $1 \
             ORDER BY created_at, url, url_type",
        )
        .bind(project_id.as_str())
        .fetch_all(self.reader())
        .await?;
        let mut urls: Vec<RedirectUrl> = Vec::new();
        for row in &rows {
            let url: String = row.try_get("url")?;
            let kind: String = row.try_get("url_type")?;
            let kind = RedirectType::parse(&kind)
                .ok_or_else(|| corrupt("redirect_urls", "url_type", "not a redirect type"))?;
            let is_default: bool = row.try_get("is_default")?;
            match urls.iter_mut().find(|known| known.url == url) {
                Some(known) => known.valid_types.push((kind, is_default)),
                None => urls.push(RedirectUrl {
                    url,
                    valid_types: vec![(kind, is_default)],
                }),
            }
        }
        Ok(urls)
    }

    async fn put_redirect_url(
        &self,
        project_id: &ProjectId,
        url: RedirectUrl,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        write_redirect_url(&mut tx, project_id.as_str(), &url, to_micros(now)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_redirect_url(
        &self,
        project_id: &ProjectId,
        url: &str,
    ) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM redirect_urls WHERE project_id = $1 AND url = $2")
            .bind(project_id.as_str())
            .bind(url)
            .execute(self.writer())
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound(Missing::RedirectUrl));
        }
        Ok(())
    }

    async fn replace_redirect_urls(
        &self,
        project_id: &ProjectId,
        urls: Vec<RedirectUrl>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM redirect_urls WHERE project_id = $1")
            .bind(project)
            .execute(&mut *tx)
            .await?;
        // Each URL a microsecond after the one before, so the list reads back in its order.
        for (position, url) in urls.iter().enumerate() {
            let at = to_micros(now) + i64::try_from(position).unwrap_or(i64::MAX / 2);
            write_redirect_url(&mut tx, project, url, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn vault_check(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM server_settings WHERE name = 'vault_check'")
                .fetch_optional(self.reader())
                .await?,
        )
    }

    async fn reseal_vault_check(&self, old: &[u8], new: Vec<u8>) -> Result<bool, StoreError> {
        let mut conn = self.writer().acquire().await?;
        let replaced = sqlx::query(
            "UPDATE server_settings SET value = $1 WHERE name = 'vault_check' AND value = $2",
        )
        .bind(new)
        .bind(old)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok(replaced == 1)
    }

    async fn init_vault_check(&self, value: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("INSERT INTO server_settings (name, value) VALUES ('vault_check', $1) ON CONFLICT (name) DO NOTHING")
            .bind(value)
            .execute(&mut *tx)
            .await?;
        let stored: Vec<u8> =
            sqlx::query_scalar("SELECT value FROM server_settings WHERE name = 'vault_check'")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(stored)
    }
}

/// Writes `url` with its types, replacing the types it had; a type it is the default for
/// stops being any other URL's default.
async fn write_redirect_url(
    conn: &mut Conn,
    project: &str,
    url: &RedirectUrl,
    at: i64,
) -> Result<(), StoreError> {
    let created: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(created_at) FROM redirect_urls WHERE project_id = $1 AND url = $2",
    )
    .bind(project)
    .bind(&url.url)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM redirect_urls WHERE project_id = $1 AND url = $2")
        .bind(project)
        .bind(&url.url)
        .execute(&mut *conn)
        .await?;
    for (kind, is_default) in &url.valid_types {
        if *is_default {
            sqlx::query(
                "UPDATE redirect_urls SET is_default = FALSE \
                 WHERE project_id = $1 AND url_type = $2 AND is_default",
            )
            .bind(project)
            .bind(kind.as_str())
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(
            "INSERT INTO redirect_urls (project_id, url, url_type, is_default, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, url_type, url) \
             DO UPDATE SET is_default = excluded.is_default",
        )
        .bind(project)
        .bind(&url.url)
        .bind(kind.as_str())
        .bind(*is_default)
        .bind(created.unwrap_or(at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
