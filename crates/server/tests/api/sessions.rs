//! Sessions over HTTP: tokens and JWTs from a password login, authenticate, extend, custom
//! claims, revoke, list, expiry, what deleting a user or password ends, JWKS, isolation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{Duration, Utc};
use latchkey_core::ids::SessionId;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine, TestApp};

const PASSWORD: &str = "Session-tests-passphrase-9";

/// A user with a password, logged in with a session; returns (email, user_id, login body).
/// The session that `body` (an authenticate response) started no longer authenticates, named by
/// `field` (`session_token` or `session_jwt`).
async fn assert_session_gone(app: &TestApp, field: &str, body: &Value) {
    app.post("/v1/sessions/authenticate", json!({ field: body[field] }))
        .await
        .assert_error(404, "session_not_found");
}

async fn logged_in(app: &TestApp, minutes: i64) -> (String, String, Value) {
    let email = unique_email("session");
    let created = app
        .post(
            "/v1/passwords",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let user_id = created.assert_ok()["user_id"].as_str().unwrap().to_owned();
    let login = app
        .post(
            "/v1/passwords/authenticate",
            json!({"email": email, "password": PASSWORD, "session_duration_minutes": minutes,
                   "session_custom_claims": {"org": "acme", "level": 3}}),
        )
        .await;
    (email, user_id, login.assert_ok().clone())
}

fn jwt_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn login_issues_token_and_jwt_with_stytch_claims(engine: Engine) {
    let app = spawn_app(engine).await;
    let (email, user_id, body) = logged_in(&app, 60).await;
    let session = &body["session"];
    assert!(session["session_id"]
        .as_str()
        .unwrap()
        .starts_with("session-test-"));
    assert_eq!(session["user_id"], user_id.as_str());
    assert_eq!(session["roles"], json!(["stytch_user"]));
    assert_eq!(session["custom_claims"], json!({"org": "acme", "level": 3}));
    let factor = &session["authentication_factors"][0];
    assert_eq!(factor["type"], "password");
    assert_eq!(factor["delivery_method"], "knowledge");
    assert_eq!(factor["email_factor"]["email_address"], email.as_str());
    let started =
        chrono::DateTime::parse_from_rfc3339(session["started_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - started).num_minutes(), 60);

    let jwt = body["session_jwt"].as_str().unwrap();
    let header = jwt_part(jwt, 0);
    assert_eq!(header["alg"], "RS256");
    let claims = jwt_part(jwt, 1);
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(claims["iss"], format!("stytch.com/{}", app.project_id));
    assert_eq!(claims["aud"], json!([app.project_id.as_str()]));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(claims["nbf"], claims["iat"]);
    assert_eq!(claims["org"], "acme");
    let inner = &claims["https://stytch.com/session"];
    assert_eq!(inner["id"], session["session_id"]);
    assert_eq!(
        inner["authentication_factors"],
        session["authentication_factors"]
    );
    for key in [
        "started_at",
        "last_accessed_at",
        "expires_at",
        "attributes",
        "roles",
    ] {
        assert!(!inner[key].is_null(), "{key}");
    }

    // The JWKS is public and names the signing key.
    let jwks = app
        .request_as(
            None,
            Method::GET,
            &format!("/v1/sessions/jwks/{}", app.project_id),
            None,
        )
        .await;
    let keys = jwks.assert_ok()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], header["kid"]);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    app.request_as(
        None,
        Method::GET,
        "/v1/sessions/jwks/project-test-00000000-0000-4000-8000-000000000000",
        None,
    )
    .await
    .assert_error(404, "project_not_found");
}

async fn authenticate_by_token_and_jwt_extends_and_merges_claims(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, user_id, body) = logged_in(&app, 30).await;
    let token = body["session_token"].as_str().unwrap();
    let jwt = body["session_jwt"].as_str().unwrap();

    let by_token = app
        .post(
            "/v1/sessions/authenticate",
            json!({"session_token": token, "session_duration_minutes": 120,
                   "session_custom_claims": {"level": null, "team": "blue"}}),
        )
        .await;
    let by_token = by_token.assert_ok();
    assert_eq!(by_token["user"]["user_id"], user_id.as_str());
    assert_eq!(by_token["session_token"], token);
    assert_eq!(
        by_token["session"]["custom_claims"],
        json!({"org": "acme", "team": "blue"})
    );
    let expires =
        chrono::DateTime::parse_from_rfc3339(by_token["session"]["expires_at"].as_str().unwrap())
            .unwrap();
    assert!(expires > Utc::now() + Duration::minutes(119));
    assert_eq!(
        jwt_part(by_token["session_jwt"].as_str().unwrap(), 1)["team"],
        "blue"
    );

    let by_jwt = app
        .post("/v1/sessions/authenticate", json!({"session_jwt": jwt}))
        .await;
    let by_jwt = by_jwt.assert_ok();
    assert_eq!(
        by_jwt["session"]["session_id"],
        body["session"]["session_id"]
    );
    assert_eq!(
        by_jwt["session"]["custom_claims"],
        json!({"org": "acme", "team": "blue"})
    );

    // Argument errors.
    app.post("/v1/sessions/authenticate", json!({}))
        .await
        .assert_error(400, "no_session_arguments");
    app.post(
        "/v1/sessions/authenticate",
        json!({"session_token": token, "session_jwt": jwt}),
    )
    .await
    .assert_error(400, "too_many_session_arguments");
    app.post(
        "/v1/sessions/authenticate",
        json!({"session_token": "nope"}),
    )
    .await
    .assert_error(404, "session_not_found");
    app.post("/v1/sessions/authenticate", json!({"session_jwt": "a.b.c"}))
        .await
        .assert_error(401, "unable_to_parse_session_jwt");
    app.post(
        "/v1/sessions/authenticate",
        json!({"session_token": token, "session_duration_minutes": 1}),
    )
    .await
    .assert_error(400, "invalid_session_duration_minutes");
    app.post(
        "/v1/sessions/authenticate",
        json!({"session_token": token, "session_custom_claims": {"https://stytch.com/x": 1}}),
    )
    .await
    .assert_error(400, "stytch_claims_in_custom_claims");
}

async fn revoke_list_expire_and_what_deletes_end(engine: Engine) {
    let app = spawn_app(engine).await;
    let (email, user_id, first) = logged_in(&app, 60).await;
    let second = app
        .post(
            "/v1/passwords/authenticate",
            json!({"email": email, "password": PASSWORD, "session_duration_minutes": 60}),
        )
        .await;
    let second = second.assert_ok().clone();
    let listed = app.get(&format!("/v1/sessions?user_id={user_id}")).await;
    assert_eq!(listed.assert_ok()["sessions"].as_array().unwrap().len(), 2);

    // Revoke by id; by token; by JWT; each then fails to authenticate.
    app.post(
        "/v1/sessions/revoke",
        json!({"session_id": first["session"]["session_id"]}),
    )
    .await
    .assert_ok();
    assert_session_gone(&app, "session_token", &first).await;
    assert_session_gone(&app, "session_jwt", &first).await;
    app.post(
        "/v1/sessions/revoke",
        json!({"session_jwt": second["session_jwt"]}),
    )
    .await
    .assert_ok();
    app.post(
        "/v1/sessions/revoke",
        json!({"session_token": second["session_token"]}),
    )
    .await
    .assert_error(404, "session_not_found");
    app.post("/v1/sessions/revoke", json!({}))
        .await
        .assert_error(400, "no_session_revoke_arguments");
    app.post(
        "/v1/sessions/revoke",
        json!({"session_id": "x", "session_token": "y"}),
    )
    .await
    .assert_error(400, "too_many_session_revoke_arguments");
    let listed = app.get(&format!("/v1/sessions?user_id={user_id}")).await;
    assert_eq!(listed.assert_ok()["sessions"], json!([]));
    app.get("/v1/sessions?user_id=user-test-00000000-0000-4000-8000-000000000000")
        .await
        .assert_error(404, "user_not_found");

    // An expired session fails and is not listed.
    let third = app
        .post(
            "/v1/passwords/authenticate",
            json!({"email": email, "password": PASSWORD, "session_duration_minutes": 60}),
        )
        .await;
    let third = third.assert_ok().clone();
    let session_id = SessionId::parse(third["session"]["session_id"].as_str().unwrap()).unwrap();
    let mut stored = app
        .store
        .session_by_id(&app.project_id, &session_id)
        .await
        .unwrap()
        .unwrap();
    stored.expires_at = Utc::now() - Duration::seconds(1);
    app.store
        .save_session(&app.project_id, &stored)
        .await
        .unwrap();
    assert_session_gone(&app, "session_token", &third).await;
    assert_eq!(
        app.get(&format!("/v1/sessions?user_id={user_id}"))
            .await
            .body["sessions"],
        json!([])
    );

    // Deleting the password ends its sessions; deleting the user ends all.
    let fourth = app
        .post(
            "/v1/passwords/authenticate",
            json!({"email": email, "password": PASSWORD, "session_duration_minutes": 60}),
        )
        .await;
    let fourth = fourth.assert_ok().clone();
    let password_id = fourth["user"]["password"]["password_id"].as_str().unwrap();
    app.delete(&format!("/v1/users/passwords/{password_id}"))
        .await
        .assert_ok();
    assert_session_gone(&app, "session_token", &fourth).await;

    let (_, other_user, fifth) = logged_in(&app, 60).await;
    app.delete(&format!("/v1/users/{other_user}"))
        .await
        .assert_ok();
    assert_session_gone(&app, "session_token", &fifth).await;
}

async fn sessions_and_jwts_never_cross_projects(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, user_id, body) = logged_in(&app, 60).await;
    let (other_id, other_secret) = app.other_project().await;
    let as_other = |path: &'static str, payload: Value| {
        let other_id = other_id.to_string();
        let other_secret = other_secret.clone();
        let app = &app;
        async move {
            app.request_as(
                Some((&other_id, &other_secret)),
                Method::POST,
                path,
                Some(payload),
            )
            .await
        }
    };
    as_other(
        "/v1/sessions/authenticate",
        json!({"session_token": body["session_token"]}),
    )
    .await
    .assert_error(404, "session_not_found");
    as_other(
        "/v1/sessions/authenticate",
        json!({"session_jwt": body["session_jwt"]}),
    )
    .await
    .assert_error(401, "unable_to_parse_session_jwt");
    as_other(
        "/v1/sessions/revoke",
        json!({"session_id": body["session"]["session_id"]}),
    )
    .await
    .assert_error(404, "session_not_found");
    let other_id_text = other_id.to_string();
    app.request_as(
        Some((&other_id_text, &other_secret)),
        Method::GET,
        &format!("/v1/sessions?user_id={user_id}"),
        None,
    )
    .await
    .assert_error(404, "user_not_found");
    // Still alive in its own project.
    app.post(
        "/v1/sessions/authenticate",
        json!({"session_token": body["session_token"]}),
    )
    .await
    .assert_ok();
}

async fn rotated_keys_keep_old_jwts_valid(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, _, body) = logged_in(&app, 60).await;
    let old_jwt = body["session_jwt"].as_str().unwrap().to_owned();
    let key = latchkey_core::jwt::SigningKey::generate(
        &crate::helpers::test_vault(),
        &app.project_id,
        latchkey_core::jwt::KeyKind::Consumer,
        Utc::now() + Duration::seconds(1),
    )
    .unwrap();
    app.store
        .add_signing_key(&app.project_id, &key)
        .await
        .unwrap();
    let refreshed = app
        .post("/v1/sessions/authenticate", json!({"session_jwt": old_jwt}))
        .await;
    let new_jwt = refreshed.assert_ok()["session_jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jwt_part(&new_jwt, 0)["kid"], key.kid.as_str());
    let jwks = app
        .request_as(
            None,
            Method::GET,
            &format!("/v1/sessions/jwks/{}", app.project_id),
            None,
        )
        .await;
    assert_eq!(jwks.assert_ok()["keys"].as_array().unwrap().len(), 2);
}

/// Stytch's RBAC check is never silently skipped (issue 20): with no policy to check it
/// against, the request is refused as a whole, and the session is left as it was.
async fn an_authorization_check_is_refused_not_ignored(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, _, login) = logged_in(&app, 60).await;
    let token = login["session_token"].as_str().unwrap();
    let before = login["session"]["expires_at"].clone();
    app.post(
        "/v1/sessions/authenticate",
        json!({"session_token": token, "session_duration_minutes": 600,
               "authorization_check": {"resource_id": "documents", "action": "delete"}}),
    )
    .await
    .assert_error(400, "bad_request");
    let reply = app
        .post(
            "/v1/sessions/authenticate",
            json!({"session_token": token, "authorization_check": null}),
        )
        .await;
    assert_eq!(reply.assert_ok()["session"]["expires_at"], before);
}

both_engines!(
    an_authorization_check_is_refused_not_ignored,
    login_issues_token_and_jwt_with_stytch_claims,
    authenticate_by_token_and_jwt_extends_and_merges_claims,
    revoke_list_expire_and_what_deletes_end,
    sessions_and_jwts_never_cross_projects,
    rotated_keys_keep_old_jwts_valid,
);
