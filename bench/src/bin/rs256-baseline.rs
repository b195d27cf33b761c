//! The ceiling for routes that answer with a fresh session JWT (sessions.authenticate,
//! totps.authenticate): how many RS256 signatures per second this machine makes with the
//! server's own signing code alone (`latchkey_core::jwt::SigningKey::sign`, a 2048-bit key, claims
//! the size of a session's), one thread per core, nothing else in the way. `bench/run` divides
//! those routes' throughput by this figure: at one signature per request, no server can beat it.
//!
//! Prints one JSON object: `{"threads", "seconds", "signatures", "per_second"}`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use latchkey_core::ids::Environment;
use latchkey_core::jwt::SigningKey;
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// Signing threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// How long to sign, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let now = chrono::Utc::now();
    let key = SigningKey::generate(Environment::Test, now)
        .map_err(|error| anyhow::anyhow!("generating a key: {error}"))?;
    // A session JWT's claims, as the server writes them (about 700 bytes).
    let claims = json!({
        "sub": "user-test-16b17ee1-8aa3-11ef-a5a8-4eb1c8bbc1cd",
        "iss": "stytch.com/project-test-0f1b6ad4-8aa3-11ef-a5a8-4eb1c8bbc1cd",
        "aud": ["project-test-0f1b6ad4-8aa3-11ef-a5a8-4eb1c8bbc1cd"],
        "iat": now.timestamp(), "nbf": now.timestamp(), "exp": now.timestamp() + 300,
        "https://stytch.com/session": {
            "id": "session-test-2a7c30a4-8aa3-11ef-a5a8-4eb1c8bbc1cd",
            "started_at": "2026-12-01T12:00:00Z",
            "last_accessed_at": "2026-12-01T12:00:00Z",
            "expires_at": "2026-12-01T22:00:00Z",
            "attributes": {"ip_address": "", "user_agent": ""},
            "authentication_factors": [{
                "type": "password", "delivery_method": "knowledge",
                "last_authenticated_at": "2026-12-01T12:00:00Z",
                "created_at": "2026-12-01T12:00:00Z", "updated_at": "2026-12-01T12:00:00Z",
                "email_factor": {
                    "email_id": "email-test-3b8d41b5-8aa3-11ef-a5a8-4eb1c8bbc1cd",
                    "email_address": "bench-0@example.com"
                }
            }],
            "roles": ["stytch_user"]
        }
    });

    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (done, count, key, claims) =
                (done.clone(), count.clone(), key.clone(), claims.clone());
            std::thread::spawn(move || -> Result<(), String> {
                while !done.load(Ordering::Relaxed) {
                    let token = key.sign(&claims).map_err(|error| error.to_string())?;
                    if token.split('.').count() != 3 {
                        return Err("not a compact JWS".to_owned());
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(args.seconds));
    done.store(true, Ordering::Relaxed);
    for worker in workers {
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("a signing thread panicked"))?
            .map_err(|error| anyhow::anyhow!("signing: {error}"))
            .context("RS256 baseline")?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let signatures = count.load(Ordering::Relaxed);
    println!(
        "{}",
        json!({
            "threads": threads,
            "seconds": elapsed,
            "signatures": signatures,
            "per_second": signatures as f64 / elapsed,
        })
    );
    Ok(())
}
