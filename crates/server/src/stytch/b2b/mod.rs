//! Stytch's B2B API: organizations, their members, members' TOTP and recovery codes, and member
//! sessions.
//!
//! The two searches (organizations, members) share their query shape and cursor here.

pub mod discovery;
pub mod magic_links;
pub mod members;
pub mod organizations;
pub mod otps;
pub mod recovery_codes;
pub mod sessions;
pub mod totps;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use latchkey_core::search::{self, parse_limit};
use latchkey_core::InputError;
use serde_json::{Map, Value};

use crate::error::ApiError;

fn bad_query(message: &str) -> ApiError {
    ApiError::from(InputError::InvalidSearchQuery(message.to_owned()))
}

/// The `(filter_name, filter_value)` operands of a search `query`, which Latchkey combines with
/// AND (an OR of one operand is the same thing; Stytch has deprecated OR). The query is held to
/// the bounds of `users/search` (core `search::check_bounds`), so no statement binds more
/// parameters than an engine allows.
pub(crate) fn search_operands(query: Option<&Value>) -> Result<Vec<(String, Value)>, ApiError> {
    let Some(query) = query.filter(|q| !q.is_null()) else {
        return Ok(Vec::new());
    };
    let operands = match &query["operands"] {
        Value::Null => Vec::new(),
        Value::Array(operands) => {
            search::check_bounds(operands)?;
            operands.clone()
        }
        _ => return Err(bad_query("query.operands must be a list.")),
    };
    match query["operator"].as_str() {
        Some("AND") => {}
        Some("OR") if operands.len() <= 1 => {}
        Some("OR") => {
            return Err(bad_query(
                "OR over several filters is not supported; use AND.",
            ))
        }
        _ => return Err(bad_query("query.operator must be AND or OR.")),
    }
    operands
        .into_iter()
        .map(|operand| match operand["filter_name"].as_str() {
            Some(name) => Ok((name.to_owned(), operand["filter_value"].clone())),
            None => Err(bad_query("Each operand needs a filter_name.")),
        })
        .collect()
}

/// A filter value that must be a list of strings, each without control characters (PostgreSQL
/// cannot even bind a NUL byte) and at most 1024 bytes.
pub(crate) fn filter_strings(value: &Value) -> Result<Vec<String>, ApiError> {
    let bad = || bad_query("filter_value must be a list of strings.");
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|item| {
            let text = item.as_str().ok_or_else(bad)?;
            if !search::is_plain(text) {
                return Err(bad_query(
                    "filter_value strings must be at most 1024 bytes, without control characters.",
                ));
            }
            Ok(text.to_owned())
        })
        .collect()
}

/// A fuzzy filter value: a string of at least 3 characters, held to the rule of
/// [`filter_strings`].
pub(crate) fn filter_text(value: &Value) -> Result<String, ApiError> {
    match value.as_str() {
        Some(text) if text.chars().count() >= 3 && search::is_plain(text) => Ok(text.to_owned()),
        _ => Err(bad_query(
            "fuzzy filters take a string of 3 characters to 1024 bytes, without control \
             characters.",
        )),
    }
}

pub(crate) fn filter_bool(value: &Value) -> Result<bool, ApiError> {
    value
        .as_bool()
        .ok_or_else(|| bad_query("filter_value must be true or false."))
}

pub(crate) fn unknown_filter(name: &str) -> ApiError {
    bad_query(&format!("Unknown search filter {name}."))
}

/// A search's `limit` and decoded `cursor`; `valid_id` checks the id a cursor carries.
pub(crate) fn search_page(
    body: &Map<String, Value>,
    valid_id: fn(&str) -> bool,
) -> Result<(u32, Option<(i64, String)>), ApiError> {
    let limit = match body.get("limit") {
        None | Some(Value::Null) => parse_limit(None)?,
        Some(value) => parse_limit(Some(value.as_i64().ok_or(InputError::InvalidLimit)?))?,
    };
    let after = match body
        .get("cursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
    {
        Some(cursor) => Some(decode_cursor(cursor, valid_id)?),
        None => None,
    };
    Ok((limit, after))
}

/// A page's `next_cursor`: the `created_at` and id of its last row, opaque to callers.
pub(crate) fn encode_cursor((created_at, id): &(i64, String)) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_at}:{id}"))
}

fn decode_cursor(cursor: &str, valid_id: fn(&str) -> bool) -> Result<(i64, String), ApiError> {
    let invalid = || ApiError::from(InputError::InvalidCursor);
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?)
        .map_err(|_| invalid())?;
    let (created_at, id) = text.split_once(':').ok_or_else(invalid)?;
    if !valid_id(id) {
        return Err(invalid());
    }
    Ok((created_at.parse().map_err(|_| invalid())?, id.to_owned()))
}
