//! Latchkey's domain core: identifiers, parsed input values, the User model, search queries and
//! project secrets.
//!
//! Invariant: this crate does no IO. It knows neither HTTP nor SQL; time and randomness that
//! matter for correctness are passed in by callers or drawn from the OS RNG for fresh secrets.

pub mod b2b;
pub mod contact_channel;
pub mod error;
pub mod ids;
pub mod jwt;
pub mod lock;
pub mod member;
pub mod password;
pub mod principal;
pub mod search;
pub mod secret;
pub mod session;
pub mod totp;
pub mod user;
pub mod values;
pub mod vault;

pub use error::InputError;
pub use ids::Environment;
