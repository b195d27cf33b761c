//! `MemberMagicLinkStore`, and the use of an organization link that a completing member
//! authentication applies (`use_member_link`, from `totps.rs::consume`).

use latchkey_core::delivery::SendLimits;
use latchkey_core::magic_links::LinkPurpose;
use latchkey_core::sessions::intermediate::IntermediateSession;

use super::*;

const LINK_COLUMNS: &str =
    "organization_id, member_id, email, purpose, code_challenge, expires_at, used_at";

fn link_row(row: &DbRow) -> Result<StoredMemberLink, StoreError> {
    let table = "member_magic_links";
    let organization_id: Option<String> = row.try_get("organization_id")?;
    let member_id: Option<String> = row.try_get("member_id")?;
    let purpose: String = row.try_get("purpose")?;
    Ok(StoredMemberLink {
        organization_id: organization_id
            .map(|id| parse_stored(table, "organization_id", &id, OrganizationId::parse))
            .transpose()?,
        member_id: member_id
            .map(|id| parse_stored(table, "member_id", &id, MemberId::parse))
            .transpose()?,
        email: row.try_get("email")?,
        purpose: LinkPurpose::parse(&purpose)
            .ok_or_else(|| corrupt(table, "purpose", "not a link purpose"))?,
        code_challenge: row.try_get("code_challenge")?,
        expires_at: instant(row, table, "expires_at")?,
        used_at: optional_instant(row, table, "used_at")?,
    })
}

async fn insert_link(
    conn: &mut Conn,
    project: &str,
    (organization_id, member_id, email): (Option<&str>, Option<&str>, &str),
    link: &NewMemberLink,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO member_magic_links (token_digest, project_id, organization_id, member_id, \
         email, purpose, code_challenge, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(link.token_digest.to_vec())
    .bind(project)
    .bind(organization_id)
    .bind(member_id)
    .bind(email)
    .bind(link.purpose.as_str())
    .bind(link.code_challenge.as_deref())
    .bind(to_micros(link.expires_at))
    .bind(to_micros(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Uses up the member's organization link `digest` at `at` inside a completion: marks it used
/// if it is unused and unexpired, and verifies the member's email.
pub(super) async fn use_member_link(
    conn: &mut Conn,
    project: &str,
    member_id: &str,
    digest: &CodeDigest,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let used = sqlx::query(
        "UPDATE member_magic_links SET used_at = $1 \
         WHERE project_id = $2 AND token_digest = $3 AND member_id = $4 \
         AND purpose <> 'discovery' AND used_at IS NULL AND expires_at > $1",
    )
    .bind(to_micros(at))
    .bind(project)
    .bind(digest.to_vec())
    .bind(member_id)
    .execute(&mut *conn)
    .await?;
    if used.rows_affected() == 0 {
        let exists: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM member_magic_links \
             WHERE project_id = $1 AND token_digest = $2 AND member_id = $3",
        )
        .bind(project)
        .bind(digest.to_vec())
        .bind(member_id)
        .fetch_optional(&mut *conn)
        .await?;
        return Err(match exists {
            Some(_) => StoreError::Refused(Refusal::MagicLinkUnusable),
            None => StoreError::NotFound(Missing::MagicLink),
        });
    }
    sqlx::query(
        "UPDATE members SET email_verified = TRUE WHERE project_id = $1 AND member_id = $2",
    )
    .bind(project)
    .bind(member_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn member_link_in(
    conn: &mut Conn,
    project: &str,
    send: &MemberLinkSend,
    limits: &SendLimits,
    now: DateTime<Utc>,
) -> Result<Member, StoreError> {
    let organization = send.organization_id.as_str();
    let member = match &send.target {
        MemberTarget::Existing(member_id) | MemberTarget::Invite(member_id) => {
            let member = find_member(
                conn,
                project,
                organization,
                &MemberRef::Id(member_id.clone()),
                false,
                true,
            )
            .await?
            .filter(|member| member.email == send.email.as_str())
            .ok_or(StoreError::Conflict(Conflict::DuplicateMemberEmail))?;
            if let MemberTarget::Invite(_) = send.target {
                if member.status == MemberStatus::Active {
                    return Err(StoreError::Conflict(Conflict::DuplicateMemberEmail));
                }
                let mut invited = member;
                invited.status = MemberStatus::Invited;
                invited.updated_at = now;
                write_member(conn, project, &invited).await?;
                invited
            } else {
                member
            }
        }
        MemberTarget::Create(member) => {
            insert_member(conn, project, member).await?;
            (**member).clone()
        }
    };
    if let Some(message) = &send.message {
        super::outbox::queue_message(
            conn,
            project,
            Some(member.member_id.as_str()),
            message,
            limits,
        )
        .await?;
    }
    insert_link(
        conn,
        project,
        (
            Some(organization),
            Some(member.member_id.as_str()),
            &member.email,
        ),
        &send.link,
        now,
    )
    .await?;
    Ok(member)
}

#[async_trait]
impl MemberMagicLinkStore for Engine {
    async fn start_member_link(
        &self,
        project_id: &ProjectId,
        send: MemberLinkSend,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let mut tx = self.writer().begin().await?;
        let member = member_link_in(&mut tx, project_id.as_str(), &send, limits, now).await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn start_discovery_link(
        &self,
        project_id: &ProjectId,
        email: &Email,
        link: NewMemberLink,
        message: Option<NewMessage>,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        if let Some(message) = &message {
            super::outbox::queue_message(&mut tx, project, None, message, limits).await?;
        }
        insert_link(&mut tx, project, (None, None, email.as_str()), &link, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn member_magic_link(
        &self,
        project_id: &ProjectId,
        token_digest: &CodeDigest,
    ) -> Result<Option<StoredMemberLink>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {LINK_COLUMNS} FROM member_magic_links WHERE project_id = $1 AND token_digest = $2"
        ))
        .bind(project_id.as_str())
        .bind(token_digest.to_vec())
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(link_row).transpose()
    }

    async fn use_discovery_link(
        &self,
        project_id: &ProjectId,
        token_digest: &CodeDigest,
        (intermediate_digest, intermediate): (&SecretDigest, &IntermediateSession),
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let used = sqlx::query(
            "UPDATE member_magic_links SET used_at = $1 WHERE project_id = $2 \
             AND token_digest = $3 AND purpose = 'discovery' AND used_at IS NULL AND expires_at > $1",
        )
        .bind(to_micros(now))
        .bind(project)
        .bind(token_digest.to_vec())
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() == 0 {
            return Err(StoreError::Refused(Refusal::MagicLinkUnusable));
        }
        super::intermediate_sessions::insert_intermediate(
            &mut tx,
            project,
            intermediate_digest,
            intermediate,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
