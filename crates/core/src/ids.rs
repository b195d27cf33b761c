//! Identifiers as Stytch forms them: `<kind>-<environment>-<uuid>`, e.g.
//! `user-test-6b0cbd6f-52f4-4b44-9f5e-7ed6c2a5a3b0`.
//!
//! Each kind is its own type, so a phone id can never be passed where a user id is expected.

use std::fmt;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::InputError;

/// A project's environment. Test projects mint `*-test-*` ids and live projects `*-live-*` ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Environment {
    Test,
    Live,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Test => "test",
            Environment::Live => "live",
        }
    }

    pub fn parse(value: &str) -> Option<Environment> {
        match value {
            "test" => Some(Environment::Test),
            "live" => Some(Environment::Live),
            _ => None,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new UUID for an id: version 1 (time-based), with a random node id drawn once per process.
///
/// Why not version 4, as Stytch mints: every id is a key in several B-tree indexes, and random
/// keys send each insert to its own leaf page, so a batch of new users dirties (and writes to
/// the WAL) a page per user per index. Version 1 ids minted close in time sort close together
/// (`time_low` leads the text form), so a batch lands in one or two leaves; bulk migrate went
/// from about 4,000 to 9,000 users/s on SQLite. Why not version 7, which sorts even better:
/// Stack Auth's schemas (yup's `uuid()`) accept only versions 1 to 5, and Stack's ids are these
/// UUIDs. Ids are names, not secrets: they authorize nothing, and the time they carry is the
/// object's `created_at`, which the API shows anyway.
fn fresh_uuid() -> Uuid {
    static NODE: std::sync::OnceLock<[u8; 6]> = std::sync::OnceLock::new();
    let node = NODE.get_or_init(|| {
        let mut node = [0u8; 6];
        node.copy_from_slice(&Uuid::new_v4().as_bytes()[..6]);
        // RFC 9562 §6.10: a random node id has the multicast bit set, so it can never equal
        // a real network card's address.
        node[0] |= 0x01;
        node
    });
    Uuid::now_v1(node)
}

/// Splits `<prefix>-<env>-<uuid>` and checks every part. Returns the canonical (lowercase) form.
fn parse_prefixed(prefix: &str, value: &str) -> Option<(Environment, String)> {
    let rest = value.strip_prefix(prefix)?.strip_prefix('-')?;
    let (env, uuid) = rest.split_once('-')?;
    let env = Environment::parse(env)?;
    // Only the hyphenated 36-character form, as Stytch prints it.
    if uuid.len() != 36 {
        return None;
    }
    let uuid = Uuid::try_parse(uuid).ok()?;
    Some((env, format!("{prefix}-{env}-{uuid}")))
}

macro_rules! stytch_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The kind prefix, e.g. `user` in `user-test-<uuid>`.
            pub const PREFIX: &'static str = $prefix;

            /// Mints a fresh id for a project of environment `env`.
            pub fn generate(env: Environment) -> Self {
                Self(format!("{}-{}-{}", $prefix, env, fresh_uuid()))
            }

            /// Parses an id of this kind; anything else is refused.
            pub fn parse(value: &str) -> Result<Self, InputError> {
                parse_prefixed($prefix, value)
                    .map(|(_, canonical)| Self(canonical))
                    .ok_or(InputError::InvalidId { field: $field })
            }

            /// Wraps a value read back from our own storage, which only ever holds valid ids.
            pub fn from_trusted(value: String) -> Self {
                Self(value)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            /// The environment encoded in the id.
            pub fn environment(&self) -> Environment {
                if self.0[$prefix.len() + 1..].starts_with("live-") {
                    Environment::Live
                } else {
                    Environment::Test
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

stytch_id!(
    /// A project: the unit of isolation. Every row belongs to exactly one.
    ProjectId, "project", "project_id"
);
stytch_id!(UserId, "user", "user_id");
stytch_id!(EmailId, "email", "email_id");
stytch_id!(PhoneId, "phone-number", "phone_id");
stytch_id!(
    WebAuthnRegistrationId,
    "webauthn-registration",
    "webauthn_registration_id"
);
stytch_id!(
    BiometricRegistrationId,
    "biometric-registration",
    "biometric_registration_id"
);
stytch_id!(TotpId, "totp", "totp_id");
stytch_id!(CryptoWalletId, "crypto-wallet", "crypto_wallet_id");
stytch_id!(PasswordId, "password", "password_id");
stytch_id!(SessionId, "session", "session_id");
stytch_id!(SigningKeyId, "jwk", "kid");
stytch_id!(
    /// `oauth-user-test-<uuid>`, as Stytch's user objects carry it (not the field's name).
    OAuthUserRegistrationId,
    "oauth-user",
    "oauth_user_registration_id"
);
stytch_id!(OrganizationId, "organization", "organization_id");
stytch_id!(MemberId, "member", "member_id");
stytch_id!(MemberTotpId, "member-totp", "totp_registration_id");
stytch_id!(MemberSessionId, "member-session", "member_session_id");
stytch_id!(
    /// Returned with every response, so callers can quote it when reporting a problem.
    RequestId, "request-id", "request_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_distinct_version_1_and_sort_in_minting_order() {
        let ids: Vec<UserId> = (0..10_000)
            .map(|_| UserId::generate(Environment::Test))
            .collect();
        let distinct: std::collections::HashSet<&UserId> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        let uuid = |id: &UserId| Uuid::parse_str(&id.as_str()["user-test-".len()..]).unwrap();
        for id in &ids {
            let uuid = uuid(id);
            assert_eq!(uuid.get_version_num(), 1);
            assert_eq!(
                uuid.as_bytes()[10] & 0x01,
                0x01,
                "random node ids are multicast"
            );
        }
        // `time_low` leads the text and wraps every 429 s, so a burst may cross one wrap and no
        // more: at most one descent.
        let descents = ids.windows(2).filter(|pair| pair[1] < pair[0]).count();
        assert!(descents <= 1, "{descents} descents");
    }

    #[test]
    fn generated_ids_parse_back() {
        let id = UserId::generate(Environment::Live);
        assert!(id.as_str().starts_with("user-live-"));
        assert_eq!(UserId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(id.environment(), Environment::Live);
        let phone = PhoneId::generate(Environment::Test);
        assert!(phone.as_str().starts_with("phone-number-test-"));
        assert_eq!(phone.environment(), Environment::Test);
    }

    #[test]
    fn oauth_registration_ids_have_stytchs_prefix() {
        let minted = OAuthUserRegistrationId::generate(Environment::Test);
        assert!(minted.as_str().starts_with("oauth-user-test-"), "{minted}");
        assert_eq!(OAuthUserRegistrationId::parse(minted.as_str()), Ok(minted));
        // As a real Stytch user object carries one.
        assert!(OAuthUserRegistrationId::parse(
            "oauth-user-test-99b07cf8-fe07-43a1-8334-5b005c8f3c5a"
        )
        .is_ok());
        assert!(OAuthUserRegistrationId::parse(
            "oauth-user-registration-test-99b07cf8-fe07-43a1-8334-5b005c8f3c5a"
        )
        .is_err());
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "user",
            "user-test-",
            "user-prod-6b0cbd6f-52f4-4b44-9f5e-7ed6c2a5a3b0",
            "email-test-6b0cbd6f-52f4-4b44-9f5e-7ed6c2a5a3b0",
            "user-test-6b0cbd6f52f44b449f5e7ed6c2a5a3b0",
            "user-test-6b0cbd6f-52f4-4b44-9f5e-7ed6c2a5a3bz",
            "user-test-6b0cbd6f-52f4-4b44-9f5e-7ed6c2a5a3b0x",
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn ids_are_canonicalised_to_lowercase() {
        let id = UserId::parse("user-test-6B0CBD6F-52F4-4B44-9F5E-7ED6C2A5A3B0");
        assert_eq!(
            id.map(UserId::into_string),
            Ok("user-test-6b0cbd6f-52f4-4b44-9f5e-7ed6c2a5a3b0".to_owned())
        );
    }
}
