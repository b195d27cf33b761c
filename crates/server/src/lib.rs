//! Latchkey's HTTP server: the Stytch-compatible API over axum.
//!
//! Invariant: only this crate knows HTTP. Handlers parse requests into core types, call the
//! [`Store`], and render Stytch's JSON. Every error leaves through [`error::ApiError`].

use std::sync::Arc;

use latchkey_core::passwords::Argon2Settings;
use latchkey_core::vault::Vault;
use latchkey_store::Store;

pub mod app;
pub mod authentication;
pub mod batching;
pub mod delivery;
pub mod error;
pub mod extract;
pub mod hashing;
pub mod openapi;
pub mod operations;
pub mod request_id;
pub mod serve;
pub mod stack;
pub mod stytch;
pub mod vault;

pub use app::router;
pub use hashing::HashPool;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Where password hashing and strength scoring run: off the async runtime, a bounded number
    /// at a time, behind a bounded queue.
    pub hashing: HashPool,
    /// The cost of the argon2id hashes Latchkey writes.
    pub argon2: Argon2Settings,
    /// Where `passwords/migrate` requests are grouped into batches for the store.
    pub migrations: batching::MigrateBatcher,
    /// Seals TOTP secrets and digests recovery codes, with the key from configuration.
    pub vault: Vault,
    /// Request timeout, slow-client deadlines, connection bound and rates.
    pub limits: operations::Limits,
    /// The per-project token buckets `limits` asks for (`None`: unlimited).
    pub rate_limiter: Option<Arc<operations::ProjectRateLimiter>>,
    /// The buckets of Stack's client-side traffic, per project and client address (`None`:
    /// unlimited).
    pub client_rate_limiter: Option<Arc<operations::ClientRateLimiter>>,
    /// The mail and SMS providers, the send limits, and the delivery worker's wake-up.
    pub delivery: Arc<delivery::Delivery>,
}

impl AppState {
    /// Must be called inside a tokio runtime: it starts the migration lanes. The vault's key
    /// should have been checked against the database first (see [`vault::check_key`]).
    pub fn new(store: Arc<dyn Store>, vault: Vault) -> AppState {
        AppState {
            migrations: batching::MigrateBatcher::start(store.clone()),
            store,
            hashing: HashPool::new(
                operations::Limits::default().hash_threads,
                operations::Limits::default().hash_queue,
            ),
            argon2: Argon2Settings::default(),
            vault,
            limits: operations::Limits::default(),
            rate_limiter: operations::ProjectRateLimiter::new(&operations::Limits::default()),
            client_rate_limiter: operations::ClientRateLimiter::new(&operations::Limits::default()),
            delivery: Arc::new(delivery::Delivery::default()),
        }
    }

    /// The same state delivering through `delivery`'s providers.
    pub fn with_delivery(mut self, delivery: delivery::Delivery) -> AppState {
        self.delivery = Arc::new(delivery);
        self
    }

    /// The same state with other limits.
    pub fn with_limits(mut self, limits: operations::Limits) -> AppState {
        self.rate_limiter = operations::ProjectRateLimiter::new(&limits);
        self.client_rate_limiter = operations::ClientRateLimiter::new(&limits);
        self.hashing = if limits.hash_threads == self.limits.hash_threads {
            self.hashing.with_bounds(limits.hash_queue)
        } else {
            HashPool::new(limits.hash_threads, limits.hash_queue)
        };
        self.limits = limits;
        self
    }

    /// Takes one request of `project_id` from its rate budget.
    pub fn check_rate(
        &self,
        project_id: &latchkey_core::ids::ProjectId,
    ) -> Result<(), std::time::Duration> {
        match &self.rate_limiter {
            Some(limiter) => limiter.check(project_id),
            None => Ok(()),
        }
    }

    /// Takes one client-side request of `project_id` from `client` from that client's budget
    /// (never from the project's).
    pub fn check_client_rate(
        &self,
        project_id: &latchkey_core::ids::ProjectId,
        client: std::net::IpAddr,
    ) -> Result<(), std::time::Duration> {
        match &self.client_rate_limiter {
            Some(limiter) => limiter.check(project_id, client),
            None => Ok(()),
        }
    }
}
