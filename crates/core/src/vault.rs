//! Secrets at rest. One 256-bit master key, from configuration, never stored in the database,
//! from which HKDF-SHA256 derives:
//! - the AES-256-GCM key that seals what Latchkey must read back (TOTP secrets);
//! - the HMAC-SHA256 key that digests what it only ever compares (recovery codes).
//!
//! A sealed value is `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, and its associated
//! data names where it belongs (project and registration), so a value copied to another row
//! does not open. A recovery code's digest also binds its registration. A database copied
//! without the key yields neither secrets nor codes.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

const VERSION: u8 = 1;
const NONCE_BYTES: usize = 12;
const KEY_BYTES: usize = 32;
/// What the check value seals, to tell at start-up that the key is the database's.
const CHECK_PLAINTEXT: &[u8] = b"latchkey vault check";
const CHECK_CONTEXT: &str = "latchkey:vault-check";

/// The keys derived from the master key. `Debug` shows nothing.
#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
    digest_key: [u8; KEY_BYTES],
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Vault(<keys redacted>)")
    }
}

/// Why a key or a sealed value was refused. Deliberately vague: the cause of a failed open is
/// never worth telling anyone but the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("the secrets key must be 32 bytes, base64-encoded (44 characters)")]
    BadKey,
    #[error("a sealed value did not open with this key")]
    CannotOpen,
}

impl Vault {
    pub fn new(master: &[u8; KEY_BYTES]) -> Vault {
        let hkdf = Hkdf::<Sha256>::new(Some(b"latchkey vault v1"), master);
        let mut seal_key = [0u8; KEY_BYTES];
        let mut digest_key = [0u8; KEY_BYTES];
        // Expanding 32 bytes from SHA-256's HKDF cannot exceed its output limit.
        let _ = hkdf.expand(b"seal", &mut seal_key);
        let _ = hkdf.expand(b"recovery-code digest", &mut digest_key);
        Vault {
            cipher: Aes256Gcm::new(&seal_key.into()),
            digest_key,
        }
    }

    /// A fresh master key, base64, for a key file or an environment variable.
    pub fn generate_key_text() -> String {
        let mut key = [0u8; KEY_BYTES];
        OsRng.fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// Reads a master key written by [`Vault::generate_key_text`] (surrounding whitespace
    /// ignored).
    pub fn from_key_text(text: &str) -> Result<Vault, VaultError> {
        let bytes = STANDARD
            .decode(text.trim().as_bytes())
            .map_err(|_| VaultError::BadKey)?;
        let key: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| VaultError::BadKey)?;
        Ok(Vault::new(&key))
    }

    /// Encrypts `plaintext` for the place `context` names.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        // AES-GCM encryption of an in-memory buffer only fails past 64 GiB.
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts what [`Vault::seal`] sealed for the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        if sealed.len() < 1 + NONCE_BYTES + 16 || sealed[0] != VERSION {
            return Err(VaultError::CannotOpen);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::CannotOpen)
    }

    /// The stored form of a recovery code of `registration`: HMAC-SHA256 under the vault's
    /// digest key. Codes are normalized by the caller.
    pub fn code_digest(&self, registration: &str, code: &str) -> [u8; 32] {
        // HMAC accepts keys of any length.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.digest_key) else {
            return [0u8; 32];
        };
        mac.update(registration.as_bytes());
        mac.update(&[0]);
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A value to keep in the database that proves, at the next start, that the key is the
    /// one the database's secrets were sealed with.
    pub fn check_value(&self) -> Vec<u8> {
        self.seal(CHECK_CONTEXT, CHECK_PLAINTEXT)
    }

    pub fn accepts_check_value(&self, check: &[u8]) -> bool {
        match self.open(CHECK_CONTEXT, check) {
            Ok(plaintext) => bool::from(plaintext.ct_eq(CHECK_PLAINTEXT)),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::from_key_text(&Vault::generate_key_text()).unwrap()
    }

    #[test]
    fn sealed_values_open_only_in_their_context_and_with_their_key() {
        let vault = vault();
        let sealed = vault.seal("project-a/totp-1", b"JBSWY3DPEHPK3PXP");
        assert!(!sealed
            .windows(b"JBSWY3DPEHPK3PXP".len())
            .any(|window| window == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(
            vault.open("project-a/totp-1", &sealed).unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_eq!(
            vault.open("project-b/totp-1", &sealed),
            Err(VaultError::CannotOpen)
        );
        assert_eq!(
            super::tests::vault().open("project-a/totp-1", &sealed),
            Err(VaultError::CannotOpen)
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            vault.open("project-a/totp-1", &tampered),
            Err(VaultError::CannotOpen)
        );
        assert_eq!(vault.open("x", &[1, 2, 3]), Err(VaultError::CannotOpen));
        // A fresh nonce each time.
        assert_ne!(sealed, vault.seal("project-a/totp-1", b"JBSWY3DPEHPK3PXP"));
    }

    #[test]
    fn code_digests_bind_registration_and_key() {
        let vault = vault();
        let a = vault.code_digest("totp-1", "ckss-2skx-ebow");
        assert_eq!(a, vault.code_digest("totp-1", "ckss-2skx-ebow"));
        assert_ne!(a, vault.code_digest("totp-2", "ckss-2skx-ebow"));
        assert_ne!(
            a,
            super::tests::vault().code_digest("totp-1", "ckss-2skx-ebow")
        );
    }

    #[test]
    fn check_value_tells_the_right_key_from_another() {
        let vault = vault();
        let check = vault.check_value();
        assert!(vault.accepts_check_value(&check));
        assert!(!super::tests::vault().accepts_check_value(&check));
    }

    #[test]
    fn keys_must_be_32_base64_bytes() {
        assert_eq!(
            Vault::from_key_text("c2hvcnQ=").map(|_| ()),
            Err(VaultError::BadKey)
        );
        assert_eq!(
            Vault::from_key_text("not base64!").map(|_| ()),
            Err(VaultError::BadKey)
        );
        assert!(Vault::from_key_text(&format!(" {} \n", Vault::generate_key_text())).is_ok());
    }
}
