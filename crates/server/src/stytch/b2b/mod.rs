//! Stytch's B2B API: organizations (members and B2B TOTP build on them).

pub mod organizations;
