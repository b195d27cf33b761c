//! `OutboxStore`: the development outbox.

use super::*;

#[async_trait]
impl OutboxStore for Engine {
    async fn outbox(
        &self,
        project_id: &ProjectId,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT message_id, recipient, subject, body, created_at FROM outbox WHERE project_id = $1 \
             ORDER BY created_at DESC, message_id DESC LIMIT $2",
        )
        .bind(project_id.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OutboxMessage {
                    message_id: row.try_get("message_id")?,
                    recipient: row.try_get("recipient")?,
                    subject: row.try_get("subject")?,
                    body: row.try_get("body")?,
                    created_at: instant(row, "outbox", "created_at")?,
                })
            })
            .collect()
    }
}
