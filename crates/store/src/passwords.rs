//! What passwords need from storage: the [`PasswordStore`] trait (migration, sign-up with a
//! password, the login read), implemented in `sql/passwords.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{EmailId, PasswordId, ProjectId, UserId};
use latchkey_core::passwords::StoredHash;
use latchkey_core::sessions::Session;
use latchkey_core::users::{NewUser, User};
use latchkey_core::values::Email;

use crate::*;

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
    pub hash: StoredHash,
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

#[async_trait]
pub trait PasswordStore: Send + Sync {
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
}
