//! `TotpStore`, and the consumption step a completing authentication applies (`consume`).

use super::*;

pub(super) const TOTP_COLUMNS: &str =
    "totp_id, verified, secret_sealed, last_step, expires_at, recovery_codes, \
     recovery_codes_sealed, created_at";

pub(super) fn digests_to_text(digests: &[CodeDigest]) -> String {
    Value::Array(
        digests
            .iter()
            .map(|digest| Value::String(hex::encode(digest)))
            .collect(),
    )
    .to_string()
}

/// The recovery-code digests stored as a JSON array of hex strings in `table.column`; one that
/// does not decode is corrupt, not dropped.
pub(super) fn digests_from_text(
    table: &str,
    column: &str,
    text: &str,
) -> Result<Vec<CodeDigest>, StoreError> {
    let values: Vec<String> =
        serde_json::from_str(text).map_err(|error| corrupt(table, column, json_problem(&error)))?;
    values
        .iter()
        .map(|value| {
            hex::decode(value)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| corrupt(table, column, "a digest that is not 32 bytes of hex"))
        })
        .collect()
}

/// A TOTP registration of a user (`totps`) or of a member (`member_totps`).
pub(super) fn totp_row(
    row: &<Db as sqlx::Database>::Row,
    table: &str,
) -> Result<StoredTotp, StoreError> {
    let recovery: String = row.try_get("recovery_codes")?;
    Ok(StoredTotp {
        totp_id: row.try_get("totp_id")?,
        verified: row.try_get("verified")?,
        secret_sealed: row
            .try_get::<Option<Vec<u8>>, _>("secret_sealed")?
            .ok_or_else(|| corrupt(table, "secret_sealed", "null"))?,
        last_step: row.try_get("last_step")?,
        expires_at: optional_instant(row, table, "expires_at")?,
        recovery_codes: digests_from_text(table, "recovery_codes", &recovery)?,
        recovery_codes_sealed: row.try_get("recovery_codes_sealed")?,
        created_at: instant(row, table, "created_at")?,
    })
}

/// Applies a [`Consume`] for `owner` inside a completion's transaction. `table`, `id_column`
/// and `owner_column` name the registrations of users (`totps`, `totp_id`, `user_id`) or of
/// members. Refuses with `TotpStepUsed` / `RecoveryCodeRejected` when the step or code was used meanwhile.
pub(super) async fn consume(
    conn: &mut Conn,
    project: &str,
    (table, id_column, owner_column): (&str, &str, &str),
    owner: &str,
    consume: &Consume,
) -> Result<(), StoreError> {
    match consume {
        Consume::TotpStep { totp_id, step } => {
            let updated = sqlx::query(&format!(
                "UPDATE {table} SET last_step = $1, verified = TRUE, expires_at = NULL \
                 WHERE project_id = $2 AND {id_column} = $3 AND {owner_column} = $4 \
                 AND (last_step IS NULL OR last_step < $1)"
            ))
            .bind(step)
            .bind(project)
            .bind(totp_id)
            .bind(owner)
            .execute(&mut *conn)
            .await?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::Refused(Refusal::TotpStepUsed));
            }
        }
        Consume::RecoveryCode { totp_id, digest } => {
            let current: Option<String> = sqlx::query_scalar(&format!(
                "SELECT recovery_codes FROM {table} \
                 WHERE project_id = $1 AND {id_column} = $2 AND {owner_column} = $3{FOR_UPDATE}"
            ))
            .bind(project)
            .bind(totp_id)
            .bind(owner)
            .fetch_optional(&mut *conn)
            .await?;
            let current = current.ok_or(StoreError::NotFound(Missing::Totp))?;
            let mut codes = digests_from_text(table, "recovery_codes", &current)?;
            let before = codes.len();
            codes.retain(|code| code != digest);
            if codes.len() == before {
                return Err(StoreError::Refused(Refusal::RecoveryCodeRejected));
            }
            sqlx::query(&format!(
                "UPDATE {table} SET recovery_codes = $1 WHERE project_id = $2 AND {id_column} = $3"
            ))
            .bind(digests_to_text(&codes))
            .bind(project)
            .bind(totp_id)
            .execute(&mut *conn)
            .await?;
        }
        Consume::MagicLink { digest, at } => {
            super::magic_links::use_magic_link(conn, project, owner, digest, *at).await?;
        }
        Consume::Otp {
            method_id,
            digest,
            at,
        } => {
            super::otps::use_otp(conn, project, owner, method_id, digest, *at).await?;
        }
        Consume::MemberMagicLink { digest, at } => {
            super::member_magic_links::use_member_link(conn, project, owner, digest, *at).await?;
        }
        Consume::MemberOtp {
            channel,
            digest,
            at,
        } => {
            super::member_otps::use_member_otp(conn, project, owner, (*channel, digest), *at)
                .await?;
        }
    }
    Ok(())
}

#[async_trait]
impl TotpStore for Engine {
    async fn create_totp(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        totp: NewTotp,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        // Lock the user so two concurrent creates cannot both find no verified registration.
        find_user_row(&mut tx, project, &UserRef::Id(user_id.clone()), true)
            .await?
            .ok_or(StoreError::NotFound(Missing::User))?;
        let verified: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM totps WHERE project_id = $1 AND user_id = $2 AND verified = TRUE",
        )
        .bind(project)
        .bind(user_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if verified > 0 {
            return Err(StoreError::Refused(Refusal::ActiveTotpExists));
        }
        sqlx::query("DELETE FROM totps WHERE project_id = $1 AND user_id = $2")
            .bind(project)
            .bind(user_id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO totps (totp_id, project_id, user_id, verified, created_at, secret_sealed, \
             expires_at, recovery_codes, recovery_codes_sealed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&totp.totp_id)
        .bind(project)
        .bind(user_id.as_str())
        .bind(totp.verified)
        .bind(to_micros(now))
        .bind(totp.secret_sealed)
        .bind(totp.expires_at.map(to_micros))
        .bind(digests_to_text(&totp.recovery_codes))
        .bind(totp.recovery_codes_sealed)
        .execute(&mut *tx)
        .await?;
        let user = load_user(&mut tx, project, user_id).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn user_totps(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> Result<Vec<StoredTotp>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TOTP_COLUMNS} FROM totps WHERE project_id = $1 AND user_id = $2 \
             ORDER BY verified DESC, created_at DESC, totp_id"
        ))
        .bind(project_id.as_str())
        .bind(user_id.as_str())
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .iter()
            .map(|row| totp_row(row, "totps"))
            .collect::<Result<_, _>>()?)
    }

    async fn member_totps(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
    ) -> Result<Vec<StoredTotp>, StoreError> {
        let rows = sqlx::query(
            "SELECT totp_registration_id AS totp_id, verified, secret_sealed, last_step, expires_at, \
             recovery_codes, recovery_codes_sealed, created_at FROM member_totps WHERE project_id = $1 AND member_id = $2 \
             ORDER BY verified DESC, created_at DESC, totp_registration_id",
        )
        .bind(project_id.as_str())
        .bind(member_id.as_str())
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .iter()
            .map(|row| totp_row(row, "member_totps"))
            .collect::<Result<_, _>>()?)
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
            "INSERT INTO member_totps (totp_registration_id, project_id, member_id, verified, \
             secret_sealed, expires_at, recovery_codes, recovery_codes_sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&totp.totp_id)
        .bind(project)
        .bind(member_id.as_str())
        .bind(totp.verified)
        .bind(totp.secret_sealed)
        .bind(totp.expires_at.map(to_micros))
        .bind(digests_to_text(&totp.recovery_codes))
        .bind(totp.recovery_codes_sealed)
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
        let deleted =
            sqlx::query("DELETE FROM member_totps WHERE project_id = $1 AND member_id = $2")
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
        sealed: Vec<u8>,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE member_totps SET recovery_codes = $1, recovery_codes_sealed = $2 \
             WHERE project_id = $3 AND member_id = $4 AND totp_registration_id = $5 \
             AND verified = TRUE",
        )
        .bind(digests_to_text(&codes))
        .bind(sealed)
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
}
