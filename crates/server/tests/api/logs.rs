//! Logs never carry secrets: every log line this test binary writes, at the most verbose level
//! and in JSON (field values included), is searched for the secrets of a full flow — the
//! project secret, Stack's secret server key, a password, session tokens and JWTs, a TOTP secret
//! and its codes, recovery codes, and an email verification code.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;

use crate::helpers::{spawn_app, unique_email, Engine};
use crate::totps::{app_code, now};

/// Everything every test of this binary logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_flow_logs_no_secret() {
    let logs = captured();
    let app = spawn_app(Engine::Sqlite).await;
    let mut secrets = vec![app.secret.clone(), app.secret_server_key.clone()];

    let password = "an-Unusual-passphrase-for-logs-7";
    let email = unique_email("logs");
    let created = app
        .post(
            "/v1/passwords",
            json!({"email": email, "password": password, "session_duration_minutes": 60}),
        )
        .await;
    let created = created.assert_ok().clone();
    let user_id = created["user_id"].as_str().unwrap().to_owned();
    secrets.push(password.to_owned());
    let login = app
        .post(
            "/v1/passwords/authenticate",
            json!({"email": email, "password": password, "session_duration_minutes": 60}),
        )
        .await;
    let login = login.assert_ok().clone();
    for body in [&created, &login] {
        secrets.push(body["session_token"].as_str().unwrap().to_owned());
        secrets.push(body["session_jwt"].as_str().unwrap().to_owned());
    }
    app.post(
        "/v1/sessions/authenticate",
        json!({"session_token": login["session_token"]}),
    )
    .await
    .assert_ok();
    // A wrong password is logged as a failure, without the password.
    let wrong = "a-Wrong-passphrase-for-logs-8";
    app.post(
        "/v1/passwords/authenticate",
        json!({"email": email, "password": wrong}),
    )
    .await;
    secrets.push(wrong.to_owned());

    let totp = app.post("/v1/totps", json!({"user_id": user_id})).await;
    let totp = totp.assert_ok().clone();
    let secret = totp["secret"].as_str().unwrap().to_owned();
    let code = app_code(&secret, now());
    app.post(
        "/v1/totps/authenticate",
        json!({"user_id": user_id, "totp_code": code}),
    )
    .await
    .assert_ok();
    secrets.push(secret);
    let recovery: Vec<String> = totp["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    app.post(
        "/v1/totps/recover",
        json!({"user_id": user_id, "recovery_code": recovery[0]}),
    )
    .await
    .assert_ok();
    secrets.extend(recovery);

    // Stack: a verification code goes out and comes back.
    let emails = app.get(&format!("/v1/users/{user_id}")).await.body["emails"].clone();
    let email_id = emails[0]["email_id"].as_str().unwrap();
    let sent = app
        .client
        .post(format!(
            "{}/api/v1/contact-channels/{}/{}/send-verification-code",
            app.base_url,
            &user_id[user_id.len() - 36..],
            &email_id[email_id.len() - 36..]
        ))
        .header("x-stack-access-type", "server")
        .header("x-stack-project-id", app.project_id.as_str())
        .header("x-stack-secret-server-key", &app.secret_server_key)
        .json(&json!({"callback_url": "https://app.example.com/verify"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let outbox = app.outbox_texts(1).await;
    let verification = outbox[0]
        .1
        .rsplit("code=")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let verified = app
        .client
        .post(format!("{}/api/v1/contact-channels/verify", app.base_url))
        .header("x-stack-access-type", "server")
        .header("x-stack-project-id", app.project_id.as_str())
        .header("x-stack-secret-server-key", &app.secret_server_key)
        .json(&json!({"code": verification}))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    secrets.push(verification);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains(app.project_id.as_str()) || text.contains("request"),
        "the capture sees the server's logs"
    );
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret reached the logs");
    }
}
