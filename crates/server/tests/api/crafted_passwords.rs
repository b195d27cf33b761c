//! Crafted passwords (issue 20, item 7): zxcvbn's cost explodes on a password holding every
//! character it reads as a l33t substitution. Such passwords are still rated, and while they
//! are, the server keeps answering everything else.

use std::time::{Duration, Instant};

use latchkey_core::passwords::strength::MAX_PASSWORD_BYTES;
use serde_json::json;

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine};

/// Every character zxcvbn's l33t table knows, repeated to Stytch's length bound: each check of
/// it cost about 0.8 s of CPU, on the async runtime.
fn crafted_password() -> String {
    let soup = "4@8({[<369!1|70$5+7%2";
    let password = soup.repeat(MAX_PASSWORD_BYTES / soup.len());
    assert!(password.len() <= MAX_PASSWORD_BYTES);
    password
}

async fn crafted_passwords_do_not_hold_up_the_server(engine: Engine) {
    let app = spawn_app(engine).await;
    let password = crafted_password();
    // More crafted checks at once than the runtime has workers (the test runtime has two).
    let checks: Vec<_> = (0..8)
        .map(|n| {
            let client = app.client.clone();
            let url = format!("{}/v1/passwords/strength_check", app.base_url);
            let (project, secret) = (app.project_id.to_string(), app.secret.clone());
            let password = password.clone();
            tokio::spawn(async move {
                let body = if n % 2 == 0 {
                    json!({"password": password})
                } else {
                    json!({"password": password, "email": unique_email("crafted")})
                };
                client
                    .post(url)
                    .basic_auth(project, Some(secret))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            })
        })
        .collect();
    // Meanwhile, other requests are answered within a second or two, not after the checks.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        let asked = Instant::now();
        let healthz = app
            .client
            .get(format!("{}/healthz", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(healthz.text().await.unwrap(), "ok");
        app.post("/v1/users/search", json!({})).await.assert_ok();
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "other requests waited {:?} behind the crafted checks",
            asked.elapsed()
        );
    }
    // A new user's password is rated the same way (create refuses it or not; either way it
    // answers).
    let created = app
        .post(
            "/v1/passwords",
            json!({"email": unique_email("crafted"), "password": password}),
        )
        .await;
    assert!(
        created.status == 200 || created.body["error_type"] == "weak_password",
        "{created:?}"
    );
    // Every crafted check is rated, not refused.
    for check in checks {
        let rated = check.await.unwrap();
        assert_eq!(rated["status_code"], 200, "{rated}");
        assert!(rated["score"].as_u64().unwrap() <= 4);
    }
}

both_engines!(crafted_passwords_do_not_hold_up_the_server);
