//! `OutboxStore`: the outbox as delivery queue, and the queueing of a message inside the
//! transaction that issues what it carries (`queue_message`, with the send limits).

use latchkey_core::delivery::{Channel, SendCounts, SendLimits};

use super::*;

const MESSAGE_COLUMNS: &str = "message_id, channel, recipient, subject, body, sealed, status, \
                               attempts, last_error, created_at";

fn message_row(row: &DbRow) -> Result<OutboxMessage, StoreError> {
    let channel: String = row.try_get("channel")?;
    let status: String = row.try_get("status")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(OutboxMessage {
        message_id: row.try_get("message_id")?,
        channel: Channel::parse(&channel)
            .ok_or_else(|| corrupt("outbox", "channel", "not a channel"))?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        sealed: row.try_get("sealed")?,
        status: MessageStatus::parse(&status)
            .ok_or_else(|| corrupt("outbox", "status", "not a message status"))?,
        attempts: u32::try_from(attempts)
            .map_err(|_| corrupt("outbox", "attempts", "out of range"))?,
        last_error: row.try_get("last_error")?,
        created_at: instant(row, "outbox", "created_at")?,
    })
}

/// Refuses one more message to `message.recipient` (for `user_id`: a user's or a member's id)
/// past `limits`, then prunes old messages and queues it. The caller holds the user's (or
/// member's) row lock, so its sends are counted in turn; the destination's name lock does the
/// same for sends to one destination.
pub(super) async fn queue_message(
    conn: &mut Conn,
    project: &str,
    user_id: Option<&str>,
    message: &NewMessage,
    limits: &SendLimits,
) -> Result<(), StoreError> {
    let now = message.created_at;
    if !NAME_LOCK.is_empty() {
        // Every send to the destination, whichever user lists it, is counted in turn.
        sqlx::query(NAME_LOCK)
            .bind(format!("outbox:{project}:{}", message.recipient))
            .execute(&mut *conn)
            .await?;
    }
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE project_id = $1 AND recipient = $2 AND created_at > $3) \
           AS to_destination, \
         (SELECT MIN(created_at) FROM outbox WHERE project_id = $1 AND recipient = $2 AND created_at > $3) \
           AS oldest_to_destination, \
         (SELECT COUNT(*) FROM outbox WHERE project_id = $1 AND user_id = $4 AND created_at > $3) \
           AS by_user, \
         (SELECT MIN(created_at) FROM outbox WHERE project_id = $1 AND user_id = $4 AND created_at > $3) \
           AS oldest_by_user, \
         (SELECT COUNT(*) FROM outbox WHERE project_id = $1 AND created_at > $3) AS by_project, \
         (SELECT MIN(created_at) FROM outbox WHERE project_id = $1 AND created_at > $3) \
           AS oldest_by_project",
    )
    .bind(project)
    .bind(&message.recipient)
    .bind(to_micros(limits.since(now)))
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let count = |column: &str, oldest: &str| -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
        let count: i64 = row.try_get(column)?;
        // A COUNT is never negative.
        Ok((
            count.unsigned_abs(),
            optional_instant(&row, "outbox", oldest)?,
        ))
    };
    let counts = SendCounts {
        to_destination: count("to_destination", "oldest_to_destination")?,
        by_user: count("by_user", "oldest_by_user")?,
        by_project: count("by_project", "oldest_by_project")?,
    };
    limits
        .check(&counts, now)
        .map_err(|throttled| StoreError::Refused(Refusal::Throttled(throttled)))?;
    super::contact_channels::prune(conn, project, now).await?;
    insert_message(conn, project, user_id, message).await
}

pub(super) async fn insert_message(
    conn: &mut Conn,
    project: &str,
    user_id: Option<&str>,
    message: &NewMessage,
) -> Result<(), StoreError> {
    let created = to_micros(message.created_at);
    sqlx::query(
        "INSERT INTO outbox (message_id, project_id, recipient, subject, body, created_at, user_id, \
         channel, sealed, status, next_attempt_at) VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8, $9, $10)",
    )
    .bind(&message.message_id)
    .bind(project)
    .bind(&message.recipient)
    .bind(&message.subject)
    .bind(created)
    .bind(user_id)
    .bind(message.channel.as_str())
    .bind(&message.sealed)
    .bind(message.status.as_str())
    .bind((message.status == MessageStatus::Queued).then_some(created))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl OutboxStore for Engine {
    async fn outbox(
        &self,
        project_id: &ProjectId,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE project_id = $1 \
             ORDER BY created_at DESC, message_id DESC LIMIT $2"
        ))
        .bind(project_id.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(message_row).collect()
    }

    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        claimed_until: DateTime<Utc>,
        limit: u32,
        channels: &[Channel],
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let serves = |channel: Channel| channels.contains(&channel);
        let claim_id = latchkey_core::secret::Secret::generate_token()
            .expose()
            .to_owned();
        let mut tx = self.writer().begin().await?;
        let rows = sqlx::query(&format!(
            "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1, claim_id = $4 \
             WHERE message_id IN (SELECT message_id FROM outbox \
             WHERE status = 'queued' AND next_attempt_at <= $2 \
             AND (claimed_until IS NULL OR claimed_until <= $2) \
             AND ((channel = 'email' AND $5) OR (channel = 'sms' AND $6) \
             OR (channel = 'whatsapp' AND $7)) \
             ORDER BY next_attempt_at LIMIT $3{SKIP_LOCKED}) \
             RETURNING project_id, {MESSAGE_COLUMNS}"
        ))
        .bind(to_micros(claimed_until))
        .bind(to_micros(now))
        .bind(i64::from(limit))
        .bind(&claim_id)
        .bind(serves(Channel::Email))
        .bind(serves(Channel::Sms))
        .bind(serves(Channel::WhatsApp))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedMessage {
                    project_id: stored_id(row, "outbox", "project_id", ProjectId::parse)?,
                    claim_id: claim_id.clone(),
                    message: message_row(row)?,
                })
            })
            .collect()
    }

    async fn message_sent(
        &self,
        project_id: &ProjectId,
        claimed: &ClaimedMessage,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'sent', delivered_at = $1, claimed_until = NULL, \
             claim_id = NULL, last_error = NULL WHERE project_id = $2 AND message_id = $3 \
             AND status = 'queued' AND claim_id = $4",
        )
        .bind(to_micros(now))
        .bind(project_id.as_str())
        .bind(&claimed.message.message_id)
        .bind(&claimed.claim_id)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn message_failed(
        &self,
        project_id: &ProjectId,
        claimed: &ClaimedMessage,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let status = match retry_at {
            Some(_) => MessageStatus::Queued,
            None => MessageStatus::Failed,
        };
        let done = sqlx::query(
            "UPDATE outbox SET status = $1, next_attempt_at = $2, claimed_until = NULL, \
             claim_id = NULL, last_error = $3 WHERE project_id = $4 AND message_id = $5 \
             AND status = 'queued' AND claim_id = $6",
        )
        .bind(status.as_str())
        .bind(retry_at.map(to_micros))
        .bind(error)
        .bind(project_id.as_str())
        .bind(&claimed.message.message_id)
        .bind(&claimed.claim_id)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sealed_messages(
        &self,
        project_id: &ProjectId,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT message_id, sealed FROM outbox WHERE project_id = $1 AND sealed IS NOT NULL",
        )
        .bind(project_id.as_str())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("message_id")?, row.try_get("sealed")?)))
            .collect()
    }

    async fn reseal_message(
        &self,
        project_id: &ProjectId,
        message_id: &str,
        old: &[u8],
        new: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET sealed = $1 WHERE project_id = $2 AND message_id = $3 AND sealed = $4",
        )
        .bind(new)
        .bind(project_id.as_str())
        .bind(message_id)
        .bind(old)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
