//! `IntermediateSessionStore`, and the writing and use of an intermediate session inside a
//! member's completion (`write_intermediate`, `use_intermediate`).

use latchkey_core::sessions::intermediate::IntermediateSession;

use super::*;

fn factors_json(factors: &[AuthenticationFactor]) -> String {
    Value::Array(factors.iter().map(AuthenticationFactor::to_json).collect()).to_string()
}

fn intermediate_row(row: &DbRow) -> Result<IntermediateSession, StoreError> {
    let factors: String = row.try_get("factors")?;
    let organization_id: Option<String> = row.try_get("organization_id")?;
    let member_id: Option<String> = row.try_get("member_id")?;
    Ok(IntermediateSession {
        email: row.try_get("email")?,
        organization_id: organization_id
            .map(|id| {
                parse_stored(
                    "intermediate_sessions",
                    "organization_id",
                    &id,
                    OrganizationId::parse,
                )
            })
            .transpose()?,
        member_id: member_id
            .map(|id| parse_stored("intermediate_sessions", "member_id", &id, MemberId::parse))
            .transpose()?,
        factors: factors_from_text("intermediate_sessions", &factors)?,
        expires_at: instant(row, "intermediate_sessions", "expires_at")?,
        created_at: instant(row, "intermediate_sessions", "created_at")?,
    })
}

pub(super) async fn insert_intermediate(
    conn: &mut Conn,
    project: &str,
    token_digest: &SecretDigest,
    session: &IntermediateSession,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO intermediate_sessions (token_digest, project_id, email, organization_id, \
         member_id, factors, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token_digest.as_bytes().to_vec())
    .bind(project)
    .bind(&session.email)
    .bind(session.organization_id.as_ref().map(OrganizationId::as_str))
    .bind(session.member_id.as_ref().map(MemberId::as_str))
    .bind(factors_json(&session.factors))
    .bind(to_micros(session.expires_at))
    .bind(to_micros(session.created_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the intermediate session of a member who owes MFA, bound to the member.
pub(super) async fn write_intermediate(
    conn: &mut Conn,
    project: &str,
    member: &Member,
    new: &NewIntermediateSession,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let session = IntermediateSession {
        email: member.email.clone(),
        organization_id: Some(member.organization_id.clone()),
        member_id: Some(member.member_id.clone()),
        factors: new.factors.clone(),
        expires_at: new.expires_at,
        created_at: now,
    };
    insert_intermediate(conn, project, &new.token_digest, &session).await
}

/// Grows the intermediate session `digest` in place for `member` at `at`: its factors become
/// `factors` and it is bound to the member; `NotFound(IntermediateSession)` if it is gone,
/// expired, or does not fit the member.
pub(super) async fn extend_intermediate(
    conn: &mut Conn,
    project: &str,
    member: &Member,
    digest: &SecretDigest,
    factors: &[AuthenticationFactor],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = sqlx::query(&format!(
        "SELECT email, organization_id, member_id, factors, expires_at, created_at \
         FROM intermediate_sessions WHERE project_id = $1 AND token_digest = $2{FOR_UPDATE}"
    ))
    .bind(project)
    .bind(digest.as_bytes().to_vec())
    .fetch_optional(&mut *conn)
    .await?;
    let session = row.as_ref().map(intermediate_row).transpose()?;
    match session {
        Some(session) if session.is_active(at) && session.fits(member) => {}
        _ => return Err(StoreError::NotFound(Missing::IntermediateSession)),
    }
    sqlx::query(
        "UPDATE intermediate_sessions SET factors = $1, organization_id = $2, member_id = $3 \
         WHERE project_id = $4 AND token_digest = $5",
    )
    .bind(factors_json(factors))
    .bind(member.organization_id.as_str())
    .bind(member.member_id.as_str())
    .bind(project)
    .bind(digest.as_bytes().to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Uses up the intermediate session `digest` for `member` at `at`: deletes it if it is still
/// unexpired and fits the member; its factors are the session's earlier ones.
pub(super) async fn use_intermediate(
    conn: &mut Conn,
    project: &str,
    member: &Member,
    digest: &SecretDigest,
    at: DateTime<Utc>,
) -> Result<Vec<AuthenticationFactor>, StoreError> {
    let row = sqlx::query(
        "DELETE FROM intermediate_sessions WHERE project_id = $1 AND token_digest = $2 \
         AND expires_at > $3 RETURNING email, organization_id, member_id, factors, expires_at, \
         created_at",
    )
    .bind(project)
    .bind(digest.as_bytes().to_vec())
    .bind(to_micros(at))
    .fetch_optional(&mut *conn)
    .await?;
    let session = row
        .as_ref()
        .map(intermediate_row)
        .transpose()?
        .ok_or(StoreError::NotFound(Missing::IntermediateSession))?;
    if !session.fits(member) {
        // The transaction rolls back: the session stays for the principal it belongs to.
        return Err(StoreError::NotFound(Missing::IntermediateSession));
    }
    Ok(session.factors)
}

#[async_trait]
impl IntermediateSessionStore for Engine {
    async fn issue_intermediate_session(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
        session: &IntermediateSession,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        insert_intermediate(&mut conn, project_id.as_str(), token_digest, session).await
    }

    async fn bind_intermediate_session(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
        member: &Member,
        create: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        if create {
            insert_member(&mut tx, project, member).await?;
        }
        let bound = sqlx::query(
            "UPDATE intermediate_sessions SET organization_id = $1, member_id = $2 \
             WHERE project_id = $3 AND token_digest = $4 AND expires_at > $5 \
             AND (organization_id IS NULL OR organization_id = $1) \
             AND (member_id IS NULL OR member_id = $2)",
        )
        .bind(member.organization_id.as_str())
        .bind(member.member_id.as_str())
        .bind(project)
        .bind(token_digest.as_bytes().to_vec())
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        if bound.rows_affected() == 0 {
            return Err(StoreError::NotFound(Missing::IntermediateSession));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn memberships(
        &self,
        project_id: &ProjectId,
        email: &str,
    ) -> Result<Vec<(Organization, Member)>, StoreError> {
        let project = project_id.as_str();
        let mut conn = self.reader().acquire().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT member_id FROM members WHERE project_id = $1 AND email = $2 \
             AND status <> 'deleted' ORDER BY created_at",
        )
        .bind(project)
        .bind(email)
        .fetch_all(&mut *conn)
        .await?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let member_id = parse_stored("members", "member_id", &id, MemberId::parse)?;
            let member = load_member(&mut conn, project, &member_id).await?;
            let organization = super::organizations::find_organization(
                &mut conn,
                project,
                &OrganizationRef::Id(member.organization_id.clone()),
                false,
            )
            .await?
            .ok_or(StoreError::NotFound(Missing::Organization))?;
            found.push((organization, member));
        }
        Ok(found)
    }

    async fn jit_organizations(
        &self,
        project_id: &ProjectId,
        domain: &str,
    ) -> Result<Vec<Organization>, StoreError> {
        let project = project_id.as_str();
        let mut conn = self.reader().acquire().await?;
        // Narrowed in SQL by the verified members of the domain, then checked on the settings.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT organization_id FROM members WHERE project_id = $1 \
             AND email LIKE $2 ESCAPE '\\' AND email_verified AND status <> 'deleted'",
        )
        .bind(project)
        .bind(like_suffix(&format!("@{domain}")))
        .fetch_all(&mut *conn)
        .await?;
        let mut found = Vec::new();
        for id in ids {
            let organization_id =
                parse_stored("members", "organization_id", &id, OrganizationId::parse)?;
            let Some(organization) = super::organizations::find_organization(
                &mut conn,
                project,
                &OrganizationRef::Id(organization_id),
                false,
            )
            .await?
            else {
                continue;
            };
            let restricted = organization
                .settings
                .get("email_jit_provisioning")
                .and_then(Value::as_str)
                == Some("RESTRICTED");
            let allowed = organization
                .settings
                .get("email_allowed_domains")
                .and_then(Value::as_array)
                .is_some_and(|domains| {
                    domains
                        .iter()
                        .filter_map(Value::as_str)
                        .any(|allowed| allowed.eq_ignore_ascii_case(domain))
                });
            if restricted && allowed {
                found.push(organization);
            }
        }
        Ok(found)
    }

    async fn intermediate_session(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
    ) -> Result<Option<IntermediateSession>, StoreError> {
        let row = sqlx::query(
            "SELECT email, organization_id, member_id, factors, expires_at, created_at \
             FROM intermediate_sessions WHERE project_id = $1 AND token_digest = $2",
        )
        .bind(project_id.as_str())
        .bind(token_digest.as_bytes().to_vec())
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(intermediate_row).transpose()
    }
}
