//! The SQL both engines share, one module per product. `sqlite.rs` and `postgres.rs` each mount
//! this folder with `#[path]`, after defining:
//! - `Db`: the sqlx database type;
//! - `Engine`: the store type, with `reader()` and `writer()` pools;
//! - `WRITE_LANES`: how many write transactions the engine runs well at once;
//! - `FOR_UPDATE`: the row-lock suffix for read-modify-write reads ("" where the writer is
//!   already exclusive);
//! - `NAME_LOCK`: a statement taking a transaction-long lock on a name (`$1`), or "" where the
//!   writer is exclusive;
//! - `SKIP_LOCKED`: the suffix by which a delivery worker's claim passes over rows another
//!   worker holds;
//! - `SELECTIVE_PROJECT_COLUMN`: how a search names `u.project_id` when a selective filter should
//!   drive the plan (see `push_search_conditions`).
//!
//! Static statements use `$N` placeholders, which both engines accept; dynamic ones go through
//! `QueryBuilder`, which writes each engine's own placeholders. The modules share one namespace
//! (each starts with `use super::*`), as the helpers of one product serve the others: a member
//! completion consumes a TOTP step, a contact channel is a user's email.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::contact_channels::{
    migration_target, MigrationTarget, OtherSignInMethods, RecentSends, SignInHolder,
    VERIFICATION_THROTTLE,
};
use latchkey_core::ids::{
    BiometricRegistrationId, CryptoWalletId, EmailId, Environment, MemberId, MemberSessionId,
    OAuthUserRegistrationId, OrganizationId, PasswordId, PhoneId, ProjectId, SessionId,
    SigningKeyId, TotpId, UserId, WebAuthnRegistrationId,
};
use latchkey_core::jwt::{KeyKind, SigningKey, StoredKey};
use latchkey_core::lock::{Factor, FactorAttempts, Lock, LockPolicy};
use latchkey_core::members::{Member, MemberStatus};
use latchkey_core::organizations::{Organization, OrganizationSlug};
use latchkey_core::passwords::strength::Policy;
use latchkey_core::passwords::StoredHash;
use latchkey_core::search::{Filter, Operator, SearchCursor, SearchQuery};
use latchkey_core::secret::SecretDigest;
use latchkey_core::sessions::{AuthenticationFactor, MemberSession, Session};
use latchkey_core::users::{
    BiometricRegistration, CryptoWallet, FactorKind, NewUser, OAuthProvider, PasswordSummary, Totp,
    User, UserEmail, UserPhoneNumber, UserRef, UserStatus, WebAuthnRegistration,
};
use latchkey_core::values::{merge_metadata, Email, Name, PhoneNumber};
use serde_json::{Map, Value};
use sqlx::{QueryBuilder, Row};

use super::{
    Db, Engine, FOR_UPDATE, NAME_LOCK, SELECTIVE_PROJECT_COLUMN, SKIP_LOCKED, WRITE_LANES,
};
use crate::*;

mod authentication;
mod contact_channels;
mod intermediate_sessions;
mod magic_links;
mod member_magic_links;
mod member_otps;
mod member_sessions;
mod members;
mod organizations;
mod otps;
mod outbox;
mod passwordless;
mod passwords;
mod projects;
mod sessions;
mod totps;
mod users;
mod users_read;
mod users_search;
mod users_write;

use member_sessions::*;
use members::*;
use outbox::*;
use passwords::*;
use sessions::*;
use totps::*;
use users::*;
use users_read::*;
use users_search::*;
use users_write::*;

type Conn = <Db as sqlx::Database>::Connection;

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
    error.into()
}

type DbRow = <Db as sqlx::Database>::Row;

/// A stored value of `table.column` that does not decode, and why. The value itself is never
/// named: it may be secret.
fn corrupt(table: &str, column: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{table}.{column}: {why}"))
}

/// What is wrong with stored JSON, without quoting it (serde's messages can quote the value).
fn json_problem(error: &serde_json::Error) -> String {
    format!(
        "not the JSON expected ({:?} error at line {} column {})",
        error.classify(),
        error.line(),
        error.column()
    )
}

/// The JSON object stored as text in `table.column`.
fn metadata(row: &DbRow, table: &str, column: &str) -> Result<Map<String, Value>, StoreError> {
    let text: String = row.try_get(column)?;
    metadata_from_text(table, column, &text)
}

fn metadata_from_text(
    table: &str,
    column: &str,
    text: &str,
) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(text).map_err(|error| corrupt(table, column, json_problem(&error)))
}

/// `map` as the text a metadata column holds. Encoding a map of JSON values does not fail;
/// should it ever, the change is refused rather than stored as something else.
fn metadata_to_text(field: &str, map: &Map<String, Value>) -> Result<String, StoreError> {
    serde_json::to_string(map).map_err(|_| {
        StoreError::Invalid(InputError::InvalidMetadata(format!(
            "{field} could not be encoded as JSON."
        )))
    })
}

/// The instant stored (in microseconds, see [`to_micros`]) in `table.column`.
fn instant(row: &DbRow, table: &str, column: &str) -> Result<DateTime<Utc>, StoreError> {
    from_micros(table, column, row.try_get(column)?)
}

fn optional_instant(
    row: &DbRow,
    table: &str,
    column: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|micros| from_micros(table, column, micros))
        .transpose()
}

/// The id stored in `table.column`, parsed as ids from callers are: a stored id that does not
/// parse is corrupt, not trusted.
fn stored_id<T>(
    row: &DbRow,
    table: &str,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, InputError>,
) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    parse_stored(table, column, &text, parse)
}

fn parse_stored<T>(
    table: &str,
    column: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, InputError>,
) -> Result<T, StoreError> {
    parse(text).map_err(|_| corrupt(table, column, "not a valid id"))
}

/// A `LIKE … ESCAPE '\'` pattern matching text that ends with `suffix`, literally.
fn like_suffix(suffix: &str) -> String {
    let contains = like_contains(suffix);
    // `like_contains` wraps in `%`: keep the leading one only.
    contains[..contains.len() - 1].to_owned()
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
fn cut_page<T>(
    rows: &mut Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> (i64, String),
) -> Option<(i64, String)> {
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

/// What the SQLite engine's own tests reach into (its query plans, the bulk-migration path).
#[cfg(test)]
#[allow(unused_imports)] // the PostgreSQL copy of this module has no such tests
pub(super) use {
    passwords::migrate_new_users, users_read::read_user_sql, users_search::push_search_conditions,
};
