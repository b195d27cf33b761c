//! Stack Auth's contact channels over HTTP, on the same users as the Stytch API: every endpoint,
//! both access types, Stack's request authentication and known errors, email verification
//! through the outbox, and what each API sees of the other's changes.

use chrono::{Duration, Utc};
use latchkey_core::ids::{EmailId, UserId};
use latchkey_core::secret::Secret;
use latchkey_store::NewVerification;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{spawn_app, unique_email, Engine, TestApp};

/// A Stack answer: status, the known-error header, the actual-status header, and the body.
#[derive(Debug)]
pub(crate) struct StackReply {
    pub(crate) status: u16,
    pub(crate) known_error: Option<String>,
    pub(crate) actual_status: Option<String>,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: Value,
}

impl StackReply {
    pub(crate) fn assert_known(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.known_error.as_deref(), Some(code), "{self:?}");
        assert_eq!(self.body["code"], code, "{self:?}");
        assert!(self.body["error"].is_string(), "{self:?}");
        &self.body
    }

    pub(crate) fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{self:?}");
        &self.body
    }
}

/// How a request authenticates.
#[derive(Clone)]
pub(crate) enum As {
    Server,
    Client(Option<String>),
    Headers(Vec<(&'static str, String)>),
}

pub(crate) async fn stack(
    app: &TestApp,
    who: As,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> StackReply {
    let mut request = app
        .client
        .request(method, format!("{}/api/v1{path}", app.base_url));
    let headers: Vec<(&str, String)> = match who {
        As::Server => vec![
            ("x-stack-access-type", "server".to_owned()),
            ("x-stack-project-id", app.project_id.to_string()),
            ("x-stack-secret-server-key", app.secret_server_key.clone()),
        ],
        As::Client(token) => {
            let mut headers = vec![
                ("x-stack-access-type", "client".to_owned()),
                ("x-stack-project-id", app.project_id.to_string()),
                (
                    "x-stack-publishable-client-key",
                    app.publishable_client_key.clone(),
                ),
            ];
            if let Some(token) = token {
                headers.push(("x-stack-access-token", token));
            }
            headers
        }
        As::Headers(headers) => headers,
    };
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let known_error = header("x-stack-known-error");
    let actual_status = header("x-stack-actual-status");
    let retry_after = header("retry-after");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    StackReply {
        status,
        known_error,
        actual_status,
        retry_after,
        body,
    }
}

pub(crate) fn uuid_of(id: &str) -> String {
    id[id.len() - 36..].to_owned()
}

/// A Stytch user with one email: (user_id, email_id, email).
pub(crate) async fn stytch_user(app: &TestApp) -> (String, String, String) {
    let email = unique_email("channel");
    let user = app.create_user(json!({"email": email})).await;
    (
        user["user_id"].as_str().unwrap().to_owned(),
        user["emails"][0]["email_id"].as_str().unwrap().to_owned(),
        email,
    )
}

/// A user with a password and a live session: (user_id, email, session JWT).
pub(crate) async fn user_with_session(app: &TestApp) -> (String, String, String) {
    let email = unique_email("client");
    let reply = app
        .post(
            "/v1/passwords",
            json!({"email": email, "password": "a-Long-and-unusual-passphrase-9",
                   "session_duration_minutes": 60}),
        )
        .await;
    let body = reply.assert_ok();
    (
        body["user_id"].as_str().unwrap().to_owned(),
        email,
        body["session_jwt"].as_str().unwrap().to_owned(),
    )
}

pub(crate) async fn stytch_emails(app: &TestApp, user_id: &str) -> Vec<Value> {
    let reply = app.get(&format!("/v1/users/{user_id}")).await;
    reply.assert_ok()["emails"].as_array().unwrap().clone()
}

async fn server_crud_is_the_stytch_users_emails(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, email_id, email) = stytch_user(&app).await;
    let stack_user = uuid_of(&user_id);
    // Stytch create → Stack list: the same email, under the same UUIDs.
    let listed = stack(
        &app,
        As::Server,
        Method::GET,
        &format!("/contact-channels?user_id={stack_user}"),
        None,
    )
    .await;
    let items = listed.assert_status(200)["items"].clone();
    assert_eq!(listed.body["is_paginated"], false);
    assert_eq!(
        items,
        json!([{"user_id": stack_user, "id": uuid_of(&email_id), "value": email, "type": "email",
                "used_for_auth": true, "is_verified": false, "is_primary": true}])
    );

    // Stack create → Stytch get.
    let second = unique_email("second");
    let created = stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels",
        Some(
            json!({"user_id": stack_user, "value": second.to_uppercase(), "type": "email",
                    "used_for_auth": false, "is_primary": true}),
        ),
    )
    .await;
    let created = created.assert_status(201).clone();
    assert_eq!(created["value"], second.as_str());
    assert_eq!(created["is_primary"], true);
    let second_id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/contact-channels/{stack_user}/{second_id}");
    let listed = stack(
        &app,
        As::Server,
        Method::GET,
        &format!("/contact-channels?user_id={stack_user}"),
        None,
    )
    .await;
    let primaries: Vec<bool> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["is_primary"].as_bool().unwrap())
        .collect();
    assert_eq!(primaries, [false, true], "one primary per user");
    let emails = stytch_emails(&app, &user_id).await;
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[1]["email"], second.as_str());
    assert_eq!(emails[1]["email_id"], format!("email-test-{second_id}"));

    // Stack PATCH (seed 003's fields) → Stytch get; a new value is unverified.
    let renamed = unique_email("renamed");
    let patched = stack(
        &app,
        As::Server,
        Method::PATCH,
        &path,
        Some(json!({"value": renamed, "type": "email", "used_for_auth": true, "is_primary": true})),
    )
    .await;
    assert_eq!(patched.assert_status(200)["value"], renamed.as_str());
    assert_eq!(patched.body["used_for_auth"], true);
    let emails = stytch_emails(&app, &user_id).await;
    assert_eq!(emails[1]["email"], renamed.as_str());
    assert_eq!(emails[1]["verified"], false);
    let verified = stack(
        &app,
        As::Server,
        Method::PATCH,
        &path,
        Some(json!({"is_verified": true})),
    )
    .await;
    assert_eq!(verified.assert_status(200)["is_verified"], true);
    assert_eq!(stytch_emails(&app, &user_id).await[1]["verified"], true);
    let read = stack(&app, As::Server, Method::GET, &path, None).await;
    assert_eq!(read.assert_status(200)["id"], second_id.as_str());

    // Stytch update → Stack read: an email the Stytch API adds is a channel at once.
    let third = unique_email("third");
    app.put(
        &format!("/v1/users/{user_id}"),
        json!({"emails": [{"email": third}]}),
    )
    .await
    .assert_ok();
    let listed = stack(
        &app,
        As::Server,
        Method::GET,
        &format!("/contact-channels?user_id={stack_user}"),
        None,
    )
    .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 3);

    // Refusals.
    let (_, _, others) = stytch_user(&app).await;
    let taken = stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels",
        Some(
            json!({"user_id": stack_user, "value": others, "type": "email", "used_for_auth": true}),
        ),
    )
    .await;
    let details = taken.assert_known(409, "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE")
        ["details"]
        .clone();
    assert_eq!(details["contact_channel_value"], others.as_str());
    stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels",
        Some(
            json!({"user_id": stack_user, "value": email, "type": "email", "used_for_auth": true}),
        ),
    )
    .await
    .assert_status(400);
    for body in [
        json!({"user_id": stack_user, "value": "not-an-email", "type": "email", "used_for_auth": true}),
        json!({"user_id": stack_user, "value": unique_email("p"), "type": "phone", "used_for_auth": true}),
        json!({"user_id": stack_user, "value": unique_email("p"), "type": "email"}),
        json!({"user_id": "not-a-uuid", "value": unique_email("p"), "type": "email", "used_for_auth": true}),
        json!({"user_id": stack_user, "value": unique_email("p"), "type": "email", "used_for_auth": true,
               "favourite_colour": "teal"}),
    ] {
        stack(
            &app,
            As::Server,
            Method::POST,
            "/contact-channels",
            Some(body),
        )
        .await
        .assert_known(400, "SCHEMA_ERROR");
    }
    let nobody = uuid::Uuid::new_v4();
    stack(
        &app,
        As::Server,
        Method::GET,
        &format!("/contact-channels?user_id={nobody}"),
        None,
    )
    .await
    .assert_known(404, "USER_NOT_FOUND");
    stack(
        &app,
        As::Server,
        Method::GET,
        &format!("/contact-channels/{stack_user}/{}", uuid::Uuid::new_v4()),
        None,
    )
    .await
    .assert_status(404);

    // Delete → Stytch get; the last way to sign in cannot be removed.
    let deleted = stack(&app, As::Server, Method::DELETE, &path, None).await;
    assert_eq!(deleted.assert_status(200)["success"], true);
    let emails = stytch_emails(&app, &user_id).await;
    assert!(emails.iter().all(|e| e["email"] != renamed.as_str()));
    let (lonely, lonely_email_id, _) = stytch_user(&app).await;
    let only = format!(
        "/contact-channels/{}/{}",
        uuid_of(&lonely),
        uuid_of(&lonely_email_id)
    );
    stack(&app, As::Server, Method::DELETE, &only, None)
        .await
        .assert_status(400);
    stack(
        &app,
        As::Server,
        Method::PATCH,
        &only,
        Some(json!({"used_for_auth": false})),
    )
    .await
    .assert_status(400);
    assert_eq!(
        stytch_emails(&app, &lonely).await.len(),
        1,
        "the refusal wrote nothing"
    );
}

async fn used_for_auth_decides_password_login(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, email, _) = user_with_session(&app).await;
    let emails = stytch_emails(&app, &user_id).await;
    let path = format!(
        "/contact-channels/{}/{}",
        uuid_of(&user_id),
        uuid_of(emails[0]["email_id"].as_str().unwrap())
    );
    let login = json!({"email": email, "password": "a-Long-and-unusual-passphrase-9"});
    app.post("/v1/passwords/authenticate", login.clone())
        .await
        .assert_ok();
    // A second way in, then the first email no longer signs in.
    stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels",
        Some(
            json!({"user_id": uuid_of(&user_id), "value": unique_email("alt"), "type": "email",
                    "used_for_auth": true}),
        ),
    )
    .await
    .assert_status(201);
    stack(
        &app,
        As::Server,
        Method::PATCH,
        &path,
        Some(json!({"used_for_auth": false})),
    )
    .await
    .assert_status(200);
    let refused = app.post("/v1/passwords/authenticate", login.clone()).await;
    assert!(refused.status.is_client_error(), "{refused:?}");
    stack(
        &app,
        As::Server,
        Method::PATCH,
        &path,
        Some(json!({"used_for_auth": true})),
    )
    .await
    .assert_status(200);
    app.post("/v1/passwords/authenticate", login)
        .await
        .assert_ok();
}

async fn client_access_acts_only_on_its_user(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, email, jwt) = user_with_session(&app).await;
    let me = As::Client(Some(jwt.clone()));
    let listed = stack(
        &app,
        me.clone(),
        Method::GET,
        "/contact-channels?user_id=me",
        None,
    )
    .await;
    assert_eq!(
        listed.assert_status(200)["items"][0]["value"],
        email.as_str()
    );
    assert_eq!(listed.body["items"][0]["user_id"], uuid_of(&user_id));
    let created = stack(
        &app,
        me.clone(),
        Method::POST,
        "/contact-channels",
        Some(json!({"user_id": "me", "value": unique_email("mine"), "type": "email", "used_for_auth": false})),
    )
    .await;
    let id = created.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    stack(
        &app,
        me.clone(),
        Method::PATCH,
        &format!("/contact-channels/me/{id}"),
        Some(json!({"is_primary": true})),
    )
    .await
    .assert_status(200);
    // A client cannot mark its own email verified, nor reach another user.
    stack(
        &app,
        me.clone(),
        Method::PATCH,
        &format!("/contact-channels/me/{id}"),
        Some(json!({"is_verified": true})),
    )
    .await
    .assert_known(400, "SCHEMA_ERROR");
    let (other, other_email_id, _) = stytch_user(&app).await;
    let theirs = format!(
        "/contact-channels/{}/{}",
        uuid_of(&other),
        uuid_of(&other_email_id)
    );
    stack(
        &app,
        me.clone(),
        Method::GET,
        &format!("/contact-channels?user_id={}", uuid_of(&other)),
        None,
    )
    .await
    .assert_status(403);
    stack(&app, me.clone(), Method::DELETE, &theirs, None)
        .await
        .assert_status(403);
    stack(
        &app,
        me.clone(),
        Method::PATCH,
        &theirs,
        Some(json!({"value": unique_email("x")})),
    )
    .await
    .assert_status(403);
    stack(
        &app,
        As::Client(None),
        Method::GET,
        "/contact-channels?user_id=me",
        None,
    )
    .await
    .assert_known(400, "CANNOT_GET_OWN_USER_WITHOUT_USER");
    stack(&app, As::Client(None), Method::GET, &theirs, None)
        .await
        .assert_known(400, "CANNOT_GET_OWN_USER_WITHOUT_USER");
    stack(
        &app,
        As::Client(Some("not.a.jwt".to_owned())),
        Method::GET,
        "/contact-channels?user_id=me",
        None,
    )
    .await
    .assert_known(401, "UNPARSABLE_ACCESS_TOKEN");
    // Clients ask errors to come as 200 with the real status in a header.
    let overridden = stack(
        &app,
        As::Headers(vec![
            ("x-stack-access-type", "client".to_owned()),
            ("x-stack-project-id", app.project_id.to_string()),
            (
                "x-stack-publishable-client-key",
                app.publishable_client_key.clone(),
            ),
            ("x-stack-override-error-status", "true".to_owned()),
        ]),
        Method::GET,
        "/contact-channels?user_id=me",
        None,
    )
    .await;
    assert_eq!(overridden.status, 200);
    assert_eq!(overridden.actual_status.as_deref(), Some("400"));
    assert_eq!(overridden.body["code"], "CANNOT_GET_OWN_USER_WITHOUT_USER");
    // A revoked session's JWT stops working at once.
    let session_id = app
        .get(&format!("/v1/sessions?user_id={user_id}"))
        .await
        .body["sessions"][0]["session_id"]
        .clone();
    app.post("/v1/sessions/revoke", json!({"session_id": session_id}))
        .await
        .assert_ok();
    stack(&app, me, Method::GET, "/contact-channels?user_id=me", None)
        .await
        .assert_known(401, "INVALID_ACCESS_TOKEN");
}

async fn stack_request_authentication(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, _, _) = stytch_user(&app).await;
    let path = format!("/contact-channels?user_id={}", uuid_of(&user_id));
    let project = app.project_id.to_string();
    let headers = |pairs: &[(&'static str, &str)]| {
        As::Headers(
            pairs
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned()))
                .collect(),
        )
    };
    let cases: Vec<(As, u16, &str)> = vec![
        (headers(&[]), 400, "ACCESS_TYPE_REQUIRED"),
        (
            headers(&[
                ("x-stack-project-id", &project),
                ("x-stack-secret-server-key", &app.secret_server_key),
            ]),
            400,
            "PROJECT_KEY_WITHOUT_ACCESS_TYPE",
        ),
        (
            headers(&[
                ("x-stack-access-type", "root"),
                ("x-stack-project-id", &project),
            ]),
            400,
            "INVALID_ACCESS_TYPE",
        ),
        (
            headers(&[("x-stack-access-type", "server")]),
            400,
            "ACCESS_TYPE_WITHOUT_PROJECT_ID",
        ),
        (
            headers(&[
                ("x-stack-access-type", "server"),
                (
                    "x-stack-project-id",
                    "project-test-00000000-0000-4000-8000-000000000000",
                ),
                ("x-stack-secret-server-key", &app.secret_server_key),
            ]),
            400,
            "CURRENT_PROJECT_NOT_FOUND",
        ),
        (
            headers(&[
                ("x-stack-access-type", "server"),
                ("x-stack-project-id", &project),
            ]),
            401,
            "SERVER_AUTHENTICATION_REQUIRED",
        ),
        (
            headers(&[
                ("x-stack-access-type", "server"),
                ("x-stack-project-id", &project),
                ("x-stack-secret-server-key", &app.publishable_client_key),
            ]),
            401,
            "INVALID_SECRET_SERVER_KEY",
        ),
        (
            headers(&[
                ("x-stack-access-type", "client"),
                ("x-stack-project-id", &project),
            ]),
            401,
            "PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT",
        ),
        (
            headers(&[
                ("x-stack-access-type", "client"),
                ("x-stack-project-id", &project),
                ("x-stack-publishable-client-key", "pck_wrong"),
            ]),
            401,
            "INVALID_PUBLISHABLE_CLIENT_KEY",
        ),
        (
            headers(&[
                ("x-stack-access-type", "admin"),
                ("x-stack-project-id", &project),
                ("x-stack-super-secret-admin-key", "sak_anything"),
            ]),
            401,
            "INVALID_SUPER_SECRET_ADMIN_KEY",
        ),
    ];
    for (who, status, code) in cases {
        stack(&app, who, Method::GET, &path, None)
            .await
            .assert_known(status, code);
    }
    // Stack's clients name the project by the UUID of its id.
    let project_uuid = uuid_of(&project);
    stack(
        &app,
        headers(&[
            ("x-stack-access-type", "server"),
            ("x-stack-project-id", &project_uuid),
            ("x-stack-secret-server-key", &app.secret_server_key),
        ]),
        Method::GET,
        &path,
        None,
    )
    .await
    .assert_status(200);
    // The newer clients' header names work as well.
    stack(
        &app,
        headers(&[
            ("x-hexclave-access-type", "server"),
            ("x-hexclave-project-id", &project),
            ("x-hexclave-secret-server-key", &app.secret_server_key),
        ]),
        Method::GET,
        &path,
        None,
    )
    .await
    .assert_status(200);

    // Another project: its keys do not open ours, its server access does not see our users, and
    // our users' JWTs are not its access tokens.
    let other = crate::helpers::create_project_with_stack_keys(app.store.as_ref()).await;
    let other_project = other.project_id.to_string();
    stack(
        &app,
        headers(&[
            ("x-stack-access-type", "server"),
            ("x-stack-project-id", &project),
            ("x-stack-secret-server-key", &other.secret_server_key),
        ]),
        Method::GET,
        &path,
        None,
    )
    .await
    .assert_known(401, "INVALID_SECRET_SERVER_KEY");
    let as_other_server = headers(&[
        ("x-stack-access-type", "server"),
        ("x-stack-project-id", &other_project),
        ("x-stack-secret-server-key", &other.secret_server_key),
    ]);
    stack(&app, as_other_server, Method::GET, &path, None)
        .await
        .assert_known(404, "USER_NOT_FOUND");
    let (_, _, jwt) = user_with_session(&app).await;
    stack(
        &app,
        headers(&[
            ("x-stack-access-type", "client"),
            ("x-stack-project-id", &other_project),
            (
                "x-stack-publishable-client-key",
                &other.publishable_client_key,
            ),
            ("x-stack-access-token", &jwt),
        ]),
        Method::GET,
        "/contact-channels?user_id=me",
        None,
    )
    .await
    .assert_known(401, "INVALID_PROJECT_FOR_ACCESS_TOKEN");
}

async fn email_verification_through_the_outbox(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, email_id, email) = stytch_user(&app).await;
    let path = format!(
        "/contact-channels/{}/{}",
        uuid_of(&user_id),
        uuid_of(&email_id)
    );
    let sent = stack(
        &app,
        As::Server,
        Method::POST,
        &format!("{path}/send-verification-code"),
        Some(json!({"callback_url": "https://app.example.com/verify?from=mail"})),
    )
    .await;
    assert_eq!(sent.assert_status(200)["success"], true);
    let outbox = app.outbox_texts(5).await;
    assert_eq!(outbox[0].0, email);
    let link = outbox[0]
        .1
        .split_whitespace()
        .find(|word| word.starts_with("https://"))
        .unwrap()
        .to_owned();
    assert!(
        link.starts_with("https://app.example.com/verify?from=mail&code="),
        "{link}"
    );
    let code = link.rsplit("code=").next().unwrap().to_owned();

    let check = stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels/verify/check-code",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(check.assert_status(200)["is_code_valid"], true);
    // Verify needs no user: the code is the proof. Concurrent uses: exactly one wins.
    let attempts = (0..5).map(|_| {
        stack(
            &app,
            As::Client(None),
            Method::POST,
            "/contact-channels/verify",
            Some(json!({"code": code})),
        )
    });
    let replies = futures::future::join_all(attempts).await;
    assert_eq!(
        replies.iter().filter(|r| r.status == 200).count(),
        1,
        "{replies:?}"
    );
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.assert_known(409, "VERIFICATION_CODE_ALREADY_USED");
    }
    assert_eq!(stytch_emails(&app, &user_id).await[0]["verified"], true);
    stack(
        &app,
        As::Server,
        Method::POST,
        &format!("{path}/send-verification-code"),
        Some(json!({"callback_url": "https://app.example.com/verify"})),
    )
    .await
    .assert_known(409, "EMAIL_ALREADY_VERIFIED");
    stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels/verify",
        Some(json!({"code": "made-up"})),
    )
    .await
    .assert_known(404, "VERIFICATION_CODE_NOT_FOUND");
    stack(
        &app,
        As::Server,
        Method::POST,
        &format!("{path}/send-verification-code"),
        Some(json!({"callback_url": "not a url"})),
    )
    .await
    .assert_known(400, "SCHEMA_ERROR");

    // An expired code, and a code for an address that changed since it was sent.
    let (other_user, other_email_id, _) = stytch_user(&app).await;
    let (user, email_id) = (
        UserId::parse(&other_user).unwrap(),
        EmailId::parse(&other_email_id).unwrap(),
    );
    let stale = Secret::generate_token();
    let now = Utc::now();
    app.store
        .start_email_verification(
            &app.project_id,
            &user,
            &email_id,
            NewVerification {
                code_digest: stale.digest(),
                expires_at: now - Duration::minutes(1),
                message: latchkey_store::NewMessage {
                    message_id: uuid::Uuid::new_v4().to_string(),
                    channel: latchkey_core::delivery::Channel::Email,
                    recipient: "x@example.com".to_owned(),
                    subject: "s".to_owned(),
                    sealed: Vec::new(),
                    status: latchkey_store::MessageStatus::Held,
                    created_at: now,
                },
            },
        )
        .await
        .unwrap();
    stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels/verify",
        Some(json!({"code": stale.expose()})),
    )
    .await
    .assert_known(400, "VERIFICATION_CODE_EXPIRED");
    let other_path = format!(
        "/contact-channels/{}/{}",
        uuid_of(&other_user),
        uuid_of(&other_email_id)
    );
    stack(
        &app,
        As::Server,
        Method::POST,
        &format!("{other_path}/send-verification-code"),
        Some(json!({"callback_url": "https://app.example.com/v"})),
    )
    .await
    .assert_status(200);
    let fresh = app.outbox_texts(1).await[0].1.clone();
    let fresh_code = fresh.rsplit("code=").next().unwrap().trim().to_owned();
    stack(
        &app,
        As::Server,
        Method::PATCH,
        &other_path,
        Some(json!({"value": unique_email("moved")})),
    )
    .await
    .assert_status(200);
    stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels/verify",
        Some(json!({"code": fresh_code})),
    )
    .await
    .assert_status(404);
    assert_eq!(stytch_emails(&app, &other_user).await[0]["verified"], false);
}

/// Stack's deprecated `POST /contact-channels/send-verification-code`, which its clients'
/// `sendVerificationEmail` still calls: the signed-in user's primary email, named by its value.
async fn deprecated_send_verification_code_takes_the_primary_email(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, email, jwt) = user_with_session(&app).await;
    let me = As::Client(Some(jwt));
    let path = "/contact-channels/send-verification-code";
    let url = "https://app.example.com/verify";
    let other = unique_email("not-primary");
    let refused = stack(
        &app,
        me.clone(),
        Method::POST,
        path,
        Some(json!({"email": other, "callback_url": url})),
    )
    .await;
    let body = refused.assert_known(400, "EMAIL_IS_NOT_PRIMARY_EMAIL");
    assert_eq!(
        body["details"],
        json!({"email": other, "primary_email": email})
    );
    // It needs a user; and its body is Stack's schema.
    for (who, body) in [
        (As::Server, json!({"email": email, "callback_url": url})),
        (
            me.clone(),
            json!({"email": email, "callback_url": "not a url"}),
        ),
        (
            me.clone(),
            json!({"email": "not an email", "callback_url": url}),
        ),
        (me.clone(), json!({"email": email})),
    ] {
        stack(&app, who, Method::POST, path, Some(body))
            .await
            .assert_known(400, "SCHEMA_ERROR");
    }
    assert!(app
        .store
        .outbox(&app.project_id, 5)
        .await
        .unwrap()
        .is_empty());

    let sent = stack(
        &app,
        me.clone(),
        Method::POST,
        path,
        Some(json!({"email": email, "callback_url": url})),
    )
    .await;
    assert_eq!(sent.assert_status(200)["success"], true);
    let outbox = app.outbox_texts(5).await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].0, email);
    let code = outbox[0]
        .1
        .rsplit("code=")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let check = stack(
        &app,
        me.clone(),
        Method::POST,
        "/contact-channels/verify/check-code",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(check.assert_status(200)["is_code_valid"], true);
    stack(
        &app,
        me.clone(),
        Method::POST,
        "/contact-channels/verify",
        Some(json!({"code": code})),
    )
    .await
    .assert_status(200);
    stack(
        &app,
        me,
        Method::POST,
        path,
        Some(json!({"email": email, "callback_url": url})),
    )
    .await
    .assert_known(409, "EMAIL_ALREADY_VERIFIED");
}

both_engines!(
    deprecated_send_verification_code_takes_the_primary_email,
    server_crud_is_the_stytch_users_emails,
    used_for_auth_decides_password_login,
    client_access_acts_only_on_its_user,
    stack_request_authentication,
    email_verification_through_the_outbox,
);
