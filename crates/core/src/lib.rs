//! Latchkey's domain core: identifiers, parsed input values, the User model, search queries and
//! project secrets.
//!
//! Invariant: this crate does no IO. It knows neither HTTP nor SQL; time and randomness that
//! matter for correctness are passed in by callers or drawn from the OS RNG for fresh secrets.

pub mod contact_channels;
pub mod delivery;
pub mod error;
pub mod ids;
pub mod jwt;
pub mod lock;
pub mod magic_links;
pub mod members;
pub mod organizations;
pub mod otps;
pub mod passwords;
pub mod principal;
pub mod redirect_urls;
pub mod search;
pub mod secret;
pub mod sessions;
pub mod totps;
pub mod users;
pub mod values;
pub mod vault;

pub use error::InputError;
pub use ids::Environment;
