//! `AuthenticationStore`: the attempt count and lock (`reserve_attempt_in`, for users and members
//! alike) and the one transaction that makes a verified factor take effect.

use super::*;

/// Which kind of account an attempt is counted against: its table and id column.
#[derive(Clone, Copy)]
pub(super) struct Account {
    table: &'static str,
    id_column: &'static str,
    /// A further condition on the row for it to count as the account (members: not deleted).
    live: &'static str,
}

pub(super) const USERS: Account = Account {
    table: "users",
    id_column: "user_id",
    live: "",
};

pub(super) const MEMBERS: Account = Account {
    table: "members",
    id_column: "member_id",
    live: " AND status <> 'deleted'",
};

/// The lock rules a project's settings name.
fn lock_policy(settings: &ProjectSettings) -> Result<LockPolicy, StoreError> {
    Ok(LockPolicy::new(
        settings.lock_threshold,
        settings.lock_ttl_seconds,
    )?)
}

/// Writes an account's count and lock; `false` when there is no such account.
pub(super) async fn write_lock_state(
    conn: &mut Conn,
    account: Account,
    project: &str,
    id: &str,
    state: &LockState,
) -> Result<bool, StoreError> {
    let Account {
        table,
        id_column,
        live,
    } = account;
    let written = sqlx::query(&format!(
        "UPDATE {table} SET failed_attempts = $1, lock_created_at = $2, lock_expires_at = $3 \
         WHERE project_id = $4 AND {id_column} = $5{live}"
    ))
    .bind(i64::from(state.failed_attempts))
    .bind(state.lock.map(|lock| to_micros(lock.created_at)))
    .bind(state.lock.map(|lock| to_micros(lock.expires_at)))
    .bind(project)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(written.rows_affected() > 0)
}

/// Counts one authentication attempt of the account `id` before it is checked, by the
/// project's [`LockPolicy`]: refuses a locked account (`Refusal::UserLocked`) and locks it when
/// this attempt reaches the threshold. The row is locked, so concurrent guesses cannot exceed
/// it.
pub(super) async fn reserve_attempt_in(
    conn: &mut Conn,
    account: Account,
    project: &str,
    id: &str,
    settings: &ProjectSettings,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let policy = lock_policy(settings)?;
    let Account {
        table, id_column, ..
    } = account;
    let sql = format!(
        "SELECT failed_attempts, lock_created_at, lock_expires_at FROM {table} \
         WHERE project_id = $1 AND {id_column} = $2{FOR_UPDATE}"
    );
    let row = sqlx::query(&sql)
        .bind(project)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound(Missing::User))?;
    let failed: i64 = row.try_get("failed_attempts")?;
    let created: Option<i64> = row.try_get("lock_created_at")?;
    let expires: Option<i64> = row.try_get("lock_expires_at")?;
    let corrupt = |why: &str| StoreError::Corrupt(format!("{table}: {why}"));
    let lock = match (created, expires) {
        (Some(created), Some(expires)) => Some(Lock {
            created_at: from_micros(table, "lock_created_at", created)?,
            expires_at: from_micros(table, "lock_expires_at", expires)?,
        }),
        (None, None) => None,
        _ => return Err(corrupt("a lock with only one of its two instants")),
    };
    let state = LockState {
        failed_attempts: u32::try_from(failed)
            .map_err(|_| corrupt("failed_attempts out of range"))?,
        lock,
    };
    let state = policy
        .reserve(state, now)
        .map_err(|_| StoreError::Refused(Refusal::UserLocked))?;
    write_lock_state(conn, account, project, id, &state).await?;
    Ok(())
}

/// A user's [`UserCompletion`], inside the completing transaction.
async fn complete_user(
    conn: &mut Conn,
    project_id: &ProjectId,
    completion: UserCompletion,
    now: DateTime<Utc>,
) -> Result<(User, Option<Session>), StoreError> {
    let project = project_id.as_str();
    let micros = to_micros(now);
    let user_id = completion.user_id;
    let cleared = write_lock_state(
        &mut *conn,
        USERS,
        project,
        user_id.as_str(),
        &LockPolicy::succeeded(),
    )
    .await?;
    if !cleared {
        return Err(StoreError::NotFound(Missing::User));
    }
    if let Some(used) = &completion.consume {
        consume(
            &mut *conn,
            project,
            ("totps", "totp_id", "user_id"),
            user_id.as_str(),
            used,
        )
        .await?;
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
            .execute(&mut *conn)
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
            .execute(&mut *conn)
            .await?;
            if updated.rows_affected() == 0 {
                insert_password(&mut *conn, project_id, &user_id, &hash, micros).await?;
            }
        }
    }
    if let Revocation::AllExcept(keep) = &completion.revoke {
        sqlx::query(
            "DELETE FROM sessions WHERE project_id = $1 AND user_id = $2 AND session_id <> $3",
        )
        .bind(project)
        .bind(user_id.as_str())
        .bind(keep.as_ref().map_or("", |id| id.as_str()))
        .execute(&mut *conn)
        .await?;
    }
    let session = match completion.session {
        Some(write) => Some(write_session(&mut *conn, project, &user_id, write, now).await?),
        None => None,
    };
    let user = load_user(&mut *conn, project, &user_id).await?;
    Ok((user, session))
}

/// A member's [`MemberCompletion`], inside the completing transaction.
async fn complete_member(
    conn: &mut Conn,
    project_id: &ProjectId,
    completion: MemberCompletion,
    now: DateTime<Utc>,
) -> Result<(Member, MemberSession), StoreError> {
    let project = project_id.as_str();
    let member_id = &completion.member_id;
    let cleared = write_lock_state(
        &mut *conn,
        MEMBERS,
        project,
        member_id.as_str(),
        &LockPolicy::succeeded(),
    )
    .await?;
    if !cleared {
        return Err(StoreError::NotFound(Missing::Member));
    }
    if let Some(used) = &completion.consume {
        consume(
            &mut *conn,
            project,
            ("member_totps", "totp_registration_id", "member_id"),
            member_id.as_str(),
            used,
        )
        .await?;
    }
    let mut member = load_member(&mut *conn, project, member_id).await?;
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
        write_member(&mut *conn, project, &member).await?;
    }
    let session =
        write_member_session(&mut *conn, project, &member, completion.session, now).await?;
    Ok((member, session))
}

#[async_trait]
impl AuthenticationStore for Engine {
    async fn reserve_attempt(
        &self,
        project_id: &ProjectId,
        principal: &PrincipalId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (account, missing) = match principal {
            PrincipalId::User(_) => (USERS, Missing::User),
            PrincipalId::Member(_) => (MEMBERS, Missing::Member),
        };
        let mut tx = self.writer().begin().await?;
        reserve_attempt_in(
            &mut tx,
            account,
            project_id.as_str(),
            principal.as_str(),
            settings,
            now,
        )
        .await
        .map_err(|error| match error {
            StoreError::NotFound(_) => StoreError::NotFound(missing),
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
    ) -> Result<Completed, StoreError> {
        let mut tx = self.writer().begin().await?;
        let completed = match completion {
            Completion::User(completion) => {
                let (user, session) = complete_user(&mut tx, project_id, completion, now).await?;
                Completed::User(user, session)
            }
            Completion::Member(completion) => {
                let (member, session) =
                    complete_member(&mut tx, project_id, completion, now).await?;
                Completed::Member(member, session)
            }
        };
        tx.commit().await?;
        Ok(completed)
    }
}
