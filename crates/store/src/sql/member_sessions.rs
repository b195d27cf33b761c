//! `MemberSessionStore`: member sessions, and how a B2B authentication writes one.

use super::*;

pub(super) const MEMBER_SESSION_COLUMNS: &str =
    "member_session_id, member_id, organization_id, started_at, \
     last_accessed_at, expires_at, factors, custom_claims";

pub(super) fn member_session_row(
    row: &<Db as sqlx::Database>::Row,
) -> Result<MemberSession, StoreError> {
    let factors: String = row.try_get("factors")?;
    let factors = factors_from_text("member_sessions", &factors)?;
    Ok(MemberSession {
        member_session_id: stored_id(
            row,
            "member_sessions",
            "member_session_id",
            MemberSessionId::parse,
        )?,
        member_id: stored_id(row, "member_sessions", "member_id", MemberId::parse)?,
        organization_id: stored_id(
            row,
            "member_sessions",
            "organization_id",
            OrganizationId::parse,
        )?,
        started_at: instant(row, "member_sessions", "started_at")?,
        last_accessed_at: instant(row, "member_sessions", "last_accessed_at")?,
        expires_at: instant(row, "member_sessions", "expires_at")?,
        authentication_factors: factors,
        custom_claims: metadata(row, "member_sessions", "custom_claims")?,
    })
}

pub(super) async fn update_member_session(
    conn: &mut Conn,
    project: &str,
    session: &MemberSession,
) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE member_sessions SET last_accessed_at = $1, expires_at = $2, factors = $3, custom_claims = $4 \
         WHERE project_id = $5 AND member_session_id = $6",
    )
    .bind(to_micros(session.last_accessed_at))
    .bind(to_micros(session.expires_at))
    .bind(Value::Array(session.factors_json()).to_string())
    .bind(metadata_to_text("custom_claims", &session.custom_claims)?)
    .bind(project)
    .bind(session.member_session_id.as_str())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(Missing::Session));
    }
    Ok(())
}

/// Writes the session of a member's authentication, returning it as stored.
pub(super) async fn write_member_session(
    conn: &mut Conn,
    project: &str,
    member: &Member,
    write: MemberSessionWrite,
    now: DateTime<Utc>,
) -> Result<Option<MemberSession>, StoreError> {
    match write {
        MemberSessionWrite::Intermediate(new) => {
            super::intermediate_sessions::write_intermediate(conn, project, member, &new, now)
                .await?;
            Ok(None)
        }
        MemberSessionWrite::Start(new, factor) => {
            let mut factors = new.earlier_factors;
            // A factor already proven (an exchange carries the intermediate session's last)
            // is not recorded twice.
            if !factors.iter().any(|earlier| earlier.same_as(&factor)) {
                factors.push(factor);
            }
            let session = MemberSession {
                member_session_id: new.member_session_id,
                member_id: member.member_id.clone(),
                organization_id: member.organization_id.clone(),
                started_at: now,
                last_accessed_at: now,
                expires_at: new.expires_at,
                authentication_factors: factors,
                custom_claims: new.custom_claims,
            };
            sqlx::query(
                "INSERT INTO member_sessions (member_session_id, project_id, member_id, organization_id, \
                 token_digest, started_at, last_accessed_at, expires_at, factors, custom_claims) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(session.member_session_id.as_str())
            .bind(project)
            .bind(session.member_id.as_str())
            .bind(session.organization_id.as_str())
            .bind(new.token_digest.as_bytes().to_vec())
            .bind(to_micros(session.started_at))
            .bind(to_micros(session.last_accessed_at))
            .bind(to_micros(session.expires_at))
            .bind(Value::Array(session.factors_json()).to_string())
            .bind(metadata_to_text("custom_claims", &session.custom_claims)?)
            .execute(&mut *conn)
            .await?;
            Ok(Some(session))
        }
        MemberSessionWrite::Continue(session) => {
            if session.member_id != member.member_id {
                return Err(StoreError::NotFound(Missing::Session));
            }
            update_member_session(conn, project, &session).await?;
            Ok(Some(session))
        }
    }
}

#[async_trait]
impl MemberSessionStore for Engine {
    async fn member_session_by_token(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
    ) -> Result<Option<MemberSession>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {MEMBER_SESSION_COLUMNS} FROM member_sessions WHERE project_id = $1 AND token_digest = $2"
        ))
        .bind(project_id.as_str())
        .bind(token_digest.as_bytes().to_vec())
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(member_session_row).transpose()?)
    }

    async fn member_session_by_id(
        &self,
        project_id: &ProjectId,
        member_session_id: &MemberSessionId,
    ) -> Result<Option<MemberSession>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {MEMBER_SESSION_COLUMNS} FROM member_sessions WHERE project_id = $1 AND member_session_id = $2"
        ))
        .bind(project_id.as_str())
        .bind(member_session_id.as_str())
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(member_session_row).transpose()?)
    }

    async fn save_member_session(
        &self,
        project_id: &ProjectId,
        session: &MemberSession,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        update_member_session(&mut conn, project_id.as_str(), session).await
    }

    async fn member_sessions(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        now: DateTime<Utc>,
    ) -> Result<Vec<MemberSession>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MEMBER_SESSION_COLUMNS} FROM member_sessions WHERE project_id = $1 AND member_id = $2 \
             AND expires_at > $3 ORDER BY started_at DESC, member_session_id"
        ))
        .bind(project_id.as_str())
        .bind(member_id.as_str())
        .bind(to_micros(now))
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .iter()
            .map(member_session_row)
            .collect::<Result<_, _>>()?)
    }

    async fn revoke_all_member_sessions(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM member_sessions WHERE project_id = $1 AND member_id = $2")
            .bind(project_id.as_str())
            .bind(member_id.as_str())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn revoke_member_session(
        &self,
        project_id: &ProjectId,
        member_session_id: &MemberSessionId,
    ) -> Result<(), StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM member_sessions WHERE project_id = $1 AND member_session_id = $2",
        )
        .bind(project_id.as_str())
        .bind(member_session_id.as_str())
        .execute(self.writer())
        .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound(Missing::Session));
        }
        Ok(())
    }
}
