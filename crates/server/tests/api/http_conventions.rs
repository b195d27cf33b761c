//! Conventions every `/v1` route follows: authentication, error bodies, request ids, limits.

use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::helpers::{spawn_app, Engine};

async fn authentication_is_required_and_checked(engine: Engine) {
    let app = spawn_app(engine).await;
    let project_id = app.project_id.to_string();
    let wrong_secret = format!("{}x", app.secret);
    let unknown_project =
        latchkey_core::ids::ProjectId::generate(latchkey_core::Environment::Test).to_string();
    for credentials in [
        None,
        Some((project_id.as_str(), wrong_secret.as_str())),
        Some((project_id.as_str(), "")),
        Some((unknown_project.as_str(), app.secret.as_str())),
        Some(("not-a-project", app.secret.as_str())),
    ] {
        for (method, path) in [
            (Method::GET, "/v1/users/x"),
            (Method::POST, "/v1/users/search"),
        ] {
            let reply = app
                .request_as(credentials, method, path, Some(json!({})))
                .await;
            reply.assert_error(401, "unauthorized_credentials");
        }
    }
    // A malformed Authorization header.
    for header in ["Bearer abc", "Basic !!!", "Basic", "Basic Zm9v"] {
        let response = app
            .client
            .get(format!("{}/v1/users/x", app.base_url))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
    }
    assert_eq!(app.count_users().await, 0);
}

async fn unknown_routes_methods_and_big_bodies(engine: Engine) {
    let app = spawn_app(engine).await;
    app.get("/v1/nothing/here")
        .await
        .assert_error(404, "route_not_found");
    app.request(Method::PATCH, "/v1/users/search", Some(json!({})))
        .await
        .assert_error(405, "method_not_allowed");
    let huge = json!({"email": "a@example.com", "trusted_metadata": {"blob": "x".repeat(2 * 1024 * 1024)}});
    app.post("/v1/users", huge)
        .await
        .assert_error(413, "request_too_large");
    let response = app
        .client
        .post(format!("{}/v1/users", app.base_url))
        .basic_auth(app.project_id.as_str(), Some(&app.secret))
        .header("content-type", "text/plain")
        .body("email=a@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(app.count_users().await, 0);
}

async fn health_and_readiness(engine: Engine) {
    let app = spawn_app(engine).await;
    for path in ["/healthz", "/readyz"] {
        let response = app
            .client
            .get(format!("{}{path}", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

async fn request_ids_are_unique_and_well_formed(engine: Engine) {
    let app = spawn_app(engine).await;
    let first = app.post("/v1/users/search", json!({})).await;
    let second = app.post("/v1/users/search", json!({})).await;
    let (a, b) = (
        first.assert_ok()["request_id"].clone(),
        second.assert_ok()["request_id"].clone(),
    );
    assert_ne!(a, b);
    let text = a.as_str().unwrap();
    assert!(latchkey_core::ids::RequestId::parse(text).is_ok(), "{text}");
}

both_engines!(
    authentication_is_required_and_checked,
    unknown_routes_methods_and_big_bodies,
    health_and_readiness,
    request_ids_are_unique_and_well_formed,
);
