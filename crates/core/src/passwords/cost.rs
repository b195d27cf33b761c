//! What one password verification may cost, and the bounds on every migrated format drawn
//! from it. `migrate::parse` refuses a hash over a bound; [`StoredHash::verify`] checks the
//! stored parameters again before computing anything, so a hash stored before a bound was
//! lowered is refused rather than verified at full cost.
//!
//! The budget: one verification costs at most about as much CPU as [`BUDGET_MULTIPLE`] of the
//! server's own argon2id verifications at its default cost (19 MiB, 2 passes, 1 lane), and at
//! most 100 MiB of memory (argon2; scrypt at most 64 MiB). Each bound below is the round value of its parameter whose verify,
//! measured with the longest password a login accepts (`bench/src/bin/hash-costs.rs`), stays
//! inside that budget; the measurements are in docs/security.md. The bounds are the same on
//! every machine, so a hash accepted by one server is accepted by every other.
//!
//! Costs that depend on the password's length (sha-crypt and phpass hash the password once per
//! round) are bounded for the longest password a login accepts (`strength::MAX_PASSWORD_BYTES`),
//! since the caller chooses it.

use std::ops::RangeInclusive;

use super::{Argon2Settings, Pbkdf2Prf, StoredHash};
use crate::InputError;

/// How many default argon2id verifications one verification may cost: about what bcrypt at
/// cost 12 costs (about 0.3 s of one core), the costliest default among the systems teams
/// migrate from (Rails, Laravel, Python's bcrypt), which a lower budget would refuse.
pub const BUDGET_MULTIPLE: u32 = 15;

/// bcrypt's cost (log2 of its rounds). Below 4 no implementation produces hashes.
pub const BCRYPT_COST: RangeInclusive<u32> = 4..=12;

/// Argon2's memory, in KiB: 100 MiB, Django's default. Above 64 MiB a hash's memory is
/// allocated afresh each time, so cost grows faster than memory × passes.
pub const ARGON2_MAX_MEMORY_KIB: u32 = 102_400;
/// Argon2's work: memory (KiB) × passes, 256 MiB-passes (PHP's default, 64 MiB × 4). Lanes do
/// not change it: Latchkey computes them one after another.
pub const ARGON2_MAX_WORK_KIB: u64 = 262_144;
pub const ARGON2_ITERATIONS: RangeInclusive<u32> = 1..=32;
pub const ARGON2_THREADS: RangeInclusive<u32> = 1..=16;

/// scrypt's work, N · r · p (each of p lanes runs N·r block mixes twice); its memory,
/// 128 · N · r bytes, is then at most 64 MiB.
pub const SCRYPT_MAX_WORK: u64 = 1 << 19;
/// The largest N any r allows: N · r is bounded by the work and r = 1 caps N below 2^16.
pub const SCRYPT_MAX_N: u64 = SCRYPT_MAX_WORK / 2;
/// The derived key lengths the scrypt implementation takes, in bytes.
pub const SCRYPT_KEY_LENGTH: RangeInclusive<usize> = 10..=64;

/// PBKDF2's iterations for a key of one output block of its HMAC (20 bytes for SHA-1, 32 for
/// SHA-256, 64 for SHA-512); a longer key runs every iteration once per block, so its bound is
/// this divided by its number of blocks.
pub const PBKDF2_MAX_ITERATIONS_SHA1: u32 = 2_000_000;
pub const PBKDF2_MAX_ITERATIONS_SHA256: u32 = 1_800_000;
pub const PBKDF2_MAX_ITERATIONS_SHA512: u32 = 300_000;

/// sha256-crypt and sha512-crypt rounds (`rounds=`; 5000 when absent). 1000 is the format's
/// own minimum. Each round hashes the password again, so with the longest password a round of
/// sha512-crypt costs about three times one of sha256-crypt.
pub const SHA256_CRYPT_ROUNDS: RangeInclusive<u64> = 1000..=700_000;
pub const SHA512_CRYPT_ROUNDS: RangeInclusive<u64> = 1000..=150_000;

/// phpass's iteration count, log2 (WordPress writes 13, phpBB 11, Drupal 7 15).
pub const PHPASS_COUNT_LOG2: RangeInclusive<u32> = 7..=18;

/// A hash whose verification would cost more than the budget: which parameter, and its bound.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OverBudget {
    /// Stytch's `error_type` for the parameter at migrate time.
    pub error_type: &'static str,
    pub message: String,
}

impl From<OverBudget> for InputError {
    fn from(over: OverBudget) -> InputError {
        InputError::Named {
            error_type: over.error_type,
            message: over.message,
        }
    }
}

fn over(error_type: &'static str, message: String) -> Result<(), OverBudget> {
    Err(OverBudget {
        error_type,
        message,
    })
}

const BUDGET: &str = "the most one login may cost";

pub fn bcrypt(cost: u32) -> Result<(), OverBudget> {
    if BCRYPT_COST.contains(&cost) {
        return Ok(());
    }
    over(
        "invalid_bcrypt_cost",
        format!(
            "bcrypt cost must be between {} and {} ({BUDGET}); this hash has cost {cost}.",
            BCRYPT_COST.start(),
            BCRYPT_COST.end()
        ),
    )
}

/// The argon2 bounds, widened to `own` (the cost of the hashes this server writes) when given:
/// a verification may always cost what the server's own hashes cost.
pub fn argon2(
    memory_kib: u32,
    iterations: u32,
    threads: u32,
    own: Option<&Argon2Settings>,
) -> Result<(), OverBudget> {
    let own_memory = own.map_or(0, |own| own.memory_kib);
    let own_work = own.map_or(0, |own| {
        u64::from(own.memory_kib) * u64::from(own.iterations)
    });
    let max_memory = ARGON2_MAX_MEMORY_KIB.max(own_memory);
    let max_work = ARGON2_MAX_WORK_KIB.max(own_work);
    if !ARGON2_THREADS.contains(&threads) {
        return over(
            "invalid_argon_2_threads",
            format!(
                "argon2 threads (p) must be between {} and {}.",
                ARGON2_THREADS.start(),
                ARGON2_THREADS.end()
            ),
        );
    }
    if memory_kib < 8 * threads || memory_kib > max_memory {
        return over(
            "invalid_argon_2_memory",
            format!(
                "argon2 memory (m) must be between 8 × threads and {max_memory} KiB ({BUDGET}); \
                 this hash has {memory_kib} KiB."
            ),
        );
    }
    let passes_allowed =
        (max_work / u64::from(memory_kib)).min(u64::from(*ARGON2_ITERATIONS.end()));
    if !ARGON2_ITERATIONS.contains(&iterations) || u64::from(iterations) > passes_allowed {
        return over(
            "invalid_argon_2_iteration_amount",
            format!(
                "argon2 iterations (t) must be between 1 and {passes_allowed} with {memory_kib} KiB \
                 of memory: memory × iterations may be at most {max_work} KiB ({BUDGET}); this \
                 hash has {iterations}."
            ),
        );
    }
    Ok(())
}

/// scrypt with N = 2^`log_n`: the memory and work bounds, and what the implementation takes
/// (N < 2^(16·r), keys of 10 to 64 bytes).
pub fn scrypt(log_n: u8, r: u32, p: u32, key_length: usize) -> Result<(), OverBudget> {
    let n = 1u64.checked_shl(u32::from(log_n)).unwrap_or(u64::MAX);
    if n > SCRYPT_MAX_N {
        return over(
            "invalid_scrypt_n_parameter",
            format!(
                "The scrypt N parameter must be at most {SCRYPT_MAX_N} ({BUDGET}); this hash has \
                 N = {n}."
            ),
        );
    }
    let work = n.saturating_mul(u64::from(r)).saturating_mul(u64::from(p));
    if r == 0 || p == 0 || work > SCRYPT_MAX_WORK {
        return over(
            "invalid_scrypt_parameters",
            format!(
                "scrypt needs r and p of at least 1 and N · r · p at most {SCRYPT_MAX_WORK} \
                 ({BUDGET}); this hash has N = {n}, r = {r}, p = {p}."
            ),
        );
    }
    if u32::from(log_n) >= 16 * r {
        return over(
            "invalid_scrypt_parameters",
            format!("scrypt needs N below 2^(16 · r); this hash has N = {n}, r = {r}."),
        );
    }
    if !SCRYPT_KEY_LENGTH.contains(&key_length) {
        return over(
            "invalid_scrypt_key_length",
            format!(
                "The scrypt key (the decoded hash) must be {} to {} bytes; this one has {key_length}.",
                SCRYPT_KEY_LENGTH.start(),
                SCRYPT_KEY_LENGTH.end()
            ),
        );
    }
    Ok(())
}

/// The HMAC's output length and its single-block iteration bound.
fn pbkdf2_prf(prf: Pbkdf2Prf) -> (&'static str, usize, u32) {
    match prf {
        Pbkdf2Prf::Sha1 => ("sha1", 20, PBKDF2_MAX_ITERATIONS_SHA1),
        Pbkdf2Prf::Sha256 => ("sha256", 32, PBKDF2_MAX_ITERATIONS_SHA256),
        Pbkdf2Prf::Sha512 => ("sha512", 64, PBKDF2_MAX_ITERATIONS_SHA512),
    }
}

/// The most PBKDF2 iterations a key of `key_length` bytes may take under `prf`.
pub fn pbkdf2_max_iterations(prf: Pbkdf2Prf, key_length: usize) -> u32 {
    let (_, block, max) = pbkdf2_prf(prf);
    let blocks = key_length.div_ceil(block).max(1);
    max / u32::try_from(blocks).unwrap_or(u32::MAX)
}

pub fn pbkdf2(prf: Pbkdf2Prf, iterations: i64, key_length: usize) -> Result<(), OverBudget> {
    let max = pbkdf2_max_iterations(prf, key_length);
    if (1..=i64::from(max)).contains(&iterations) {
        return Ok(());
    }
    let (name, _, _) = pbkdf2_prf(prf);
    over(
        "invalid_pbkdf_2_iteration_amount",
        format!(
            "The PBKDF2 iteration amount must be between 1 and {max} for {name} with a \
             {key_length}-byte key ({BUDGET}); this hash has {iterations}."
        ),
    )
}

/// `sha512` tells sha512-crypt (`$6$`) from sha256-crypt (`$5$`).
pub fn sha_crypt(sha512: bool, rounds: u64) -> Result<(), OverBudget> {
    let (name, bound) = if sha512 {
        ("sha512-crypt", SHA512_CRYPT_ROUNDS)
    } else {
        ("sha256-crypt", SHA256_CRYPT_ROUNDS)
    };
    if bound.contains(&rounds) {
        return Ok(());
    }
    over(
        "invalid_hash",
        format!(
            "{name} rounds must be between {} and {} ({BUDGET}); this hash has {rounds}.",
            bound.start(),
            bound.end()
        ),
    )
}

pub fn phpass(count_log2: u32) -> Result<(), OverBudget> {
    if PHPASS_COUNT_LOG2.contains(&count_log2) {
        return Ok(());
    }
    over(
        "invalid_phpass_hash_format",
        format!(
            "The phpass iteration count must be between 2^{} and 2^{} ({BUDGET}); this hash has \
             2^{count_log2}.",
            PHPASS_COUNT_LOG2.start(),
            PHPASS_COUNT_LOG2.end()
        ),
    )
}

/// Whether a sha256-crypt or sha512-crypt string is sha512-crypt, and its rounds
/// (`$5$rounds=N$…`; 5000 when absent); `None` for other strings. An unreadable count reads as
/// too many.
pub(super) fn sha_crypt_rounds(mcf: &str) -> Option<(bool, u64)> {
    let (sha512, rest) = match mcf.get(..3) {
        Some("$5$") => (false, &mcf[3..]),
        Some("$6$") => (true, &mcf[3..]),
        _ => return None,
    };
    let rounds = match rest.strip_prefix("rounds=") {
        Some(rounds) => rounds
            .split('$')
            .next()
            .and_then(|rounds| rounds.parse().ok())
            .unwrap_or(u64::MAX),
        None => 5000,
    };
    Some((sha512, rounds))
}

impl StoredHash {
    /// Whether verifying this hash stays inside the budget, argon2 widened to `own` (the
    /// server's own cost). Cheap: it reads parameters and computes nothing.
    pub fn check_cost(&self, own: &Argon2Settings) -> Result<(), OverBudget> {
        match self {
            StoredHash::Argon2Phc { phc } => {
                // A string that does not parse cannot verify either; verify says no.
                let Ok(parsed) = argon2::PasswordHash::new(phc) else {
                    return Ok(());
                };
                let Ok(params) = argon2::Params::try_from(&parsed) else {
                    return Ok(());
                };
                argon2(params.m_cost(), params.t_cost(), params.p_cost(), Some(own))
            }
            StoredHash::Argon2Raw {
                memory_kib,
                iterations,
                parallelism,
                ..
            } => argon2(*memory_kib, *iterations, *parallelism, Some(own)),
            StoredHash::Bcrypt { mcf, .. } => match mcf.get(4..6).map(str::parse::<u32>) {
                Some(Ok(cost)) => bcrypt(cost),
                _ => Ok(()),
            },
            StoredHash::SaltedDigest { .. } => Ok(()),
            StoredHash::Scrypt {
                log_n, r, p, hash, ..
            } => scrypt(*log_n, *r, *p, hash.len()),
            StoredHash::Pbkdf2 {
                prf,
                iterations,
                hash,
                ..
            } => pbkdf2(*prf, i64::from(*iterations), hash.len()),
            StoredHash::Phpass { hash } => match hash.as_bytes().get(3) {
                Some(&byte) => phpass(super::phpass::count_log2(byte).unwrap_or(u32::MAX)),
                None => Ok(()),
            },
            StoredHash::UnixCrypt { mcf } => match sha_crypt_rounds(mcf) {
                Some((sha512, rounds)) => sha_crypt(sha512, rounds),
                None => Ok(()), // md5-crypt: 1000 rounds, always
            },
            StoredHash::FirebaseScrypt {
                rounds, mem_cost, ..
            } => scrypt(*mem_cost, *rounds, 1, 64),
        }
    }
}
