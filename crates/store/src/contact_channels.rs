//! What Stack Auth's contact channels need from storage: the [`ContactChannelStore`] trait,
//! implemented in `sql/contact_channels.rs`.
//!
//! A contact channel is a row of `user_emails`, the very emails the Stytch Users API serves, with
//! two more flags (`used_for_auth`, `is_primary`); the two APIs cannot disagree.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{EmailId, ProjectId, UserId};
use latchkey_core::secret::SecretDigest;

use crate::*;

pub use latchkey_core::contact_channels::{ContactChannel, ContactChannelPatch, NewContactChannel};

/// A verification code about to be sent: its digest, what it proves, and the message that
/// carries it.
#[derive(Clone, Debug)]
pub struct NewVerification {
    pub code_digest: SecretDigest,
    pub expires_at: DateTime<Utc>,
    pub message: NewMessage,
}

#[async_trait]
pub trait ContactChannelStore: Send + Sync {
    /// The user's contact channels, oldest first; `Missing::User` when there is no such user.
    async fn contact_channels(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> Result<Vec<ContactChannel>, StoreError>;

    /// Adds a channel. An email belongs to one user of the project (`Conflict::DuplicateEmail`);
    /// a primary channel takes the primary flag from the user's others.
    async fn create_contact_channel(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        channel: NewContactChannel,
        now: DateTime<Utc>,
    ) -> Result<ContactChannel, StoreError>;

    async fn update_contact_channel(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        email_id: &EmailId,
        patch: ContactChannelPatch,
    ) -> Result<ContactChannel, StoreError>;

    /// Removes a channel; refused (`Refusal::LastSignInMethod`) when it is the user's last way
    /// to sign in.
    async fn delete_contact_channel(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        email_id: &EmailId,
    ) -> Result<(), StoreError>;

    /// Stores a verification code for an unverified channel and queues its message, in one
    /// transaction (`Refusal::EmailAlreadyVerified` when there is nothing to verify). Refused
    /// with `Refusal::Throttled` past core's `VERIFICATION_THROTTLE`, counted in the outbox as of
    /// the message's `created_at`; the same transaction prunes the project's outbox and
    /// verification codes past their retention ([`OUTBOX_RETENTION_HOURS`], at most
    /// [`OUTBOX_PRUNE_BATCH`] rows of each).
    async fn start_email_verification(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        email_id: &EmailId,
        verification: NewVerification,
    ) -> Result<(), StoreError>;

    /// Uses a code once: the channel it was sent for becomes verified. `Missing::VerificationCode`,
    /// `Refusal::VerificationCodeUsed`, `Refusal::VerificationCodeExpired`.
    async fn verify_email(
        &self,
        project_id: &ProjectId,
        code_digest: &SecretDigest,
        now: DateTime<Utc>,
    ) -> Result<ContactChannel, StoreError>;

    /// Whether a code would verify now, without using it.
    async fn check_email_verification(
        &self,
        project_id: &ProjectId,
        code_digest: &SecretDigest,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
