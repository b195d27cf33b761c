//! How a user is read: its row and every factor and role as branches of one `UNION ALL` in
//! shared columns (`read_user`), and the factors of a page of users at once (`complete_users`).

use super::*;

pub(super) const USER_COLUMNS: &str =
    "u.seq, u.user_id, u.status, u.first_name, u.middle_name, u.last_name, \
     u.trusted_metadata, u.untrusted_metadata, u.external_id, u.created_at, u.lock_created_at, \
     u.lock_expires_at";

/// A user row before its factors are attached.
pub(super) struct UserRow {
    pub(super) seq: i64,
    pub(super) user: User,
}

pub(super) fn user_row(row: &<Db as sqlx::Database>::Row) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        seq: row.try_get("seq")?,
        user: bare_user(row)?,
    })
}

/// A user from a row of its table's columns (by name), without factors or roles yet.
pub(super) fn bare_user(row: &<Db as sqlx::Database>::Row) -> Result<User, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(User {
        user_id: stored_id(row, "users", "user_id", UserId::parse)?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| corrupt("users", "status", "not a user status"))?,
        name: Name {
            first_name: row.try_get("first_name")?,
            middle_name: row.try_get("middle_name")?,
            last_name: row.try_get("last_name")?,
        },
        emails: Vec::new(),
        phone_numbers: Vec::new(),
        webauthn_registrations: Vec::new(),
        biometric_registrations: Vec::new(),
        totps: Vec::new(),
        crypto_wallets: Vec::new(),
        providers: Vec::new(),
        password: None,
        trusted_metadata: metadata(row, "users", "trusted_metadata")?,
        untrusted_metadata: metadata(row, "users", "untrusted_metadata")?,
        external_id: row.try_get("external_id")?,
        roles: Vec::new(),
        created_at: instant(row, "users", "created_at")?,
        lock_created_at: optional_instant(row, "users", "lock_created_at")?,
        lock_expires_at: optional_instant(row, "users", "lock_expires_at")?,
    })
}

/// Every factor and role of a set of users, in one statement: one `UNION ALL` branch per child
/// table (its select list, its table), each row tagged with its `kind` and carried in shared
/// columns, read by position ([`KIND`] .. [`ORD`]: `kind`, `user_id`, `id`, text columns `a`..`d`,
/// the boolean `flag`, `ord`, the order within its kind). One statement rather than one per
/// table: on SQLite each statement is a round trip to the connection's thread, and those
/// hand-offs, not the lookups, were most of a `users.get`.
pub(super) const CHILD_BRANCHES: [(&str, &str); 9] = [
    (
        "'email' AS kind, user_id, email_id AS id, email AS a, CAST(NULL AS TEXT) AS b, \
         CAST(NULL AS TEXT) AS c, CAST(NULL AS TEXT) AS d, verified AS flag, created_at AS ord",
        "user_emails",
    ),
    ("'phone', user_id, phone_id, phone_number, NULL, NULL, NULL, verified, created_at", "user_phone_numbers"),
    (
        "'webauthn', user_id, webauthn_registration_id, domain, user_agent, authenticator_type, \
         name, verified, created_at",
        "webauthn_registrations",
    ),
    ("'biometric', user_id, biometric_registration_id, NULL, NULL, NULL, NULL, verified, created_at", "biometric_registrations"),
    ("'totp', user_id, totp_id, NULL, NULL, NULL, NULL, verified, created_at", "totps"),
    (
        "'wallet', user_id, crypto_wallet_id, crypto_wallet_address, crypto_wallet_type, NULL, \
         NULL, verified, created_at",
        "crypto_wallets",
    ),
    (
        "'oauth', user_id, oauth_user_registration_id, provider_type, provider_subject, \
         profile_picture_url, locale, NULL, created_at",
        "oauth_registrations",
    ),
    ("'password', user_id, password_id, NULL, NULL, NULL, NULL, requires_reset, created_at", "passwords"),
    ("'role', user_id, CAST(NULL AS TEXT), role, NULL, NULL, NULL, NULL, position", "user_roles"),
];

/// Positions of [`CHILD_BRANCHES`]' shared columns (0-based, as `try_get` takes them).
pub(super) const KIND: usize = 0;

pub(super) const OWNER: usize = 1;

pub(super) const ID: usize = 2;

/// The text columns `a`..`d` are `TEXT_A`..`TEXT_A + 3`.
pub(super) const TEXT_A: usize = 3;

pub(super) const FLAG: usize = 7;

pub(super) const ORD: usize = 8;

/// The order every child statement ends with: by `ord`, then `id` (SQL counts from 1).
pub(super) fn child_order() -> String {
    format!(" ORDER BY {}, {}", ORD + 1, ID + 1)
}

/// The user row itself in the positions of [`CHILD_BRANCHES`]' shared columns, under its own
/// column names (which the whole statement then carries), plus four more columns (the metadata
/// and the lock times), for [`read_user`]: a user and all it holds in one statement.
pub(super) const USER_BRANCH: &str =
    "SELECT 'user' AS kind, user_id, external_id, first_name, middle_name, \
     last_name, status, CAST(NULL AS BOOLEAN) AS flag, created_at, trusted_metadata, \
     untrusted_metadata, lock_created_at, lock_expires_at FROM users WHERE project_id = $1";

/// [`read_user`]'s statement, binding `$1` the project and `$2` the user id (or, `by_external_id`,
/// the external id).
pub(crate) fn read_user_sql(by_external_id: bool) -> String {
    let (column, owner) = if by_external_id {
        (
            "external_id",
            "(SELECT user_id FROM users WHERE project_id = $1 AND external_id = $2)",
        )
    } else {
        ("user_id", "$2")
    };
    let mut sql = format!("{USER_BRANCH} AND {column} = $2");
    for (columns, table) in CHILD_BRANCHES {
        sql.push_str(&format!(
            " UNION ALL SELECT {columns}, NULL, NULL, NULL, NULL FROM {table} \
             WHERE project_id = $1 AND user_id = {owner}"
        ));
    }
    sql.push_str(&child_order());
    sql
}

/// One user by reference, with every factor and role, in one statement (on SQLite, one hand-off
/// to the connection's thread instead of two): [`USER_BRANCH`], then each of [`CHILD_BRANCHES`]
/// for the same user.
pub(super) async fn read_user(
    conn: &mut Conn,
    project_id: &str,
    user: &UserRef,
) -> Result<Option<User>, StoreError> {
    let (sql, value) = match user {
        UserRef::Id(id) => (read_user_sql(false), id.as_str()),
        UserRef::External(external) => (read_user_sql(true), external.as_str()),
    };
    let rows = sqlx::query(&sql)
        .bind(project_id)
        .bind(value)
        .fetch_all(&mut *conn)
        .await?;
    let mut kinds = Vec::with_capacity(rows.len());
    for row in &rows {
        kinds.push(row.try_get::<String, _>(KIND)?);
    }
    let Some(user_row) = kinds.iter().position(|kind| kind == "user") else {
        return Ok(None);
    };
    let mut user = bare_user(&rows[user_row])?;
    for (row, kind) in rows.iter().zip(&kinds) {
        if kind != "user" {
            attach_child(&mut user, row)?;
        }
    }
    Ok(Some(user))
}

/// Attaches every factor and role to users already read, in one query.
pub(super) async fn complete_users(
    conn: &mut Conn,
    project_id: &str,
    mut users: Vec<User>,
) -> Result<Vec<User>, StoreError> {
    if users.is_empty() {
        return Ok(users);
    }
    let index: HashMap<String, usize> = users
        .iter()
        .enumerate()
        .map(|(position, user)| (user.user_id.as_str().to_owned(), position))
        .collect();
    let mut query = QueryBuilder::<Db>::new("");
    for (number, (columns, table)) in CHILD_BRANCHES.iter().enumerate() {
        if number > 0 {
            query.push(" UNION ALL ");
        }
        query.push(format!("SELECT {columns} FROM {table}"));
        query.push(" WHERE project_id = ");
        query.push_bind(project_id.to_owned());
        query.push(" AND user_id IN (");
        let mut ids = query.separated(", ");
        for user in users.iter() {
            ids.push_bind(user.user_id.as_str().to_owned());
        }
        query.push(")");
    }
    query.push(child_order());
    let rows = query.build().fetch_all(&mut *conn).await?;
    for row in &rows {
        let owner: String = row.try_get(OWNER)?;
        // The statement asked for these users' rows only.
        let &position = index
            .get(&owner)
            .ok_or_else(|| corrupt("users", "user_id", "a child row of a user not asked for"))?;
        attach_child(&mut users[position], row)?;
    }
    Ok(users)
}

/// Files one row of [`CHILD_BRANCHES`] under its user. Columns are read by position: a compound
/// statement's columns carry the names of its first branch, which in [`read_user`] is the user
/// row's.
pub(super) fn attach_child(
    user: &mut User,
    row: &<Db as sqlx::Database>::Row,
) -> Result<(), StoreError> {
    let kind: String = row.try_get(KIND)?;
    let id = || row.try_get::<String, _>(ID);
    // The text column `a` (0), `b` (1), `c` (2) or `d` (3).
    let text = |n: usize| row.try_get::<String, _>(TEXT_A + n);
    let flag = || row.try_get::<bool, _>(FLAG);
    match kind.as_str() {
        "email" => user.emails.push(UserEmail {
            email_id: parse_stored("user_emails", "email_id", &id()?, EmailId::parse)?,
            email: text(0)?,
            verified: flag()?,
        }),
        "phone" => user.phone_numbers.push(UserPhoneNumber {
            phone_id: parse_stored("user_phone_numbers", "phone_id", &id()?, PhoneId::parse)?,
            phone_number: text(0)?,
            verified: flag()?,
        }),
        "webauthn" => user.webauthn_registrations.push(WebAuthnRegistration {
            webauthn_registration_id: parse_stored(
                "webauthn_registrations",
                "webauthn_registration_id",
                &id()?,
                WebAuthnRegistrationId::parse,
            )?,
            domain: text(0)?,
            user_agent: text(1)?,
            authenticator_type: text(2)?,
            name: text(3)?,
            verified: flag()?,
        }),
        "biometric" => user.biometric_registrations.push(BiometricRegistration {
            biometric_registration_id: parse_stored(
                "biometric_registrations",
                "biometric_registration_id",
                &id()?,
                BiometricRegistrationId::parse,
            )?,
            verified: flag()?,
        }),
        "totp" => user.totps.push(Totp {
            totp_id: parse_stored("totps", "totp_id", &id()?, TotpId::parse)?,
            verified: flag()?,
        }),
        "wallet" => user.crypto_wallets.push(CryptoWallet {
            crypto_wallet_id: parse_stored(
                "crypto_wallets",
                "crypto_wallet_id",
                &id()?,
                CryptoWalletId::parse,
            )?,
            crypto_wallet_address: text(0)?,
            crypto_wallet_type: text(1)?,
            verified: flag()?,
        }),
        "oauth" => user.providers.push(OAuthProvider {
            oauth_user_registration_id: parse_stored(
                "oauth_registrations",
                "oauth_user_registration_id",
                &id()?,
                OAuthUserRegistrationId::parse,
            )?,
            provider_type: text(0)?,
            provider_subject: text(1)?,
            profile_picture_url: text(2)?,
            locale: text(3)?,
        }),
        "password" => {
            user.password = Some(PasswordSummary {
                password_id: parse_stored("passwords", "password_id", &id()?, PasswordId::parse)?,
                requires_reset: flag()?,
            })
        }
        "role" => user.roles.push(text(0)?),
        _ => return Err(corrupt("users", "kind", "an unknown kind of child row")),
    }
    Ok(())
}
