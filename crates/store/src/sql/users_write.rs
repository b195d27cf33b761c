//! Inserting users, their emails, phone numbers and roles.

use super::*;

/// Refuses adding `adding` factors of `kind` to a user past the kind's cap. Run in the adding
/// transaction after the user's row is locked, so concurrent additions are counted in turn.
pub(super) async fn check_cap(
    conn: &mut Conn,
    project_id: &str,
    user_id: &UserId,
    kind: FactorKind,
    adding: usize,
) -> Result<(), StoreError> {
    let table = match kind {
        FactorKind::Email => "user_emails",
        FactorKind::PhoneNumber => "user_phone_numbers",
        FactorKind::Totp => "totps",
        FactorKind::WebAuthnRegistration => "webauthn_registrations",
        FactorKind::BiometricRegistration => "biometric_registrations",
        FactorKind::CryptoWallet => "crypto_wallets",
        FactorKind::OAuthRegistration => "oauth_registrations",
    };
    let held: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {table} WHERE project_id = $1 AND user_id = $2"
    ))
    .bind(project_id)
    .bind(user_id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    let adding = u64::try_from(adding).unwrap_or(u64::MAX);
    // A COUNT is never negative.
    if kind.allows(held.unsigned_abs(), adding) {
        Ok(())
    } else {
        Err(StoreError::Refused(Refusal::TooMany(kind)))
    }
}

pub(super) async fn insert_email(
    conn: &mut Conn,
    project_id: &str,
    env: Environment,
    user_id: &UserId,
    email: &Email,
    verified: bool,
    now: i64,
) -> Result<EmailId, StoreError> {
    let email = UserEmail {
        email_id: EmailId::generate(env),
        email: email.as_str().to_owned(),
        verified,
    };
    // The user's first email is its primary contact channel (see `insert_emails`).
    let has_primary: Option<String> = sqlx::query_scalar(
        "SELECT email_id FROM user_emails \
         WHERE project_id = $1 AND user_id = $2 AND is_primary LIMIT 1",
    )
    .bind(project_id)
    .bind(user_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    write_emails(
        conn,
        project_id,
        &[(user_id, &email, has_primary.is_none())],
        now,
    )
    .await?;
    Ok(email.email_id)
}

pub(super) async fn insert_phone_number(
    conn: &mut Conn,
    project_id: &str,
    env: Environment,
    user_id: &UserId,
    phone_number: &PhoneNumber,
    verified: bool,
    now: i64,
) -> Result<PhoneId, StoreError> {
    let phone = UserPhoneNumber {
        phone_id: PhoneId::generate(env),
        phone_number: phone_number.as_str().to_owned(),
        verified,
    };
    insert_phone_numbers(conn, project_id, &[(user_id, &phone)], now).await?;
    Ok(phone.phone_id)
}

/// Writes emails of new users in one statement. Each user's first email is its primary
/// contact channel (Stack Auth's `is_primary`).
pub(super) async fn insert_emails(
    conn: &mut Conn,
    project_id: &str,
    rows: &[(&UserId, &UserEmail)],
    now: i64,
) -> Result<(), StoreError> {
    let mut seen: std::collections::HashSet<&str> =
        std::collections::HashSet::with_capacity(rows.len());
    let rows: Vec<_> = rows
        .iter()
        .map(|(user_id, email)| (*user_id, *email, seen.insert(user_id.as_str())))
        .collect();
    write_emails(conn, project_id, &rows, now).await
}

/// Writes `(user, email, is_primary)` rows in one statement.
pub(super) async fn write_emails(
    conn: &mut Conn,
    project_id: &str,
    rows: &[(&UserId, &UserEmail, bool)],
    now: i64,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<Db>::new(
        "INSERT INTO user_emails (email_id, project_id, user_id, email, verified, created_at, is_primary) ",
    );
    query.push_values(rows, |mut row, (user_id, email, primary)| {
        row.push_bind(email.email_id.as_str().to_owned())
            .push_bind(project_id.to_owned())
            .push_bind(user_id.as_str().to_owned())
            .push_bind(email.email.clone())
            .push_bind(email.verified)
            .push_bind(now)
            .push_bind(*primary);
    });
    query
        .build()
        .execute(&mut *conn)
        .await
        .map_err(conflict_or)?;
    Ok(())
}

/// Writes phone numbers of users in one statement.
pub(super) async fn insert_phone_numbers(
    conn: &mut Conn,
    project_id: &str,
    rows: &[(&UserId, &UserPhoneNumber)],
    now: i64,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<Db>::new(
        "INSERT INTO user_phone_numbers (phone_id, project_id, user_id, phone_number, verified, \
         created_at) ",
    );
    query.push_values(rows, |mut row, (user_id, phone)| {
        row.push_bind(phone.phone_id.as_str().to_owned())
            .push_bind(project_id.to_owned())
            .push_bind(user_id.as_str().to_owned())
            .push_bind(phone.phone_number.clone())
            .push_bind(phone.verified)
            .push_bind(now);
    });
    query
        .build()
        .execute(&mut *conn)
        .await
        .map_err(conflict_or)?;
    Ok(())
}

pub(super) async fn replace_roles(
    conn: &mut Conn,
    project_id: &str,
    user_id: &UserId,
    roles: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM user_roles WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    let rows: Vec<_> = roles
        .iter()
        .enumerate()
        .map(|(position, role)| (user_id, position, role))
        .collect();
    insert_roles(conn, project_id, &rows).await
}

/// Writes users' roles, each with its position in its user's list, in one statement.
pub(super) async fn insert_roles(
    conn: &mut Conn,
    project_id: &str,
    rows: &[(&UserId, usize, &String)],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut query =
        QueryBuilder::<Db>::new("INSERT INTO user_roles (project_id, user_id, position, role) ");
    query.push_values(rows, |mut row, (user_id, position, role)| {
        row.push_bind(project_id.to_owned())
            .push_bind(user_id.as_str().to_owned())
            .push_bind(i64::try_from(*position).unwrap_or(i64::MAX))
            .push_bind((*role).clone());
    });
    query.build().execute(&mut *conn).await?;
    Ok(())
}

/// Inserts a user with its email, phone number and roles, and returns the user as `load_user`
/// would read it back: the rows were just written, so reading them again would only cost time.
pub(super) async fn insert_user(
    conn: &mut Conn,
    project_id: &ProjectId,
    new_user: &NewUser,
    now: i64,
) -> Result<User, StoreError> {
    let user = new_user_object(project_id.environment(), new_user, now)?;
    insert_users(conn, project_id.as_str(), std::slice::from_ref(&user), now).await?;
    Ok(user)
}

/// The user `new_user` describes, with fresh ids, as it will read once written.
pub(super) fn new_user_object(
    env: Environment,
    new_user: &NewUser,
    now: i64,
) -> Result<User, StoreError> {
    Ok(User {
        user_id: UserId::generate(env),
        status: if new_user.pending {
            UserStatus::Pending
        } else {
            UserStatus::Active
        },
        name: new_user.name.clone(),
        emails: new_user
            .email
            .iter()
            .map(|email| UserEmail {
                email_id: EmailId::generate(env),
                email: email.as_str().to_owned(),
                verified: new_user.email_verified,
            })
            .collect(),
        phone_numbers: new_user
            .phone_number
            .iter()
            .map(|phone| UserPhoneNumber {
                phone_id: PhoneId::generate(env),
                phone_number: phone.as_str().to_owned(),
                verified: new_user.phone_verified,
            })
            .collect(),
        webauthn_registrations: Vec::new(),
        biometric_registrations: Vec::new(),
        totps: Vec::new(),
        crypto_wallets: Vec::new(),
        providers: Vec::new(),
        password: None,
        trusted_metadata: new_user.trusted_metadata.clone(),
        untrusted_metadata: new_user.untrusted_metadata.clone(),
        external_id: new_user
            .external_id
            .as_ref()
            .map(|id| id.as_str().to_owned()),
        roles: new_user.roles.clone(),
        created_at: from_micros("users", "created_at", now)?,
        lock_created_at: None,
        lock_expires_at: None,
    })
}

/// Writes new users (from [`new_user_object`], all created at `now`) with their emails, phone
/// numbers and roles: one multi-row statement per table, whatever the number of users.
pub(super) async fn insert_users(
    conn: &mut Conn,
    project: &str,
    users: &[User],
    now: i64,
) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<Db>::new(
        "INSERT INTO users (user_id, project_id, status, first_name, middle_name, last_name, \
         trusted_metadata, untrusted_metadata, external_id, created_at) ",
    );
    let metadata = users
        .iter()
        .map(|user| {
            Ok((
                metadata_to_text("trusted_metadata", &user.trusted_metadata)?,
                metadata_to_text("untrusted_metadata", &user.untrusted_metadata)?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    query.push_values(
        users.iter().zip(metadata),
        |mut row, (user, (trusted, untrusted))| {
            row.push_bind(user.user_id.as_str().to_owned())
                .push_bind(project.to_owned())
                .push_bind(user.status.as_str())
                .push_bind(user.name.first_name.clone())
                .push_bind(user.name.middle_name.clone())
                .push_bind(user.name.last_name.clone())
                .push_bind(trusted)
                .push_bind(untrusted)
                .push_bind(user.external_id.clone())
                .push_bind(now);
        },
    );
    query
        .build()
        .execute(&mut *conn)
        .await
        .map_err(conflict_or)?;
    let emails: Vec<_> = users
        .iter()
        .flat_map(|user| user.emails.iter().map(move |email| (&user.user_id, email)))
        .collect();
    insert_emails(conn, project, &emails, now).await?;
    let phones: Vec<_> = users
        .iter()
        .flat_map(|user| {
            user.phone_numbers
                .iter()
                .map(move |phone| (&user.user_id, phone))
        })
        .collect();
    insert_phone_numbers(conn, project, &phones, now).await?;
    let roles: Vec<_> = users
        .iter()
        .flat_map(|user| {
            user.roles
                .iter()
                .enumerate()
                .map(move |(position, role)| (&user.user_id, position, role))
        })
        .collect();
    insert_roles(conn, project, &roles).await
}
