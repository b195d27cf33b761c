// `MemberStore` for both engines: members, their TOTP registrations and their sessions;
// `include!`d after `sql_common.rs`, `sql_totps.rs` and `sql_b2b.rs` (see `sql_common.rs`).

use latchkey_core::ids::{MemberId, MemberSessionId};
use latchkey_core::member::{Member, MemberStatus};
use latchkey_core::session::MemberSession;

use crate::{
    MemberCompletion, MemberFilter, MemberPage, MemberPatch, MemberRef, MemberSessionWrite, MemberStore,
};

/// The member's columns, and its verified TOTP registration, from `members m`.
const MEMBER_COLUMNS: &str = "m.member_id, m.organization_id, m.email, m.email_verified, m.status, m.name, \
     m.is_breakglass, m.mfa_phone_number, m.mfa_phone_number_verified, m.mfa_enrolled, m.default_mfa_method, \
     m.trusted_metadata, m.untrusted_metadata, m.external_id, m.roles, m.lock_created_at, m.lock_expires_at, \
     m.created_at, m.updated_at, (SELECT t.totp_registration_id FROM member_totps t \
     WHERE t.member_id = m.member_id AND t.verified = TRUE LIMIT 1) AS totp_registration_id";

fn member_row(row: &<Db as sqlx::Database>::Row) -> Result<Member, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let roles: String = row.try_get("roles")?;
    Ok(Member {
        member_id: MemberId::from_trusted(row.try_get("member_id")?),
        organization_id: OrganizationId::from_trusted(row.try_get("organization_id")?),
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
        status: MemberStatus::parse(&status).unwrap_or(MemberStatus::Active),
        name: row.try_get("name")?,
        is_breakglass: row.try_get("is_breakglass")?,
        mfa_phone_number: row.try_get("mfa_phone_number")?,
        mfa_phone_number_verified: row.try_get("mfa_phone_number_verified")?,
        mfa_enrolled: row.try_get("mfa_enrolled")?,
        default_mfa_method: row.try_get("default_mfa_method")?,
        trusted_metadata: metadata_from_text(&row.try_get::<String, _>("trusted_metadata")?),
        untrusted_metadata: metadata_from_text(&row.try_get::<String, _>("untrusted_metadata")?),
        external_id: row.try_get("external_id")?,
        roles: serde_json::from_str(&roles).unwrap_or_default(),
        totp_registration_id: row.try_get::<Option<String>, _>("totp_registration_id")?.unwrap_or_default(),
        lock_created_at: row.try_get::<Option<i64>, _>("lock_created_at")?.map(from_micros),
        lock_expires_at: row.try_get::<Option<i64>, _>("lock_expires_at")?.map(from_micros),
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
    })
}

fn roles_text(roles: &[String]) -> String {
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".to_owned())
}

/// Maps the members' unique indexes to their conflicts, and a vanished organization to
/// `Missing::Organization`.
fn member_conflict(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db_error) = &error {
        let names = |needle: &str| {
            db_error.message().contains(needle) || db_error.constraint().unwrap_or_default().contains(needle)
        };
        if db_error.is_unique_violation() {
            if names("external_id") {
                return StoreError::Conflict(Conflict::DuplicateMemberExternalId);
            }
            if names("email") {
                return StoreError::Conflict(Conflict::DuplicateMemberEmail);
            }
        }
        if db_error.is_foreign_key_violation() {
            return StoreError::NotFound(Missing::Organization);
        }
    }
    StoreError::Database(error)
}

async fn find_member(
    conn: &mut Conn,
    project: &str,
    organization_id: &str,
    member: &MemberRef,
    include_deleted: bool,
    lock: bool,
) -> Result<Option<Member>, StoreError> {
    let (column, value) = match member {
        MemberRef::Id(id) => ("m.member_id", id.as_str()),
        MemberRef::ExternalId(id) => ("m.external_id", id.as_str()),
        MemberRef::Email(email) => ("m.email", email.as_str()),
    };
    let live = if include_deleted { "" } else { " AND m.status <> 'deleted'" };
    // Several deleted members may share an email; the live one, else the latest, is meant.
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members m WHERE m.project_id = $1 AND m.organization_id = $2 \
         AND {column} = $3{live} ORDER BY CASE WHEN m.status = 'deleted' THEN 1 ELSE 0 END, m.updated_at DESC \
         LIMIT 1{}",
        if lock { FOR_UPDATE } else { "" }
    );
    let row = sqlx::query(&sql)
        .bind(project)
        .bind(organization_id)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(member_row).transpose()?)
}

async fn load_member(conn: &mut Conn, project: &str, member_id: &MemberId) -> Result<Member, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members m WHERE m.project_id = $1 AND m.member_id = $2"
    ))
    .bind(project)
    .bind(member_id.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound(Missing::Member))?;
    Ok(member_row(&row)?)
}

/// Locks a live member by id for a change; `Missing::Member` when there is none.
async fn lock_live_member(conn: &mut Conn, project: &str, member_id: &MemberId) -> Result<(), StoreError> {
    let found: Option<String> = sqlx::query_scalar(&format!(
        "SELECT member_id FROM members WHERE project_id = $1 AND member_id = $2 AND status <> 'deleted'{FOR_UPDATE}"
    ))
    .bind(project)
    .bind(member_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound(Missing::Member))
}

async fn write_member(conn: &mut Conn, project: &str, member: &Member) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE members SET email = $1, email_verified = $2, status = $3, name = $4, is_breakglass = $5, \
         mfa_phone_number = $6, mfa_phone_number_verified = $7, mfa_enrolled = $8, default_mfa_method = $9, \
         trusted_metadata = $10, untrusted_metadata = $11, external_id = $12, roles = $13, updated_at = $14 \
         WHERE project_id = $15 AND member_id = $16",
    )
    .bind(&member.email)
    .bind(member.email_verified)
    .bind(member.status.as_str())
    .bind(&member.name)
    .bind(member.is_breakglass)
    .bind(&member.mfa_phone_number)
    .bind(member.mfa_phone_number_verified)
    .bind(member.mfa_enrolled)
    .bind(&member.default_mfa_method)
    .bind(metadata_to_text(&member.trusted_metadata))
    .bind(metadata_to_text(&member.untrusted_metadata))
    .bind(&member.external_id)
    .bind(roles_text(&member.roles))
    .bind(to_micros(member.updated_at))
    .bind(project)
    .bind(member.member_id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(member_conflict)?;
    Ok(())
}

fn push_member_filter(
    query: &mut QueryBuilder<'_, Db>,
    project: &str,
    organization_ids: &[OrganizationId],
    filter: &MemberFilter,
) {
    query.push(" WHERE m.project_id = ");
    query.push_bind(project.to_owned());
    query.push(" AND m.organization_id IN ");
    push_list(query, &ids(organization_ids, OrganizationId::as_str));
    let lists = [
        ("m.member_id", &filter.member_ids),
        ("m.email", &filter.emails),
        ("m.mfa_phone_number", &filter.mfa_phone_numbers),
        ("m.external_id", &filter.external_ids),
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
    match &filter.statuses {
        Some(statuses) if statuses.is_empty() => {
            query.push(" AND 1 = 0");
        }
        Some(statuses) => {
            query.push(" AND m.status IN ");
            push_list(query, statuses);
        }
        None => {
            query.push(" AND m.status <> 'deleted'");
        }
    }
    let fuzzy = [("LOWER(m.email)", &filter.email_fuzzy), ("m.mfa_phone_number", &filter.mfa_phone_number_fuzzy)];
    for (column, text) in fuzzy {
        if let Some(text) = text {
            query.push(format!(" AND {column} LIKE "));
            query.push_bind(like_contains(&text.to_lowercase()));
            query.push(" ESCAPE '\\'");
        }
    }
    if let Some(breakglass) = filter.is_breakglass {
        query.push(" AND m.is_breakglass = ");
        query.push_bind(breakglass);
    }
    if filter.password_exists == Some(true) {
        // Members hold no passwords in Latchkey yet.
        query.push(" AND 1 = 0");
    }
    if let Some(roles) = &filter.roles {
        if !roles.iter().any(|role| role == latchkey_core::member::MEMBER_ROLE) {
            // Roles are a JSON array of strings: a role is held when its JSON string is in it.
            query.push(" AND (1 = 0");
            for role in roles {
                query.push(" OR m.roles LIKE ");
                query.push_bind(like_contains(&Value::String(role.clone()).to_string()));
                query.push(" ESCAPE '\\'");
            }
            query.push(")");
        }
    }
}

const MEMBER_SESSION_COLUMNS: &str = "member_session_id, member_id, organization_id, started_at, \
     last_accessed_at, expires_at, factors, custom_claims";

fn member_session_row(row: &<Db as sqlx::Database>::Row) -> Result<MemberSession, sqlx::Error> {
    let factors: String = row.try_get("factors")?;
    let claims: String = row.try_get("custom_claims")?;
    let factors: Vec<Value> = serde_json::from_str(&factors).unwrap_or_default();
    Ok(MemberSession {
        member_session_id: MemberSessionId::from_trusted(row.try_get("member_session_id")?),
        member_id: MemberId::from_trusted(row.try_get("member_id")?),
        organization_id: OrganizationId::from_trusted(row.try_get("organization_id")?),
        started_at: from_micros(row.try_get("started_at")?),
        last_accessed_at: from_micros(row.try_get("last_accessed_at")?),
        expires_at: from_micros(row.try_get("expires_at")?),
        authentication_factors: factors.iter().filter_map(AuthenticationFactor::from_json).collect(),
        custom_claims: metadata_from_text(&claims),
    })
}

async fn update_member_session(conn: &mut Conn, project: &str, session: &MemberSession) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE member_sessions SET last_accessed_at = $1, expires_at = $2, factors = $3, custom_claims = $4 \
         WHERE project_id = $5 AND member_session_id = $6",
    )
    .bind(to_micros(session.last_accessed_at))
    .bind(to_micros(session.expires_at))
    .bind(Value::Array(session.factors_json()).to_string())
    .bind(metadata_to_text(&session.custom_claims))
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
async fn write_member_session(
    conn: &mut Conn,
    project: &str,
    member: &Member,
    write: MemberSessionWrite,
    now: DateTime<Utc>,
) -> Result<MemberSession, StoreError> {
    match write {
        MemberSessionWrite::Start(new, factor) => {
            let session = MemberSession {
                member_session_id: new.member_session_id,
                member_id: member.member_id.clone(),
                organization_id: member.organization_id.clone(),
                started_at: now,
                last_accessed_at: now,
                expires_at: new.expires_at,
                authentication_factors: vec![factor],
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
            .bind(metadata_to_text(&session.custom_claims))
            .execute(&mut *conn)
            .await?;
            Ok(session)
        }
        MemberSessionWrite::Continue(session) => {
            if session.member_id != member.member_id {
                return Err(StoreError::NotFound(Missing::Session));
            }
            update_member_session(conn, project, &session).await?;
            Ok(session)
        }
    }
}

#[async_trait]
impl MemberStore for Engine {
    async fn create_member(&self, project_id: &ProjectId, member: &Member) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO members (member_id, project_id, organization_id, email, email_verified, status, name, \
             is_breakglass, mfa_phone_number, mfa_phone_number_verified, mfa_enrolled, default_mfa_method, \
             trusted_metadata, untrusted_metadata, external_id, roles, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(member.member_id.as_str())
        .bind(project_id.as_str())
        .bind(member.organization_id.as_str())
        .bind(&member.email)
        .bind(member.email_verified)
        .bind(member.status.as_str())
        .bind(&member.name)
        .bind(member.is_breakglass)
        .bind(&member.mfa_phone_number)
        .bind(member.mfa_phone_number_verified)
        .bind(member.mfa_enrolled)
        .bind(&member.default_mfa_method)
        .bind(metadata_to_text(&member.trusted_metadata))
        .bind(metadata_to_text(&member.untrusted_metadata))
        .bind(&member.external_id)
        .bind(roles_text(&member.roles))
        .bind(to_micros(member.created_at))
        .bind(to_micros(member.updated_at))
        .execute(self.writer())
        .await
        .map_err(member_conflict)?;
        Ok(())
    }

    async fn get_member(
        &self,
        project_id: &ProjectId,
        organization_id: &OrganizationId,
        member: &MemberRef,
        include_deleted: bool,
    ) -> Result<Option<Member>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        find_member(&mut conn, project_id.as_str(), organization_id.as_str(), member, include_deleted, false).await
    }

    async fn update_member(
        &self,
        project_id: &ProjectId,
        organization_id: &OrganizationId,
        member: &MemberRef,
        patch: MemberPatch,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let mut current = find_member(&mut tx, project, organization_id.as_str(), member, false, true)
            .await?
            .ok_or(StoreError::NotFound(Missing::Member))?;
        if let Some(name) = patch.name {
            current.name = name;
        }
        if let Some(metadata) = patch.trusted_metadata {
            merge_metadata("trusted_metadata", &mut current.trusted_metadata, metadata)?;
        }
        if let Some(metadata) = patch.untrusted_metadata {
            merge_metadata("untrusted_metadata", &mut current.untrusted_metadata, metadata)?;
        }
        if let Some(breakglass) = patch.is_breakglass {
            current.is_breakglass = breakglass;
        }
        if let Some(phone) = patch.mfa_phone_number {
            if !current.mfa_phone_number.is_empty() && current.mfa_phone_number != phone {
                return Err(StoreError::Refused(Refusal::MfaPhoneNumberExists));
            }
            if current.mfa_phone_number != phone {
                current.mfa_phone_number = phone;
                current.mfa_phone_number_verified = false;
            }
        }
        if let Some(enrolled) = patch.mfa_enrolled {
            current.mfa_enrolled = enrolled;
        }
        if let Some(roles) = patch.roles {
            current.roles = roles;
        }
        if let Some(method) = patch.default_mfa_method {
            current.default_mfa_method = method;
        }
        if let Some(email) = patch.email {
            if email != current.email {
                current.email = email;
                current.email_verified = false;
            }
        }
        if let Some(external_id) = patch.external_id {
            current.external_id = external_id;
        }
        current.updated_at = now;
        write_member(&mut tx, project, &current).await?;
        tx.commit().await?;
        Ok(current)
    }

    async fn delete_member(
        &self,
        project_id: &ProjectId,
        organization_id: &OrganizationId,
        member: &MemberRef,
        now: DateTime<Utc>,
    ) -> Result<MemberId, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let mut found = find_member(&mut tx, project, organization_id.as_str(), member, false, true)
            .await?
            .ok_or(StoreError::NotFound(Missing::Member))?;
        found.status = MemberStatus::Deleted;
        found.updated_at = now;
        write_member(&mut tx, project, &found).await?;
        sqlx::query("DELETE FROM member_sessions WHERE project_id = $1 AND member_id = $2")
            .bind(project)
            .bind(found.member_id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(found.member_id)
    }

    async fn reactivate_member(
        &self,
        project_id: &ProjectId,
        organization_id: &OrganizationId,
        member: &MemberRef,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let mut found = find_member(&mut tx, project, organization_id.as_str(), member, true, true)
            .await?
            .ok_or(StoreError::NotFound(Missing::Member))?;
        if found.status == MemberStatus::Deleted {
            found.status = MemberStatus::Active;
            found.updated_at = now;
            // The partial unique index refuses it when another live member took the email.
            write_member(&mut tx, project, &found).await?;
        }
        tx.commit().await?;
        Ok(found)
    }

    async fn search_members(
        &self,
        project_id: &ProjectId,
        organization_ids: &[OrganizationId],
        filter: &MemberFilter,
        limit: u32,
        after: Option<(i64, String)>,
    ) -> Result<MemberPage, StoreError> {
        let project = project_id.as_str();
        let mut conn = self.reader().acquire().await?;
        let mut count = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM members m");
        push_member_filter(&mut count, project, organization_ids, filter);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut query = QueryBuilder::<Db>::new(format!("SELECT {MEMBER_COLUMNS} FROM members m"));
        push_member_filter(&mut query, project, organization_ids, filter);
        push_keyset_page(&mut query, ("m.created_at", "m.member_id"), after, limit);
        let rows = query.build().fetch_all(&mut *conn).await?;
        let mut members: Vec<Member> = rows.iter().map(member_row).collect::<Result<_, _>>()?;
        let next_cursor =
            cut_page(&mut members, limit, |last| (to_micros(last.created_at), last.member_id.as_str().to_owned()));
        Ok(MemberPage { members, total, next_cursor })
    }

    async fn member_totps(&self, project_id: &ProjectId, member_id: &MemberId) -> Result<Vec<StoredTotp>, StoreError> {
        let rows = sqlx::query(
            "SELECT totp_registration_id AS totp_id, verified, secret_sealed, last_step, expires_at, \
             recovery_codes, created_at FROM member_totps WHERE project_id = $1 AND member_id = $2 \
             ORDER BY verified DESC, created_at DESC, totp_registration_id",
        )
        .bind(project_id.as_str())
        .bind(member_id.as_str())
        .fetch_all(self.reader())
        .await?;
        Ok(rows.iter().map(totp_row).collect::<Result<_, _>>()?)
    }

    async fn create_member_totp(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        totp: NewTotp,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        // Locked, so two concurrent creates cannot both find no verified registration.
        lock_live_member(&mut tx, project, member_id).await?;
        let verified: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM member_totps WHERE project_id = $1 AND member_id = $2 AND verified = TRUE",
        )
        .bind(project)
        .bind(member_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if verified > 0 {
            return Err(StoreError::Refused(Refusal::ActiveTotpExists));
        }
        sqlx::query("DELETE FROM member_totps WHERE project_id = $1 AND member_id = $2")
            .bind(project)
            .bind(member_id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO member_totps (totp_registration_id, project_id, member_id, verified, secret_sealed, \
             expires_at, recovery_codes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&totp.totp_id)
        .bind(project)
        .bind(member_id.as_str())
        .bind(totp.verified)
        .bind(totp.secret_sealed)
        .bind(totp.expires_at.map(to_micros))
        .bind(digests_to_text(&totp.recovery_codes))
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        let member = load_member(&mut tx, project, member_id).await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn delete_member_totp(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        lock_live_member(&mut tx, project, member_id).await?;
        let deleted = sqlx::query("DELETE FROM member_totps WHERE project_id = $1 AND member_id = $2")
            .bind(project)
            .bind(member_id.as_str())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound(Missing::Totp));
        }
        // TOTP can no longer be the default MFA method.
        sqlx::query(
            "UPDATE members SET default_mfa_method = CASE WHEN default_mfa_method = 'totp' THEN '' \
             ELSE default_mfa_method END, updated_at = $1 WHERE project_id = $2 AND member_id = $3",
        )
        .bind(to_micros(now))
        .bind(project)
        .bind(member_id.as_str())
        .execute(&mut *tx)
        .await?;
        let member = load_member(&mut tx, project, member_id).await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn rotate_member_recovery_codes(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        totp_id: &str,
        codes: Vec<CodeDigest>,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE member_totps SET recovery_codes = $1 WHERE project_id = $2 AND member_id = $3 \
             AND totp_registration_id = $4 AND verified = TRUE",
        )
        .bind(digests_to_text(&codes))
        .bind(project_id.as_str())
        .bind(member_id.as_str())
        .bind(totp_id)
        .execute(self.writer())
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(Missing::Totp));
        }
        Ok(())
    }

    async fn reserve_member_attempt(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        reserve_attempt_in(&mut tx, ("members", "member_id"), project_id.as_str(), member_id.as_str(), settings, now)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => StoreError::NotFound(Missing::Member),
                other => other,
            })?;
        tx.commit().await?;
        Ok(())
    }

    async fn complete_member(
        &self,
        project_id: &ProjectId,
        completion: MemberCompletion,
        now: DateTime<Utc>,
    ) -> Result<(Member, MemberSession), StoreError> {
        let project = project_id.as_str();
        let member_id = &completion.member_id;
        let mut tx = self.writer().begin().await?;
        let cleared = sqlx::query(
            "UPDATE members SET failed_attempts = 0, lock_created_at = NULL, lock_expires_at = NULL \
             WHERE project_id = $1 AND member_id = $2 AND status <> 'deleted'",
        )
        .bind(project)
        .bind(member_id.as_str())
        .execute(&mut *tx)
        .await?;
        if cleared.rows_affected() == 0 {
            return Err(StoreError::NotFound(Missing::Member));
        }
        if let Some(used) = &completion.consume {
            consume(&mut tx, project, ("member_totps", "totp_registration_id", "member_id"), member_id.as_str(), used)
                .await?;
        }
        let mut member = load_member(&mut tx, project, member_id).await?;
        let mut changed = false;
        // A member who authenticates is no longer pending or invited.
        if matches!(member.status, MemberStatus::Pending | MemberStatus::Invited) {
            member.status = MemberStatus::Active;
            changed = true;
        }
        if let Some(enrolled) = completion.set_mfa_enrolled {
            changed |= member.mfa_enrolled != enrolled;
            member.mfa_enrolled = enrolled;
        }
        if let Some(method) = completion.set_default_mfa_method {
            changed |= member.default_mfa_method != method;
            member.default_mfa_method = method;
        }
        if changed {
            member.updated_at = now;
            write_member(&mut tx, project, &member).await?;
        }
        let session = write_member_session(&mut tx, project, &member, completion.session, now).await?;
        tx.commit().await?;
        Ok((member, session))
    }

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

    async fn save_member_session(&self, project_id: &ProjectId, session: &MemberSession) -> Result<(), StoreError> {
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
        Ok(rows.iter().map(member_session_row).collect::<Result<_, _>>()?)
    }

    async fn revoke_all_member_sessions(&self, project_id: &ProjectId, member_id: &MemberId) -> Result<(), StoreError> {
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
        let deleted = sqlx::query("DELETE FROM member_sessions WHERE project_id = $1 AND member_session_id = $2")
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
