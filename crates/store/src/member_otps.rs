//! B2B one-time passcodes: the [`MemberOtpStore`] trait, implemented in `sql/member_otps.rs`.
//! A member has at most one live code per channel (SMS for MFA, email as a primary factor),
//! kept as a keyed digest; sending replaces it in one transaction with the send limits and the
//! sealed message. A right code is used up by the completing authentication
//! (`Consume::MemberOtp`); a wrong one counts against the code
//! ([`MemberOtpStore::member_otp_failed`]), which dies after
//! `latchkey_core::otps::MAX_WRONG_CODES`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::delivery::SendLimits;
use latchkey_core::ids::{MemberId, ProjectId};
use latchkey_core::members::Member;
use latchkey_core::otps::OtpChannel;

use crate::*;

/// A code to send to a member.
#[derive(Clone, Debug)]
pub struct MemberOtpSend {
    pub member_id: MemberId,
    /// The member to write first (JIT provisioning on an email passcode's sign-up):
    /// `Conflict(DuplicateMemberEmail)` if one took the email meanwhile.
    pub create: Option<Box<Member>>,
    /// `Sms` or `Email`.
    pub channel: OtpChannel,
    /// The phone number or email it goes to: its digest's context.
    pub destination: String,
    /// The MFA phone number to give the member first (it had none).
    pub set_mfa_phone_number: Option<String>,
    pub code_digest: CodeDigest,
    pub expires_at: DateTime<Utc>,
    /// `None`: deliver nothing (a sandbox destination).
    pub message: Option<NewMessage>,
}

/// A member's live code, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMemberOtp {
    pub destination: String,
    pub code_digest: CodeDigest,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait MemberOtpStore: Send + Sync {
    /// Sends a code, in one transaction; returns the member as it is after.
    /// `Refusal::MfaPhoneNumberExists` if the member has another MFA phone number.
    async fn send_member_otp(
        &self,
        project_id: &ProjectId,
        send: MemberOtpSend,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError>;

    /// The member's live code of `channel`, expired or not.
    async fn member_otp(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        channel: OtpChannel,
    ) -> Result<Option<StoredMemberOtp>, StoreError>;

    /// Sends a discovery passcode to `email` (replacing its live one), in one transaction with
    /// the send limits and the sealed message.
    async fn send_discovery_otp(
        &self,
        project_id: &ProjectId,
        email: &str,
        (code_digest, expires_at): (&CodeDigest, DateTime<Utc>),
        message: Option<NewMessage>,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The live discovery passcode of `email`: `(digest, expires_at)`.
    async fn discovery_otp(
        &self,
        project_id: &ProjectId,
        email: &str,
    ) -> Result<Option<(CodeDigest, DateTime<Utc>)>, StoreError>;

    /// Uses up the discovery passcode `code_digest` of `email` (if still live) and keeps the
    /// intermediate session it leaves, in one transaction: `NotFound(OtpCode)` otherwise. A
    /// wrong guess (`right` false) is counted instead, the code dying at the limit.
    async fn use_discovery_otp(
        &self,
        project_id: &ProjectId,
        email: &str,
        code_digest: &CodeDigest,
        right: Option<(
            &latchkey_core::secret::SecretDigest,
            &latchkey_core::sessions::intermediate::IntermediateSession,
        )>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Counts a wrong guess against the member's code `code_digest`, deleting it at the limit.
    async fn member_otp_failed(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        channel: OtpChannel,
        code_digest: &CodeDigest,
    ) -> Result<(), StoreError>;
}
