//! `passwords/migrate` input: a hash from another system, its `hash_type` and config, checked
//! completely here so that a hash that cannot be right is refused at migrate time, never at
//! login. Error names are Stytch's (`invalid_bcrypt_hash`, `scrypt_key_length_mismatch`, …).
//!
//! Beyond Stytch (documented in docs/compatibility.md): `md_5` also takes md5-crypt (`$1$`),
//! `sha_512` takes sha512-crypt (`$6$`), a `sha_256` type takes hex SHA-256 and sha256-crypt
//! (`$5$`), `bcrypt` takes Django's `bcrypt$…` and `bcrypt_sha256$…`, `pbkdf_2` takes Django's
//! `pbkdf2_sha256$…`/`pbkdf2_sha1$…` and passlib's `$pbkdf2-sha256$…` strings without a config,
//! argon2 takes Django's `argon2$…` prefix, and `firebase_scrypt` takes Firebase Auth exports.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use serde::Deserialize;

use super::phpass::{self, PhpassProblem};
use super::{cost, Argon2Variant, BcryptInput, DigestAlgorithm, Pbkdf2Prf, StoredHash};
use crate::InputError;

mod crypt;
mod kdf;

use crypt::{parse_bcrypt, parse_phpass, parse_salted, parse_unix_crypt};
use kdf::{parse_argon2, parse_firebase, parse_pbkdf2, parse_scrypt};

/// `md_5_config`, `sha_1_config`, `sha_512_config` (and `sha_256_config`).
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaltConfig {
    #[serde(default)]
    pub prepend_salt: Option<String>,
    #[serde(default)]
    pub append_salt: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Argon2Config {
    pub salt: String,
    pub iteration_amount: i64,
    pub memory: i64,
    pub threads: i64,
    pub key_length: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScryptConfig {
    pub salt: String,
    pub n_parameter: i64,
    pub r_parameter: i64,
    pub p_parameter: i64,
    pub key_length: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pbkdf2Config {
    pub salt: String,
    pub iteration_amount: i64,
    pub key_length: i64,
    #[serde(default)]
    pub algorithm: Option<String>,
}

/// Latchkey extension: the hash parameters of a Firebase Auth project export.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FirebaseScryptConfig {
    pub signer_key: String,
    pub salt_separator: String,
    pub salt: String,
    pub rounds: i64,
    pub mem_cost: i64,
}

/// Everything of a migrate request that describes the hash, as its JSON carries it (absent
/// fields are `None`).
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MigrateHash {
    pub hash: Option<String>,
    pub hash_type: Option<String>,
    pub md_5_config: Option<SaltConfig>,
    pub sha_1_config: Option<SaltConfig>,
    pub sha_256_config: Option<SaltConfig>,
    pub sha_512_config: Option<SaltConfig>,
    pub argon_2_config: Option<Argon2Config>,
    pub scrypt_config: Option<ScryptConfig>,
    pub pbkdf_2_config: Option<Pbkdf2Config>,
    pub firebase_scrypt_config: Option<FirebaseScryptConfig>,
}

// Shape bounds; the cost bounds, drawn from what one login may cost, are in `passwords::cost`.
pub const KEY_LENGTH: std::ops::RangeInclusive<i64> = 4..=256;
const MAX_HASH_LEN: usize = 1024;
const MAX_SALT_LEN: usize = 1024;

fn refuse(error_type: &'static str, message: impl Into<String>) -> InputError {
    InputError::Named {
        error_type,
        message: message.into(),
    }
}

/// Checks a migrate request's hash and config and returns what to store.
pub fn parse(input: &MigrateHash) -> Result<StoredHash, InputError> {
    let hash = input.hash.as_deref().unwrap_or_default().trim();
    if hash.is_empty() || hash.len() > MAX_HASH_LEN || hash.contains('\0') {
        return Err(refuse("invalid_hash", "hash must be 1 to 1024 characters."));
    }
    match input.hash_type.as_deref().unwrap_or_default() {
        "bcrypt" => parse_bcrypt(hash),
        "md_5" if hash.starts_with("$1$") => parse_unix_crypt(hash, "invalid_md_5_hash"),
        "md_5" => parse_salted(
            hash,
            DigestAlgorithm::Md5,
            input.md_5_config.as_ref(),
            "invalid_md_5_hash",
        ),
        "sha_1" => parse_salted(
            hash,
            DigestAlgorithm::Sha1,
            input.sha_1_config.as_ref(),
            "invalid_sha_1_hash",
        ),
        "sha_256" if hash.starts_with("$5$") => parse_unix_crypt(hash, "invalid_hash"),
        "sha_256" => parse_salted(
            hash,
            DigestAlgorithm::Sha256,
            input.sha_256_config.as_ref(),
            "invalid_hash",
        ),
        "sha_512" if hash.starts_with("$6$") => parse_unix_crypt(hash, "invalid_hash"),
        "sha_512" => parse_salted(
            hash,
            DigestAlgorithm::Sha512,
            input.sha_512_config.as_ref(),
            "invalid_hash",
        ),
        "argon_2i" => parse_argon2(hash, Argon2Variant::Argon2i, input.argon_2_config.as_ref()),
        "argon_2id" => parse_argon2(hash, Argon2Variant::Argon2id, input.argon_2_config.as_ref()),
        "scrypt" => parse_scrypt(hash, input.scrypt_config.as_ref()),
        "pbkdf_2" => parse_pbkdf2(hash, input.pbkdf_2_config.as_ref()),
        "phpass" => parse_phpass(hash),
        "firebase_scrypt" => parse_firebase(hash, input.firebase_scrypt_config.as_ref()),
        "" => Err(refuse("invalid_hash_type", "hash_type is required.")),
        _ => Err(refuse(
            "invalid_hash_type",
            "hash_type must be one of bcrypt, md_5, argon_2i, argon_2id, sha_1, sha_512, scrypt, \
             phpass, pbkdf_2 (or the Latchkey extensions sha_256, firebase_scrypt).",
        )),
    }
}

fn in_range(
    value: i64,
    range: &std::ops::RangeInclusive<i64>,
    error_type: &'static str,
    field: &str,
) -> Result<u32, InputError> {
    if range.contains(&value) {
        u32::try_from(value).map_err(|_| refuse(error_type, format!("{field} is out of range.")))
    } else {
        Err(refuse(
            error_type,
            format!(
                "{field} must be between {} and {}.",
                range.start(),
                range.end()
            ),
        ))
    }
}

/// A config number as the `u32` a hash takes; its bound is checked by `cost`.
fn to_u32(value: i64, error_type: &'static str, field: &str) -> Result<u32, InputError> {
    u32::try_from(value).map_err(|_| {
        refuse(
            error_type,
            format!("{field} must be a number from 0 to {}.", u32::MAX),
        )
    })
}
