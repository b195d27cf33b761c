//! `MemberOtpStore`, and the use of a member's code that a completing authentication applies
//! (`use_member_otp`, from `totps.rs::consume`).

use latchkey_core::delivery::SendLimits;
use latchkey_core::otps::{OtpChannel, MAX_WRONG_CODES};

use super::*;

/// Uses up the member's live code of `channel` at `at` inside a completion, if it is still
/// `digest` and unexpired; then verifies what it was sent to.
pub(super) async fn use_member_otp(
    conn: &mut Conn,
    project: &str,
    member_id: &str,
    (channel, digest): (OtpChannel, &CodeDigest),
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let used = sqlx::query(
        "DELETE FROM member_otp_codes WHERE project_id = $1 AND member_id = $2 AND channel = $3 \
         AND code_digest = $4 AND expires_at > $5",
    )
    .bind(project)
    .bind(member_id)
    .bind(channel.as_str())
    .bind(digest.to_vec())
    .bind(to_micros(at))
    .execute(&mut *conn)
    .await?;
    if used.rows_affected() == 0 {
        return Err(StoreError::NotFound(Missing::OtpCode));
    }
    let verify = match channel {
        OtpChannel::Email => {
            "UPDATE members SET email_verified = TRUE WHERE project_id = $1 AND member_id = $2"
        }
        _ => {
            "UPDATE members SET mfa_phone_number_verified = TRUE \
             WHERE project_id = $1 AND member_id = $2"
        }
    };
    sqlx::query(verify)
        .bind(project)
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[async_trait]
impl MemberOtpStore for Engine {
    async fn send_member_otp(
        &self,
        project_id: &ProjectId,
        send: MemberOtpSend,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        if let Some(member) = &send.create {
            insert_member(&mut tx, project, member).await?;
        }
        lock_live_member(&mut tx, project, &send.member_id).await?;
        let mut member = load_member(&mut tx, project, &send.member_id).await?;
        if let Some(phone) = &send.set_mfa_phone_number {
            if member.mfa_phone_number.is_empty() {
                member.mfa_phone_number = phone.clone();
                member.mfa_phone_number_verified = false;
                member.updated_at = now;
                write_member(&mut tx, project, &member).await?;
            } else if member.mfa_phone_number != *phone {
                return Err(StoreError::Refused(Refusal::MfaPhoneNumberExists));
            }
        }
        if let Some(message) = &send.message {
            super::outbox::queue_message(
                &mut tx,
                project,
                Some(send.member_id.as_str()),
                message,
                limits,
            )
            .await?;
        }
        sqlx::query(
            "DELETE FROM member_otp_codes WHERE project_id = $1 AND member_id = $2 AND channel = $3",
        )
        .bind(project)
        .bind(send.member_id.as_str())
        .bind(send.channel.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO member_otp_codes (project_id, member_id, channel, destination, \
             code_digest, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(project)
        .bind(send.member_id.as_str())
        .bind(send.channel.as_str())
        .bind(&send.destination)
        .bind(send.code_digest.to_vec())
        .bind(to_micros(send.expires_at))
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn member_otp(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        channel: OtpChannel,
    ) -> Result<Option<StoredMemberOtp>, StoreError> {
        let row = sqlx::query(
            "SELECT destination, code_digest, expires_at FROM member_otp_codes \
             WHERE project_id = $1 AND member_id = $2 AND channel = $3",
        )
        .bind(project_id.as_str())
        .bind(member_id.as_str())
        .bind(channel.as_str())
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            let digest: Vec<u8> = row.try_get("code_digest")?;
            Ok(StoredMemberOtp {
                destination: row.try_get("destination")?,
                code_digest: CodeDigest::try_from(digest.as_slice())
                    .map_err(|_| corrupt("member_otp_codes", "code_digest", "not a digest"))?,
                expires_at: instant(&row, "member_otp_codes", "expires_at")?,
            })
        })
        .transpose()
    }

    async fn send_discovery_otp(
        &self,
        project_id: &ProjectId,
        email: &str,
        (code_digest, expires_at): (&CodeDigest, DateTime<Utc>),
        message: Option<NewMessage>,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        if let Some(message) = &message {
            super::outbox::queue_message(&mut tx, project, None, message, limits).await?;
        }
        sqlx::query("DELETE FROM discovery_otp_codes WHERE project_id = $1 AND email = $2")
            .bind(project)
            .bind(email)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO discovery_otp_codes (project_id, email, code_digest, expires_at, \
             created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(project)
        .bind(email)
        .bind(code_digest.to_vec())
        .bind(to_micros(expires_at))
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn discovery_otp(
        &self,
        project_id: &ProjectId,
        email: &str,
    ) -> Result<Option<(CodeDigest, DateTime<Utc>)>, StoreError> {
        let row = sqlx::query(
            "SELECT code_digest, expires_at FROM discovery_otp_codes \
             WHERE project_id = $1 AND email = $2",
        )
        .bind(project_id.as_str())
        .bind(email)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            let digest: Vec<u8> = row.try_get("code_digest")?;
            Ok((
                CodeDigest::try_from(digest.as_slice())
                    .map_err(|_| corrupt("discovery_otp_codes", "code_digest", "not a digest"))?,
                instant(&row, "discovery_otp_codes", "expires_at")?,
            ))
        })
        .transpose()
    }

    async fn use_discovery_otp(
        &self,
        project_id: &ProjectId,
        email: &str,
        code_digest: &CodeDigest,
        right: Option<(
            &SecretDigest,
            &latchkey_core::sessions::intermediate::IntermediateSession,
        )>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        match right {
            Some((intermediate_digest, intermediate)) => {
                let used = sqlx::query(
                    "DELETE FROM discovery_otp_codes WHERE project_id = $1 AND email = $2 \
                     AND code_digest = $3 AND expires_at > $4",
                )
                .bind(project)
                .bind(email)
                .bind(code_digest.to_vec())
                .bind(to_micros(now))
                .execute(&mut *tx)
                .await?;
                if used.rows_affected() == 0 {
                    return Err(StoreError::NotFound(Missing::OtpCode));
                }
                super::intermediate_sessions::insert_intermediate(
                    &mut tx,
                    project,
                    intermediate_digest,
                    intermediate,
                )
                .await?;
            }
            None => {
                let failed: Option<i64> = sqlx::query_scalar(
                    "UPDATE discovery_otp_codes SET failed_attempts = failed_attempts + 1 \
                     WHERE project_id = $1 AND email = $2 AND code_digest = $3 \
                     RETURNING failed_attempts",
                )
                .bind(project)
                .bind(email)
                .bind(code_digest.to_vec())
                .fetch_optional(&mut *tx)
                .await?;
                if failed.is_some_and(|failed| failed >= i64::from(MAX_WRONG_CODES)) {
                    sqlx::query(
                        "DELETE FROM discovery_otp_codes WHERE project_id = $1 AND email = $2 \
                         AND code_digest = $3",
                    )
                    .bind(project)
                    .bind(email)
                    .bind(code_digest.to_vec())
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn member_otp_failed(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        channel: OtpChannel,
        code_digest: &CodeDigest,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let failed: Option<i64> = sqlx::query_scalar(
            "UPDATE member_otp_codes SET failed_attempts = failed_attempts + 1 \
             WHERE project_id = $1 AND member_id = $2 AND channel = $3 AND code_digest = $4 \
             RETURNING failed_attempts",
        )
        .bind(project)
        .bind(member_id.as_str())
        .bind(channel.as_str())
        .bind(code_digest.to_vec())
        .fetch_optional(&mut *tx)
        .await?;
        if failed.is_some_and(|failed| failed >= i64::from(MAX_WRONG_CODES)) {
            sqlx::query(
                "DELETE FROM member_otp_codes WHERE project_id = $1 AND member_id = $2 \
                 AND channel = $3 AND code_digest = $4",
            )
            .bind(project)
            .bind(member_id.as_str())
            .bind(channel.as_str())
            .bind(code_digest.to_vec())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
