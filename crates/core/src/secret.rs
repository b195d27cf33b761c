//! Project secrets and other bearer credentials: minted from the OS RNG, shown once, stored
//! only as SHA-256 digests and compared in constant time.
//!
//! SHA-256 (not a password hash) is right here because these values carry 256 bits of entropy:
//! nothing can be guessed, so slowing down each guess buys nothing.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::Environment;

/// A freshly minted secret, e.g. `secret-test-<43 base64url characters>`. Its `Debug` is redacted
/// so it cannot leak through logs.
pub struct Secret(String);

impl Secret {
    pub fn generate(kind: &str, env: Environment) -> Secret {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Secret(format!("{kind}-{env}-{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A bearer token with no prefix: 43 base64url characters (256 bits), like Stytch's session
    /// tokens.
    pub fn generate_token() -> Secret {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Secret(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A Stack Auth key: `<prefix>_` and 43 base64url characters (`pck` for a publishable client
    /// key, `ssk` for a secret server key).
    pub fn generate_stack_key(prefix: &str) -> Secret {
        Secret(format!("{prefix}_{}", Secret::generate_token().0))
    }

    /// The value to show once to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The stored form of a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub fn of(presented: &str) -> SecretDigest {
        SecretDigest(Sha256::digest(presented.as_bytes()).into())
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<SecretDigest> {
        <[u8; 32]>::try_from(bytes).ok().map(SecretDigest)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// True when `presented` is the secret behind this digest, in time independent of where the
    /// two differ.
    pub fn matches(&self, presented: &str) -> bool {
        let candidate = SecretDigest::of(presented);
        bool::from(self.0.ct_eq(&candidate.0))
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_only_its_secret() {
        let secret = Secret::generate("secret", Environment::Test);
        assert!(secret.expose().starts_with("secret-test-"));
        assert_eq!(secret.expose().len(), "secret-test-".len() + 43);
        let digest = secret.digest();
        assert!(digest.matches(secret.expose()));
        assert!(!digest.matches("secret-test-wrong"));
        assert!(!digest.matches(""));
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn two_secrets_differ() {
        let a = Secret::generate("secret", Environment::Live);
        let b = Secret::generate("secret", Environment::Live);
        assert_ne!(a.expose(), b.expose());
    }
}
