//! Latchkey's HTTP server: the Stytch-compatible API over axum.
//!
//! Invariant: only this crate knows HTTP. Handlers parse requests into core types, call the
//! [`Store`], and render Stytch's JSON. Every error leaves through [`error::ApiError`].

use std::sync::Arc;

use latchkey_core::password::Argon2Settings;
use latchkey_store::Store;

pub mod app;
pub mod batching;
pub mod error;
pub mod extract;
pub mod hashing;
pub mod request_id;
pub mod stytch;

pub use app::router;
pub use hashing::HashPool;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Where password hashing runs: off the async runtime, a bounded number at a time.
    pub hashing: HashPool,
    /// The cost of the argon2id hashes Latchkey writes.
    pub argon2: Argon2Settings,
    /// Where `passwords/migrate` requests are grouped into batches for the store.
    pub migrations: batching::MigrateBatcher,
}

impl AppState {
    /// Must be called inside a tokio runtime: it starts the migration lanes.
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState {
            migrations: batching::MigrateBatcher::start(store.clone()),
            store,
            hashing: HashPool::new(HashPool::default_size()),
            argon2: Argon2Settings::default(),
        }
    }
}
