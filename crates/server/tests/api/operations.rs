//! Limits and metrics: per-project rate limits answered with Stytch's `too_many_requests`, the
//! client-side buckets of Stack's publishable-key traffic, the request timeout (which keeps
//! nothing half written), the connection bound, and `/metrics`.

use std::time::Duration;

use latchkey_core::values::Email;
use latchkey_server::operations::{LimitedListener, Limits};
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, spawn_app_with, unique_email, Engine, TestApp};

fn limits(rate: u32, timeout: Duration) -> Limits {
    Limits {
        request_timeout: timeout,
        rate_per_second: rate,
        rate_burst: rate,
        ..Limits::default()
    }
}

async fn rate_limits_are_per_project_and_spent_only_by_the_project(engine: Engine) {
    let app = spawn_app_with(engine, limits(5, Duration::from_secs(30))).await;
    // Wrong credentials cost the project nothing.
    for _ in 0..10 {
        let refused = app
            .client
            .post(format!("{}/v1/users/search", app.base_url))
            .basic_auth(app.project_id.as_str(), Some("secret-test-wrong"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..8 {
        let response = app
            .client
            .post(format!("{}/v1/users/search", app.base_url))
            .basic_auth(app.project_id.as_str(), Some(&app.secret))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 && limited.is_none() {
            let retry_after = response.headers().get("retry-after").cloned();
            limited = Some((retry_after, response.json::<Value>().await.unwrap()));
        }
    }
    // The bucket holds 5 and refills at 5/s: at least the first 5 pass and some are refused.
    assert!(statuses[..5].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let (retry_after, body) = limited.unwrap();
    assert!(retry_after.is_some(), "429 carries Retry-After");
    assert_eq!(body["error_type"], "too_many_requests");
    assert_eq!(body["status_code"], 429);
    assert!(body["request_id"]
        .as_str()
        .unwrap()
        .starts_with("request-id-"));
    // Another project has its own budget; Stack requests draw on the project's too.
    let (other, secret) = app.other_project().await;
    let theirs = app
        .request_as(
            Some((other.as_str(), &secret)),
            reqwest::Method::POST,
            "/v1/users/search",
            Some(json!({})),
        )
        .await;
    theirs.assert_ok();
    let mut stack_limited = None;
    for _ in 0..30 {
        let stack = app
            .client
            .get(format!(
                "{}/api/v1/contact-channels?user_id={}",
                app.base_url,
                uuid::Uuid::new_v4()
            ))
            .header("x-stack-access-type", "server")
            .header("x-stack-project-id", app.project_id.as_str())
            .header("x-stack-secret-server-key", &app.secret_server_key)
            .send()
            .await
            .unwrap();
        if stack.status() == 429 {
            stack_limited = Some(stack.headers().get("retry-after").cloned());
            break;
        }
        assert_eq!(stack.status(), 404, "an unknown user, within the budget");
    }
    let retry_after = stack_limited.expect("Stack requests are rate limited too");
    assert!(retry_after.is_some(), "Stack's 429 carries Retry-After");
}

/// A client of a project's Stack app (publishable key) talking from `address`.
fn stack_client_at(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(address.parse().unwrap()))
        .build()
        .unwrap()
}

async fn stack_client_request(app: &TestApp, client: &reqwest::Client) -> reqwest::Response {
    // `me` without an access token: a 400 within the budget, a 429 past it.
    client
        .get(format!(
            "{}/api/v1/contact-channels?user_id=me",
            app.base_url
        ))
        .header("x-stack-access-type", "client")
        .header("x-stack-project-id", app.project_id.as_str())
        .header(
            "x-stack-publishable-client-key",
            &app.publishable_client_key,
        )
        .send()
        .await
        .unwrap()
}

/// Issue 20, item 9: client-side Stack traffic (a publishable key anyone can read out of a web
/// app) has its own buckets, per client address, and cannot spend the project's budget.
async fn a_client_flood_does_not_starve_the_project(engine: Engine) {
    let app = spawn_app_with(
        engine,
        Limits {
            // Five requests, then one a second: what the flood below would have drained.
            rate_per_second: 1,
            rate_burst: 5,
            client_rate_per_second: 1,
            client_rate_burst: 3,
            ..Limits::default()
        },
    )
    .await;
    // One client (127.0.0.2: loopback, seen by the server as another peer) floods.
    let flooder = stack_client_at("127.0.0.2");
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..12 {
        let response = stack_client_request(&app, &flooder).await;
        if response.status() == 429 && retry_after.is_none() {
            retry_after = response.headers().get("retry-after").cloned();
        }
        statuses.push(response.status().as_u16());
    }
    assert!(statuses[..3].iter().all(|s| *s == 400), "{statuses:?}");
    assert!(
        statuses[3..].contains(&429),
        "the flood was not limited: {statuses:?}"
    );
    assert!(
        retry_after.is_some(),
        "the client's 429 carries Retry-After"
    );
    // The project's servers still have their whole budget, on both APIs.
    for _ in 0..3 {
        app.post("/v1/users/search", json!({})).await.assert_ok();
    }
    let server = app
        .client
        .get(format!(
            "{}/api/v1/contact-channels?user_id={}",
            app.base_url,
            uuid::Uuid::new_v4()
        ))
        .header("x-stack-access-type", "server")
        .header("x-stack-project-id", app.project_id.as_str())
        .header("x-stack-secret-server-key", &app.secret_server_key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.status(),
        404,
        "an unknown user, within the project's budget"
    );
    // Another client of the same project has a bucket of its own.
    let neighbour = stack_client_at("127.0.0.3");
    assert_eq!(stack_client_request(&app, &neighbour).await.status(), 400);
}

async fn a_timed_out_request_writes_nothing(engine: Engine) {
    // A login whose bcrypt (cost 12) verification alone takes far longer than the budget. Had
    // it finished, it would have upgraded the hash to argon2id and started a session.
    let app = spawn_app_with(engine, limits(0, Duration::from_millis(20))).await;
    let email = unique_email("late");
    let password = "slow-but-correct-password";
    let hash = bcrypt::hash(password, 12).unwrap();
    // The setup itself runs under the 20 ms budget: on a loaded machine it may be abandoned
    // too (writing nothing), so it is tried until it lands.
    let mut migrated = false;
    for _ in 0..50 {
        let reply = app
            .post(
                "/v1/passwords/migrate",
                json!({"email": email, "hash": hash, "hash_type": "bcrypt"}),
            )
            .await;
        if reply.status == 200 {
            migrated = true;
            break;
        }
        assert_eq!(reply.body["error_type"], "request_timeout", "{reply:?}");
    }
    assert!(migrated, "the migrate never finished within the budget");
    let reply = app
        .post(
            "/v1/passwords/authenticate",
            json!({"email": email, "password": password, "session_duration_minutes": 60}),
        )
        .await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(reply.body["error_type"], "request_timeout");
    // Give the abandoned verification time to finish, then look in the store directly.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let login = app
        .store
        .password_login(&app.project_id, &Email::parse(&email).unwrap())
        .await
        .unwrap()
        .unwrap();
    let stored = login.password.unwrap().hash_text;
    assert!(
        stored.contains("$2b$12$"),
        "the hash was upgraded: {stored}"
    );
    let sessions = app
        .store
        .list_sessions(
            &app.project_id,
            &latchkey_core::users::UserRef::Id(login.user_id.clone()),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert!(sessions.is_empty(), "the abandoned login started a session");
}

async fn metrics_name_routes_not_paths(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app
        .create_user(json!({"email": unique_email("metrics")}))
        .await;
    let user_id = user["user_id"].as_str().unwrap();
    app.get(&format!("/v1/users/{user_id}")).await.assert_ok();
    let response = app
        .client
        .get(format!("{}/metrics", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for needle in [
        "latchkey_http_requests_total{",
        r#"route="/v1/users/{user_id}""#,
        r#"route="/v1/users",status="200""#,
        "latchkey_http_request_duration_seconds_bucket{",
        "latchkey_hash_pool_queue_depth",
        "latchkey_db_pool_connections{",
        "latchkey_db_pool_max_connections{",
    ] {
        assert!(text.contains(needle), "{needle} missing from /metrics");
    }
    // Route templates only: no id, token or email reaches the metrics.
    assert!(!text.contains(user_id));
    assert!(!text.contains("@example.com"));
}

both_engines!(
    rate_limits_are_per_project_and_spent_only_by_the_project,
    a_client_flood_does_not_starve_the_project,
    a_timed_out_request_writes_nothing,
    metrics_name_routes_not_paths,
);

/// With room for one connection, a second waits until the first closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_bound_wait() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move {
        axum::serve(LimitedListener::new(listener, 1), app)
            .await
            .unwrap();
    });
    let holder = tokio::net::TcpStream::connect(address).await.unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let waiting = client.get(format!("http://{address}/")).send().await;
    assert!(
        waiting.is_err(),
        "a second connection was served while the first held the only place"
    );
    drop(holder);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let served = client
        .get(format!("http://{address}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.text().await.unwrap(), "ok");
}
