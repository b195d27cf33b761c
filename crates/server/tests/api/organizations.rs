//! B2B organizations over HTTP: create with Stytch's defaults, slugs unique per project (by the
//! database), lookups by id, slug and external id, update, delete, search and isolation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, Engine, TestApp};

fn unique_slug(tag: &str) -> String {
    format!("{tag}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

async fn create(app: &TestApp, body: Value) -> Value {
    let reply = app.post("/v1/b2b/organizations", body).await;
    reply.assert_ok()["organization"].clone()
}

async fn create_applies_defaults_and_refuses_a_taken_slug(engine: Engine) {
    let app = spawn_app(engine).await;
    let slug = unique_slug("acme");
    let organization = create(
        &app,
        json!({"organization_name": "Acme, Inc.", "organization_slug": slug,
               "trusted_metadata": {"plan": "gold"}, "mfa_policy": "REQUIRED_FOR_ALL",
               "allowed_mfa_methods": ["totp"]}),
    )
    .await;
    let id = organization["organization_id"].as_str().unwrap();
    assert!(id.starts_with("organization-test-"));
    assert_eq!(organization["organization_name"], "Acme, Inc.");
    assert_eq!(organization["organization_slug"], slug.as_str());
    assert_eq!(organization["mfa_policy"], "REQUIRED_FOR_ALL");
    assert_eq!(organization["allowed_mfa_methods"], json!(["totp"]));
    assert_eq!(organization["email_jit_provisioning"], "NOT_ALLOWED");
    // Created with settings but without email_invites: Stytch's default is then NOT_ALLOWED.
    assert_eq!(organization["email_invites"], "NOT_ALLOWED");
    assert_eq!(organization["email_allowed_domains"], json!([]));
    assert_eq!(organization["trusted_metadata"], json!({"plan": "gold"}));
    assert_eq!(organization["organization_external_id"], "");

    app.post(
        "/v1/b2b/organizations",
        json!({"organization_name": "Other", "organization_slug": slug}),
    )
    .await
    .assert_error(400, "organization_slug_already_used");
    // Concurrent creates of one slug: the database lets exactly one through.
    let racing = unique_slug("race");
    let replies = futures::future::join_all((0..6).map(|_| {
        app.post(
            "/v1/b2b/organizations",
            json!({"organization_name": "Race", "organization_slug": racing}),
        )
    }))
    .await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);

    for (body, error) in [
        (json!({}), "organization_name_missing"),
        (
            json!({"organization_name": "Bad Org", "organization_slug": "Not A Slug"}),
            "invalid_organization_slug",
        ),
        (
            json!({"organization_name": "Bad Org", "mfa_policy": "SOMETIMES"}),
            "invalid_organization_mfa_policy",
        ),
        (
            json!({"organization_name": "Bad Org", "allowed_mfa_methods": ["pigeon"]}),
            "invalid_organization_allowed_mfa_methods",
        ),
        (
            json!({"organization_name": "Bad Org", "organization_logo_url": "ftp://x"}),
            "invalid_url",
        ),
    ] {
        app.post("/v1/b2b/organizations", body)
            .await
            .assert_error(400, error);
    }
    // A name alone makes its slug.
    let named = create(
        &app,
        json!({"organization_name": format!("Named {}", unique_slug("x"))}),
    )
    .await;
    assert!(named["organization_slug"]
        .as_str()
        .unwrap()
        .starts_with("named-x-"));
    // Created with no setting at all: email_invites is ALL_ALLOWED, so members can be invited.
    assert_eq!(named["email_invites"], "ALL_ALLOWED");
    let fetched = app
        .get(&format!(
            "/v1/b2b/organizations/{}",
            organization["organization_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        fetched.assert_ok()["organization"]["email_invites"],
        "NOT_ALLOWED",
        "the default is stored, not recomputed"
    );
}

async fn get_update_and_delete_by_id_slug_or_external_id(engine: Engine) {
    let app = spawn_app(engine).await;
    let slug = unique_slug("globex");
    let external = unique_slug("ext");
    let organization = create(
        &app,
        json!({"organization_name": "Globex", "organization_slug": slug,
               "organization_external_id": external, "trusted_metadata": {"a": 1, "b": 2}}),
    )
    .await;
    let id = organization["organization_id"].as_str().unwrap().to_owned();
    for key in [&id, &slug, &external] {
        let got = app.get(&format!("/v1/b2b/organizations/{key}")).await;
        assert_eq!(got.assert_ok()["organization"], organization);
    }

    let new_slug = unique_slug("globex-two");
    let updated = app
        .put(
            &format!("/v1/b2b/organizations/{slug}"),
            json!({"organization_name": "Globex Two", "organization_slug": new_slug,
                   "trusted_metadata": {"b": null, "c": 3}, "email_invites": "NOT_ALLOWED"}),
        )
        .await;
    let updated = updated.assert_ok()["organization"].clone();
    assert_eq!(updated["organization_name"], "Globex Two");
    assert_eq!(updated["organization_slug"], new_slug.as_str());
    assert_eq!(updated["trusted_metadata"], json!({"a": 1, "c": 3}));
    assert_eq!(updated["email_invites"], "NOT_ALLOWED");
    assert_eq!(updated["created_at"], organization["created_at"]);
    app.get(&format!("/v1/b2b/organizations/{slug}"))
        .await
        .assert_error(404, "organization_not_found");

    // A refused update writes nothing.
    app.put(
        &format!("/v1/b2b/organizations/{id}"),
        json!({"organization_name": "Changed", "mfa_policy": "SOMETIMES"}),
    )
    .await
    .assert_error(400, "invalid_organization_mfa_policy");
    let unchanged = app.get(&format!("/v1/b2b/organizations/{id}")).await;
    assert_eq!(
        unchanged.assert_ok()["organization"]["organization_name"],
        "Globex Two"
    );

    // One organization's slug that is another's external id names the first.
    let shared = unique_slug("shared");
    let by_slug = create(
        &app,
        json!({"organization_name": "By Slug", "organization_slug": shared}),
    )
    .await;
    create(
        &app,
        json!({"organization_name": "By External", "organization_slug": unique_slug("by-external"), "organization_external_id": shared}),
    )
    .await;
    let got = app.get(&format!("/v1/b2b/organizations/{shared}")).await;
    assert_eq!(
        got.assert_ok()["organization"]["organization_id"],
        by_slug["organization_id"]
    );

    let deleted = app.delete(&format!("/v1/b2b/organizations/{id}")).await;
    assert_eq!(deleted.assert_ok()["organization_id"], id.as_str());
    app.get(&format!("/v1/b2b/organizations/{id}"))
        .await
        .assert_error(404, "organization_not_found");
    app.delete(&format!("/v1/b2b/organizations/{id}"))
        .await
        .assert_error(404, "organization_not_found");
}

async fn search_filters_and_pages(engine: Engine) {
    let app = spawn_app(engine).await;
    let tag = unique_slug("srch");
    let mut ids = Vec::new();
    for n in 0..5 {
        let organization = create(
            &app,
            json!({"organization_name": format!("Search {tag} {n}"), "organization_slug": format!("{tag}-{n}")}),
        )
        .await;
        ids.push(organization["organization_id"].as_str().unwrap().to_owned());
    }
    let query = json!({"operator": "AND", "operands": [
        {"filter_name": "organization_name_fuzzy", "filter_value": tag.to_uppercase()}]});
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = app
            .post(
                "/v1/b2b/organizations/search",
                json!({"query": query, "limit": 2, "cursor": cursor}),
            )
            .await;
        let page = page.assert_ok().clone();
        assert_eq!(page["results_metadata"]["total"], 5);
        for organization in page["organizations"].as_array().unwrap() {
            seen.push(organization["organization_id"].as_str().unwrap().to_owned());
        }
        cursor = page["results_metadata"]["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(seen, ids);

    let by_slug = app
        .post(
            "/v1/b2b/organizations/search",
            json!({"query": {"operator": "AND", "operands": [
                {"filter_name": "organization_slugs", "filter_value": [format!("{tag}-3")]}]}}),
        )
        .await;
    let by_slug = by_slug.assert_ok();
    assert_eq!(
        by_slug["organizations"][0]["organization_id"],
        ids[3].as_str()
    );
    assert_eq!(by_slug["results_metadata"]["total"], 1);

    app.post(
        "/v1/b2b/organizations/search",
        json!({"query": {"operator": "AND", "operands": [{"filter_name": "nope", "filter_value": 1}]}}),
    )
    .await
    .assert_error(400, "invalid_search_query");
    app.post("/v1/b2b/organizations/search", json!({"cursor": "garbage"}))
        .await
        .assert_error(400, "invalid_search_cursor");
}

async fn organizations_are_isolated_between_projects(engine: Engine) {
    let app = spawn_app(engine).await;
    let slug = unique_slug("mine");
    let organization = create(
        &app,
        json!({"organization_name": "Mine", "organization_slug": slug}),
    )
    .await;
    let id = organization["organization_id"].as_str().unwrap();
    let (other, secret) = app.other_project().await;
    let other = other.to_string();
    let as_other = |method: Method, path: String, body: Option<Value>| {
        let (other, secret) = (other.clone(), secret.clone());
        let app = &app;
        async move {
            app.request_as(Some((&other, &secret)), method, &path, body)
                .await
        }
    };
    for key in [id, slug.as_str()] {
        as_other(Method::GET, format!("/v1/b2b/organizations/{key}"), None)
            .await
            .assert_error(404, "organization_not_found");
        as_other(Method::DELETE, format!("/v1/b2b/organizations/{key}"), None)
            .await
            .assert_error(404, "organization_not_found");
    }
    // The same slug is free in another project.
    let theirs = as_other(
        Method::POST,
        "/v1/b2b/organizations".to_owned(),
        Some(json!({"organization_name": "Theirs", "organization_slug": slug})),
    )
    .await;
    let theirs_id = theirs.assert_ok()["organization"]["organization_id"].clone();
    let search = as_other(
        Method::POST,
        "/v1/b2b/organizations/search".to_owned(),
        Some(json!({})),
    )
    .await;
    let found = search.assert_ok()["organizations"]
        .as_array()
        .unwrap()
        .clone();
    // A fresh project: its search sees its own organization and nothing of ours.
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["organization_id"], theirs_id);
    app.get(&format!("/v1/b2b/organizations/{id}"))
        .await
        .assert_ok();
}

both_engines!(
    create_applies_defaults_and_refuses_a_taken_slug,
    get_update_and_delete_by_id_slug_or_external_id,
    search_filters_and_pages,
    organizations_are_isolated_between_projects,
);
