//! Who owns an email address (`docs/security.md`, issue 20 items 8, 10, 20 and 21): the
//! verification-email throttle and the outbox's retention, answers that do not tell whether
//! an address exists, and the caps on what one user holds. Each test failed on the code before
//! its fix.

use chrono::{Duration, Utc};
use latchkey_core::ids::{EmailId, UserId};
use latchkey_core::secret::Secret;
use latchkey_core::users::FactorKind;
use latchkey_store::{NewFactor, NewVerification, Refusal, StoreError};
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_engines;
use crate::contact_channels::{
    stack, stytch_emails, stytch_user, user_with_session, uuid_of, As, StackReply,
};
use crate::helpers::{spawn_app, unique_email, unique_phone, Engine, Reply, TestApp};

/// The password of `user_with_session`'s users.
const SESSION_PASSWORD: &str = "a-Long-and-unusual-passphrase-9";

fn client(jwt: &str) -> As {
    As::Client(Some(jwt.to_owned()))
}

async fn add_channel(
    app: &TestApp,
    who: As,
    user: &str,
    value: &str,
    used_for_auth: bool,
) -> StackReply {
    stack(
        app,
        who,
        Method::POST,
        "/contact-channels",
        Some(json!({"user_id": user, "value": value, "type": "email",
                    "used_for_auth": used_for_auth})),
    )
    .await
}

/// The user's channel with this address, as Stack's server access lists it.
async fn channel_of(app: &TestApp, user_id: &str, value: &str) -> Value {
    let listed = stack(
        app,
        As::Server,
        Method::GET,
        &format!("/contact-channels?user_id={}", uuid_of(user_id)),
        None,
    )
    .await;
    listed.assert_status(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["value"] == value)
        .cloned()
        .unwrap_or_else(|| panic!("{value} is not a channel of {user_id}: {listed:?}"))
}

fn md5_hex(text: &str) -> String {
    use md5_digest::Digest;
    hex_of(&md5_digest::Md5::digest(text.as_bytes()))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `passwords/migrate` of an MD5 of `password` for `email`, vouching for it when `verified`.
async fn migrate(app: &TestApp, email: &str, password: &str, verified: bool) -> Reply {
    app.post(
        "/v1/passwords/migrate",
        json!({"email": email, "hash_type": "md_5", "hash": md5_hex(password),
               "set_email_verified": verified}),
    )
    .await
}

async fn login(app: &TestApp, email: &str, password: &str) -> Reply {
    app.post(
        "/v1/passwords/authenticate",
        json!({"email": email, "password": password}),
    )
    .await
}

/// Item 8: a client lists another person's address; the owner's verified migration then gets
/// an account of its own, and the claimant never signs in with the address.
async fn a_claimed_address_never_shadows_its_verified_owner(engine: Engine) {
    let app = spawn_app(engine).await;
    let (squatter, squatter_email, jwt) = user_with_session(&app).await;
    let victim = unique_email("victim");
    let listed = add_channel(&app, client(&jwt), "me", &victim, false).await;
    let copy_id = listed.assert_status(201)["id"].as_str().unwrap().to_owned();
    // Not as a way to sign in: an address nobody proved may not sign its claimant in.
    let refused = add_channel(&app, client(&jwt), "me", &unique_email("unproven"), true).await;
    refused.assert_status(400);
    assert!(
        refused.body.as_str().unwrap().contains("Verify this email"),
        "{refused:?}"
    );
    stack(
        &app,
        client(&jwt),
        Method::PATCH,
        &format!("/contact-channels/me/{copy_id}"),
        Some(json!({"used_for_auth": true})),
    )
    .await
    .assert_status(400);
    // Nor by renaming its sign-in channel to the address.
    let own = channel_of(&app, &squatter, &squatter_email).await;
    stack(
        &app,
        client(&jwt),
        Method::PATCH,
        &format!("/contact-channels/me/{}", own["id"].as_str().unwrap()),
        Some(json!({"value": unique_email("renamed")})),
    )
    .await
    .assert_status(400);

    // The operator migrates the owner's password and vouches for the address.
    let migrated = migrate(&app, &victim, "the-owners-own-passphrase", true).await;
    let body = migrated.assert_ok();
    assert_eq!(body["user_created"], true, "{body}");
    let owner = body["user_id"].as_str().unwrap().to_owned();
    assert_ne!(owner, squatter);
    assert_eq!(body["user"]["emails"][0]["verified"], true);
    let copy = channel_of(&app, &squatter, &victim).await;
    assert_eq!(
        copy["is_verified"], false,
        "only the owner's row is verified"
    );
    assert_eq!(copy["used_for_auth"], false);
    assert_eq!(
        login(&app, &victim, "the-owners-own-passphrase")
            .await
            .assert_ok()["user_id"],
        owner.as_str()
    );
    login(&app, &victim, SESSION_PASSWORD)
        .await
        .assert_error(401, "unauthorized_credentials");

    // The owner follows a verification link the claimant sent: the copy is verified, but the
    // address still signs in its owner only.
    stack(
        &app,
        client(&jwt),
        Method::POST,
        &format!("/contact-channels/me/{copy_id}/send-verification-code"),
        Some(json!({"callback_url": "https://app.example.com/verify"})),
    )
    .await
    .assert_status(200);
    let (recipient, text) = app.outbox_texts(1).await[0].clone();
    assert_eq!(recipient, victim);
    let code = text.rsplit("code=").next().unwrap().trim().to_owned();
    stack(
        &app,
        As::Client(None),
        Method::POST,
        "/contact-channels/verify",
        Some(json!({"code": code})),
    )
    .await
    .assert_status(200);
    stack(
        &app,
        client(&jwt),
        Method::PATCH,
        &format!("/contact-channels/me/{copy_id}"),
        Some(json!({"used_for_auth": true})),
    )
    .await
    .assert_known(409, "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE");
    assert_eq!(
        login(&app, &victim, "the-owners-own-passphrase")
            .await
            .assert_ok()["user_id"],
        owner.as_str()
    );
}

/// Item 8: an unverified hold on an address (a sign-up with someone else's address, a user the
/// app made) never blocks a verified claim; a verified hold is never taken.
async fn a_verified_claim_takes_the_address_from_an_unverified_holder(engine: Engine) {
    let app = spawn_app(engine).await;
    // Someone signs up first with another person's address, unproven.
    let address = unique_email("early");
    let early = app
        .post(
            "/v1/passwords",
            json!({"email": address, "password": SESSION_PASSWORD}),
        )
        .await;
    let squatter = early.assert_ok()["user_id"].as_str().unwrap().to_owned();
    // An unvouched migration gets Stytch's answer: the holder has a password.
    migrate(&app, &address, "the-owners-own-passphrase", false)
        .await
        .assert_error(400, "password_already_exists");
    // A vouched one makes the owner a user of its own that signs in with the address.
    let migrated = migrate(&app, &address, "the-owners-own-passphrase", true).await;
    let body = migrated.assert_ok();
    assert_eq!(body["user_created"], true, "{body}");
    let owner = body["user_id"].as_str().unwrap().to_owned();
    assert_ne!(owner, squatter);
    assert_eq!(
        login(&app, &address, "the-owners-own-passphrase")
            .await
            .assert_ok()["user_id"],
        owner.as_str()
    );
    login(&app, &address, SESSION_PASSWORD)
        .await
        .assert_error(401, "unauthorized_credentials");
    let kept = channel_of(&app, &squatter, &address).await;
    assert_eq!(
        (kept["used_for_auth"].clone(), kept["is_verified"].clone()),
        (json!(false), json!(false))
    );

    // The app's own passwordless user keeps Stytch's rule: the migration joins it.
    let (app_user, _, app_address) = stytch_user(&app).await;
    let joined = migrate(&app, &app_address, "hunter2-but-longer", true).await;
    assert_eq!(joined.assert_ok()["user_id"], app_user.as_str());
    assert_eq!(joined.body["user_created"], false);

    // Stack's server access: a verified channel takes the sign-in from an unverified holder…
    let (holder, _, held) = stytch_user(&app).await;
    let (claimant, _, _) = stytch_user(&app).await;
    let vouched = json!({"user_id": uuid_of(&claimant), "value": held, "type": "email",
                         "used_for_auth": true, "is_verified": true});
    stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels",
        Some(vouched),
    )
    .await
    .assert_status(201);
    assert_eq!(
        channel_of(&app, &holder, &held).await["used_for_auth"],
        false
    );
    assert_eq!(
        channel_of(&app, &claimant, &held).await["used_for_auth"],
        true
    );
    // …but never from a verified one, and an unvouched claim still meets the holder.
    let (third, _, _) = stytch_user(&app).await;
    for verified in [true, false] {
        let claim = json!({"user_id": uuid_of(&third), "value": held, "type": "email",
                           "used_for_auth": true, "is_verified": verified});
        stack(
            &app,
            As::Server,
            Method::POST,
            "/contact-channels",
            Some(claim),
        )
        .await
        .assert_known(409, "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE");
    }
    let (_, _, unverified_held) = stytch_user(&app).await;
    let claim = json!({"user_id": uuid_of(&third), "value": unverified_held, "type": "email",
                       "used_for_auth": true});
    stack(
        &app,
        As::Server,
        Method::POST,
        "/contact-channels",
        Some(claim),
    )
    .await
    .assert_known(409, "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE");
}

/// Item 8: every spelling of an international domain is one address, stored in ASCII; a
/// look-alike domain is another address; a non-ASCII local part is refused on both APIs.
async fn look_alike_addresses_are_one_address_or_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let ascii = format!("owner.{tag}@xn--bcher-kva.example");
    let user = app
        .create_user(json!({"email": format!("Owner.{tag}@Bücher.example")}))
        .await;
    assert_eq!(user["emails"][0]["email"], ascii.as_str());
    for spelling in [
        format!("OWNER.{tag}@BÜCHER.EXAMPLE"),
        ascii.to_uppercase(),
        format!("owner.{tag}@ｂüｃｈｅｒ.example"),
        format!("owner.{tag}@bu\u{308}cher.example"),
    ] {
        app.post("/v1/users", json!({"email": spelling}))
            .await
            .assert_error(400, "duplicate_email");
    }
    let (_, _, jwt) = user_with_session(&app).await;
    let listed = add_channel(
        &app,
        client(&jwt),
        "me",
        &format!("OWNER.{tag}@BÜCHER.example"),
        false,
    )
    .await;
    assert_eq!(listed.assert_status(201)["value"], ascii.as_str());
    // The same address again, in another spelling, is the user's own duplicate.
    add_channel(
        &app,
        client(&jwt),
        "me",
        &format!("owner.{tag}@ｂüｃｈｅｒ.example"),
        false,
    )
    .await
    .assert_status(400);

    // A Cyrillic а in the domain: another domain, shown in its ASCII form.
    let imitation = app
        .create_user(json!({"email": format!("owner.{tag}@ex\u{430}mple.com")}))
        .await;
    let stored = imitation["emails"][0]["email"].as_str().unwrap();
    assert!(stored.is_ascii() && stored.contains("@xn--"), "{stored}");

    for local in [
        format!("p\u{430}ypal.{tag}@example.com"),
        format!("\u{440}\u{430}\u{443}\u{440}\u{430}l.{tag}@example.com"),
        format!("ｖｉｃｔｉｍ.{tag}@example.com"),
    ] {
        app.post("/v1/users", json!({"email": local}))
            .await
            .assert_error(400, "invalid_email");
        add_channel(&app, client(&jwt), "me", &local, false)
            .await
            .assert_known(400, "SCHEMA_ERROR");
    }
}

/// What a client sees of a create or update, without the parts that are the request's own
/// (the new channel's id and value).
fn answer(reply: &StackReply) -> (u16, Option<String>, Value) {
    let mut body = reply.body.clone();
    if let Some(fields) = body.as_object_mut() {
        fields.remove("id");
        fields.remove("value");
    }
    (reply.status, reply.known_error.clone(), body)
}

/// Item 20: a client adding or renaming a channel gets the same answer whether the address
/// signs someone in (verified or not), is someone's contact address, or is nobody's.
async fn client_answers_do_not_tell_whether_an_email_exists(engine: Engine) {
    let app = spawn_app(engine).await;
    let verified = unique_email("verified");
    migrate(&app, &verified, "some-passphrase-of-theirs", true)
        .await
        .assert_ok();
    let (_, _, unverified) = stytch_user(&app).await;
    let (_, _, other_jwt) = user_with_session(&app).await;
    let contact = unique_email("contact");
    add_channel(&app, client(&other_jwt), "me", &contact, false)
        .await
        .assert_status(201);
    let nobody = unique_email("nobody");
    let addresses = [&verified, &unverified, &contact, &nobody];

    let (_, _, jwt) = user_with_session(&app).await;
    // Sign-in first (nothing is created), then contact addresses (each is created).
    for used_for_auth in [true, false] {
        let mut answers = Vec::new();
        for address in addresses {
            let reply = add_channel(&app, client(&jwt), "me", address, used_for_auth).await;
            answers.push(answer(&reply));
        }
        assert!(
            answers.iter().all(|each| each == &answers[0]),
            "used_for_auth {used_for_auth}: {answers:#?}"
        );
        let expected = if used_for_auth { 400 } else { 201 };
        assert_eq!(answers[0].0, expected, "{answers:#?}");
    }

    let (_, _, renamer) = user_with_session(&app).await;
    let spare = add_channel(&app, client(&renamer), "me", &unique_email("spare"), false).await;
    let path = format!(
        "/contact-channels/me/{}",
        spare.assert_status(201)["id"].as_str().unwrap()
    );
    let mut answers = Vec::new();
    for address in addresses {
        let reply = stack(
            &app,
            client(&renamer),
            Method::PATCH,
            &path,
            Some(json!({"value": address})),
        )
        .await;
        answers.push(answer(&reply));
    }
    assert!(
        answers.iter().all(|each| each == &answers[0]),
        "{answers:#?}"
    );
    assert_eq!(answers[0].0, 200, "{answers:#?}");
}

async fn send_code(app: &TestApp, who: As, channel_id: &str) -> StackReply {
    stack(
        app,
        who,
        Method::POST,
        &format!("/contact-channels/me/{channel_id}/send-verification-code"),
        Some(json!({"callback_url": "https://app.example.com/verify"})),
    )
    .await
}

async fn new_channel(app: &TestApp, jwt: &str, value: &str) -> String {
    let reply = add_channel(app, client(jwt), "me", value, false).await;
    reply.assert_status(201)["id"].as_str().unwrap().to_owned()
}

/// Item 10: 5 verification emails an hour to one address, whoever asks, and 10 an hour for one
/// user, whatever the addresses; past them a 429 known error with `Retry-After`.
async fn verification_emails_are_throttled_per_address_and_per_user(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, _, jwt) = user_with_session(&app).await;
    let inbox = unique_email("inbox");
    let channel = new_channel(&app, &jwt, &inbox).await;
    for _ in 0..5 {
        send_code(&app, client(&jwt), &channel)
            .await
            .assert_status(200);
    }
    let refused = send_code(&app, client(&jwt), &channel).await;
    let body = refused.assert_known(429, "TOO_MANY_VERIFICATION_EMAILS");
    let wait = body["details"]["retry_after_seconds"].as_u64().unwrap();
    assert!((3500..=3600).contains(&wait), "{refused:?}");
    assert_eq!(
        refused.retry_after.as_deref(),
        Some(wait.to_string().as_str())
    );
    let sent = app.store.outbox(&app.project_id, 100).await.unwrap();
    assert_eq!(sent.iter().filter(|m| m.recipient == inbox).count(), 5);

    // Another account that lists the same address meets the same count.
    let (_, _, other) = user_with_session(&app).await;
    let theirs = new_channel(&app, &other, &inbox).await;
    send_code(&app, client(&other), &theirs)
        .await
        .assert_known(429, "TOO_MANY_VERIFICATION_EMAILS");

    // One user, many addresses.
    let (_, _, busy) = user_with_session(&app).await;
    let first = new_channel(&app, &busy, &unique_email("first")).await;
    let second = new_channel(&app, &busy, &unique_email("second")).await;
    let third = new_channel(&app, &busy, &unique_email("third")).await;
    for channel in [&first, &second] {
        for _ in 0..5 {
            send_code(&app, client(&busy), channel)
                .await
                .assert_status(200);
        }
    }
    send_code(&app, client(&busy), &third)
        .await
        .assert_known(429, "TOO_MANY_VERIFICATION_EMAILS");
}

/// A verification for `email_id` planted through the store, as of `created_at`.
async fn plant_code(
    app: &TestApp,
    user_id: &str,
    email_id: &str,
    expires_at: chrono::DateTime<Utc>,
    created_at: chrono::DateTime<Utc>,
) -> String {
    let code = Secret::generate_token();
    app.store
        .start_email_verification(
            &app.project_id,
            &UserId::parse(user_id).unwrap(),
            &EmailId::parse(email_id).unwrap(),
            NewVerification {
                code_digest: code.digest(),
                expires_at,
                message: latchkey_store::NewMessage {
                    message_id: uuid::Uuid::new_v4().to_string(),
                    channel: latchkey_core::delivery::Channel::Email,
                    recipient: "planted@example.com".to_owned(),
                    subject: "s".to_owned(),
                    sealed: Vec::new(),
                    status: latchkey_store::MessageStatus::Held,
                    created_at,
                },
            },
        )
        .await
        .unwrap();
    code.expose().to_owned()
}

/// Item 10: queuing a message deletes the project's messages older than a day, at most 100 at
/// a time, and verification codes expired for longer than that; younger ones stay.
async fn the_outbox_is_pruned_past_its_retention(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, email_id, _) = stytch_user(&app).await;
    let now = Utc::now();
    // A code expired more than a day ago, and one expired an hour ago (each with its message).
    let stale = plant_code(
        &app,
        &user_id,
        &email_id,
        now - Duration::hours(25),
        now - Duration::minutes(25 * 60 + 30),
    )
    .await;
    let expired = plant_code(
        &app,
        &user_id,
        &email_id,
        now - Duration::hours(1),
        now - Duration::hours(2),
    )
    .await;
    // 150 messages from long ago and 3 from within the day, planted in the database.
    let recent = (now - Duration::hours(23)).timestamp_micros();
    let planted = app
        .execute_raw(
            &format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 153) \
                 INSERT INTO outbox (message_id, project_id, recipient, subject, body, created_at) \
                 SELECT CAST($1 AS TEXT) || '-planted-' || CAST(i AS TEXT), CAST($1 AS TEXT), \
                 'old@example.com', 's', 'b', CASE WHEN i > 150 THEN {recent} ELSE i END FROM n"
            ),
            app.project_id.as_str(),
        )
        .await;
    assert_eq!(planted, 153);
    let outbox = || async { app.store.outbox(&app.project_id, 1000).await.unwrap() };
    assert_eq!(outbox().await.len(), 155);

    let path = format!(
        "/contact-channels/{}/{}/send-verification-code",
        uuid_of(&user_id),
        uuid_of(&email_id)
    );
    let send = || {
        stack(
            &app,
            As::Server,
            Method::POST,
            &path,
            Some(json!({"callback_url": "https://app.example.com/verify"})),
        )
    };
    send().await.assert_status(200);
    // The 100 oldest went; 51 old ones (50 planted, the stale code's) wait for the next message.
    let kept = outbox().await;
    assert_eq!(kept.len(), 155 - 100 + 1, "bounded to 100 a message");
    send().await.assert_status(200);
    let kept = outbox().await;
    assert_eq!(
        kept.len(),
        3 + 1 + 2,
        "the day's planted messages, the recent code's and the two new ones"
    );
    let cutoff = now - Duration::hours(24);
    assert!(kept.iter().all(|message| message.created_at > cutoff));

    let verify = |code: String| {
        stack(
            &app,
            As::Server,
            Method::POST,
            "/contact-channels/verify",
            Some(json!({"code": code})),
        )
    };
    verify(stale)
        .await
        .assert_known(404, "VERIFICATION_CODE_NOT_FOUND");
    verify(expired)
        .await
        .assert_known(400, "VERIFICATION_CODE_EXPIRED");
}

/// Item 21: 10 emails and 10 phone numbers a user, on the Stytch and the Stack API; an update
/// past the cap is refused whole.
async fn emails_and_phone_numbers_are_capped_per_user(engine: Engine) {
    let app = spawn_app(engine).await;
    let user = app
        .create_user(json!({"email": unique_email("capped"), "phone_number": unique_phone()}))
        .await;
    let user_id = user["user_id"].as_str().unwrap().to_owned();
    let emails = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|_| json!({"email": unique_email("more")}))
            .collect()
    };
    let phones = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|_| json!({"phone_number": unique_phone()}))
            .collect()
    };
    let path = format!("/v1/users/{user_id}");
    app.put(&path, json!({"emails": emails(10)}))
        .await
        .assert_error(400, "too_many_emails");
    app.put(&path, json!({"phone_numbers": phones(10)}))
        .await
        .assert_error(400, "too_many_phone_numbers");
    let unchanged = app.get(&path).await;
    assert_eq!(unchanged.body["emails"].as_array().unwrap().len(), 1);
    assert_eq!(unchanged.body["phone_numbers"].as_array().unwrap().len(), 1);
    app.put(
        &path,
        json!({"emails": emails(9), "phone_numbers": phones(9)}),
    )
    .await
    .assert_ok();
    let refused = app.put(&path, json!({"emails": emails(1)})).await;
    refused.assert_error(400, "too_many_emails");
    assert!(
        refused.body["error_message"]
            .as_str()
            .unwrap()
            .contains("at most 10 emails"),
        "{refused:?}"
    );
    app.put(&path, json!({"phone_numbers": phones(1)}))
        .await
        .assert_error(400, "too_many_phone_numbers");

    // Stack: the eleventh channel is a plain 400, for server and client access alike.
    let over = add_channel(
        &app,
        As::Server,
        &uuid_of(&user_id),
        &unique_email("eleventh"),
        false,
    )
    .await;
    over.assert_status(400);
    assert_eq!(over.known_error, None);
    assert!(
        over.body.as_str().unwrap().contains("at most 10 emails"),
        "{over:?}"
    );
    let (_, _, jwt) = user_with_session(&app).await;
    for n in 1..=10 {
        let reply = add_channel(&app, client(&jwt), "me", &unique_email("mine"), false).await;
        assert_eq!(
            reply.status,
            if n < 10 { 201 } else { 400 },
            "{n}: {reply:?}"
        );
    }

    // Factors added through the store are capped too.
    let factor_user = UserId::parse(&user_id).unwrap();
    for _ in 0..FactorKind::Totp.cap() {
        app.store
            .add_factor(
                &app.project_id,
                &factor_user,
                NewFactor::Totp { verified: false },
                Utc::now(),
            )
            .await
            .unwrap();
    }
    let over = app
        .store
        .add_factor(
            &app.project_id,
            &factor_user,
            NewFactor::Totp { verified: false },
            Utc::now(),
        )
        .await;
    assert!(
        matches!(
            over,
            Err(StoreError::Refused(Refusal::TooMany(FactorKind::Totp)))
        ),
        "{over:?}"
    );
}

/// Item 21: the cap is counted inside the adding transaction, so concurrent additions cannot
/// pass it together.
async fn concurrent_additions_cannot_pass_the_cap(engine: Engine) {
    let app = spawn_app(engine).await;
    let (user_id, _, _) = stytch_user(&app).await;
    let stack_user = uuid_of(&user_id);
    let values: Vec<String> = (0..15).map(|_| unique_email("racing")).collect();
    let replies = futures::future::join_all(
        values
            .iter()
            .map(|value| add_channel(&app, As::Server, &stack_user, value, false)),
    )
    .await;
    let created = replies.iter().filter(|reply| reply.status == 201).count();
    assert_eq!(created, 9, "{replies:#?}");
    assert!(replies
        .iter()
        .all(|reply| reply.status == 201 || reply.status == 400));
    assert_eq!(stytch_emails(&app, &user_id).await.len(), 10);
}

both_engines!(
    a_claimed_address_never_shadows_its_verified_owner,
    a_verified_claim_takes_the_address_from_an_unverified_holder,
    look_alike_addresses_are_one_address_or_refused,
    client_answers_do_not_tell_whether_an_email_exists,
    verification_emails_are_throttled_per_address_and_per_user,
    the_outbox_is_pruned_past_its_retention,
    emails_and_phone_numbers_are_capped_per_user,
    concurrent_additions_cannot_pass_the_cap,
);
