//! Latchkey's storage: the [`Store`] trait and its two engines, SQLite (the embedded default) and
//! PostgreSQL (production, and stateless replicas).
//!
//! Invariant: only this crate knows SQL. Both engines run the same statements (see
//! `sql_common.rs`, compiled once per engine) and pass the same conformance suite
//! (`tests/conformance.rs`). Every row carries its `project_id` and every statement filters on
//! it, so one project never reaches another's rows. Every change that touches more than one row
//! runs in one transaction.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{
    BiometricRegistrationId, CryptoWalletId, EmailId, Environment, OAuthUserRegistrationId,
    PasswordId, PhoneId, ProjectId, TotpId, UserId, WebAuthnRegistrationId,
};
use latchkey_core::jwt::SigningKey;
use latchkey_core::password::strength::Policy;
use latchkey_core::search::{SearchCursor, SearchQuery};
use latchkey_core::secret::SecretDigest;
use latchkey_core::user::{NewUser, User, UserRef};
use latchkey_core::values::{Email, ExternalId, NamePatch, PhoneNumber};
use latchkey_core::InputError;
use serde_json::{Map, Value};

mod b2b;
mod contact_channels;
mod credentials;
pub mod postgres;
mod project_cache;
pub mod sqlite;
mod totps;

pub use b2b::*;
pub use contact_channels::*;
pub use credentials::*;
pub use postgres::PostgresStore;
pub use project_cache::PROJECT_TTL;
pub use sqlite::SqliteStore;
/// The database driver's error, for callers that classify failures.
pub use sqlx::Error as DatabaseError;
pub use totps::*;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(Missing),
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// The change is refused by a rule that needs stored state to check (e.g. merged metadata
    /// growing past its limit).
    #[error(transparent)]
    Invalid(#[from] InputError),
    /// The user is not in a state that allows the change.
    #[error("{0}")]
    Refused(Refusal),
    /// The database failed or could not be reached. The cause is for logs, not for callers.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

/// One connection pool's use.
#[derive(Clone, Copy, Debug)]
pub struct PoolStats {
    /// `read`, `write`, or `all` for a pool that does both.
    pub name: &'static str,
    pub connections: u32,
    pub idle: usize,
    pub max: u32,
}

/// Which thing a lookup did not find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    User,
    Email,
    PhoneNumber,
    WebAuthnRegistration,
    BiometricRegistration,
    Totp,
    CryptoWallet,
    Password,
    OAuthRegistration,
    Project,
    Session,
    Organization,
    Member,
    ContactChannel,
    VerificationCode,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Which uniqueness rule a change would break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    DuplicateEmail,
    DuplicatePhoneNumber,
    DuplicateExternalId,
    /// `passwords/migrate` for a user that already has a password.
    PasswordAlreadyExists,
    DuplicateOrganizationSlug,
    DuplicateOrganizationExternalId,
    /// Another member of the organization that is not deleted has this email.
    DuplicateMemberEmail,
    DuplicateMemberExternalId,
}

/// Why the state of a user refuses a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `exchange_primary_factor` needs a user with exactly one factor, an email or a phone.
    NotExactlyOnePrimaryFactor,
    /// The user is locked after too many failed authentications.
    UserLocked,
    /// The TOTP step (or a later one) was accepted already: a replay, or a concurrent use.
    TotpStepUsed,
    /// The recovery code is not among the registration's unused codes: wrong, or used already
    /// (also by a concurrent request).
    RecoveryCodeRejected,
    /// The user has a verified TOTP registration already; only one is allowed.
    ActiveTotpExists,
    /// A member's MFA phone number is set once; it must be deleted before another is set.
    MfaPhoneNumberExists,
    /// The change would leave the user no way to sign in.
    LastSignInMethod,
    /// The email is verified already: there is nothing to send a code for.
    EmailAlreadyVerified,
    VerificationCodeUsed,
    VerificationCodeExpired,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// A project as authentication needs it. The secret is only ever a digest.
#[derive(Clone, Debug)]
pub struct ProjectRecord {
    pub project_id: ProjectId,
    pub name: String,
    pub environment: Environment,
    pub secret_digest: SecretDigest,
    pub created_at: DateTime<Utc>,
    pub settings: ProjectSettings,
    /// Stack Auth keys; projects made before they existed have none until given some.
    pub stack_keys: Option<StackKeys>,
}

/// A project's authentication settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectSettings {
    /// Consecutive failed authentications that lock a user (Stytch: 1 to 100, default 10).
    pub lock_threshold: u32,
    /// How long a lock lasts (Stytch: 5 minutes to 7 days, default 1 hour).
    pub lock_ttl_seconds: i64,
    pub strength_policy: Policy,
}

impl Default for ProjectSettings {
    fn default() -> Self {
        ProjectSettings {
            lock_threshold: 10,
            lock_ttl_seconds: 3600,
            strength_policy: Policy::Zxcvbn,
        }
    }
}

/// A change to a user. `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<NamePatch>,
    pub trusted_metadata: Option<Map<String, Value>>,
    pub untrusted_metadata: Option<Map<String, Value>>,
    pub external_id: Option<ExternalId>,
    pub roles: Option<Vec<String>>,
    /// Emails and phone numbers to attach, unverified (Stytch's legacy update semantics).
    pub add_emails: Vec<Email>,
    pub add_phone_numbers: Vec<PhoneNumber>,
}

/// One factor, named by its id, for the per-factor deletes.
#[derive(Clone, Debug)]
pub enum FactorRef {
    Email(EmailId),
    PhoneNumber(PhoneId),
    WebAuthnRegistration(WebAuthnRegistrationId),
    BiometricRegistration(BiometricRegistrationId),
    Totp(TotpId),
    CryptoWallet(CryptoWalletId),
    Password(PasswordId),
    OAuthRegistration(OAuthUserRegistrationId),
}

/// What `exchange_primary_factor` exchanges to.
#[derive(Clone, Debug)]
pub enum PrimaryFactor {
    Email(Email),
    PhoneNumber(PhoneNumber),
}

/// A factor to attach to a user directly. The flows that create these (WebAuthn, OAuth, …) build
/// on this; until they exist it is how operators and tests seed them.
#[derive(Clone, Debug)]
pub enum NewFactor {
    WebAuthnRegistration {
        domain: String,
        user_agent: String,
        authenticator_type: String,
        name: String,
        verified: bool,
    },
    BiometricRegistration {
        verified: bool,
    },
    Totp {
        verified: bool,
    },
    CryptoWallet {
        address: String,
        wallet_type: String,
        verified: bool,
    },
    OAuthRegistration {
        provider_type: String,
        provider_subject: String,
        profile_picture_url: String,
        locale: String,
    },
    Password {
        requires_reset: bool,
    },
}

/// One page of search results.
#[derive(Clone, Debug)]
pub struct SearchPage {
    pub users: Vec<User>,
    /// How many users match the query in all.
    pub total: i64,
    pub next_cursor: Option<SearchCursor>,
}

/// Everything Latchkey stores. Each method is atomic.
#[async_trait]
pub trait Store:
    CredentialStore + TotpStore + B2bStore + MemberStore + ContactChannelStore + Send + Sync + 'static
{
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The connection pools and their use, for metrics.
    fn pool_stats(&self) -> Vec<PoolStats>;

    /// Creates the project with its first JWT signing key, in one transaction.
    async fn create_project(
        &self,
        project: &ProjectRecord,
        key: &SigningKey,
    ) -> Result<(), StoreError>;
    async fn get_project(
        &self,
        project_id: &ProjectId,
    ) -> Result<Option<ProjectRecord>, StoreError>;
    async fn list_projects(&self) -> Result<Vec<ProjectRecord>, StoreError>;

    /// Creates the user with its email, phone number and roles in one transaction.
    async fn create_user(
        &self,
        project_id: &ProjectId,
        new_user: NewUser,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;
    async fn get_user(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
    ) -> Result<Option<User>, StoreError>;
    async fn update_user(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
        patch: UserPatch,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;
    /// Deletes the user and, with it, every factor. Returns the deleted user's id.
    async fn delete_user(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
    ) -> Result<UserId, StoreError>;
    /// Removes a user's external id.
    async fn delete_external_id(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
    ) -> Result<User, StoreError>;
    async fn search_users(
        &self,
        project_id: &ProjectId,
        query: &SearchQuery,
        limit: u32,
        cursor: Option<SearchCursor>,
    ) -> Result<SearchPage, StoreError>;
    /// Deletes one factor and returns its user as it is afterwards.
    async fn delete_factor(
        &self,
        project_id: &ProjectId,
        factor: &FactorRef,
    ) -> Result<User, StoreError>;
    async fn exchange_primary_factor(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
        to: PrimaryFactor,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;
    async fn add_factor(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        factor: NewFactor,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;
}

/// Opens the store a database URL names: `sqlite:` / `sqlite://` for SQLite, `postgres://` or
/// `postgresql://` for PostgreSQL. Migrations are applied before it returns.
pub async fn connect(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(database_url).await?))
    } else {
        Ok(Arc::new(SqliteStore::connect(database_url).await?))
    }
}

/// Microseconds since the Unix epoch: how both engines store instants.
pub(crate) fn to_micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(crate) fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}
