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

use crate::ids::{Environment, ProjectId, SigningKeyId};
use crate::sessions::issuer;

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

/// One signing key of a project. `Debug` does not show the private key.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: SigningKeyId,
    pub kind: KeyKind,
    /// PKCS#1 DER.
    pub private_der: Vec<u8>,
    /// Modulus and exponent, base64url without padding, as a JWK carries them.
    pub n: String,
    pub e: String,
    pub created_at: DateTime<Utc>,
    /// `private_der` parsed for signing, on first use; clones share it.
    signer: Arc<OnceLock<Option<RsaKeyPair>>>,
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
    /// A key as stored: PKCS#1 DER private key, base64url modulus and exponent.
    pub fn from_parts(
        kid: SigningKeyId,
        kind: KeyKind,
        private_der: Vec<u8>,
        n: String,
        e: String,
        created_at: DateTime<Utc>,
    ) -> SigningKey {
        SigningKey {
            kid,
            kind,
            private_der,
            n,
            e,
            created_at,
            signer: Arc::default(),
        }
    }

    pub fn generate(
        env: Environment,
        kind: KeyKind,
        now: DateTime<Utc>,
    ) -> Result<SigningKey, JwtError> {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
            .map_err(|error| JwtError::KeyGeneration(error.to_string()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|error| JwtError::KeyGeneration(error.to_string()))?;
        Ok(SigningKey::from_parts(
            SigningKeyId::generate(env),
            kind,
            der.as_bytes().to_vec(),
            URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
            now,
        ))
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
    pub fn sign(&self, claims: &Value) -> Result<String, JwtError> {
        let signer = self
            .signer
            .get_or_init(|| RsaKeyPair::from_der(&self.private_der).ok())
            .as_ref()
            .ok_or_else(|| JwtError::Signing("the stored private key does not parse".into()))?;
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

    #[test]
    fn sign_and_verify() {
        let project = ProjectId::generate(Environment::Test);
        let other = ProjectId::generate(Environment::Test);
        let now = Utc::now();
        let key = SigningKey::generate(Environment::Test, KeyKind::Consumer, now).unwrap();
        let claims = json!({
            "sub": "user-test-x", "iss": issuer(&project), "aud": [project.as_str()],
            "iat": now.timestamp(), "nbf": now.timestamp(), "exp": now.timestamp() + 300,
        });
        let token = key.sign(&claims).unwrap();
        let (verified, expired) = verify(&token, std::slice::from_ref(&key), &project).unwrap();
        assert_eq!(verified["sub"], "user-test-x");
        assert!(!expired);
        // Another project's audience, another key, garbage.
        assert_eq!(
            verify(&token, std::slice::from_ref(&key), &other),
            Err(JwtProblem::Invalid)
        );
        let stranger = SigningKey::generate(Environment::Test, KeyKind::Consumer, now).unwrap();
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
        let expired = key.sign(&old).unwrap();
        let (_, is_expired) = verify(&expired, std::slice::from_ref(&key), &project).unwrap();
        assert!(is_expired);
        // Debug shows the kid only: neither key material nor the private key's field.
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid.as_str()));
        assert!(!shown.contains("private_der"));
        assert!(!format!("{key:?}").contains(&key.n));
    }
}
