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
use super::{Argon2Variant, BcryptInput, DigestAlgorithm, Pbkdf2Prf, StoredHash};
use crate::InputError;

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

// Bounds that keep one login from costing more than about a second of CPU or 256 MiB of memory.
pub const BCRYPT_COST: std::ops::RangeInclusive<u32> = 4..=16;
pub const ARGON2_MEMORY_KIB: std::ops::RangeInclusive<i64> = 8..=262_144;
pub const ARGON2_ITERATIONS: std::ops::RangeInclusive<i64> = 1..=32;
pub const ARGON2_THREADS: std::ops::RangeInclusive<i64> = 1..=16;
pub const KEY_LENGTH: std::ops::RangeInclusive<i64> = 4..=256;
pub const SCRYPT_MAX_N: i64 = 262_144;
pub const SCRYPT_MAX_MEMORY: i64 = 256 * 1024 * 1024;
pub const PBKDF2_ITERATIONS: std::ops::RangeInclusive<i64> = 1..=10_000_000;
pub const SHA_CRYPT_MAX_ROUNDS: u64 = 1_000_000;
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

const BCRYPT_ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn parse_bcrypt(hash: &str) -> Result<StoredHash, InputError> {
    let (mcf, input) = if let Some(rest) = hash.strip_prefix("bcrypt_sha256$") {
        (rest, BcryptInput::DjangoSha256)
    } else if let Some(rest) = hash.strip_prefix("bcrypt$") {
        (rest, BcryptInput::Plain)
    } else {
        (hash, BcryptInput::Plain)
    };
    let invalid = || {
        refuse(
            "invalid_bcrypt_hash",
            "A bcrypt hash is 60 characters: $2a$, $2b$ or $2y$, a two-digit cost, $, then 53 \
             characters of bcrypt's base64.",
        )
    };
    let bytes = mcf.as_bytes();
    if bytes.len() != 60 {
        return Err(invalid());
    }
    let prefix_ok = matches!(&mcf[..4], "$2a$" | "$2b$" | "$2y$");
    if !prefix_ok
        || bytes[6] != b'$'
        || !bytes[7..].iter().all(|byte| BCRYPT_ALPHABET.contains(byte))
    {
        return Err(invalid());
    }
    let cost: u32 = mcf[4..6].parse().map_err(|_| invalid())?;
    if !BCRYPT_COST.contains(&cost) {
        return Err(refuse(
            "invalid_bcrypt_cost",
            format!(
                "bcrypt cost must be between {} and {}.",
                BCRYPT_COST.start(),
                BCRYPT_COST.end()
            ),
        ));
    }
    Ok(StoredHash::Bcrypt {
        mcf: mcf.to_owned(),
        input,
    })
}

/// Hex (either case) or standard base64 of exactly the digest's length.
fn decode_digest(text: &str, length: usize) -> Option<Vec<u8>> {
    if text.len() == length * 2 {
        if let Ok(bytes) = hex::decode(text) {
            return Some(bytes);
        }
    }
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .ok()?;
    (bytes.len() == length).then_some(bytes)
}

fn parse_salted(
    hash: &str,
    algorithm: DigestAlgorithm,
    config: Option<&SaltConfig>,
    error_type: &'static str,
) -> Result<StoredHash, InputError> {
    let length = algorithm.output_len();
    let digest = decode_digest(hash, length).ok_or_else(|| {
        refuse(
            error_type,
            format!(
                "The hash must be the {length}-byte digest as {} hex characters or base64.",
                length * 2
            ),
        )
    })?;
    let config = config.cloned().unwrap_or_default();
    let prepend_salt = config.prepend_salt.unwrap_or_default();
    let append_salt = config.append_salt.unwrap_or_default();
    if prepend_salt.len() > MAX_SALT_LEN || prepend_salt.contains('\0') {
        return Err(refuse(
            "invalid_prepend_salt",
            "prepend_salt must be at most 1024 bytes.",
        ));
    }
    if append_salt.len() > MAX_SALT_LEN || append_salt.contains('\0') {
        return Err(refuse(
            "invalid_append_salt",
            "append_salt must be at most 1024 bytes.",
        ));
    }
    Ok(StoredHash::SaltedDigest {
        algorithm,
        prepend_salt,
        append_salt,
        hash: digest,
    })
}

const CRYPT_ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// md5-crypt `$1$salt$hash`, sha256-crypt `$5$[rounds=N$]salt$hash`, sha512-crypt likewise.
fn parse_unix_crypt(hash: &str, error_type: &'static str) -> Result<StoredHash, InputError> {
    let (name, digest_len) = match &hash[..3] {
        "$1$" => ("md5-crypt", 22),
        "$5$" => ("sha256-crypt", 43),
        _ => ("sha512-crypt", 86),
    };
    let invalid = |why: &str| refuse(error_type, format!("Invalid {name} hash: {why}."));
    let mut parts: Vec<&str> = hash[3..].split('$').collect();
    if let Some(rounds) = parts.first().and_then(|part| part.strip_prefix("rounds=")) {
        if name == "md5-crypt" {
            return Err(invalid("md5-crypt has no rounds"));
        }
        let rounds: u64 = rounds
            .parse()
            .map_err(|_| invalid("rounds is not a number"))?;
        if !(1000..=SHA_CRYPT_MAX_ROUNDS).contains(&rounds) {
            return Err(invalid("rounds must be between 1000 and 1000000"));
        }
        parts.remove(0);
    }
    let [salt, digest] = parts.as_slice() else {
        return Err(invalid("expected $salt$hash after the prefix"));
    };
    let max_salt = if name == "md5-crypt" { 8 } else { 16 };
    if salt.is_empty()
        || salt.len() > max_salt
        || !salt.bytes().all(|byte| CRYPT_ALPHABET.contains(&byte))
    {
        return Err(invalid(
            "the salt must be 1 to 16 characters of ./0-9A-Za-z (8 for md5-crypt)",
        ));
    }
    if digest.len() != digest_len || !digest.bytes().all(|byte| CRYPT_ALPHABET.contains(&byte)) {
        return Err(invalid("the hash part has the wrong length or characters"));
    }
    Ok(StoredHash::UnixCrypt {
        mcf: hash.to_owned(),
    })
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

fn parse_argon2(
    hash: &str,
    variant: Argon2Variant,
    config: Option<&Argon2Config>,
) -> Result<StoredHash, InputError> {
    let encoded = hash
        .strip_prefix("argon2")
        .filter(|rest| rest.starts_with("$argon2"))
        .unwrap_or(hash);
    if encoded.starts_with("$argon2") {
        return parse_argon2_phc(encoded, variant);
    }
    let Some(config) = config else {
        return Err(refuse(
            "invalid_hash",
            "An argon2 hash must be a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash), or hex with \
             argon_2_config.",
        ));
    };
    let digest = hex::decode(hash).map_err(|_| {
        refuse(
            "invalid_hash",
            "Without its PHC encoding an argon2 hash must be hex.",
        )
    })?;
    let memory_kib = in_range(
        config.memory,
        &ARGON2_MEMORY_KIB,
        "invalid_argon_2_memory",
        "argon_2_config.memory",
    )?;
    let iterations = in_range(
        config.iteration_amount,
        &ARGON2_ITERATIONS,
        "invalid_argon_2_iteration_amount",
        "argon_2_config.iteration_amount",
    )?;
    let parallelism = in_range(
        config.threads,
        &ARGON2_THREADS,
        "invalid_argon_2_threads",
        "argon_2_config.threads",
    )?;
    in_range(
        config.key_length,
        &KEY_LENGTH,
        "invalid_argon_2_key_length",
        "argon_2_config.key_length",
    )?;
    if memory_kib < 8 * parallelism {
        return Err(refuse(
            "invalid_argon_2_memory",
            "argon_2_config.memory must be at least 8 × threads.",
        ));
    }
    if usize::try_from(config.key_length).ok() != Some(digest.len()) {
        return Err(refuse(
            "argon_2_key_length_mismatch",
            "argon_2_config.key_length must equal the length of the decoded hash.",
        ));
    }
    let salt = config.salt.as_bytes().to_vec();
    if salt.len() < 8 || salt.len() > MAX_SALT_LEN {
        return Err(refuse(
            "invalid_argon_2_salt",
            "argon_2_config.salt must be 8 to 1024 bytes.",
        ));
    }
    Ok(StoredHash::Argon2Raw {
        variant,
        memory_kib,
        iterations,
        parallelism,
        salt,
        hash: digest,
    })
}

fn parse_argon2_phc(phc: &str, variant: Argon2Variant) -> Result<StoredHash, InputError> {
    let invalid = |why: &str| refuse("invalid_hash", format!("Invalid argon2 PHC string: {why}."));
    let parsed = argon2::PasswordHash::new(phc).map_err(|error| invalid(&error.to_string()))?;
    let expected = match variant {
        Argon2Variant::Argon2i => "argon2i",
        Argon2Variant::Argon2id => "argon2id",
    };
    if parsed.algorithm.as_str() != expected {
        return Err(invalid(&format!(
            "hash_type says {expected} but the hash is {}",
            parsed.algorithm
        )));
    }
    if parsed.version.is_some_and(|version| version != 0x13) {
        return Err(invalid("only version 19 (v=19) is supported"));
    }
    let params = argon2::Params::try_from(&parsed).map_err(|error| invalid(&error.to_string()))?;
    in_range(
        i64::from(params.m_cost()),
        &ARGON2_MEMORY_KIB,
        "invalid_argon_2_memory",
        "m",
    )?;
    in_range(
        i64::from(params.t_cost()),
        &ARGON2_ITERATIONS,
        "invalid_argon_2_iteration_amount",
        "t",
    )?;
    in_range(
        i64::from(params.p_cost()),
        &ARGON2_THREADS,
        "invalid_argon_2_threads",
        "p",
    )?;
    if parsed.salt.is_none() {
        return Err(refuse(
            "invalid_argon_2_salt",
            "The argon2 PHC string has no salt.",
        ));
    }
    match parsed.hash {
        Some(output) if KEY_LENGTH.contains(&(output.len() as i64)) => {}
        _ => {
            return Err(invalid(
                "the hash part is missing or of an unsupported length",
            ))
        }
    }
    Ok(StoredHash::Argon2Phc {
        phc: phc.to_owned(),
    })
}

/// Base64 as the migrating systems write it: standard, with or without padding, or passlib's
/// "adapted" alphabet that uses `.` for `+`.
fn decode_b64(text: &str) -> Option<Vec<u8>> {
    let text = text.replace('.', "+");
    STANDARD
        .decode(&text)
        .or_else(|_| STANDARD_NO_PAD.decode(&text))
        .ok()
}

fn scrypt_checked(
    salt: Vec<u8>,
    digest: Vec<u8>,
    n: i64,
    r: i64,
    p: i64,
    key_length: Option<i64>,
) -> Result<StoredHash, InputError> {
    if !(2..=SCRYPT_MAX_N).contains(&n) || n & (n - 1) != 0 {
        return Err(refuse(
            "invalid_scrypt_n_parameter",
            "The scrypt N parameter must be a power of two greater than 1 and at most 262144.",
        ));
    }
    if !(1..=32).contains(&r) || !(1..=16).contains(&p) || 128 * n * r > SCRYPT_MAX_MEMORY {
        return Err(refuse(
            "invalid_scrypt_parameters",
            "scrypt needs r between 1 and 32, p between 1 and 16, and 128·N·r at most 256 MiB.",
        ));
    }
    if salt.is_empty() || salt.len() > MAX_SALT_LEN {
        return Err(refuse(
            "invalid_scrypt_salt_length",
            "The scrypt salt must be 1 to 1024 bytes.",
        ));
    }
    if let Some(key_length) = key_length {
        if usize::try_from(key_length).ok() != Some(digest.len()) {
            return Err(refuse(
                "scrypt_key_length_mismatch",
                "scrypt_config.key_length must equal the length of the decoded hash.",
            ));
        }
    }
    if !KEY_LENGTH.contains(&(digest.len() as i64)) {
        return Err(refuse(
            "invalid_base64_scrypt_hash",
            "The scrypt hash must be 4 to 256 bytes.",
        ));
    }
    let log_n = n.trailing_zeros() as u8;
    Ok(StoredHash::Scrypt {
        log_n,
        r: r as u32,
        p: p as u32,
        salt,
        hash: digest,
    })
}

fn parse_scrypt(hash: &str, config: Option<&ScryptConfig>) -> Result<StoredHash, InputError> {
    if let Some(rest) = hash.strip_prefix("$scrypt$") {
        return parse_scrypt_phc(rest);
    }
    let Some(config) = config else {
        return Err(refuse(
            "invalid_hash",
            "A scrypt hash must be a PHC string ($scrypt$ln=…,r=…,p=…$salt$hash), or base64 with \
             scrypt_config.",
        ));
    };
    let digest = decode_b64(hash).ok_or_else(|| {
        refuse(
            "invalid_base64_scrypt_hash",
            "The scrypt hash must be base64.",
        )
    })?;
    let salt = decode_b64(&config.salt).ok_or_else(|| {
        refuse(
            "invalid_base64_scrypt_salt",
            "scrypt_config.salt must be base64.",
        )
    })?;
    scrypt_checked(
        salt,
        digest,
        config.n_parameter,
        config.r_parameter,
        config.p_parameter,
        Some(config.key_length),
    )
}

/// `ln=16,r=8,p=1$salt$hash` (passlib and the PHC reference).
fn parse_scrypt_phc(rest: &str) -> Result<StoredHash, InputError> {
    let invalid = || {
        refuse(
            "invalid_hash",
            "Invalid scrypt PHC string: expected $scrypt$ln=…,r=…,p=…$salt$hash.",
        )
    };
    let [params, salt, digest] = rest.split('$').collect::<Vec<_>>()[..] else {
        return Err(invalid());
    };
    let (mut ln, mut r, mut p) = (None, None, None);
    for pair in params.split(',') {
        let (key, value) = pair.split_once('=').ok_or_else(invalid)?;
        let value: i64 = value.parse().map_err(|_| invalid())?;
        match key {
            "ln" => ln = Some(value),
            "r" => r = Some(value),
            "p" => p = Some(value),
            _ => return Err(invalid()),
        }
    }
    let (Some(ln), Some(r), Some(p)) = (ln, r, p) else {
        return Err(invalid());
    };
    if !(1..=18).contains(&ln) {
        return Err(refuse(
            "invalid_scrypt_n_parameter",
            "ln must be between 1 and 18.",
        ));
    }
    let salt = decode_b64(salt).ok_or_else(|| {
        refuse(
            "invalid_base64_scrypt_salt",
            "The scrypt salt must be base64.",
        )
    })?;
    let digest = decode_b64(digest).ok_or_else(|| {
        refuse(
            "invalid_base64_scrypt_hash",
            "The scrypt hash must be base64.",
        )
    })?;
    scrypt_checked(salt, digest, 1 << ln, r, p, None)
}

fn pbkdf2_prf(name: &str) -> Option<Pbkdf2Prf> {
    match name {
        "sha1" => Some(Pbkdf2Prf::Sha1),
        "sha256" => Some(Pbkdf2Prf::Sha256),
        "sha512" => Some(Pbkdf2Prf::Sha512),
        _ => None,
    }
}

fn pbkdf2_checked(
    prf: Pbkdf2Prf,
    iterations: i64,
    salt: Vec<u8>,
    digest: Vec<u8>,
) -> Result<StoredHash, InputError> {
    let iterations = in_range(
        iterations,
        &PBKDF2_ITERATIONS,
        "invalid_pbkdf_2_iteration_amount",
        "The PBKDF2 iteration amount",
    )?;
    if salt.is_empty() || salt.len() > MAX_SALT_LEN {
        return Err(refuse(
            "invalid_pbkdf_2_salt",
            "The PBKDF2 salt must be 1 to 1024 bytes.",
        ));
    }
    if !KEY_LENGTH.contains(&(digest.len() as i64)) {
        return Err(refuse(
            "invalid_pbkdf_2_hash",
            "The PBKDF2 hash must be 4 to 256 bytes.",
        ));
    }
    Ok(StoredHash::Pbkdf2 {
        prf,
        iterations,
        salt,
        hash: digest,
    })
}

fn parse_pbkdf2(hash: &str, config: Option<&Pbkdf2Config>) -> Result<StoredHash, InputError> {
    // Django: pbkdf2_sha256$<iterations>$<salt as text>$<base64 hash>
    for (prefix, prf) in [
        ("pbkdf2_sha256$", Pbkdf2Prf::Sha256),
        ("pbkdf2_sha1$", Pbkdf2Prf::Sha1),
    ] {
        if let Some(rest) = hash.strip_prefix(prefix) {
            let invalid = || {
                refuse("invalid_pbkdf_2_hash", "Invalid Django PBKDF2 string: expected <algorithm>$<iterations>$<salt>$<hash>.")
            };
            let [iterations, salt, digest] = rest.split('$').collect::<Vec<_>>()[..] else {
                return Err(invalid());
            };
            let iterations: i64 = iterations.parse().map_err(|_| invalid())?;
            let digest = STANDARD.decode(digest).map_err(|_| invalid())?;
            return pbkdf2_checked(prf, iterations, salt.as_bytes().to_vec(), digest);
        }
    }
    // passlib: $pbkdf2-sha256$<iterations>$<ab64 salt>$<ab64 hash>; $pbkdf2$ is SHA-1.
    for (prefix, prf) in [
        ("$pbkdf2-sha256$", Pbkdf2Prf::Sha256),
        ("$pbkdf2-sha512$", Pbkdf2Prf::Sha512),
        ("$pbkdf2$", Pbkdf2Prf::Sha1),
    ] {
        if let Some(rest) = hash.strip_prefix(prefix) {
            let invalid = || {
                refuse("invalid_pbkdf_2_hash", "Invalid passlib PBKDF2 string: expected $pbkdf2-<digest>$<iterations>$<salt>$<hash>.")
            };
            let [iterations, salt, digest] = rest.split('$').collect::<Vec<_>>()[..] else {
                return Err(invalid());
            };
            let iterations: i64 = iterations.parse().map_err(|_| invalid())?;
            let salt = decode_b64(salt).ok_or_else(invalid)?;
            let digest = decode_b64(digest).ok_or_else(invalid)?;
            return pbkdf2_checked(prf, iterations, salt, digest);
        }
    }
    let Some(config) = config else {
        return Err(refuse(
            "invalid_hash",
            "A PBKDF2 hash needs pbkdf_2_config.",
        ));
    };
    let algorithm = config
        .algorithm
        .as_deref()
        .filter(|name| !name.is_empty())
        .unwrap_or("sha256");
    let prf = pbkdf2_prf(algorithm).ok_or_else(|| {
        refuse(
            "invalid_pbkdf_2_algorithm",
            "pbkdf_2_config.algorithm must be sha256 or sha512 (or sha1).",
        )
    })?;
    let digest = decode_b64(hash)
        .ok_or_else(|| refuse("invalid_pbkdf_2_hash", "The PBKDF2 hash must be base64."))?;
    let salt = decode_b64(&config.salt).ok_or_else(|| {
        refuse(
            "invalid_pbkdf_2_salt",
            "pbkdf_2_config.salt must be base64.",
        )
    })?;
    if usize::try_from(config.key_length).ok() != Some(digest.len()) {
        return Err(refuse(
            "pbkdf_2_key_length_mismatch",
            "pbkdf_2_config.key_length must equal the length of the decoded hash.",
        ));
    }
    pbkdf2_checked(prf, config.iteration_amount, salt, digest)
}

fn parse_phpass(hash: &str) -> Result<StoredHash, InputError> {
    match phpass::check(hash) {
        Ok(()) => Ok(StoredHash::Phpass {
            hash: hash.to_owned(),
        }),
        Err(PhpassProblem::Prefix) => Err(refuse(
            "invalid_phpass_hash_prefix",
            "A phpass hash starts with $P$ or $H$.",
        )),
        Err(PhpassProblem::Format(why)) => {
            Err(refuse("invalid_phpass_hash_format", format!("{why}.")))
        }
    }
}

fn parse_firebase(
    hash: &str,
    config: Option<&FirebaseScryptConfig>,
) -> Result<StoredHash, InputError> {
    let Some(config) = config else {
        return Err(refuse(
            "invalid_hash",
            "A firebase_scrypt hash needs firebase_scrypt_config.",
        ));
    };
    let field = |text: &str, name: &str| {
        STANDARD.decode(text).map_err(|_| {
            refuse(
                "invalid_hash",
                format!("firebase_scrypt_config.{name} must be base64."),
            )
        })
    };
    let signer_key = field(&config.signer_key, "signer_key")?;
    let salt_separator = field(&config.salt_separator, "salt_separator")?;
    let salt = field(&config.salt, "salt")?;
    let digest = STANDARD
        .decode(hash)
        .map_err(|_| refuse("invalid_hash", "A firebase_scrypt hash must be base64."))?;
    if signer_key.is_empty() || digest.len() != signer_key.len() || salt.is_empty() {
        return Err(refuse(
            "invalid_hash",
            "The firebase_scrypt hash must be as long as the signer key, and the salt non-empty.",
        ));
    }
    if !(1..=32).contains(&config.rounds) || !(1..=17).contains(&config.mem_cost) {
        return Err(refuse(
            "invalid_scrypt_parameters",
            "firebase_scrypt_config needs rounds between 1 and 32 and mem_cost between 1 and 17.",
        ));
    }
    if (128_i64 << config.mem_cost) * config.rounds > SCRYPT_MAX_MEMORY {
        return Err(refuse(
            "invalid_scrypt_parameters",
            "firebase_scrypt_config needs at most 256 MiB (128 · 2^mem_cost · rounds).",
        ));
    }
    Ok(StoredHash::FirebaseScrypt {
        signer_key,
        salt_separator,
        salt,
        rounds: config.rounds as u32,
        mem_cost: config.mem_cost as u8,
        hash: digest,
    })
}
