//! `POST /v1/users/search`: the query (operator and operands), the page size and the cursor,
//! parsed and checked before the store sees them.
//!
//! Paging is keyset paging over the user's insertion sequence number. A cursor names the last
//! row a page returned, so rows inserted while a client pages appear at the end instead of
//! shifting pages: no row is returned twice and no row that existed at the start is skipped.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::ids::{
    BiometricRegistrationId, CryptoWalletId, EmailId, PhoneId, TotpId, UserId,
    WebAuthnRegistrationId,
};
use crate::users::UserStatus;
use crate::InputError;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;
/// Bounds on query size, so one request cannot ask for unbounded work.
pub const MAX_OPERANDS: usize = 50;
pub const MAX_VALUES_PER_OPERAND: usize = 1000;
/// Filter values in a whole query, whatever their operands. Each value is one bound parameter of
/// the search's statements, and an engine refuses a statement with more than it can bind
/// (SQLite 32,766, PostgreSQL 65,535): this bound keeps every search statement far below both,
/// operands' own parameters included.
pub const MAX_FILTER_VALUES: usize = 10_000;
// Besides its values an operand binds at most two parameters (its project filter, or a fuzzy
// pattern twice), and a statement a handful of its own: all of it stays under SQLite's bound.
const _: () = assert!(MAX_FILTER_VALUES + 2 * MAX_OPERANDS + 16 < 32_766);
pub const MAX_FUZZY_CHARS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    And,
    Or,
}

/// One operand of a search. Each list filter matches users having any of the listed values;
/// each boolean filter matches users having at least one factor of that kind in that state.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    UserIds(Vec<UserId>),
    ExternalIds(Vec<String>),
    Status(UserStatus),
    CreatedAtGreaterThan(DateTime<Utc>),
    CreatedAtLessThan(DateTime<Utc>),
    CreatedAtBetween(DateTime<Utc>, DateTime<Utc>),
    FullNameFuzzy(String),
    EmailAddresses(Vec<String>),
    EmailIds(Vec<EmailId>),
    EmailVerified(bool),
    EmailAddressFuzzy(String),
    PhoneNumbers(Vec<String>),
    PhoneIds(Vec<PhoneId>),
    PhoneVerified(bool),
    PhoneNumberFuzzy(String),
    WebAuthnRegistrationIds(Vec<WebAuthnRegistrationId>),
    WebAuthnRegistrationVerified(bool),
    BiometricRegistrationIds(Vec<BiometricRegistrationId>),
    BiometricRegistrationVerified(bool),
    CryptoWalletIds(Vec<CryptoWalletId>),
    CryptoWalletAddresses(Vec<String>),
    CryptoWalletVerified(bool),
    TotpIds(Vec<TotpId>),
    TotpVerified(bool),
    PasswordExists(bool),
    OAuthProviders(Vec<String>),
    Roles(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SearchQuery {
    pub operator: Operator,
    pub operands: Vec<Filter>,
}

impl SearchQuery {
    /// Everything: what an absent query means.
    pub fn all() -> SearchQuery {
        SearchQuery {
            operator: Operator::And,
            operands: Vec::new(),
        }
    }

    /// Parses the `query` object of a search request.
    pub fn parse(value: &Value) -> Result<SearchQuery, InputError> {
        let object = value
            .as_object()
            .ok_or_else(|| invalid("query must be an object."))?;
        let operator = match object.get("operator") {
            Some(Value::String(op)) if op.eq_ignore_ascii_case("AND") => Operator::And,
            Some(Value::String(op)) if op.eq_ignore_ascii_case("OR") => Operator::Or,
            Some(_) => return Err(invalid("query.operator must be \"AND\" or \"OR\".")),
            None => return Err(invalid("query.operator is required.")),
        };
        let operands = match object.get("operands") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                check_bounds(items)?;
                items.iter().map(parse_operand).collect::<Result<_, _>>()?
            }
            Some(_) => return Err(invalid("query.operands must be an array.")),
        };
        Ok(SearchQuery { operator, operands })
    }
}

/// Refuses a query whose size alone asks for too much work, before any operand is parsed: more
/// than [`MAX_OPERANDS`] operands, an operand with more than [`MAX_VALUES_PER_OPERAND`] values,
/// or more than [`MAX_FILTER_VALUES`] values in all. The B2B searches hold their operands to the
/// same bounds.
pub fn check_bounds(operands: &[Value]) -> Result<(), InputError> {
    if operands.len() > MAX_OPERANDS {
        return Err(invalid(&format!(
            "query.operands may hold at most {MAX_OPERANDS} operands."
        )));
    }
    let mut total = 0;
    for operand in operands {
        let values = operand
            .get("filter_value")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if values > MAX_VALUES_PER_OPERAND {
            let name = operand
                .get("filter_name")
                .and_then(Value::as_str)
                .unwrap_or("an operand");
            return Err(invalid(&format!(
                "{name} filter_value holds {values} values; an operand may hold at most \
                 {MAX_VALUES_PER_OPERAND}."
            )));
        }
        total += values;
    }
    if total > MAX_FILTER_VALUES {
        return Err(invalid(&format!(
            "query holds {total} filter values; a search may hold at most {MAX_FILTER_VALUES} \
             in all."
        )));
    }
    Ok(())
}

fn invalid(message: &str) -> InputError {
    InputError::InvalidSearchQuery(message.to_owned())
}

fn parse_operand(operand: &Value) -> Result<Filter, InputError> {
    let object: &Map<String, Value> = operand.as_object().ok_or_else(|| {
        invalid("Each operand must be an object with filter_name and filter_value.")
    })?;
    let name = object
        .get("filter_name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("Each operand needs a string filter_name."))?;
    let value = object
        .get("filter_value")
        .ok_or_else(|| invalid(&format!("Operand {name} needs a filter_value.")))?;
    let filter = match name {
        "user_id" => Filter::UserIds(ids(name, value, UserId::parse)?),
        "external_id" => Filter::ExternalIds(strings(name, value)?),
        "status" => Filter::Status(
            value
                .as_str()
                .and_then(UserStatus::parse)
                .ok_or_else(|| invalid("status filter_value must be \"active\" or \"pending\"."))?,
        ),
        "created_at_greater_than" => Filter::CreatedAtGreaterThan(timestamp(name, value)?),
        "created_at_less_than" => Filter::CreatedAtLessThan(timestamp(name, value)?),
        "created_at_between" => {
            let range = value
                .as_object()
                .ok_or_else(|| invalid("created_at_between filter_value must be an object with greater_than and less_than."))?;
            let lower = range
                .get("greater_than")
                .ok_or_else(|| invalid("created_at_between needs greater_than."))?;
            let upper = range
                .get("less_than")
                .ok_or_else(|| invalid("created_at_between needs less_than."))?;
            Filter::CreatedAtBetween(timestamp(name, lower)?, timestamp(name, upper)?)
        }
        "full_name_fuzzy" => Filter::FullNameFuzzy(fuzzy(name, value)?),
        "email_address" => Filter::EmailAddresses(
            strings(name, value)?
                .into_iter()
                .map(|email| email.trim().to_lowercase())
                .collect(),
        ),
        "email_id" => Filter::EmailIds(ids(name, value, EmailId::parse)?),
        "email_verified" => Filter::EmailVerified(boolean(name, value)?),
        "email_address_fuzzy" => Filter::EmailAddressFuzzy(fuzzy(name, value)?.to_lowercase()),
        "phone_number" => Filter::PhoneNumbers(
            strings(name, value)?
                .into_iter()
                .map(|phone| phone.trim().to_owned())
                .collect(),
        ),
        "phone_id" => Filter::PhoneIds(ids(name, value, PhoneId::parse)?),
        "phone_verified" => Filter::PhoneVerified(boolean(name, value)?),
        "phone_number_fuzzy" => Filter::PhoneNumberFuzzy(fuzzy(name, value)?),
        "webauthn_registration_id" => {
            Filter::WebAuthnRegistrationIds(ids(name, value, WebAuthnRegistrationId::parse)?)
        }
        "webauthn_registration_verified" => {
            Filter::WebAuthnRegistrationVerified(boolean(name, value)?)
        }
        "biometric_registration_id" => {
            Filter::BiometricRegistrationIds(ids(name, value, BiometricRegistrationId::parse)?)
        }
        "biometric_registration_verified" => {
            Filter::BiometricRegistrationVerified(boolean(name, value)?)
        }
        "crypto_wallet_id" => Filter::CryptoWalletIds(ids(name, value, CryptoWalletId::parse)?),
        "crypto_wallet_address" => Filter::CryptoWalletAddresses(strings(name, value)?),
        "crypto_wallet_verified" => Filter::CryptoWalletVerified(boolean(name, value)?),
        "totp_id" => Filter::TotpIds(ids(name, value, TotpId::parse)?),
        "totp_verified" => Filter::TotpVerified(boolean(name, value)?),
        "password_exists" => Filter::PasswordExists(boolean(name, value)?),
        "oauth_provider" => Filter::OAuthProviders(
            strings(name, value)?
                .into_iter()
                .map(|provider| provider.to_lowercase())
                .collect(),
        ),
        "roles" | "role" => Filter::Roles(strings(name, value)?),
        other => {
            return Err(invalid(&format!(
                "Unknown filter_name {other:?}. See the Search Users reference for the supported filters."
            )))
        }
    };
    Ok(filter)
}

fn strings(name: &str, value: &Value) -> Result<Vec<String>, InputError> {
    let items = value
        .as_array()
        .ok_or_else(|| invalid(&format!("{name} filter_value must be an array of strings.")))?;
    if items.is_empty() || items.len() > MAX_VALUES_PER_OPERAND {
        return Err(invalid(&format!(
            "{name} filter_value must hold 1 to {MAX_VALUES_PER_OPERAND} values."
        )));
    }
    items
        .iter()
        .map(|item| {
            item.as_str()
                .filter(|text| is_plain(text))
                .map(str::to_owned)
                .ok_or_else(|| {
                    invalid(&format!(
                        "{name} filter_value must be an array of strings without control characters."
                    ))
                })
        })
        .collect()
}

/// Search values never hold control characters (a NUL byte cannot even be stored in PostgreSQL
/// text) and are at most 1024 bytes.
pub fn is_plain(text: &str) -> bool {
    text.len() <= 1024 && !text.chars().any(char::is_control)
}

fn ids<T>(
    name: &str,
    value: &Value,
    parse: fn(&str) -> Result<T, InputError>,
) -> Result<Vec<T>, InputError> {
    strings(name, value)?
        .iter()
        .map(|raw| {
            parse(raw).map_err(|_| invalid(&format!("{name} filter_value holds a malformed id.")))
        })
        .collect()
}

fn boolean(name: &str, value: &Value) -> Result<bool, InputError> {
    value
        .as_bool()
        .ok_or_else(|| invalid(&format!("{name} filter_value must be a boolean.")))
}

fn fuzzy(name: &str, value: &Value) -> Result<String, InputError> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid(&format!("{name} filter_value must be a string.")))?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_FUZZY_CHARS || !is_plain(text) {
        return Err(invalid(&format!(
            "{name} filter_value must be 1 to {MAX_FUZZY_CHARS} characters."
        )));
    }
    Ok(text.to_owned())
}

fn timestamp(name: &str, value: &Value) -> Result<DateTime<Utc>, InputError> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
        .ok_or_else(|| {
            invalid(&format!(
                "{name} filter_value must be an RFC 3339 timestamp."
            ))
        })
}

/// Where the next page starts: after the user with this sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchCursor {
    pub after_seq: i64,
}

const CURSOR_TAG: &str = "lk1:";

impl SearchCursor {
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}{}", self.after_seq))
    }

    pub fn decode(raw: &str) -> Result<SearchCursor, InputError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| InputError::InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InputError::InvalidCursor)?;
        let number = text
            .strip_prefix(CURSOR_TAG)
            .ok_or(InputError::InvalidCursor)?;
        let after_seq: i64 = number.parse().map_err(|_| InputError::InvalidCursor)?;
        if after_seq < 0 || number.starts_with('+') {
            return Err(InputError::InvalidCursor);
        }
        Ok(SearchCursor { after_seq })
    }
}

/// Page size: absent or 0 means the default of 100, as in Stytch's SDKs; above 1000 is refused.
pub fn parse_limit(limit: Option<i64>) -> Result<u32, InputError> {
    match limit {
        None | Some(0) => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=i64::from(MAX_LIMIT)).contains(&n) => {
            u32::try_from(n).map_err(|_| InputError::InvalidLimit)
        }
        Some(_) => Err(InputError::InvalidLimit),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_every_documented_filter() {
        let query = json!({"operator": "AND", "operands": [
            {"filter_name": "user_id", "filter_value": ["user-test-6b0cbd6f-52f4-4b44-9f5e-7ed6c2a5a3b0"]},
            {"filter_name": "email_address", "filter_value": [" Ada@Example.com"]},
            {"filter_name": "email_address_fuzzy", "filter_value": "ADA"},
            {"filter_name": "email_verified", "filter_value": true},
            {"filter_name": "phone_number_fuzzy", "filter_value": "555"},
            {"filter_name": "status", "filter_value": "pending"},
            {"filter_name": "created_at_between", "filter_value": {"greater_than": "2024-01-01T00:00:00Z", "less_than": "2025-01-01T00:00:00Z"}},
            {"filter_name": "password_exists", "filter_value": false},
            {"filter_name": "oauth_provider", "filter_value": ["Google"]},
            {"filter_name": "totp_verified", "filter_value": true},
            {"filter_name": "full_name_fuzzy", "filter_value": "love"},
        ]});
        let parsed = SearchQuery::parse(&query).unwrap();
        assert_eq!(parsed.operator, Operator::And);
        assert_eq!(parsed.operands.len(), 11);
        assert_eq!(
            parsed.operands[1],
            Filter::EmailAddresses(vec!["ada@example.com".into()])
        );
        assert_eq!(parsed.operands[2], Filter::EmailAddressFuzzy("ada".into()));
        assert_eq!(
            parsed.operands[8],
            Filter::OAuthProviders(vec!["google".into()])
        );
    }

    #[test]
    fn refuses_malformed_queries() {
        for bad in [
            json!([]),
            json!({}),
            json!({"operator": "XOR"}),
            json!({"operator": "AND", "operands": {}}),
            json!({"operator": "AND", "operands": [{"filter_name": "nope", "filter_value": 1}]}),
            json!({"operator": "AND", "operands": [{"filter_name": "user_id", "filter_value": "user-x"}]}),
            json!({"operator": "AND", "operands": [{"filter_name": "user_id", "filter_value": ["user-x"]}]}),
            json!({"operator": "AND", "operands": [{"filter_name": "user_id", "filter_value": []}]}),
            json!({"operator": "AND", "operands": [{"filter_name": "email_verified", "filter_value": "yes"}]}),
            json!({"operator": "AND", "operands": [{"filter_name": "created_at_less_than", "filter_value": "yesterday"}]}),
            json!({"operator": "AND", "operands": [{"filter_name": "email_address_fuzzy", "filter_value": "  "}]}),
            json!({"operator": "AND", "operands": [{"filter_name": "status"}]}),
            json!({"operator": "AND", "operands": [{"filter_name": "email_address", "filter_value": ["a\u{0}@example.com"]}]}),
            json!({"operator": "AND", "operands": [{"filter_name": "email_address_fuzzy", "filter_value": "a\u{0}b"}]}),
        ] {
            assert!(
                matches!(
                    SearchQuery::parse(&bad),
                    Err(InputError::InvalidSearchQuery(_))
                ),
                "{bad} should be refused"
            );
        }
    }

    fn external_ids(operands: usize, values: usize) -> Value {
        let operand = |index: usize| {
            let ids: Vec<String> = (0..values).map(|n| format!("ext-{index}-{n}")).collect();
            json!({"filter_name": "external_id", "filter_value": ids})
        };
        json!({"operator": "OR", "operands": (0..operands).map(operand).collect::<Vec<_>>()})
    }

    #[test]
    fn the_values_of_a_query_are_bounded_in_all() {
        // Every operand within its own bound, the whole at the bound: accepted.
        let at_bound = external_ids(10, MAX_FILTER_VALUES / 10);
        assert_eq!(SearchQuery::parse(&at_bound).unwrap().operands.len(), 10);
        // One operand more, and the query is refused by name of the bound.
        let over = external_ids(11, MAX_FILTER_VALUES / 10);
        match SearchQuery::parse(&over) {
            Err(InputError::InvalidSearchQuery(message)) => {
                assert!(
                    message.contains(&MAX_FILTER_VALUES.to_string()),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        let wide = external_ids(1, MAX_VALUES_PER_OPERAND + 1);
        assert!(matches!(
            SearchQuery::parse(&wide),
            Err(InputError::InvalidSearchQuery(_))
        ));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = SearchCursor { after_seq: 4711 };
        assert_eq!(SearchCursor::decode(&cursor.encode()), Ok(cursor));
        for bad in [
            "",
            "!!!",
            "bGsxOg",
            "bGsxOi0x",
            "aGVsbG8",
            "bGsxOjk5OTk5OTk5OTk5OTk5OTk5OTk5",
        ] {
            assert_eq!(
                SearchCursor::decode(bad),
                Err(InputError::InvalidCursor),
                "{bad}"
            );
        }
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None), Ok(100));
        assert_eq!(parse_limit(Some(0)), Ok(100));
        assert_eq!(parse_limit(Some(1000)), Ok(1000));
        assert_eq!(parse_limit(Some(1001)), Err(InputError::InvalidLimit));
        assert_eq!(parse_limit(Some(-1)), Err(InputError::InvalidLimit));
    }
}
