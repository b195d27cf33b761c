// `CredentialStore` for both engines; `include!`d after `sql_common.rs` (see its header).

use latchkey_core::ids::{SessionId, SigningKeyId};
use latchkey_core::password::StoredHash;
use latchkey_core::session::{AuthenticationFactor, Session};

use crate::{
    Completion, CredentialStore, MigratePassword, NewSession, PasswordLogin, PasswordWrite, Revocation, SessionWrite,
    StoredPassword,
};

async fn write_project_settings(
    conn: &mut Conn,
    project_id: &ProjectId,
    settings: &ProjectSettings,
) -> Result<(), StoreError> {
    let (policy, min_length, complexity) = match settings.strength_policy {
        Policy::Zxcvbn => ("zxcvbn", 8, 3),
        Policy::Luds { min_length, min_complexity } => ("luds", min_length, min_complexity),
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

async fn insert_signing_key(conn: &mut Conn, project_id: &ProjectId, key: &SigningKey) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, project_id, private_der, n, e, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key.kid.as_str())
    .bind(project_id.as_str())
    .bind(key.private_der.clone())
    .bind(&key.n)
    .bind(&key.e)
    .bind(to_micros(key.created_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const SESSION_COLUMNS: &str =
    "session_id, user_id, started_at, last_accessed_at, expires_at, factors, custom_claims";

fn session_row(row: &<Db as sqlx::Database>::Row) -> Result<Session, sqlx::Error> {
    let factors: String = row.try_get("factors")?;
    let claims: String = row.try_get("custom_claims")?;
    let factors: Vec<Value> = serde_json::from_str(&factors).unwrap_or_default();
    Ok(Session {
        session_id: SessionId::from_trusted(row.try_get("session_id")?),
        user_id: UserId::from_trusted(row.try_get("user_id")?),
        started_at: from_micros(row.try_get("started_at")?),
        last_accessed_at: from_micros(row.try_get("last_accessed_at")?),
        expires_at: from_micros(row.try_get("expires_at")?),
        authentication_factors: factors.iter().filter_map(AuthenticationFactor::from_json).collect(),
        custom_claims: metadata_from_text(&claims),
    })
}

fn factors_text(session: &Session) -> String {
    Value::Array(session.factors_json()).to_string()
}

fn by_password(session: &Session) -> bool {
    session.authentication_factors.iter().any(|factor| factor.kind == "password")
}

async fn insert_session(
    conn: &mut Conn,
    project: &str,
    session: &Session,
    token_digest: &SecretDigest,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (session_id, project_id, user_id, token_digest, started_at, \
         last_accessed_at, expires_at, factors, custom_claims, by_password) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(session.session_id.as_str())
    .bind(project)
    .bind(session.user_id.as_str())
    .bind(token_digest.as_bytes().to_vec())
    .bind(to_micros(session.started_at))
    .bind(to_micros(session.last_accessed_at))
    .bind(to_micros(session.expires_at))
    .bind(factors_text(session))
    .bind(metadata_to_text(&session.custom_claims))
    .bind(by_password(session))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn update_session(conn: &mut Conn, project: &str, session: &Session) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE sessions SET last_accessed_at = $1, expires_at = $2, factors = $3, \
         custom_claims = $4, by_password = $5 WHERE project_id = $6 AND session_id = $7",
    )
    .bind(to_micros(session.last_accessed_at))
    .bind(to_micros(session.expires_at))
    .bind(factors_text(session))
    .bind(metadata_to_text(&session.custom_claims))
    .bind(by_password(session))
    .bind(project)
    .bind(session.session_id.as_str())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(Missing::Session));
    }
    Ok(())
}

/// Writes a session for `user_id`, returning it as stored.
async fn write_session(
    conn: &mut Conn,
    project: &str,
    user_id: &UserId,
    write: SessionWrite,
    now: DateTime<Utc>,
) -> Result<Session, StoreError> {
    match write {
        SessionWrite::Start(new, factor) => {
            let session = Session {
                session_id: new.session_id,
                user_id: user_id.clone(),
                started_at: now,
                last_accessed_at: now,
                expires_at: new.expires_at,
                authentication_factors: vec![factor],
                custom_claims: new.custom_claims,
            };
            insert_session(conn, project, &session, &new.token_digest).await?;
            Ok(session)
        }
        SessionWrite::Continue(session) => {
            if &session.user_id != user_id {
                return Err(StoreError::NotFound(Missing::Session));
            }
            update_session(conn, project, &session).await?;
            Ok(session)
        }
    }
}

/// Counts one authentication attempt of the account `id` of `table` (users or members) before
/// it is checked: refuses a locked account (`Refusal::UserLocked`) and locks it when this
/// attempt reaches the threshold. The row is locked, so concurrent guesses cannot exceed it.
async fn reserve_attempt_in(
    conn: &mut Conn,
    (table, id_column): (&str, &str),
    project: &str,
    id: &str,
    settings: &ProjectSettings,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let micros = to_micros(now);
    let sql = format!(
        "SELECT failed_attempts, lock_expires_at FROM {table} WHERE project_id = $1 AND {id_column} = $2{FOR_UPDATE}"
    );
    let row = sqlx::query(&sql)
        .bind(project)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound(Missing::User))?;
    let failed: i64 = row.try_get("failed_attempts")?;
    let lock_expires_at: Option<i64> = row.try_get("lock_expires_at")?;
    let failed = match lock_expires_at {
        Some(expires) if expires > micros => return Err(StoreError::Refused(Refusal::UserLocked)),
        // An expired lock starts the count afresh.
        Some(_) => 0,
        None => failed,
    };
    let attempts = failed + 1;
    // The attempt that reaches the threshold is the last one allowed: it locks now, and a
    // success clears the lock.
    let (lock_created_at, lock_expires_at) = if attempts >= i64::from(settings.lock_threshold) {
        (Some(micros), Some(micros + settings.lock_ttl_seconds * 1_000_000))
    } else {
        (None, None)
    };
    sqlx::query(&format!(
        "UPDATE {table} SET failed_attempts = $1, lock_created_at = $2, lock_expires_at = $3 \
         WHERE project_id = $4 AND {id_column} = $5"
    ))
    .bind(attempts)
    .bind(lock_created_at)
    .bind(lock_expires_at)
    .bind(project)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_password(
    conn: &mut Conn,
    project_id: &ProjectId,
    user_id: &UserId,
    hash: &StoredHash,
    now: i64,
) -> Result<PasswordSummary, StoreError> {
    let mut written = insert_passwords(conn, project_id, &[(user_id, hash)], now).await?;
    written.pop().ok_or(StoreError::NotFound(Missing::Password))
}

/// Writes one password for each user in one statement; returns them in the order given.
async fn insert_passwords(
    conn: &mut Conn,
    project_id: &ProjectId,
    rows: &[(&UserId, &StoredHash)],
    now: i64,
) -> Result<Vec<PasswordSummary>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let written: Vec<PasswordSummary> = rows
        .iter()
        .map(|_| PasswordSummary {
            password_id: PasswordId::generate(project_id.environment()),
            requires_reset: false,
        })
        .collect();
    let mut query = QueryBuilder::<Db>::new(
        "INSERT INTO passwords (password_id, project_id, user_id, requires_reset, created_at, hash, updated_at) ",
    );
    query.push_values(rows.iter().zip(&written), |mut row, ((user_id, hash), password)| {
        row.push_bind(password.password_id.as_str().to_owned())
            .push_bind(project_id.as_str().to_owned())
            .push_bind(user_id.as_str().to_owned())
            .push_bind(false)
            .push_bind(now)
            .push_bind(hash.to_json())
            .push_bind(now);
    });
    query.build().execute(&mut *conn).await?;
    Ok(written)
}

/// One [`CredentialStore::migrate_password`] attempt, in one transaction.
async fn migrate_one(
    engine: &Engine,
    project_id: &ProjectId,
    migrate: &MigratePassword,
    now: DateTime<Utc>,
) -> Result<(User, EmailId, bool), StoreError> {
    let project = project_id.as_str();
    let micros = to_micros(now);
    let mut tx = engine.writer().begin().await?;
    let (user, email_id, created) = match email_id_of(&mut tx, project, &migrate.email).await? {
        Some((email_id, user_id)) => {
            // Lock the user row so two migrations of one email cannot both add a password.
            find_user_row(&mut tx, project, &UserRef::Id(user_id.clone()), true).await?;
            let has_password: Option<String> =
                sqlx::query_scalar("SELECT password_id FROM passwords WHERE project_id = $1 AND user_id = $2")
                    .bind(project)
                    .bind(user_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            if has_password.is_some() {
                return Err(StoreError::Conflict(Conflict::PasswordAlreadyExists));
            }
            if migrate.new_user.email_verified {
                sqlx::query("UPDATE user_emails SET verified = TRUE WHERE project_id = $1 AND email = $2")
                    .bind(project)
                    .bind(migrate.email.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            insert_password(&mut tx, project_id, &user_id, &migrate.hash, micros)
                .await
                .map_err(|error| match error {
                    StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                        StoreError::Conflict(Conflict::PasswordAlreadyExists)
                    }
                    other => other,
                })?;
            (load_user(&mut tx, project, &user_id).await?, email_id, false)
        }
        None => {
            let mut user = insert_user(&mut tx, project_id, &migrate.new_user, micros).await?;
            user.password = Some(insert_password(&mut tx, project_id, &user.user_id, &migrate.hash, micros).await?);
            let email_id = first_email_id(&user)?;
            (user, email_id, true)
        }
    };
    tx.commit().await?;
    Ok((user, email_id, created))
}

/// The fast path of [`CredentialStore::migrate_passwords`]: when every item is a new user whose
/// email, phone number and external id appear nowhere else in the batch or the project, all of
/// them are written in one transaction with one statement per table. `None` (nothing written)
/// when the batch does not qualify; an error (nothing written either) when a statement fails,
/// for instance on a unique constraint. The caller then goes one item at a time, which gives
/// each item its own precise answer.
async fn migrate_new_users(
    engine: &Engine,
    project_id: &ProjectId,
    items: &[MigratePassword],
    now: DateTime<Utc>,
) -> Result<Option<Vec<(User, EmailId, bool)>>, StoreError> {
    let project = project_id.as_str();
    let distinct = |values: Vec<&str>| {
        let count = values.len();
        values.into_iter().collect::<std::collections::HashSet<_>>().len() == count
    };
    if !distinct(items.iter().map(|item| item.email.as_str()).collect())
        || !distinct(items.iter().filter_map(|item| item.new_user.phone_number.as_ref().map(|p| p.as_str())).collect())
        || !distinct(items.iter().filter_map(|item| item.new_user.external_id.as_ref().map(|id| id.as_str())).collect())
    {
        return Ok(None);
    }
    let mut tx = engine.writer().begin().await?;
    let mut query = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM user_emails WHERE project_id = ");
    query.push_bind(project.to_owned());
    query.push(" AND email IN (");
    let mut emails = query.separated(", ");
    for item in items {
        emails.push_bind(item.email.as_str().to_owned());
    }
    query.push(")");
    let existing: i64 = query.build_query_scalar().fetch_one(&mut *tx).await?;
    if existing > 0 {
        return Ok(None);
    }
    let micros = to_micros(now);
    let users: Vec<User> =
        items.iter().map(|item| new_user_object(project_id.environment(), &item.new_user, micros)).collect();
    insert_users(&mut tx, project, &users, micros).await?;
    let rows: Vec<_> = users.iter().zip(items).map(|(user, item)| (&user.user_id, &item.hash)).collect();
    let passwords = insert_passwords(&mut tx, project_id, &rows, micros).await?;
    tx.commit().await?;
    let mut done = Vec::with_capacity(users.len());
    for (mut user, password) in users.into_iter().zip(passwords) {
        user.password = Some(password);
        let email_id = first_email_id(&user)?;
        done.push((user, email_id, true));
    }
    Ok(Some(done))
}

fn first_email_id(user: &User) -> Result<EmailId, StoreError> {
    user.emails
        .first()
        .map(|email| email.email_id.clone())
        .ok_or(StoreError::NotFound(Missing::Email))
}

async fn email_id_of(conn: &mut Conn, project: &str, email: &Email) -> Result<Option<(EmailId, UserId)>, StoreError> {
    let row = sqlx::query("SELECT email_id, user_id FROM user_emails WHERE project_id = $1 AND email = $2")
        .bind(project)
        .bind(email.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(row) => Some((
            EmailId::from_trusted(row.try_get("email_id")?),
            UserId::from_trusted(row.try_get("user_id")?),
        )),
        None => None,
    })
}

#[async_trait]
impl CredentialStore for Engine {
    async fn signing_keys(&self, project_id: &ProjectId) -> Result<Vec<SigningKey>, StoreError> {
        if let Some(keys) = self.signing_keys.get(project_id) {
            return Ok(keys);
        }
        let read_at = std::time::Instant::now();
        let rows = sqlx::query(
            "SELECT kid, private_der, n, e, created_at FROM signing_keys WHERE project_id = $1 \
             ORDER BY created_at DESC, kid DESC",
        )
        .bind(project_id.as_str())
        .fetch_all(self.reader())
        .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            keys.push(SigningKey::from_parts(
                SigningKeyId::from_trusted(row.try_get("kid")?),
                row.try_get("private_der")?,
                row.try_get("n")?,
                row.try_get("e")?,
                from_micros(row.try_get("created_at")?),
            ));
        }
        // An unknown project has no keys; only found ones are kept.
        if !keys.is_empty() {
            self.signing_keys.put(read_at, project_id, &keys);
        }
        Ok(keys)
    }

    async fn add_signing_key(&self, project_id: &ProjectId, key: &SigningKey) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        let written = insert_signing_key(&mut conn, project_id, key).await;
        self.signing_keys.forget(project_id);
        written
    }

    async fn update_project_settings(&self, project_id: &ProjectId, settings: &ProjectSettings) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        let written = write_project_settings(&mut conn, project_id, settings).await;
        self.projects.forget(project_id);
        written
    }

    async fn migrate_password(
        &self,
        project_id: &ProjectId,
        migrate: MigratePassword,
        now: DateTime<Utc>,
    ) -> Result<(User, EmailId, bool), StoreError> {
        match migrate_one(self, project_id, &migrate, now).await {
            // Another transaction created the user of this email between our lookup and our
            // insert (possible with PostgreSQL's concurrent writers): the user exists now, so
            // the second attempt attaches to it, or answers that it has a password already.
            Err(StoreError::Conflict(Conflict::DuplicateEmail)) => migrate_one(self, project_id, &migrate, now).await,
            other => other,
        }
    }

    async fn migrate_passwords(
        &self,
        project_id: &ProjectId,
        items: Vec<MigratePassword>,
        now: DateTime<Utc>,
    ) -> Vec<Result<(User, EmailId, bool), StoreError>> {
        if items.len() > 1 {
            match migrate_new_users(self, project_id, &items, now).await {
                Ok(Some(done)) => return done.into_iter().map(Ok).collect(),
                Ok(None) => {}
                Err(error) => tracing::debug!(%error, "batch migration fell back to one at a time"),
            }
        }
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            results.push(self.migrate_password(project_id, item, now).await);
        }
        results
    }

    fn write_lanes(&self) -> usize {
        WRITE_LANES
    }

    async fn create_password_user(
        &self,
        project_id: &ProjectId,
        new_user: NewUser,
        hash: StoredHash,
        session: Option<NewSession>,
        now: DateTime<Utc>,
    ) -> Result<(User, EmailId, Option<Session>), StoreError> {
        let project = project_id.as_str();
        let email = new_user.email.clone().ok_or(StoreError::NotFound(Missing::Email))?;
        let mut tx = self.writer().begin().await?;
        let mut user = insert_user(&mut tx, project_id, &new_user, to_micros(now)).await?;
        let email_id = first_email_id(&user)?;
        user.password = Some(insert_password(&mut tx, project_id, &user.user_id, &hash, to_micros(now)).await?);
        let session = match session {
            Some(new) => {
                let factor = AuthenticationFactor::password(email_id.clone(), email.as_str().to_owned(), now);
                let write = SessionWrite::Start(new, factor);
                Some(write_session(&mut tx, project, &user.user_id, write, now).await?)
            }
            None => None,
        };
        tx.commit().await?;
        Ok((user, email_id, session))
    }

    async fn password_login(&self, project_id: &ProjectId, email: &Email) -> Result<Option<PasswordLogin>, StoreError> {
        let row = sqlx::query(
            "SELECT e.email_id, e.user_id, e.email, p.password_id, p.hash, p.requires_reset \
             FROM user_emails e LEFT JOIN passwords p ON p.user_id = e.user_id AND p.project_id = e.project_id \
             WHERE e.project_id = $1 AND e.email = $2 AND e.used_for_auth",
        )
        .bind(project_id.as_str())
        .bind(email.as_str())
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let password = match row.try_get::<Option<String>, _>("password_id")? {
            Some(password_id) => {
                let hash_text: String = row.try_get::<Option<String>, _>("hash")?.unwrap_or_default();
                Some(StoredPassword {
                    password_id: PasswordId::from_trusted(password_id),
                    hash: StoredHash::from_json(&hash_text),
                    hash_text,
                    requires_reset: row.try_get::<Option<bool>, _>("requires_reset")?.unwrap_or(false),
                })
            }
            None => None,
        };
        Ok(Some(PasswordLogin {
            user_id: UserId::from_trusted(row.try_get("user_id")?),
            email_id: EmailId::from_trusted(row.try_get("email_id")?),
            email: row.try_get("email")?,
            password,
        }))
    }

    async fn reserve_attempt(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        reserve_attempt_in(&mut tx, ("users", "user_id"), project_id.as_str(), user_id.as_str(), settings, now)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => StoreError::NotFound(Missing::User),
                other => other,
            })?;
        tx.commit().await?;
        Ok(())
    }

    async fn complete(
        &self,
        project_id: &ProjectId,
        completion: Completion,
        now: DateTime<Utc>,
    ) -> Result<(User, Option<Session>), StoreError> {
        let project = project_id.as_str();
        let micros = to_micros(now);
        let user_id = completion.user_id;
        let mut tx = self.writer().begin().await?;
        let cleared = sqlx::query(
            "UPDATE users SET failed_attempts = 0, lock_created_at = NULL, lock_expires_at = NULL \
             WHERE project_id = $1 AND user_id = $2",
        )
        .bind(project)
        .bind(user_id.as_str())
        .execute(&mut *tx)
        .await?;
        if cleared.rows_affected() == 0 {
            return Err(StoreError::NotFound(Missing::User));
        }
        if let Some(used) = &completion.consume {
            consume(&mut tx, project, ("totps", "totp_id", "user_id"), user_id.as_str(), used).await?;
        }
        match completion.password {
            PasswordWrite::Keep => {}
            PasswordWrite::Upgrade { from, to } => {
                sqlx::query(
                    "UPDATE passwords SET hash = $1, updated_at = $2 \
                     WHERE project_id = $3 AND user_id = $4 AND hash = $5",
                )
                .bind(to.to_json())
                .bind(micros)
                .bind(project)
                .bind(user_id.as_str())
                .bind(from)
                .execute(&mut *tx)
                .await?;
            }
            PasswordWrite::Replace(hash) => {
                let updated = sqlx::query(
                    "UPDATE passwords SET hash = $1, updated_at = $2, requires_reset = FALSE \
                     WHERE project_id = $3 AND user_id = $4",
                )
                .bind(hash.to_json())
                .bind(micros)
                .bind(project)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 0 {
                    insert_password(&mut tx, project_id, &user_id, &hash, micros).await?;
                }
            }
        }
        if let Revocation::AllExcept(keep) = &completion.revoke {
            sqlx::query("DELETE FROM sessions WHERE project_id = $1 AND user_id = $2 AND session_id <> $3")
                .bind(project)
                .bind(user_id.as_str())
                .bind(keep.as_ref().map_or("", |id| id.as_str()))
                .execute(&mut *tx)
                .await?;
        }
        let session = match completion.session {
            Some(write) => Some(write_session(&mut tx, project, &user_id, write, now).await?),
            None => None,
        };
        let user = load_user(&mut tx, project, &user_id).await?;
        tx.commit().await?;
        Ok((user, session))
    }

    async fn session_by_token(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = $1 AND token_digest = $2"
        ))
        .bind(project_id.as_str())
        .bind(token_digest.as_bytes().to_vec())
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(session_row).transpose()?)
    }

    async fn session_by_id(&self, project_id: &ProjectId, session_id: &SessionId) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = $1 AND session_id = $2"
        ))
        .bind(project_id.as_str())
        .bind(session_id.as_str())
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(session_row).transpose()?)
    }

    async fn save_session(&self, project_id: &ProjectId, session: &Session) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        update_session(&mut conn, project_id.as_str(), session).await
    }

    async fn revoke_session(&self, project_id: &ProjectId, session_id: &SessionId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE project_id = $1 AND session_id = $2")
            .bind(project_id.as_str())
            .bind(session_id.as_str())
            .execute(self.writer())
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound(Missing::Session));
        }
        Ok(())
    }

    async fn list_sessions(&self, project_id: &ProjectId, user: &UserRef, now: DateTime<Utc>) -> Result<Vec<Session>, StoreError> {
        let project = project_id.as_str();
        let mut conn = self.reader().acquire().await?;
        let row = find_user_row(&mut conn, project, user, false)
            .await?
            .ok_or(StoreError::NotFound(Missing::User))?;
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = $1 AND user_id = $2 \
             AND expires_at > $3 ORDER BY started_at, session_id"
        ))
        .bind(project)
        .bind(row.user.user_id.as_str())
        .bind(to_micros(now))
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.iter().map(session_row).collect::<Result<_, _>>()?)
    }
}
