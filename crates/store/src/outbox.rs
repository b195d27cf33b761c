//! The development outbox: the messages Latchkey would have sent ([`OutboxStore`], implemented
//! in `sql/outbox.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::ProjectId;

use crate::*;

/// How long the outbox keeps a message: a day, the life of the verification code it carries
/// (and more than the verification throttle's window, which counts the messages kept). A
/// message holds its code in the clear, so it is not kept past its use.
pub const OUTBOX_RETENTION_HOURS: i64 = 24;

/// How many messages past the retention one new message deletes at most, so that a send costs
/// a bounded amount of work; a backlog drains over the sends that follow. Verification codes
/// expired for longer than the retention go the same way.
pub const OUTBOX_PRUNE_BATCH: i64 = 100;

/// A message Latchkey would deliver (the development outbox).
#[derive(Clone, Debug)]
pub struct OutboxMessage {
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// The newest messages of the project's outbox, newest first. Messages older than
    /// [`OUTBOX_RETENTION_HOURS`] are pruned as new ones are queued (`start_email_verification`).
    async fn outbox(
        &self,
        project_id: &ProjectId,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
}
