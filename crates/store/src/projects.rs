//! Projects and their keys: the [`ProjectStore`] trait (project records and settings, JWT
//! signing keys, Stack Auth keys, the vault's check value), implemented in `sql/projects.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{Environment, ProjectId, SigningKeyId};
use latchkey_core::jwt::SigningKey;
use latchkey_core::passwords::strength::Policy;
use latchkey_core::secret::{Secret, SecretDigest};

use crate::*;

/// Whose TOTP registrations: users' (`totps`) or members' (`member_totps`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TotpOwner {
    User,
    Member,
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
            lock_threshold: latchkey_core::lock::DEFAULT_THRESHOLD,
            lock_ttl_seconds: latchkey_core::lock::DEFAULT_LOCK_SECONDS,
            strength_policy: Policy::Zxcvbn,
        }
    }
}

/// A redirect URL a project allows, and the flow types it serves (`true`: the type's default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectUrl {
    pub url: String,
    pub valid_types: Vec<(latchkey_core::redirect_urls::RedirectType, bool)>,
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

    /// Creates the project with its settings and Stack keys, in one transaction. Its signing
    /// keys are made when first needed (they are sealed with the vault, which the store never
    /// holds).
    async fn create_project(&self, project: &ProjectRecord) -> Result<(), StoreError>;

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

    /// Stops key `kid` signing from `now` on (a key already retired keeps its first
    /// retirement). `NotFound(SigningKey)` if the project has no such key.
    async fn retire_signing_key(
        &self,
        project_id: &ProjectId,
        kid: &SigningKeyId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Replaces key `kid`'s stored private key `old` by `new` (sealed anew); `false` if it is no
    /// longer `old`.
    async fn reseal_signing_key(
        &self,
        project_id: &ProjectId,
        kid: &SigningKeyId,
        old: &[u8],
        new: Vec<u8>,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` TOTP registrations of the project's users or members, by id after `after`,
    /// for the re-seal pass.
    async fn sealed_totps(
        &self,
        owner: TotpOwner,
        project_id: &ProjectId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredTotp>, StoreError>;

    /// Replaces registration `old`'s sealed secret, recovery-code digests and sealed code list
    /// by `new`'s; `false` if any of them is no longer `old`'s (a code was used meanwhile).
    async fn reseal_totp(
        &self,
        owner: TotpOwner,
        project_id: &ProjectId,
        old: &StoredTotp,
        new: &StoredTotp,
    ) -> Result<bool, StoreError>;

    /// Replaces the vault check value `old` by `new`; `false` if it is no longer `old`.
    async fn reseal_vault_check(&self, old: &[u8], new: Vec<u8>) -> Result<bool, StoreError>;

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
    /// The project's wording of a kind of message, if it set one.
    async fn message_template(
        &self,
        project_id: &ProjectId,
        kind: latchkey_core::delivery::TemplateKind,
    ) -> Result<Option<latchkey_core::delivery::Template>, StoreError>;

    /// Sets (or with `None` removes) the project's wording of a kind of message.
    async fn set_message_template(
        &self,
        project_id: &ProjectId,
        kind: latchkey_core::delivery::TemplateKind,
        template: Option<latchkey_core::delivery::Template>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The project's redirect URLs, in the order they were added.
    async fn redirect_urls(&self, project_id: &ProjectId) -> Result<Vec<RedirectUrl>, StoreError>;

    /// Adds `url` for its types, or replaces the types of a URL already there. A type it is
    /// the default for stops being another URL's default.
    async fn put_redirect_url(
        &self,
        project_id: &ProjectId,
        url: RedirectUrl,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Removes `url` (`NotFound(RedirectUrl)` if the project has no such URL).
    async fn delete_redirect_url(
        &self,
        project_id: &ProjectId,
        url: &str,
    ) -> Result<(), StoreError>;

    /// Replaces the whole list.
    async fn replace_redirect_urls(
        &self,
        project_id: &ProjectId,
        urls: Vec<RedirectUrl>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn vault_check(&self) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes the vault check value unless one exists; returns the one that is stored.
    async fn init_vault_check(&self, value: Vec<u8>) -> Result<Vec<u8>, StoreError>;
}
