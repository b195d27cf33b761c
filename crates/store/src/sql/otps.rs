//! `OtpStore`, and the use of a code that a completing authentication applies (`use_otp`, from
//! `totps.rs::consume`).

use latchkey_core::otps::{OtpChannel, MAX_WRONG_CODES};

use super::*;

fn digest_column(row: &DbRow, table: &str, column: &str) -> Result<CodeDigest, StoreError> {
    let bytes: Vec<u8> = row.try_get(column)?;
    CodeDigest::try_from(bytes.as_slice()).map_err(|_| corrupt(table, column, "not a digest"))
}

fn otp_row(row: &DbRow) -> Result<StoredOtp, StoreError> {
    let channel: String = row.try_get("channel")?;
    let failed: i64 = row.try_get("failed_attempts")?;
    Ok(StoredOtp {
        user_id: stored_id(row, "otp_codes", "user_id", UserId::parse)?,
        channel: OtpChannel::parse(&channel)
            .ok_or_else(|| corrupt("otp_codes", "channel", "not a channel"))?,
        destination: row.try_get("destination")?,
        code_digest: digest_column(row, "otp_codes", "code_digest")?,
        failed_attempts: u32::try_from(failed)
            .map_err(|_| corrupt("otp_codes", "failed_attempts", "out of range"))?,
        expires_at: instant(row, "otp_codes", "expires_at")?,
    })
}

/// Replaces the live code of `method_id` (a send: the earlier code stops working).
pub(super) async fn replace_otp(
    conn: &mut Conn,
    project: &str,
    method_id: &str,
    user_id: &UserId,
    destination: &str,
    (channel, digest, expires_at): (OtpChannel, &CodeDigest, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM otp_codes WHERE project_id = $1 AND method_id = $2")
        .bind(project)
        .bind(method_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO otp_codes (project_id, method_id, user_id, channel, destination, code_digest, \
         expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(project)
    .bind(method_id)
    .bind(user_id.as_str())
    .bind(channel.as_str())
    .bind(destination)
    .bind(digest.to_vec())
    .bind(to_micros(expires_at))
    .bind(to_micros(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Uses up the code `digest` of the user's method `method_id` at `at`, inside a completion's
/// transaction: deletes it if it is still the live, unexpired code, then verifies the phone
/// number or email it was sent to and activates a pending user. A code replaced, used or
/// expired meanwhile is `NotFound(OtpCode)`, as Stytch answers a spent code.
pub(super) async fn use_otp(
    conn: &mut Conn,
    project: &str,
    user_id: &str,
    method_id: &str,
    digest: &CodeDigest,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let used = sqlx::query(
        "DELETE FROM otp_codes WHERE project_id = $1 AND method_id = $2 AND user_id = $3 \
         AND code_digest = $4 AND expires_at > $5 RETURNING channel",
    )
    .bind(project)
    .bind(method_id)
    .bind(user_id)
    .bind(digest.to_vec())
    .bind(to_micros(at))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(used) = used else {
        return Err(StoreError::NotFound(Missing::OtpCode));
    };
    let channel: String = used.try_get("channel")?;
    let verified = if channel == OtpChannel::Email.as_str() {
        sqlx::query(
            "UPDATE user_emails SET verified = TRUE \
             WHERE project_id = $1 AND email_id = $2 AND user_id = $3",
        )
        .bind(project)
        .bind(method_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?
    } else {
        sqlx::query(
            "UPDATE user_phone_numbers SET verified = TRUE \
             WHERE project_id = $1 AND phone_id = $2 AND user_id = $3",
        )
        .bind(project)
        .bind(method_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?
    };
    if verified.rows_affected() == 0 {
        // The email or phone was removed from the user since the code was sent.
        return Err(StoreError::NotFound(Missing::OtpCode));
    }
    activate_pending(conn, project, user_id).await
}

/// A pending user's first successful authentication makes it active.
pub(super) async fn activate_pending(
    conn: &mut Conn,
    project: &str,
    user_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET status = 'active' \
         WHERE project_id = $1 AND user_id = $2 AND status = 'pending'",
    )
    .bind(project)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl OtpStore for Engine {
    async fn otp_code(
        &self,
        project_id: &ProjectId,
        method_id: &str,
    ) -> Result<Option<StoredOtp>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, channel, destination, code_digest, failed_attempts, expires_at \
             FROM otp_codes WHERE project_id = $1 AND method_id = $2",
        )
        .bind(project_id.as_str())
        .bind(method_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(otp_row).transpose()
    }

    async fn otp_code_failed(
        &self,
        project_id: &ProjectId,
        method_id: &str,
        code_digest: &CodeDigest,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let failed: Option<i64> = sqlx::query_scalar(
            "UPDATE otp_codes SET failed_attempts = failed_attempts + 1 \
             WHERE project_id = $1 AND method_id = $2 AND code_digest = $3 \
             RETURNING failed_attempts",
        )
        .bind(project)
        .bind(method_id)
        .bind(code_digest.to_vec())
        .fetch_optional(&mut *tx)
        .await?;
        if failed.is_some_and(|failed| failed >= i64::from(MAX_WRONG_CODES)) {
            sqlx::query(
                "DELETE FROM otp_codes WHERE project_id = $1 AND method_id = $2 AND code_digest = $3",
            )
            .bind(project)
            .bind(method_id)
            .bind(code_digest.to_vec())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
