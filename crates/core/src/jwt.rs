//! Per-project RS256 signing keys, the JWKS that publishes them, and signing and checking of
//! session JWTs.
//!
//! Keys are generated with the `rsa` crate (key generation is not exposed to remote timing).
//! Signing is ring's constant-time RSA, with the private key parsed once per [`SigningKey`]
//! (parsing and checking a key costs a good part of a signature, and every session response
//! carries a fresh JWT); checking is `jsonwebtoken`'s.

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::ids::{ProjectId, SigningKeyId};
use crate::sessions::{issuer, JWT_LIFETIME_SECONDS};
use crate::vault::{Resealed, Vault, VaultError};

const KEY_BITS: usize = 2048;

/// Which sessions a key signs: consumer sessions or B2B member sessions. Each kind has its own
/// keys, published at its own JWKS URL (`/v1/sessions/jwks/…`, `/v1/b2b/sessions/jwks/…`), so
/// each official SDK, which fetches only its own kind's keys, accepts only its own kind's JWTs,
/// as with Stytch, where the two live in different projects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Consumer,
    B2b,
}

impl KeyKind {
    pub const ALL: [KeyKind; 2] = [KeyKind::Consumer, KeyKind::B2b];

    /// The name it is stored under.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Consumer => "consumer",
            KeyKind::B2b => "b2b",
        }
    }

    pub fn parse(name: &str) -> Option<KeyKind> {
        KeyKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A signing key as stored. The private key is sealed with the vault ([`SigningKey::context`]
/// names where it opens), so a copy of the database does not sign.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: SigningKeyId,
    pub project_id: ProjectId,
    pub kind: KeyKind,
    /// The PKCS#1 DER private key, sealed. (Keys stored before keys were sealed hold the DER
    /// itself until `latchkey serve` seals them at start: [`StoredKey::is_plaintext`].)
    pub private_key: Vec<u8>,
    /// Modulus and exponent, base64url without padding, as a JWK carries them.
    pub n: String,
    pub e: String,
    pub created_at: DateTime<Utc>,
    /// When it stopped signing. A retired key stays published (and accepted) until the JWTs it
    /// signed have expired: [`RETIRED_KEY_PUBLISHED_SECONDS`].
    pub retired_at: Option<DateTime<Utc>>,
}

/// How long a retired key is still published and accepted: the lifetime of the last JWTs it
/// signed, and a minute for clocks that disagree.
pub const RETIRED_KEY_PUBLISHED_SECONDS: i64 = JWT_LIFETIME_SECONDS + 60;

impl StoredKey {
    /// Whether the private key is still the plain DER of a key stored before sealing (a DER
    /// `SEQUENCE` starts with 0x30; a sealed value with the vault's version byte).
    pub fn is_plaintext(&self) -> bool {
        self.private_key.first() == Some(&DER_SEQUENCE)
    }

    /// Whether new JWTs may be signed with it.
    pub fn signs(&self) -> bool {
        self.retired_at.is_none()
    }

    /// Whether it is in the key set at `now`: until a retired key's last JWTs have expired.
    pub fn published(&self, now: DateTime<Utc>) -> bool {
        self.retired_at.is_none_or(|retired| {
            now < retired + chrono::Duration::seconds(RETIRED_KEY_PUBLISHED_SECONDS)
        })
    }

    /// When a retired key leaves the key set.
    pub fn published_until(&self) -> Option<DateTime<Utc>> {
        self.retired_at
            .map(|retired| retired + chrono::Duration::seconds(RETIRED_KEY_PUBLISHED_SECONDS))
    }

    /// The private key sealed with `vault`'s current key, if it is not already: a plaintext
    /// key sealed, or one sealed with an old key moved. `None` when nothing is to be written.
    pub fn resealed(&self, vault: &Vault) -> Result<Option<Vec<u8>>, VaultError> {
        let context = SigningKey::context(&self.project_id, &self.kid);
        if self.is_plaintext() {
            return Ok(Some(vault.seal(&context, &self.private_key)));
        }
        Ok(match vault.reseal(&context, &self.private_key)? {
            Resealed::Current => None,
            Resealed::Moved(sealed) => Some(sealed),
        })
    }
}

const DER_SEQUENCE: u8 = 0x30;

/// One signing key of a project, with its private key parsed on first use. `Debug` shows the
/// kid only.
#[derive(Clone)]
pub struct SigningKey {
    stored: StoredKey,
    /// The private key opened and parsed for signing, on first use; clones share it.
    signer: Arc<OnceLock<Option<RsaKeyPair>>>,
}

impl std::ops::Deref for SigningKey {
    type Target = StoredKey;

    fn deref(&self) -> &StoredKey {
        &self.stored
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Why a presented JWT is not accepted: not a JWT, or signed by no key of this project, or
/// for another audience or issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtProblem {
    Invalid,
}

impl SigningKey {
    pub fn from_stored(stored: StoredKey) -> SigningKey {
        SigningKey {
            stored,
            signer: Arc::default(),
        }
    }

    /// Where a key's private half is sealed; it opens nowhere else.
    pub fn context(project_id: &ProjectId, kid: &SigningKeyId) -> String {
        format!("signing-key:{project_id}:{kid}")
    }

    /// A new key of `project_id`, its private half sealed with `vault`.
    pub fn generate(
        vault: &Vault,
        project_id: &ProjectId,
        kind: KeyKind,
        now: DateTime<Utc>,
    ) -> Result<SigningKey, JwtError> {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
            .map_err(|error| JwtError::KeyGeneration(error.to_string()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|error| JwtError::KeyGeneration(error.to_string()))?;
        let kid = SigningKeyId::generate(project_id.environment());
        let private_key = vault.seal(&SigningKey::context(project_id, &kid), der.as_bytes());
        Ok(SigningKey::from_stored(StoredKey {
            kid,
            project_id: project_id.clone(),
            kind,
            private_key,
            n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
            created_at: now,
            retired_at: None,
        }))
    }

    pub fn stored(&self) -> &StoredKey {
        &self.stored
    }

    /// The public half as a JWK, with every field of Stytch's JWK model.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "key_ops": ["verify"],
            "alg": "RS256",
            "kid": self.kid,
            "x5c": [],
            "x5tS256": "",
            "n": self.n,
            "e": self.e,
        })
    }

    /// A compact JWS (RFC 7515) of `claims`: `{"typ":"JWT","alg":"RS256","kid":…}`, the claims,
    /// and the RSASSA-PKCS1-v1_5 SHA-256 signature over both, each base64url without padding.
    /// The private key is opened with `vault` on first use.
    pub fn sign(&self, vault: &Vault, claims: &Value) -> Result<String, JwtError> {
        let signer = self
            .signer
            .get_or_init(|| {
                let context = SigningKey::context(&self.project_id, &self.kid);
                let der = vault.open(&context, &self.private_key).ok()?;
                RsaKeyPair::from_der(&der).ok()
            })
            .as_ref()
            .ok_or_else(|| {
                JwtError::Signing("the stored private key does not open or parse".into())
            })?;
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.kid});
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut token);
        let mut signature = vec![0; signer.public().modulus_len()];
        signer
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|error| JwtError::Signing(error.to_string()))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}

/// Checks a session JWT's signature against the project's keys, and its `aud`, `iss` and `nbf`;
/// returns the claims without looking at `exp`.
fn decode(token: &str, keys: &[SigningKey], project_id: &ProjectId) -> Result<Value, JwtProblem> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtProblem::Invalid)?;
    if header.alg != Algorithm::RS256 {
        return Err(JwtProblem::Invalid);
    }
    let kid = header.kid.ok_or(JwtProblem::Invalid)?;
    let key = keys
        .iter()
        .find(|key| key.kid.as_str() == kid)
        .ok_or(JwtProblem::Invalid)?;
    let decoding =
        DecodingKey::from_rsa_components(&key.n, &key.e).map_err(|_| JwtProblem::Invalid)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[project_id.as_str()]);
    validation.set_issuer(&[issuer(project_id)]);
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    validation.validate_exp = false;
    validation.validate_nbf = true;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .map_err(|_| JwtProblem::Invalid)?;
    Ok(data.claims)
}

/// Checks a session JWT against the project's keys (signature, `aud`, `iss`, `nbf`) and returns
/// its claims with whether it is past its `exp`: an expired JWT of a live session may still be
/// refreshed, as with Stytch, so expiry is the caller's to judge.
pub fn verify(
    token: &str,
    keys: &[SigningKey],
    project_id: &ProjectId,
) -> Result<(Value, bool), JwtProblem> {
    let claims = decode(token, keys, project_id)?;
    let exp = claims["exp"].as_i64().ok_or(JwtProblem::Invalid)?;
    Ok((claims, exp <= Utc::now().timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Environment;

    fn vault() -> Vault {
        Vault::from_key_text(&Vault::generate_key_text()).unwrap()
    }

    #[test]
    fn sign_and_verify() {
        let vault = vault();
        let project = ProjectId::generate(Environment::Test);
        let other = ProjectId::generate(Environment::Test);
        let now = Utc::now();
        let key = SigningKey::generate(&vault, &project, KeyKind::Consumer, now).unwrap();
        let claims = json!({
            "sub": "user-test-x", "iss": issuer(&project), "aud": [project.as_str()],
            "iat": now.timestamp(), "nbf": now.timestamp(), "exp": now.timestamp() + 300,
        });
        let token = key.sign(&vault, &claims).unwrap();
        let (verified, expired) = verify(&token, std::slice::from_ref(&key), &project).unwrap();
        assert_eq!(verified["sub"], "user-test-x");
        assert!(!expired);
        // Another project's audience, another key, garbage.
        assert_eq!(
            verify(&token, std::slice::from_ref(&key), &other),
            Err(JwtProblem::Invalid)
        );
        let stranger = SigningKey::generate(&vault, &project, KeyKind::Consumer, now).unwrap();
        assert_eq!(
            verify(&token, &[stranger], &project),
            Err(JwtProblem::Invalid)
        );
        assert_eq!(
            verify("a.b.c", std::slice::from_ref(&key), &project),
            Err(JwtProblem::Invalid)
        );
        // Expired: still genuine, and reported as expired.
        let mut old = claims.clone();
        old["exp"] = json!(now.timestamp() - 1);
        let expired = key.sign(&vault, &old).unwrap();
        let (_, is_expired) = verify(&expired, std::slice::from_ref(&key), &project).unwrap();
        assert!(is_expired);
        // Debug shows the kid only: neither key material nor the private key's field.
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid.as_str()));
        assert!(!shown.contains("private_key"));
        assert!(!format!("{key:?}").contains(&key.n));
    }

    #[test]
    fn the_private_key_is_sealed_for_its_project_and_kid() {
        let vault = vault();
        let project = ProjectId::generate(Environment::Test);
        let now = Utc::now();
        let key = SigningKey::generate(&vault, &project, KeyKind::B2b, now).unwrap();
        assert!(!key.is_plaintext());
        let claims = json!({"sub": "member-test-x"});
        assert!(key.sign(&vault, &claims).is_ok());
        // Another key cannot open it, nor can the same sealed bytes serve another project.
        let fresh = SigningKey::from_stored(key.stored().clone());
        assert!(fresh.sign(&super::tests::vault(), &claims).is_err());
        let mut moved = key.stored().clone();
        moved.project_id = ProjectId::generate(Environment::Test);
        assert!(SigningKey::from_stored(moved)
            .sign(&vault, &claims)
            .is_err());
        // Already sealed with the current key: nothing to write.
        assert_eq!(key.resealed(&vault).unwrap(), None);
    }

    #[test]
    fn a_plaintext_key_is_sealed_and_an_old_keys_seal_moved() {
        let old = vault();
        let project = ProjectId::generate(Environment::Test);
        let key = SigningKey::generate(&old, &project, KeyKind::Consumer, Utc::now()).unwrap();
        let context = SigningKey::context(&project, &key.kid);
        let der = old.open(&context, &key.private_key).unwrap();
        let mut plain = key.stored().clone();
        plain.private_key = der.clone();
        assert!(plain.is_plaintext());
        let sealed = plain.resealed(&old).unwrap().unwrap();
        assert_eq!(old.open(&context, &sealed).unwrap(), der);
        let new_key = vault();
        let rotating = new_key.clone().with_old_key(old);
        let moved = key.resealed(&rotating).unwrap().unwrap();
        assert_eq!(new_key.open(&context, &moved).unwrap(), der);
    }

    #[test]
    fn a_retired_key_stops_signing_and_leaves_the_key_set_after_its_jwts_expired() {
        let vault = vault();
        let project = ProjectId::generate(Environment::Test);
        let now = Utc::now();
        let mut key = SigningKey::generate(&vault, &project, KeyKind::Consumer, now)
            .unwrap()
            .stored()
            .clone();
        assert!(key.signs() && key.published(now) && key.published_until().is_none());
        key.retired_at = Some(now);
        assert!(!key.signs());
        let last_exp = now + chrono::Duration::seconds(JWT_LIFETIME_SECONDS);
        assert!(key.published(last_exp));
        let until = key.published_until().unwrap();
        assert!(until > last_exp);
        assert!(key.published(until - chrono::Duration::seconds(1)));
        assert!(!key.published(until));
    }
}
