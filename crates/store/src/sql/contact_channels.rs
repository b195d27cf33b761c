//! `ContactChannelStore`. Contact channels are rows of `user_emails`: every statement here is
//! about the same emails the Stytch Users API reads and writes.

use super::*;

pub(super) const CHANNEL_COLUMNS: &str =
    "email_id, user_id, email, verified, used_for_auth, is_primary, created_at";

pub(super) fn channel_row(row: &<Db as sqlx::Database>::Row) -> Result<ContactChannel, StoreError> {
    Ok(ContactChannel {
        email_id: stored_id(row, "user_emails", "email_id", EmailId::parse)?,
        user_id: stored_id(row, "user_emails", "user_id", UserId::parse)?,
        value: row.try_get("email")?,
        verified: row.try_get("verified")?,
        used_for_auth: row.try_get("used_for_auth")?,
        is_primary: row.try_get("is_primary")?,
        created_at: instant(row, "user_emails", "created_at")?,
    })
}

/// Locks the user for a change of its channels; `Missing::User` when there is none.
pub(super) async fn lock_user(
    conn: &mut Conn,
    project: &str,
    user_id: &UserId,
) -> Result<(), StoreError> {
    let found: Option<String> = sqlx::query_scalar(&format!(
        "SELECT user_id FROM users WHERE project_id = $1 AND user_id = $2{FOR_UPDATE}"
    ))
    .bind(project)
    .bind(user_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound(Missing::User))
}

pub(super) async fn find_channel(
    conn: &mut Conn,
    project: &str,
    user_id: &UserId,
    email_id: &EmailId,
) -> Result<ContactChannel, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM user_emails WHERE project_id = $1 AND user_id = $2 AND email_id = $3"
    ))
    .bind(project)
    .bind(user_id.as_str())
    .bind(email_id.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound(Missing::ContactChannel))?;
    channel_row(&row)
}

/// Refuses a change that leaves the user no way to sign in: no other email used for auth, no
/// phone number, OAuth, WebAuthn, biometric or crypto-wallet registration.
pub(super) async fn keep_a_sign_in_method(
    conn: &mut Conn,
    project: &str,
    user_id: &UserId,
    except: &EmailId,
) -> Result<(), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM user_emails \
           WHERE project_id = $1 AND user_id = $2 AND used_for_auth AND email_id <> $3) AS emails, \
         (SELECT COUNT(*) FROM user_phone_numbers WHERE project_id = $1 AND user_id = $2) AS phones, \
         (SELECT COUNT(*) FROM oauth_registrations WHERE project_id = $1 AND user_id = $2) AS oauth, \
         (SELECT COUNT(*) FROM webauthn_registrations WHERE project_id = $1 AND user_id = $2) \
           AS webauthn, \
         (SELECT COUNT(*) FROM biometric_registrations WHERE project_id = $1 AND user_id = $2) \
           AS biometric, \
         (SELECT COUNT(*) FROM crypto_wallets WHERE project_id = $1 AND user_id = $2) AS wallets",
    )
    .bind(project)
    .bind(user_id.as_str())
    .bind(except.as_str())
    .fetch_one(&mut *conn)
    .await?;
    let count = |column: &str| -> Result<u64, StoreError> {
        let count: i64 = row.try_get(column)?;
        // A COUNT is never negative.
        Ok(count.unsigned_abs())
    };
    let others = OtherSignInMethods {
        emails_used_for_auth: count("emails")?,
        phone_numbers: count("phones")?,
        oauth_registrations: count("oauth")?,
        webauthn_registrations: count("webauthn")?,
        biometric_registrations: count("biometric")?,
        crypto_wallets: count("wallets")?,
    };
    if !others.any() {
        return Err(StoreError::Refused(Refusal::LastSignInMethod));
    }
    Ok(())
}

/// Before `user_id` starts signing in with a verified `email`: another user that signs in with
/// it unverified stops doing so, and keeps it as a contact address (core `ChannelEffects`).
pub(super) async fn release_unproven_sign_in(
    conn: &mut Conn,
    project: &str,
    email: &str,
    user_id: &UserId,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE user_emails SET used_for_auth = FALSE \
         WHERE project_id = $1 AND email = $2 AND used_for_auth AND NOT verified AND user_id <> $3",
    )
    .bind(project)
    .bind(email)
    .bind(user_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes the primary flag from the user's channels, before one of them is made primary.
pub(super) async fn clear_primary(
    conn: &mut Conn,
    project: &str,
    user_id: &UserId,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE user_emails SET is_primary = FALSE \
         WHERE project_id = $1 AND user_id = $2 AND is_primary",
    )
    .bind(project)
    .bind(user_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The unused, unexpired code with `code_digest` (locked when `lock`); what is wrong with it
/// otherwise.
pub(super) async fn usable_code(
    conn: &mut Conn,
    project: &str,
    code_digest: &SecretDigest,
    now: DateTime<Utc>,
    lock: bool,
) -> Result<(EmailId, String), StoreError> {
    let row = sqlx::query(&format!(
        "SELECT email_id, email, expires_at, used_at FROM email_verification_codes \
         WHERE project_id = $1 AND code_digest = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(project)
    .bind(code_digest.as_bytes().to_vec())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound(Missing::VerificationCode))?;
    if row.try_get::<Option<i64>, _>("used_at")?.is_some() {
        return Err(StoreError::Refused(Refusal::VerificationCodeUsed));
    }
    if row.try_get::<i64, _>("expires_at")? <= to_micros(now) {
        return Err(StoreError::Refused(Refusal::VerificationCodeExpired));
    }
    Ok((
        stored_id(&row, "user_emails", "email_id", EmailId::parse)?,
        row.try_get("email")?,
    ))
}

/// The channel a code was sent for, if it still has the address the code was sent to.
pub(super) async fn channel_of_code(
    conn: &mut Conn,
    project: &str,
    (email_id, email): &(EmailId, String),
) -> Result<ContactChannel, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM user_emails WHERE project_id = $1 AND email_id = $2 AND email = $3"
    ))
    .bind(project)
    .bind(email_id.as_str())
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound(Missing::ContactChannel))?;
    channel_row(&row)
}

/// Refuses a verification email to `email` for `user_id` at `now` past core's
/// `VERIFICATION_THROTTLE`. The user is locked already; the address's rows (of every user that
/// lists it, in one order) are locked too, so concurrent sends to one address are counted in
/// turn on PostgreSQL (SQLite has one writer).
pub(super) async fn throttle(
    conn: &mut Conn,
    project: &str,
    user_id: &UserId,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "SELECT email_id FROM user_emails WHERE project_id = $1 AND email = $2 ORDER BY email_id{FOR_UPDATE}"
    ))
    .bind(project)
    .bind(email)
    .fetch_all(&mut *conn)
    .await?;
    let limits = VERIFICATION_THROTTLE;
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE project_id = $1 AND recipient = $2 AND created_at > $3) \
           AS to_destination, \
         (SELECT MIN(created_at) FROM outbox WHERE project_id = $1 AND recipient = $2 AND created_at > $3) \
           AS oldest_to_destination, \
         (SELECT COUNT(*) FROM outbox WHERE project_id = $1 AND user_id = $4 AND created_at > $3) \
           AS by_user, \
         (SELECT MIN(created_at) FROM outbox WHERE project_id = $1 AND user_id = $4 AND created_at > $3) \
           AS oldest_by_user",
    )
    .bind(project)
    .bind(email)
    .bind(to_micros(limits.since(now)))
    .bind(user_id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    let count = |column: &str| -> Result<u64, StoreError> {
        let count: i64 = row.try_get(column)?;
        // A COUNT is never negative.
        Ok(count.unsigned_abs())
    };
    let recent = RecentSends {
        to_destination: count("to_destination")?,
        oldest_to_destination: optional_instant(&row, "outbox", "oldest_to_destination")?,
        by_user: count("by_user")?,
        oldest_by_user: optional_instant(&row, "outbox", "oldest_by_user")?,
    };
    limits
        .check(&recent, now)
        .map_err(|throttled| StoreError::Refused(Refusal::Throttled(throttled)))
}

/// Deletes the project's outbox messages, and its verification codes expired, longer ago than
/// the retention: at most [`OUTBOX_PRUNE_BATCH`] of each, oldest first.
pub(super) async fn prune(
    conn: &mut Conn,
    project: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let before = to_micros(now - chrono::TimeDelta::hours(OUTBOX_RETENTION_HOURS));
    sqlx::query(
        "DELETE FROM outbox WHERE project_id = $1 AND message_id IN (\
         SELECT message_id FROM outbox WHERE project_id = $1 AND created_at < $2 \
         AND status <> 'queued' ORDER BY created_at LIMIT $3)",
    )
    .bind(project)
    .bind(before)
    .bind(OUTBOX_PRUNE_BATCH)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM email_verification_codes WHERE project_id = $1 AND code_digest IN (\
         SELECT code_digest FROM email_verification_codes WHERE project_id = $1 AND expires_at < $2 \
         ORDER BY expires_at LIMIT $3)",
    )
    .bind(project)
    .bind(before)
    .bind(OUTBOX_PRUNE_BATCH)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl ContactChannelStore for Engine {
    async fn contact_channels(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> Result<Vec<ContactChannel>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM users WHERE project_id = $1 AND user_id = $2")
                .bind(project_id.as_str())
                .bind(user_id.as_str())
                .fetch_optional(&mut *conn)
                .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(Missing::User));
        }
        let rows = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM user_emails WHERE project_id = $1 AND user_id = $2 ORDER BY created_at, email_id"
        ))
        .bind(project_id.as_str())
        .bind(user_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.iter().map(channel_row).collect::<Result<_, _>>()?)
    }

    async fn create_contact_channel(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        channel: NewContactChannel,
        now: DateTime<Utc>,
    ) -> Result<ContactChannel, StoreError> {
        let project = project_id.as_str();
        let effects = channel.effects();
        if effects.refused(channel.self_service) {
            return Err(StoreError::Refused(Refusal::UnverifiedSignIn));
        }
        let mut tx = self.writer().begin().await?;
        lock_user(&mut tx, project, user_id).await?;
        check_cap(&mut tx, project, user_id, FactorKind::Email, 1).await?;
        if effects.takes_primary {
            clear_primary(&mut tx, project, user_id).await?;
        }
        if effects.proven_sign_in {
            release_unproven_sign_in(&mut tx, project, channel.value.as_str(), user_id).await?;
        }
        sqlx::query(
            "INSERT INTO user_emails (email_id, project_id, user_id, email, verified, created_at, used_for_auth, \
             is_primary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(channel.email_id.as_str())
        .bind(project)
        .bind(user_id.as_str())
        .bind(channel.value.as_str())
        .bind(channel.verified)
        .bind(to_micros(now))
        .bind(channel.used_for_auth)
        .bind(channel.is_primary)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or)?;
        let created = find_channel(&mut tx, project, user_id, &channel.email_id).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn update_contact_channel(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        email_id: &EmailId,
        patch: ContactChannelPatch,
    ) -> Result<ContactChannel, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        lock_user(&mut tx, project, user_id).await?;
        let mut channel = find_channel(&mut tx, project, user_id, email_id).await?;
        let self_service = patch.self_service;
        let effects = channel.apply(patch);
        if effects.refused(self_service) {
            return Err(StoreError::Refused(Refusal::UnverifiedSignIn));
        }
        if effects.proven_sign_in {
            release_unproven_sign_in(&mut tx, project, &channel.value, user_id).await?;
        }
        if effects.gives_up_sign_in {
            keep_a_sign_in_method(&mut tx, project, user_id, email_id).await?;
        }
        if effects.takes_primary {
            clear_primary(&mut tx, project, user_id).await?;
        }
        sqlx::query(
            "UPDATE user_emails SET email = $1, verified = $2, used_for_auth = $3, is_primary = $4 \
             WHERE project_id = $5 AND email_id = $6",
        )
        .bind(&channel.value)
        .bind(channel.verified)
        .bind(channel.used_for_auth)
        .bind(channel.is_primary)
        .bind(project)
        .bind(email_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(conflict_or)?;
        tx.commit().await?;
        Ok(channel)
    }

    async fn delete_contact_channel(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        email_id: &EmailId,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        lock_user(&mut tx, project, user_id).await?;
        let channel = find_channel(&mut tx, project, user_id, email_id).await?;
        if channel.deletion_effects().gives_up_sign_in {
            keep_a_sign_in_method(&mut tx, project, user_id, email_id).await?;
        }
        sqlx::query("DELETE FROM user_emails WHERE project_id = $1 AND email_id = $2")
            .bind(project)
            .bind(email_id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn start_email_verification(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        email_id: &EmailId,
        verification: NewVerification,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        lock_user(&mut tx, project, user_id).await?;
        let channel = find_channel(&mut tx, project, user_id, email_id).await?;
        if channel.verified {
            return Err(StoreError::Refused(Refusal::EmailAlreadyVerified));
        }
        let message = &verification.message;
        throttle(
            &mut tx,
            project,
            user_id,
            &channel.value,
            message.created_at,
        )
        .await?;
        prune(&mut tx, project, message.created_at).await?;
        sqlx::query(
            "INSERT INTO email_verification_codes (code_digest, project_id, email_id, email, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(verification.code_digest.as_bytes().to_vec())
        .bind(project)
        .bind(email_id.as_str())
        .bind(&channel.value)
        .bind(to_micros(verification.expires_at))
        .bind(to_micros(message.created_at))
        .execute(&mut *tx)
        .await?;
        super::outbox::insert_message(&mut tx, project, Some(user_id.as_str()), message).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn verify_email(
        &self,
        project_id: &ProjectId,
        code_digest: &SecretDigest,
        now: DateTime<Utc>,
    ) -> Result<ContactChannel, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let code = usable_code(&mut tx, project, code_digest, now, true).await?;
        let mut channel = channel_of_code(&mut tx, project, &code).await?;
        let used = sqlx::query(
            "UPDATE email_verification_codes SET used_at = $1 \
             WHERE project_id = $2 AND code_digest = $3 AND used_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(project)
        .bind(code_digest.as_bytes().to_vec())
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() == 0 {
            return Err(StoreError::Refused(Refusal::VerificationCodeUsed));
        }
        sqlx::query(
            "UPDATE user_emails SET verified = TRUE WHERE project_id = $1 AND email_id = $2",
        )
        .bind(project)
        .bind(channel.email_id.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        channel.verified = true;
        Ok(channel)
    }

    async fn check_email_verification(
        &self,
        project_id: &ProjectId,
        code_digest: &SecretDigest,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.reader().acquire().await?;
        let code = usable_code(&mut conn, project_id.as_str(), code_digest, now, false).await?;
        channel_of_code(&mut conn, project_id.as_str(), &code).await?;
        Ok(())
    }
}
