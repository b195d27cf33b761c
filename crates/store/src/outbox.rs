//! The outbox: every message Latchkey sends, kept as the delivery queue and the record of what
//! was sent ([`OutboxStore`], implemented in `sql/outbox.rs`). A message is queued in the
//! transaction that issues its code or link, so none is lost and none is sent for a refused
//! request; a delivery worker claims due messages (each by one worker, across replicas), sends
//! them, and records the outcome. With no provider for its channel a message is `held`: the
//! development outbox that `latchkey project outbox` prints.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::delivery::Channel;
use latchkey_core::ids::ProjectId;

use crate::*;

/// How long the outbox keeps a message once it is no longer queued (sent, failed or held): a
/// day, the life of the verification code it may carry, and more than the send limits'
/// windows, which count the messages kept.
pub const OUTBOX_RETENTION_HOURS: i64 = 24;

/// How many messages past the retention one new message deletes at most, so that a send costs
/// a bounded amount of work; a backlog drains over the sends that follow. Verification codes
/// expired for longer than the retention go the same way.
pub const OUTBOX_PRUNE_BATCH: i64 = 100;

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStatus {
    /// No provider for its channel: kept for the operator to read.
    Held,
    /// A worker will send it.
    Queued,
    Sent,
    /// Its tries are spent.
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Held => "held",
            MessageStatus::Queued => "queued",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<MessageStatus> {
        [
            MessageStatus::Held,
            MessageStatus::Queued,
            MessageStatus::Sent,
            MessageStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
    }
}

/// A message to queue. Its content is sealed with the vault under
/// `latchkey_core::delivery::MessageContent::context`.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub message_id: String,
    pub channel: Channel,
    /// An email address or an E.164 phone number.
    pub recipient: String,
    pub subject: String,
    pub sealed: Vec<u8>,
    /// `Queued` when a provider serves its channel, else `Held`.
    pub status: MessageStatus,
    pub created_at: DateTime<Utc>,
}

/// A message as the outbox keeps it.
#[derive(Clone, Debug)]
pub struct OutboxMessage {
    pub message_id: String,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    /// The content in the clear, for messages queued before contents were sealed.
    pub body: String,
    pub sealed: Option<Vec<u8>>,
    pub status: MessageStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A message a worker has claimed, to send now.
#[derive(Clone, Debug)]
pub struct ClaimedMessage {
    pub project_id: ProjectId,
    /// This claim's id: the outcome is recorded only while the claim holds.
    pub claim_id: String,
    pub message: OutboxMessage,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// The newest messages of the project's outbox, newest first.
    async fn outbox(
        &self,
        project_id: &ProjectId,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Claims up to `limit` queued messages of any project, of the `channels` the worker can
    /// send, that are due at `now`, until `claimed_until`: no other worker (of this or another
    /// replica) gets them meanwhile, and each claim counts as one attempt.
    async fn claim_messages(
        &self,
        now: DateTime<Utc>,
        claimed_until: DateTime<Utc>,
        limit: u32,
        channels: &[Channel],
    ) -> Result<Vec<ClaimedMessage>, StoreError>;

    /// Records a claimed message as sent, if the claim still holds (`false`: it lapsed and
    /// another worker has the message).
    async fn message_sent(
        &self,
        project_id: &ProjectId,
        claimed: &ClaimedMessage,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records a failed try, if the claim still holds: the message is tried again at
    /// `retry_at`, or is `Failed` with no retry (`None`). `error` is for the operator, and
    /// names no secret.
    async fn message_failed(
        &self,
        project_id: &ProjectId,
        claimed: &ClaimedMessage,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;

    /// The project's sealed messages, for a re-seal pass: `(message_id, sealed)`.
    async fn sealed_messages(
        &self,
        project_id: &ProjectId,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Replaces a message's sealed content, only if it is still `old` (`false` otherwise).
    async fn reseal_message(
        &self,
        project_id: &ProjectId,
        message_id: &str,
        old: &[u8],
        new: Vec<u8>,
    ) -> Result<bool, StoreError>;
}
