//! B2B TOTP over HTTP: seed 004's migrate replayed, create and authenticate with codes from an
//! independent implementation (totp-rs), member sessions (token and JWT), replay refusal under
//! concurrency, recovery codes (single use, get, rotate), the member lock, secrets unreadable
//! at rest, and isolation between organizations and projects.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use latchkey_core::ids::MemberId;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine, Reply, TestApp};
use crate::members::{create_member, create_organization};
use crate::totps::{app_code, decode_qr, now};

/// Seed 004's secret and recovery codes.
const SEED_SECRET: &str = "BTGNX5RKJRMQWQFRQKTG34JCF6XDRHZS";
const SEED_CODES: [&str; 10] = [
    "ckss-2skx-ebow",
    "spbc-424h-usy0",
    "hi08-n5tk-lns5",
    "1n6i-l5na-8axe",
    "aduj-eufq-w6yy",
    "i4l3-dxyt-urmx",
    "ayyi-utb0-gj0s",
    "lz0m-02bi-psbx",
    "l2qm-zrk1-8ujs",
    "c2qd-k7m4-ifmc",
];

/// An organization and a member of it: (organization_id, member_id).
async fn organization_with_member(app: &TestApp, pending: bool) -> (String, String) {
    let organization = create_organization(app).await;
    let member = create_member(
        app,
        &organization,
        json!({"email_address": unique_email("mfa"), "create_member_as_pending": pending}),
    )
    .await;
    (
        organization,
        member["member_id"].as_str().unwrap().to_owned(),
    )
}

async fn migrate(app: &TestApp, organization: &str, member: &str) -> Reply {
    app.post(
        "/v1/b2b/totp/migrate",
        json!({"organization_id": organization, "member_id": member,
               "secret": SEED_SECRET, "recovery_codes": SEED_CODES}),
    )
    .await
}

async fn authenticate(app: &TestApp, organization: &str, member: &str, extra: Value) -> Reply {
    let mut body = json!({"organization_id": organization, "member_id": member,
                          "code": app_code(SEED_SECRET, now())});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post("/v1/b2b/totp/authenticate", body).await
}

async fn seed_004_migrate_is_replayed(engine: Engine) {
    let app = spawn_app(engine).await;
    let (organization, member) = organization_with_member(&app, true).await;
    // The seed's curl body verbatim (with our ids): its recovery_codes is a string holding raw
    // newlines and quotes, which is not JSON. It gets a clear 400.
    let literal = format!(
        "{{\n    \"organization_id\": \"{organization}\",\n    \"member_id\": \"{member}\",\n    \
         \"secret\": \"{SEED_SECRET}\",\n    \"recovery_codes\": \"[\n        \"ckss-2skx-ebow\",\n        \
         \"spbc-424h-usy0\"\n    ]\"\n  }}"
    );
    let raw = app
        .client
        .post(format!("{}/v1/b2b/totp/migrate", app.base_url))
        .basic_auth(app.project_id.to_string(), Some(&app.secret))
        .header("content-type", "application/json")
        .body(literal)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["error_type"], "bad_request");
    assert!(body["error_message"]
        .as_str()
        .unwrap()
        .contains("Invalid request body"));

    // The seed's request as its fields mean it.
    let reply = migrate(&app, &organization, &member).await;
    let body = reply.assert_ok().clone();
    let totp_id = body["totp_registration_id"].as_str().unwrap();
    assert!(totp_id.starts_with("member-totp-test-"), "{totp_id}");
    assert_eq!(body["member_id"], member.as_str());
    assert_eq!(body["organization_id"], organization.as_str());
    assert_eq!(body["recovery_codes"], json!(SEED_CODES));
    assert_eq!(body["member"]["totp_registration_id"], totp_id);
    assert_eq!(body["member"]["status"], "pending");
    assert_eq!(body["member"]["mfa_enrolled"], false);
    assert_eq!(
        body["organization"]["organization_id"],
        organization.as_str()
    );
    // A member has one active registration.
    migrate(&app, &organization, &member)
        .await
        .assert_error(400, "active_totp_exists");

    // The member's authenticator keeps working: a code from totp-rs, then a seed recovery code.
    let reply = authenticate(&app, &organization, &member, json!({})).await;
    let session = reply.assert_ok().clone();
    assert_eq!(session["member"]["status"], "active");
    assert!(!session["session_token"].as_str().unwrap().is_empty());
    let factors = &session["member_session"]["authentication_factors"];
    assert_eq!(factors[0]["type"], "totp");
    assert_eq!(factors[0]["authenticator_app_factor"]["totp_id"], totp_id);
    let recovered = app
        .post(
            "/v1/b2b/recovery_codes/recover",
            json!({"organization_id": organization, "member_id": member,
                   "recovery_code": SEED_CODES[3].to_uppercase(),
                   "session_token": session["session_token"]}),
        )
        .await;
    let recovered = recovered.assert_ok();
    assert_eq!(recovered["recovery_codes_remaining"], 9);
    // The same session, now with both factors.
    assert_eq!(
        recovered["member_session"]["member_session_id"],
        session["member_session"]["member_session_id"]
    );
    assert_eq!(
        recovered["member_session"]["authentication_factors"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.post(
        "/v1/b2b/recovery_codes/recover",
        json!({"organization_id": organization, "member_id": member,
               "recovery_code": SEED_CODES[3]}),
    )
    .await
    .assert_error(401, "unable_to_authenticate_recovery_code");

    // Without recovery codes, 10 are minted; bad input is refused before anything is written.
    let (organization, member) = organization_with_member(&app, false).await;
    for (body, error) in [
        (json!({"secret": "not base32!"}), "invalid_totp_secret"),
        (
            json!({"secret": SEED_SECRET, "recovery_codes": ["abcdef", "abcdef"]}),
            "invalid_recovery_code",
        ),
        (
            json!({"secret": SEED_SECRET, "recovery_codes": ["abc"]}),
            "invalid_recovery_code",
        ),
        (json!({}), "bad_request"),
    ] {
        let mut body = body;
        body["organization_id"] = json!(organization);
        body["member_id"] = json!(member);
        app.post("/v1/b2b/totp/migrate", body)
            .await
            .assert_error(400, error);
    }
    let minted = app
        .post(
            "/v1/b2b/totp/migrate",
            json!({"organization_id": organization, "member_id": member, "secret": SEED_SECRET}),
        )
        .await;
    let codes = minted.assert_ok()["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
}

async fn create_then_authenticate_enrolls(engine: Engine) {
    let app = spawn_app(engine).await;
    let (organization, member) = organization_with_member(&app, false).await;
    let created = app
        .post(
            "/v1/b2b/totp",
            json!({"organization_id": organization, "member_id": member}),
        )
        .await;
    let created = created.assert_ok().clone();
    let secret = created["secret"].as_str().unwrap();
    let uri = decode_qr(created["qr_code"].as_str().unwrap());
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert_eq!(created["recovery_codes"].as_array().unwrap().len(), 10);
    // Unverified until its first code.
    assert_eq!(created["member"]["totp_registration_id"], "");
    let code = app_code(secret, now());
    let body = json!({"organization_id": organization, "member_id": member, "code": code,
                      "set_mfa_enrollment": "enroll", "set_default_mfa": true,
                      "session_duration_minutes": 30, "session_custom_claims": {"team": "core"}});
    let reply = app.post("/v1/b2b/totp/authenticate", body.clone()).await;
    let reply = reply.assert_ok().clone();
    assert_eq!(reply["member"]["mfa_enrolled"], true);
    assert_eq!(reply["member"]["default_mfa_method"], "totp");
    assert_eq!(
        reply["member"]["totp_registration_id"],
        created["totp_registration_id"]
    );
    let member_session = &reply["member_session"];
    assert!(member_session["member_session_id"]
        .as_str()
        .unwrap()
        .starts_with("member-session-test-"));
    assert_eq!(member_session["organization_id"], organization.as_str());
    assert_eq!(member_session["custom_claims"], json!({"team": "core"}));
    assert_eq!(member_session["roles"], json!(["stytch_member"]));
    // The same code again, sequentially: refused, and nothing is written.
    app.post("/v1/b2b/totp/authenticate", body)
        .await
        .assert_error(401, "totp_code_already_authenticated");
    // A second registration is refused while this one is active; deleting it frees the member.
    app.post(
        "/v1/b2b/totp",
        json!({"organization_id": organization, "member_id": member}),
    )
    .await
    .assert_error(400, "active_totp_exists");
    let deleted = app
        .delete(&format!(
            "/v1/b2b/organizations/{organization}/members/{member}/totp"
        ))
        .await;
    assert_eq!(deleted.assert_ok()["member"]["totp_registration_id"], "");
    assert_eq!(deleted.body["member"]["default_mfa_method"], "");
    authenticate(&app, &organization, &member, json!({}))
        .await
        .assert_error(404, "totp_not_found");
    for (body, error) in [
        (json!({"code": "12345"}), "invalid_totp_code"),
        (
            json!({"code": "123456", "set_mfa_enrollment": "maybe"}),
            "bad_request",
        ),
        (
            json!({"code": "123456", "intermediate_session_token": "ist"}),
            "intermediate_session_not_found",
        ),
        (
            json!({"code": "123456", "session_duration_minutes": 1}),
            "invalid_session_duration_minutes",
        ),
    ] {
        let mut body = body;
        body["organization_id"] = json!(organization);
        body["member_id"] = json!(member);
        let status = if error == "intermediate_session_not_found" {
            404
        } else {
            400
        };
        app.post("/v1/b2b/totp/authenticate", body)
            .await
            .assert_error(status, error);
    }
}

async fn concurrent_replays_are_accepted_exactly_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let (organization, member) = organization_with_member(&app, false).await;
    migrate(&app, &organization, &member).await.assert_ok();
    let code = app_code(SEED_SECRET, now());
    let body = json!({"organization_id": organization, "member_id": member, "code": code});
    let replies = futures::future::join_all(
        (0..8).map(|_| app.post("/v1/b2b/totp/authenticate", body.clone())),
    )
    .await;
    assert_eq!(
        replies.iter().filter(|r| r.status == 200).count(),
        1,
        "{replies:?}"
    );
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.assert_error(401, "totp_code_already_authenticated");
    }
    // Recovery codes too: one of six concurrent uses of a code wins.
    let recover = json!({"organization_id": organization, "member_id": member,
                         "recovery_code": SEED_CODES[0]});
    let replies = futures::future::join_all(
        (0..6).map(|_| app.post("/v1/b2b/recovery_codes/recover", recover.clone())),
    )
    .await;
    assert_eq!(
        replies.iter().filter(|r| r.status == 200).count(),
        1,
        "{replies:?}"
    );
}

async fn member_sessions_authenticate_list_and_revoke(engine: Engine) {
    let app = spawn_app(engine).await;
    let (organization, member) = organization_with_member(&app, false).await;
    migrate(&app, &organization, &member).await.assert_ok();
    let started = authenticate(&app, &organization, &member, json!({})).await;
    let started = started.assert_ok().clone();
    let token = started["session_token"].as_str().unwrap();
    let jwt = started["session_jwt"].as_str().unwrap();
    let session_id = started["member_session"]["member_session_id"].clone();
    for by in [json!({"session_token": token}), json!({"session_jwt": jwt})] {
        let reply = app.post("/v1/b2b/sessions/authenticate", by).await;
        assert_eq!(
            reply.assert_ok()["member_session"]["member_session_id"],
            session_id
        );
        assert_eq!(reply.body["member"]["member_id"], member.as_str());
        assert_eq!(
            reply.body["organization"]["organization_id"],
            organization.as_str()
        );
    }
    // Stytch's organization-scoped RBAC check is refused, never skipped (issue 20).
    app.post(
        "/v1/b2b/sessions/authenticate",
        json!({"session_token": token, "session_duration_minutes": 600,
               "authorization_check": {"organization_id": organization,
                                       "resource_id": "documents", "action": "delete"}}),
    )
    .await
    .assert_error(400, "bad_request");
    let extended = app
        .post(
            "/v1/b2b/sessions/authenticate",
            json!({"session_token": token, "session_duration_minutes": 600,
                   "session_custom_claims": {"seat": 4}}),
        )
        .await;
    let extended = extended.assert_ok();
    assert!(
        extended["member_session"]["expires_at"].as_str().unwrap()
            > started["member_session"]["expires_at"].as_str().unwrap()
    );
    assert_eq!(
        extended["member_session"]["custom_claims"],
        json!({"seat": 4})
    );
    // The JWT carries the organization, as Stytch's B2B JWTs do (checked by the SDK suite).
    let listed = app
        .get(&format!(
            "/v1/b2b/sessions?organization_id={organization}&member_id={member}"
        ))
        .await;
    assert_eq!(
        listed.assert_ok()["member_sessions"][0]["member_session_id"],
        session_id
    );

    // A consumer session is no member session, and the reverse.
    let user = app
        .post(
            "/v1/passwords",
            json!({"email": unique_email("consumer"), "password": "a-Long-and-unusual-passphrase-9",
                   "session_duration_minutes": 60}),
        )
        .await;
    let user_token = user.assert_ok()["session_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let user_jwt = user.body["session_jwt"].as_str().unwrap().to_owned();
    app.post(
        "/v1/b2b/sessions/authenticate",
        json!({"session_token": user_token}),
    )
    .await
    .assert_error(404, "session_not_found");
    // A consumer JWT is signed by a consumer key, which the B2B API does not take (issue 20).
    app.post(
        "/v1/b2b/sessions/authenticate",
        json!({"session_jwt": user_jwt}),
    )
    .await
    .assert_error(401, "unable_to_parse_session_jwt");
    app.post("/v1/sessions/authenticate", json!({"session_token": token}))
        .await
        .assert_error(404, "session_not_found");
    // A member session cannot be extended by another member's factor.
    let (_, other_member) = (organization.clone(), {
        let other = create_member(
            &app,
            &organization,
            json!({"email_address": unique_email("o")}),
        )
        .await;
        other["member_id"].as_str().unwrap().to_owned()
    });
    migrate(&app, &organization, &other_member)
        .await
        .assert_ok();
    authenticate(
        &app,
        &organization,
        &other_member,
        json!({"session_token": token}),
    )
    .await
    .assert_error(404, "session_not_found");

    // Revoked: the token and the JWT stop working.
    app.post("/v1/b2b/sessions/revoke", json!({"session_jwt": jwt}))
        .await
        .assert_ok();
    app.post(
        "/v1/b2b/sessions/authenticate",
        json!({"session_token": token}),
    )
    .await
    .assert_error(404, "session_not_found");
    app.post(
        "/v1/b2b/sessions/revoke",
        json!({"member_session_id": session_id}),
    )
    .await
    .assert_error(404, "session_not_found");
    app.post("/v1/b2b/sessions/revoke", json!({}))
        .await
        .assert_error(400, "bad_request");
    // Revoking by member ends every session of the member; deleting the member does too.
    let other = authenticate(&app, &organization, &other_member, json!({})).await;
    let other_token = other.assert_ok()["session_token"].clone();
    app.post(
        "/v1/b2b/sessions/revoke",
        json!({"member_id": other_member}),
    )
    .await
    .assert_ok();
    app.post(
        "/v1/b2b/sessions/authenticate",
        json!({"session_token": other_token}),
    )
    .await
    .assert_error(404, "session_not_found");
    let last = app
        .post(
            "/v1/b2b/recovery_codes/recover",
            json!({"organization_id": organization, "member_id": member,
                   "recovery_code": SEED_CODES[9]}),
        )
        .await;
    let last_token = last.assert_ok()["session_token"].clone();
    app.delete(&format!(
        "/v1/b2b/organizations/{organization}/members/{member}"
    ))
    .await
    .assert_ok();
    app.post(
        "/v1/b2b/sessions/authenticate",
        json!({"session_token": last_token}),
    )
    .await
    .assert_error(404, "session_not_found");
}

async fn recovery_codes_get_and_rotate(engine: Engine) {
    let app = spawn_app(engine).await;
    let (organization, member) = organization_with_member(&app, false).await;
    let path = format!("/v1/b2b/recovery_codes/{organization}/{member}");
    app.get(&path).await.assert_error(404, "totp_not_found");
    migrate(&app, &organization, &member).await.assert_ok();
    let listed = app.get(&path).await;
    assert_eq!(listed.assert_ok()["remaining_recovery_codes"], 10);
    // Shown again as Stytch shows them (kept sealed beside their digests).
    assert_eq!(listed.body["recovery_codes"], json!(SEED_CODES));
    let rotated = app
        .post(
            "/v1/b2b/recovery_codes/rotate",
            json!({"organization_id": organization, "member_id": member}),
        )
        .await;
    let fresh: Vec<String> = rotated.assert_ok()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    let recover = |code: &str| {
        app.post(
            "/v1/b2b/recovery_codes/recover",
            json!({"organization_id": organization, "member_id": member, "recovery_code": code}),
        )
    };
    recover(SEED_CODES[1])
        .await
        .assert_error(401, "unable_to_authenticate_recovery_code");
    assert_eq!(
        recover(&fresh[0]).await.assert_ok()["recovery_codes_remaining"],
        9
    );
    // The rotated codes, less the one used.
    let listed = app.get(&path).await;
    assert_eq!(listed.assert_ok()["recovery_codes"], json!(fresh[1..]));
}

/// Consumer and member sessions are signed by keys of their own kind, each published at its own
/// JWKS URL, so a JWT of one kind is no JWT of the other (issue 20).
async fn consumer_and_member_jwts_do_not_cross(engine: Engine) {
    let app = spawn_app(engine).await;
    let (organization, member) = organization_with_member(&app, false).await;
    migrate(&app, &organization, &member).await.assert_ok();
    let started = authenticate(&app, &organization, &member, json!({})).await;
    let member_jwt = started.assert_ok()["session_jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    let email = unique_email("kinds");
    let consumer = app
        .post(
            "/v1/passwords",
            json!({"email": email, "password": "vRIQomL!faE2S44s-lantern",
                   "session_duration_minutes": 60}),
        )
        .await;
    let consumer_jwt = consumer.assert_ok()["session_jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    let kids = |path: String| {
        let app = &app;
        async move {
            let jwks = app.request_as(None, Method::GET, &path, None).await;
            jwks.assert_ok()["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|key| key["kid"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let consumer_kids = kids(format!("/v1/sessions/jwks/{}", app.project_id)).await;
    let member_kids = kids(format!("/v1/b2b/sessions/jwks/{}", app.project_id)).await;
    assert!(!consumer_kids.is_empty() && !member_kids.is_empty());
    assert!(consumer_kids.iter().all(|kid| !member_kids.contains(kid)));
    let kid_of = |jwt: &str| {
        let header = jwt.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        header["kid"].as_str().unwrap().to_owned()
    };
    assert!(member_kids.contains(&kid_of(&member_jwt)));
    assert!(consumer_kids.contains(&kid_of(&consumer_jwt)));
    app.post(
        "/v1/sessions/authenticate",
        json!({"session_jwt": member_jwt}),
    )
    .await
    .assert_error(401, "unable_to_parse_session_jwt");
    app.post(
        "/v1/b2b/sessions/authenticate",
        json!({"session_jwt": consumer_jwt}),
    )
    .await
    .assert_error(401, "unable_to_parse_session_jwt");
}

async fn wrong_codes_lock_the_member(engine: Engine) {
    let app = spawn_app(engine).await;
    let (organization, member) = organization_with_member(&app, false).await;
    migrate(&app, &organization, &member).await.assert_ok();
    let right = app_code(SEED_SECRET, now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let body = json!({"organization_id": organization, "member_id": member, "code": wrong});
    for _ in 0..10 {
        app.post("/v1/b2b/totp/authenticate", body.clone())
            .await
            .assert_error(401, "unable_to_authenticate_totp");
    }
    authenticate(&app, &organization, &member, json!({}))
        .await
        .assert_error(429, "user_lock_limit_reached");
    let got = app
        .get(&format!(
            "/v1/b2b/organizations/{organization}/member?member_id={member}"
        ))
        .await;
    assert_eq!(got.assert_ok()["member"]["is_locked"], true);
    assert!(got.body["member"]["lock_expires_at"].is_string());
}

async fn secrets_are_unreadable_at_rest_and_flows_are_isolated(engine: Engine) {
    let app = spawn_app(engine).await;
    let (organization, member) = organization_with_member(&app, false).await;
    let created = app
        .post(
            "/v1/b2b/totp",
            json!({"organization_id": organization, "member_id": member}),
        )
        .await;
    let created = created.assert_ok().clone();
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
        .member_totps(&app.project_id, &MemberId::parse(&member).unwrap())
        .await
        .unwrap();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&stored[0].secret_sealed, &raw_secret));
    assert_eq!(stored[0].recovery_codes.len(), 10);
    if let Some(path) = app.sqlite_path() {
        let mut bytes = std::fs::read(path).unwrap();
        if let Ok(wal) = std::fs::read(format!("{}-wal", path.display())) {
            bytes.extend(wal);
        }
        assert!(
            contains(&bytes, member.as_bytes()),
            "the scan sees the data"
        );
        assert!(!contains(&bytes, secret.as_bytes()));
        assert!(!contains(&bytes, &raw_secret));
        for code in &codes {
            assert!(!contains(&bytes, code.as_bytes()), "{code} is readable");
        }
    }

    // Another organization of the project does not reach the member.
    let other_organization = create_organization(&app).await;
    let code = app_code(secret, now());
    app.post(
        "/v1/b2b/totp/authenticate",
        json!({"organization_id": other_organization, "member_id": member, "code": code}),
    )
    .await
    .assert_error(404, "member_not_found");
    // Another project reaches neither.
    let (other_project, other_secret) = app.other_project().await;
    let project = other_project.to_string();
    for (path, body) in [
        (
            "/v1/b2b/totp/authenticate",
            json!({"organization_id": organization, "member_id": member, "code": code}),
        ),
        (
            "/v1/b2b/totp",
            json!({"organization_id": organization, "member_id": member}),
        ),
        (
            "/v1/b2b/recovery_codes/rotate",
            json!({"organization_id": organization, "member_id": member}),
        ),
    ] {
        app.request_as(
            Some((&project, &other_secret)),
            Method::POST,
            path,
            Some(body),
        )
        .await
        .assert_error(404, "organization_not_found");
    }
    // The member's own organization still works, with the code untouched by the refusals.
    app.post(
        "/v1/b2b/totp/authenticate",
        json!({"organization_id": organization, "member_id": member, "code": code}),
    )
    .await
    .assert_ok();
}

both_engines!(
    seed_004_migrate_is_replayed,
    create_then_authenticate_enrolls,
    concurrent_replays_are_accepted_exactly_once,
    member_sessions_authenticate_list_and_revoke,
    recovery_codes_get_and_rotate,
    wrong_codes_lock_the_member,
    consumer_and_member_jwts_do_not_cross,
    secrets_are_unreadable_at_rest_and_flows_are_isolated,
);
