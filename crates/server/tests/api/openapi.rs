//! `GET /openapi.json`: the OpenAPI 3.1 document generated from the routes. Every operation it
//! lists is served, each names its schemas, and the responses the server sends have exactly the
//! fields the document gives them.

use std::collections::{BTreeSet, HashSet};

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine, TestApp};
use crate::members::{create_member, create_organization};
use crate::totps::{app_code, now};

async fn document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(format!("{}/openapi.json", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    response.json().await.unwrap()
}

/// Follows `$ref`s into `components`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {reference}"));
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// The property names an object schema allows, through `$ref` and `allOf`.
fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = resolve(doc, schema);
    let mut names: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|fields| fields.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(properties(doc, part));
    }
    names
}

fn success_schema<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let operation = &doc["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is not documented");
    &operation["responses"]["200"]["content"]["application/json"]["schema"]
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object().unwrap().keys().cloned().collect()
}

async fn every_documented_operation_is_served(engine: Engine) {
    let app = spawn_app(engine).await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Latchkey");
    let mut operation_ids = HashSet::new();
    let mut count = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            count += 1;
            let id = operation["operationId"].as_str().unwrap();
            assert!(operation_ids.insert(id.to_owned()), "{id} twice");
            assert!(
                operation["responses"]["200"].is_object()
                    || operation["responses"]["201"].is_object(),
                "{method} {path} documents no success"
            );
            if path.contains("/jwks/") {
                // Public, as Stytch's is: JWT libraries fetch it without credentials.
                assert_eq!(operation["security"], json!([{}]), "{path}");
            } else if path.starts_with("/v1/") {
                assert_eq!(
                    operation["security"],
                    json!([{"project_basic": []}]),
                    "{path}"
                );
                for range in ["4XX", "5XX"] {
                    let error = &operation["responses"][range]["content"]["application/json"];
                    assert_eq!(
                        error["schema"]["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {range}"
                    );
                }
            }
            if path.starts_with("/api/v1/") {
                assert_eq!(
                    operation["security"].as_array().map(Vec::len),
                    Some(2),
                    "{path}: server or client access"
                );
                let error = &operation["responses"]["4XX"]["content"]["application/json"];
                assert_eq!(
                    error["schema"]["$ref"], "#/components/schemas/StackErrorBody",
                    "{method} {path}"
                );
            }
            // The route exists with this method: whatever the server says, it is not that the
            // route or the method is unknown.
            let concrete = path
                .split('/')
                .map(|part| if part.starts_with('{') { "x" } else { part })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), format!("{}{concrete}", app.base_url))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert!(
                !(status == 404 && body["error_type"] == "route_not_found") && status != 405,
                "{method} {concrete}: {status} {body}"
            );
        }
    }
    assert!(count >= 60, "only {count} operations");
    // Every group of routes is in the document, the B2B ones included.
    for path in [
        "/v1/b2b/organizations/{organization_id}/members",
        "/v1/b2b/organizations/members/search",
        "/v1/b2b/sessions/authenticate",
        "/v1/b2b/sessions/jwks/{project_id}",
        "/v1/b2b/totp/authenticate",
        "/v1/b2b/totp/migrate",
        "/v1/b2b/recovery_codes/recover",
        "/v1/b2b/recovery_codes/{organization_id}/{member_id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        properties(&doc, &schemas["ErrorBody"]),
        BTreeSet::from(
            [
                "status_code",
                "request_id",
                "error_type",
                "error_message",
                "error_url"
            ]
            .map(String::from)
        )
    );
}

async fn responses_have_the_documented_fields(engine: Engine) {
    let app = spawn_app(engine).await;
    let doc = document(&app).await;

    let created = app
        .post(
            "/v1/users",
            json!({"email": unique_email("openapi"), "name": {"first_name": "Ada"}}),
        )
        .await;
    let created = created.assert_ok().clone();
    assert_eq!(
        keys(&created),
        properties(&doc, success_schema(&doc, "/v1/users", "post"))
    );
    let user_fields = properties(&doc, &doc["components"]["schemas"]["UserObject"]);
    assert_eq!(keys(&created["user"]), user_fields);
    let user_id = created["user_id"].as_str().unwrap().to_owned();

    let fetched = app.get(&format!("/v1/users/{user_id}")).await;
    let mut expected = user_fields.clone();
    expected.extend(["status_code".to_owned(), "request_id".to_owned()]);
    assert_eq!(keys(fetched.assert_ok()), expected);
    assert_eq!(
        keys(fetched.assert_ok()),
        properties(&doc, success_schema(&doc, "/v1/users/{user_id}", "get"))
    );

    let found = app
        .post("/v1/users/search", json!({"limit": 1}))
        .await
        .assert_ok()
        .clone();
    assert_eq!(
        keys(&found),
        properties(&doc, success_schema(&doc, "/v1/users/search", "post"))
    );

    let updated = app
        .put(
            &format!("/v1/users/{user_id}"),
            json!({"name": {"last_name": "Lovelace"}}),
        )
        .await;
    assert_eq!(
        keys(updated.assert_ok()),
        properties(&doc, success_schema(&doc, "/v1/users/{user_id}", "put"))
    );

    let refused = app.get("/v1/users/user-test-nope").await;
    assert_eq!(
        keys(&refused.body),
        properties(&doc, &doc["components"]["schemas"]["ErrorBody"])
    );

    let deleted = app.delete(&format!("/v1/users/{user_id}")).await;
    assert_eq!(
        keys(deleted.assert_ok()),
        properties(&doc, success_schema(&doc, "/v1/users/{user_id}", "delete"))
    );
}
/// The B2B responses, whose bodies are built from several typed parts (member, organization,
/// member session), have exactly the documented fields, nested objects included.
async fn b2b_responses_have_the_documented_fields(engine: Engine) {
    let app = spawn_app(engine).await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let organization = create_organization(&app).await;
    let member = create_member(
        &app,
        &organization,
        json!({"email_address": unique_email("openapi-b2b")}),
    )
    .await;
    let member_id = member["member_id"].as_str().unwrap().to_owned();
    let fetched = app
        .get(&format!(
            "/v1/b2b/organizations/{organization}/member?member_id={member_id}"
        ))
        .await;
    let fetched = fetched.assert_ok();
    assert_eq!(
        keys(fetched),
        properties(
            &doc,
            success_schema(
                &doc,
                "/v1/b2b/organizations/{organization_id}/member",
                "get"
            )
        )
    );
    assert_eq!(
        keys(&fetched["member"]),
        properties(&doc, &schemas["MemberObject"])
    );
    assert_eq!(
        keys(&fetched["organization"]),
        properties(&doc, &schemas["OrganizationObject"])
    );

    let created = app
        .post(
            "/v1/b2b/totp",
            json!({"organization_id": organization, "member_id": member_id}),
        )
        .await;
    let created = created.assert_ok().clone();
    assert_eq!(
        keys(&created),
        properties(&doc, success_schema(&doc, "/v1/b2b/totp", "post"))
    );
    let secret = created["secret"].as_str().unwrap();
    let authenticated = app
        .post(
            "/v1/b2b/totp/authenticate",
            json!({"organization_id": organization, "member_id": member_id,
                   "code": app_code(secret, now())}),
        )
        .await;
    let authenticated = authenticated.assert_ok().clone();
    assert_eq!(
        keys(&authenticated),
        properties(
            &doc,
            success_schema(&doc, "/v1/b2b/totp/authenticate", "post")
        )
    );
    assert_eq!(
        keys(&authenticated["member_session"]),
        properties(&doc, &schemas["MemberSessionObject"])
    );
    let factor = &authenticated["member_session"]["authentication_factors"][0];
    // A factor carries only its own kind's detail object.
    assert!(keys(factor).is_subset(&properties(&doc, &schemas["FactorObject"])));
    assert!(factor["authenticator_app_factor"]["totp_id"].is_string());

    let recovered = app
        .post(
            "/v1/b2b/recovery_codes/recover",
            json!({"organization_id": organization, "member_id": member_id,
                   "recovery_code": created["recovery_codes"][0]}),
        )
        .await;
    assert_eq!(
        keys(recovered.assert_ok()),
        properties(
            &doc,
            success_schema(&doc, "/v1/b2b/recovery_codes/recover", "post")
        )
    );
    let listed = app
        .get(&format!(
            "/v1/b2b/sessions?organization_id={organization}&member_id={member_id}"
        ))
        .await;
    assert_eq!(
        keys(listed.assert_ok()),
        properties(&doc, success_schema(&doc, "/v1/b2b/sessions", "get"))
    );
    let codes = app
        .get(&format!(
            "/v1/b2b/recovery_codes/{organization}/{member_id}"
        ))
        .await;
    assert_eq!(
        keys(codes.assert_ok()),
        properties(
            &doc,
            success_schema(
                &doc,
                "/v1/b2b/recovery_codes/{organization_id}/{member_id}",
                "get"
            )
        )
    );
}

both_engines!(
    every_documented_operation_is_served,
    responses_have_the_documented_fields,
    b2b_responses_have_the_documented_fields
);
