//! The ceiling for routes that answer with a fresh session JWT (sessions.authenticate,
//! totps.authenticate): how many RS256 signatures per second this machine makes with the
//! server's own signing code alone (`latchkey_core::jwt::SigningKey::sign`, a 2048-bit key, claims
//! the size of a session's), one thread per core, nothing else in the way. `bench/run` divides
//! those routes' throughput by this figure: at one signature per request, no server can beat it.
//!
//! Prints one JSON object: `{"threads", "seconds", "signatures", "per_second"}`.

use anyhow::Context;
use clap::Parser;
use latchkey_core::ids::{Environment, ProjectId};
use latchkey_core::jwt::SigningKey;
use latchkey_core::vault::Vault;
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
    let threads = latchkey_bench::threads_or_cores(args.threads);
    let now = chrono::Utc::now();
    let vault = Vault::from_key_text(&Vault::generate_key_text())
        .map_err(|error| anyhow::anyhow!("a vault key: {error}"))?;
    let key = SigningKey::generate(
        &vault,
        &ProjectId::generate(Environment::Test),
        latchkey_core::jwt::KeyKind::Consumer,
        now,
    )
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

    let (key, claims, vault) = (&key, &claims, &vault);
    let (signatures, elapsed) = latchkey_bench::count_for(threads, args.seconds, || {
        move || {
            let token = key.sign(vault, claims).map_err(|error| error.to_string())?;
            if token.split('.').count() != 3 {
                return Err("not a compact JWS".to_owned());
            }
            Ok(())
        }
    })
    .context("RS256 baseline")?;
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
