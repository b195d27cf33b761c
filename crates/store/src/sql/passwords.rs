//! `PasswordStore`: migration (one item at a time, or a batch of new users in one transaction),
//! sign-up with a password, and what a login reads before it verifies anything.

use super::*;

pub(super) async fn insert_password(
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
pub(super) async fn insert_passwords(
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
    query.push_values(
        rows.iter().zip(&written),
        |mut row, ((user_id, hash), password)| {
            row.push_bind(password.password_id.as_str().to_owned())
                .push_bind(project_id.as_str().to_owned())
                .push_bind(user_id.as_str().to_owned())
                .push_bind(false)
                .push_bind(now)
                .push_bind(hash.to_json())
                .push_bind(now);
        },
    );
    query.build().execute(&mut *conn).await?;
    Ok(written)
}

/// One [`CredentialStore::migrate_password`] attempt, in one transaction. Where the password
/// goes is core's `migration_target`: the user that signs in with the address, or a new user.
pub(super) async fn migrate_one(
    engine: &Engine,
    project_id: &ProjectId,
    migrate: &MigratePassword,
    now: DateTime<Utc>,
) -> Result<(User, EmailId, bool), StoreError> {
    let project = project_id.as_str();
    let micros = to_micros(now);
    let mut tx = engine.writer().begin().await?;
    let holder = match sign_in_holder(&mut tx, project, &migrate.email).await? {
        Some(holder) => {
            // Lock the user row so two migrations of one email cannot both add a password.
            find_user_row(&mut tx, project, &UserRef::Id(holder.user_id.clone()), true).await?;
            let has_password: Option<String> = sqlx::query_scalar(
                "SELECT password_id FROM passwords WHERE project_id = $1 AND user_id = $2",
            )
            .bind(project)
            .bind(holder.user_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            Some((holder, has_password.is_some()))
        }
        None => None,
    };
    let target = migration_target(
        holder.as_ref().map(|(holder, has_password)| SignInHolder {
            verified: holder.verified,
            has_password: *has_password,
        }),
        migrate.new_user.email_verified,
    );
    let (user, email_id, created) = match (target, holder) {
        (MigrationTarget::PasswordExists, _) => {
            return Err(StoreError::Conflict(Conflict::PasswordAlreadyExists))
        }
        (MigrationTarget::Holder, Some((holder, _))) => {
            if migrate.new_user.email_verified {
                // Only the holder's row: other users' copies of the address stay unproven.
                sqlx::query(
                    "UPDATE user_emails SET verified = TRUE WHERE project_id = $1 AND email_id = $2",
                )
                .bind(project)
                .bind(holder.email_id.as_str())
                .execute(&mut *tx)
                .await?;
            }
            insert_password(&mut tx, project_id, &holder.user_id, &migrate.hash, micros)
                .await
                .map_err(|error| match error {
                    StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                        StoreError::Conflict(Conflict::PasswordAlreadyExists)
                    }
                    other => other,
                })?;
            (
                load_user(&mut tx, project, &holder.user_id).await?,
                holder.email_id,
                false,
            )
        }
        (target, holder) => {
            if let (MigrationTarget::NewUserTakingTheAddress, Some((holder, _))) = (target, holder)
            {
                sqlx::query(
                    "UPDATE user_emails SET used_for_auth = FALSE WHERE project_id = $1 AND email_id = $2",
                )
                .bind(project)
                .bind(holder.email_id.as_str())
                .execute(&mut *tx)
                .await?;
            }
            let mut user = insert_user(&mut tx, project_id, &migrate.new_user, micros).await?;
            user.password = Some(
                insert_password(&mut tx, project_id, &user.user_id, &migrate.hash, micros).await?,
            );
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
pub(crate) async fn migrate_new_users(
    engine: &Engine,
    project_id: &ProjectId,
    items: &[MigratePassword],
    now: DateTime<Utc>,
) -> Result<Option<Vec<(User, EmailId, bool)>>, StoreError> {
    let project = project_id.as_str();
    let distinct = |values: Vec<&str>| {
        let count = values.len();
        values
            .into_iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
            == count
    };
    if !distinct(items.iter().map(|item| item.email.as_str()).collect())
        || !distinct(
            items
                .iter()
                .filter_map(|item| item.new_user.phone_number.as_ref().map(|p| p.as_str()))
                .collect(),
        )
        || !distinct(
            items
                .iter()
                .filter_map(|item| item.new_user.external_id.as_ref().map(|id| id.as_str()))
                .collect(),
        )
    {
        return Ok(None);
    }
    let mut tx = engine.writer().begin().await?;
    // Only addresses someone signs in with stop a new user; contact copies do not.
    let mut query = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM user_emails WHERE project_id = ");
    query.push_bind(project.to_owned());
    query.push(" AND used_for_auth AND email IN (");
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
    let users: Vec<User> = items
        .iter()
        .map(|item| new_user_object(project_id.environment(), &item.new_user, micros))
        .collect::<Result<_, _>>()?;
    insert_users(&mut tx, project, &users, micros).await?;
    let rows: Vec<_> = users
        .iter()
        .zip(items)
        .map(|(user, item)| (&user.user_id, &item.hash))
        .collect();
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

pub(super) fn first_email_id(user: &User) -> Result<EmailId, StoreError> {
    user.emails
        .first()
        .map(|email| email.email_id.clone())
        .ok_or(StoreError::NotFound(Missing::Email))
}

/// The row of the user that signs in with `email` (at most one: a unique index).
pub(super) struct HolderRow {
    email_id: EmailId,
    user_id: UserId,
    verified: bool,
}

pub(super) async fn sign_in_holder(
    conn: &mut Conn,
    project: &str,
    email: &Email,
) -> Result<Option<HolderRow>, StoreError> {
    let row = sqlx::query(
        "SELECT email_id, user_id, verified FROM user_emails \
         WHERE project_id = $1 AND email = $2 AND used_for_auth",
    )
    .bind(project)
    .bind(email.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(row) => Some(HolderRow {
            email_id: stored_id(&row, "user_emails", "email_id", EmailId::parse)?,
            user_id: stored_id(&row, "user_emails", "user_id", UserId::parse)?,
            verified: row.try_get("verified")?,
        }),
        None => None,
    })
}

#[async_trait]
impl PasswordStore for Engine {
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
            Err(StoreError::Conflict(Conflict::DuplicateEmail)) => {
                migrate_one(self, project_id, &migrate, now).await
            }
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
        let email = new_user
            .email
            .clone()
            .ok_or(StoreError::NotFound(Missing::Email))?;
        let mut tx = self.writer().begin().await?;
        let mut user = insert_user(&mut tx, project_id, &new_user, to_micros(now)).await?;
        let email_id = first_email_id(&user)?;
        user.password =
            Some(insert_password(&mut tx, project_id, &user.user_id, &hash, to_micros(now)).await?);
        let session = match session {
            Some(new) => {
                let factor = AuthenticationFactor::password(
                    email_id.clone(),
                    email.as_str().to_owned(),
                    now,
                );
                let write = SessionWrite::Start(new, factor);
                Some(write_session(&mut tx, project, &user.user_id, write, now).await?)
            }
            None => None,
        };
        tx.commit().await?;
        Ok((user, email_id, session))
    }

    async fn password_login(
        &self,
        project_id: &ProjectId,
        email: &Email,
    ) -> Result<Option<PasswordLogin>, StoreError> {
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
                // The join found a password row, so its columns are not null.
                let hash_text: String = row
                    .try_get::<Option<String>, _>("hash")?
                    .ok_or_else(|| corrupt("passwords", "hash", "null"))?;
                Some(StoredPassword {
                    password_id: parse_stored(
                        "passwords",
                        "password_id",
                        &password_id,
                        PasswordId::parse,
                    )?,
                    hash: StoredHash::from_json(&hash_text)
                        .ok_or_else(|| corrupt("passwords", "hash", "not a stored hash"))?,
                    hash_text,
                    requires_reset: row
                        .try_get::<Option<bool>, _>("requires_reset")?
                        .ok_or_else(|| corrupt("passwords", "requires_reset", "null"))?,
                })
            }
            None => None,
        };
        Ok(Some(PasswordLogin {
            user_id: stored_id(&row, "user_emails", "user_id", UserId::parse)?,
            email_id: stored_id(&row, "user_emails", "email_id", EmailId::parse)?,
            email: row.try_get("email")?,
            password,
        }))
    }
}
