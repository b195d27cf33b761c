//! `MagicLinkStore`, and the use of a token that a completing authentication applies
//! (`use_magic_link`, from `totps.rs::consume`).

use latchkey_core::magic_links::LinkPurpose;

use super::*;

fn magic_link_row(row: &<Db as sqlx::Database>::Row) -> Result<StoredMagicLink, StoreError> {
    let purpose: String = row.try_get("purpose")?;
    let email_id: Option<String> = row.try_get("email_id")?;
    Ok(StoredMagicLink {
        user_id: stored_id(row, "magic_links", "user_id", UserId::parse)?,
        email_id: email_id
            .map(|id| {
                EmailId::parse(&id)
                    .map_err(|_| corrupt("magic_links", "email_id", "not an email id"))
            })
            .transpose()?,
        purpose: LinkPurpose::parse(&purpose)
            .ok_or_else(|| corrupt("magic_links", "purpose", "not a link purpose"))?,
        code_challenge: row.try_get("code_challenge")?,
        expires_at: instant(row, "magic_links", "expires_at")?,
        used_at: optional_instant(row, "magic_links", "used_at")?,
        created_at: instant(row, "magic_links", "created_at")?,
    })
}

/// Uses up the user's token `digest` at `at` inside a completion's transaction: marks it used
/// if it is unused and unexpired, then verifies the email it was sent to and activates a
/// pending user.
pub(super) async fn use_magic_link(
    conn: &mut Conn,
    project: &str,
    user_id: &str,
    digest: &CodeDigest,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let micros = to_micros(at);
    let used = sqlx::query(
        "UPDATE magic_links SET used_at = $1 \
         WHERE project_id = $2 AND token_digest = $3 AND user_id = $4 \
         AND used_at IS NULL AND expires_at > $1 RETURNING email_id, purpose",
    )
    .bind(micros)
    .bind(project)
    .bind(digest.to_vec())
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(used) = used else {
        let exists: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM magic_links WHERE project_id = $1 AND token_digest = $2 AND user_id = $3",
        )
        .bind(project)
        .bind(digest.to_vec())
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        return Err(match exists {
            Some(_) => StoreError::Refused(Refusal::MagicLinkUnusable),
            None => StoreError::NotFound(Missing::MagicLink),
        });
    };
    let email_id: Option<String> = used.try_get("email_id")?;
    let purpose: String = used.try_get("purpose")?;
    let proves_email = LinkPurpose::parse(&purpose).is_some_and(LinkPurpose::verifies_email);
    if let (Some(email_id), true) = (email_id, proves_email) {
        sqlx::query(
            "UPDATE user_emails SET verified = TRUE \
             WHERE project_id = $1 AND email_id = $2 AND user_id = $3",
        )
        .bind(project)
        .bind(email_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    }
    super::otps::activate_pending(conn, project, user_id).await
}

/// Keeps a token of `purpose` for the user (sent to `email_id`, if any).
pub(super) async fn insert_magic_link(
    conn: &mut Conn,
    project: &str,
    user_id: &UserId,
    email_id: Option<&str>,
    (purpose, digest, code_challenge): (LinkPurpose, &CodeDigest, Option<&str>),
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO magic_links (token_digest, project_id, user_id, email_id, purpose, \
         code_challenge, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(digest.to_vec())
    .bind(project)
    .bind(user_id.as_str())
    .bind(email_id)
    .bind(purpose.as_str())
    .bind(code_challenge)
    .bind(to_micros(expires_at))
    .bind(to_micros(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl MagicLinkStore for Engine {
    async fn issue_magic_link(
        &self,
        project_id: &ProjectId,
        link: NewMagicLink,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        find_user_row(&mut tx, project, &UserRef::Id(link.user_id.clone()), true)
            .await?
            .ok_or(StoreError::NotFound(Missing::User))?;
        if let Some(email_id) = &link.email_id {
            let owned: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM user_emails WHERE project_id = $1 AND email_id = $2 AND user_id = $3",
            )
            .bind(project)
            .bind(email_id.as_str())
            .bind(link.user_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            owned.ok_or(StoreError::NotFound(Missing::Email))?;
        }
        insert_magic_link(
            &mut tx,
            project,
            &link.user_id,
            link.email_id.as_ref().map(EmailId::as_str),
            (
                link.purpose,
                &link.token_digest,
                link.code_challenge.as_deref(),
            ),
            link.expires_at,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn magic_link(
        &self,
        project_id: &ProjectId,
        token_digest: &CodeDigest,
    ) -> Result<Option<StoredMagicLink>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, email_id, purpose, code_challenge, expires_at, used_at, created_at \
             FROM magic_links WHERE project_id = $1 AND token_digest = $2",
        )
        .bind(project_id.as_str())
        .bind(token_digest.to_vec())
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(magic_link_row).transpose()
    }
}
