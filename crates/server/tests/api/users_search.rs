//! `POST /v1/users/search`: paging, limits, cursors and every filter.

use std::collections::HashSet;

use chrono::Utc;
use latchkey_core::ids::UserId;
use latchkey_store::NewFactor;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine, TestApp};

async fn search_ids(app: &TestApp, query: Value) -> Vec<String> {
    let reply = app
        .post("/v1/users/search", json!({"query": query, "limit": 1000}))
        .await;
    let body = reply.assert_ok();
    let ids: Vec<String> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["user_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        body["results_metadata"]["total"].as_u64().unwrap() as usize,
        ids.len()
    );
    ids
}

async fn pages_cover_every_user_once_even_with_concurrent_inserts(engine: Engine) {
    let app = spawn_app(engine).await;
    let mut created = HashSet::new();
    for i in 0..25 {
        let user = app
            .create_user(json!({"email": unique_email(&format!("page{i}"))}))
            .await;
        created.insert(user["user_id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut request = json!({"limit": 10});
        if let Some(cursor) = &cursor {
            request["cursor"] = json!(cursor);
        }
        let reply = app.post("/v1/users/search", request).await;
        let body = reply.assert_ok().clone();
        pages += 1;
        for user in body["results"].as_array().unwrap() {
            seen.push(user["user_id"].as_str().unwrap().to_owned());
        }
        // A user created while paging must not shift the pages.
        app.create_user(json!({"email": unique_email("late")}))
            .await;
        match body["results_metadata"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 20, "paging must end");
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no user is returned twice");
    assert!(
        created.is_subset(&unique),
        "every user that existed at the start is returned"
    );
}

async fn limits_and_cursors_are_checked(engine: Engine) {
    let app = spawn_app(engine).await;
    for _ in 0..3 {
        app.create_user(json!({"email": unique_email("lim")})).await;
    }
    let reply = app.post("/v1/users/search", json!({"limit": 2})).await;
    let body = reply.assert_ok();
    assert_eq!(body["results"].as_array().unwrap().len(), 2);
    assert_eq!(body["results_metadata"]["total"], 3);
    assert!(body["results_metadata"]["next_cursor"].is_string());
    // Absent and zero limits mean the default page of 100.
    let reply = app.post("/v1/users/search", json!({"limit": 0})).await;
    assert_eq!(reply.assert_ok()["results"].as_array().unwrap().len(), 3);
    assert_eq!(reply.body["results_metadata"]["next_cursor"], Value::Null);
    for limit in [json!(1001), json!(-1)] {
        app.post("/v1/users/search", json!({"limit": limit}))
            .await
            .assert_error(400, "invalid_limit");
    }
    app.post("/v1/users/search", json!({"limit": "ten"}))
        .await
        .assert_error(400, "bad_request");
    for cursor in [
        "garbage",
        "bGsxOi0x",
        "%%%",
        "bGsxOjk5OTk5OTk5OTk5OTk5OTk5OTk5",
    ] {
        app.post("/v1/users/search", json!({"cursor": cursor}))
            .await
            .assert_error(400, "invalid_search_cursor");
    }
    for query in [
        json!({"operator": "XOR", "operands": []}),
        json!({"operands": []}),
        json!({"operator": "AND", "operands": [{"filter_name": "shoe_size", "filter_value": 42}]}),
        json!({"operator": "AND", "operands": [{"filter_name": "user_id", "filter_value": ["nope"]}]}),
        json!({"operator": "AND", "operands": [{"filter_name": "email_verified", "filter_value": "true"}]}),
        json!({"operator": "AND", "operands": "all"}),
        json!({"operator": "AND", "operands": [{"filter_name": "external_id", "filter_value": ["nul\u{0}byte"]}]}),
        json!({"operator": "AND", "operands": [{"filter_name": "phone_number_fuzzy", "filter_value": "\u{0}"}]}),
    ] {
        app.post("/v1/users/search", json!({"query": query}))
            .await
            .assert_error(400, "invalid_search_query");
    }
}

async fn every_filter_selects_the_right_users(engine: Engine) {
    let app = spawn_app(engine).await;
    let now = Utc::now();
    let ada = app
        .create_user(json!({
            "email": "ada.lovelace@analytical.example.com",
            "phone_number": "+14155550101",
            "name": {"first_name": "Ada", "middle_name": "King", "last_name": "Lovelace"},
            "external_id": "ada-1",
            "roles": ["admin"],
        }))
        .await;
    let grace = app
        .create_user(json!({
            "email": "grace@navy.example.org",
            "name": {"first_name": "Grace", "last_name": "Hopper"},
            "create_user_as_pending": true,
            "roles": ["editor"],
        }))
        .await;
    let alan = app
        .create_user(json!({"phone_number": "+442079460000", "name": {"first_name": "Alan", "last_name": "Turing"}}))
        .await;
    let id = |user: &Value| user["user_id"].as_str().unwrap().to_owned();
    let (ada_id, grace_id, alan_id) = (id(&ada), id(&grace), id(&alan));
    let ada_user_id = UserId::parse(&ada_id).unwrap();
    for factor in [
        NewFactor::Totp { verified: true },
        NewFactor::WebAuthnRegistration {
            domain: "example.com".into(),
            user_agent: "ua".into(),
            authenticator_type: "platform".into(),
            name: "key".into(),
            verified: true,
        },
        NewFactor::BiometricRegistration { verified: false },
        NewFactor::CryptoWallet {
            address: "0xabc".into(),
            wallet_type: "ethereum".into(),
            verified: true,
        },
        NewFactor::OAuthRegistration {
            provider_type: "Google".into(),
            provider_subject: "sub".into(),
            profile_picture_url: String::new(),
            locale: String::new(),
        },
        NewFactor::Password {
            requires_reset: false,
        },
    ] {
        app.store
            .add_factor(&app.project_id, &ada_user_id, factor, now)
            .await
            .unwrap();
    }
    let ada_full = app
        .get(&format!("/v1/users/{ada_id}"))
        .await
        .assert_ok()
        .clone();

    let filter = |name: &str, value: Value| json!({"operator": "AND", "operands": [{"filter_name": name, "filter_value": value}]});
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    let expect = |ids: &[&String]| sorted(ids.iter().map(|id| (*id).clone()).collect());
    let cases: Vec<(Value, Vec<String>)> = vec![
        (
            filter("user_id", json!([ada_id, alan_id])),
            expect(&[&ada_id, &alan_id]),
        ),
        (filter("external_id", json!(["ada-1"])), expect(&[&ada_id])),
        (filter("status", json!("pending")), expect(&[&grace_id])),
        (
            filter("status", json!("active")),
            expect(&[&ada_id, &alan_id]),
        ),
        (
            filter("email_address", json!(["GRACE@navy.example.org"])),
            expect(&[&grace_id]),
        ),
        (
            filter("email_address_fuzzy", json!("Example.")),
            expect(&[&ada_id, &grace_id]),
        ),
        (filter("email_address_fuzzy", json!("%")), expect(&[])),
        (
            filter("email_id", json!([ada["emails"][0]["email_id"]])),
            expect(&[&ada_id]),
        ),
        (
            filter("email_verified", json!(false)),
            expect(&[&ada_id, &grace_id]),
        ),
        (filter("email_verified", json!(true)), expect(&[])),
        (
            filter("phone_number", json!(["+442079460000"])),
            expect(&[&alan_id]),
        ),
        (
            filter("phone_number_fuzzy", json!("555")),
            expect(&[&ada_id]),
        ),
        (
            filter("phone_id", json!([alan["phone_numbers"][0]["phone_id"]])),
            expect(&[&alan_id]),
        ),
        (
            filter("phone_verified", json!(false)),
            expect(&[&ada_id, &alan_id]),
        ),
        (
            filter("full_name_fuzzy", json!("ada lovelace")),
            expect(&[&ada_id]),
        ),
        (filter("full_name_fuzzy", json!("king")), expect(&[&ada_id])),
        (
            filter("full_name_fuzzy", json!("o")),
            expect(&[&ada_id, &grace_id]),
        ),
        (filter("full_name_fuzzy", json!("TUR")), expect(&[&alan_id])),
        (filter("totp_verified", json!(true)), expect(&[&ada_id])),
        (
            filter("totp_id", json!([ada_full["totps"][0]["totp_id"]])),
            expect(&[&ada_id]),
        ),
        (
            filter("webauthn_registration_verified", json!(true)),
            expect(&[&ada_id]),
        ),
        (
            filter(
                "webauthn_registration_id",
                json!([ada_full["webauthn_registrations"][0]["webauthn_registration_id"]]),
            ),
            expect(&[&ada_id]),
        ),
        (
            filter("biometric_registration_verified", json!(true)),
            expect(&[]),
        ),
        (
            filter("biometric_registration_verified", json!(false)),
            expect(&[&ada_id]),
        ),
        (
            filter("crypto_wallet_address", json!(["0xabc"])),
            expect(&[&ada_id]),
        ),
        (
            filter("crypto_wallet_verified", json!(true)),
            expect(&[&ada_id]),
        ),
        (
            filter(
                "crypto_wallet_id",
                json!([ada_full["crypto_wallets"][0]["crypto_wallet_id"]]),
            ),
            expect(&[&ada_id]),
        ),
        (filter("password_exists", json!(true)), expect(&[&ada_id])),
        (
            filter("password_exists", json!(false)),
            expect(&[&grace_id, &alan_id]),
        ),
        (
            filter("oauth_provider", json!(["google"])),
            expect(&[&ada_id]),
        ),
        (
            filter("roles", json!(["editor", "admin"])),
            expect(&[&ada_id, &grace_id]),
        ),
        (
            filter(
                "created_at_greater_than",
                json!((now - chrono::Duration::hours(1)).to_rfc3339()),
            ),
            expect(&[&ada_id, &grace_id, &alan_id]),
        ),
        (
            filter(
                "created_at_less_than",
                json!((now - chrono::Duration::hours(1)).to_rfc3339()),
            ),
            expect(&[]),
        ),
        (
            filter(
                "created_at_between",
                json!({"greater_than": "2000-01-01T00:00:00Z", "less_than": (now + chrono::Duration::hours(1)).to_rfc3339()}),
            ),
            expect(&[&ada_id, &grace_id, &alan_id]),
        ),
        (
            json!({"operator": "AND", "operands": [
                {"filter_name": "status", "filter_value": "active"},
                {"filter_name": "phone_number_fuzzy", "filter_value": "+44"},
            ]}),
            expect(&[&alan_id]),
        ),
        (
            json!({"operator": "OR", "operands": [
                {"filter_name": "status", "filter_value": "pending"},
                {"filter_name": "phone_number_fuzzy", "filter_value": "+44"},
            ]}),
            expect(&[&grace_id, &alan_id]),
        ),
        (
            json!({"operator": "OR", "operands": []}),
            expect(&[&ada_id, &grace_id, &alan_id]),
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            sorted(search_ids(&app, query.clone()).await),
            expected,
            "query {query}"
        );
    }
}

both_engines!(
    pages_cover_every_user_once_even_with_concurrent_inserts,
    limits_and_cursors_are_checked,
    every_filter_selects_the_right_users,
);
