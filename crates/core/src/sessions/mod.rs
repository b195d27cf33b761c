//! Sessions as Stytch serves them: the Session object, its authentication factors, custom
//! claims, opaque tokens (stored only as digests) and the claims of its signed JWT.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::ids::{
    EmailId, MemberId, MemberSessionId, OrganizationId, ProjectId, SessionId, UserId,
};
use crate::InputError;

pub mod intermediate;
mod plan;
pub use plan::*;

/// `session_duration_minutes` bounds: 5 minutes to 366 days.
pub const MIN_DURATION_MINUTES: i64 = 5;
pub const MAX_DURATION_MINUTES: i64 = 527_040;
/// A session JWT lives five minutes whatever the session's own lifetime, as Stytch's do.
pub const JWT_LIFETIME_SECONDS: i64 = 300;
/// The claim that carries the session inside a JWT.
pub const SESSION_CLAIM: &str = "https://stytch.com/session";
/// The claim that carries a member session's organization inside a B2B JWT.
pub const ORGANIZATION_CLAIM: &str = "https://stytch.com/organization";
const RESERVED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];
const MAX_CUSTOM_CLAIMS_BYTES: usize = 4096;

/// Stytch's AuthenticationFactor object: how a session was authenticated. Only the part that
/// names the factor's subject is present.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactorObject {
    /// `password`, `totp`, `recovery_codes`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// `knowledge`, `authenticator_app`, `recovery_code`, …
    pub delivery_method: String,
    pub last_authenticated_at: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_factor: Option<EmailFactor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticator_app_factor: Option<AuthenticatorAppFactor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_code_factor: Option<RecoveryCodeFactor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_factor: Option<PhoneNumberFactor>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneNumberFactor {
    pub phone_id: String,
    pub phone_number: String,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailFactor {
    pub email_id: String,
    pub email_address: String,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthenticatorAppFactor {
    pub totp_id: String,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodeFactor {
    pub totp_recovery_code_id: String,
}

/// Stytch's Session object.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionObject {
    pub session_id: String,
    pub user_id: String,
    pub started_at: String,
    pub last_accessed_at: String,
    pub expires_at: String,
    pub attributes: SessionAttributes,
    pub authentication_factors: Vec<FactorObject>,
    pub custom_claims: Map<String, Value>,
    /// `stytch_user` first, then the user's roles.
    pub roles: Vec<String>,
}

/// Where a session was started from; Latchkey records neither, so both are `""`.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionAttributes {
    pub ip_address: String,
    pub user_agent: String,
}

/// One factor that authenticated a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticationFactor {
    /// `password`, `totp`, …
    pub kind: String,
    /// `knowledge`, `authenticator_app`, …
    pub delivery_method: String,
    pub last_authenticated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub email: Option<(EmailId, String)>,
    /// The TOTP registration of an `authenticator_app` or `recovery_code` factor.
    pub totp_id: Option<String>,
    /// The phone (id and number) of an SMS or WhatsApp passcode.
    pub phone: Option<(String, String)>,
}

impl AuthenticationFactor {
    pub fn password(email_id: EmailId, email: String, now: DateTime<Utc>) -> AuthenticationFactor {
        AuthenticationFactor {
            kind: "password".to_owned(),
            delivery_method: "knowledge".to_owned(),
            last_authenticated_at: now,
            created_at: now,
            updated_at: now,
            email: Some((email_id, email)),
            totp_id: None,
            phone: None,
        }
    }

    /// An email magic link (or an email passcode: `kind` `otp`) sent to `email`.
    pub fn by_email(
        kind: &str,
        email_id: EmailId,
        email: String,
        now: DateTime<Utc>,
    ) -> AuthenticationFactor {
        AuthenticationFactor {
            kind: kind.to_owned(),
            delivery_method: "email".to_owned(),
            last_authenticated_at: now,
            created_at: now,
            updated_at: now,
            email: Some((email_id, email)),
            totp_id: None,
            phone: None,
        }
    }

    /// An embeddable magic link: Stytch's `magic_link` factor delivered `embedded`.
    pub fn embedded_magic_link(now: DateTime<Utc>) -> AuthenticationFactor {
        AuthenticationFactor {
            kind: "magic_link".to_owned(),
            delivery_method: "embedded".to_owned(),
            last_authenticated_at: now,
            created_at: now,
            updated_at: now,
            email: None,
            totp_id: None,
            phone: None,
        }
    }

    /// A passcode by `delivery_method` (`sms` or `whatsapp`) to the phone `phone_id`.
    pub fn phone_otp(
        delivery_method: &str,
        phone_id: String,
        phone_number: String,
        now: DateTime<Utc>,
    ) -> AuthenticationFactor {
        AuthenticationFactor {
            kind: "otp".to_owned(),
            delivery_method: delivery_method.to_owned(),
            last_authenticated_at: now,
            created_at: now,
            updated_at: now,
            email: None,
            totp_id: None,
            phone: Some((phone_id, phone_number)),
        }
    }

    /// A code from the authenticator app of TOTP registration `totp_id`.
    pub fn totp(totp_id: String, now: DateTime<Utc>) -> AuthenticationFactor {
        AuthenticationFactor {
            kind: "totp".to_owned(),
            delivery_method: "authenticator_app".to_owned(),
            last_authenticated_at: now,
            created_at: now,
            updated_at: now,
            email: None,
            totp_id: Some(totp_id),
            phone: None,
        }
    }

    /// A recovery code of TOTP registration `totp_id`.
    pub fn recovery_code(totp_id: String, now: DateTime<Utc>) -> AuthenticationFactor {
        AuthenticationFactor {
            kind: "recovery_codes".to_owned(),
            delivery_method: "recovery_code".to_owned(),
            last_authenticated_at: now,
            created_at: now,
            updated_at: now,
            email: None,
            totp_id: Some(totp_id),
            phone: None,
        }
    }

    /// Stytch's AuthenticationFactor object.
    pub fn to_object(&self) -> FactorObject {
        let totp = |recovery: bool| {
            self.totp_id
                .as_ref()
                .filter(|_| (self.kind == "recovery_codes") == recovery)
        };
        FactorObject {
            kind: self.kind.clone(),
            delivery_method: self.delivery_method.clone(),
            last_authenticated_at: rfc3339(self.last_authenticated_at),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
            email_factor: self.email.as_ref().map(|(email_id, email)| EmailFactor {
                email_id: email_id.as_str().to_owned(),
                email_address: email.clone(),
            }),
            authenticator_app_factor: totp(false).map(|totp_id| AuthenticatorAppFactor {
                totp_id: totp_id.clone(),
            }),
            recovery_code_factor: totp(true).map(|totp_id| RecoveryCodeFactor {
                totp_recovery_code_id: totp_id.clone(),
            }),
            phone_number_factor: self.phone.as_ref().map(|(phone_id, phone_number)| {
                PhoneNumberFactor {
                    phone_id: phone_id.clone(),
                    phone_number: phone_number.clone(),
                }
            }),
        }
    }

    /// [`AuthenticationFactor::to_object`] as JSON: the form stored in the database.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.to_object()).unwrap_or(Value::Null)
    }

    /// Reads back what [`AuthenticationFactor::to_json`] wrote (the form stored in the database).
    pub fn from_json(value: &Value) -> Option<AuthenticationFactor> {
        let time = |key: &str| {
            value[key]
                .as_str()
                .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                .map(|time| time.with_timezone(&Utc))
        };
        let email = match &value["email_factor"] {
            Value::Object(fields) => Some((
                EmailId::from_trusted(fields.get("email_id")?.as_str()?.to_owned()),
                fields.get("email_address")?.as_str()?.to_owned(),
            )),
            _ => None,
        };
        let totp_id = value["authenticator_app_factor"]["totp_id"]
            .as_str()
            .or_else(|| value["recovery_code_factor"]["totp_recovery_code_id"].as_str())
            .map(str::to_owned);
        let phone = match &value["phone_number_factor"] {
            Value::Object(fields) => Some((
                fields.get("phone_id")?.as_str()?.to_owned(),
                fields.get("phone_number")?.as_str()?.to_owned(),
            )),
            _ => None,
        };
        Some(AuthenticationFactor {
            kind: value["type"].as_str()?.to_owned(),
            delivery_method: value["delivery_method"].as_str()?.to_owned(),
            last_authenticated_at: time("last_authenticated_at")?,
            created_at: time("created_at")?,
            updated_at: time("updated_at")?,
            email,
            totp_id,
            phone,
        })
    }

    /// Two factors are "the same" (one replaces the other on re-authentication) when their type,
    /// delivery method and subject agree.
    pub fn same_as(&self, other: &AuthenticationFactor) -> bool {
        self.kind == other.kind
            && self.delivery_method == other.delivery_method
            && self.email == other.email
            && self.totp_id == other.totp_id
            && self.phone == other.phone
    }
}

/// A session. Its token is never part of it: only the digest is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub started_at: DateTime<Utc>,
    pub last_accessed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub authentication_factors: Vec<AuthenticationFactor>,
    pub custom_claims: Map<String, Value>,
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Session {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }

    /// Adds `factor`, replacing an earlier factor of the same kind and subject.
    pub fn record_factor(&mut self, factor: AuthenticationFactor) {
        record_factor(&mut self.authentication_factors, factor);
    }

    /// The Session object. `roles` are the user's, which Stytch reports with `stytch_user`.
    pub fn to_object(&self, roles: &[String]) -> SessionObject {
        SessionObject {
            session_id: self.session_id.as_str().to_owned(),
            user_id: self.user_id.as_str().to_owned(),
            started_at: rfc3339(self.started_at),
            last_accessed_at: rfc3339(self.last_accessed_at),
            expires_at: rfc3339(self.expires_at),
            attributes: SessionAttributes::default(),
            authentication_factors: self
                .authentication_factors
                .iter()
                .map(AuthenticationFactor::to_object)
                .collect(),
            custom_claims: self.custom_claims.clone(),
            roles: session_roles(roles),
        }
    }

    pub fn factors_json(&self) -> Vec<Value> {
        self.authentication_factors
            .iter()
            .map(AuthenticationFactor::to_json)
            .collect()
    }

    /// The claims of a session JWT issued at `now`: registered claims, the session claim, then
    /// the custom claims at top level.
    pub fn jwt_claims(
        &self,
        project_id: &ProjectId,
        roles: &[String],
        now: DateTime<Utc>,
    ) -> Value {
        let mut claims =
            registered_claims(&self.custom_claims, self.user_id.as_str(), project_id, now);
        claims.insert(
            SESSION_CLAIM.to_owned(),
            json!({
                "id": self.session_id,
                "started_at": rfc3339(self.started_at),
                "last_accessed_at": rfc3339(self.last_accessed_at),
                "expires_at": rfc3339(self.expires_at),
                "attributes": {"ip_address": "", "user_agent": ""},
                "authentication_factors": self.factors_json(),
                "roles": session_roles(roles),
            }),
        );
        Value::Object(claims)
    }
}

/// Adds `factor` to `factors`, replacing an earlier factor of the same kind and subject.
fn record_factor(factors: &mut Vec<AuthenticationFactor>, factor: AuthenticationFactor) {
    match factors
        .iter_mut()
        .find(|existing| existing.same_as(&factor))
    {
        Some(existing) => {
            existing.last_authenticated_at = factor.last_authenticated_at;
            existing.updated_at = factor.updated_at;
        }
        None => factors.push(factor),
    }
}

/// The registered claims of a JWT about `subject`, issued at `now`, over the custom claims.
fn registered_claims(
    custom_claims: &Map<String, Value>,
    subject: &str,
    project_id: &ProjectId,
    now: DateTime<Utc>,
) -> Map<String, Value> {
    let mut claims = custom_claims.clone();
    let issued = now.timestamp();
    claims.insert("sub".to_owned(), json!(subject));
    claims.insert("iss".to_owned(), json!(issuer(project_id)));
    claims.insert("aud".to_owned(), json!([project_id]));
    claims.insert("iat".to_owned(), json!(issued));
    claims.insert("nbf".to_owned(), json!(issued));
    claims.insert("exp".to_owned(), json!(issued + JWT_LIFETIME_SECONDS));
    claims
}

/// Stytch's MemberSession object.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberSessionObject {
    pub member_session_id: String,
    pub member_id: String,
    pub organization_id: String,
    pub organization_slug: String,
    pub started_at: String,
    pub last_accessed_at: String,
    pub expires_at: String,
    pub authentication_factors: Vec<FactorObject>,
    pub custom_claims: Map<String, Value>,
    /// `stytch_member` first, then the member's other roles.
    pub roles: Vec<String>,
}

/// A B2B member session: like a [`Session`], of a member in its organization. Its id has its
/// own prefix, so a consumer session never passes for a member session, nor the reverse.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberSession {
    pub member_session_id: MemberSessionId,
    pub member_id: MemberId,
    pub organization_id: OrganizationId,
    pub started_at: DateTime<Utc>,
    pub last_accessed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub authentication_factors: Vec<AuthenticationFactor>,
    pub custom_claims: Map<String, Value>,
}

impl MemberSession {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }

    pub fn record_factor(&mut self, factor: AuthenticationFactor) {
        record_factor(&mut self.authentication_factors, factor);
    }

    pub fn factors_json(&self) -> Vec<Value> {
        self.authentication_factors
            .iter()
            .map(AuthenticationFactor::to_json)
            .collect()
    }

    /// The MemberSession object; `roles` are all the member's roles, `slug` its organization's.
    pub fn to_object(&self, roles: &[String], slug: &str) -> MemberSessionObject {
        MemberSessionObject {
            member_session_id: self.member_session_id.as_str().to_owned(),
            member_id: self.member_id.as_str().to_owned(),
            organization_id: self.organization_id.as_str().to_owned(),
            organization_slug: slug.to_owned(),
            started_at: rfc3339(self.started_at),
            last_accessed_at: rfc3339(self.last_accessed_at),
            expires_at: rfc3339(self.expires_at),
            authentication_factors: self
                .authentication_factors
                .iter()
                .map(AuthenticationFactor::to_object)
                .collect(),
            custom_claims: self.custom_claims.clone(),
            roles: roles.to_vec(),
        }
    }

    /// The claims of a member session JWT issued at `now`, as Stytch's B2B JWTs carry them.
    pub fn jwt_claims(
        &self,
        project_id: &ProjectId,
        roles: &[String],
        slug: &str,
        now: DateTime<Utc>,
    ) -> Value {
        let mut claims = registered_claims(
            &self.custom_claims,
            self.member_id.as_str(),
            project_id,
            now,
        );
        claims.insert(
            SESSION_CLAIM.to_owned(),
            json!({
                "id": self.member_session_id,
                "started_at": rfc3339(self.started_at),
                "last_accessed_at": rfc3339(self.last_accessed_at),
                "expires_at": rfc3339(self.expires_at),
                "attributes": {"ip_address": "", "user_agent": ""},
                "authentication_factors": self.factors_json(),
                "roles": roles,
            }),
        );
        claims.insert(
            ORGANIZATION_CLAIM.to_owned(),
            json!({"organization_id": self.organization_id, "slug": slug}),
        );
        Value::Object(claims)
    }
}

/// The issuer Stytch writes and the official SDKs accept: `stytch.com/<project_id>`.
pub fn issuer(project_id: &ProjectId) -> String {
    format!("stytch.com/{project_id}")
}

fn session_roles(roles: &[String]) -> Vec<String> {
    let mut all = vec!["stytch_user".to_owned()];
    all.extend(
        roles
            .iter()
            .filter(|role| role.as_str() != "stytch_user")
            .cloned(),
    );
    all
}

/// `session_duration_minutes`: absent means "no new session".
pub fn parse_duration(minutes: Option<i64>) -> Result<Option<Duration>, InputError> {
    match minutes {
        None => Ok(None),
        Some(minutes) if (MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&minutes) => {
            Ok(Some(Duration::minutes(minutes)))
        }
        Some(_) => Err(InputError::Named {
            error_type: "invalid_session_duration_minutes",
            message: format!(
                "session_duration_minutes must be between {MIN_DURATION_MINUTES} and {MAX_DURATION_MINUTES}."
            ),
        }),
    }
}

/// Applies `session_custom_claims` to `current`: top-level keys replace, `null` deletes, the
/// registered JWT claims are ignored (as Stytch documents) and `https://stytch.com/…` claims are
/// refused. The result must fit in 4 KiB of JSON.
pub fn merge_custom_claims(
    current: &mut Map<String, Value>,
    patch: Value,
) -> Result<(), InputError> {
    let patch = match patch {
        Value::Null => return Ok(()),
        Value::Object(patch) => patch,
        _ => {
            return Err(InputError::BadRequest(
                "session_custom_claims must be an object.".to_owned(),
            ));
        }
    };
    for (key, value) in patch {
        if RESERVED_CLAIMS.contains(&key.as_str()) {
            continue;
        }
        if key.starts_with("https://stytch.com/") {
            return Err(InputError::Named {
                error_type: "stytch_claims_in_custom_claims",
                message: "Custom claims may not use the https://stytch.com/ namespace.".to_owned(),
            });
        }
        if value.is_null() {
            current.remove(&key);
        } else {
            current.insert(key, value);
        }
    }
    if serde_json::to_string(current).map_or(0, |text| text.len()) > MAX_CUSTOM_CLAIMS_BYTES {
        return Err(InputError::Named {
            error_type: "custom_claims_too_large",
            message: "Custom claims may not exceed 4 KiB.".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration(None).unwrap(), None);
        assert_eq!(parse_duration(Some(5)).unwrap(), Some(Duration::minutes(5)));
        assert!(parse_duration(Some(4)).is_err());
        assert!(parse_duration(Some(527_041)).is_err());
    }

    #[test]
    fn custom_claims_merge() {
        let mut claims = Map::new();
        merge_custom_claims(&mut claims, json!({"a": 1, "b": {"c": 2}, "sub": "evil"})).unwrap();
        assert_eq!(
            Value::Object(claims.clone()),
            json!({"a": 1, "b": {"c": 2}})
        );
        merge_custom_claims(&mut claims, json!({"a": null, "d": true})).unwrap();
        assert_eq!(
            Value::Object(claims.clone()),
            json!({"b": {"c": 2}, "d": true})
        );
        assert!(merge_custom_claims(&mut claims, json!({"https://stytch.com/x": 1})).is_err());
        assert!(merge_custom_claims(&mut claims, json!({"big": "x".repeat(5000)})).is_err());
        assert!(merge_custom_claims(&mut claims, json!([1])).is_err());
    }

    #[test]
    fn factors_round_trip() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let factor = AuthenticationFactor::password(
            EmailId::from_trusted("email-test-x".into()),
            "a@b.co".into(),
            now,
        );
        assert_eq!(
            AuthenticationFactor::from_json(&factor.to_json()),
            Some(factor)
        );
    }
}
