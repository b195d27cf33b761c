//! The lock rules over HTTP (issue 20): only a wrong secret is a failure, an attempt whose
//! request never came back lapses without counting, and each factor counts its own failures,
//! so a right password does not forgive TOTP guesses.

use chrono::{Duration, Utc};
use latchkey_core::ids::UserId;
use latchkey_core::lock::{Factor, PENDING_LEASE_SECONDS};
use latchkey_core::principal::PrincipalId;
use latchkey_store::{ProjectSettings, StoreError};
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine, Reply, TestApp};
use crate::totps::{app_code, now};

const PASSWORD: &str = "vRIQomL!faE2S44s-lantern";

async fn with_threshold(app: &TestApp, threshold: u32) -> ProjectSettings {
    let mut project = app
        .store
        .get_project(&app.project_id)
        .await
        .unwrap()
        .unwrap();
    project.settings.lock_threshold = threshold;
    app.store
        .update_project_settings(&app.project_id, &project.settings)
        .await
        .unwrap();
    project.settings
}

/// A user with a password: (user_id, email).
async fn user_with_password(app: &TestApp) -> (String, String) {
    let email = unique_email("lockout");
    let created = app
        .post(
            "/v1/passwords",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let user_id = created.assert_ok()["user_id"].as_str().unwrap().to_owned();
    (user_id, email)
}

async fn login(app: &TestApp, email: &str, password: &str, options: Value) -> Reply {
    let mut body = json!({"email": email, "password": password});
    body.as_object_mut()
        .unwrap()
        .extend(options.as_object().unwrap().clone());
    app.post("/v1/passwords/authenticate", body).await
}

async fn is_locked(app: &TestApp, user_id: &str) -> bool {
    let user = app.get(&format!("/v1/users/{user_id}")).await;
    user.assert_ok()["is_locked"] == true
}

/// A code that is wrong at every step the window accepts now.
fn wrong_code(secret: &str) -> String {
    let t = now();
    let near: Vec<String> = (-2..=2).map(|k| app_code(secret, t + 30 * k)).collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|code| !near.contains(code))
        .unwrap()
}

async fn totp(app: &TestApp, user_id: &str, code: &str) -> Reply {
    app.post(
        "/v1/totps/authenticate",
        json!({"user_id": user_id, "totp_code": code}),
    )
    .await
}

/// The right password in a request that then fails (its session token names no session) is
/// checked, and refused for the session, but it is no failed attempt: five of them leave a
/// threshold of three untouched.
async fn a_right_password_in_a_failing_request_is_no_failure(engine: Engine) {
    let app = spawn_app(engine).await;
    with_threshold(&app, 3).await;
    let (user_id, email) = user_with_password(&app).await;
    for _ in 0..5 {
        login(
            &app,
            &email,
            PASSWORD,
            json!({"session_token": "a-token-that-names-no-session"}),
        )
        .await
        .assert_error(404, "session_not_found");
    }
    assert!(!is_locked(&app, &user_id).await);
    for _ in 0..2 {
        login(&app, &email, "wrong", json!({}))
            .await
            .assert_error(401, "unauthorized_credentials");
    }
    login(&app, &email, PASSWORD, json!({})).await.assert_ok();
    assert!(!is_locked(&app, &user_id).await);
}

/// Attempts whose requests never came back (they timed out while their hash waited) hold their
/// place while they may still be running, then lapse: they are no failures, and lock no one.
async fn an_attempt_whose_request_never_returned_lapses(engine: Engine) {
    let app = spawn_app(engine).await;
    let settings = with_threshold(&app, 2).await;
    let (user_id, _) = user_with_password(&app).await;
    let principal = PrincipalId::User(UserId::parse(&user_id).unwrap());
    let t = Utc::now();
    let reserve = |at| {
        app.store
            .reserve_attempt(&app.project_id, &principal, Factor::Password, &settings, at)
    };
    for _ in 0..2 {
        reserve(t).await.unwrap();
    }
    assert!(matches!(reserve(t).await, Err(StoreError::Refused(_))));
    assert!(!is_locked(&app, &user_id).await);
    reserve(t + Duration::seconds(PENDING_LEASE_SECONDS + 1))
        .await
        .unwrap();
    assert!(!is_locked(&app, &user_id).await);
}

/// Someone who knows the password cannot guess TOTP codes forever by logging in with it in
/// between: the TOTP failures add up to the lock, and then the account is locked for both.
async fn a_right_password_does_not_forgive_totp_guesses(engine: Engine) {
    let app = spawn_app(engine).await;
    with_threshold(&app, 3).await;
    let (user_id, email) = user_with_password(&app).await;
    let created = app.post("/v1/totps", json!({"user_id": user_id})).await;
    let secret = created.assert_ok()["secret"].as_str().unwrap().to_owned();
    let wrong = wrong_code(&secret);
    for _ in 0..2 {
        totp(&app, &user_id, &wrong)
            .await
            .assert_error(401, "unable_to_authenticate_totp");
        login(&app, &email, PASSWORD, json!({})).await.assert_ok();
    }
    totp(&app, &user_id, &wrong)
        .await
        .assert_error(401, "unable_to_authenticate_totp");
    assert!(is_locked(&app, &user_id).await);
    totp(&app, &user_id, &app_code(&secret, now()))
        .await
        .assert_error(429, "user_lock_limit_reached");
    login(&app, &email, PASSWORD, json!({}))
        .await
        .assert_error(429, "user_lock_limit_reached");
}

/// And the other way round: a TOTP success does not forgive wrong passwords.
async fn a_totp_success_does_not_forgive_wrong_passwords(engine: Engine) {
    let app = spawn_app(engine).await;
    with_threshold(&app, 2).await;
    let (user_id, email) = user_with_password(&app).await;
    let created = app.post("/v1/totps", json!({"user_id": user_id})).await;
    let secret = created.assert_ok()["secret"].as_str().unwrap().to_owned();
    login(&app, &email, "wrong", json!({}))
        .await
        .assert_error(401, "unauthorized_credentials");
    totp(&app, &user_id, &app_code(&secret, now()))
        .await
        .assert_ok();
    login(&app, &email, "wrong", json!({}))
        .await
        .assert_error(401, "unauthorized_credentials");
    assert!(is_locked(&app, &user_id).await);
}

both_engines!(
    a_right_password_in_a_failing_request_is_no_failure,
    an_attempt_whose_request_never_returned_lapses,
    a_right_password_does_not_forgive_totp_guesses,
    a_totp_success_does_not_forgive_wrong_passwords,
);
