//! Input values parsed once at the edge. Each type can only hold a valid value: the inner field
//! is private and the only constructor is `parse`.

use std::str::FromStr;

use serde_json::{Map, Value};

use crate::InputError;

/// The longest address accepted, in bytes of its normalised form (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// A normalised email address. Two inputs are the same address exactly when their normal forms
/// are equal, and the normal form is what is stored, compared and shown:
/// - surrounding whitespace is trimmed;
/// - the domain is in its ASCII form, by IDNA 2008 as UTS #46 processes it (non-transitional,
///   STD3 rules, hyphen and DNS length checks): `Bücher.de`, `ｂüｃｈｅｒ.de` and
///   `xn--bcher-kva.de` are one domain, kept as `xn--bcher-kva.de`. A domain that imitates
///   another with letters of another script is a different domain, and shows as its `xn--`
///   form, never as the look-alike;
/// - the local part is compared case-insensitively (it is lowercased) and must be ASCII: an
///   internationalised local part (RFC 6531) is refused, because its look-alikes (a Cyrillic
///   `а` for a Latin `a`, fullwidth letters, mixed scripts) cannot be told apart from the
///   address they imitate;
/// - the result is a syntactically valid address (RFC 5322, by `email_address`) with a dotted
///   domain and no IP literal, at most [`MAX_EMAIL_BYTES`] bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, InputError> {
        let trimmed = raw.trim();
        // Long enough for any domain whose ASCII form fits, short enough to bound the work.
        if trimmed.is_empty() || trimmed.len() > 4 * MAX_EMAIL_BYTES {
            return Err(InputError::InvalidEmail);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(InputError::InvalidEmail)?;
        if local.is_empty() || !local.is_ascii() || domain.starts_with('[') {
            return Err(InputError::InvalidEmail);
        }
        let domain = idna::domain_to_ascii_strict(domain).map_err(|_| InputError::InvalidEmail)?;
        let candidate = format!("{}@{domain}", local.to_ascii_lowercase());
        if candidate.len() > MAX_EMAIL_BYTES {
            return Err(InputError::InvalidEmail);
        }
        let parsed = email_address::EmailAddress::from_str(&candidate)
            .map_err(|_| InputError::InvalidEmail)?;
        // Stytch delivers to these addresses: refuse display names and dotless hosts.
        let deliverable = parsed.as_str() == candidate
            && domain.contains('.')
            && !domain.ends_with('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
            && !candidate.chars().any(char::is_whitespace);
        if !deliverable {
            return Err(InputError::InvalidEmail);
        }
        Ok(Email(candidate))
    }

    /// The part after the `@` (in its ASCII form).
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form (`+` and up to 15 digits), valid for its country's numbering plan.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Stytch's documented test number, accepted although no numbering plan contains it.
    pub const TEST_NUMBER: &'static str = "+10000000000";

    pub fn parse(raw: &str) -> Result<PhoneNumber, InputError> {
        let candidate = raw.trim();
        let digits = candidate
            .strip_prefix('+')
            .ok_or(InputError::InvalidPhoneNumber)?;
        if digits.is_empty()
            || digits.len() > 15
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(InputError::InvalidPhoneNumber);
        }
        if candidate == Self::TEST_NUMBER {
            return Ok(PhoneNumber(candidate.to_owned()));
        }
        let parsed =
            phonenumber::parse(None, candidate).map_err(|_| InputError::InvalidPhoneNumber)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(InputError::InvalidPhoneNumber);
        }
        Ok(PhoneNumber(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An application's own identifier for a user, usable wherever a `user_id` is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(raw: &str) -> Result<ExternalId, InputError> {
        let valid = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'|'));
        if valid {
            Ok(ExternalId(raw.to_owned()))
        } else {
            Err(InputError::InvalidExternalId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's name. Every part may be empty; Stytch returns empty strings, never nulls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Name {
    pub first_name: String,
    pub middle_name: String,
    pub last_name: String,
}

/// The longest name part accepted, in characters.
pub const MAX_NAME_PART_CHARS: usize = 256;

/// A change to a name: `None` leaves that part as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamePatch {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
}

impl NamePatch {
    pub fn parse(
        first_name: Option<String>,
        middle_name: Option<String>,
        last_name: Option<String>,
    ) -> Result<NamePatch, InputError> {
        for (field, part) in [
            ("first_name", &first_name),
            ("middle_name", &middle_name),
            ("last_name", &last_name),
        ] {
            if let Some(part) = part {
                if part.chars().count() > MAX_NAME_PART_CHARS {
                    return Err(InputError::InvalidName(format!(
                        "name.{field} must be at most {MAX_NAME_PART_CHARS} characters."
                    )));
                }
                if part.chars().any(char::is_control) {
                    return Err(InputError::InvalidName(format!(
                        "name.{field} must not contain control characters."
                    )));
                }
            }
        }
        Ok(NamePatch {
            first_name,
            middle_name,
            last_name,
        })
    }

    pub fn apply(self, name: &mut Name) {
        if let Some(first_name) = self.first_name {
            name.first_name = first_name;
        }
        if let Some(middle_name) = self.middle_name {
            name.middle_name = middle_name;
        }
        if let Some(last_name) = self.last_name {
            name.last_name = last_name;
        }
    }
}

/// The largest metadata object accepted, serialised, in bytes.
pub const MAX_METADATA_BYTES: usize = 4096;

/// Checks that a metadata value is a JSON object within the size limit.
pub fn parse_metadata(field: &str, value: Value) -> Result<Map<String, Value>, InputError> {
    let Value::Object(map) = value else {
        return Err(InputError::InvalidMetadata(format!(
            "{field} must be a JSON object."
        )));
    };
    let size = serde_json::to_vec(&map)
        .map(|bytes| bytes.len())
        .unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(InputError::InvalidMetadata(format!(
            "{field} must be at most {MAX_METADATA_BYTES} bytes when serialised."
        )));
    }
    Ok(map)
}

/// Stytch's metadata update: each top-level key given replaces the stored one, and a key given
/// as `null` is removed. Keys not given are kept.
pub fn merge_metadata(
    field: &str,
    stored: &mut Map<String, Value>,
    patch: Map<String, Value>,
) -> Result<(), InputError> {
    for (key, value) in patch {
        if value.is_null() {
            stored.remove(&key);
        } else {
            stored.insert(key, value);
        }
    }
    let size = serde_json::to_vec(&*stored)
        .map(|bytes| bytes.len())
        .unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(InputError::InvalidMetadata(format!(
            "{field} must be at most {MAX_METADATA_BYTES} bytes when serialised."
        )));
    }
    Ok(())
}

/// Explicitly assigned RBAC role ids: each 1 to 128 printable ASCII characters, no duplicates.
pub fn parse_roles(roles: Vec<String>) -> Result<Vec<String>, InputError> {
    if roles.len() > 100 {
        return Err(InputError::InvalidRoles(
            "A user may be assigned at most 100 roles.".to_owned(),
        ));
    }
    let mut parsed: Vec<String> = Vec::with_capacity(roles.len());
    for role in roles {
        let valid =
            !role.is_empty() && role.len() <= 128 && role.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(InputError::InvalidRoles(
                "Each role must be 1 to 128 printable ASCII characters without spaces.".to_owned(),
            ));
        }
        if !parsed.contains(&role) {
            parsed.push(role);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Ada.Lovelace@Example.COM ").map(|e| e.as_str().to_owned()),
            Ok("ada.lovelace@example.com".to_owned())
        );
        assert!(Email::parse("first+tag@sub.example.co.uk").is_ok());
    }

    fn normal(raw: &str) -> Result<String, InputError> {
        Email::parse(raw).map(|email| email.as_str().to_owned())
    }

    #[test]
    fn an_international_domain_is_one_address_in_every_spelling() {
        let ascii = Ok("owner@xn--bcher-kva.example".to_owned());
        for spelling in [
            "owner@bücher.example",
            "Owner@BÜCHER.example",
            "OWNER@XN--BCHER-KVA.EXAMPLE",
            // Fullwidth letters and a decomposed ü (u and a combining diaeresis) map to the same.
            "owner@ｂüｃｈｅｒ.example",
            "owner@bu\u{308}cher.example",
        ] {
            assert_eq!(normal(spelling), ascii, "{spelling:?}");
        }
        assert_eq!(
            normal("victim@ＥＸＡＭＰＬＥ.com"),
            Ok("victim@example.com".to_owned())
        );
    }

    #[test]
    fn a_look_alike_domain_is_another_domain_shown_in_ascii() {
        // A Cyrillic а (U+0430) in place of the Latin a: a different domain, kept as `xn--`.
        let imitation = normal("victim@ex\u{430}mple.com").unwrap();
        assert_ne!(imitation, "victim@example.com");
        assert!(imitation.is_ascii(), "{imitation}");
        assert!(
            imitation.ends_with(".com") && imitation.contains("@xn--"),
            "{imitation}"
        );
    }

    #[test]
    fn a_non_ascii_local_part_is_refused() {
        for imitation in [
            // Cyrillic а and Ukrainian і inside Latin letters (mixed scripts).
            "p\u{430}ypal@example.com",
            "v\u{456}ctim@example.com",
            // Wholly Cyrillic, looking like `paypal`.
            "\u{440}\u{430}\u{443}\u{440}\u{430}l@example.com",
            // Fullwidth letters.
            "ｖｉｃｔｉｍ@example.com",
            "用户@例子.广告",
        ] {
            assert_eq!(
                Email::parse(imitation),
                Err(InputError::InvalidEmail),
                "{imitation:?}"
            );
        }
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in [
            "",
            "plainaddress",
            "@example.com",
            "user@",
            "user@localhost",
            "user@[127.0.0.1]",
            "user@exa mple.com",
            "Ada <ada@example.com>",
            "user@-example.com",
            "user@example..com",
            "user@exa_mple.com",
            "user@\u{200d}example.com",
            &format!("user@{}.com", "a".repeat(250)),
        ] {
            assert_eq!(Email::parse(bad), Err(InputError::InvalidEmail), "{bad:?}");
        }
    }

    #[test]
    fn phone_numbers_must_be_valid_e164() {
        assert_eq!(
            PhoneNumber::parse("+12025550123").map(|p| p.as_str().to_owned()),
            Ok("+12025550123".to_owned())
        );
        assert!(PhoneNumber::parse("+447911123456").is_ok());
        assert!(PhoneNumber::parse(PhoneNumber::TEST_NUMBER).is_ok());
        for bad in [
            "",
            "12025550123",
            "+1",
            "+1202555012a",
            "+1 202 555 0123",
            "+19999999999",
            "+0123",
        ] {
            assert_eq!(
                PhoneNumber::parse(bad),
                Err(InputError::InvalidPhoneNumber),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn external_ids_follow_stytch_charset() {
        assert!(ExternalId::parse("crm.user_42|eu-west").is_ok());
        assert!(ExternalId::parse(&"a".repeat(128)).is_ok());
        for bad in ["", "has space", "slash/", &"a".repeat(129), "ünï"] {
            assert!(ExternalId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn metadata_merge_replaces_top_level_keys_and_null_deletes() {
        let mut stored =
            parse_metadata("m", json!({"a": 1, "b": {"x": 1}, "c": 3})).unwrap_or_default();
        let patch =
            parse_metadata("m", json!({"b": {"y": 2}, "c": null, "d": 4})).unwrap_or_default();
        assert_eq!(merge_metadata("m", &mut stored, patch), Ok(()));
        assert_eq!(
            Value::Object(stored),
            json!({"a": 1, "b": {"y": 2}, "d": 4})
        );
    }

    #[test]
    fn metadata_must_be_a_small_object() {
        assert!(parse_metadata("m", json!([1])).is_err());
        assert!(parse_metadata("m", json!("s")).is_err());
        assert!(parse_metadata("m", json!({"k": "v".repeat(MAX_METADATA_BYTES)})).is_err());
    }

    #[test]
    fn roles_are_deduplicated_and_checked() {
        assert_eq!(
            parse_roles(vec!["admin".into(), "admin".into(), "editor".into()]),
            Ok(vec!["admin".to_owned(), "editor".to_owned()])
        );
        assert!(parse_roles(vec!["".into()]).is_err());
        assert!(parse_roles(vec!["has space".into()]).is_err());
    }
}
