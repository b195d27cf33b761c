//! Email magic links and password-reset links, as Stytch has them: what a link is for, how long
//! it lives (each purpose's default and Stytch's bounds), the `stytch_token_type` its redirect
//! carries, and the PKCE check of its authenticate.
//!
//! A link's token is [`crate::secret::Secret::generate_token`]: 256 random bits, base64url. It is
//! stored only as a keyed digest ([`token_context`] names the key's use, so a token digest
//! never matches a recovery code's) and used once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Duration;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::ProjectId;

/// What a link was sent for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkPurpose {
    /// `magic_links/email/send` and `login_or_create` for an existing user.
    Login,
    /// `login_or_create` that created the user (or found it pending).
    Signup,
    /// `magic_links/email/invite`.
    Invite,
    /// `POST /v1/magic_links`: a token for the application to deliver itself.
    Embedded,
    /// `passwords/email/reset/start`.
    ResetPassword,
    /// A B2B discovery link: proves an email, before any organization is chosen.
    Discovery,
}

/// The shortest and longest life Stytch allows a link, in minutes (five minutes to a week).
pub const MIN_EXPIRATION_MINUTES: i64 = 5;
pub const MAX_EXPIRATION_MINUTES: i64 = 10_080;

/// Why a link's parameters or its authenticate are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the expiration must be between 5 and 10080 minutes")]
    InvalidExpiration,
    /// A flow started with a `code_challenge` is authenticated without its `code_verifier`.
    #[error("this flow was started with a code_challenge; its code_verifier is missing")]
    ExpectedCodeVerifier,
    /// The `code_verifier` does not hash to the flow's `code_challenge` (or the flow had none).
    #[error("the code_verifier does not match the code_challenge of this flow")]
    PkceMismatch,
}

impl LinkPurpose {
    pub const ALL: [LinkPurpose; 6] = [
        LinkPurpose::Login,
        LinkPurpose::Signup,
        LinkPurpose::Invite,
        LinkPurpose::Embedded,
        LinkPurpose::ResetPassword,
        LinkPurpose::Discovery,
    ];

    /// The name it is stored under.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Login => "login",
            LinkPurpose::Signup => "signup",
            LinkPurpose::Invite => "invite",
            LinkPurpose::Embedded => "embedded",
            LinkPurpose::ResetPassword => "reset_password",
            LinkPurpose::Discovery => "discovery",
        }
    }

    pub fn parse(name: &str) -> Option<LinkPurpose> {
        LinkPurpose::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == name)
    }

    /// Stytch's default life: an hour for logins, invites, embedded tokens; a week for sign-ups;
    /// half an hour for a password reset.
    pub fn default_minutes(self) -> i64 {
        match self {
            LinkPurpose::Login
            | LinkPurpose::Invite
            | LinkPurpose::Embedded
            | LinkPurpose::Discovery => 60,
            LinkPurpose::Signup => 10_080,
            LinkPurpose::ResetPassword => 30,
        }
    }

    /// The life of a link asked to live `minutes` (the purpose's default when not given).
    pub fn expiry(self, minutes: Option<i64>) -> Result<Duration, LinkError> {
        let minutes = minutes.unwrap_or(self.default_minutes());
        if !(MIN_EXPIRATION_MINUTES..=MAX_EXPIRATION_MINUTES).contains(&minutes) {
            return Err(LinkError::InvalidExpiration);
        }
        Ok(Duration::minutes(minutes))
    }

    /// The `stytch_token_type` of the redirect that carries the token: `magic_links` for every
    /// email magic link, invites included; `reset_password` for a reset.
    pub fn token_type(self) -> &'static str {
        match self {
            LinkPurpose::ResetPassword => "reset_password",
            _ => "magic_links",
        }
    }

    /// The life of a B2B link when the request names none: Stytch's B2B defaults (an hour, a
    /// week for an invite, half an hour for a reset), within the same bounds.
    pub fn b2b_expiry(self, minutes: Option<i64>) -> Result<Duration, LinkError> {
        let default = match self {
            LinkPurpose::Invite => 10_080,
            LinkPurpose::ResetPassword => 30,
            _ => 60,
        };
        self.expiry(Some(minutes.unwrap_or(default)))
    }

    /// The `stytch_token_type` of a B2B link.
    pub fn b2b_token_type(self) -> &'static str {
        match self {
            LinkPurpose::Discovery => "discovery",
            LinkPurpose::ResetPassword => "multi_tenant_passwords",
            _ => "multi_tenant_magic_links",
        }
    }

    /// Whether authenticating it proves the email it was sent to (an embedded token was sent
    /// nowhere, so it proves none).
    pub fn verifies_email(self) -> bool {
        self != LinkPurpose::Embedded
    }
}

/// What the keyed digest of a project's link tokens is made under (see
/// [`crate::vault::Vault::code_digest`]): one use of the key, one project.
pub fn token_context(project_id: &ProjectId) -> String {
    format!("magic-link-token:{project_id}")
}

/// RFC 7636's S256: base64url (no padding) of the SHA-256 of the verifier, which is what a
/// `code_challenge` must be. Stytch accepts no `plain` challenges.
pub fn code_challenge_of(code_verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()))
}

/// Checks the PKCE pair of a flow: a challenge stored at its start must be met by the verifier
/// at its authenticate, compared in constant time; a verifier where no challenge was given is
/// a mismatch. Neither: nothing to check.
pub fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), LinkError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(LinkError::ExpectedCodeVerifier),
        (None, Some(_)) => Err(LinkError::PkceMismatch),
        (Some(challenge), Some(verifier)) => {
            let computed = code_challenge_of(verifier);
            if bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
                Ok(())
            } else {
                Err(LinkError::PkceMismatch)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Environment;
    use crate::secret::Secret;
    use crate::vault::Vault;

    #[test]
    fn each_purpose_has_stytchs_default_and_bounds() {
        assert_eq!(LinkPurpose::Login.expiry(None), Ok(Duration::minutes(60)));
        assert_eq!(
            LinkPurpose::Signup.expiry(None),
            Ok(Duration::minutes(10_080))
        );
        assert_eq!(LinkPurpose::Invite.expiry(None), Ok(Duration::minutes(60)));
        assert_eq!(
            LinkPurpose::ResetPassword.expiry(None),
            Ok(Duration::minutes(30))
        );
        assert_eq!(
            LinkPurpose::Embedded.expiry(Some(5)),
            Ok(Duration::minutes(5))
        );
        assert_eq!(
            LinkPurpose::Login.expiry(Some(10_080)),
            Ok(Duration::minutes(10_080))
        );
        for minutes in [4, 0, -1, 10_081, i64::MAX] {
            assert_eq!(
                LinkPurpose::Login.expiry(Some(minutes)),
                Err(LinkError::InvalidExpiration)
            );
        }
    }

    #[test]
    fn purposes_round_trip_and_name_their_token_type() {
        for purpose in LinkPurpose::ALL {
            assert_eq!(LinkPurpose::parse(purpose.as_str()), Some(purpose));
        }
        assert_eq!(LinkPurpose::parse("magic_links"), None);
        assert_eq!(LinkPurpose::Invite.token_type(), "magic_links");
        assert_eq!(LinkPurpose::Signup.token_type(), "magic_links");
        assert_eq!(LinkPurpose::ResetPassword.token_type(), "reset_password");
        assert!(!LinkPurpose::Embedded.verifies_email());
        assert!(LinkPurpose::Login.verifies_email());
    }

    #[test]
    fn tokens_are_256_bits_url_safe_and_digested_per_project() {
        let token = Secret::generate_token();
        let text = token.expose();
        assert_eq!(URL_SAFE_NO_PAD.decode(text).unwrap().len(), 32);
        assert!(text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        let vault = Vault::from_key_text(&Vault::generate_key_text()).unwrap();
        let (a, b) = (
            ProjectId::generate(Environment::Test),
            ProjectId::generate(Environment::Test),
        );
        let digest = vault.code_digest(&token_context(&a), text);
        assert_eq!(digest, vault.code_digest(&token_context(&a), text));
        assert_ne!(digest, vault.code_digest(&token_context(&b), text));
    }

    #[test]
    fn pkce_is_s256_and_each_half_needs_the_other() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(code_challenge_of(verifier), challenge);
        assert_eq!(check_pkce(Some(challenge), Some(verifier)), Ok(()));
        assert_eq!(check_pkce(None, None), Ok(()));
        assert_eq!(
            check_pkce(Some(challenge), None),
            Err(LinkError::ExpectedCodeVerifier)
        );
        assert_eq!(
            check_pkce(None, Some(verifier)),
            Err(LinkError::PkceMismatch)
        );
        assert_eq!(
            check_pkce(Some(challenge), Some("another-verifier")),
            Err(LinkError::PkceMismatch)
        );
        // A plain challenge (the verifier itself) is not accepted.
        assert_eq!(
            check_pkce(Some(verifier), Some(verifier)),
            Err(LinkError::PkceMismatch)
        );
    }
}
