//! The hash queue (issue 20, item 6): bounded per project and in all, a full queue refused at
//! once (429 for the project past its share, 503 for a server past its bound), and a queued job
//! whose request is gone skipped rather than run.

use std::time::Duration;

use latchkey_server::hashing::QueueBounds;
use latchkey_server::operations::Limits;
use serde_json::json;

use crate::both_engines;
use crate::helpers::{spawn_app_with, unique_email, Engine, Reply, TestApp};

const PASSWORD: &str = "a-password-slow-to-verify";

/// A bcrypt hash of [`PASSWORD`] whose verification keeps a hashing thread busy: cost 12 takes
/// about a quarter of a second in a release build, each step more twice as long.
async fn bcrypt_hash(cost: u32) -> String {
    tokio::task::spawn_blocking(move || bcrypt::hash(PASSWORD, cost).unwrap())
        .await
        .unwrap()
}

async fn migrate(app: &TestApp, credentials: (&str, &str), hash: &str) -> String {
    let email = unique_email("queue");
    app.request_as(
        Some(credentials),
        reqwest::Method::POST,
        "/v1/passwords/migrate",
        Some(json!({"email": email, "hash": hash, "hash_type": "bcrypt"})),
    )
    .await
    .assert_ok();
    email
}

async fn login(app: &TestApp, credentials: (&str, &str), email: &str) -> Reply {
    app.request_as(
        Some(credentials),
        reqwest::Method::POST,
        "/v1/passwords/authenticate",
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await
}

/// Waits until the pool holds `admitted` jobs.
async fn until_admitted(app: &TestApp, admitted: usize) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while app.hashing.admitted() != admitted {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the pool never held {admitted} jobs"));
}

async fn a_full_queue_is_refused_at_once(engine: Engine) {
    let app = spawn_app_with(
        engine,
        Limits {
            hash_threads: 1,
            hash_queue: QueueBounds {
                total: 2,
                per_project: 1,
            },
            ..Limits::default()
        },
    )
    .await;
    // The refusals below come within milliseconds; the verification they are refused behind
    // takes far longer.
    let hash = bcrypt_hash(12).await;
    let cheap = bcrypt_hash(4).await;
    let our_id = app.project_id.to_string();
    let ours = (our_id.as_str(), app.secret.as_str());
    let (other_id, other_secret) = app.other_project().await;
    let theirs = (other_id.as_str(), other_secret.as_str());
    let (third_id, third_secret) = app.other_project().await;
    let third = (third_id.as_str(), third_secret.as_str());
    let first = migrate(&app, ours, &hash).await;
    let second = migrate(&app, ours, &cheap).await;
    let other = migrate(&app, theirs, &hash).await;
    let late = migrate(&app, third, &cheap).await;

    // Our project's one place is taken by a slow verification.
    let running = {
        let app_url = app.base_url.clone();
        let (project, secret) = (ours.0.to_owned(), ours.1.to_owned());
        let email = first.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{app_url}/v1/passwords/authenticate"))
                .basic_auth(project, Some(secret))
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    until_admitted(&app, 1).await;
    // Our next login is refused at once, before the running one is done: 429 with Retry-After.
    let refused = app
        .client
        .post(format!("{}/v1/passwords/authenticate", app.base_url))
        .basic_auth(ours.0, Some(ours.1))
        .json(&json!({"email": second, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(!running.is_finished(), "the refusal waited for the queue");
    assert_eq!(refused.headers()["retry-after"], "1");
    let refused = Reply {
        status: refused.status(),
        body: refused.json().await.unwrap(),
    };
    refused.assert_error(429, "too_many_requests");

    // Another project still has its own place: it queues behind ours and fills the server.
    let queued = {
        let app_url = app.base_url.clone();
        let (project, secret) = (theirs.0.to_owned(), theirs.1.to_owned());
        let email = other.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{app_url}/v1/passwords/authenticate"))
                .basic_auth(project, Some(secret))
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    until_admitted(&app, 2).await;
    // A third project, within its own share but past the server's bound: 503, at once.
    let busy = app
        .client
        .post(format!("{}/v1/passwords/authenticate", app.base_url))
        .basic_auth(third.0, Some(third.1))
        .json(&json!({"email": late, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(!running.is_finished(), "the refusal waited for the queue");
    assert_eq!(busy.headers()["retry-after"], "1");
    let busy = Reply {
        status: busy.status(),
        body: busy.json().await.unwrap(),
    };
    busy.assert_error(503, "service_unavailable");

    // The admitted logins succeed, and their places are given back.
    assert_eq!(running.await.unwrap(), 200);
    assert_eq!(queued.await.unwrap(), 200);
    until_admitted(&app, 0).await;
    login(&app, ours, &second).await.assert_ok();
    login(&app, third, &late).await.assert_ok();
}

async fn a_job_whose_request_is_gone_is_skipped(engine: Engine) {
    // Requests are abandoned after 150 ms, long before a cost-12 verification (the most a
    // migrated bcrypt hash may cost, `docs/security.md`) is done.
    let app = spawn_app_with(
        engine,
        Limits {
            hash_threads: 1,
            request_timeout: Duration::from_millis(150),
            ..Limits::default()
        },
    )
    .await;
    let hash = bcrypt_hash(12).await;
    let our_id = app.project_id.to_string();
    let ours = (our_id.as_str(), app.secret.as_str());
    let running = migrate(&app, ours, &hash).await;
    let waiting = migrate(&app, ours, &hash).await;
    let first = {
        let app_url = app.base_url.clone();
        let (project, secret) = (ours.0.to_owned(), ours.1.to_owned());
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{app_url}/v1/passwords/authenticate"))
                .basic_auth(project, Some(secret))
                .json(&json!({"email": running, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        })
    };
    until_admitted(&app, 1).await;
    // Queued behind the running verification, and abandoned while it waits.
    let abandoned = login(&app, ours, &waiting).await;
    abandoned.assert_error(503, "request_timeout");
    assert_eq!(first.await.unwrap()["error_type"], "request_timeout");
    // The running job finishes (nothing stops a hash midway); the abandoned one never runs.
    until_admitted(&app, 0).await;
    assert_eq!(
        app.hashing.skipped(),
        1,
        "the abandoned job was not skipped"
    );
}

both_engines!(
    a_full_queue_is_refused_at_once,
    a_job_whose_request_is_gone_is_skipped,
);
