//! Magic links, passcodes and reset mails over HTTP, with the development outbox as the
//! recipient (no provider configured) and a local recorder standing in for Twilio: redirect
//! URLs refused before anything is written, the send limits, wrong codes counted against the
//! code and the user's lock, bad input, sealed messages, and the delivery worker's retries and
//! claims. The official SDK's end-to-end runs through real SMTP are in
//! `sdk-tests/python/test_passwordless.py`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use latchkey_core::delivery::{Channel, MessageContent, SendLimits, DEFAULT_SEND_LIMITS};
use latchkey_core::redirect_urls::RedirectType;
use latchkey_server::delivery::{deliver_due, Delivery, DeliveryConfig, TwilioConfig};
use latchkey_store::{MessageStatus, RedirectUrl};
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{test_vault, unique_email, unique_phone, Engine, TestApp};

const LOCAL: &str = "http://localhost:3000/authenticate";

/// The token of the newest link mailed to `email`.
async fn mailed_token(app: &TestApp, email: &str) -> String {
    let texts = app.outbox_texts(50).await;
    let (_, text) = texts
        .iter()
        .find(|(to, _)| to == email)
        .expect("a message to the address");
    let link = text
        .split_whitespace()
        .find(|word| word.contains("token="))
        .expect("a link");
    link.rsplit("token=").next().unwrap().to_owned()
}

/// The six-digit code of the newest message to `to`.
async fn sent_code(app: &TestApp, to: &str) -> String {
    let texts = app.outbox_texts(50).await;
    let (_, text) = texts.iter().find(|(recipient, _)| recipient == to).unwrap();
    text.split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .unwrap()
        .to_owned()
}

/// How many magic-link tokens the project holds.
async fn tokens(app: &TestApp) -> u64 {
    app.execute_raw(
        "UPDATE magic_links SET used_at = used_at WHERE project_id = $1",
        app.project_id.as_str(),
    )
    .await
}

async fn a_refused_redirect_url_writes_nothing(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let users = app.count_users().await;
    let email = unique_email("redirect");
    app.post(
        "/v1/magic_links/email/login_or_create",
        json!({"email": email, "signup_magic_link_url": "https://evil.example/cb"}),
    )
    .await
    .assert_error(400, "no_match_for_provided_magic_link_url");
    app.post(
        "/v1/magic_links/email/login_or_create",
        json!({"email": email, "login_magic_link_url": "not a url"}),
    )
    .await
    .assert_error(400, "invalid_magic_link_url");
    assert_eq!(app.count_users().await, users);
    assert_eq!(tokens(&app).await, 0);
    assert!(app.outbox_texts(10).await.is_empty());

    // With a list, only its URLs pass (their own query kept), and localhost no longer does.
    app.store
        .replace_redirect_urls(
            &app.project_id,
            vec![RedirectUrl {
                url: "https://app.example.com/auth?from=mail".to_owned(),
                valid_types: vec![(RedirectType::Login, true), (RedirectType::Signup, true)],
            }],
            Utc::now(),
        )
        .await
        .unwrap();
    app.post(
        "/v1/magic_links/email/login_or_create",
        json!({"email": email, "signup_magic_link_url": LOCAL}),
    )
    .await
    .assert_error(400, "no_match_for_provided_magic_link_url");
    // A type the list does not name has no URL at all, localhost included.
    app.post(
        "/v1/magic_links/email/invite",
        json!({"email": unique_email("invitee"), "invite_magic_link_url": "http://localhost:3000/i"}),
    )
    .await
    .assert_error(400, "no_match_for_provided_magic_link_url");
    let sent = app
        .post(
            "/v1/magic_links/email/login_or_create",
            json!({"email": email}),
        )
        .await;
    assert_eq!(sent.assert_ok()["user_created"], true);
    let (_, text) = app.outbox_texts(1).await.remove(0);
    assert!(
        text.contains(
            "https://app.example.com/auth?from=mail&stytch_token_type=magic_links&token="
        ),
        "{text}"
    );
}

async fn sends_to_one_destination_are_limited(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let email = unique_email("flood");
    for _ in 0..DEFAULT_SEND_LIMITS.per_destination {
        app.post(
            "/v1/magic_links/email/login_or_create",
            json!({"email": email}),
        )
        .await
        .assert_ok();
    }
    let before = tokens(&app).await;
    let refused = app
        .post(
            "/v1/magic_links/email/login_or_create",
            json!({"email": email}),
        )
        .await;
    refused.assert_error(429, "too_many_requests");
    assert_eq!(tokens(&app).await, before, "a refused send leaves no token");
    let sent = app.outbox_texts(100).await;
    assert_eq!(
        sent.iter().filter(|(to, _)| *to == email).count() as u64,
        DEFAULT_SEND_LIMITS.per_destination
    );
    // Another destination is not held up, and sandbox sends are not counted.
    app.post(
        "/v1/otps/sms/login_or_create",
        json!({"phone_number": unique_phone()}),
    )
    .await
    .assert_ok();
    for _ in 0..=DEFAULT_SEND_LIMITS.per_destination {
        app.post(
            "/v1/magic_links/email/login_or_create",
            json!({"email": latchkey_core::delivery::sandbox::EMAIL}),
        )
        .await
        .assert_ok();
    }
}

async fn a_code_dies_after_ten_wrong_tries(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let mut settings = app
        .store
        .get_project(&app.project_id)
        .await
        .unwrap()
        .unwrap()
        .settings;
    settings.lock_threshold = 50;
    app.store
        .update_project_settings(&app.project_id, &settings)
        .await
        .unwrap();
    let phone = unique_phone();
    let sent = app
        .post(
            "/v1/otps/sms/login_or_create",
            json!({"phone_number": phone}),
        )
        .await;
    let phone_id = sent.assert_ok()["phone_id"].as_str().unwrap().to_owned();
    let code = sent_code(&app, &phone).await;
    let wrong = if code == "000001" { "000002" } else { "000001" };
    for _ in 0..10 {
        app.post(
            "/v1/otps/authenticate",
            json!({"method_id": phone_id, "code": wrong}),
        )
        .await
        .assert_error(404, "otp_code_not_found");
    }
    app.post(
        "/v1/otps/authenticate",
        json!({"method_id": phone_id, "code": code}),
    )
    .await
    .assert_error(404, "otp_code_not_found");
}

async fn wrong_codes_count_toward_the_users_lock(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let mut settings = app
        .store
        .get_project(&app.project_id)
        .await
        .unwrap()
        .unwrap()
        .settings;
    settings.lock_threshold = 3;
    app.store
        .update_project_settings(&app.project_id, &settings)
        .await
        .unwrap();
    let email = unique_email("otp-lock");
    let sent = app
        .post("/v1/otps/email/login_or_create", json!({"email": email}))
        .await;
    let email_id = sent.assert_ok()["email_id"].as_str().unwrap().to_owned();
    let code = sent_code(&app, &email).await;
    let wrong = if code == "000001" { "000002" } else { "000001" };
    for _ in 0..3 {
        app.post(
            "/v1/otps/authenticate",
            json!({"method_id": email_id, "code": wrong}),
        )
        .await
        .assert_error(404, "otp_code_not_found");
    }
    app.post(
        "/v1/otps/authenticate",
        json!({"method_id": email_id, "code": code}),
    )
    .await
    .assert_error(429, "user_lock_limit_reached");
}

async fn bad_input_is_a_clear_400(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/v1/magic_links/email/login_or_create",
            json!({"email": "not-an-email"}),
            "invalid_email",
        ),
        ("/v1/magic_links/email/send", json!({}), "invalid_email"),
        (
            "/v1/otps/sms/send",
            json!({"phone_number": "+1"}),
            "invalid_phone_number",
        ),
        (
            "/v1/otps/whatsapp/login_or_create",
            json!({"phone_number": format!("+1{}", "5".repeat(40))}),
            "invalid_phone_number",
        ),
        (
            "/v1/magic_links/email/login_or_create",
            json!({"email": unique_email("x"), "login_expiration_minutes": 4}),
            "invalid_expiration_minutes",
        ),
        (
            "/v1/otps/email/login_or_create",
            json!({"email": unique_email("x"), "expiration_minutes": 11}),
            "invalid_expiration_minutes",
        ),
        (
            "/v1/otps/authenticate",
            json!({"method_id": "phone-number-test-x", "code": "12ab56"}),
            "invalid_code",
        ),
        (
            "/v1/magic_links/email/login_or_create",
            json!({"email": unique_email("x"), "code_challenge": "short"}),
            "invalid_code_challenge",
        ),
        (
            "/v1/magic_links/email/login_or_create",
            json!({"email": unique_email("x"), "surprise": true}),
            "bad_request",
        ),
        (
            "/v1/magic_links/email/login_or_create",
            json!({"email": 5}),
            "bad_request",
        ),
        (
            "/v1/magic_links/authenticate",
            json!({"token": ""}),
            "bad_request",
        ),
    ];
    let users = app.count_users().await;
    for (path, body, error_type) in cases {
        let reply = app.post(path, body.clone()).await;
        assert_eq!(reply.status.as_u16(), 400, "{path} {body}: {}", reply.body);
        assert_eq!(reply.body["error_type"], error_type, "{path} {body}");
    }
    assert_eq!(app.count_users().await, users);
}

async fn messages_are_sealed_at_rest(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let email = unique_email("sealed");
    app.post(
        "/v1/magic_links/email/login_or_create",
        json!({"email": email}),
    )
    .await
    .assert_ok();
    let token = mailed_token(&app, &email).await;
    let stored = app
        .store
        .outbox(&app.project_id, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(stored.status, MessageStatus::Held, "no provider: held");
    assert_eq!(stored.body, "");
    let sealed = stored.sealed.unwrap();
    assert!(!sealed
        .windows(token.len())
        .any(|window| window == token.as_bytes()));
    // Sealed for its project and message: it opens nowhere else.
    let other = MessageContent::context("project-test-other", &stored.message_id);
    assert!(test_vault().open(&other, &sealed).is_err());
}

/// The form bodies a recorder received, in order.
type Forms = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A stand-in for Twilio's Messages API that fails the first request to `fail_once_to` with a
/// 500, and refuses every request to `refuse_to` with a 400 (as Twilio refuses a number it
/// cannot send to).
struct Recorder {
    url: String,
    bodies: Forms,
}

async fn twilio_recorder(fail_once_to: String, refuse_to: String) -> Recorder {
    let bodies: Forms = Arc::default();
    let failed = Arc::new(AtomicUsize::new(0));
    let recorded = bodies.clone();
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        axum::routing::post(move |body: String| {
            let recorded = recorded.clone();
            let failed = failed.clone();
            let fail_once_to = fail_once_to.clone();
            let refuse_to = refuse_to.clone();
            async move {
                let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                let to = |number: &str| form.iter().any(|(k, v)| k == "To" && v == number);
                let (to_it, refused) = (to(&fail_once_to), to(&refuse_to));
                recorded.lock().unwrap().push(form);
                if refused {
                    (axum::http::StatusCode::BAD_REQUEST, "{\"code\":21211}")
                } else if to_it && failed.fetch_add(1, Ordering::SeqCst) == 0 {
                    (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "{\"code\":20500}",
                    )
                } else {
                    (
                        axum::http::StatusCode::CREATED,
                        "{\"sid\":\"SM1\",\"status\":\"queued\"}",
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Recorder { url, bodies }
}

fn twilio(url: &str) -> Delivery {
    Delivery::new(DeliveryConfig {
        twilio: Some(TwilioConfig {
            account_sid: "AC0123".to_owned(),
            auth_token: "token".to_owned(),
            from: "+14155550000".to_owned(),
            api_base: url.to_owned(),
        }),
        limits: Some(SendLimits {
            per_destination: 100,
            ..DEFAULT_SEND_LIMITS
        }),
        ..DeliveryConfig::default()
    })
    .unwrap()
}

async fn a_failed_delivery_is_retried_and_each_message_is_claimed_once(engine: Engine) {
    let (phone, refused) = (unique_phone(), unique_phone());
    let recorder = twilio_recorder(phone.clone(), refused.clone()).await;
    let app = crate::helpers::spawn_app_delivering(
        engine,
        latchkey_server::operations::Limits::default(),
        twilio(&recorder.url),
    )
    .await;
    let worker = twilio(&recorder.url);
    let vault = test_vault();
    app.post(
        "/v1/otps/sms/login_or_create",
        json!({"phone_number": phone}),
    )
    .await
    .assert_ok();
    let now = Utc::now();
    // Every message due at `at` is tried (the shared PostgreSQL database may hold another
    // run's; they go to this recorder too).
    let drain = |at| {
        let (store, vault, worker) = (app.store.clone(), vault.clone(), &worker);
        async move {
            for _ in 0..100 {
                if deliver_due(store.as_ref(), &vault, worker, at)
                    .await
                    .unwrap()
                    == 0
                {
                    return;
                }
            }
            panic!("the queue does not drain");
        }
    };
    let ours = || async {
        app.store
            .outbox(&app.project_id, 1)
            .await
            .unwrap()
            .remove(0)
    };
    // The first try fails: the message waits for its retry, and is not tried again before.
    drain(now).await;
    let failed = ours().await;
    assert_eq!(failed.status, MessageStatus::Queued);
    // A refusal is final: the message fails at once, with no retry.
    app.post(
        "/v1/otps/sms/login_or_create",
        json!({"phone_number": refused}),
    )
    .await
    .assert_ok();
    drain(Utc::now()).await;
    let refusal = ours().await;
    assert_eq!(refusal.recipient, refused);
    assert_eq!(
        (refusal.status, refusal.attempts),
        (MessageStatus::Failed, 1)
    );
    assert_eq!(failed.attempts, 1);
    assert!(failed.last_error.unwrap().contains("500"));
    let later = now + chrono::TimeDelta::seconds(10);
    drain(later).await;
    let sent = app
        .store
        .outbox(&app.project_id, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|message| message.recipient == phone)
        .unwrap();
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.attempts, 2);
    let bodies = recorder.bodies.lock().unwrap().clone();
    let to_us: Vec<_> = bodies
        .iter()
        .filter(|form| form.iter().any(|(k, v)| k == "To" && *v == phone))
        .collect();
    assert_eq!(to_us.len(), 2, "one failed try and one delivery");
    assert!(to_us[1]
        .iter()
        .any(|(k, v)| k == "From" && v == "+14155550000"));

    // Two workers claiming at once (two replicas) never take the same message.
    for _ in 0..20 {
        app.post(
            "/v1/otps/whatsapp/login_or_create",
            json!({"phone_number": unique_phone()}),
        )
        .await
        .assert_ok();
    }
    let until = later + chrono::TimeDelta::seconds(60);
    // A worker claims only what it can send.
    let email_only = app
        .store
        .claim_messages(later, until, 16, &[Channel::Email])
        .await
        .unwrap();
    assert!(email_only
        .iter()
        .all(|claimed| claimed.message.channel == Channel::Email));
    let (a, b) = tokio::join!(
        app.store.claim_messages(later, until, 16, &Channel::ALL),
        app.store.claim_messages(later, until, 16, &Channel::ALL)
    );
    let claims: Vec<_> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .filter(|claimed| claimed.project_id == app.project_id)
        .collect();
    let mut ids: Vec<String> = claims
        .iter()
        .map(|claimed| claimed.message.message_id.clone())
        .collect();
    let claimed = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), claimed, "no message claimed twice");
    assert!(claimed > 0);
    // A claim that lapsed records nothing: the worker that took the message over does.
    let stale = &claims[0];
    let lapsed = until + chrono::TimeDelta::seconds(1);
    let retaken = app
        .store
        .claim_messages(
            lapsed,
            lapsed + chrono::TimeDelta::seconds(60),
            100,
            &Channel::ALL,
        )
        .await
        .unwrap()
        .into_iter()
        .find(|claimed| claimed.message.message_id == stale.message.message_id)
        .expect("a lapsed claim is claimed again");
    assert!(!app
        .store
        .message_sent(&app.project_id, stale, lapsed)
        .await
        .unwrap());
    assert!(app
        .store
        .message_sent(&app.project_id, &retaken, lapsed)
        .await
        .unwrap());
    assert!(!app
        .store
        .message_failed(&app.project_id, stale, "late", Some(lapsed))
        .await
        .unwrap());
    assert_eq!(
        app.store
            .outbox(&app.project_id, 1)
            .await
            .unwrap()
            .remove(0)
            .channel,
        Channel::WhatsApp
    );
    // The shared PostgreSQL database keeps no queued message of this test for later runs.
    app.execute_raw(
        "DELETE FROM outbox WHERE project_id = $1",
        app.project_id.as_str(),
    )
    .await;
}

async fn redirect_urls_are_managed_through_the_api(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let created = app
        .post(
            "/v1/redirect_urls",
            json!({"url": "https://app.example.com/auth", "valid_types": [
                {"type": "LOGIN", "is_default": true}, {"type": "SIGNUP", "is_default": false}]}),
        )
        .await;
    assert_eq!(
        created.assert_ok()["redirect_url"]["valid_types"][0],
        json!({"type": "LOGIN", "is_default": true})
    );
    app.post(
        "/v1/redirect_urls",
        json!({"url": "https://app.example.com/other", "valid_types": [{"type": "SIGNUP", "is_default": true}]}),
    )
    .await
    .assert_ok();
    let listed = app.get("/v1/redirect_urls").await;
    let urls = listed.assert_ok()["redirect_urls"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(urls.len(), 2);
    assert_eq!(urls[0]["url"], "https://app.example.com/auth");
    // The new login default is used when a request names none.
    let email = unique_email("default-url");
    app.create_user(json!({"email": email})).await;
    app.post("/v1/magic_links/email/send", json!({"email": email}))
        .await
        .assert_ok();
    let (_, text) = app.outbox_texts(1).await.remove(0);
    assert!(text.contains("https://app.example.com/auth?stytch_token_type=magic_links"));
    app.post(
        "/v1/redirect_urls",
        json!({"url": "https://app.example.com/x", "valid_types": [{"type": "NOPE"}]}),
    )
    .await
    .assert_error(400, "invalid_redirect_url");
    app.delete("/v1/redirect_urls?url=https%3A%2F%2Fapp.example.com%2Fauth")
        .await
        .assert_ok();
    app.delete("/v1/redirect_urls?url=https%3A%2F%2Fapp.example.com%2Fauth")
        .await
        .assert_error(404, "redirect_url_not_found");
}

both_engines!(
    redirect_urls_are_managed_through_the_api,
    a_refused_redirect_url_writes_nothing,
    sends_to_one_destination_are_limited,
    a_code_dies_after_ten_wrong_tries,
    wrong_codes_count_toward_the_users_lock,
    bad_input_is_a_clear_400,
    messages_are_sealed_at_rest,
    a_failed_delivery_is_retried_and_each_message_is_claimed_once,
);
