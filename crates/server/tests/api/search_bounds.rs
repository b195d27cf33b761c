//! The size of a search: every value of a query is a bound parameter, and SQLite refuses a
//! statement with more than 32,766 of them (PostgreSQL 65,535). A query past Latchkey's own
//! bounds is a 400 `invalid_search_query` naming the bound, on both engines, never a 500; a query
//! at the bound is served.

use latchkey_core::search::{MAX_FILTER_VALUES, MAX_VALUES_PER_OPERAND};
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine};

/// `operands` operands of `values` values each, every value distinct; the first value of the
/// first operand is `first`.
fn operands(filter_name: &str, operands: usize, values: usize, first: &str) -> Vec<Value> {
    (0..operands)
        .map(|operand| {
            let values: Vec<String> = (0..values)
                .map(|n| match (operand, n) {
                    (0, 0) => first.to_owned(),
                    _ => format!("v-{operand}-{n}"),
                })
                .collect();
            json!({"filter_name": filter_name, "filter_value": values})
        })
        .collect()
}

fn values(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("value-{n}")).collect()
}

async fn a_users_search_past_the_parameter_bound_is_a_400(engine: Engine) {
    let app = spawn_app(engine).await;
    let external_id = format!("ext-{}", uuid::Uuid::new_v4().simple());
    let user = app
        .create_user(json!({"email": unique_email("bounds"), "external_id": external_id}))
        .await;
    // 33 operands of 1,000 values: each operand within its own bound, 33,000 values in all, past
    // what SQLite binds in one statement (it was a 500 there).
    let over = json!({"operator": "OR",
                      "operands": operands("external_id", 33, MAX_VALUES_PER_OPERAND, &external_id)});
    let refused = app.post("/v1/users/search", json!({"query": over})).await;
    refused.assert_error(400, "invalid_search_query");
    let message = refused.body["error_message"].as_str().unwrap();
    assert!(
        message.contains(&MAX_FILTER_VALUES.to_string()) && message.contains("33000"),
        "the refusal names the bound and the count: {message}"
    );
    // At the bound, the same kind of query is served and finds the user.
    let per_operand = MAX_FILTER_VALUES / 10;
    let at_bound = json!({"operator": "OR",
                          "operands": operands("external_id", 10, per_operand, &external_id)});
    let found = app
        .post("/v1/users/search", json!({"query": at_bound}))
        .await;
    let body = found.assert_ok();
    assert_eq!(body["results"][0]["user_id"], user["user_id"]);
    assert_eq!(body["results_metadata"]["total"], 1);
    // One operand past its own bound.
    let wide = json!({"operator": "AND", "operands": operands("external_id", 1,
                      MAX_VALUES_PER_OPERAND + 1, &external_id)});
    app.post("/v1/users/search", json!({"query": wide}))
        .await
        .assert_error(400, "invalid_search_query");
}

async fn b2b_searches_past_the_parameter_bound_are_a_400(engine: Engine) {
    let app = spawn_app(engine).await;
    let slug = format!("bounds-{}", uuid::Uuid::new_v4().simple());
    let created = app
        .post(
            "/v1/b2b/organizations",
            json!({"organization_name": "Bounds", "organization_slug": slug}),
        )
        .await;
    let organization_id = created.assert_ok()["organization"]["organization_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 40,000 values in one operand: past SQLite's bound (a 500 there) and Latchkey's.
    let huge = |filter_name: &str| {
        json!({"operator": "AND",
               "operands": [{"filter_name": filter_name, "filter_value": values(40_000)}]})
    };
    let refused = app
        .post(
            "/v1/b2b/organizations/search",
            json!({"query": huge("organization_ids")}),
        )
        .await;
    refused.assert_error(400, "invalid_search_query");
    let message = refused.body["error_message"].as_str().unwrap();
    assert!(
        message.contains(&MAX_VALUES_PER_OPERAND.to_string()),
        "{message}"
    );
    app.post(
        "/v1/b2b/organizations/members/search",
        json!({"organization_ids": [organization_id], "query": huge("member_ids")}),
    )
    .await
    .assert_error(400, "invalid_search_query");
    // Many operands, each within its bound, past the bound in all.
    let many = json!({"operator": "AND", "operands": operands("member_emails", 11,
                      MAX_FILTER_VALUES / 10, "a@example.com")});
    let refused = app
        .post(
            "/v1/b2b/organizations/members/search",
            json!({"organization_ids": [organization_id], "query": many}),
        )
        .await;
    refused.assert_error(400, "invalid_search_query");
    assert!(refused.body["error_message"]
        .as_str()
        .unwrap()
        .contains(&MAX_FILTER_VALUES.to_string()));
    // The organizations a member search looks in are bounded too.
    let mut organizations = values(MAX_VALUES_PER_OPERAND);
    organizations.push(organization_id.clone());
    app.post(
        "/v1/b2b/organizations/members/search",
        json!({"organization_ids": organizations}),
    )
    .await
    .assert_error(400, "bad_request");
    // A NUL byte, which PostgreSQL cannot bind, is refused as input.
    app.post(
        "/v1/b2b/organizations/members/search",
        json!({"organization_ids": [organization_id], "query": {"operator": "AND",
               "operands": [{"filter_name": "member_emails", "filter_value": ["a\u{0}@example.com"]}]}}),
    )
    .await
    .assert_error(400, "invalid_search_query");
    app.post(
        "/v1/b2b/organizations/search",
        json!({"query": {"operator": "AND", "operands": [
            {"filter_name": "organization_name_fuzzy", "filter_value": "ab\u{0}cd"}]}}),
    )
    .await
    .assert_error(400, "invalid_search_query");
    // At the bounds, both searches are served.
    let mut ids = values(MAX_VALUES_PER_OPERAND - 1);
    ids.push(organization_id.clone());
    let at_bound = json!({"operator": "AND", "operands": [
        {"filter_name": "organization_ids", "filter_value": ids},
        {"filter_name": "organization_slugs", "filter_value": [slug]},
    ]});
    let found = app
        .post("/v1/b2b/organizations/search", json!({"query": at_bound}))
        .await;
    let body = found.assert_ok();
    assert_eq!(body["results_metadata"]["total"], 1);
    assert_eq!(body["organizations"][0]["organization_id"], organization_id);
    let members = json!({"operator": "AND", "operands": [
        {"filter_name": "member_ids", "filter_value": values(MAX_VALUES_PER_OPERAND)},
    ]});
    let found = app
        .post(
            "/v1/b2b/organizations/members/search",
            json!({"organization_ids": [organization_id], "query": members}),
        )
        .await;
    assert_eq!(found.assert_ok()["results_metadata"]["total"], 0);
}

both_engines!(
    a_users_search_past_the_parameter_bound_is_a_400,
    b2b_searches_past_the_parameter_bound_are_a_400,
);
