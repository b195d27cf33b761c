//! Latchkey's HTTP server: the Stytch-compatible API over axum.
//!
//! Invariant: only this crate knows HTTP. Handlers parse requests into core types, call the
//! [`Store`], and render Stytch's JSON. Every error leaves through [`error::ApiError`].

use std::sync::Arc;

use latchkey_store::Store;

pub mod app;
pub mod error;
pub mod extract;
pub mod request_id;
pub mod stytch;

pub use app::router;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState { store }
    }
}
