//! `AuthenticationStore`: each factor's attempts and the account's lock (for users and members
//! alike, by the core's `LockPolicy`) and the one transaction that makes a verified factor take
//! effect.

use super::*;

/// Which kind of account an attempt is counted against: its table and id column, and what is
/// missing when there is no such account.
#[derive(Clone, Copy)]
pub(super) struct Account {
    table: &'static str,
    id_column: &'static str,
    /// A further condition on the row for it to count as the account (members: not deleted).
    live: &'static str,
    missing: Missing,
}

pub(super) const USERS: Account = Account {
    table: "users",
    id_column: "user_id",
    live: "",
    missing: Missing::User,
};

pub(super) const MEMBERS: Account = Account {
    table: "members",
    id_column: "member_id",
    live: " AND status <> 'deleted'",
    missing: Missing::Member,
};

impl Account {
    fn of(principal: &PrincipalId) -> Account {
        match principal {
            PrincipalId::User(_) => USERS,
            PrincipalId::Member(_) => MEMBERS,
        }
    }
}

/// The lock rules a project's settings name.
fn lock_policy(settings: &ProjectSettings) -> Result<LockPolicy, StoreError> {
    Ok(LockPolicy::new(
        settings.lock_threshold,
        settings.lock_ttl_seconds,
    )?)
}

/// Locks the account's row for the attempt's transaction and reads its lock; `NotFound` when
/// there is no such account.
async fn account_lock(
    conn: &mut Conn,
    account: Account,
    project: &str,
    id: &str,
) -> Result<Option<Lock>, StoreError> {
    let Account {
        table,
        id_column,
        live,
        missing,
    } = account;
    let sql = format!(
        "SELECT lock_created_at, lock_expires_at FROM {table} \
         WHERE project_id = $1 AND {id_column} = $2{live}{FOR_UPDATE}"
    );
    let row = sqlx::query(&sql)
        .bind(project)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound(missing))?;
    let created: Option<i64> = row.try_get("lock_created_at")?;
    let expires: Option<i64> = row.try_get("lock_expires_at")?;
    match (created, expires) {
        (Some(created), Some(expires)) => Ok(Some(Lock {
            created_at: from_micros(table, "lock_created_at", created)?,
            expires_at: from_micros(table, "lock_expires_at", expires)?,
        })),
        (None, None) => Ok(None),
        _ => Err(StoreError::Corrupt(format!(
            "{table}: a lock with only one of its two instants"
        ))),
    }
}

/// Sets (or clears) the account's lock.
async fn write_lock(
    conn: &mut Conn,
    account: Account,
    project: &str,
    id: &str,
    lock: Option<Lock>,
) -> Result<(), StoreError> {
    let Account {
        table, id_column, ..
    } = account;
    sqlx::query(&format!(
        "UPDATE {table} SET lock_created_at = $1, lock_expires_at = $2 \
         WHERE project_id = $3 AND {id_column} = $4"
    ))
    .bind(lock.map(|lock| to_micros(lock.created_at)))
    .bind(lock.map(|lock| to_micros(lock.expires_at)))
    .bind(project)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One factor's attempts on the account `id`; none stored is none made.
async fn read_attempts(
    conn: &mut Conn,
    project: &str,
    id: &str,
    factor: Factor,
) -> Result<FactorAttempts, StoreError> {
    let row = sqlx::query(
        "SELECT failed_attempts, pending_attempts, pending_until FROM authentication_attempts \
         WHERE project_id = $1 AND principal_id = $2 AND factor = $3",
    )
    .bind(project)
    .bind(id)
    .bind(factor.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(FactorAttempts::default());
    };
    let count = |column: &str| -> Result<u32, StoreError> {
        let value: i64 = row.try_get(column)?;
        u32::try_from(value).map_err(|_| {
            StoreError::Corrupt(format!("authentication_attempts.{column}: out of range"))
        })
    };
    let pending_until: Option<i64> = row.try_get("pending_until")?;
    Ok(FactorAttempts {
        failed: count("failed_attempts")?,
        pending: count("pending_attempts")?,
        pending_until: pending_until
            .map(|micros| from_micros("authentication_attempts", "pending_until", micros))
            .transpose()?,
    })
}

async fn write_attempts(
    conn: &mut Conn,
    project: &str,
    id: &str,
    factor: Factor,
    attempts: &FactorAttempts,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO authentication_attempts \
         (project_id, principal_id, factor, failed_attempts, pending_attempts, pending_until) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (project_id, principal_id, factor) DO UPDATE SET \
         failed_attempts = excluded.failed_attempts, \
         pending_attempts = excluded.pending_attempts, pending_until = excluded.pending_until",
    )
    .bind(project)
    .bind(id)
    .bind(factor.as_str())
    .bind(i64::from(attempts.failed))
    .bind(i64::from(attempts.pending))
    .bind(attempts.pending_until.map(to_micros))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What is done to a factor's attempts outside a completion.
#[derive(Clone, Copy)]
enum Step {
    /// Reserve one attempt before its secret is checked: refused (`Refusal::UserLocked`) while
    /// the account is locked or the factor's failures and attempts in flight make up the
    /// threshold.
    Reserve,
    /// End a reservation that was no success: a wrong secret counts (and the failure that
    /// reaches the threshold locks the account, after which every factor's count starts
    /// afresh); a release does not.
    End(AttemptOutcome),
}

/// Applies `step` to the attempts of `factor` on the account `id`, by the project's
/// [`LockPolicy`]. The account's row is locked for the transaction, so concurrent steps are
/// counted one after the other.
async fn attempt_step_in(
    conn: &mut Conn,
    account: Account,
    (project, id): (&str, &str),
    factor: Factor,
    step: Step,
    policy: &LockPolicy,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let lock = account_lock(conn, account, project, id).await?;
    let attempts = read_attempts(conn, project, id, factor).await?;
    let failure = match step {
        Step::Reserve => {
            let reserved = policy
                .reserve(lock, attempts, now)
                .map_err(|_| StoreError::Refused(Refusal::UserLocked))?;
            return write_attempts(conn, project, id, factor, &reserved).await;
        }
        Step::End(AttemptOutcome::Released) => {
            let released = LockPolicy::released(attempts, now);
            return write_attempts(conn, project, id, factor, &released).await;
        }
        Step::End(AttemptOutcome::Failed) => policy.failed(attempts, now),
    };
    write_attempts(conn, project, id, factor, &failure.attempts).await?;
    if let Some(lock) = failure.lock {
        write_lock(conn, account, project, id, Some(lock)).await?;
        sqlx::query(
            "UPDATE authentication_attempts SET failed_attempts = 0 \
             WHERE project_id = $1 AND principal_id = $2",
        )
        .bind(project)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A success, inside the completing transaction: the account exists, the succeeding factor's
/// count starts afresh, and a lock that has run out is cleared. A lock still in force stays:
/// it was set by another factor's failures, which this success does not forgive.
async fn succeed_attempt_in(
    conn: &mut Conn,
    account: Account,
    (project, id): (&str, &str),
    factor: Option<Factor>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let lock = account_lock(conn, account, project, id).await?;
    if lock.is_some_and(|lock| lock.expires_at <= now) {
        write_lock(conn, account, project, id, None).await?;
    }
    if let Some(factor) = factor {
        let attempts = read_attempts(conn, project, id, factor).await?;
        let succeeded = LockPolicy::succeeded(attempts, now);
        write_attempts(conn, project, id, factor, &succeeded).await?;
    }
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
    succeed_attempt_in(
        &mut *conn,
        USERS,
        (project, user_id.as_str()),
        completion.attempt,
        now,
    )
    .await?;
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
) -> Result<(Member, Option<MemberSession>), StoreError> {
    let project = project_id.as_str();
    let member_id = &completion.member_id;
    if let Some(create) = &completion.create {
        let (organization, member) = create.as_ref();
        if let Some(organization) = organization {
            super::organizations::insert_organization(&mut *conn, project, organization).await?;
        }
        insert_member(&mut *conn, project, member).await?;
    }
    succeed_attempt_in(
        &mut *conn,
        MEMBERS,
        (project, member_id.as_str()),
        completion.attempt,
        now,
    )
    .await?;
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
    let mut session = completion.session;
    // Still short of MFA with an intermediate session given: it grows in place (its factors, its
    // binding to the member) and keeps its token; no new one is written.
    let extend = match (&completion.intermediate, &session) {
        (Some(digest), MemberSessionWrite::Intermediate(new)) => {
            Some((digest, new.factors.clone()))
        }
        _ => None,
    };
    if let (Some(digest), None) = (&completion.intermediate, &extend) {
        let earlier = super::intermediate_sessions::use_intermediate(
            &mut *conn, project, &member, digest, now,
        )
        .await?;
        if let MemberSessionWrite::Start(new, _) = &mut session {
            new.earlier_factors = earlier;
        }
    }
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
    if let Some((digest, factors)) = extend {
        super::intermediate_sessions::extend_intermediate(
            &mut *conn, project, &member, digest, &factors, now,
        )
        .await?;
        return Ok((member, None));
    }
    let session = write_member_session(&mut *conn, project, &member, session, now).await?;
    Ok((member, session))
}

impl Engine {
    /// One [`Step`] on a principal's attempts of `factor`, in a transaction of its own.
    async fn attempt_step(
        &self,
        project_id: &ProjectId,
        principal: &PrincipalId,
        factor: Factor,
        step: Step,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let policy = lock_policy(settings)?;
        let mut tx = self.writer().begin().await?;
        attempt_step_in(
            &mut tx,
            Account::of(principal),
            (project_id.as_str(), principal.as_str()),
            factor,
            step,
            &policy,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl AuthenticationStore for Engine {
    async fn reserve_attempt(
        &self,
        project_id: &ProjectId,
        principal: &PrincipalId,
        factor: Factor,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.attempt_step(project_id, principal, factor, Step::Reserve, settings, now)
            .await
    }

    async fn end_attempt(
        &self,
        project_id: &ProjectId,
        principal: &PrincipalId,
        factor: Factor,
        outcome: AttemptOutcome,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let step = Step::End(outcome);
        self.attempt_step(project_id, principal, factor, step, settings, now)
            .await
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
