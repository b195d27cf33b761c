//! One project never reaches another's users, whatever it presents.

use reqwest::Method;
use serde_json::json;

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine};

async fn another_project_can_neither_read_nor_change_users(engine: Engine) {
    let app = spawn_app(engine).await;
    let email = unique_email("iso");
    let user = app
        .create_user(
            json!({"email": email, "phone_number": "+14155550123", "external_id": "shared-ext"}),
        )
        .await;
    let user_id = user["user_id"].as_str().unwrap();
    let email_id = user["emails"][0]["email_id"].as_str().unwrap();
    let phone_id = user["phone_numbers"][0]["phone_id"].as_str().unwrap();
    let (other_id, other_secret) = app.other_project().await;
    let as_other = Some((other_id.as_str(), other_secret.as_str()));

    for (method, path, body) in [
        (Method::GET, format!("/v1/users/{user_id}"), None),
        (Method::GET, "/v1/users/shared-ext".to_owned(), None),
        (
            Method::PUT,
            format!("/v1/users/{user_id}"),
            Some(json!({"name": {"first_name": "Mallory"}})),
        ),
        (
            Method::PUT,
            format!("/v1/users/{user_id}/exchange_primary_factor"),
            Some(json!({"email_address": unique_email("m")})),
        ),
        (
            Method::DELETE,
            format!("/v1/users/{user_id}/external_id"),
            None,
        ),
        (Method::DELETE, format!("/v1/users/{user_id}"), None),
    ] {
        let reply = app.request_as(as_other, method.clone(), &path, body).await;
        reply.assert_error(404, "user_not_found");
    }
    app.request_as(
        as_other,
        Method::DELETE,
        &format!("/v1/users/emails/{email_id}"),
        None,
    )
    .await
    .assert_error(404, "email_not_found");
    app.request_as(
        as_other,
        Method::DELETE,
        &format!("/v1/users/phone_numbers/{phone_id}"),
        None,
    )
    .await
    .assert_error(404, "phone_number_not_found");
    let search = app
        .request_as(as_other, Method::POST, "/v1/users/search", Some(json!({})))
        .await;
    assert_eq!(search.assert_ok()["results_metadata"]["total"], 0);
    let search = app
        .request_as(
            as_other,
            Method::POST,
            "/v1/users/search",
            Some(json!({"query": {"operator": "OR", "operands": [
                {"filter_name": "user_id", "filter_value": [user_id]},
                {"filter_name": "email_address", "filter_value": [email]},
            ]}})),
        )
        .await;
    assert_eq!(search.assert_ok()["results"], json!([]));

    // The same email, phone and external id are free in the other project.
    let reply = app
        .request_as(
            as_other,
            Method::POST,
            "/v1/users",
            Some(json!({"email": email, "phone_number": "+14155550123", "external_id": "shared-ext"})),
        )
        .await;
    reply.assert_ok();

    // And project A's user is untouched.
    let got = app.get(&format!("/v1/users/{user_id}")).await;
    let got = got.assert_ok();
    assert_eq!(got["name"]["first_name"], "");
    assert_eq!(got["external_id"], "shared-ext");
    assert_eq!(got["emails"][0]["email_id"], email_id);
}

both_engines!(another_project_can_neither_read_nor_change_users);
