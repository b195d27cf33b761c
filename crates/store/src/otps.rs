//! One-time passcodes by SMS, WhatsApp and email: the [`OtpStore`] trait, implemented in
//! `sql/otps.rs`. A method (a phone_id or email_id) has at most one live code, kept as a keyed
//! digest; sending again replaces it (`PasswordlessStore::start_passwordless`). A right code is
//! used up by the completion of the authentication it proves ([`Consume::Otp`]); a wrong one
//! counts against the code ([`OtpStore::otp_code_failed`]), which dies after
//! `latchkey_core::otps::MAX_WRONG_CODES`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{ProjectId, UserId};
use latchkey_core::otps::OtpChannel;

use crate::*;

/// A live code, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOtp {
    pub user_id: UserId,
    pub channel: OtpChannel,
    /// The phone number or email it was sent to: its digest's context.
    pub destination: String,
    pub code_digest: CodeDigest,
    pub failed_attempts: u32,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait OtpStore: Send + Sync {
    /// The method's live code, if it has one (expired or not).
    async fn otp_code(
        &self,
        project_id: &ProjectId,
        method_id: &str,
    ) -> Result<Option<StoredOtp>, StoreError>;

    /// Counts a wrong guess against the method's code `code_digest` (only that code: one sent
    /// since is untouched), deleting it at the limit.
    async fn otp_code_failed(
        &self,
        project_id: &ProjectId,
        method_id: &str,
        code_digest: &CodeDigest,
    ) -> Result<(), StoreError>;
}
