// The SQL both engines share. This file is compiled twice, by `include!` in `sqlite.rs` and in
// `postgres.rs`, each of which first defines:
// - `Db`: the sqlx database type;
// - `Engine`: the store type, with `reader()` and `writer()` pools;
// - `FOR_UPDATE`: the row-lock suffix for read-modify-write reads ("" where the writer is
//   already exclusive);
// - `SELECTIVE_PROJECT_COLUMN`: how a search names `u.project_id` when a selective filter should
//   drive the plan (see `push_search_conditions`).
// Static statements use `$N` placeholders, which both engines accept; dynamic ones go through
// `QueryBuilder`, which writes each engine's own placeholders.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{
    BiometricRegistrationId, CryptoWalletId, EmailId, Environment, OAuthUserRegistrationId,
    PasswordId, PhoneId, ProjectId, TotpId, UserId, WebAuthnRegistrationId,
};
use latchkey_core::search::{Filter, Operator, SearchCursor, SearchQuery};
use latchkey_core::jwt::SigningKey;
use latchkey_core::password::strength::Policy;
use latchkey_core::secret::SecretDigest;
use latchkey_core::user::{
    BiometricRegistration, CryptoWallet, NewUser, OAuthProvider, PasswordSummary, Totp, User,
    UserEmail, UserPhoneNumber, UserRef, UserStatus, WebAuthnRegistration,
};
use latchkey_core::values::{merge_metadata, Email, Name, PhoneNumber};
use serde_json::{Map, Value};
use sqlx::{QueryBuilder, Row};

use crate::{
    from_micros, to_micros, Conflict, FactorRef, Missing, NewFactor, PrimaryFactor, ProjectRecord, ProjectSettings,
    Refusal, SearchPage, Store, StoreError, UserPatch,
};

type Conn = <Db as sqlx::Database>::Connection;

const USER_COLUMNS: &str = "u.seq, u.user_id, u.status, u.first_name, u.middle_name, u.last_name, \
     u.trusted_metadata, u.untrusted_metadata, u.external_id, u.created_at, u.lock_created_at, \
     u.lock_expires_at";

/// Maps a unique-constraint violation to the rule it broke; other errors pass through.
fn conflict_or(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db_error) = &error {
        if db_error.is_unique_violation() {
            let message = db_error.message();
            let constraint = db_error.constraint().unwrap_or_default();
            let names = |needle: &str| message.contains(needle) || constraint.contains(needle);
            if names("user_emails") {
                return StoreError::Conflict(Conflict::DuplicateEmail);
            }
            if names("user_phone_numbers") {
                return StoreError::Conflict(Conflict::DuplicatePhoneNumber);
            }
            if names("external_id") {
                return StoreError::Conflict(Conflict::DuplicateExternalId);
            }
        }
    }
    StoreError::Database(error)
}

fn metadata_from_text(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

fn metadata_to_text(map: &Map<String, Value>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned())
}

/// A user row before its factors are attached.
struct UserRow {
    seq: i64,
    user: User,
}

fn user_row(row: &<Db as sqlx::Database>::Row) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        seq: row.try_get("seq")?,
        user: bare_user(row)?,
    })
}

/// A user from a row of its table's columns (by name), without factors or roles yet.
fn bare_user(row: &<Db as sqlx::Database>::Row) -> Result<User, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let trusted: String = row.try_get("trusted_metadata")?;
    let untrusted: String = row.try_get("untrusted_metadata")?;
    Ok(User {
        user_id: UserId::from_trusted(row.try_get("user_id")?),
        status: UserStatus::parse(&status).unwrap_or(UserStatus::Active),
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
        trusted_metadata: metadata_from_text(&trusted),
        untrusted_metadata: metadata_from_text(&untrusted),
        external_id: row.try_get("external_id")?,
        roles: Vec::new(),
        created_at: from_micros(row.try_get("created_at")?),
        lock_created_at: row.try_get::<Option<i64>, _>("lock_created_at")?.map(from_micros),
        lock_expires_at: row.try_get::<Option<i64>, _>("lock_expires_at")?.map(from_micros),
    })
}

/// Every factor and role of a set of users, in one statement: one `UNION ALL` branch per child
/// table (its select list, its table), each row tagged with its `kind` and carried in shared
/// columns, read by position ([`KIND`] .. [`ORD`]: `kind`, `user_id`, `id`, text columns `a`..`d`,
/// the boolean `flag`, `ord`, the order within its kind). One statement rather than one per
/// table: on SQLite each statement is a round trip to the connection's thread, and those
/// hand-offs, not the lookups, were most of a `users.get`.
const CHILD_BRANCHES: [(&str, &str); 9] = [
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
const KIND: usize = 0;
const OWNER: usize = 1;
const ID: usize = 2;
/// The text columns `a`..`d` are `TEXT_A`..`TEXT_A + 3`.
const TEXT_A: usize = 3;
const FLAG: usize = 7;
const ORD: usize = 8;

/// The order every child statement ends with: by `ord`, then `id` (SQL counts from 1).
fn child_order() -> String {
    format!(" ORDER BY {}, {}", ORD + 1, ID + 1)
}

/// The user row itself in the positions of [`CHILD_BRANCHES`]' shared columns, under its own
/// column names (which the whole statement then carries), plus four more columns (the metadata
/// and the lock times), for [`read_user`]: a user and all it holds in one statement.
const USER_BRANCH: &str = "SELECT 'user' AS kind, user_id, external_id, first_name, middle_name, \
     last_name, status, CAST(NULL AS BOOLEAN) AS flag, created_at, trusted_metadata, \
     untrusted_metadata, lock_created_at, lock_expires_at FROM users";

/// [`read_user`]'s statement, binding `$1` the project and `$2` the user id (or, `by_external_id`,
/// the external id).
fn read_user_sql(by_external_id: bool) -> String {
    let (column, owner) = if by_external_id {
        ("external_id", "(SELECT user_id FROM users WHERE project_id = $1 AND external_id = $2)")
    } else {
        ("user_id", "$2")
    };
    let mut sql = format!("{USER_BRANCH} WHERE project_id = $1 AND {column} = $2");
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
async fn read_user(conn: &mut Conn, project_id: &str, user: &UserRef) -> Result<Option<User>, StoreError> {
    let (sql, value) = match user {
        UserRef::Id(id) => (read_user_sql(false), id.as_str()),
        UserRef::External(external) => (read_user_sql(true), external.as_str()),
    };
    let rows = sqlx::query(&sql).bind(project_id).bind(value).fetch_all(&mut *conn).await?;
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
async fn complete_users(
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
        let Some(&position) = index.get(&owner) else {
            continue;
        };
        attach_child(&mut users[position], row)?;
    }
    Ok(users)
}

/// Files one row of [`CHILD_BRANCHES`] under its user. Columns are read by position: a compound
/// statement's columns carry the names of its first branch, which in [`read_user`] is the user
/// row's.
fn attach_child(user: &mut User, row: &<Db as sqlx::Database>::Row) -> Result<(), sqlx::Error> {
    let kind: String = row.try_get(KIND)?;
    let id = || row.try_get::<String, _>(ID);
    // The text column `a` (0), `b` (1), `c` (2) or `d` (3).
    let text = |n: usize| row.try_get::<String, _>(TEXT_A + n);
    let flag = || row.try_get::<bool, _>(FLAG);
    match kind.as_str() {
        "email" => user.emails.push(UserEmail {
            email_id: EmailId::from_trusted(id()?),
            email: text(0)?,
            verified: flag()?,
        }),
        "phone" => user.phone_numbers.push(UserPhoneNumber {
            phone_id: PhoneId::from_trusted(id()?),
            phone_number: text(0)?,
            verified: flag()?,
        }),
        "webauthn" => user.webauthn_registrations.push(WebAuthnRegistration {
            webauthn_registration_id: WebAuthnRegistrationId::from_trusted(id()?),
            domain: text(0)?,
            user_agent: text(1)?,
            authenticator_type: text(2)?,
            name: text(3)?,
            verified: flag()?,
        }),
        "biometric" => user.biometric_registrations.push(BiometricRegistration {
            biometric_registration_id: BiometricRegistrationId::from_trusted(id()?),
            verified: flag()?,
        }),
        "totp" => user.totps.push(Totp {
            totp_id: TotpId::from_trusted(id()?),
            verified: flag()?,
        }),
        "wallet" => user.crypto_wallets.push(CryptoWallet {
            crypto_wallet_id: CryptoWalletId::from_trusted(id()?),
            crypto_wallet_address: text(0)?,
            crypto_wallet_type: text(1)?,
            verified: flag()?,
        }),
        "oauth" => user.providers.push(OAuthProvider {
            oauth_user_registration_id: OAuthUserRegistrationId::from_trusted(id()?),
            provider_type: text(0)?,
            provider_subject: text(1)?,
            profile_picture_url: text(2)?,
            locale: text(3)?,
        }),
        "password" => {
            user.password = Some(PasswordSummary {
                password_id: PasswordId::from_trusted(id()?),
                requires_reset: flag()?,
            })
        }
        "role" => user.roles.push(text(0)?),
        other => {
            return Err(sqlx::Error::ColumnDecode {
                index: "kind".to_owned(),
                source: format!("unknown child kind {other}").into(),
            })
        }
    }
    Ok(())
}

/// Reads one user row by reference; `lock` appends the engine's row lock.
async fn find_user_row(
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
    Ok(row.as_ref().map(user_row).transpose()?)
}

async fn load_user(conn: &mut Conn, project_id: &str, user_id: &UserId) -> Result<User, StoreError> {
    read_user(conn, project_id, &UserRef::Id(user_id.clone()))
        .await?
        .ok_or(StoreError::NotFound(Missing::User))
}

async fn insert_email(
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
    let has_primary: Option<String> =
        sqlx::query_scalar("SELECT email_id FROM user_emails WHERE user_id = $1 AND is_primary LIMIT 1")
            .bind(user_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    write_emails(conn, project_id, &[(user_id, &email, has_primary.is_none())], now).await?;
    Ok(email.email_id)
}

async fn insert_phone_number(
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
async fn insert_emails(
    conn: &mut Conn,
    project_id: &str,
    rows: &[(&UserId, &UserEmail)],
    now: i64,
) -> Result<(), StoreError> {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::with_capacity(rows.len());
    let rows: Vec<_> =
        rows.iter().map(|(user_id, email)| (*user_id, *email, seen.insert(user_id.as_str()))).collect();
    write_emails(conn, project_id, &rows, now).await
}

/// Writes `(user, email, is_primary)` rows in one statement.
async fn write_emails(
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
    query.build().execute(&mut *conn).await.map_err(conflict_or)?;
    Ok(())
}

/// Writes phone numbers of users in one statement.
async fn insert_phone_numbers(
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
    query.build().execute(&mut *conn).await.map_err(conflict_or)?;
    Ok(())
}

async fn replace_roles(
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
    let rows: Vec<_> = roles.iter().enumerate().map(|(position, role)| (user_id, position, role)).collect();
    insert_roles(conn, project_id, &rows).await
}

/// Writes users' roles, each with its position in its user's list, in one statement.
async fn insert_roles(
    conn: &mut Conn,
    project_id: &str,
    rows: &[(&UserId, usize, &String)],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<Db>::new("INSERT INTO user_roles (project_id, user_id, position, role) ");
    query.push_values(rows, |mut row, (user_id, position, role)| {
        row.push_bind(project_id.to_owned())
            .push_bind(user_id.as_str().to_owned())
            .push_bind(i64::try_from(*position).unwrap_or(i64::MAX))
            .push_bind((*role).clone());
    });
    query.build().execute(&mut *conn).await?;
    Ok(())
}

/// Escapes `%`, `_` and `\` so user input matches literally inside a `LIKE … ESCAPE '\'`.
fn like_contains(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// Keyset paging in `(created_at, id)` order: the rows after `after`, in that order, at most
/// `limit` of them plus one that tells whether another page follows (see [`cut_page`]).
fn push_keyset_page(
    query: &mut QueryBuilder<'_, Db>,
    (created_column, id_column): (&str, &str),
    after: Option<(i64, String)>,
    limit: u32,
) {
    if let Some((created_at, id)) = after {
        query.push(format!(" AND ({created_column} > "));
        query.push_bind(created_at);
        query.push(format!(" OR ({created_column} = "));
        query.push_bind(created_at);
        query.push(format!(" AND {id_column} > "));
        query.push_bind(id);
        query.push("))");
    }
    query.push(format!(" ORDER BY {created_column}, {id_column} LIMIT "));
    query.push_bind(i64::from(limit) + 1);
}

/// Cuts rows fetched by [`push_keyset_page`] to `limit`, and names the cursor of the last row
/// kept when more follow.
fn cut_page<T>(rows: &mut Vec<T>, limit: u32, key: impl Fn(&T) -> (i64, String)) -> Option<(i64, String)> {
    if rows.len() <= limit as usize {
        return None;
    }
    rows.truncate(limit as usize);
    rows.last().map(key)
}

fn push_list<T: AsRef<str>>(query: &mut QueryBuilder<'_, Db>, values: &[T]) {
    query.push("(");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value.as_ref().to_owned());
    }
    query.push(")");
}

/// A condition on the rows of one factor table.
enum FactorCondition {
    /// `column IN (values)`.
    In(&'static str, Vec<String>),
    /// `verified = value`.
    Verified(bool),
    /// `column LIKE %text%`, with the text matched literally.
    Contains(&'static str, String),
    /// Any row at all (`negate` turns this into "no row").
    Exists,
}

fn strings<T: AsRef<str>>(values: &[T]) -> Vec<String> {
    values.iter().map(|value| value.as_ref().to_owned()).collect()
}

fn ids<T>(values: &[T], as_str: fn(&T) -> &str) -> Vec<String> {
    values.iter().map(|value| as_str(value).to_owned()).collect()
}

/// `u.user_id [NOT] IN (SELECT user_id FROM <table> WHERE project_id = ? AND <condition>)`.
fn push_factor_condition(
    query: &mut QueryBuilder<'_, Db>,
    project_id: &str,
    table: &str,
    negate: bool,
    condition: FactorCondition,
) {
    query.push(if negate { "u.user_id NOT IN (SELECT user_id FROM " } else { "u.user_id IN (SELECT user_id FROM " });
    query.push(table);
    query.push(" WHERE project_id = ");
    query.push_bind(project_id.to_owned());
    match condition {
        FactorCondition::In(column, values) => {
            query.push(format!(" AND {column} IN "));
            push_list(query, &values);
        }
        FactorCondition::Verified(verified) => {
            query.push(" AND verified = ");
            query.push_bind(verified);
        }
        FactorCondition::Contains(column, text) => {
            query.push(format!(" AND {column} LIKE "));
            query.push_bind(like_contains(&text));
            query.push(" ESCAPE '\\'");
        }
        FactorCondition::Exists => {}
    }
    query.push(")");
}

/// Which factor table a filter reads and what it asks of its rows; `None` for filters on the
/// users row itself.
fn factor_condition(filter: &Filter) -> Option<(&'static str, bool, FactorCondition)> {
    use FactorCondition::{Contains, Exists, In, Verified};
    let condition = match filter {
        Filter::EmailAddresses(emails) => ("user_emails", false, In("email", strings(emails))),
        Filter::EmailIds(values) => ("user_emails", false, In("email_id", ids(values, EmailId::as_str))),
        Filter::EmailVerified(verified) => ("user_emails", false, Verified(*verified)),
        Filter::EmailAddressFuzzy(text) => ("user_emails", false, Contains("email", text.clone())),
        Filter::PhoneNumbers(phones) => ("user_phone_numbers", false, In("phone_number", strings(phones))),
        Filter::PhoneIds(values) => ("user_phone_numbers", false, In("phone_id", ids(values, PhoneId::as_str))),
        Filter::PhoneVerified(verified) => ("user_phone_numbers", false, Verified(*verified)),
        Filter::PhoneNumberFuzzy(text) => ("user_phone_numbers", false, Contains("phone_number", text.clone())),
        Filter::WebAuthnRegistrationIds(values) => (
            "webauthn_registrations",
            false,
            In("webauthn_registration_id", ids(values, WebAuthnRegistrationId::as_str)),
        ),
        Filter::WebAuthnRegistrationVerified(verified) => ("webauthn_registrations", false, Verified(*verified)),
        Filter::BiometricRegistrationIds(values) => (
            "biometric_registrations",
            false,
            In("biometric_registration_id", ids(values, BiometricRegistrationId::as_str)),
        ),
        Filter::BiometricRegistrationVerified(verified) => ("biometric_registrations", false, Verified(*verified)),
        Filter::CryptoWalletIds(values) => (
            "crypto_wallets",
            false,
            In("crypto_wallet_id", ids(values, CryptoWalletId::as_str)),
        ),
        Filter::CryptoWalletAddresses(addresses) => (
            "crypto_wallets",
            false,
            In("crypto_wallet_address", strings(addresses)),
        ),
        Filter::CryptoWalletVerified(verified) => ("crypto_wallets", false, Verified(*verified)),
        Filter::TotpIds(values) => ("totps", false, In("totp_id", ids(values, TotpId::as_str))),
        Filter::TotpVerified(verified) => ("totps", false, Verified(*verified)),
        Filter::PasswordExists(exists) => ("passwords", !exists, Exists),
        Filter::OAuthProviders(providers) => ("oauth_registrations", false, In("LOWER(provider_type)", strings(providers))),
        Filter::Roles(roles) => ("user_roles", false, In("role", strings(roles))),
        Filter::UserIds(_)
        | Filter::ExternalIds(_)
        | Filter::Status(_)
        | Filter::CreatedAtGreaterThan(_)
        | Filter::CreatedAtLessThan(_)
        | Filter::CreatedAtBetween(..)
        | Filter::FullNameFuzzy(_) => return None,
    };
    Some(condition)
}

fn push_filter(query: &mut QueryBuilder<'_, Db>, project_id: &str, filter: &Filter) {
    if let Some((table, negate, condition)) = factor_condition(filter) {
        push_factor_condition(query, project_id, table, negate, condition);
        return;
    }
    match filter {
        Filter::UserIds(values) => {
            query.push("u.user_id IN ");
            push_list(query, &ids(values, UserId::as_str));
        }
        Filter::ExternalIds(values) => {
            query.push("u.external_id IN ");
            push_list(query, values);
        }
        Filter::Status(status) => {
            query.push("u.status = ");
            query.push_bind(status.as_str());
        }
        Filter::CreatedAtGreaterThan(after) => {
            query.push("u.created_at > ");
            query.push_bind(to_micros(*after));
        }
        Filter::CreatedAtLessThan(before) => {
            query.push("u.created_at < ");
            query.push_bind(to_micros(*before));
        }
        Filter::CreatedAtBetween(after, before) => {
            query.push("(u.created_at > ");
            query.push_bind(to_micros(*after));
            query.push(" AND u.created_at < ");
            query.push_bind(to_micros(*before));
            query.push(")");
        }
        Filter::FullNameFuzzy(text) => {
            let pattern = like_contains(&text.to_lowercase());
            query.push(
                "(LOWER(u.first_name || ' ' || u.middle_name || ' ' || u.last_name) LIKE ",
            );
            query.push_bind(pattern.clone());
            query.push(" ESCAPE '\\' OR LOWER(u.first_name || ' ' || u.last_name) LIKE ");
            query.push_bind(pattern);
            query.push(" ESCAPE '\\')");
        }
        // Factor filters were rendered above.
        _ => {}
    }
}

/// `u.project_id = ? [AND (f1 AND|OR f2 …)]`.
/// Whether a filter names users through a unique index (ids, exact emails and phone numbers):
/// a handful of rows, whatever the size of the project.
fn is_selective(filter: &Filter) -> bool {
    matches!(
        filter,
        Filter::UserIds(_)
            | Filter::EmailAddresses(_)
            | Filter::EmailIds(_)
            | Filter::PhoneNumbers(_)
            | Filter::PhoneIds(_)
            | Filter::WebAuthnRegistrationIds(_)
            | Filter::BiometricRegistrationIds(_)
            | Filter::CryptoWalletIds(_)
            | Filter::TotpIds(_)
    )
}

fn push_search_conditions<'a>(query: &mut QueryBuilder<'a, Db>, project_id: &str, search: &SearchQuery) {
    // Without fresh statistics SQLite prefers walking the project's users in order and testing
    // each against a selective filter: a scan of the whole project for one email. When an AND
    // holds a selective filter, the project condition is kept off the index
    // (`SELECTIVE_PROJECT_COLUMN`), so the plan starts from that filter's unique index.
    let selective = matches!(search.operator, Operator::And) && search.operands.iter().any(is_selective);
    query.push(if selective {
        format!(" WHERE {SELECTIVE_PROJECT_COLUMN} = ")
    } else {
        " WHERE u.project_id = ".to_owned()
    });
    query.push_bind(project_id.to_owned());
    if search.operands.is_empty() {
        return;
    }
    query.push(" AND (");
    let joiner = match search.operator {
        Operator::And => " AND ",
        Operator::Or => " OR ",
    };
    for (position, filter) in search.operands.iter().enumerate() {
        if position > 0 {
            query.push(joiner);
        }
        push_filter(query, project_id, filter);
    }
    query.push(")");
}

/// Inserts a user with its email, phone number and roles, and returns the user as `load_user`
/// would read it back: the rows were just written, so reading them again would only cost time.
async fn insert_user(
    conn: &mut Conn,
    project_id: &ProjectId,
    new_user: &NewUser,
    now: i64,
) -> Result<User, StoreError> {
    let user = new_user_object(project_id.environment(), new_user, now);
    insert_users(conn, project_id.as_str(), std::slice::from_ref(&user), now).await?;
    Ok(user)
}

/// The user `new_user` describes, with fresh ids, as it will read once written.
fn new_user_object(env: Environment, new_user: &NewUser, now: i64) -> User {
    User {
        user_id: UserId::generate(env),
        status: if new_user.pending { UserStatus::Pending } else { UserStatus::Active },
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
        external_id: new_user.external_id.as_ref().map(|id| id.as_str().to_owned()),
        roles: new_user.roles.clone(),
        created_at: from_micros(now),
        lock_created_at: None,
        lock_expires_at: None,
    }
}

/// Writes new users (from [`new_user_object`], all created at `now`) with their emails, phone
/// numbers and roles: one multi-row statement per table, whatever the number of users.
async fn insert_users(conn: &mut Conn, project: &str, users: &[User], now: i64) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<Db>::new(
        "INSERT INTO users (user_id, project_id, status, first_name, middle_name, last_name, \
         trusted_metadata, untrusted_metadata, external_id, created_at) ",
    );
    query.push_values(users, |mut row, user| {
        row.push_bind(user.user_id.as_str().to_owned())
            .push_bind(project.to_owned())
            .push_bind(user.status.as_str())
            .push_bind(user.name.first_name.clone())
            .push_bind(user.name.middle_name.clone())
            .push_bind(user.name.last_name.clone())
            .push_bind(metadata_to_text(&user.trusted_metadata))
            .push_bind(metadata_to_text(&user.untrusted_metadata))
            .push_bind(user.external_id.clone())
            .push_bind(now);
    });
    query.build().execute(&mut *conn).await.map_err(conflict_or)?;
    let emails: Vec<_> =
        users.iter().flat_map(|user| user.emails.iter().map(move |email| (&user.user_id, email))).collect();
    insert_emails(conn, project, &emails, now).await?;
    let phones: Vec<_> =
        users.iter().flat_map(|user| user.phone_numbers.iter().map(move |phone| (&user.user_id, phone))).collect();
    insert_phone_numbers(conn, project, &phones, now).await?;
    let roles: Vec<_> = users
        .iter()
        .flat_map(|user| user.roles.iter().enumerate().map(move |(position, role)| (&user.user_id, position, role)))
        .collect();
    insert_roles(conn, project, &roles).await
}

const PROJECT_COLUMNS: &str = "project_id, name, environment, secret_digest, created_at, \
     lock_threshold, lock_ttl_seconds, strength_policy, luds_min_length, luds_complexity, \
     stack_publishable_client_key, stack_secret_server_key_digest";

fn project_row(row: &<Db as sqlx::Database>::Row) -> Result<ProjectRecord, sqlx::Error> {
    let environment: String = row.try_get("environment")?;
    let digest: Vec<u8> = row.try_get("secret_digest")?;
    Ok(ProjectRecord {
        project_id: ProjectId::from_trusted(row.try_get("project_id")?),
        name: row.try_get("name")?,
        environment: Environment::parse(&environment).unwrap_or(Environment::Test),
        secret_digest: SecretDigest::from_bytes(&digest)
            .ok_or_else(|| sqlx::Error::Decode("secret_digest is not 32 bytes".into()))?,
        created_at: from_micros(row.try_get("created_at")?),
        settings: settings_row(row)?,
        stack_keys: stack_keys_row(row)?,
    })
}

async fn write_stack_keys(conn: &mut Conn, project_id: &ProjectId, keys: &crate::StackKeys) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE projects SET stack_publishable_client_key = $1, stack_secret_server_key_digest = $2 \
         WHERE project_id = $3",
    )
    .bind(&keys.publishable_client_key)
    .bind(keys.secret_server_key_digest.as_bytes().to_vec())
    .bind(project_id.as_str())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(Missing::Project));
    }
    Ok(())
}

fn stack_keys_row(row: &<Db as sqlx::Database>::Row) -> Result<Option<crate::StackKeys>, sqlx::Error> {
    let key: Option<String> = row.try_get("stack_publishable_client_key")?;
    let digest: Option<Vec<u8>> = row.try_get("stack_secret_server_key_digest")?;
    Ok(match (key, digest.as_deref().and_then(SecretDigest::from_bytes)) {
        (Some(publishable_client_key), Some(secret_server_key_digest)) => {
            Some(crate::StackKeys { publishable_client_key, secret_server_key_digest })
        }
        _ => None,
    })
}

fn settings_row(row: &<Db as sqlx::Database>::Row) -> Result<ProjectSettings, sqlx::Error> {
    let policy: String = row.try_get("strength_policy")?;
    let min_length: i64 = row.try_get("luds_min_length")?;
    let complexity: i64 = row.try_get("luds_complexity")?;
    let threshold: i64 = row.try_get("lock_threshold")?;
    Ok(ProjectSettings {
        lock_threshold: u32::try_from(threshold).unwrap_or(10),
        lock_ttl_seconds: row.try_get("lock_ttl_seconds")?,
        strength_policy: if policy == "luds" {
            Policy::Luds {
                min_length: u32::try_from(min_length).unwrap_or(8),
                min_complexity: u32::try_from(complexity).unwrap_or(3),
            }
        } else {
            Policy::Zxcvbn
        },
    })
}

#[async_trait]
impl Store for Engine {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }

    fn pool_stats(&self) -> Vec<crate::PoolStats> {
        self.pools()
    }

    async fn create_project(&self, project: &ProjectRecord, key: &SigningKey) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO projects (project_id, name, environment, secret_digest, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(project.project_id.as_str())
        .bind(&project.name)
        .bind(project.environment.as_str())
        .bind(project.secret_digest.as_bytes().to_vec())
        .bind(to_micros(project.created_at))
        .execute(&mut *tx)
        .await?;
        write_project_settings(&mut tx, &project.project_id, &project.settings).await?;
        if let Some(keys) = &project.stack_keys {
            write_stack_keys(&mut tx, &project.project_id, keys).await?;
        }
        insert_signing_key(&mut tx, &project.project_id, key).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_project(&self, project_id: &ProjectId) -> Result<Option<ProjectRecord>, StoreError> {
        if let Some(record) = self.projects.get(project_id) {
            return Ok(Some(record));
        }
        let read_at = std::time::Instant::now();
        let row = sqlx::query(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE project_id = $1"))
            .bind(project_id.as_str())
            .fetch_optional(self.reader())
            .await?;
        let record = row.as_ref().map(project_row).transpose()?;
        if let Some(record) = &record {
            self.projects.put(read_at, project_id, record);
        }
        Ok(record)
    }

    async fn list_projects(&self) -> Result<Vec<ProjectRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects ORDER BY created_at, project_id"
        ))
        .fetch_all(self.reader())
        .await?;
        Ok(rows.iter().map(project_row).collect::<Result<_, _>>()?)
    }

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
            merge_metadata("untrusted_metadata", &mut current.untrusted_metadata, untrusted)?;
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
        .bind(metadata_to_text(&current.trusted_metadata))
        .bind(metadata_to_text(&current.untrusted_metadata))
        .bind(&current.external_id)
        .bind(project)
        .bind(current.user_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(conflict_or)?;
        if let Some(roles) = &patch.roles {
            replace_roles(&mut tx, project, &current.user_id, roles).await?;
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

    async fn delete_user(&self, project_id: &ProjectId, user: &UserRef) -> Result<UserId, StoreError> {
        let (column, value) = match user {
            UserRef::Id(id) => ("user_id", id.as_str()),
            UserRef::External(external) => ("external_id", external.as_str()),
        };
        let sql = format!(
            "DELETE FROM users WHERE project_id = $1 AND {column} = $2 RETURNING user_id"
        );
        let deleted: Option<String> = sqlx::query_scalar(&sql)
            .bind(project_id.as_str())
            .bind(value)
            .fetch_optional(self.writer())
            .await?;
        deleted
            .map(UserId::from_trusted)
            .ok_or(StoreError::NotFound(Missing::User))
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
        let users = complete_users(&mut conn, project, page.into_iter().map(|row| row.user).collect())
            .await?;
        Ok(SearchPage {
            users,
            total,
            next_cursor,
        })
    }

    async fn delete_factor(&self, project_id: &ProjectId, factor: &FactorRef) -> Result<User, StoreError> {
        let (table, column, id, missing) = match factor {
            FactorRef::Email(id) => ("user_emails", "email_id", id.as_str(), Missing::Email),
            FactorRef::PhoneNumber(id) => ("user_phone_numbers", "phone_id", id.as_str(), Missing::PhoneNumber),
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
            FactorRef::CryptoWallet(id) => ("crypto_wallets", "crypto_wallet_id", id.as_str(), Missing::CryptoWallet),
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
        let sql = format!("DELETE FROM {table} WHERE project_id = $1 AND {column} = $2 RETURNING user_id");
        let owner: Option<String> = sqlx::query_scalar(&sql)
            .bind(project)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let owner = owner.map(UserId::from_trusted).ok_or(StoreError::NotFound(missing))?;
        if matches!(factor, FactorRef::Password(_)) {
            // A password's sessions end with it.
            sqlx::query("DELETE FROM sessions WHERE project_id = $1 AND user_id = $2 AND by_password")
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
                insert_phone_number(&mut tx, project, env, &current.user_id, phone, false, now).await?;
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
        match factor {
            NewFactor::WebAuthnRegistration { domain, user_agent, authenticator_type, name, verified } => {
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
            NewFactor::CryptoWallet { address, wallet_type, verified } => {
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
            NewFactor::OAuthRegistration { provider_type, provider_subject, profile_picture_url, locale } => {
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
