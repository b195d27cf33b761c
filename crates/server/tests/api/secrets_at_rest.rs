//! Secrets at rest (`docs/security.md`, "Signing keys at rest" and "Secrets key rotation"):
//! JWT signing keys sealed with the vault, their retirement, and the rotation of the secrets key
//! by a re-seal pass while old and new keys both open sealed values.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{Duration, Utc};
use latchkey_core::jwt::{SigningKey, RETIRED_KEY_PUBLISHED_SECONDS};
use latchkey_core::vault::Vault;
use latchkey_store::TotpOwner;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, test_vault, unique_email, Engine, TestApp};
use crate::members::{create_member, create_organization};
use crate::totps::{app_code, now};

const PASSWORD: &str = "vRIQomL!faE2S44s-lantern";

/// A user with a password and a session: (user_id, session_jwt).
async fn logged_in(app: &TestApp) -> (String, String) {
    let email = unique_email("sealed");
    let created = app
        .post(
            "/v1/passwords",
            json!({"email": email, "password": PASSWORD, "session_duration_minutes": 60}),
        )
        .await;
    let created = created.assert_ok();
    (
        created["user_id"].as_str().unwrap().to_owned(),
        created["session_jwt"].as_str().unwrap().to_owned(),
    )
}

fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    let jwks = app
        .request_as(
            None,
            Method::GET,
            &format!("/v1/sessions/jwks/{}", app.project_id),
            None,
        )
        .await;
    jwks.assert_ok()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn authenticate_jwt(app: &TestApp, jwt: &str) -> crate::helpers::Reply {
    app.post("/v1/sessions/authenticate", json!({"session_jwt": jwt}))
        .await
}

async fn signing_keys_are_sealed_and_open_only_with_the_vault(engine: Engine) {
    let app = spawn_app(engine).await;
    // A project's keys are made when it first signs: none before.
    assert!(app
        .store
        .signing_keys(&app.project_id)
        .await
        .unwrap()
        .is_empty());
    let (_, jwt) = logged_in(&app).await;
    let keys = app.store.signing_keys(&app.project_id).await.unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key.kid.as_str(), kid_of(&jwt));
    assert!(!key.is_plaintext(), "a signing key is stored sealed");
    let context = SigningKey::context(&app.project_id, &key.kid);
    let der = test_vault().open(&context, &key.private_key).unwrap();
    assert_eq!(der[0], 0x30, "the sealed value is the key's DER");
    // Another secrets key neither opens nor signs with it.
    let stranger = Vault::from_key_text(&Vault::generate_key_text()).unwrap();
    assert!(stranger.open(&context, &key.private_key).is_err());
    let copy = SigningKey::from_stored(key.stored().clone());
    assert!(copy.sign(&stranger, &json!({"sub": "x"})).is_err());

    // A key stored before sealing (its DER in the clear) is sealed by the pass `serve` runs
    // at start, and signs again.
    assert!(app
        .store
        .reseal_signing_key(&app.project_id, &key.kid, &key.private_key, der.clone())
        .await
        .unwrap());
    let planted = app.store.signing_keys(&app.project_id).await.unwrap();
    assert!(planted[0].is_plaintext());
    // (The project's part of `seal_signing_keys`: the shared PostgreSQL database holds other
    // tests' projects, some under other keys.)
    let sealed = latchkey_server::vault::reseal_signing_keys(
        app.store.as_ref(),
        &test_vault(),
        &app.project_id,
        latchkey_server::vault::KeysToSeal::Plaintext,
    )
    .await
    .unwrap();
    assert_eq!(sealed, 1);
    let resealed = app.store.signing_keys(&app.project_id).await.unwrap();
    assert!(!resealed[0].is_plaintext());
    assert_eq!(
        test_vault()
            .open(&context, &resealed[0].private_key)
            .unwrap(),
        der
    );
    let (_, after) = logged_in(&app).await;
    assert_eq!(kid_of(&after), key.kid.as_str());
    authenticate_jwt(&app, &after).await.assert_ok();
}

async fn a_retired_key_signs_nothing_and_leaves_the_key_set_after_its_jwts_expired(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, first_jwt) = logged_in(&app).await;
    let first = kid_of(&first_jwt);
    let first_id = latchkey_core::ids::SigningKeyId::parse(&first).unwrap();
    app.store
        .retire_signing_key(&app.project_id, &first_id, Utc::now())
        .await
        .unwrap();
    // The next JWT is signed by a new key; the retired one is still published, and the JWTs it
    // signed still authenticate.
    let (_, second_jwt) = logged_in(&app).await;
    let second = kid_of(&second_jwt);
    assert_ne!(second, first);
    let kids = published_kids(&app).await;
    assert!(kids.contains(&first) && kids.contains(&second));
    let refreshed = authenticate_jwt(&app, &first_jwt).await;
    assert_eq!(
        kid_of(refreshed.assert_ok()["session_jwt"].as_str().unwrap()),
        second
    );
    // Retiring again keeps the first retirement.
    app.store
        .retire_signing_key(&app.project_id, &first_id, Utc::now() - Duration::days(1))
        .await
        .unwrap();
    assert!(published_kids(&app).await.contains(&first));

    // A key retired longer ago than its JWTs live is gone from the key set, and its JWTs with
    // it; the project signs with a new key again.
    let second_id = latchkey_core::ids::SigningKeyId::parse(&second).unwrap();
    app.store
        .retire_signing_key(
            &app.project_id,
            &second_id,
            Utc::now() - Duration::seconds(RETIRED_KEY_PUBLISHED_SECONDS + 1),
        )
        .await
        .unwrap();
    let kids = published_kids(&app).await;
    assert!(!kids.contains(&second), "{kids:?}");
    authenticate_jwt(&app, &second_jwt)
        .await
        .assert_error(401, "unable_to_parse_session_jwt");
    let (_, third_jwt) = logged_in(&app).await;
    let third = kid_of(&third_jwt);
    assert!(third != first && third != second);
    authenticate_jwt(&app, &third_jwt).await.assert_ok();

    // A kid the project does not have.
    let stranger = latchkey_core::ids::SigningKeyId::generate(app.project_id.environment());
    assert!(matches!(
        app.store
            .retire_signing_key(&app.project_id, &stranger, Utc::now())
            .await,
        Err(latchkey_store::StoreError::NotFound(
            latchkey_store::Missing::SigningKey
        ))
    ));
    // Nor one of another project.
    let (other, _) = app.other_project().await;
    assert!(app
        .store
        .retire_signing_key(
            &other,
            &latchkey_core::ids::SigningKeyId::parse(&third).unwrap(),
            Utc::now()
        )
        .await
        .is_err());
    authenticate_jwt(&app, &third_jwt).await.assert_ok();
}

/// Seed 004's B2B TOTP secret and two of its recovery codes.
const MEMBER_SECRET: &str = "BTGNX5RKJRMQWQFRQKTG34JCF6XDRHZS";
const MEMBER_CODES: [&str; 2] = ["ckss-2skx-ebow", "spbc-424h-usy0"];

async fn a_secrets_key_rotation_moves_every_sealed_value(engine: Engine) {
    let app = spawn_app(engine).await;
    // Sealed with the suite's key: a user's TOTP with its recovery codes, a member's migrated
    // TOTP, and signing keys of both kinds.
    let (user_id, _) = logged_in(&app).await;
    let created = app.post("/v1/totps", json!({"user_id": user_id})).await;
    let created = created.assert_ok().clone();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let codes: Vec<String> = created["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    app.post(
        "/v1/totps/authenticate",
        json!({"user_id": user_id, "totp_code": app_code(&secret, now())}),
    )
    .await
    .assert_ok();
    let organization = create_organization(&app).await;
    let member = create_member(
        &app,
        &organization,
        json!({"email_address": unique_email("rotation")}),
    )
    .await;
    let member_id = member["member_id"].as_str().unwrap().to_owned();
    app.post(
        "/v1/b2b/totp/migrate",
        json!({"organization_id": organization, "member_id": member_id,
               "secret": MEMBER_SECRET, "recovery_codes": MEMBER_CODES}),
    )
    .await
    .assert_ok();
    let member_login = app
        .post(
            "/v1/b2b/totp/authenticate",
            json!({"organization_id": organization, "member_id": member_id,
                   "code": app_code(MEMBER_SECRET, now()), "session_duration_minutes": 60}),
        )
        .await;
    let member_jwt = member_login.assert_ok()["session_jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    // And a message in the outbox, carrying a link.
    app.post(
        "/v1/magic_links/email/login_or_create",
        json!({"email": unique_email("rotation-mail")}),
    )
    .await
    .assert_ok();

    // The rotation: a new key, with the suite's as the old one, while a server runs with both.
    let new_key = Vault::from_key_text(&Vault::generate_key_text()).unwrap();
    let rotating = new_key.clone().with_old_key(test_vault());
    let during = app.restarted_with(rotating.clone()).await;
    let (_, jwt_during) = logged_in(&during).await;
    authenticate_jwt(&during, &jwt_during).await.assert_ok();
    let report =
        latchkey_server::vault::reseal_project(during.store.as_ref(), &rotating, &app.project_id)
            .await
            .unwrap();
    assert_eq!(report.totps, 1, "{report:?}");
    assert_eq!(report.member_totps, 1, "{report:?}");
    assert_eq!(report.signing_keys, 2, "{report:?}");
    assert_eq!(report.unmovable_recovery_codes, 0);
    assert_eq!(report.messages, 1, "{report:?}");
    assert_eq!(report.unopenable_messages, 0);
    // A second pass finds nothing left to move.
    let again =
        latchkey_server::vault::reseal_project(during.store.as_ref(), &rotating, &app.project_id)
            .await
            .unwrap();
    assert_eq!(again, latchkey_server::vault::ResealReport::default());

    // Every value now opens with the new key alone, and none with the old one.
    for key in app.store.signing_keys(&app.project_id).await.unwrap() {
        let context = SigningKey::context(&app.project_id, &key.kid);
        assert!(new_key.open(&context, &key.private_key).is_ok());
        assert!(test_vault().open(&context, &key.private_key).is_err());
    }
    let message = app
        .store
        .outbox(&app.project_id, 1)
        .await
        .unwrap()
        .remove(0);
    let context = latchkey_core::delivery::MessageContent::context(
        app.project_id.as_str(),
        &message.message_id,
    );
    let sealed = message.sealed.unwrap();
    assert!(new_key.open(&context, &sealed).is_ok());
    assert!(test_vault().open(&context, &sealed).is_err());
    for owner in [TotpOwner::User, TotpOwner::Member] {
        let registrations = app
            .store
            .sealed_totps(owner, &app.project_id, None, 10)
            .await
            .unwrap();
        assert_eq!(registrations.len(), 1);
        let context = format!(
            "totp-secret:{}:{}",
            app.project_id, registrations[0].totp_id
        );
        assert!(new_key
            .open(&context, &registrations[0].secret_sealed)
            .is_ok());
        assert!(test_vault()
            .open(&context, &registrations[0].secret_sealed)
            .is_err());
    }

    // A server with the new key alone: TOTP codes, recovery codes (digested anew), the codes
    // shown again, and JWTs signed before and after all work.
    let after = app.restarted_with(new_key).await;
    after
        .post(
            "/v1/totps/recover",
            json!({"user_id": user_id, "recovery_code": codes[0]}),
        )
        .await
        .assert_ok();
    let listed = after
        .post("/v1/totps/recovery_codes", json!({"user_id": user_id}))
        .await;
    assert_eq!(
        listed.assert_ok()["totps"][0]["recovery_codes"],
        json!(codes[1..])
    );
    after
        .post(
            "/v1/b2b/recovery_codes/recover",
            json!({"organization_id": organization, "member_id": member_id,
                   "recovery_code": MEMBER_CODES[0]}),
        )
        .await
        .assert_ok();
    after
        .post(
            "/v1/b2b/sessions/authenticate",
            json!({"session_jwt": member_jwt}),
        )
        .await
        .assert_ok();
    authenticate_jwt(&after, &jwt_during).await.assert_ok();
    let (_, jwt_after) = logged_in(&after).await;
    authenticate_jwt(&after, &jwt_after).await.assert_ok();
    // TOTP codes: a later step than the one used above.
    after
        .post(
            "/v1/totps/authenticate",
            json!({"user_id": user_id, "totp_code": app_code(&secret, now() + 30)}),
        )
        .await
        .assert_ok();
}

both_engines!(
    signing_keys_are_sealed_and_open_only_with_the_vault,
    a_retired_key_signs_nothing_and_leaves_the_key_set_after_its_jwts_expired,
    a_secrets_key_rotation_moves_every_sealed_value,
);
