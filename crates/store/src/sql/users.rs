//! `UserStore`: the Users API.

use super::*;

/// Reads one user row by reference; `lock` appends the engine's row lock.
pub(super) async fn find_user_row(
    conn: &mut Conn,
    project_id: &str,
    user: &UserRef,
    lock: bool,
) -> Result<Option<UserRow>, StoreError> {
    let (column, value) = match user {
        UserRef::Id(id) => ("user_id", id.as_str()),
        UserRef::External(external) => ("external_id", external.as_str()),
    };
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.project_id = $1 AND u.{column} = $2{}",
        if lock { FOR_UPDATE } else { "" }
    );
    let row = sqlx::query(&sql)
        .bind(project_id)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(user_row).transpose()
}

pub(super) async fn load_user(
    conn: &mut Conn,
    project_id: &str,
    user_id: &UserId,
) -> Result<User, StoreError> {
    read_user(conn, project_id, &UserRef::Id(user_id.clone()))
        .await?
        .ok_or(StoreError::NotFound(Missing::User))
}

#[async_trait]
impl UserStore for Engine {
    async fn create_user(
        &self,
        project_id: &ProjectId,
        new_user: NewUser,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let mut tx = self.writer().begin().await?;
        let user = insert_user(&mut tx, project_id, &new_user, to_micros(now)).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn get_user(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
    ) -> Result<Option<User>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        read_user(&mut conn, project_id.as_str(), user).await
    }

    async fn update_user(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
        patch: UserPatch,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let env = project_id.environment();
        let project = project_id.as_str();
        let now = to_micros(now);
        let mut tx = self.writer().begin().await?;
        let mut current = find_user_row(&mut tx, project, user, true)
            .await?
            .ok_or(StoreError::NotFound(Missing::User))?
            .user;
        if let Some(name) = patch.name {
            name.apply(&mut current.name);
        }
        if let Some(trusted) = patch.trusted_metadata {
            merge_metadata("trusted_metadata", &mut current.trusted_metadata, trusted)?;
        }
        if let Some(untrusted) = patch.untrusted_metadata {
            merge_metadata(
                "untrusted_metadata",
                &mut current.untrusted_metadata,
                untrusted,
            )?;
        }
        if let Some(external_id) = &patch.external_id {
            current.external_id = Some(external_id.as_str().to_owned());
        }
        sqlx::query(
            "UPDATE users SET first_name = $1, middle_name = $2, last_name = $3, \
             trusted_metadata = $4, untrusted_metadata = $5, external_id = $6 \
             WHERE project_id = $7 AND user_id = $8",
        )
        .bind(&current.name.first_name)
        .bind(&current.name.middle_name)
        .bind(&current.name.last_name)
        .bind(metadata_to_text(
            "trusted_metadata",
            &current.trusted_metadata,
        )?)
        .bind(metadata_to_text(
            "untrusted_metadata",
            &current.untrusted_metadata,
        )?)
        .bind(&current.external_id)
        .bind(project)
        .bind(current.user_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(conflict_or)?;
        if let Some(roles) = &patch.roles {
            replace_roles(&mut tx, project, &current.user_id, roles).await?;
        }
        if !patch.add_emails.is_empty() {
            let adding = patch.add_emails.len();
            check_cap(
                &mut tx,
                project,
                &current.user_id,
                FactorKind::Email,
                adding,
            )
            .await?;
        }
        if !patch.add_phone_numbers.is_empty() {
            let adding = patch.add_phone_numbers.len();
            check_cap(
                &mut tx,
                project,
                &current.user_id,
                FactorKind::PhoneNumber,
                adding,
            )
            .await?;
        }
        for email in &patch.add_emails {
            insert_email(&mut tx, project, env, &current.user_id, email, false, now).await?;
        }
        for phone in &patch.add_phone_numbers {
            insert_phone_number(&mut tx, project, env, &current.user_id, phone, false, now).await?;
        }
        let updated = load_user(&mut tx, project, &current.user_id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_user(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
    ) -> Result<UserId, StoreError> {
        let (column, value) = match user {
            UserRef::Id(id) => ("user_id", id.as_str()),
            UserRef::External(external) => ("external_id", external.as_str()),
        };
        let sql =
            format!("DELETE FROM users WHERE project_id = $1 AND {column} = $2 RETURNING user_id");
        let mut tx = self.writer().begin().await?;
        let deleted: Option<String> = sqlx::query_scalar(&sql)
            .bind(project_id.as_str())
            .bind(value)
            .fetch_optional(&mut *tx)
            .await?;
        let deleted = deleted.ok_or(StoreError::NotFound(Missing::User))?;
        // Attempts name their principal without a foreign key (it may be a user or a member).
        sqlx::query(
            "DELETE FROM authentication_attempts WHERE project_id = $1 AND principal_id = $2",
        )
        .bind(project_id.as_str())
        .bind(&deleted)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        parse_stored("users", "user_id", &deleted, UserId::parse)
    }

    async fn delete_external_id(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
    ) -> Result<User, StoreError> {
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let current = find_user_row(&mut tx, project, user, true)
            .await?
            .ok_or(StoreError::NotFound(Missing::User))?
            .user;
        sqlx::query("UPDATE users SET external_id = NULL WHERE project_id = $1 AND user_id = $2")
            .bind(project)
            .bind(current.user_id.as_str())
            .execute(&mut *tx)
            .await?;
        let updated = load_user(&mut tx, project, &current.user_id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn search_users(
        &self,
        project_id: &ProjectId,
        search: &SearchQuery,
        limit: u32,
        cursor: Option<SearchCursor>,
    ) -> Result<SearchPage, StoreError> {
        let project = project_id.as_str();
        let mut conn = self.reader().acquire().await?;

        let mut count = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM users u");
        push_search_conditions(&mut count, project, search);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;

        let mut select = QueryBuilder::<Db>::new(format!("SELECT {USER_COLUMNS} FROM users u"));
        push_search_conditions(&mut select, project, search);
        if let Some(cursor) = cursor {
            select.push(" AND u.seq > ");
            select.push_bind(cursor.after_seq);
        }
        select.push(" ORDER BY u.seq LIMIT ");
        // One more than asked, to learn whether another page follows.
        select.push_bind(i64::from(limit) + 1);
        let rows = select.build().fetch_all(&mut *conn).await?;
        let mut page: Vec<UserRow> = rows.iter().map(user_row).collect::<Result<_, _>>()?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let next_cursor = if more {
            page.last().map(|row| SearchCursor { after_seq: row.seq })
        } else {
            None
        };
        let users = complete_users(
            &mut conn,
            project,
            page.into_iter().map(|row| row.user).collect(),
        )
        .await?;
        Ok(SearchPage {
            users,
            total,
            next_cursor,
        })
    }

    async fn delete_factor(
        &self,
        project_id: &ProjectId,
        factor: &FactorRef,
    ) -> Result<User, StoreError> {
        let (table, column, id, missing) = match factor {
            FactorRef::Email(id) => ("user_emails", "email_id", id.as_str(), Missing::Email),
            FactorRef::PhoneNumber(id) => (
                "user_phone_numbers",
                "phone_id",
                id.as_str(),
                Missing::PhoneNumber,
            ),
            FactorRef::WebAuthnRegistration(id) => (
                "webauthn_registrations",
                "webauthn_registration_id",
                id.as_str(),
                Missing::WebAuthnRegistration,
            ),
            FactorRef::BiometricRegistration(id) => (
                "biometric_registrations",
                "biometric_registration_id",
                id.as_str(),
                Missing::BiometricRegistration,
            ),
            FactorRef::Totp(id) => ("totps", "totp_id", id.as_str(), Missing::Totp),
            FactorRef::CryptoWallet(id) => (
                "crypto_wallets",
                "crypto_wallet_id",
                id.as_str(),
                Missing::CryptoWallet,
            ),
            FactorRef::Password(id) => ("passwords", "password_id", id.as_str(), Missing::Password),
            FactorRef::OAuthRegistration(id) => (
                "oauth_registrations",
                "oauth_user_registration_id",
                id.as_str(),
                Missing::OAuthRegistration,
            ),
        };
        let project = project_id.as_str();
        let mut tx = self.writer().begin().await?;
        let sql = format!(
            "DELETE FROM {table} WHERE project_id = $1 AND {column} = $2 RETURNING user_id"
        );
        let owner: Option<String> = sqlx::query_scalar(&sql)
            .bind(project)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let owner = owner.ok_or(StoreError::NotFound(missing))?;
        let owner = parse_stored(table, "user_id", &owner, UserId::parse)?;
        if matches!(factor, FactorRef::Password(_)) {
            // A password's sessions end with it.
            sqlx::query(
                "DELETE FROM sessions WHERE project_id = $1 AND user_id = $2 AND by_password",
            )
            .bind(project)
            .bind(owner.as_str())
            .execute(&mut *tx)
            .await?;
        }
        let user = load_user(&mut tx, project, &owner).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn exchange_primary_factor(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
        to: PrimaryFactor,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let env = project_id.environment();
        let project = project_id.as_str();
        let now = to_micros(now);
        let mut tx = self.writer().begin().await?;
        let row = find_user_row(&mut tx, project, user, true)
            .await?
            .ok_or(StoreError::NotFound(Missing::User))?;
        let current = complete_users(&mut tx, project, vec![row.user])
            .await?
            .pop()
            .ok_or(StoreError::NotFound(Missing::User))?;
        let single_contact = current.n_factors() == 1
            && (current.emails.len() == 1 || current.phone_numbers.len() == 1);
        if !single_contact {
            return Err(StoreError::Refused(Refusal::NotExactlyOnePrimaryFactor));
        }
        sqlx::query("DELETE FROM user_emails WHERE project_id = $1 AND user_id = $2")
            .bind(project)
            .bind(current.user_id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM user_phone_numbers WHERE project_id = $1 AND user_id = $2")
            .bind(project)
            .bind(current.user_id.as_str())
            .execute(&mut *tx)
            .await?;
        match &to {
            PrimaryFactor::Email(email) => {
                insert_email(&mut tx, project, env, &current.user_id, email, false, now).await?;
            }
            PrimaryFactor::PhoneNumber(phone) => {
                insert_phone_number(&mut tx, project, env, &current.user_id, phone, false, now)
                    .await?;
            }
        }
        let updated = load_user(&mut tx, project, &current.user_id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn add_factor(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        factor: NewFactor,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let env = project_id.environment();
        let project = project_id.as_str();
        let now = to_micros(now);
        let mut tx = self.writer().begin().await?;
        find_user_row(&mut tx, project, &UserRef::Id(user_id.clone()), true)
            .await?
            .ok_or(StoreError::NotFound(Missing::User))?;
        let owner = user_id.as_str();
        let kind = match &factor {
            NewFactor::WebAuthnRegistration { .. } => Some(FactorKind::WebAuthnRegistration),
            NewFactor::BiometricRegistration { .. } => Some(FactorKind::BiometricRegistration),
            NewFactor::Totp { .. } => Some(FactorKind::Totp),
            NewFactor::CryptoWallet { .. } => Some(FactorKind::CryptoWallet),
            NewFactor::OAuthRegistration { .. } => Some(FactorKind::OAuthRegistration),
            // One per user: the table's unique user_id.
            NewFactor::Password { .. } => None,
        };
        if let Some(kind) = kind {
            check_cap(&mut tx, project, user_id, kind, 1).await?;
        }
        match factor {
            NewFactor::WebAuthnRegistration {
                domain,
                user_agent,
                authenticator_type,
                name,
                verified,
            } => {
                sqlx::query(
                    "INSERT INTO webauthn_registrations (webauthn_registration_id, project_id, \
                     user_id, domain, user_agent, authenticator_type, name, verified, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(WebAuthnRegistrationId::generate(env).into_string())
                .bind(project)
                .bind(owner)
                .bind(domain)
                .bind(user_agent)
                .bind(authenticator_type)
                .bind(name)
                .bind(verified)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            NewFactor::BiometricRegistration { verified } => {
                sqlx::query(
                    "INSERT INTO biometric_registrations (biometric_registration_id, project_id, \
                     user_id, verified, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(BiometricRegistrationId::generate(env).into_string())
                .bind(project)
                .bind(owner)
                .bind(verified)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            NewFactor::Totp { verified } => {
                sqlx::query(
                    "INSERT INTO totps (totp_id, project_id, user_id, verified, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(TotpId::generate(env).into_string())
                .bind(project)
                .bind(owner)
                .bind(verified)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            NewFactor::CryptoWallet {
                address,
                wallet_type,
                verified,
            } => {
                sqlx::query(
                    "INSERT INTO crypto_wallets (crypto_wallet_id, project_id, user_id, \
                     crypto_wallet_address, crypto_wallet_type, verified, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(CryptoWalletId::generate(env).into_string())
                .bind(project)
                .bind(owner)
                .bind(address)
                .bind(wallet_type)
                .bind(verified)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            NewFactor::OAuthRegistration {
                provider_type,
                provider_subject,
                profile_picture_url,
                locale,
            } => {
                sqlx::query(
                    "INSERT INTO oauth_registrations (oauth_user_registration_id, project_id, \
                     user_id, provider_type, provider_subject, profile_picture_url, locale, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(OAuthUserRegistrationId::generate(env).into_string())
                .bind(project)
                .bind(owner)
                .bind(provider_type)
                .bind(provider_subject)
                .bind(profile_picture_url)
                .bind(locale)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            NewFactor::Password { requires_reset } => {
                sqlx::query(
                    "INSERT INTO passwords (password_id, project_id, user_id, requires_reset, \
                     created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(PasswordId::generate(env).into_string())
                .bind(project)
                .bind(owner)
                .bind(requires_reset)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        let user = load_user(&mut tx, project, user_id).await?;
        tx.commit().await?;
        Ok(user)
    }
}
