//! The ceiling for password logins: how many argon2id verifications per second this machine
//! does with the `argon2` crate alone, one thread per core, nothing else in the way, each thread
//! reusing its working memory (the crate's fastest way; the server does the same). `bench/run`
//! divides the server's `passwords/authenticate` throughput by this figure.
//!
//! Prints one JSON object: `{"threads", "seconds", "verifications", "per_second"}`.

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// Verifying threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// How long to verify, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 19_456)]
    memory_kib: u32,
    #[arg(long, default_value_t = 2)]
    iterations: u32,
    #[arg(long, default_value_t = 1)]
    parallelism: u32,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let threads = latchkey_bench::threads_or_cores(args.threads);
    let params = Params::new(args.memory_kib, args.iterations, args.parallelism, None)
        .map_err(|error| anyhow::anyhow!("argon2 parameters: {error}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let password = b"correct horse battery staple 42!";
    let salt = SaltString::encode_b64(b"benchmark-salt16")
        .map_err(|error| anyhow::anyhow!("salt: {error}"))?;
    let phc = argon2
        .hash_password(password, &salt)
        .map_err(|error| anyhow::anyhow!("hashing: {error}"))?
        .to_string();

    let (argon2, phc) = (&argon2, &phc);
    let (verifications, elapsed) = latchkey_bench::count_for(threads, args.seconds, || {
        let mut memory = vec![Block::default(); argon2.params().block_count()];
        let mut salt_bytes = [0u8; 64];
        let mut out = [0u8; 32];
        // Parse the stored string each time, as a server does with a hash it has just read.
        move || {
            let parsed = PasswordHash::new(phc).map_err(|error| error.to_string())?;
            let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
                return Err("the PHC string lacks a salt or hash".to_owned());
            };
            let salt = salt
                .decode_b64(&mut salt_bytes)
                .map_err(|error| error.to_string())?;
            argon2
                .hash_password_into_with_memory(password, salt, &mut out, &mut memory)
                .map_err(|error| error.to_string())?;
            if out != expected.as_bytes() {
                return Err("verification failed".to_owned());
            }
            Ok(())
        }
    })
    .context("argon2 baseline")?;
    println!(
        "{}",
        serde_json::json!({
            "threads": threads,
            "seconds": elapsed,
            "verifications": verifications,
            "per_second": verifications as f64 / elapsed,
        })
    );
    Ok(())
}
