//! The development outbox: the messages Latchkey would have sent ([`OutboxStore`], implemented
//! in `sql/outbox.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::ProjectId;

use crate::*;

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
    /// The newest messages of the project's outbox, newest first.
    async fn outbox(
        &self,
        project_id: &ProjectId,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
}
