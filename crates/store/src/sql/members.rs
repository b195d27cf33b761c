//! `MemberStore`: members as rows of `members`; a deleted member keeps its row (status
//! `deleted`) so it can be reactivated.

use super::*;

/// The member's columns, and its verified TOTP registration, from `members m`.
pub(super) const MEMBER_COLUMNS: &str = "m.member_id, m.organization_id, m.email, m.email_verified, m.status, m.name, \
     m.is_breakglass, m.mfa_phone_number, m.mfa_phone_number_verified, m.mfa_enrolled, m.default_mfa_method, \
     m.trusted_metadata, m.untrusted_metadata, m.external_id, m.roles, m.lock_created_at, m.lock_expires_at, \
     m.created_at, m.updated_at, (SELECT t.totp_registration_id FROM member_totps t \
     WHERE t.member_id = m.member_id AND t.verified = TRUE LIMIT 1) AS totp_registration_id";

pub(super) fn member_row(row: &<Db as sqlx::Database>::Row) -> Result<Member, StoreError> {
    let status: String = row.try_get("status")?;
    let roles: String = row.try_get("roles")?;
    Ok(Member {
        member_id: stored_id(row, "members", "member_id", MemberId::parse)?,
        organization_id: stored_id(row, "members", "organization_id", OrganizationId::parse)?,
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
        status: MemberStatus::parse(&status)
            .ok_or_else(|| corrupt("members", "status", "not a member status"))?,
        name: row.try_get("name")?,
        is_breakglass: row.try_get("is_breakglass")?,
        mfa_phone_number: row.try_get("mfa_phone_number")?,
        mfa_phone_number_verified: row.try_get("mfa_phone_number_verified")?,
        mfa_enrolled: row.try_get("mfa_enrolled")?,
        default_mfa_method: row.try_get("default_mfa_method")?,
        trusted_metadata: metadata(row, "members", "trusted_metadata")?,
        untrusted_metadata: metadata(row, "members", "untrusted_metadata")?,
        external_id: row.try_get("external_id")?,
        roles: serde_json::from_str(&roles)
            .map_err(|error| corrupt("members", "roles", json_problem(&error)))?,
        totp_registration_id: row
            .try_get::<Option<String>, _>("totp_registration_id")?
            .unwrap_or_default(),
        lock_created_at: optional_instant(row, "members", "lock_created_at")?,
        lock_expires_at: optional_instant(row, "members", "lock_expires_at")?,
        created_at: instant(row, "members", "created_at")?,
        updated_at: instant(row, "members", "updated_at")?,
    })
}

/// `roles` as the JSON array `members.roles` holds. Encoding strings does not fail; should it
/// ever, the change is refused rather than stored as something else.
pub(super) fn roles_text(roles: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(roles).map_err(|_| {
        StoreError::Invalid(InputError::InvalidRoles(
            "roles could not be encoded as JSON.".to_owned(),
        ))
    })
}

/// Maps the members' unique indexes to their conflicts, and a vanished organization to
/// `Missing::Organization`.
pub(super) fn member_conflict(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db_error) = &error {
        let names = |needle: &str| {
            db_error.message().contains(needle)
                || db_error.constraint().unwrap_or_default().contains(needle)
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
    error.into()
}

pub(super) async fn find_member(
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
    let live = if include_deleted {
        ""
    } else {
        " AND m.status <> 'deleted'"
    };
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
    row.as_ref().map(member_row).transpose()
}

/// Writes a new member of an existing organization; `Conflict::DuplicateMemberEmail` /
/// `DuplicateMemberExternalId`.
pub(super) async fn insert_member(
    conn: &mut Conn,
    project: &str,
    member: &Member,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO members (member_id, project_id, organization_id, email, email_verified, status, name, \
         is_breakglass, mfa_phone_number, mfa_phone_number_verified, mfa_enrolled, default_mfa_method, \
         trusted_metadata, untrusted_metadata, external_id, roles, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(member.member_id.as_str())
    .bind(project)
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
    .bind(metadata_to_text("trusted_metadata", &member.trusted_metadata)?)
    .bind(metadata_to_text("untrusted_metadata", &member.untrusted_metadata)?)
    .bind(&member.external_id)
    .bind(roles_text(&member.roles)?)
    .bind(to_micros(member.created_at))
    .bind(to_micros(member.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(member_conflict)?;
    Ok(())
}

pub(super) async fn load_member(
    conn: &mut Conn,
    project: &str,
    member_id: &MemberId,
) -> Result<Member, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members m WHERE m.project_id = $1 AND m.member_id = $2"
    ))
    .bind(project)
    .bind(member_id.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound(Missing::Member))?;
    member_row(&row)
}

/// Locks a live member by id for a change; `Missing::Member` when there is none.
pub(super) async fn lock_live_member(
    conn: &mut Conn,
    project: &str,
    member_id: &MemberId,
) -> Result<(), StoreError> {
    let found: Option<String> = sqlx::query_scalar(&format!(
        "SELECT member_id FROM members WHERE project_id = $1 AND member_id = $2 AND status <> 'deleted'{FOR_UPDATE}"
    ))
    .bind(project)
    .bind(member_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    found
        .map(|_| ())
        .ok_or(StoreError::NotFound(Missing::Member))
}

pub(super) async fn write_member(
    conn: &mut Conn,
    project: &str,
    member: &Member,
) -> Result<(), StoreError> {
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
    .bind(metadata_to_text("trusted_metadata", &member.trusted_metadata)?)
    .bind(metadata_to_text("untrusted_metadata", &member.untrusted_metadata)?)
    .bind(&member.external_id)
    .bind(roles_text(&member.roles)?)
    .bind(to_micros(member.updated_at))
    .bind(project)
    .bind(member.member_id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(member_conflict)?;
    Ok(())
}

pub(super) fn push_member_filter(
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
    let fuzzy = [
        ("LOWER(m.email)", &filter.email_fuzzy),
        ("m.mfa_phone_number", &filter.mfa_phone_number_fuzzy),
    ];
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
        if !roles
            .iter()
            .any(|role| role == latchkey_core::members::MEMBER_ROLE)
        {
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

#[async_trait]
impl MemberStore for Engine {
    async fn create_member(
        &self,
        project_id: &ProjectId,
        member: &Member,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        insert_member(&mut conn, project_id.as_str(), member).await
    }

    async fn get_member(
        &self,
        project_id: &ProjectId,
        organization_id: &OrganizationId,
        member: &MemberRef,
        include_deleted: bool,
    ) -> Result<Option<Member>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        find_member(
            &mut conn,
            project_id.as_str(),
            organization_id.as_str(),
            member,
            include_deleted,
            false,
        )
        .await
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
        let mut current = find_member(
            &mut tx,
            project,
            organization_id.as_str(),
            member,
            false,
            true,
        )
        .await?
        .ok_or(StoreError::NotFound(Missing::Member))?;
        if let Some(name) = patch.name {
            current.name = name;
        }
        if let Some(metadata) = patch.trusted_metadata {
            merge_metadata("trusted_metadata", &mut current.trusted_metadata, metadata)?;
        }
        if let Some(metadata) = patch.untrusted_metadata {
            merge_metadata(
                "untrusted_metadata",
                &mut current.untrusted_metadata,
                metadata,
            )?;
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
        let mut found = find_member(
            &mut tx,
            project,
            organization_id.as_str(),
            member,
            false,
            true,
        )
        .await?
        .ok_or(StoreError::NotFound(Missing::Member))?;
        found.status = MemberStatus::Deleted;
        found.updated_at = now;
        write_member(&mut tx, project, &found).await?;
        // Its sessions end, and what could still log it in is revoked: links (invites
        // included), passcodes and intermediate sessions.
        for table in [
            "member_sessions",
            "member_magic_links",
            "member_otp_codes",
            "intermediate_sessions",
        ] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE project_id = $1 AND member_id = $2"
            ))
            .bind(project)
            .bind(found.member_id.as_str())
            .execute(&mut *tx)
            .await?;
        }
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
        let mut found = find_member(
            &mut tx,
            project,
            organization_id.as_str(),
            member,
            true,
            true,
        )
        .await?
        .ok_or(StoreError::NotFound(Missing::Member))?;
        if found.status == MemberStatus::Deleted {
            if !found.may_be_reactivated() {
                return Err(StoreError::Refused(Refusal::MemberEmailNotVerified));
            }
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
        let next_cursor = cut_page(&mut members, limit, |last| {
            (
                to_micros(last.created_at),
                last.member_id.as_str().to_owned(),
            )
        });
        Ok(MemberPage {
            members,
            total,
            next_cursor,
        })
    }
}
