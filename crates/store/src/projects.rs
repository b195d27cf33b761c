//! Projects and their keys: the [`ProjectStore`] trait (project records and settings, JWT
//! signing keys, Stack Auth keys, the vault's check value), implemented in `sql/projects.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{Environment, ProjectId};
use latchkey_core::jwt::SigningKey;
use latchkey_core::passwords::strength::Policy;
use latchkey_core::secret::{Secret, SecretDigest};

use crate::*;

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
            lock_threshold: latchkey_core::lock::DEFAULT_THRESHOLD,
            lock_ttl_seconds: latchkey_core::lock::DEFAULT_LOCK_SECONDS,
            strength_policy: Policy::Zxcvbn,
        }
    }
}

/// A project's Stack Auth keys: the publishable client key (public by design) and the digest of
/// the secret server key.
#[derive(Clone, Debug)]
pub struct StackKeys {
    pub publishable_client_key: String,
    pub secret_server_key_digest: SecretDigest,
}

impl StackKeys {
    /// New keys, and the secret server key to show once.
    pub fn generate() -> (StackKeys, Secret) {
        let secret = Secret::generate_stack_key("ssk");
        let keys = StackKeys {
            publishable_client_key: Secret::generate_stack_key("pck").expose().to_owned(),
            secret_server_key_digest: secret.digest(),
        };
        (keys, secret)
    }
}

#[async_trait]
pub trait ProjectStore: Send + Sync {
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

    /// Every signing key of the project, of both kinds, newest first (the newest of a kind
    /// signs for it).
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

    /// Gives the project (new) Stack keys; the previous ones stop working.
    async fn set_stack_keys(
        &self,
        project_id: &ProjectId,
        keys: &StackKeys,
    ) -> Result<(), StoreError>;

    /// The vault check value kept in the database, if one was written.
    async fn vault_check(&self) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes the vault check value unless one exists; returns the one that is stored.
    async fn init_vault_check(&self, value: Vec<u8>) -> Result<Vec<u8>, StoreError>;
}
