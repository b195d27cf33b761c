//! B2B login over HTTP on both engines, with the development outbox as the mailbox: a token
//! of one kind refused by the other kind's endpoints (and left usable), another project's
//! token, intermediate sessions that are unknown, expired or bound to another member, and bad
//! input, each answered with Stytch's error and never a 500. The SDK's end-to-end flows are in
//! `sdk-tests/python/test_b2b_login.py`.

use chrono::{Duration, Utc};
use latchkey_core::ids::{MemberId, OrganizationId};
use latchkey_core::secret::Secret;
use latchkey_core::sessions::intermediate::IntermediateSession;
use serde_json::json;

use crate::both_engines;
use crate::helpers::{unique_email, Engine, TestApp};
use crate::members::{create_member, create_organization};

/// The token of the newest link to `email` of `token_type`.
async fn token(app: &TestApp, email: &str, token_type: &str) -> String {
    let texts = app.outbox_texts(50).await;
    let (_, text) = texts.iter().find(|(to, _)| to == email).expect("a mail");
    let marker = format!("stytch_token_type={token_type}&token=");
    let start = text.find(&marker).expect("a link of that type") + marker.len();
    text[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_owned()
}

async fn a_token_of_one_kind_is_refused_by_the_others_and_left_usable(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let organization = create_organization(&app).await;
    let email = unique_email("kinds");
    create_member(&app, &organization, json!({"email_address": email})).await;
    app.post(
        "/v1/b2b/magic_links/email/login_or_signup",
        json!({"organization_id": organization, "email_address": email}),
    )
    .await
    .assert_ok();
    let member_token = token(&app, &email, "multi_tenant_magic_links").await;
    // A consumer magic link for a user of the same address.
    app.create_user(json!({"email": email})).await;
    app.post("/v1/magic_links/email/send", json!({"email": email}))
        .await
        .assert_ok();
    let user_token = token(&app, &email, "magic_links").await;

    app.post(
        "/v1/magic_links/authenticate",
        json!({"token": member_token}),
    )
    .await
    .assert_error(404, "magic_link_not_found");
    app.post(
        "/v1/b2b/magic_links/authenticate",
        json!({"magic_links_token": user_token}),
    )
    .await
    .assert_error(404, "magic_link_not_found");
    app.post(
        "/v1/b2b/magic_links/discovery/authenticate",
        json!({"discovery_magic_links_token": member_token}),
    )
    .await
    .assert_error(404, "magic_link_not_found");
    // Another project never finds them.
    let (other, other_secret) = app.other_project().await;
    app.request_as(
        Some((other.as_str(), other_secret.as_str())),
        reqwest::Method::POST,
        "/v1/b2b/magic_links/authenticate",
        Some(json!({"magic_links_token": member_token})),
    )
    .await
    .assert_error(404, "magic_link_not_found");
    // Refusals used nothing up.
    app.post(
        "/v1/b2b/magic_links/authenticate",
        json!({"magic_links_token": member_token}),
    )
    .await
    .assert_ok();
    app.post("/v1/magic_links/authenticate", json!({"token": user_token}))
        .await
        .assert_ok();
}

async fn intermediate_sessions_must_be_live_and_the_members_own(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let organization = create_organization(&app).await;
    let ada = create_member(
        &app,
        &organization,
        json!({"email_address": unique_email("ada")}),
    )
    .await;
    let bob = create_member(
        &app,
        &organization,
        json!({"email_address": unique_email("bob")}),
    )
    .await;
    let now = Utc::now();
    let plant = |email: &str, member: &str, expires_at| {
        let session = IntermediateSession {
            email: email.to_owned(),
            organization_id: Some(OrganizationId::parse(&organization).unwrap()),
            member_id: Some(MemberId::parse(member).unwrap()),
            factors: Vec::new(),
            expires_at,
            created_at: now,
        };
        let token = Secret::generate_token();
        (token, session)
    };
    let ada_id = ada["member_id"].as_str().unwrap();
    let bob_id = bob["member_id"].as_str().unwrap();
    let (expired, session) = plant(
        ada["email_address"].as_str().unwrap(),
        ada_id,
        now - Duration::minutes(1),
    );
    app.store
        .issue_intermediate_session(&app.project_id, &expired.digest(), &session)
        .await
        .unwrap();
    let (bobs, session) = plant(
        bob["email_address"].as_str().unwrap(),
        bob_id,
        now + Duration::minutes(5),
    );
    app.store
        .issue_intermediate_session(&app.project_id, &bobs.digest(), &session)
        .await
        .unwrap();
    for ist in [expired.expose(), bobs.expose(), "unknown"] {
        app.post(
            "/v1/b2b/recovery_codes/recover",
            json!({"organization_id": organization, "member_id": ada_id,
                   "recovery_code": "aaaa-bbbb-cccc", "intermediate_session_token": ist}),
        )
        .await
        .assert_error(404, "intermediate_session_not_found");
    }
    for ist in [expired.expose(), "unknown"] {
        app.post(
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            json!({"intermediate_session_token": ist, "organization_id": organization}),
        )
        .await
        .assert_error(404, "intermediate_session_not_found");
    }
    app.post(
        "/v1/b2b/discovery/organizations",
        json!({"intermediate_session_token": expired.expose()}),
    )
    .await
    .assert_error(404, "intermediate_session_not_found");
}

async fn bad_input_is_a_clear_400(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let organization = create_organization(&app).await;
    let cases = [
        (
            "/v1/b2b/magic_links/email/login_or_signup",
            json!({"email_address": "a@b.example"}),
            "bad_request",
        ),
        (
            "/v1/b2b/magic_links/email/login_or_signup",
            json!({"organization_id": organization, "email_address": "nope"}),
            "invalid_email",
        ),
        (
            "/v1/b2b/magic_links/email/login_or_signup",
            json!({"organization_id": organization, "email_address": "a@b.example", "login_expiration_minutes": 1}),
            "invalid_expiration_minutes",
        ),
        (
            "/v1/b2b/magic_links/email/invite",
            json!({"organization_id": organization, "email_address": "a@b.example", "roles": "x"}),
            "bad_request",
        ),
        (
            "/v1/b2b/magic_links/authenticate",
            json!({"magic_links_token": 5}),
            "bad_request",
        ),
        (
            "/v1/b2b/magic_links/email/discovery/send",
            json!({"email_address": "a@b.example", "discovery_redirect_url": "https://evil.example"}),
            "no_match_for_provided_magic_link_url",
        ),
        (
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            json!({"organization_id": organization}),
            "bad_request",
        ),
        (
            "/v1/b2b/discovery/organizations/create",
            json!({"intermediate_session_token": 5}),
            "bad_request",
        ),
    ];
    for (path, body, error_type) in cases {
        let reply = app.post(path, body.clone()).await;
        assert_eq!(reply.status.as_u16(), 400, "{path} {body}: {}", reply.body);
        assert_eq!(reply.body["error_type"], error_type, "{path} {body}");
    }
    app.post(
        "/v1/b2b/magic_links/email/login_or_signup",
        json!({"organization_id": "organization-test-00000000-0000-0000-0000-000000000000",
               "email_address": "a@b.example"}),
    )
    .await
    .assert_error(404, "organization_not_found");
}

both_engines!(
    a_token_of_one_kind_is_refused_by_the_others_and_left_usable,
    intermediate_sessions_must_be_live_and_the_members_own,
    bad_input_is_a_clear_400,
);
