//! Consumer TOTP over HTTP: create (QR code decoded and read back), authenticate with codes
//! computed by an independent implementation (`totp-rs`), replays (also concurrent), recovery
//! codes, the user lock, expiry, deletion, secrets unreadable at rest, and isolation.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{Duration, Utc};
use latchkey_core::ids::UserId;
use latchkey_store::NewTotp;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine, TestApp};

/// The code an authenticator app shows at `unix` for a base32 `secret`, from `totp-rs`.
pub fn app_code(secret: &str, unix: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).generate(unix as u64)
}

pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Reads the QR code of a PNG data URL back into its text.
pub fn decode_qr(data_url: &str) -> String {
    let png_bytes = STANDARD
        .decode(data_url.strip_prefix("data:image/png;base64,").unwrap())
        .unwrap();
    let mut reader = png::Decoder::new(png_bytes.as_slice()).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let (width, height) = (info.width as usize, info.height as usize);
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

/// A user with a new TOTP registration: (user_id, create response).
async fn user_with_totp(app: &TestApp) -> (String, Value) {
    let user = app
        .create_user(json!({"email": unique_email("totp")}))
        .await;
    let user_id = user["user_id"].as_str().unwrap().to_owned();
    let created = app.post("/v1/totps", json!({"user_id": user_id})).await;
    (user_id, created.assert_ok().clone())
}

async fn authenticate(app: &TestApp, user_id: &str, code: &str) -> crate::helpers::Reply {
    app.post(
        "/v1/totps/authenticate",
        json!({"user_id": user_id, "totp_code": code}),
    )
    .await
}

async fn create_returns_secret_qr_code_and_recovery_codes(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, body) = user_with_totp(&app).await;
    let totp_id = body["totp_id"].as_str().unwrap();
    assert!(totp_id.starts_with("totp-test-"));
    assert_eq!(body["user_id"], user_id.as_str());
    let secret = body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits of base32");
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let uri = decode_qr(body["qr_code"].as_str().unwrap());
    assert!(uri.starts_with("otpauth://totp/test:totp."), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=test"), "{uri}");
    assert_eq!(
        body["user"]["totps"],
        json!([{"totp_id": totp_id, "verified": false}])
    );

    // Unverified: a second create replaces it.
    let again = app.post("/v1/totps", json!({"user_id": user_id})).await;
    let again = again.assert_ok();
    assert_ne!(again["totp_id"], totp_id);
    assert_eq!(again["user"]["totps"].as_array().unwrap().len(), 1);
    assert_ne!(again["secret"], secret);
}

async fn a_code_verifies_the_registration_and_is_accepted_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, created) = user_with_totp(&app).await;
    let secret = created["secret"].as_str().unwrap();
    let totp_id = created["totp_id"].as_str().unwrap();
    let t = now();
    let code = app_code(secret, t);

    let first = authenticate(&app, &user_id, &code).await;
    let first = first.assert_ok();
    assert_eq!(first["totp_id"], totp_id);
    assert_eq!(first["user_id"], user_id.as_str());
    assert_eq!(
        first["user"]["totps"],
        json!([{"totp_id": totp_id, "verified": true}])
    );
    assert_eq!(first["session_token"], "");
    assert_eq!(first["session"], Value::Null);

    authenticate(&app, &user_id, &code)
        .await
        .assert_error(401, "totp_code_already_authenticated");
    // The next step's code (within the drift window) is later, so it passes once...
    authenticate(&app, &user_id, &app_code(secret, t + 30))
        .await
        .assert_ok();
    // ...and the previous step's can no longer be used.
    authenticate(&app, &user_id, &app_code(secret, t - 30))
        .await
        .assert_error(401, "totp_code_already_authenticated");

    // A verified registration cannot be replaced.
    app.post("/v1/totps", json!({"user_id": user_id}))
        .await
        .assert_error(400, "active_totp_exists");
}

async fn wrong_codes_fail_and_far_steps_are_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, created) = user_with_totp(&app).await;
    let secret = created["secret"].as_str().unwrap();
    let t = now();
    let near: Vec<String> = (-1..=1).map(|k| app_code(secret, t + 30 * k)).collect();
    for far in [app_code(secret, t - 300), app_code(secret, t + 300)] {
        if !near.contains(&far) {
            authenticate(&app, &user_id, &far)
                .await
                .assert_error(401, "unable_to_authenticate_totp");
        }
    }
    for bad in ["12345", "abcdef", "1234567"] {
        authenticate(&app, &user_id, bad)
            .await
            .assert_error(400, "invalid_totp_code");
    }
    let reply = app
        .post("/v1/totps/authenticate", json!({"user_id": user_id}))
        .await;
    reply.assert_error(400, "bad_request");
}

async fn concurrent_replays_are_accepted_exactly_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, created) = user_with_totp(&app).await;
    let code = app_code(created["secret"].as_str().unwrap(), now());
    let attempts = (0..8).map(|_| authenticate(&app, &user_id, &code));
    let replies = futures::future::join_all(attempts).await;
    let accepted = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(accepted, 1, "{replies:?}");
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.assert_error(401, "totp_code_already_authenticated");
    }
}

async fn authenticate_starts_and_continues_sessions(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, created) = user_with_totp(&app).await;
    let secret = created["secret"].as_str().unwrap();
    let totp_id = created["totp_id"].as_str().unwrap();
    let t = now();
    let started = app
        .post(
            "/v1/totps/authenticate",
            json!({"user_id": user_id, "totp_code": app_code(secret, t),
                   "session_duration_minutes": 60}),
        )
        .await;
    let started = started.assert_ok().clone();
    let factor = &started["session"]["authentication_factors"][0];
    assert_eq!(factor["type"], "totp");
    assert_eq!(factor["delivery_method"], "authenticator_app");
    assert_eq!(factor["authenticator_app_factor"]["totp_id"], totp_id);
    assert!(!started["session_jwt"].as_str().unwrap().is_empty());
    app.post(
        "/v1/sessions/authenticate",
        json!({"session_token": started["session_token"]}),
    )
    .await
    .assert_ok();

    // A recovery code adds its factor to the same session.
    let code = created["recovery_codes"][0].as_str().unwrap();
    let recovered = app
        .post(
            "/v1/totps/recover",
            json!({"user_id": user_id, "recovery_code": code,
                   "session_token": started["session_token"]}),
        )
        .await;
    let recovered = recovered.assert_ok();
    assert_eq!(
        recovered["session"]["session_id"],
        started["session"]["session_id"]
    );
    let factors = recovered["session"]["authentication_factors"]
        .as_array()
        .unwrap();
    assert_eq!(factors.len(), 2);
    assert_eq!(factors[1]["type"], "recovery_codes");
    assert_eq!(factors[1]["delivery_method"], "recovery_code");
    assert_eq!(
        factors[1]["recovery_code_factor"]["totp_recovery_code_id"],
        totp_id
    );
}

async fn recovery_codes_are_single_use(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, created) = user_with_totp(&app).await;
    let codes: Vec<String> = created["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let recover = |code: String| {
        let user_id = user_id.clone();
        let app = &app;
        async move {
            app.post(
                "/v1/totps/recover",
                json!({"user_id": user_id, "recovery_code": code}),
            )
            .await
        }
    };
    // Only a verified registration can be recovered.
    recover(codes[0].clone())
        .await
        .assert_error(404, "totp_not_found");
    authenticate(
        &app,
        &user_id,
        &app_code(created["secret"].as_str().unwrap(), now()),
    )
    .await
    .assert_ok();

    let first = recover(codes[0].clone()).await;
    assert_eq!(first.assert_ok()["totp_id"], created["totp_id"]);
    recover(codes[0].clone())
        .await
        .assert_error(401, "unable_to_authenticate_recovery_code");
    recover(codes[1].to_uppercase()).await.assert_ok();
    recover("aaaa-bbbb-cccc".to_owned())
        .await
        .assert_error(401, "unable_to_authenticate_recovery_code");

    // The same code, concurrently: one wins.
    let replies = futures::future::join_all((0..6).map(|_| recover(codes[2].clone()))).await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);

    let listed = app
        .post("/v1/totps/recovery_codes", json!({"user_id": user_id}))
        .await;
    let listed = listed.assert_ok();
    assert_eq!(listed["user_id"], user_id.as_str());
    // The unused codes, shown again as Stytch shows them (kept sealed beside their digests).
    assert_eq!(
        listed["totps"],
        json!([{"totp_id": created["totp_id"], "verified": true, "recovery_codes": codes[3..],
                "remaining_recovery_codes": 7}])
    );
}

async fn wrong_codes_count_toward_the_user_lock(engine: Engine) {
    let app = spawn_app(engine).await;
    let mut project = app
        .store
        .get_project(&app.project_id)
        .await
        .unwrap()
        .unwrap();
    project.settings.lock_threshold = 3;
    app.store
        .update_project_settings(&app.project_id, &project.settings)
        .await
        .unwrap();
    let (user_id, created) = user_with_totp(&app).await;
    let secret = created["secret"].as_str().unwrap();
    let t = now();
    let near: Vec<String> = (-1..=1).map(|k| app_code(secret, t + 30 * k)).collect();
    let wrong = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|code| !near.contains(code))
        .unwrap();
    for _ in 0..3 {
        authenticate(&app, &user_id, &wrong)
            .await
            .assert_error(401, "unable_to_authenticate_totp");
    }
    authenticate(&app, &user_id, &app_code(secret, t))
        .await
        .assert_error(429, "user_lock_limit_reached");
    let user = app.get(&format!("/v1/users/{user_id}")).await;
    assert_eq!(user.assert_ok()["is_locked"], true);
}

async fn expired_deleted_and_missing_registrations(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app
        .create_user(json!({"email": unique_email("totp")}))
        .await;
    let user_id = user["user_id"].as_str().unwrap().to_owned();
    authenticate(&app, &user_id, "123456")
        .await
        .assert_error(404, "totp_not_found");
    app.post(
        "/v1/totps",
        json!({"user_id": "user-test-00000000-0000-4000-8000-000000000000"}),
    )
    .await
    .assert_error(404, "user_not_found");
    app.post(
        "/v1/totps",
        json!({"user_id": user_id, "expiration_minutes": 2}),
    )
    .await
    .assert_error(400, "invalid_expiration");

    // An unverified registration past its expiry (written through the store) is refused.
    let now_time = Utc::now();
    app.store
        .create_totp(
            &app.project_id,
            &UserId::parse(&user_id).unwrap(),
            NewTotp {
                totp_id: format!("totp-test-{}", uuid::Uuid::new_v4()),
                secret_sealed: vec![1, 2, 3],
                recovery_codes: vec![],
                recovery_codes_sealed: vec![],
                verified: false,
                expires_at: Some(now_time - Duration::minutes(1)),
            },
            now_time - Duration::minutes(10),
        )
        .await
        .unwrap();
    authenticate(&app, &user_id, "123456")
        .await
        .assert_error(400, "expired_totp");

    // Deleted through the Users API: gone.
    let (other_id, created) = user_with_totp(&app).await;
    let totp_id = created["totp_id"].as_str().unwrap();
    let deleted = app.delete(&format!("/v1/users/totps/{totp_id}")).await;
    assert_eq!(deleted.assert_ok()["user"]["totps"], json!([]));
    authenticate(
        &app,
        &other_id,
        &app_code(created["secret"].as_str().unwrap(), now()),
    )
    .await
    .assert_error(404, "totp_not_found");
}

async fn secrets_and_recovery_codes_are_unreadable_at_rest(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, created) = user_with_totp(&app).await;
    let secret = created["secret"].as_str().unwrap();
    let raw_secret = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    let codes: Vec<&str> = created["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let stored = app
        .store
        .user_totps(&app.project_id, &UserId::parse(&user_id).unwrap())
        .await
        .unwrap();
    let stored = &stored[0];
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&stored.secret_sealed, &raw_secret));
    assert!(!contains(&stored.secret_sealed, secret.as_bytes()));
    assert_eq!(stored.recovery_codes.len(), 10);
    let sealed = stored.recovery_codes_sealed.as_ref().unwrap();
    for code in &codes {
        assert!(!contains(sealed, code.as_bytes()));
    }
    for digest in &stored.recovery_codes {
        for code in &codes {
            assert!(!contains(digest, code.as_bytes()));
        }
    }
    if let Some(path) = app.sqlite_path() {
        let mut bytes = std::fs::read(path).unwrap();
        if let Ok(wal) = std::fs::read(format!("{}-wal", path.display())) {
            bytes.extend(wal);
        }
        assert!(
            contains(&bytes, user_id.as_bytes()),
            "the scan sees the data"
        );
        assert!(!contains(&bytes, secret.as_bytes()));
        assert!(!contains(&bytes, &raw_secret));
        for code in &codes {
            assert!(!contains(&bytes, code.as_bytes()), "{code} is readable");
        }
    }
}

async fn totps_are_isolated_between_projects(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, created) = user_with_totp(&app).await;
    let (other, other_secret) = app.other_project().await;
    let other_id = other.to_string();
    let as_other = |path: &'static str, body: Value| {
        let (id, secret) = (other_id.clone(), other_secret.clone());
        let app = &app;
        async move {
            app.request_as(Some((&id, &secret)), Method::POST, path, Some(body))
                .await
        }
    };
    let code = app_code(created["secret"].as_str().unwrap(), now());
    as_other(
        "/v1/totps/authenticate",
        json!({"user_id": user_id, "totp_code": code}),
    )
    .await
    .assert_error(404, "user_not_found");
    as_other("/v1/totps", json!({"user_id": user_id}))
        .await
        .assert_error(404, "user_not_found");
    as_other("/v1/totps/recovery_codes", json!({"user_id": user_id}))
        .await
        .assert_error(404, "user_not_found");
    // The code is still unused in its own project.
    authenticate(&app, &user_id, &code).await.assert_ok();
}

both_engines!(
    create_returns_secret_qr_code_and_recovery_codes,
    a_code_verifies_the_registration_and_is_accepted_once,
    wrong_codes_fail_and_far_steps_are_refused,
    concurrent_replays_are_accepted_exactly_once,
    authenticate_starts_and_continues_sessions,
    recovery_codes_are_single_use,
    wrong_codes_count_toward_the_user_lock,
    expired_deleted_and_missing_registrations,
    secrets_and_recovery_codes_are_unreadable_at_rest,
    totps_are_isolated_between_projects,
);
