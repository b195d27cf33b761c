//! What TOTP registrations need from storage, for users and members alike: the [`TotpStore`]
//! trait, implemented in `sql/totps.rs`. Secrets arrive sealed and recovery codes as digests:
//! the store never sees either in the clear.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{MemberId, ProjectId, UserId};
use latchkey_core::members::Member;
use latchkey_core::users::User;

use crate::*;

/// A recovery code's stored form (see `latchkey_core::vault::Vault::code_digest`).
pub type CodeDigest = [u8; 32];

/// A TOTP registration as stored.
#[derive(Clone, Debug)]
pub struct StoredTotp {
    pub totp_id: String,
    pub verified: bool,
    pub secret_sealed: Vec<u8>,
    /// The last step a code was accepted for; only later steps pass.
    pub last_step: Option<i64>,
    /// When an unverified registration stops being usable; `None` once verified.
    pub expires_at: Option<DateTime<Utc>>,
    /// Digests of the recovery codes not yet used.
    pub recovery_codes: Vec<CodeDigest>,
    /// Every code the registration was given, sealed, so they can be shown again; `None` for a
    /// registration written before codes were sealed.
    pub recovery_codes_sealed: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

impl StoredTotp {
    /// Verified, or unverified and not yet expired.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.verified || self.expires_at.is_none_or(|expires| expires > now)
    }
}

/// A registration about to be written.
#[derive(Clone, Debug)]
pub struct NewTotp {
    pub totp_id: String,
    pub secret_sealed: Vec<u8>,
    pub recovery_codes: Vec<CodeDigest>,
    pub recovery_codes_sealed: Vec<u8>,
    pub verified: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a successful TOTP or recovery-code authentication uses up, in the same transaction as
/// the rest of the completion. If it was used up meanwhile, nothing is written.
#[derive(Clone, Debug)]
pub enum Consume {
    /// Accept `step` of the registration (which also verifies it), only if it is later than the
    /// last accepted step; otherwise `Refusal::TotpStepUsed`.
    TotpStep { totp_id: String, step: i64 },
    /// Remove one recovery code of the registration, only if it is still there; otherwise
    /// `Refusal::RecoveryCodeRejected`.
    RecoveryCode { totp_id: String, digest: CodeDigest },
    /// Use up a user's magic-link token at `at`, only if it is still unused and unexpired
    /// (`Refusal::MagicLinkUnusable`; `NotFound(MagicLink)` if the user has no such token); the
    /// email it was sent to becomes verified and a pending user active. Consumer only.
    MagicLink {
        digest: CodeDigest,
        at: DateTime<Utc>,
    },
    /// Use up the user's live one-time passcode of `method_id` at `at`, only if it is still
    /// `digest` and unexpired (`NotFound(OtpCode)` otherwise); the phone number or email it was
    /// sent to becomes verified and a pending user active. Consumer only.
    Otp {
        method_id: String,
        digest: CodeDigest,
        at: DateTime<Utc>,
    },
    /// Use up a member's organization magic link (login, sign-up, invite) at `at`, only if it
    /// is still unused and unexpired (`Refusal::MagicLinkUnusable`; `NotFound(MagicLink)` if
    /// the member has no such link); the member's email becomes verified. B2B only.
    MemberMagicLink {
        digest: CodeDigest,
        at: DateTime<Utc>,
    },
    /// Use up a member's live passcode of `channel` at `at`, only if it is still `digest` and
    /// unexpired (`NotFound(OtpCode)` otherwise); an SMS code verifies the member's MFA phone
    /// number, an email code the member's email. B2B only.
    MemberOtp {
        channel: latchkey_core::otps::OtpChannel,
        digest: CodeDigest,
        at: DateTime<Utc>,
    },
}

#[async_trait]
pub trait TotpStore: Send + Sync {
    /// Gives the user a TOTP registration. An unverified one it had is replaced; a verified one
    /// refuses with `Refusal::ActiveTotpExists`. Returns the user as it is afterwards.
    async fn create_totp(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        totp: NewTotp,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;

    /// The user's registrations, verified first, then newest first.
    async fn user_totps(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> Result<Vec<StoredTotp>, StoreError>;

    /// The member's TOTP registrations, verified first, then newest first.
    async fn member_totps(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
    ) -> Result<Vec<StoredTotp>, StoreError>;

    /// Gives the member a TOTP registration (a migrated one arrives verified). An unverified
    /// one it had is replaced; a verified one refuses with `Refusal::ActiveTotpExists`.
    async fn create_member_totp(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        totp: NewTotp,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError>;

    /// Removes the member's TOTP registrations (`Missing::Totp` when it has none).
    async fn delete_member_totp(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError>;

    /// Replaces the recovery codes of the member's verified registration `totp_id`: their
    /// digests and their sealed list.
    async fn rotate_member_recovery_codes(
        &self,
        project_id: &ProjectId,
        member_id: &MemberId,
        totp_id: &str,
        codes: Vec<CodeDigest>,
        sealed: Vec<u8>,
    ) -> Result<(), StoreError>;
}
