//! Latchkey's storage: the [`Store`] trait and its two engines, SQLite (the embedded default) and
//! PostgreSQL (production, and stateless replicas).
//!
//! `Store` is the sum of one trait per product (`users`, `passwords`, `sessions`, …), each in the
//! module of that name beside its records. The SQL lives in `sql/`, one module per product again,
//! compiled once per engine (`sqlite.rs` and `postgres.rs` each mount it with `#[path]`), so the
//! engines run the same statements and cannot drift apart.
//!
//! Invariant: only this crate knows SQL. Every row carries its `project_id` and every statement
//! filters on it, so one project never reaches another's rows (`tests/project_scope.rs` checks
//! each statement). Every change that touches more than one row runs in one transaction.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use latchkey_core::InputError;

mod authentication;
mod contact_channels;
mod intermediate_sessions;
mod magic_links;
mod member_magic_links;
mod member_otps;
mod member_sessions;
mod members;
mod organizations;
mod otps;
mod outbox;
mod passwordless;
mod passwords;
pub mod postgres;
mod project_cache;
mod projects;
mod sessions;
pub mod sqlite;
mod totps;
mod users;

pub use authentication::*;
pub use contact_channels::*;
pub use intermediate_sessions::*;
pub use magic_links::*;
pub use member_magic_links::*;
pub use member_otps::*;
pub use member_sessions::*;
pub use members::*;
pub use organizations::*;
pub use otps::*;
pub use outbox::*;
pub use passwordless::*;
pub use passwords::*;
pub use postgres::PostgresStore;
pub use project_cache::PROJECT_TTL;
pub use projects::*;
pub use sessions::*;
pub use sqlite::SqliteStore;
/// The database driver's error, for callers that classify failures.
pub use sqlx::Error as DatabaseError;
pub use totps::*;
pub use users::*;

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
    /// The database could not be reached, or could not serve the statement now (pool exhausted
    /// or closed, connection refused or lost, server shutting down): a retry may succeed. The
    /// cause is for logs, not for callers.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// A stored value does not decode as what its column holds: which table and column, and
    /// why (never the value, which may be secret). For logs, not for callers.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database failed. The cause is for logs, not for callers.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    /// Every driver error enters the store's errors here, so this is where an unreachable
    /// database is told apart from a failing statement.
    fn from(error: sqlx::Error) -> StoreError {
        if is_unavailable(&error) {
            StoreError::Unavailable(error)
        } else {
            StoreError::Database(error)
        }
    }
}

/// Whether `error` says the database cannot be reached or cannot serve now, rather than that
/// the statement failed.
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db_error) => {
            if let Some(postgres) = db_error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                postgres_unavailable(postgres.code())
            } else if db_error
                .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                .is_some()
            {
                db_error
                    .code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(sqlite_unavailable)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs for a server that cannot serve now: class 08 (connection exception),
/// 53300 (too many connections), 57P01..57P03 (admin shutdown, crash shutdown, cannot connect
/// now).
fn postgres_unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "53300" | "57P01" | "57P02" | "57P03")
}

/// SQLite's result codes (the primary code is the low byte of an extended one) for a database
/// that cannot serve now: busy past the busy timeout, locked, I/O error, cannot open.
fn sqlite_unavailable(code: i32) -> bool {
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const IOERR: i32 = 10;
    const CANTOPEN: i32 = 14;
    matches!(code & 0xff, BUSY | LOCKED | IOERR | CANTOPEN)
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
    SigningKey,
    MagicLink,
    OtpCode,
    RedirectUrl,
    IntermediateSession,
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
    /// The magic-link token was used already or has expired.
    MagicLinkUnusable,
    /// A new email or phone waits until the user's unverified ones are verified (Stytch's
    /// `too_many_unverified_factors`).
    TooManyUnverifiedFactors,
    /// The user has a verified TOTP registration already; only one is allowed.
    ActiveTotpExists,
    /// A member's MFA phone number is set once; it must be deleted before another is set.
    MfaPhoneNumberExists,
    /// The change would leave the user no way to sign in.
    LastSignInMethod,
    /// The email is verified already: there is nothing to send a code for.
    EmailAlreadyVerified,
    /// Too many verification emails went to the address, or for the user, within the window
    /// (core `VERIFICATION_THROTTLE`).
    Throttled(latchkey_core::contact_channels::Throttled),
    /// The user holds as many of this kind of factor as it may (core `FactorKind::cap`).
    TooMany(latchkey_core::users::FactorKind),
    /// A user may not make an unverified address sign it in by itself (core
    /// `ChannelEffects::refused`): it must verify the address first.
    UnverifiedSignIn,
    VerificationCodeUsed,
    VerificationCodeExpired,
    /// A deleted member whose email was never verified cannot be reactivated.
    MemberEmailNotVerified,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Everything Latchkey stores: one trait per product. Each method is atomic.
pub trait Store:
    ProjectStore
    + UserStore
    + PasswordStore
    + SessionStore
    + AuthenticationStore
    + TotpStore
    + MagicLinkStore
    + OtpStore
    + PasswordlessStore
    + IntermediateSessionStore
    + MemberMagicLinkStore
    + MemberOtpStore
    + OrganizationStore
    + MemberStore
    + MemberSessionStore
    + ContactChannelStore
    + OutboxStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: ProjectStore
        + UserStore
        + PasswordStore
        + SessionStore
        + AuthenticationStore
        + TotpStore
        + MagicLinkStore
        + OtpStore
        + PasswordlessStore
        + IntermediateSessionStore
        + MemberMagicLinkStore
        + MemberOtpStore
        + OrganizationStore
        + MemberStore
        + MemberSessionStore
        + ContactChannelStore
        + OutboxStore
        + Send
        + Sync
        + 'static
{
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

/// The instant `micros` (as [`to_micros`] wrote it) read back from `table.column`.
pub(crate) fn from_micros(
    table: &str,
    column: &str,
    micros: i64,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("{table}.{column}: instant out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_databases_are_unavailable_and_failed_statements_are_not() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for error in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(refused),
            sqlx::Error::WorkerCrashed,
        ] {
            assert!(matches!(error.into(), StoreError::Unavailable(_)));
        }
        for error in [sqlx::Error::RowNotFound, sqlx::Error::Protocol("x".into())] {
            assert!(matches!(error.into(), StoreError::Database(_)));
        }
        assert!(postgres_unavailable("57P01"));
        assert!(postgres_unavailable("08006"));
        assert!(!postgres_unavailable("23505"));
        assert!(sqlite_unavailable(5));
        assert!(sqlite_unavailable(10 | (3 << 8)));
        assert!(!sqlite_unavailable(19));
    }

    #[test]
    fn an_instant_out_of_range_is_corrupt() {
        assert!(matches!(
            from_micros("users", "created_at", i64::MAX),
            Err(StoreError::Corrupt(message)) if message == "users.created_at: instant out of range"
        ));
        assert_eq!(
            from_micros("t", "c", 0).ok(),
            DateTime::from_timestamp_micros(0)
        );
    }
}
