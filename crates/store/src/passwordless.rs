//! Sending a magic link or a one-time passcode: the [`PasswordlessStore`] trait, implemented in
//! `sql/passwordless.rs`. One transaction finds or creates the user (or adds the destination
//! to it), checks the send limits, keeps the token or code as a digest, and queues the sealed
//! message; a refusal at any step writes nothing, so a failed send leaves no valid token behind.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::delivery::SendLimits;
use latchkey_core::ids::{ProjectId, UserId};
use latchkey_core::magic_links::LinkPurpose;
use latchkey_core::otps::OtpChannel;
use latchkey_core::users::{NewUser, UserStatus};
use latchkey_core::values::{Email, PhoneNumber};

use crate::*;

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Email(Email),
    Phone(PhoneNumber),
}

impl Destination {
    pub fn as_str(&self) -> &str {
        match self {
            Destination::Email(email) => email.as_str(),
            Destination::Phone(phone) => phone.as_str(),
        }
    }

    /// What is missing when no user holds it.
    pub fn missing(&self) -> Missing {
        match self {
            Destination::Email(_) => Missing::Email,
            Destination::Phone(_) => Missing::PhoneNumber,
        }
    }

    /// The uniqueness rule another user holding it breaks.
    pub fn duplicate(&self) -> Conflict {
        match self {
            Destination::Email(_) => Conflict::DuplicateEmail,
            Destination::Phone(_) => Conflict::DuplicatePhoneNumber,
        }
    }
}

/// The user that signs in with a destination, as a send sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub user_id: UserId,
    pub status: UserStatus,
    /// The email_id or phone_id.
    pub method_id: String,
    pub verified: bool,
}

/// Whom a send is for.
#[derive(Clone, Debug)]
pub enum SendTarget {
    /// The user found by [`PasswordlessStore::holder`]: `Conflict` if another holds the
    /// destination now (the caller looks again), `NotFound(Email | PhoneNumber)` if none does.
    Holder(UserId),
    /// A new user with the destination (`NewUser` names it). `Conflict(DuplicateEmail |
    /// DuplicatePhoneNumber)` if a user took it meanwhile.
    Create(NewUser),
    /// This user, given the destination unverified if it lacks it. Adding refuses with
    /// `Refusal::TooManyUnverifiedFactors` while the user has another unverified email or phone.
    User(UserId),
}

/// The secret a send issues.
#[derive(Clone, Debug)]
pub enum Issue {
    MagicLink {
        token_digest: CodeDigest,
        purpose: LinkPurpose,
        code_challenge: Option<String>,
        expires_at: DateTime<Utc>,
    },
    /// Replaces the method's live code.
    Otp {
        channel: OtpChannel,
        code_digest: CodeDigest,
        expires_at: DateTime<Utc>,
    },
}

/// A send, as the server prepared it.
#[derive(Clone, Debug)]
pub struct PasswordlessSend {
    pub destination: Destination,
    pub target: SendTarget,
    pub issue: Issue,
    /// A second link the message carries (a reset mail's login link); a magic link only.
    pub also: Option<Issue>,
    /// The message to queue; `None` for a destination that receives nothing (Stytch's sandbox).
    pub message: Option<NewMessage>,
}

/// What a send did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub user_id: UserId,
    /// The email_id or phone_id the message went to.
    pub method_id: String,
    pub user_created: bool,
}

#[async_trait]
pub trait PasswordlessStore: Send + Sync {
    /// The user that signs in with `destination`, if any.
    async fn holder(
        &self,
        project_id: &ProjectId,
        destination: &Destination,
    ) -> Result<Option<Holder>, StoreError>;

    /// Makes the send, in one transaction (see the module).
    async fn start_passwordless(
        &self,
        project_id: &ProjectId,
        send: PasswordlessSend,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<Sent, StoreError>;

    /// Revokes the pending invite of `email`: the invite links of the pending user holding it
    /// are used up (the user stays, pending). `NotFound(Email)` if no pending user holding it
    /// has an unused invite link.
    async fn revoke_invite(
        &self,
        project_id: &ProjectId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
