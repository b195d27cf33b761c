//! What passwords, sessions and signing keys need from storage: the [`CredentialStore`] trait,
//! implemented for both engines in `sql_credentials.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{EmailId, PasswordId, ProjectId, SessionId, UserId};
use latchkey_core::jwt::SigningKey;
use latchkey_core::password::StoredHash;
use latchkey_core::secret::SecretDigest;
use latchkey_core::session::{AuthenticationFactor, Session};
use latchkey_core::user::{NewUser, User, UserRef};
use latchkey_core::values::Email;
use serde_json::{Map, Value};

use crate::{Consume, ProjectSettings, StoreError};

/// What a password login reads before it verifies anything.
#[derive(Clone, Debug)]
pub struct PasswordLogin {
    pub user_id: UserId,
    pub email_id: EmailId,
    pub email: String,
    /// `None` when the user has no password.
    pub password: Option<StoredPassword>,
}

#[derive(Clone, Debug)]
pub struct StoredPassword {
    pub password_id: PasswordId,
    pub hash: Option<StoredHash>,
    /// The stored text, to make an upgrade conditional on nobody having changed it meanwhile.
    pub hash_text: String,
    pub requires_reset: bool,
}

/// A `passwords/migrate` request, parsed.
#[derive(Clone, Debug)]
pub struct MigratePassword {
    pub email: Email,
    pub hash: StoredHash,
    /// Applied only when the user is created (and `email_verified` also to an existing user).
    pub new_user: NewUser,
}

/// What happens to the stored password when a login or reset completes.
#[derive(Clone, Debug)]
pub enum PasswordWrite {
    Keep,
    /// Replace the hash only if it is still `from` (a concurrent reset wins).
    Upgrade {
        from: String,
        to: StoredHash,
    },
    /// Set this hash, creating the password if the user has none.
    Replace(StoredHash),
}

/// Which sessions of the user end when a login or reset completes.
#[derive(Clone, Debug)]
pub enum Revocation {
    None,
    /// Every session except this one (if any).
    AllExcept(Option<SessionId>),
}

/// A session about to start: everything but its user and first factor.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub session_id: SessionId,
    pub token_digest: SecretDigest,
    pub expires_at: DateTime<Utc>,
    pub custom_claims: Map<String, Value>,
}

/// The session a completing authentication starts or continues.
#[derive(Clone, Debug)]
pub enum SessionWrite {
    /// A new session whose first factor is the authentication's.
    Start(NewSession, AuthenticationFactor),
    /// An existing session of the same user, already updated by the caller.
    Continue(Session),
}

/// The writes that make an authentication (or reset) take effect, all in one transaction.
#[derive(Clone, Debug)]
pub struct Completion {
    pub user_id: UserId,
    pub password: PasswordWrite,
    pub revoke: Revocation,
    pub session: Option<SessionWrite>,
    /// The TOTP step or recovery code the authentication uses up.
    pub consume: Option<Consume>,
}

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Every signing key of the project, newest first (the newest signs).
    async fn signing_keys(&self, project_id: &ProjectId) -> Result<Vec<SigningKey>, StoreError>;
    async fn add_signing_key(
        &self,
        project_id: &ProjectId,
        key: &SigningKey,
    ) -> Result<(), StoreError>;
    async fn update_project_settings(
        &self,
        project_id: &ProjectId,
        settings: &ProjectSettings,
    ) -> Result<(), StoreError>;

    /// Attaches a migrated password to the user of that email, creating the user if there is
    /// none. Returns the user, the email's id and whether the user was created.
    async fn migrate_password(
        &self,
        project_id: &ProjectId,
        migrate: MigratePassword,
        now: DateTime<Utc>,
    ) -> Result<(User, EmailId, bool), StoreError>;

    /// Migrates several passwords, each with [`CredentialStore::migrate_password`]'s meaning and
    /// its own outcome: one item's refusal never touches another's. An engine may write a batch
    /// of new users in one transaction with one statement per table (how bulk migration reaches
    /// thousands of users a second on one SQLite writer); whenever that cannot be done cleanly
    /// it falls back to one item at a time. Results are in the order of `items`.
    async fn migrate_passwords(
        &self,
        project_id: &ProjectId,
        items: Vec<MigratePassword>,
        now: DateTime<Utc>,
    ) -> Vec<Result<(User, EmailId, bool), StoreError>>;

    /// How many write transactions the engine runs well at once (SQLite has one writer).
    fn write_lanes(&self) -> usize;

    /// Creates a user with an email and a password, and optionally its first session (whose
    /// factor is the password of that email), at once.
    async fn create_password_user(
        &self,
        project_id: &ProjectId,
        new_user: NewUser,
        hash: StoredHash,
        session: Option<NewSession>,
        now: DateTime<Utc>,
    ) -> Result<(User, EmailId, Option<Session>), StoreError>;

    async fn password_login(
        &self,
        project_id: &ProjectId,
        email: &Email,
    ) -> Result<Option<PasswordLogin>, StoreError>;

    /// Counts one authentication attempt against the user before it is verified, locking the
    /// user when the count reaches the threshold. Refuses with `Refusal::UserLocked` while a lock
    /// is active. Counting before verifying means concurrent guesses can never verify more than
    /// `lock_threshold` passwords between two successes.
    async fn reserve_attempt(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A successful authentication: clears the failure count and any lock, then applies the
    /// password, revocation and session writes. Returns the user and the session written.
    async fn complete(
        &self,
        project_id: &ProjectId,
        completion: Completion,
        now: DateTime<Utc>,
    ) -> Result<(User, Option<Session>), StoreError>;

    async fn session_by_token(
        &self,
        project_id: &ProjectId,
        token_digest: &SecretDigest,
    ) -> Result<Option<Session>, StoreError>;
    async fn session_by_id(
        &self,
        project_id: &ProjectId,
        session_id: &SessionId,
    ) -> Result<Option<Session>, StoreError>;
    /// Writes a session's access time, expiry, factors and claims back; `NotFound(Session)` if it
    /// was revoked meanwhile.
    async fn save_session(
        &self,
        project_id: &ProjectId,
        session: &Session,
    ) -> Result<(), StoreError>;
    async fn revoke_session(
        &self,
        project_id: &ProjectId,
        session_id: &SessionId,
    ) -> Result<(), StoreError>;
    /// The user's sessions that have not expired.
    async fn list_sessions(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError>;
}
