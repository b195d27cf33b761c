//! `SessionStore`: consumer sessions, and how an authentication writes one.

use super::*;

pub(super) const SESSION_COLUMNS: &str =
    "session_id, user_id, started_at, last_accessed_at, expires_at, factors, custom_claims";

pub(super) fn session_row(row: &<Db as sqlx::Database>::Row) -> Result<Session, StoreError> {
    let factors: String = row.try_get("factors")?;
    let factors = factors_from_text("sessions", &factors)?;
    Ok(Session {
        session_id: stored_id(row, "sessions", "session_id", SessionId::parse)?,
        user_id: stored_id(row, "sessions", "user_id", UserId::parse)?,
        started_at: instant(row, "sessions", "started_at")?,
        last_accessed_at: instant(row, "sessions", "last_accessed_at")?,
        expires_at: instant(row, "sessions", "expires_at")?,
        authentication_factors: factors,
        custom_claims: metadata(row, "sessions", "custom_claims")?,
    })
}

/// The factors stored as a JSON array in `table.factors`; a factor that does not read back is
/// corrupt, not dropped.
pub(super) fn factors_from_text(
    table: &str,
    text: &str,
) -> Result<Vec<AuthenticationFactor>, StoreError> {
    let values: Vec<Value> = serde_json::from_str(text)
        .map_err(|error| corrupt(table, "factors", json_problem(&error)))?;
    values
        .iter()
        .map(|value| {
            AuthenticationFactor::from_json(value)
                .ok_or_else(|| corrupt(table, "factors", "a factor that does not read back"))
        })
        .collect()
}

pub(super) fn factors_text(session: &Session) -> String {
    Value::Array(session.factors_json()).to_string()
}

pub(super) fn by_password(session: &Session) -> bool {
    session
        .authentication_factors
        .iter()
        .any(|factor| factor.kind == "password")
}

pub(super) async fn insert_session(
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
    .bind(metadata_to_text("custom_claims", &session.custom_claims)?)
    .bind(by_password(session))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn update_session(
    conn: &mut Conn,
    project: &str,
    session: &Session,
) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE sessions SET last_accessed_at = $1, expires_at = $2, factors = $3, \
         custom_claims = $4, by_password = $5 WHERE project_id = $6 AND session_id = $7",
    )
    .bind(to_micros(session.last_accessed_at))
    .bind(to_micros(session.expires_at))
    .bind(factors_text(session))
    .bind(metadata_to_text("custom_claims", &session.custom_claims)?)
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
pub(super) async fn write_session(
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

#[async_trait]
impl SessionStore for Engine {
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

    async fn session_by_id(
        &self,
        project_id: &ProjectId,
        session_id: &SessionId,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = $1 AND session_id = $2"
        ))
        .bind(project_id.as_str())
        .bind(session_id.as_str())
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(session_row).transpose()?)
    }

    async fn save_session(
        &self,
        project_id: &ProjectId,
        session: &Session,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        update_session(&mut conn, project_id.as_str(), session).await
    }

    async fn revoke_session(
        &self,
        project_id: &ProjectId,
        session_id: &SessionId,
    ) -> Result<(), StoreError> {
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

    async fn list_sessions(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError> {
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
