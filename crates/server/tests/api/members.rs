//! B2B members over HTTP: the Member object, emails unique per organization (by the database),
//! lookups by id, email and external id, update, soft delete and reactivation, search, and
//! isolation between organizations and projects.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, unique_phone, Engine, TestApp};

fn unique(tag: &str) -> String {
    format!("{tag}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Creates an organization and returns its id.
pub async fn create_organization(app: &TestApp) -> String {
    let reply = app
        .post(
            "/v1/b2b/organizations",
            json!({"organization_name": "Members Inc", "organization_slug": unique("members")}),
        )
        .await;
    reply.assert_ok()["organization"]["organization_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates a member of `organization` and returns the Member object.
pub async fn create_member(app: &TestApp, organization: &str, body: Value) -> Value {
    let reply = app
        .post(
            &format!("/v1/b2b/organizations/{organization}/members"),
            body,
        )
        .await;
    reply.assert_ok()["member"].clone()
}

fn path(organization: &str, member: &str) -> String {
    format!("/v1/b2b/organizations/{organization}/members/{member}")
}

async fn create_get_and_update(engine: Engine) {
    let app = spawn_app(engine).await;
    let organization = create_organization(&app).await;
    let email = unique_email("ada");
    let external = unique("ext");
    let reply = app
        .post(
            &format!("/v1/b2b/organizations/{organization}/members"),
            json!({"email_address": email.to_uppercase(), "name": "Ada", "external_id": external,
                   "trusted_metadata": {"tier": "gold", "seat": 1}, "roles": ["editor"]}),
        )
        .await;
    let body = reply.assert_ok();
    assert_eq!(
        body["organization"]["organization_id"],
        organization.as_str()
    );
    let member = body["member"].clone();
    let id = member["member_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("member-test-"));
    assert_eq!(body["member_id"], id.as_str());
    assert_eq!(member["email_address"], email.as_str());
    assert_eq!(member["status"], "active");
    assert_eq!(member["name"], "Ada");
    assert_eq!(member["is_admin"], false);
    assert_eq!(member["is_locked"], false);
    assert_eq!(member["totp_registration_id"], "");
    assert_eq!(member["external_id"], external.as_str());
    assert_eq!(member["lock_expires_at"], Value::Null);
    let roles: Vec<&str> = member["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|role| role["role_id"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["stytch_member", "editor"]);
    for field in [
        "sso_registrations",
        "oauth_registrations",
        "retired_email_addresses",
    ] {
        assert_eq!(member[field], json!([]), "{field}");
    }

    // By id, by email (any case), and by external id where a member_id is expected.
    let by_id = app
        .get(&format!(
            "/v1/b2b/organizations/{organization}/member?member_id={id}"
        ))
        .await;
    assert_eq!(by_id.assert_ok()["member"], member);
    let by_email = app
        .get(&format!(
            "/v1/b2b/organizations/{organization}/member?email_address={}",
            email.to_uppercase()
        ))
        .await;
    assert_eq!(by_email.assert_ok()["member"]["member_id"], id.as_str());
    let by_external = app
        .get(&format!(
            "/v1/b2b/organizations/{organization}/member?member_id={external}"
        ))
        .await;
    assert_eq!(by_external.assert_ok()["member"]["member_id"], id.as_str());
    app.get(&format!("/v1/b2b/organizations/{organization}/member"))
        .await
        .assert_error(400, "bad_request");
    app.get(&format!(
        "/v1/b2b/organizations/{organization}/member?email_address={}",
        unique_email("nobody")
    ))
    .await
    .assert_error(404, "member_not_found");

    // The email names one live member per organization, also under concurrent creates.
    app.post(
        &format!("/v1/b2b/organizations/{organization}/members"),
        json!({"email_address": email}),
    )
    .await
    .assert_error(400, "duplicate_member_email");
    let racing = unique_email("race");
    let members_path = format!("/v1/b2b/organizations/{organization}/members");
    let replies = futures::future::join_all(
        (0..6).map(|_| app.post(&members_path, json!({"email_address": racing}))),
    )
    .await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);
    for (body, error) in [
        (json!({}), "bad_request"),
        (json!({"email_address": "not-an-email"}), "invalid_email"),
        (
            json!({"email_address": unique_email("r"), "roles": ["stytch_member"]}),
            "cannot_assign_default_rbac_role_id",
        ),
        (
            json!({"email_address": unique_email("m"), "trusted_metadata": [1]}),
            "invalid_metadata",
        ),
    ] {
        app.post(
            &format!("/v1/b2b/organizations/{organization}/members"),
            body,
        )
        .await
        .assert_error(400, error);
    }
    app.post(
        "/v1/b2b/organizations/organization-test-00000000-0000-4000-8000-000000000000/members",
        json!({"email_address": unique_email("lost")}),
    )
    .await
    .assert_error(404, "organization_not_found");

    // Update: metadata merges, roles replace, the admin role makes an admin.
    let phone = unique_phone();
    let updated = app
        .put(
            &path(&organization, &id),
            json!({"name": "Ada L.", "trusted_metadata": {"seat": null, "team": "core"},
                   "roles": ["stytch_admin"], "mfa_phone_number": phone, "mfa_enrolled": true,
                   "default_mfa_method": "totp"}),
        )
        .await;
    let updated = updated.assert_ok()["member"].clone();
    assert_eq!(updated["name"], "Ada L.");
    assert_eq!(
        updated["trusted_metadata"],
        json!({"tier": "gold", "team": "core"})
    );
    assert_eq!(updated["is_admin"], true);
    assert_eq!(updated["mfa_phone_number"], phone.as_str());
    assert_eq!(updated["mfa_enrolled"], true);
    assert_eq!(updated["default_mfa_method"], "totp");
    // A second phone number is refused until the first is deleted; nothing is half written.
    app.put(
        &path(&organization, &id),
        json!({"name": "Changed", "mfa_phone_number": unique_phone()}),
    )
    .await
    .assert_error(400, "duplicate_member_phone_number_for_member");
    // Taking another live member's email is refused by the database.
    app.put(&path(&organization, &id), json!({"email_address": racing}))
        .await
        .assert_error(400, "duplicate_member_email");
    app.put(
        &path(&organization, &id),
        json!({"default_mfa_method": "pigeon"}),
    )
    .await
    .assert_error(400, "invalid_default_mfa_method");
    let after = app
        .get(&format!(
            "/v1/b2b/organizations/{organization}/member?member_id={id}"
        ))
        .await;
    assert_eq!(after.assert_ok()["member"]["name"], "Ada L.");
    assert_eq!(after.body["member"]["email_address"], email.as_str());
}

/// Marks a member's email verified, as Stytch's email flows (magic links, OTPs, SSO) leave it;
/// Latchkey serves none of them, so the test plants the state.
async fn verify_member_email(app: &TestApp, member_id: &str) {
    let planted = "UPDATE members SET email_verified = TRUE WHERE member_id = $1";
    assert_eq!(app.execute_raw(planted, member_id).await, 1);
}

async fn delete_and_reactivate(engine: Engine) {
    let app = spawn_app(engine).await;
    let organization = create_organization(&app).await;
    // Stytch reactivates only a member whose email is verified: one who never verified stays
    // deleted, and the refusal writes nothing.
    let unverified = create_member(
        &app,
        &organization,
        json!({"email_address": unique_email("never")}),
    )
    .await;
    let unverified_id = unverified["member_id"].as_str().unwrap().to_owned();
    assert_eq!(unverified["email_address_verified"], false);
    app.delete(&path(&organization, &unverified_id))
        .await
        .assert_ok();
    app.put(
        &format!("{}/reactivate", path(&organization, &unverified_id)),
        json!({}),
    )
    .await
    .assert_error(400, "member_email_not_verified");
    app.get(&format!(
        "/v1/b2b/organizations/{organization}/member?member_id={unverified_id}"
    ))
    .await
    .assert_error(404, "member_not_found");

    let email = unique_email("gone");
    let first = create_member(&app, &organization, json!({"email_address": email})).await;
    let first_id = first["member_id"].as_str().unwrap().to_owned();
    verify_member_email(&app, &first_id).await;
    let deleted = app.delete(&path(&organization, &first_id)).await;
    assert_eq!(deleted.assert_ok()["member_id"], first_id.as_str());
    app.get(&format!(
        "/v1/b2b/organizations/{organization}/member?member_id={first_id}"
    ))
    .await
    .assert_error(404, "member_not_found");
    app.delete(&path(&organization, &first_id))
        .await
        .assert_error(404, "member_not_found");
    // A deleted member's email can be used again; the deleted member cannot then come back.
    let second = create_member(&app, &organization, json!({"email_address": email})).await;
    let second_id = second["member_id"].as_str().unwrap().to_owned();
    app.put(
        &format!("{}/reactivate", path(&organization, &first_id)),
        json!({}),
    )
    .await
    .assert_error(400, "duplicate_member_email");
    app.delete(&path(&organization, &second_id))
        .await
        .assert_ok();
    let back = app
        .put(
            &format!("{}/reactivate", path(&organization, &first_id)),
            json!({}),
        )
        .await;
    assert_eq!(back.assert_ok()["member"]["status"], "active");
    assert_eq!(back.body["member"]["member_id"], first_id.as_str());
    let by_email = app
        .get(&format!(
            "/v1/b2b/organizations/{organization}/member?email_address={email}"
        ))
        .await;
    assert_eq!(
        by_email.assert_ok()["member"]["member_id"],
        first_id.as_str()
    );
}

async fn search_filters_and_pages(engine: Engine) {
    let app = spawn_app(engine).await;
    let organization = create_organization(&app).await;
    let other = create_organization(&app).await;
    let tag = unique("zeta");
    let mut ids = Vec::new();
    for n in 0..5 {
        let member = create_member(
            &app,
            &organization,
            json!({"email_address": format!("{tag}.{n}@example.com"),
                   "is_breakglass": n == 0, "roles": if n < 2 { json!(["editor"]) } else { json!([]) },
                   "create_member_as_pending": n == 4}),
        )
        .await;
        ids.push(member["member_id"].as_str().unwrap().to_owned());
    }
    create_member(
        &app,
        &other,
        json!({"email_address": format!("{tag}.x@example.com")}),
    )
    .await;
    app.delete(&path(&organization, &ids[3])).await.assert_ok();

    let search = |body: Value| app.post("/v1/b2b/organizations/members/search", body);
    let found_ids = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply.assert_ok()["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["member_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let pick =
        |picked: &[usize]| -> Vec<String> { picked.iter().map(|&n| ids[n].clone()).collect() };
    // All live members of the organization, deleted ones left out.
    let all = search(json!({"organization_ids": [organization]})).await;
    assert_eq!(found_ids(&all), pick(&[0, 1, 2, 4]));
    assert_eq!(all.body["results_metadata"]["total"], 4);
    assert!(all.body["organizations"][&organization].is_object());
    let and = |operands: Value| {
        json!({"organization_ids": [organization],
                                        "query": {"operator": "AND", "operands": operands}})
    };
    for (operands, expected) in [
        (
            json!([{"filter_name": "member_is_breakglass", "filter_value": true}]),
            vec![0],
        ),
        (
            json!([{"filter_name": "member_roles", "filter_value": ["editor"]}]),
            vec![0, 1],
        ),
        (
            json!([{"filter_name": "statuses", "filter_value": ["pending"]}]),
            vec![4],
        ),
        (
            json!([{"filter_name": "statuses", "filter_value": ["deleted"]}]),
            vec![3],
        ),
        (
            json!([{"filter_name": "member_emails", "filter_value": [format!("{tag}.2@EXAMPLE.com")]}]),
            vec![2],
        ),
        (
            json!([{"filter_name": "member_email_fuzzy", "filter_value": format!("{tag}.1")},
                   {"filter_name": "member_roles", "filter_value": ["editor"]}]),
            vec![1],
        ),
        (
            json!([{"filter_name": "member_password_exists", "filter_value": true}]),
            Vec::<usize>::new(),
        ),
    ] {
        let reply = search(and(operands.clone())).await;
        assert_eq!(found_ids(&reply), pick(&expected), "{operands}");
    }
    // Both organizations at once; paging by cursor.
    let both = json!({"organization_ids": [organization, other], "limit": 2,
                      "query": {"operator": "AND", "operands": [
                          {"filter_name": "member_email_fuzzy", "filter_value": tag}]}});
    let first = search(both.clone()).await;
    assert_eq!(found_ids(&first).len(), 2);
    assert_eq!(first.body["results_metadata"]["total"], 5);
    let mut seen = found_ids(&first);
    let mut cursor = first.body["results_metadata"]["next_cursor"].clone();
    while let Some(next) = cursor.as_str() {
        let mut body = both.clone();
        body["cursor"] = json!(next);
        let page = search(body).await;
        seen.extend(found_ids(&page));
        cursor = page.body["results_metadata"]["next_cursor"].clone();
    }
    assert_eq!(seen.len(), 5);

    for (body, error) in [
        (json!({}), "bad_request"),
        (json!({"organization_ids": []}), "bad_request"),
        (
            and(json!([{"filter_name": "member_shoe_size", "filter_value": 9}])),
            "invalid_search_query",
        ),
        (
            and(json!([{"filter_name": "statuses", "filter_value": ["asleep"]}])),
            "invalid_search_query",
        ),
        (
            and(json!([{"filter_name": "member_email_fuzzy", "filter_value": "ab"}])),
            "invalid_search_query",
        ),
        (
            json!({"organization_ids": [organization], "cursor": "bm90LWEtY3Vyc29y"}),
            "invalid_search_cursor",
        ),
    ] {
        search(body.clone()).await.assert_error(400, error);
    }
}

async fn members_are_isolated_between_organizations_and_projects(engine: Engine) {
    let app = spawn_app(engine).await;
    let organization = create_organization(&app).await;
    let other = create_organization(&app).await;
    let email = unique_email("shared");
    // One email may belong to a member of each organization.
    let ours = create_member(&app, &organization, json!({"email_address": email})).await;
    create_member(&app, &other, json!({"email_address": email})).await;
    let id = ours["member_id"].as_str().unwrap();
    // A member is not reachable through another organization.
    app.get(&format!(
        "/v1/b2b/organizations/{other}/member?member_id={id}"
    ))
    .await
    .assert_error(404, "member_not_found");
    app.put(&path(&other, id), json!({"name": "Intruder"}))
        .await
        .assert_error(404, "member_not_found");
    app.delete(&path(&other, id))
        .await
        .assert_error(404, "member_not_found");
    // Another project sees neither the organization nor the member.
    let (other_project, other_secret) = app.other_project().await;
    let project = other_project.to_string();
    let as_other = |method: Method, path: String, body: Option<Value>| {
        let project = project.clone();
        let secret = other_secret.clone();
        let app = &app;
        async move {
            app.request_as(Some((&project, &secret)), method, &path, body)
                .await
        }
    };
    as_other(
        Method::GET,
        format!("/v1/b2b/organizations/{organization}/member?member_id={id}"),
        None,
    )
    .await
    .assert_error(404, "organization_not_found");
    as_other(
        Method::POST,
        "/v1/b2b/organizations/members/search".to_owned(),
        Some(json!({"organization_ids": [organization]})),
    )
    .await
    .assert_error(404, "organization_not_found");
    as_other(Method::DELETE, path(&organization, id), None)
        .await
        .assert_error(404, "organization_not_found");
    app.get(&format!(
        "/v1/b2b/organizations/{organization}/member?member_id={id}"
    ))
    .await
    .assert_ok();
}

both_engines!(
    create_get_and_update,
    delete_and_reactivate,
    search_filters_and_pages,
    members_are_isolated_between_organizations_and_projects,
);
