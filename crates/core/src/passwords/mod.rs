//! Password hashes: the ones Latchkey writes (argon2id, PHC strings), the legacy ones teams bring
//! with them through `passwords/migrate`, verification of both, and password strength.
//!
//! Invariants:
//! - A [`StoredHash`] is only built from input that [`migrate::parse`] accepted, or by
//!   [`hash_password`]; so every stored hash has sane parameters and verifying it cannot fail
//!   to parse.
//! - Verifying never costs more than the budget of [`cost`]: [`StoredHash::verify`] checks the
//!   stored parameters first (a hash stored before a bound was lowered is refused, not computed).
//! - Every comparison of derived bytes is constant-time.
//! - `StoredHash` has no `Display`, and its `Debug` is redacted: hashes never reach logs.

pub mod cost;
pub mod migrate;
mod phpass;
pub mod strength;

use std::fmt;

use aes::cipher::{KeyIvInit, StreamCipher};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::digest::Digest as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Cost parameters for the hashes Latchkey writes. The defaults are OWASP's first argon2id
/// recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Argon2Settings {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Settings {
    /// Settings an operator chose, refused when argon2 would refuse them or when they are too
    /// weak to protect anything (less than 8 MiB, or a single pass with less than 64 MiB) or so
    /// costly that logins would take seconds (more than 1 GiB or 10 passes).
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, HashError> {
        let settings = Argon2Settings {
            memory_kib,
            iterations,
            parallelism,
        };
        if !(8 * 1024..=1024 * 1024).contains(&memory_kib) {
            return Err(HashError(
                "argon2 memory must be between 8192 and 1048576 KiB".to_owned(),
            ));
        }
        if !(1..=10).contains(&iterations) || (iterations == 1 && memory_kib < 64 * 1024) {
            return Err(HashError(
                "argon2 iterations must be between 1 and 10, and at least 2 below 64 MiB"
                    .to_owned(),
            ));
        }
        if !(1..=16).contains(&parallelism) {
            return Err(HashError(
                "argon2 parallelism must be between 1 and 16".to_owned(),
            ));
        }
        settings
            .argon2()
            .map_err(|error| HashError(error.to_string()))?;
        Ok(settings)
    }

    fn argon2(&self) -> Result<Argon2<'static>, argon2::Error> {
        Ok(Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(self.memory_kib, self.iterations, self.parallelism, None)?,
        ))
    }
}

/// Digest algorithms of the salted-digest legacy hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestAlgorithm {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl DigestAlgorithm {
    pub fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Md5 => 16,
            DigestAlgorithm::Sha1 => 20,
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: hmac::digest::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut hasher = D::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().to_vec()
        }
        match self {
            DigestAlgorithm::Md5 => run::<md5::Md5>(parts),
            DigestAlgorithm::Sha1 => run::<sha1::Sha1>(parts),
            DigestAlgorithm::Sha256 => run::<sha2::Sha256>(parts),
            DigestAlgorithm::Sha512 => run::<sha2::Sha512>(parts),
        }
    }
}

/// The HMAC behind a PBKDF2 hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pbkdf2Prf {
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Argon2Variant {
    Argon2i,
    Argon2id,
}

impl Argon2Variant {
    fn algorithm(self) -> Algorithm {
        match self {
            Argon2Variant::Argon2i => Algorithm::Argon2i,
            Argon2Variant::Argon2id => Algorithm::Argon2id,
        }
    }
}

/// How a bcrypt hash was fed its password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BcryptInput {
    /// The password itself (bcrypt truncates it at 72 bytes).
    Plain,
    /// Django's `bcrypt_sha256`: the lowercase hex SHA-256 of the password.
    DjangoSha256,
}

/// A password hash as the `passwords` table stores it (as JSON). Byte strings are base64.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoredHash {
    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`): what Latchkey writes, and
    /// migrated argon2 hashes given in encoded form.
    Argon2Phc { phc: String },
    /// Argon2 given as raw bytes plus its parameters (Stytch's "hex form" with `argon_2_config`).
    Argon2Raw {
        variant: Argon2Variant,
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        #[serde(with = "b64")]
        salt: Vec<u8>,
        #[serde(with = "b64")]
        hash: Vec<u8>,
    },
    /// A modular-crypt bcrypt string (`$2a$`, `$2b$`, `$2y$`).
    Bcrypt { mcf: String, input: BcryptInput },
    /// `digest(prepend_salt ‖ password ‖ append_salt)`.
    SaltedDigest {
        algorithm: DigestAlgorithm,
        prepend_salt: String,
        append_salt: String,
        #[serde(with = "b64")]
        hash: Vec<u8>,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        #[serde(with = "b64")]
        salt: Vec<u8>,
        #[serde(with = "b64")]
        hash: Vec<u8>,
    },
    Pbkdf2 {
        prf: Pbkdf2Prf,
        iterations: u32,
        #[serde(with = "b64")]
        salt: Vec<u8>,
        #[serde(with = "b64")]
        hash: Vec<u8>,
    },
    /// phpass portable hashes (`$P$`, `$H$`): WordPress, phpBB, Drupal 7 imports.
    Phpass { hash: String },
    /// Unix crypt strings: md5-crypt `$1$`, sha256-crypt `$5$`, sha512-crypt `$6$`.
    UnixCrypt { mcf: String },
    /// Firebase Auth's modified scrypt: AES-256-CTR of the project's signer key under an
    /// scrypt-derived key.
    FirebaseScrypt {
        #[serde(with = "b64")]
        signer_key: Vec<u8>,
        #[serde(with = "b64")]
        salt_separator: Vec<u8>,
        #[serde(with = "b64")]
        salt: Vec<u8>,
        rounds: u32,
        mem_cost: u8,
        #[serde(with = "b64")]
        hash: Vec<u8>,
    },
}

impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoredHash({}, redacted)", self.kind())
    }
}

thread_local! {
    /// Argon2's working memory (19 MiB at the default cost), kept per thread and reused: a
    /// fresh allocation per hash costs page faults and, with glibc, leaves resident memory
    /// growing by a hash's worth per thread that ever hashed.
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The most argon2 working memory (1 KiB blocks) a thread keeps between hashes.
const RETAINED_ARGON2_BLOCKS: usize = 64 * 1024;

/// Runs argon2 into `out` with this thread's reusable working memory.
fn argon2_into(argon2: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    ARGON2_MEMORY.with(|memory| {
        let Ok(mut memory) = memory.try_borrow_mut() else {
            return false;
        };
        let needed = argon2.params().block_count();
        if memory.len() < needed {
            memory.resize(needed, argon2::Block::default());
        }
        let result =
            argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..needed]);
        // Bound what a thread keeps (a migrated hash may name up to 256 MiB): working memory up
        // to 64 MiB, which covers the default and the common stronger settings, stays for the
        // next hash; more is given back.
        if memory.len() > RETAINED_ARGON2_BLOCKS {
            *memory = Vec::new();
        }
        result.is_ok()
    })
}

/// Gives back this thread's argon2 working memory. The hashing pool calls it on a thread that
/// has been idle a while, so a server between bursts of logins does not sit on 19 MiB per thread.
pub fn release_hash_memory() {
    ARGON2_MEMORY.with(|memory| {
        if let Ok(mut memory) = memory.try_borrow_mut() {
            *memory = Vec::new();
        }
    });
}

/// Checks `password` against an argon2 PHC string (any variant, version and cost it names).
fn verify_argon2_phc(phc: &str, password: &[u8]) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let mut salt_bytes = [0u8; argon2::password_hash::Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let Ok(params) = Params::new(
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        Some(expected.len()),
    ) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon2, password, salt, &mut out) && ct_eq(&out, expected.as_bytes())
}

/// Why a new hash could not be made.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a password the way Latchkey stores new passwords: argon2id with a fresh 16-byte salt.
pub fn hash_password(password: &str, settings: &Argon2Settings) -> Result<StoredHash, HashError> {
    let argon2 = settings
        .argon2()
        .map_err(|error| HashError(error.to_string()))?;
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; argon2::password_hash::Salt::MAX_LENGTH];
    let raw_salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|error| HashError(error.to_string()))?;
    let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
    if !argon2_into(&argon2, password.as_bytes(), raw_salt, &mut out) {
        return Err(HashError("argon2 could not hash".to_owned()));
    }
    let output =
        argon2::password_hash::Output::new(&out).map_err(|error| HashError(error.to_string()))?;
    let params = argon2.params();
    let phc = format!(
        "${}$v={}$m={},t={},p={}${}${}",
        Algorithm::Argon2id.ident(),
        Version::V0x13 as u32,
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        output
    );
    // The string must read back as exactly what was computed.
    PasswordHash::new(&phc).map_err(|error| HashError(error.to_string()))?;
    Ok(StoredHash::Argon2Phc { phc })
}

fn ct_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && bool::from(left.ct_eq(right))
}

impl StoredHash {
    /// A short name of the scheme, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            StoredHash::Argon2Phc { .. } => "argon2_phc",
            StoredHash::Argon2Raw { .. } => "argon2_raw",
            StoredHash::Bcrypt { .. } => "bcrypt",
            StoredHash::SaltedDigest { .. } => "salted_digest",
            StoredHash::Scrypt { .. } => "scrypt",
            StoredHash::Pbkdf2 { .. } => "pbkdf2",
            StoredHash::Phpass { .. } => "phpass",
            StoredHash::UnixCrypt { .. } => "unix_crypt",
            StoredHash::FirebaseScrypt { .. } => "firebase_scrypt",
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Option<StoredHash> {
        serde_json::from_str(text).ok()
    }

    /// Whether `password` is the one this hash was made from, once [`StoredHash::check_cost`]
    /// has found the hash affordable (argon2 widened to `own`, the cost of the hashes this
    /// server writes): a hash over the budget is refused without computing anything. Slow by
    /// design; call it off the async runtime.
    pub fn verify(&self, password: &str, own: &Argon2Settings) -> Result<bool, cost::OverBudget> {
        self.check_cost(own)?;
        Ok(self.verify_unchecked(password.as_bytes()))
    }

    fn verify_unchecked(&self, password: &[u8]) -> bool {
        match self {
            StoredHash::Argon2Phc { phc } => verify_argon2_phc(phc, password),
            StoredHash::Argon2Raw {
                variant,
                memory_kib,
                iterations,
                parallelism,
                salt,
                hash,
            } => {
                let Ok(params) =
                    Params::new(*memory_kib, *iterations, *parallelism, Some(hash.len()))
                else {
                    return false;
                };
                let argon2 = Argon2::new(variant.algorithm(), Version::V0x13, params);
                let mut out = vec![0u8; hash.len()];
                argon2_into(&argon2, password, salt, &mut out) && ct_eq(&out, hash)
            }
            StoredHash::Bcrypt { mcf, input } => match input {
                BcryptInput::Plain => bcrypt::verify(password, mcf).unwrap_or(false),
                BcryptInput::DjangoSha256 => {
                    let prehash = hex::encode(sha2::Sha256::digest(password));
                    bcrypt::verify(prehash.as_bytes(), mcf).unwrap_or(false)
                }
            },
            StoredHash::SaltedDigest {
                algorithm,
                prepend_salt,
                append_salt,
                hash,
            } => {
                let out =
                    algorithm.digest(&[prepend_salt.as_bytes(), password, append_salt.as_bytes()]);
                ct_eq(&out, hash)
            }
            StoredHash::Scrypt {
                log_n,
                r,
                p,
                salt,
                hash,
            } => {
                let Ok(params) = scrypt::Params::new(*log_n, *r, *p, hash.len()) else {
                    return false;
                };
                let mut out = vec![0u8; hash.len()];
                scrypt::scrypt(password, salt, &params, &mut out).is_ok() && ct_eq(&out, hash)
            }
            StoredHash::Pbkdf2 {
                prf,
                iterations,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                match prf {
                    Pbkdf2Prf::Sha1 => {
                        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, *iterations, &mut out)
                    }
                    Pbkdf2Prf::Sha256 => {
                        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, *iterations, &mut out)
                    }
                    Pbkdf2Prf::Sha512 => {
                        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, *iterations, &mut out)
                    }
                }
                ct_eq(&out, hash)
            }
            StoredHash::Phpass { hash } => match phpass::crypt(password, hash) {
                Some(out) => ct_eq(out.as_bytes(), hash.as_bytes()),
                None => false,
            },
            StoredHash::UnixCrypt { mcf } => {
                if mcf.starts_with("$1$") {
                    pwhash::md5_crypt::verify(password, mcf)
                } else if mcf.starts_with("$5$") {
                    pwhash::sha256_crypt::verify(password, mcf)
                } else if mcf.starts_with("$6$") {
                    pwhash::sha512_crypt::verify(password, mcf)
                } else {
                    false
                }
            }
            StoredHash::FirebaseScrypt {
                signer_key,
                salt_separator,
                salt,
                rounds,
                mem_cost,
                hash,
            } => firebase_scrypt(
                password,
                signer_key,
                salt_separator,
                salt,
                *rounds,
                *mem_cost,
            )
            .is_some_and(|out| ct_eq(&out, hash)),
        }
    }

    /// Whether a successful login should replace this hash with a fresh argon2id one: true for
    /// every legacy scheme, and for argon2 hashes whose parameters differ from `settings`.
    pub fn needs_upgrade(&self, settings: &Argon2Settings) -> bool {
        let StoredHash::Argon2Phc { phc } = self else {
            return true;
        };
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(params) => {
                params.m_cost() != settings.memory_kib
                    || params.t_cost() != settings.iterations
                    || params.p_cost() != settings.parallelism
            }
            Err(_) => true,
        }
    }
}

/// Firebase's scrypt variant: derive 64 bytes with scrypt(password, salt ‖ separator, N=2^mem_cost,
/// r=rounds, p=1), then encrypt the signer key with AES-256-CTR under the first 32 (zero IV).
fn firebase_scrypt(
    password: &[u8],
    signer_key: &[u8],
    salt_separator: &[u8],
    salt: &[u8],
    rounds: u32,
    mem_cost: u8,
) -> Option<Vec<u8>> {
    let params = scrypt::Params::new(mem_cost, rounds, 1, 64).ok()?;
    let mut full_salt = salt.to_vec();
    full_salt.extend_from_slice(salt_separator);
    let mut derived = [0u8; 64];
    scrypt::scrypt(password, &full_salt, &params, &mut derived).ok()?;
    let mut cipher =
        ctr::Ctr128BE::<aes::Aes256>::new_from_slices(&derived[..32], &[0u8; 16]).ok()?;
    let mut out = signer_key.to_vec();
    cipher.apply_keystream(&mut out);
    Some(out)
}

/// Serde for byte strings as standard base64.
mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
