//! `PasswordlessStore`: a magic link or passcode sent, in one transaction (user, limits, secret,
//! message).

use latchkey_core::delivery::SendLimits;
use latchkey_core::magic_links::LinkPurpose;
use latchkey_core::users::FactorKind;

use super::*;

fn holder_row(row: &DbRow, table: &str) -> Result<Holder, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Holder {
        user_id: stored_id(row, table, "user_id", UserId::parse)?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| corrupt("users", "status", "not a user status"))?,
        method_id: row.try_get("method_id")?,
        verified: row.try_get("verified")?,
    })
}

/// The user that signs in with `destination`.
async fn find_holder(
    conn: &mut Conn,
    project: &str,
    destination: &Destination,
) -> Result<Option<Holder>, StoreError> {
    let (sql, table) = match destination {
        Destination::Email(_) => (
            "SELECT e.email_id AS method_id, e.user_id, e.verified, u.status FROM user_emails e \
             JOIN users u ON u.user_id = e.user_id \
             WHERE e.project_id = $1 AND e.email = $2 AND e.used_for_auth",
            "user_emails",
        ),
        Destination::Phone(_) => (
            "SELECT p.phone_id AS method_id, p.user_id, p.verified, u.status \
             FROM user_phone_numbers p JOIN users u ON u.user_id = p.user_id \
             WHERE p.project_id = $1 AND p.phone_number = $2",
            "user_phone_numbers",
        ),
    };
    let row = sqlx::query(sql)
        .bind(project)
        .bind(destination.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(|row| holder_row(row, table)).transpose()
}

/// The method id of `destination` on `user_id`, adding it unverified if the user lacks it.
async fn method_of_user(
    conn: &mut Conn,
    project_id: &ProjectId,
    user_id: &UserId,
    destination: &Destination,
    now: i64,
) -> Result<String, StoreError> {
    let project = project_id.as_str();
    let existing: Option<String> = match destination {
        Destination::Email(email) => {
            sqlx::query_scalar(
                "SELECT email_id FROM user_emails \
                 WHERE project_id = $1 AND user_id = $2 AND email = $3",
            )
            .bind(project)
            .bind(user_id.as_str())
            .bind(email.as_str())
            .fetch_optional(&mut *conn)
            .await?
        }
        Destination::Phone(phone) => {
            sqlx::query_scalar(
                "SELECT phone_id FROM user_phone_numbers \
                 WHERE project_id = $1 AND user_id = $2 AND phone_number = $3",
            )
            .bind(project)
            .bind(user_id.as_str())
            .bind(phone.as_str())
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    if let Some(method_id) = existing {
        return Ok(method_id);
    }
    // Stytch's rule: a new factor waits until the user's unverified ones are verified.
    let unverified: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM user_emails \
           WHERE project_id = $1 AND user_id = $2 AND NOT verified) + \
         (SELECT COUNT(*) FROM user_phone_numbers \
           WHERE project_id = $1 AND user_id = $2 AND NOT verified)",
    )
    .bind(project)
    .bind(user_id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if unverified > 0 {
        return Err(StoreError::Refused(Refusal::TooManyUnverifiedFactors));
    }
    let env = project_id.environment();
    Ok(match destination {
        Destination::Email(email) => {
            check_cap(conn, project, user_id, FactorKind::Email, 1).await?;
            insert_email(conn, project, env, user_id, email, false, now)
                .await?
                .into_string()
        }
        Destination::Phone(phone) => {
            check_cap(conn, project, user_id, FactorKind::PhoneNumber, 1).await?;
            insert_phone_number(conn, project, env, user_id, phone, false, now)
                .await?
                .into_string()
        }
    })
}

async fn send_in(
    conn: &mut Conn,
    project_id: &ProjectId,
    send: &PasswordlessSend,
    limits: &SendLimits,
    now: DateTime<Utc>,
) -> Result<Sent, StoreError> {
    let project = project_id.as_str();
    let micros = to_micros(now);
    let duplicate = send.destination.duplicate();
    let (user_id, method_id, user_created) = match &send.target {
        SendTarget::Holder(expected) => {
            find_user_row(conn, project, &UserRef::Id(expected.clone()), true)
                .await?
                .ok_or(StoreError::Conflict(duplicate))?;
            let holder = find_holder(conn, project, &send.destination).await?.ok_or(
                StoreError::NotFound(match send.destination {
                    Destination::Email(_) => Missing::Email,
                    Destination::Phone(_) => Missing::PhoneNumber,
                }),
            )?;
            if holder.user_id != *expected {
                return Err(StoreError::Conflict(duplicate));
            }
            (holder.user_id, holder.method_id, false)
        }
        SendTarget::Create(new_user) => {
            let user = insert_user(conn, project_id, new_user, micros).await?;
            let method_id = match send.destination {
                Destination::Email(_) => user.emails.first().map(|e| e.email_id.to_string()),
                Destination::Phone(_) => user.phone_numbers.first().map(|p| p.phone_id.to_string()),
            }
            .ok_or_else(|| corrupt("users", "user_id", "a new user without its destination"))?;
            (user.user_id, method_id, true)
        }
        SendTarget::User(user_id) => {
            find_user_row(conn, project, &UserRef::Id(user_id.clone()), true)
                .await?
                .ok_or(StoreError::NotFound(Missing::User))?;
            let method_id =
                method_of_user(conn, project_id, user_id, &send.destination, micros).await?;
            (user_id.clone(), method_id, false)
        }
    };
    if let Some(message) = &send.message {
        queue_message(conn, project, Some(user_id.as_str()), message, limits).await?;
    }
    for issue in std::iter::once(&send.issue).chain(send.also.as_ref()) {
        issue_secret(
            conn,
            project,
            &send.destination,
            &user_id,
            &method_id,
            issue,
            now,
        )
        .await?;
    }
    Ok(Sent {
        user_id,
        method_id,
        user_created,
    })
}

/// Keeps one issued token or code of a send.
async fn issue_secret(
    conn: &mut Conn,
    project: &str,
    destination: &Destination,
    user_id: &UserId,
    method_id: &str,
    issue: &Issue,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match issue {
        Issue::MagicLink {
            token_digest,
            purpose,
            code_challenge,
            expires_at,
        } => {
            let email_id = match destination {
                Destination::Email(_) => Some(method_id),
                Destination::Phone(_) => None,
            };
            super::magic_links::insert_magic_link(
                conn,
                project,
                user_id,
                email_id,
                (*purpose, token_digest, code_challenge.as_deref()),
                *expires_at,
                now,
            )
            .await?;
        }
        Issue::Otp {
            channel,
            code_digest,
            expires_at,
        } => {
            super::otps::replace_otp(
                conn,
                project,
                method_id,
                user_id,
                destination.as_str(),
                (*channel, code_digest, *expires_at),
                now,
            )
            .await?;
        }
    }
    Ok(())
}

#[async_trait]
impl PasswordlessStore for Engine {
    async fn holder(
        &self,
        project_id: &ProjectId,
        destination: &Destination,
    ) -> Result<Option<Holder>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        find_holder(&mut conn, project_id.as_str(), destination).await
    }

    async fn start_passwordless(
        &self,
        project_id: &ProjectId,
        send: PasswordlessSend,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<Sent, StoreError> {
        let mut tx = self.writer().begin().await?;
        let sent = send_in(&mut tx, project_id, &send, limits, now).await?;
        tx.commit().await?;
        Ok(sent)
    }

    async fn revoke_invite(
        &self,
        project_id: &ProjectId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let holder = find_holder(&mut tx, project, &Destination::Email(email.clone()))
            .await?
            .filter(|holder| holder.status == UserStatus::Pending)
            .ok_or(StoreError::NotFound(Missing::Email))?;
        let revoked = sqlx::query(
            "UPDATE magic_links SET used_at = $1 WHERE project_id = $2 AND user_id = $3 \
             AND email_id = $4 AND purpose = $5 AND used_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(project)
        .bind(holder.user_id.as_str())
        .bind(&holder.method_id)
        .bind(LinkPurpose::Invite.as_str())
        .execute(&mut *tx)
        .await?;
        if revoked.rows_affected() == 0 {
            return Err(StoreError::NotFound(Missing::Email));
        }
        tx.commit().await?;
        Ok(())
    }
}
