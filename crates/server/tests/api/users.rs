//! `/v1/users`: create, get, update, delete, the factor deletes and exchange_primary_factor.

use chrono::Utc;
use latchkey_core::ids::UserId;
use latchkey_store::NewFactor;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, unique_phone, Engine};

/// Every key of Stytch's User object, each of the JSON type Stytch gives it.
fn assert_full_user_object(user: &Value) {
    let arrays = [
        "emails",
        "phone_numbers",
        "webauthn_registrations",
        "providers",
        "totps",
        "crypto_wallets",
        "biometric_registrations",
        "roles",
    ];
    for key in arrays {
        assert!(user[key].is_array(), "{key} must be an array: {user}");
    }
    for key in ["user_id", "status", "created_at", "external_id"] {
        assert!(user[key].is_string(), "{key} must be a string: {user}");
    }
    assert!(user["is_locked"].is_boolean());
    assert!(user["name"].is_object());
    for part in ["first_name", "middle_name", "last_name"] {
        assert!(user["name"][part].is_string());
    }
    assert!(user["trusted_metadata"].is_object());
    assert!(user["untrusted_metadata"].is_object());
    for key in ["password", "lock_created_at", "lock_expires_at"] {
        assert!(user.get(key).is_some(), "{key} must be present: {user}");
    }
    let n_user_keys = user
        .as_object()
        .unwrap()
        .keys()
        .filter(|key| !matches!(key.as_str(), "request_id" | "status_code"))
        .count();
    assert_eq!(n_user_keys, 19, "exactly Stytch's keys: {user}");
    let created_at = user["created_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(created_at).is_ok());
    assert!(created_at.ends_with('Z'));
}

async fn create_returns_the_full_user(engine: Engine) {
    let app = spawn_app(engine).await;
    let reply = app
        .post(
            "/v1/users",
            json!({
                "email": "  Ada.Lovelace@Example.COM ",
                "phone_number": "+12025550123",
                "name": {"first_name": "Ada", "last_name": "Lovelace"},
                "trusted_metadata": {"plan": "pro"},
                "untrusted_metadata": {"theme": "dark"},
                "external_id": "crm|42",
                "roles": ["editor"],
                "attributes": {"ip_address": "203.0.113.1"},
            }),
        )
        .await;
    let body = reply.assert_ok();
    let user = &body["user"];
    assert_full_user_object(user);
    assert!(body["user_id"].as_str().unwrap().starts_with("user-test-"));
    assert_eq!(body["user_id"], user["user_id"]);
    assert_eq!(body["status"], "active");
    assert_eq!(body["email_id"], user["emails"][0]["email_id"]);
    assert_eq!(body["phone_id"], user["phone_numbers"][0]["phone_id"]);
    assert!(body["phone_id"]
        .as_str()
        .unwrap()
        .starts_with("phone-number-test-"));
    assert_eq!(user["emails"][0]["email"], "ada.lovelace@example.com");
    assert_eq!(user["emails"][0]["verified"], false);
    assert_eq!(user["phone_numbers"][0]["phone_number"], "+12025550123");
    assert_eq!(
        user["name"],
        json!({"first_name": "Ada", "middle_name": "", "last_name": "Lovelace"})
    );
    assert_eq!(user["trusted_metadata"], json!({"plan": "pro"}));
    assert_eq!(user["untrusted_metadata"], json!({"theme": "dark"}));
    assert_eq!(user["external_id"], "crm|42");
    assert_eq!(user["roles"], json!(["editor"]));
    assert_eq!(user["password"], Value::Null);
    assert_eq!(user["is_locked"], false);

    // Get returns the same user, its fields at the top level.
    let got = app
        .get(&format!("/v1/users/{}", body["user_id"].as_str().unwrap()))
        .await;
    let got = got.assert_ok();
    for (key, value) in user.as_object().unwrap() {
        assert_eq!(&got[key], value, "{key}");
    }
}

async fn create_as_pending_and_with_phone_only(engine: Engine) {
    let app = spawn_app(engine).await;
    let reply = app
        .post(
            "/v1/users",
            json!({"phone_number": "+10000000000", "create_user_as_pending": true}),
        )
        .await;
    let body = reply.assert_ok();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["user"]["status"], "pending");
    assert_eq!(body["email_id"], "");
    assert_eq!(body["user"]["emails"], json!([]));
    assert_eq!(body["user"]["external_id"], "");
    assert_full_user_object(&body["user"]);
}

async fn create_refuses_bad_input_and_writes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let cases = [
        (json!({"email": "not-an-email"}), "invalid_email"),
        (json!({"email": "a@localhost"}), "invalid_email"),
        (
            json!({"phone_number": "2025550123"}),
            "invalid_phone_number",
        ),
        (json!({"phone_number": "+1999"}), "invalid_phone_number"),
        (json!({}), "email_or_phone_number_required"),
        (json!({"email": ""}), "email_or_phone_number_required"),
        (
            json!({"email": "ok@example.com", "external_id": "has space"}),
            "invalid_external_id",
        ),
        (
            json!({"email": "ok@example.com", "external_id": "x".repeat(129)}),
            "invalid_external_id",
        ),
        (
            json!({"email": "ok@example.com", "trusted_metadata": [1, 2]}),
            "invalid_metadata",
        ),
        (
            json!({"email": "ok@example.com", "untrusted_metadata": {"k": "v".repeat(5000)}}),
            "invalid_metadata",
        ),
        (
            json!({"email": "ok@example.com", "roles": [""]}),
            "invalid_roles",
        ),
        (
            json!({"email": "ok@example.com", "name": {"first_name": "x".repeat(300)}}),
            "invalid_name",
        ),
        (json!({"email": "nul\u{0}@example.com"}), "invalid_email"),
        (
            json!({"email": "ok@example.com", "external_id": "nul\u{0}"}),
            "invalid_external_id",
        ),
        (
            json!({"email": "ok@example.com", "name": {"last_name": "nul\u{0}"}}),
            "invalid_name",
        ),
        (json!({"email": 42}), "bad_request"),
        (
            json!({"email": "ok@example.com", "create_user_as_pending": "yes"}),
            "bad_request",
        ),
        (
            json!({"email": "ok@example.com", "roles": "admin"}),
            "bad_request",
        ),
        (json!([1, 2, 3]), "bad_request"),
        (json!("just a string"), "bad_request"),
    ];
    for (body, error_type) in cases {
        let reply = app.post("/v1/users", body.clone()).await;
        assert_eq!(
            reply.body["error_type"], error_type,
            "for {body}: {}",
            reply.body
        );
        reply.assert_error(400, error_type);
    }
    // Malformed JSON.
    let response = app
        .client
        .post(format!("{}/v1/users", app.base_url))
        .basic_auth(app.project_id.as_str(), Some(&app.secret))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_type"], "bad_request");
    assert_eq!(
        app.count_users().await,
        0,
        "a refused request writes nothing"
    );
}

async fn duplicates_are_refused_and_write_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let email = unique_email("dup");
    let phone = unique_phone();
    app.create_user(json!({"email": email, "phone_number": phone, "external_id": "ext-dup"}))
        .await;
    // Same email, differently cased: still the same address.
    app.post("/v1/users", json!({"email": email.to_uppercase()}))
        .await
        .assert_error(400, "duplicate_email");
    app.post("/v1/users", json!({"phone_number": phone}))
        .await
        .assert_error(400, "duplicate_phone_number");
    app.post(
        "/v1/users",
        json!({"email": unique_email("other"), "external_id": "ext-dup"}),
    )
    .await
    .assert_error(400, "duplicate_external_id");
    // A new email with a duplicate phone: the whole create is rolled back, email included.
    let fresh = unique_email("fresh");
    app.post("/v1/users", json!({"email": fresh, "phone_number": phone}))
        .await
        .assert_error(400, "duplicate_phone_number");
    assert_eq!(app.count_users().await, 1);
    app.create_user(json!({"email": fresh})).await;
}

async fn concurrent_creates_of_one_email_make_one_user(engine: Engine) {
    let app = std::sync::Arc::new(spawn_app(engine).await);
    let email = unique_email("race");
    let attempts = (0..16).map(|_| {
        let app = app.clone();
        let email = email.clone();
        tokio::spawn(async move { app.post("/v1/users", json!({"email": email})).await })
    });
    let replies = futures::future::join_all(attempts).await;
    let mut created = 0;
    for reply in replies {
        let reply = reply.unwrap();
        if reply.status == 200 {
            created += 1;
        } else {
            reply.assert_error(400, "duplicate_email");
        }
    }
    assert_eq!(created, 1);
    assert_eq!(app.count_users().await, 1);
}

async fn get_by_external_id_and_errors(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app
        .create_user(json!({"email": unique_email("get"), "external_id": "acme.user-7"}))
        .await;
    let by_external = app.get("/v1/users/acme.user-7").await;
    assert_eq!(by_external.assert_ok()["user_id"], user["user_id"]);
    app.get(&format!(
        "/v1/users/{}",
        UserId::generate(latchkey_core::Environment::Test)
    ))
    .await
    .assert_error(404, "user_not_found");
    app.get("/v1/users/unknown-external")
        .await
        .assert_error(404, "user_not_found");
    app.get("/v1/users/has%20space")
        .await
        .assert_error(400, "invalid_user_id");
    app.get(&format!("/v1/users/{}", "x".repeat(200)))
        .await
        .assert_error(400, "invalid_user_id");
}

async fn update_merges_metadata_and_changes_fields(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app
        .create_user(json!({
            "email": unique_email("upd"),
            "name": {"first_name": "Grace", "last_name": "Hopper"},
            "trusted_metadata": {"plan": "free", "seats": 1, "keep": true},
        }))
        .await;
    let user_id = user["user_id"].as_str().unwrap();
    let new_email = unique_email("added");
    let reply = app
        .put(
            &format!("/v1/users/{user_id}"),
            json!({
                "name": {"middle_name": "Brewster"},
                "trusted_metadata": {"plan": "pro", "seats": null},
                "untrusted_metadata": {"locale": "en"},
                "external_id": "navy-1906",
                "roles": ["admin", "billing"],
                "emails": [{"email": new_email}],
            }),
        )
        .await;
    let body = reply.assert_ok();
    let updated = &body["user"];
    assert_full_user_object(updated);
    assert_eq!(body["user_id"], user["user_id"]);
    assert_eq!(body["emails"], updated["emails"]);
    assert_eq!(body["phone_numbers"], updated["phone_numbers"]);
    assert_eq!(body["crypto_wallets"], updated["crypto_wallets"]);
    assert_eq!(
        updated["name"],
        json!({"first_name": "Grace", "middle_name": "Brewster", "last_name": "Hopper"})
    );
    assert_eq!(
        updated["trusted_metadata"],
        json!({"plan": "pro", "keep": true})
    );
    assert_eq!(updated["untrusted_metadata"], json!({"locale": "en"}));
    assert_eq!(updated["external_id"], "navy-1906");
    assert_eq!(updated["roles"], json!(["admin", "billing"]));
    assert_eq!(updated["emails"].as_array().unwrap().len(), 2);
    assert_eq!(updated["emails"][1]["email"], new_email);
    assert_eq!(updated["emails"][1]["verified"], false);
    // The update is what a later read returns.
    let got = app.get("/v1/users/navy-1906").await;
    assert_eq!(
        got.assert_ok()["trusted_metadata"],
        json!({"plan": "pro", "keep": true})
    );

    // A refused update changes nothing, not even the parts that were valid.
    let other = app
        .create_user(json!({"email": unique_email("other")}))
        .await;
    let other_email = other["emails"][0]["email"].clone();
    app.put(
        &format!("/v1/users/{user_id}"),
        json!({"name": {"first_name": "Changed"}, "emails": [{"email": other_email}]}),
    )
    .await
    .assert_error(400, "duplicate_email");
    let got = app.get(&format!("/v1/users/{user_id}")).await;
    assert_eq!(got.assert_ok()["name"]["first_name"], "Grace");
    app.put(
        &format!("/v1/users/{user_id}"),
        json!({"trusted_metadata": {"big": "x".repeat(5000)}}),
    )
    .await
    .assert_error(400, "invalid_metadata");
    app.put(
        &format!(
            "/v1/users/{}",
            UserId::generate(latchkey_core::Environment::Test)
        ),
        json!({}),
    )
    .await
    .assert_error(404, "user_not_found");

    // Removing the external id.
    let reply = app
        .delete(&format!("/v1/users/{user_id}/external_id"))
        .await;
    assert_eq!(reply.assert_ok()["user"]["external_id"], "");
    app.get("/v1/users/navy-1906")
        .await
        .assert_error(404, "user_not_found");
}

async fn delete_user_removes_it_and_its_factors(engine: Engine) {
    let app = spawn_app(engine).await;
    let email = unique_email("del");
    let user = app
        .create_user(json!({"email": email, "external_id": "gone-soon"}))
        .await;
    let user_id = user["user_id"].as_str().unwrap();
    let reply = app.delete(&format!("/v1/users/{user_id}")).await;
    assert_eq!(reply.assert_ok()["user_id"], user_id);
    app.get(&format!("/v1/users/{user_id}"))
        .await
        .assert_error(404, "user_not_found");
    app.delete(&format!("/v1/users/{user_id}"))
        .await
        .assert_error(404, "user_not_found");
    // The email and the external id are free again.
    app.create_user(json!({"email": email, "external_id": "gone-soon"}))
        .await;
    // Deleting by external id.
    app.delete("/v1/users/gone-soon").await.assert_ok();
    assert_eq!(app.count_users().await, 0);
}

async fn every_factor_can_be_deleted(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app
        .create_user(json!({"email": unique_email("factors"), "phone_number": unique_phone()}))
        .await;
    let user_id = UserId::parse(user["user_id"].as_str().unwrap()).unwrap();
    let now = Utc::now();
    for factor in [
        NewFactor::WebAuthnRegistration {
            domain: "example.com".into(),
            user_agent: "test-agent".into(),
            authenticator_type: "platform".into(),
            name: "Laptop".into(),
            verified: true,
        },
        NewFactor::BiometricRegistration { verified: true },
        NewFactor::Totp { verified: false },
        NewFactor::CryptoWallet {
            address: "0xab5801a7d398351b8be11c439e05c5b3259aec9b".into(),
            wallet_type: "ethereum".into(),
            verified: true,
        },
        NewFactor::OAuthRegistration {
            provider_type: "Google".into(),
            provider_subject: "10769150350006150715113082367".into(),
            profile_picture_url: "https://example.com/p.png".into(),
            locale: "en".into(),
        },
        NewFactor::Password {
            requires_reset: false,
        },
    ] {
        app.store
            .add_factor(&app.project_id, &user_id, factor, now)
            .await
            .unwrap();
    }
    let full = app
        .get(&format!("/v1/users/{user_id}"))
        .await
        .assert_ok()
        .clone();
    assert_full_user_object(&full);
    // Every column of every factor lands in its own field (the store reads them all in one
    // statement, through shared columns).
    let webauthn = &full["webauthn_registrations"][0];
    assert_eq!(webauthn["name"], "Laptop");
    assert_eq!(webauthn["domain"], "example.com");
    assert_eq!(webauthn["user_agent"], "test-agent");
    assert_eq!(webauthn["authenticator_type"], "platform");
    assert_eq!(webauthn["verified"], true);
    assert_eq!(full["biometric_registrations"][0]["verified"], true);
    assert_eq!(full["totps"][0]["verified"], false);
    let wallet = &full["crypto_wallets"][0];
    assert_eq!(
        wallet["crypto_wallet_address"],
        "0xab5801a7d398351b8be11c439e05c5b3259aec9b"
    );
    assert_eq!(wallet["crypto_wallet_type"], "ethereum");
    assert_eq!(wallet["verified"], true);
    let provider = &full["providers"][0];
    assert!(
        provider["oauth_user_registration_id"]
            .as_str()
            .unwrap()
            .starts_with("oauth-user-test-"),
        "{provider}"
    );
    assert_eq!(provider["provider_type"], "Google");
    assert_eq!(
        provider["provider_subject"],
        "10769150350006150715113082367"
    );
    assert_eq!(provider["profile_picture_url"], "https://example.com/p.png");
    assert_eq!(provider["locale"], "en");
    assert_eq!(full["emails"][0]["verified"], false);
    assert_eq!(full["phone_numbers"][0]["verified"], false);
    assert!(full["password"]["password_id"]
        .as_str()
        .unwrap()
        .starts_with("password-test-"));
    assert_eq!(full["password"]["requires_reset"], false);

    let deletions = [
        (
            "emails",
            full["emails"][0]["email_id"].clone(),
            "emails",
            "email_not_found",
        ),
        (
            "phone_numbers",
            full["phone_numbers"][0]["phone_id"].clone(),
            "phone_numbers",
            "phone_number_not_found",
        ),
        (
            "webauthn_registrations",
            full["webauthn_registrations"][0]["webauthn_registration_id"].clone(),
            "webauthn_registrations",
            "webauthn_registration_not_found",
        ),
        (
            "biometric_registrations",
            full["biometric_registrations"][0]["biometric_registration_id"].clone(),
            "biometric_registrations",
            "biometric_registration_not_found",
        ),
        (
            "totps",
            full["totps"][0]["totp_id"].clone(),
            "totps",
            "totp_not_found",
        ),
        (
            "crypto_wallets",
            full["crypto_wallets"][0]["crypto_wallet_id"].clone(),
            "crypto_wallets",
            "crypto_wallet_not_found",
        ),
        (
            "passwords",
            full["password"]["password_id"].clone(),
            "password",
            "password_not_found",
        ),
        (
            "oauth",
            full["providers"][0]["oauth_user_registration_id"].clone(),
            "providers",
            "oauth_user_registration_not_found",
        ),
    ];
    for (path, id, field, not_found) in deletions {
        let id = id.as_str().unwrap();
        let reply = app.delete(&format!("/v1/users/{path}/{id}")).await;
        let body = reply.assert_ok();
        assert_eq!(body["user_id"], user_id.as_str());
        let remaining = &body["user"][field];
        assert!(
            remaining.is_null() || remaining.as_array().is_some_and(Vec::is_empty),
            "{field} should be gone: {remaining}"
        );
        app.delete(&format!("/v1/users/{path}/{id}"))
            .await
            .assert_error(404, not_found);
        app.delete(&format!("/v1/users/{path}/not-an-id"))
            .await
            .assert_error(
                400,
                &format!(
                    "invalid_{}",
                    match path {
                        "emails" => "email_id",
                        "phone_numbers" => "phone_id",
                        "webauthn_registrations" => "webauthn_registration_id",
                        "biometric_registrations" => "biometric_registration_id",
                        "totps" => "totp_id",
                        "crypto_wallets" => "crypto_wallet_id",
                        "passwords" => "password_id",
                        _ => "oauth_user_registration_id",
                    }
                ),
            );
    }
    let after = app.get(&format!("/v1/users/{user_id}")).await;
    let after = after.assert_ok();
    assert_full_user_object(after);
    assert_eq!(after["password"], Value::Null);
}

async fn exchange_primary_factor(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app
        .create_user(json!({"email": unique_email("swap")}))
        .await;
    let user_id = user["user_id"].as_str().unwrap();
    let phone = unique_phone();
    let reply = app
        .put(
            &format!("/v1/users/{user_id}/exchange_primary_factor"),
            json!({"phone_number": phone}),
        )
        .await;
    let body = reply.assert_ok();
    assert_eq!(body["user_id"], user_id);
    assert_eq!(body["user"]["emails"], json!([]));
    assert_eq!(body["user"]["phone_numbers"][0]["phone_number"], phone);
    assert_eq!(body["user"]["phone_numbers"][0]["verified"], false);

    let new_email = unique_email("swapped");
    let reply = app
        .put(
            &format!("/v1/users/{user_id}/exchange_primary_factor"),
            json!({"email_address": new_email}),
        )
        .await;
    assert_eq!(reply.assert_ok()["user"]["emails"][0]["email"], new_email);

    for body in [
        json!({}),
        json!({"email_address": unique_email("a"), "phone_number": unique_phone()}),
    ] {
        app.put(
            &format!("/v1/users/{user_id}/exchange_primary_factor"),
            body,
        )
        .await
        .assert_error(400, "bad_request");
    }
    app.put(
        &format!("/v1/users/{user_id}/exchange_primary_factor"),
        json!({"email_address": "nope"}),
    )
    .await
    .assert_error(400, "invalid_email");

    // Two factors: refused, and nothing changes.
    let two = app
        .create_user(json!({"email": unique_email("two"), "phone_number": unique_phone()}))
        .await;
    let two_id = two["user_id"].as_str().unwrap();
    app.put(
        &format!("/v1/users/{two_id}/exchange_primary_factor"),
        json!({"email_address": unique_email("x")}),
    )
    .await
    .assert_error(400, "user_has_multiple_factors");
    let after = app.get(&format!("/v1/users/{two_id}")).await;
    assert_eq!(after.assert_ok()["emails"], two["emails"]);

    // Exchanging to an address another user holds.
    let taken = two["emails"][0]["email"].as_str().unwrap();
    app.put(
        &format!("/v1/users/{user_id}/exchange_primary_factor"),
        json!({"email_address": taken}),
    )
    .await
    .assert_error(400, "duplicate_email");
    let after = app.get(&format!("/v1/users/{user_id}")).await;
    assert_eq!(
        after.assert_ok()["emails"][0]["email"],
        new_email,
        "a refused exchange keeps the old factor"
    );
}

/// An OAuth registration id of Stytch's form (`oauth-user-test-<uuid>`) that names nothing is
/// a 404, like every other factor's; only an id that is not of that form is a 400.
async fn an_unknown_oauth_registration_is_not_found(engine: Engine) {
    let app = spawn_app(engine).await;
    let unknown = format!("oauth-user-test-{}", uuid::Uuid::new_v4());
    app.delete(&format!("/v1/users/oauth/{unknown}"))
        .await
        .assert_error(404, "oauth_user_registration_not_found");
    for malformed in [
        format!("oauth-user-registration-test-{}", uuid::Uuid::new_v4()),
        format!("oauth-user-prod-{}", uuid::Uuid::new_v4()),
    ] {
        app.delete(&format!("/v1/users/oauth/{malformed}"))
            .await
            .assert_error(400, "invalid_oauth_user_registration_id");
    }
}

/// Migration 0011 renames the registrations Latchkey minted under its former prefix
/// (`oauth-user-registration-…`), which its parser now refuses, to Stytch's, keeping the UUID.
async fn migration_renames_former_oauth_registration_ids(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app
        .create_user(json!({"email": unique_email("oauth-rename")}))
        .await;
    let user_id = UserId::parse(user["user_id"].as_str().unwrap()).unwrap();
    app.store
        .add_factor(
            &app.project_id,
            &user_id,
            NewFactor::OAuthRegistration {
                provider_type: "Google".into(),
                provider_subject: "subject-1".into(),
                profile_picture_url: String::new(),
                locale: String::new(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let path = format!("/v1/users/{user_id}");
    let minted = app.get(&path).await.assert_ok()["providers"][0]["oauth_user_registration_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uuid = &minted[minted.len() - 36..];
    // The row as a server before the rename wrote it.
    let former = "UPDATE oauth_registrations SET oauth_user_registration_id = \
                  'oauth-user-registration-test-' || substr(oauth_user_registration_id, 17) \
                  WHERE user_id = $1";
    assert_eq!(app.execute_raw(former, user_id.as_str()).await, 1);
    app.get(&path)
        .await
        .assert_error(500, "internal_server_error");
    app.execute_script(match engine {
        Engine::Sqlite => include_str!("../../../store/migrations/sqlite/0011_oauth_user_ids.sql"),
        Engine::Postgres => {
            include_str!("../../../store/migrations/postgres/0011_oauth_user_ids.sql")
        }
    })
    .await;
    let renamed = app.get(&path).await;
    assert_eq!(
        renamed.assert_ok()["providers"][0]["oauth_user_registration_id"],
        format!("oauth-user-test-{uuid}")
    );
}

/// A stored value the store cannot read back is a 500 in Stytch's shape (logged with its
/// cause), never a default in its place: metadata that is not a JSON object is not `{}`, an
/// instant out of range is not the epoch.
async fn a_corrupt_row_is_a_500_not_a_default(engine: Engine) {
    let app = spawn_app(engine).await;
    for corruption in [
        "UPDATE users SET trusted_metadata = 'not json' WHERE user_id = $1",
        "UPDATE users SET untrusted_metadata = '[1, 2]' WHERE user_id = $1",
        "UPDATE users SET created_at = 9223372036854775807 WHERE user_id = $1",
    ] {
        let user = app
            .create_user(json!({"email": unique_email("corrupt")}))
            .await;
        let user_id = user["user_id"].as_str().unwrap();
        assert_eq!(app.execute_raw(corruption, user_id).await, 1);
        let reply = app.get(&format!("/v1/users/{user_id}")).await;
        reply.assert_error(500, "internal_server_error");
        assert_eq!(
            reply.body["error_url"],
            "https://stytch.com/docs/api/errors/500#internal_server_error"
        );
        let mut keys: Vec<&str> = reply
            .body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "error_message",
                "error_type",
                "error_url",
                "request_id",
                "status_code"
            ],
            "{corruption}"
        );
        // Nothing of the row reaches the caller.
        assert!(!reply.body.to_string().contains("not json"));
        // A search over the same row refuses the same way.
        let search = app
            .post(
                "/v1/users/search",
                json!({"query": {"operator": "AND", "operands": [
                    {"filter_name": "user_id", "filter_value": [user_id]}]}}),
            )
            .await;
        search.assert_error(500, "internal_server_error");
    }
}

both_engines!(
    a_corrupt_row_is_a_500_not_a_default,
    an_unknown_oauth_registration_is_not_found,
    migration_renames_former_oauth_registration_ids,
    create_returns_the_full_user,
    create_as_pending_and_with_phone_only,
    create_refuses_bad_input_and_writes_nothing,
    duplicates_are_refused_and_write_nothing,
    concurrent_creates_of_one_email_make_one_user,
    get_by_external_id_and_errors,
    update_merges_metadata_and_changes_fields,
    delete_user_removes_it_and_its_factors,
    every_factor_can_be_deleted,
    exchange_primary_factor,
);
