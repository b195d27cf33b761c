//! The store half of magic links (issue 21; their routes come next): a token kept only as its
//! keyed digest, found only in its project, used once by the completing authentication's
//! transaction, which verifies the email and activates a pending user; expired and used
//! tokens are Stytch's `unable_to_auth_magic_link`, unknown ones `magic_link_not_found`.

use chrono::{Duration, Utc};
use latchkey_core::ids::{EmailId, UserId};
use latchkey_core::magic_links::{token_context, LinkPurpose};
use latchkey_core::secret::Secret;
use latchkey_store::{
    Completion, Consume, Missing, NewMagicLink, PasswordWrite, Refusal, Revocation, StoreError,
    UserCompletion,
};
use serde_json::json;

use crate::both_engines;
use crate::helpers::{test_vault, unique_email, Engine, TestApp};

/// A pending user with one email: (user_id, email_id).
async fn pending_user(app: &TestApp) -> (UserId, EmailId) {
    let user = app
        .create_user(json!({"email": unique_email("link"), "create_user_as_pending": true}))
        .await;
    (
        UserId::parse(user["user_id"].as_str().unwrap()).unwrap(),
        EmailId::parse(user["emails"][0]["email_id"].as_str().unwrap()).unwrap(),
    )
}

/// A digest no other test's token has (the PostgreSQL database is shared).
fn fresh_digest() -> [u8; 32] {
    test_vault().code_digest("magic-links-test", &uuid::Uuid::new_v4().to_string())
}

fn completion(user_id: &UserId, digest: [u8; 32], at: chrono::DateTime<Utc>) -> Completion {
    Completion::User(UserCompletion {
        user_id: user_id.clone(),
        password: PasswordWrite::Keep,
        revoke: Revocation::None,
        session: None,
        consume: Some(Consume::MagicLink { digest, at }),
        attempt: None,
    })
}

async fn a_token_is_used_once_and_proves_its_email(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let (user_id, email_id) = pending_user(&app).await;
    let token = Secret::generate_token();
    let digest = test_vault().code_digest(&token_context(&app.project_id), token.expose());
    let now = Utc::now();
    app.store
        .issue_magic_link(
            &app.project_id,
            NewMagicLink {
                token_digest: digest,
                user_id: user_id.clone(),
                email_id: Some(email_id.clone()),
                purpose: LinkPurpose::Signup,
                code_challenge: None,
                expires_at: now + LinkPurpose::Signup.expiry(None).unwrap(),
            },
            now,
        )
        .await
        .unwrap();
    let stored = app
        .store
        .magic_link(&app.project_id, &digest)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.usable(now));
    assert_eq!(stored.email_id.as_ref(), Some(&email_id));
    // Another project never finds it.
    let (other, _) = app.other_project().await;
    assert!(app
        .store
        .magic_link(&other, &digest)
        .await
        .unwrap()
        .is_none());

    app.store
        .complete(&app.project_id, completion(&user_id, digest, now), now)
        .await
        .unwrap();
    let user = app.get(&format!("/v1/users/{user_id}")).await;
    let user = user.assert_ok();
    assert_eq!(user["status"], "active");
    assert_eq!(user["emails"][0]["verified"], true);
    // A second use is refused, and the first use stands.
    assert!(matches!(
        app.store
            .complete(&app.project_id, completion(&user_id, digest, now), now)
            .await,
        Err(StoreError::Refused(Refusal::MagicLinkUnusable))
    ));
    assert!(app
        .store
        .magic_link(&app.project_id, &digest)
        .await
        .unwrap()
        .unwrap()
        .used_at
        .is_some());
    // A digest no token has.
    assert!(matches!(
        app.store
            .complete(
                &app.project_id,
                completion(&user_id, fresh_digest(), now),
                now
            )
            .await,
        Err(StoreError::NotFound(Missing::MagicLink))
    ));
}

async fn an_expired_or_embedded_token_proves_no_email(engine: Engine) {
    let app = crate::helpers::spawn_app(engine).await;
    let (user_id, email_id) = pending_user(&app).await;
    let now = Utc::now();
    let (one, two, three, four) = (
        fresh_digest(),
        fresh_digest(),
        fresh_digest(),
        fresh_digest(),
    );
    let issue = |digest: [u8; 32], email: Option<EmailId>, purpose, expires_at| NewMagicLink {
        token_digest: digest,
        user_id: user_id.clone(),
        email_id: email,
        purpose,
        code_challenge: None,
        expires_at,
    };
    app.store
        .issue_magic_link(
            &app.project_id,
            issue(
                one,
                Some(email_id.clone()),
                LinkPurpose::Login,
                now + Duration::minutes(5),
            ),
            now,
        )
        .await
        .unwrap();
    let later = now + Duration::minutes(5);
    assert!(matches!(
        app.store
            .complete(&app.project_id, completion(&user_id, one, later), later)
            .await,
        Err(StoreError::Refused(Refusal::MagicLinkUnusable))
    ));
    // An embedded token activates the user but verifies no email.
    app.store
        .issue_magic_link(
            &app.project_id,
            issue(
                two,
                None,
                LinkPurpose::Embedded,
                now + Duration::minutes(60),
            ),
            now,
        )
        .await
        .unwrap();
    app.store
        .complete(&app.project_id, completion(&user_id, two, now), now)
        .await
        .unwrap();
    let user = app.get(&format!("/v1/users/{user_id}")).await;
    let user = user.assert_ok();
    assert_eq!(user["status"], "active");
    assert_eq!(user["emails"][0]["verified"], false);
    // A token for an email that is not the user's, or for a user the project lacks.
    let (other_user, other_email) = pending_user(&app).await;
    assert!(matches!(
        app.store
            .issue_magic_link(
                &app.project_id,
                issue(
                    three,
                    Some(other_email),
                    LinkPurpose::Login,
                    now + Duration::minutes(60)
                ),
                now,
            )
            .await,
        Err(StoreError::NotFound(Missing::Email))
    ));
    let (other, _) = app.other_project().await;
    let mut foreign = issue(
        four,
        None,
        LinkPurpose::Embedded,
        now + Duration::minutes(60),
    );
    foreign.user_id = other_user;
    assert!(matches!(
        app.store.issue_magic_link(&other, foreign, now).await,
        Err(StoreError::NotFound(Missing::User))
    ));
}

both_engines!(
    a_token_is_used_once_and_proves_its_email,
    an_expired_or_embedded_token_proves_no_email,
);
