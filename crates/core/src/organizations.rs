//! B2B organizations: the Organization record, its slug, and the policy settings Stytch exposes
//! (JIT provisioning, invites, auth and MFA methods, connected apps), each checked against the
//! values Stytch documents.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::ids::OrganizationId;
use crate::values::Email;
use crate::InputError;

/// An organization's slug: 2 to 128 of lower-case letters, digits and `-._~`, unique per
/// project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationSlug(String);

impl OrganizationSlug {
    pub fn parse(raw: &str) -> Result<OrganizationSlug, InputError> {
        let valid = (2..=128).contains(&raw.len())
            && raw.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'-' | b'.' | b'_' | b'~')
            });
        if valid {
            Ok(OrganizationSlug(raw.to_owned()))
        } else {
            Err(InputError::Named {
                error_type: "invalid_organization_slug",
                message: "organization_slug must be 2 to 128 characters of lower-case letters, \
                          digits, '-', '.', '_' or '~'."
                    .to_owned(),
            })
        }
    }

    pub fn from_trusted(value: String) -> OrganizationSlug {
        OrganizationSlug(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A slug made from a name, for an organization created without one: lower-cased, runs of
    /// other characters turned into `-`.
    pub fn from_name(name: &str) -> Option<OrganizationSlug> {
        let mut slug = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        let slug: String = slug.chars().take(128).collect();
        OrganizationSlug::parse(&slug).ok()
    }
}

/// The kind of value one setting takes.
pub enum Setting {
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A list of strings, each among these (or any non-empty string when `None`).
    ListOf(Option<&'static [&'static str]>),
}

const ALLOWED_RESTRICTED_NOT: &[&str] = &["ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED"];
const AUTH_METHODS: &[&str] = &[
    "sso",
    "magic_link",
    "email_otp",
    "password",
    "google_oauth",
    "microsoft_oauth",
    "slack_oauth",
    "github_oauth",
    "hubspot_oauth",
];

/// Every setting: its name, kind, Stytch's default and the error type of a bad value.
const SETTINGS: &[(&str, Setting, &str, &str)] = &[
    (
        "sso_jit_provisioning",
        Setting::OneOf(ALLOWED_RESTRICTED_NOT),
        "ALL_ALLOWED",
        "invalid_organization_auth_factor_setting",
    ),
    (
        "sso_jit_provisioning_allowed_connections",
        Setting::ListOf(None),
        "",
        "invalid_organization_auth_factor_setting",
    ),
    (
        "email_allowed_domains",
        Setting::ListOf(None),
        "",
        "organization_settings_invalid_domain",
    ),
    (
        "email_jit_provisioning",
        Setting::OneOf(&["RESTRICTED", "NOT_ALLOWED"]),
        "NOT_ALLOWED",
        "invalid_organization_auth_factor_setting_for_email_jit_provisioning",
    ),
    (
        "email_invites",
        Setting::OneOf(ALLOWED_RESTRICTED_NOT),
        "ALL_ALLOWED",
        "invalid_organization_auth_factor_setting",
    ),
    (
        "auth_methods",
        Setting::OneOf(&["ALL_ALLOWED", "RESTRICTED"]),
        "ALL_ALLOWED",
        "invalid_organization_auth_method_settings",
    ),
    (
        "allowed_auth_methods",
        Setting::ListOf(Some(AUTH_METHODS)),
        "",
        "invalid_organization_allowed_auth_methods",
    ),
    (
        "mfa_policy",
        Setting::OneOf(&["REQUIRED_FOR_ALL", "OPTIONAL"]),
        "OPTIONAL",
        "invalid_organization_mfa_policy",
    ),
    (
        "mfa_methods",
        Setting::OneOf(&["ALL_ALLOWED", "RESTRICTED"]),
        "ALL_ALLOWED",
        "invalid_organization_mfa_factor_setting",
    ),
    (
        "allowed_mfa_methods",
        Setting::ListOf(Some(&["sms_otp", "totp"])),
        "",
        "invalid_organization_allowed_mfa_methods",
    ),
    (
        "oauth_tenant_jit_provisioning",
        Setting::OneOf(&["RESTRICTED", "NOT_ALLOWED"]),
        "NOT_ALLOWED",
        "invalid_organization_auth_factor_setting_for_oauth_tenant_jit_provisioning",
    ),
    (
        "claimed_email_domains",
        Setting::ListOf(None),
        "",
        "organization_settings_invalid_claimed_domain",
    ),
    (
        "first_party_connected_apps_allowed_type",
        Setting::OneOf(ALLOWED_RESTRICTED_NOT),
        "ALL_ALLOWED",
        "bad_request",
    ),
    (
        "allowed_first_party_connected_apps",
        Setting::ListOf(None),
        "",
        "bad_request",
    ),
    (
        "third_party_connected_apps_allowed_type",
        Setting::OneOf(ALLOWED_RESTRICTED_NOT),
        "ALL_ALLOWED",
        "bad_request",
    ),
    (
        "allowed_third_party_connected_apps",
        Setting::ListOf(None),
        "",
        "bad_request",
    ),
];

/// Each setting's name, the values it takes and Stytch's default (`""` for a list, which
/// defaults to empty): what the API documentation describes.
pub fn settings() -> impl Iterator<Item = (&'static str, &'static Setting, &'static str)> {
    SETTINGS
        .iter()
        .map(|(name, kind, default, _)| (*name, kind, *default))
}

/// Applies the settings present in `request` (a create or update body) to `stored`, checking
/// each. Fields that are not settings are ignored; `null` leaves a setting as it is.
pub fn apply_settings(
    stored: &mut Map<String, Value>,
    request: &Map<String, Value>,
) -> Result<(), InputError> {
    for (name, kind, _, error_type) in SETTINGS {
        let Some(value) = request.get(*name) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        let invalid = |what: String| InputError::Named {
            error_type,
            message: format!("{name} {what}"),
        };
        let checked = match kind {
            Setting::OneOf(allowed) => match value.as_str() {
                Some(text) if allowed.contains(&text) => Value::String(text.to_owned()),
                _ => return Err(invalid(format!("must be one of {}.", allowed.join(", ")))),
            },
            Setting::ListOf(allowed) => {
                let items = value
                    .as_array()
                    .ok_or_else(|| invalid("must be a list of strings.".to_owned()))?;
                if items.len() > 100 {
                    return Err(invalid("may hold at most 100 values.".to_owned()));
                }
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    let text = item.as_str().filter(|t| !t.is_empty() && t.len() <= 256);
                    match (text, allowed) {
                        (Some(text), Some(allowed)) if allowed.contains(&text) => {
                            list.push(json!(text))
                        }
                        (Some(text), None) => list.push(json!(text.to_ascii_lowercase())),
                        _ => {
                            return Err(invalid(match allowed {
                                Some(allowed) => format!("may only hold {}.", allowed.join(", ")),
                                None => "must hold non-empty strings of at most 256 characters."
                                    .to_owned(),
                            }))
                        }
                    }
                }
                Value::Array(list)
            }
        };
        stored.insert((*name).to_owned(), checked);
    }
    Ok(())
}

/// The settings of a new organization from its create body: those given, checked, and
/// `email_invites` as Stytch defaults it at creation. Given no setting, the organization can
/// invite anyone (`ALL_ALLOWED`, the table's default); given some setting but not
/// `email_invites`, it is `NOT_ALLOWED` ("If some authentication parameters are passed but
/// `email_invites` is omitted, it defaults to `NOT_ALLOWED`", Stytch's Create Organization).
/// Every setting of the table counts; a `null` is not given.
pub fn creation_settings(request: &Map<String, Value>) -> Result<Map<String, Value>, InputError> {
    let mut stored = Map::new();
    apply_settings(&mut stored, request)?;
    if !stored.is_empty() && !stored.contains_key(EMAIL_INVITES) {
        stored.insert(EMAIL_INVITES.to_owned(), json!("NOT_ALLOWED"));
    }
    Ok(stored)
}

const EMAIL_INVITES: &str = "email_invites";

/// Every setting, stored or default, for the Organization object.
pub fn settings_json(stored: &Map<String, Value>) -> Map<String, Value> {
    let mut all = Map::new();
    for (name, kind, default, _) in SETTINGS {
        let value = stored.get(*name).cloned().unwrap_or_else(|| match kind {
            Setting::OneOf(_) => json!(default),
            Setting::ListOf(_) => json!([]),
        });
        all.insert((*name).to_owned(), value);
    }
    all
}

/// An organization as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Organization {
    pub organization_id: OrganizationId,
    pub name: String,
    pub slug: OrganizationSlug,
    pub logo_url: String,
    pub external_id: Option<String>,
    pub trusted_metadata: Map<String, Value>,
    pub settings: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why an organization refuses to make a member of an email on its first login (JIT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitRefusal {
    /// `email_jit_provisioning` is `NOT_ALLOWED`.
    NotAllowed,
    /// The email's domain is not among `email_allowed_domains`.
    DomainNotAllowed,
}

/// Why an organization refuses an invite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteRefusal {
    /// `email_invites` is `NOT_ALLOWED`.
    NotAllowed,
    /// `email_invites` is `RESTRICTED` and the email's domain is not allowed.
    DomainNotAllowed,
}

impl Organization {
    fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).and_then(Value::as_str)
    }

    fn list(&self, name: &str) -> Vec<&str> {
        self.settings
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether the organization demands MFA of a member: its `mfa_policy` is
    /// `REQUIRED_FOR_ALL`, or the member enrolled (`mfa_enrolled`).
    pub fn requires_mfa(&self, member_enrolled: bool) -> bool {
        member_enrolled || self.setting("mfa_policy") == Some("REQUIRED_FOR_ALL")
    }

    /// Whether members may log in with `method` (`magic_link`, `email_otp`, `password`, …):
    /// always, unless `auth_methods` is `RESTRICTED` to `allowed_auth_methods` without it.
    pub fn allows_auth_method(&self, method: &str) -> bool {
        self.setting("auth_methods") != Some("RESTRICTED")
            || self.list("allowed_auth_methods").contains(&method)
    }

    /// Whether `auth_methods` is `RESTRICTED` (to `allowed_auth_methods`).
    pub fn restricts_auth_methods(&self) -> bool {
        self.setting("auth_methods") == Some("RESTRICTED")
    }

    /// Whether an MFA method (`sms_otp`, `totp`) may complete MFA: always, unless
    /// `mfa_methods` is `RESTRICTED` to `allowed_mfa_methods` without it.
    pub fn allows_mfa_method(&self, method: &str) -> bool {
        self.setting("mfa_methods") != Some("RESTRICTED")
            || self.list("allowed_mfa_methods").contains(&method)
    }

    fn domain_allowed(&self, email: &Email) -> bool {
        let domain = email.domain();
        self.list("email_allowed_domains")
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(domain))
    }

    /// Whether a first login by `email` may make a member (JIT provisioning by email
    /// domain): only with `email_jit_provisioning: RESTRICTED` and the domain among
    /// `email_allowed_domains`.
    pub fn jit_by_email(&self, email: &Email) -> Result<(), JitRefusal> {
        if self.setting("email_jit_provisioning") != Some("RESTRICTED") {
            return Err(JitRefusal::NotAllowed);
        }
        if !self.domain_allowed(email) {
            return Err(JitRefusal::DomainNotAllowed);
        }
        Ok(())
    }

    /// Whether `email` may be invited: `email_invites` `ALL_ALLOWED` (the default), or
    /// `RESTRICTED` to `email_allowed_domains`.
    pub fn invites(&self, email: &Email) -> Result<(), InviteRefusal> {
        match self.setting("email_invites") {
            Some("NOT_ALLOWED") => Err(InviteRefusal::NotAllowed),
            Some("RESTRICTED") if !self.domain_allowed(email) => {
                Err(InviteRefusal::DomainNotAllowed)
            }
            _ => Ok(()),
        }
    }
}

/// `organization_name`: 1 to 128 characters, no control characters.
pub fn parse_organization_name(raw: &str) -> Result<String, InputError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(InputError::Named {
            error_type: "organization_name_missing",
            message: "organization_name is required.".to_owned(),
        });
    }
    if name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(InputError::Named {
            error_type: "invalid_organization_name",
            message:
                "organization_name must be at most 128 characters, without control characters."
                    .to_owned(),
        });
    }
    Ok(name.to_owned())
}

/// `organization_logo_url`: empty, or an http(s) URL of at most 2048 characters.
pub fn parse_logo_url(raw: &str) -> Result<String, InputError> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    if raw.len() > 2048 {
        return Err(InputError::Named {
            error_type: "organization_logo_url_too_long",
            message: "organization_logo_url must be at most 2048 characters.".to_owned(),
        });
    }
    if !(raw.starts_with("https://") || raw.starts_with("http://"))
        || raw.chars().any(char::is_whitespace)
    {
        return Err(InputError::Named {
            error_type: "invalid_url",
            message: "organization_logo_url must be an http or https URL.".to_owned(),
        });
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn organization(settings: Value) -> Organization {
        Organization {
            organization_id: OrganizationId::generate(crate::ids::Environment::Test),
            name: "Acme".into(),
            slug: OrganizationSlug::from_trusted("acme".into()),
            logo_url: String::new(),
            external_id: None,
            trusted_metadata: Map::new(),
            settings: settings.as_object().cloned().unwrap_or_default(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn policy_is_read_from_the_settings() {
        let ada = Email::parse("ada@acme.example").unwrap();
        let open = organization(json!({}));
        assert!(open.allows_auth_method("magic_link") && open.allows_mfa_method("totp"));
        assert_eq!(open.jit_by_email(&ada), Err(JitRefusal::NotAllowed));
        assert_eq!(open.invites(&ada), Ok(()));
        assert!(!open.requires_mfa(false) && open.requires_mfa(true));
        let strict = organization(json!({
            "auth_methods": "RESTRICTED", "allowed_auth_methods": ["password"],
            "mfa_methods": "RESTRICTED", "allowed_mfa_methods": ["sms_otp"],
            "email_jit_provisioning": "RESTRICTED", "email_allowed_domains": ["ACME.example"],
            "email_invites": "RESTRICTED", "mfa_policy": "REQUIRED_FOR_ALL",
        }));
        assert!(!strict.allows_auth_method("magic_link") && strict.allows_auth_method("password"));
        assert!(!strict.allows_mfa_method("totp") && strict.allows_mfa_method("sms_otp"));
        assert_eq!(strict.jit_by_email(&ada), Ok(()));
        let other = Email::parse("eve@evil.example").unwrap();
        assert_eq!(
            strict.jit_by_email(&other),
            Err(JitRefusal::DomainNotAllowed)
        );
        assert_eq!(strict.invites(&other), Err(InviteRefusal::DomainNotAllowed));
        assert!(strict.requires_mfa(false));
        let closed = organization(json!({"email_invites": "NOT_ALLOWED"}));
        assert_eq!(closed.invites(&ada), Err(InviteRefusal::NotAllowed));
    }

    #[test]
    fn slugs_are_checked_and_derived_from_names() {
        assert!(OrganizationSlug::parse("acme-inc").is_ok());
        for bad in ["a", "Acme", "acme inc", "acme/inc", ""] {
            assert!(OrganizationSlug::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            OrganizationSlug::from_name("Acme, Inc.").unwrap().as_str(),
            "acme-inc"
        );
        assert!(OrganizationSlug::from_name("!!").is_none());
    }

    #[test]
    fn email_invites_defaults_to_not_allowed_beside_other_settings_at_creation() {
        let given = |body: Value| {
            settings_json(&creation_settings(body.as_object().unwrap()).unwrap())["email_invites"]
                .clone()
        };
        assert_eq!(given(json!({"organization_name": "x"})), "ALL_ALLOWED");
        assert_eq!(given(json!({"mfa_policy": null})), "ALL_ALLOWED");
        assert_eq!(given(json!({"mfa_policy": "OPTIONAL"})), "NOT_ALLOWED");
        assert_eq!(
            given(json!({"email_allowed_domains": ["acme.com"]})),
            "NOT_ALLOWED"
        );
        assert_eq!(
            given(json!({"mfa_policy": "OPTIONAL", "email_invites": "RESTRICTED"})),
            "RESTRICTED"
        );
        assert_eq!(
            given(json!({"email_invites": "ALL_ALLOWED"})),
            "ALL_ALLOWED"
        );
    }

    #[test]
    fn settings_are_checked_and_defaulted() {
        let mut stored = Map::new();
        let request = json!({"mfa_policy": "REQUIRED_FOR_ALL", "allowed_mfa_methods": ["totp"],
                             "email_allowed_domains": ["Acme.com"], "organization_name": "x"});
        apply_settings(&mut stored, request.as_object().unwrap()).unwrap();
        let all = settings_json(&stored);
        assert_eq!(all["mfa_policy"], "REQUIRED_FOR_ALL");
        assert_eq!(all["allowed_mfa_methods"], json!(["totp"]));
        assert_eq!(all["email_allowed_domains"], json!(["acme.com"]));
        assert_eq!(all["email_jit_provisioning"], "NOT_ALLOWED");
        assert_eq!(all["claimed_email_domains"], json!([]));
        assert!(!all.contains_key("organization_name"));
        assert_eq!(
            all["email_invites"], "ALL_ALLOWED",
            "an update defaults nothing"
        );
        for bad in [
            json!({"mfa_policy": "SOMETIMES"}),
            json!({"allowed_mfa_methods": ["carrier_pigeon"]}),
            json!({"allowed_auth_methods": "password"}),
            json!({"email_allowed_domains": [""]}),
        ] {
            assert!(
                apply_settings(&mut stored, bad.as_object().unwrap()).is_err(),
                "{bad}"
            );
        }
    }
}
