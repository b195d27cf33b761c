//! What one password verification costs, per stored format: the server's own argon2id at its
//! default cost (the unit of the budget in `latchkey_core::passwords::cost`), every format at its
//! bound, and the defaults of the systems teams migrate from. The numbers in docs/security.md
//! come from here:
//!
//! ```text
//! cargo run --release -p latchkey-bench --bin hash-costs
//! ```
//!
//! Each row verifies a wrong password (as costly as a right one) of the longest length a login
//! accepts, on one thread, and reports the median of several runs. Rows over a bound show how the
//! server refuses them: at once, computing nothing. Not a test: it asserts no timing.

use std::time::{Duration, Instant};

use clap::Parser;
use latchkey_core::passwords::cost::{self, BUDGET_MULTIPLE};
use latchkey_core::passwords::strength::MAX_PASSWORD_BYTES;
use latchkey_core::passwords::{Argon2Settings, Argon2Variant, BcryptInput, Pbkdf2Prf, StoredHash};

#[derive(Debug, Parser)]
struct Args {
    /// Seconds to spend on each row, at most (at least three runs each).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

fn argon2(memory_kib: u32, iterations: u32, parallelism: u32) -> StoredHash {
    StoredHash::Argon2Raw {
        variant: Argon2Variant::Argon2id,
        memory_kib,
        iterations,
        parallelism,
        salt: vec![7; 16],
        hash: vec![0; 32],
    }
}

fn bcrypt(cost: u32) -> StoredHash {
    StoredHash::Bcrypt {
        mcf: format!("$2b${cost:02}${}", ".".repeat(53)),
        input: BcryptInput::Plain,
    }
}

fn pbkdf2(prf: Pbkdf2Prf, iterations: u32, key_length: usize) -> StoredHash {
    StoredHash::Pbkdf2 {
        prf,
        iterations,
        salt: vec![7; 16],
        hash: vec![0; key_length],
    }
}

fn scrypt(log_n: u8, r: u32, p: u32) -> StoredHash {
    StoredHash::Scrypt {
        log_n,
        r,
        p,
        salt: vec![7; 16],
        hash: vec![0; 32],
    }
}

fn firebase(mem_cost: u8, rounds: u32) -> StoredHash {
    StoredHash::FirebaseScrypt {
        signer_key: vec![1; 64],
        salt_separator: vec![2],
        salt: vec![3; 12],
        rounds,
        mem_cost,
        hash: vec![0; 64],
    }
}

fn sha_crypt(prefix: &str, rounds: u64) -> StoredHash {
    let digest = if prefix == "$5$" { 43 } else { 86 };
    StoredHash::UnixCrypt {
        mcf: format!(
            "{prefix}rounds={rounds}$saltsaltsaltsalt${}",
            ".".repeat(digest)
        ),
    }
}

fn phpass(count_log2: u32) -> StoredHash {
    const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let count = char::from(ITOA64[count_log2 as usize]);
    StoredHash::Phpass {
        hash: format!("$P${count}saltsalt{}", ".".repeat(22)),
    }
}

/// The median time of one verification, or `None` when the server refuses the hash.
fn median(hash: &StoredHash, password: &str, budget: Duration) -> Option<Duration> {
    let own = Argon2Settings::default();
    hash.check_cost(&own).ok()?;
    let mut times = Vec::new();
    let started = Instant::now();
    // One run first, untimed: it allocates the thread's argon2 memory.
    let _ = hash.verify(password, &own);
    while times.len() < 3 || (started.elapsed() < budget && times.len() < 25) {
        let start = Instant::now();
        let _ = std::hint::black_box(hash.verify(password, &own));
        times.push(start.elapsed());
    }
    times.sort();
    Some(times[times.len() / 2])
}

fn main() {
    let args = Args::parse();
    let budget = Duration::from_secs_f64(args.seconds);
    let password = "p".repeat(MAX_PASSWORD_BYTES);
    let default = Argon2Settings::default();
    let unit = median(
        &argon2(default.memory_kib, default.iterations, default.parallelism),
        &password,
        budget,
    )
    .unwrap_or_default();
    let sha256_max = cost::PBKDF2_MAX_ITERATIONS_SHA256;
    let max_memory = cost::ARGON2_MAX_MEMORY_KIB;
    let work = cost::ARGON2_MAX_WORK_KIB;
    let max_memory_passes = (work / u64::from(max_memory)) as u32;
    let rows: Vec<(String, StoredHash)> = vec![
        (
            "argon2id 19 MiB t=2 p=1 (Latchkey's default)".into(),
            argon2(19_456, 2, 1),
        ),
        (
            "argon2id 64 MiB t=3 p=4 (argon2-cffi, node-argon2)".into(),
            argon2(65_536, 3, 4),
        ),
        (
            "argon2id 100 MiB t=2 p=8 (Django)".into(),
            argon2(102_400, 2, 8),
        ),
        (
            "argon2id 64 MiB t=4 p=1 (PHP password_hash)".into(),
            argon2(65_536, 4, 1),
        ),
        (
            format!(
                "argon2id {} MiB t={} (bound: memory)",
                max_memory / 1024,
                max_memory_passes
            ),
            argon2(max_memory, max_memory_passes, 1),
        ),
        (
            format!(
                "argon2id 64 MiB t={} (bound: memory × passes)",
                work / 65_536
            ),
            argon2(65_536, (work / 65_536) as u32, 1),
        ),
        (
            format!(
                "argon2id 19 MiB t={} (bound: memory × passes)",
                work / 19_456
            ),
            argon2(19_456, (work / 19_456).min(32) as u32, 1),
        ),
        ("argon2id 256 MiB t=1 (over)".into(), argon2(262_144, 1, 1)),
        ("bcrypt 10 (Go, node, Spring, Auth0)".into(), bcrypt(10)),
        ("bcrypt 11".into(), bcrypt(11)),
        (
            "bcrypt 12 (Rails, Laravel, Python bcrypt)".into(),
            bcrypt(12),
        ),
        ("bcrypt 13 (over)".into(), bcrypt(13)),
        ("bcrypt 14 (over)".into(), bcrypt(14)),
        (
            "pbkdf2-sha256 600,000 (OWASP)".into(),
            pbkdf2(Pbkdf2Prf::Sha256, 600_000, 32),
        ),
        (
            "pbkdf2-sha256 1,000,000 (Django 5.2)".into(),
            pbkdf2(Pbkdf2Prf::Sha256, 1_000_000, 32),
        ),
        (
            "pbkdf2-sha256 1,200,000 (Django 6.0)".into(),
            pbkdf2(Pbkdf2Prf::Sha256, 1_200_000, 32),
        ),
        (
            format!("pbkdf2-sha256 {sha256_max} (bound, 32-byte key)"),
            pbkdf2(Pbkdf2Prf::Sha256, sha256_max, 32),
        ),
        (
            format!("pbkdf2-sha256 {} (bound, 64-byte key)", sha256_max / 2),
            pbkdf2(Pbkdf2Prf::Sha256, sha256_max / 2, 64),
        ),
        (
            "pbkdf2-sha1 1,300,000 (OWASP)".into(),
            pbkdf2(Pbkdf2Prf::Sha1, 1_300_000, 20),
        ),
        (
            format!(
                "pbkdf2-sha1 {} (bound, 20-byte key)",
                cost::PBKDF2_MAX_ITERATIONS_SHA1
            ),
            pbkdf2(Pbkdf2Prf::Sha1, cost::PBKDF2_MAX_ITERATIONS_SHA1, 20),
        ),
        (
            "pbkdf2-sha512 210,000 (OWASP, Keycloak)".into(),
            pbkdf2(Pbkdf2Prf::Sha512, 210_000, 64),
        ),
        (
            format!(
                "pbkdf2-sha512 {} (bound, 64-byte key)",
                cost::PBKDF2_MAX_ITERATIONS_SHA512
            ),
            pbkdf2(Pbkdf2Prf::Sha512, cost::PBKDF2_MAX_ITERATIONS_SHA512, 64),
        ),
        (
            "pbkdf2-sha512 10,000,000 (over)".into(),
            pbkdf2(Pbkdf2Prf::Sha512, 10_000_000, 64),
        ),
        ("scrypt N=2^14 r=8 p=1 (16 MiB)".into(), scrypt(14, 8, 1)),
        (
            "scrypt N=2^16 r=8 p=1 (64 MiB, passlib)".into(),
            scrypt(16, 8, 1),
        ),
        (
            "scrypt N=2^17 r=8 p=1 (128 MiB, over)".into(),
            scrypt(17, 8, 1),
        ),
        ("scrypt N=2^18 r=2 p=1 (bound: N)".into(), scrypt(18, 2, 1)),
        ("scrypt N=2^14 r=8 p=4".into(), scrypt(14, 8, 4)),
        (
            "firebase scrypt mem_cost=14 rounds=8".into(),
            firebase(14, 8),
        ),
        (
            "sha512-crypt 5,000 (glibc default)".into(),
            sha_crypt("$6$", 5_000),
        ),
        (
            "sha512-crypt 656,000 (passlib)".into(),
            sha_crypt("$6$", 656_000),
        ),
        (
            format!("sha512-crypt {} (bound)", cost::SHA512_CRYPT_ROUNDS.end()),
            sha_crypt("$6$", *cost::SHA512_CRYPT_ROUNDS.end()),
        ),
        (
            "sha256-crypt 535,000 (passlib)".into(),
            sha_crypt("$5$", 535_000),
        ),
        (
            format!("sha256-crypt {} (bound)", cost::SHA256_CRYPT_ROUNDS.end()),
            sha_crypt("$5$", *cost::SHA256_CRYPT_ROUNDS.end()),
        ),
        ("phpass 2^13 (WordPress)".into(), phpass(13)),
        ("phpass 2^16".into(), phpass(16)),
        (
            format!("phpass 2^{} (bound)", cost::PHPASS_COUNT_LOG2.end()),
            phpass(*cost::PHPASS_COUNT_LOG2.end()),
        ),
        ("phpass 2^24 (over)".into(), phpass(24)),
    ];
    if !args.json {
        println!(
            "one verification, {MAX_PASSWORD_BYTES}-byte password, one thread; budget {BUDGET_MULTIPLE} × {:.1} ms = {:.0} ms",
            unit.as_secs_f64() * 1e3,
            unit.as_secs_f64() * 1e3 * f64::from(BUDGET_MULTIPLE)
        );
        println!("{:<56} {:>10} {:>8}", "hash", "ms", "× unit");
    }
    for (name, hash) in rows {
        let time = median(&hash, &password, budget);
        let ratio = time.map(|time| time.as_secs_f64() / unit.as_secs_f64());
        if args.json {
            println!(
                "{}",
                serde_json::json!({"hash": name, "ms": time.map(|t| t.as_secs_f64() * 1e3), "units": ratio})
            );
        } else {
            match (time, ratio) {
                (Some(time), Some(ratio)) => {
                    println!("{name:<56} {:>10.1} {ratio:>8.1}", time.as_secs_f64() * 1e3)
                }
                _ => println!("{name:<56} {:>10} {:>8}", "refused", "-"),
            }
        }
    }
}
