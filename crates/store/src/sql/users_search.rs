//! The conditions of `users/search`, written into a `QueryBuilder`.

use super::*;

/// A condition on the rows of one factor table.
pub(super) enum FactorCondition {
    /// `column IN (values)`.
    In(&'static str, Vec<String>),
    /// `verified = value`.
    Verified(bool),
    /// `column LIKE %text%`, with the text matched literally.
    Contains(&'static str, String),
    /// Any row at all (`negate` turns this into "no row").
    Exists,
}

pub(super) fn strings<T: AsRef<str>>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .map(|value| value.as_ref().to_owned())
        .collect()
}

pub(super) fn ids<T>(values: &[T], as_str: fn(&T) -> &str) -> Vec<String> {
    values
        .iter()
        .map(|value| as_str(value).to_owned())
        .collect()
}

/// `u.user_id [NOT] IN (SELECT user_id FROM <table> WHERE project_id = ? AND <condition>)`.
pub(super) fn push_factor_condition(
    query: &mut QueryBuilder<'_, Db>,
    project_id: &str,
    table: &str,
    negate: bool,
    condition: FactorCondition,
) {
    query.push(if negate {
        "u.user_id NOT IN (SELECT user_id FROM "
    } else {
        "u.user_id IN (SELECT user_id FROM "
    });
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
pub(super) fn factor_condition(filter: &Filter) -> Option<(&'static str, bool, FactorCondition)> {
    use FactorCondition::{Contains, Exists, In, Verified};
    let condition = match filter {
        Filter::EmailAddresses(emails) => ("user_emails", false, In("email", strings(emails))),
        Filter::EmailIds(values) => (
            "user_emails",
            false,
            In("email_id", ids(values, EmailId::as_str)),
        ),
        Filter::EmailVerified(verified) => ("user_emails", false, Verified(*verified)),
        Filter::EmailAddressFuzzy(text) => ("user_emails", false, Contains("email", text.clone())),
        Filter::PhoneNumbers(phones) => (
            "user_phone_numbers",
            false,
            In("phone_number", strings(phones)),
        ),
        Filter::PhoneIds(values) => (
            "user_phone_numbers",
            false,
            In("phone_id", ids(values, PhoneId::as_str)),
        ),
        Filter::PhoneVerified(verified) => ("user_phone_numbers", false, Verified(*verified)),
        Filter::PhoneNumberFuzzy(text) => (
            "user_phone_numbers",
            false,
            Contains("phone_number", text.clone()),
        ),
        Filter::WebAuthnRegistrationIds(values) => (
            "webauthn_registrations",
            false,
            In(
                "webauthn_registration_id",
                ids(values, WebAuthnRegistrationId::as_str),
            ),
        ),
        Filter::WebAuthnRegistrationVerified(verified) => {
            ("webauthn_registrations", false, Verified(*verified))
        }
        Filter::BiometricRegistrationIds(values) => (
            "biometric_registrations",
            false,
            In(
                "biometric_registration_id",
                ids(values, BiometricRegistrationId::as_str),
            ),
        ),
        Filter::BiometricRegistrationVerified(verified) => {
            ("biometric_registrations", false, Verified(*verified))
        }
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
        Filter::OAuthProviders(providers) => (
            "oauth_registrations",
            false,
            In("LOWER(provider_type)", strings(providers)),
        ),
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

pub(super) fn push_filter(query: &mut QueryBuilder<'_, Db>, project_id: &str, filter: &Filter) {
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
            query.push("(LOWER(u.first_name || ' ' || u.middle_name || ' ' || u.last_name) LIKE ");
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
pub(super) fn is_selective(filter: &Filter) -> bool {
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

pub(crate) fn push_search_conditions<'a>(
    query: &mut QueryBuilder<'a, Db>,
    project_id: &str,
    search: &SearchQuery,
) {
    // Without fresh statistics SQLite prefers walking the project's users in order and testing
    // each against a selective filter: a scan of the whole project for one email. When an AND
    // holds a selective filter, the project condition is kept off the index
    // (`SELECTIVE_PROJECT_COLUMN`), so the plan starts from that filter's unique index.
    let selective =
        matches!(search.operator, Operator::And) && search.operands.iter().any(is_selective);
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
