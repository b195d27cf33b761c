//! `AuthenticationStore`: the attempt count and lock (`reserve_attempt_in`, for users and members
//! alike) and the one transaction that makes a verified factor take effect.

use super::*;

/// Counts one authentication attempt of the account `id` of `table` (users or members) before
/// it is checked: refuses a locked account (`Refusal::UserLocked`) and locks it when this
/// attempt reaches the threshold. The row is locked, so concurrent guesses cannot exceed it.
pub(super) async fn reserve_attempt_in(
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
        (
            Some(micros),
            Some(micros + settings.lock_ttl_seconds * 1_000_000),
        )
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

#[async_trait]
impl AuthenticationStore for Engine {
    async fn reserve_attempt(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        reserve_attempt_in(
            &mut tx,
            ("users", "user_id"),
            project_id.as_str(),
            user_id.as_str(),
            settings,
            now,
        )
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
            consume(
                &mut tx,
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
            sqlx::query(
                "DELETE FROM sessions WHERE project_id = $1 AND user_id = $2 AND session_id <> $3",
            )
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

    async fn reserve_member_attempt(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        reserve_attempt_in(
            &mut tx,
            ("members", "member_id"),
            project_id.as_str(),
            member_id.as_str(),
            settings,
            now,
        )
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
            consume(
                &mut tx,
                project,
                ("member_totps", "totp_registration_id", "member_id"),
                member_id.as_str(),
                used,
            )
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
        let session =
            write_member_session(&mut tx, project, &member, completion.session, now).await?;
        tx.commit().await?;
        Ok((member, session))
    }
}
