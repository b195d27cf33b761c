//! Secrets at rest. One 256-bit master key, from configuration, never stored in the database,
//! from which HKDF-SHA256 derives:
//! - the AES-256-GCM key that seals what Latchkey must read back (TOTP secrets);
//! - the HMAC-SHA256 key that digests what it only ever compares (recovery codes).
//!
//! A sealed value is `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, and its associated
//! data names where it belongs (project and registration), so a value copied to another row
//! does not open. A recovery code's digest also binds its registration. A database copied
//! without the key yields neither secrets nor codes.
//!
//! The master key can be rotated without downtime: a vault may also hold old keys
//! ([`Vault::with_old_key`]). It seals and digests with its own key only, and opens (and checks
//! digests) with any of them, until a re-seal pass ([`Vault::reseal`]) has moved every value to
//! the new key and the old ones can be dropped.

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

/// The keys derived from one master key.
#[derive(Clone)]
struct Keys {
    cipher: Aes256Gcm,
    digest_key: [u8; KEY_BYTES],
}

impl Keys {
    fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
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

    fn code_digest(&self, registration: &str, code: &str) -> [u8; 32] {
        // HMAC accepts keys of any length.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.digest_key) else {
            return [0u8; 32];
        };
        mac.update(registration.as_bytes());
        mac.update(&[0]);
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The keys derived from the master key, and from the old master keys still accepted while a
/// rotation is under way. `Debug` shows nothing.
#[derive(Clone)]
pub struct Vault {
    current: Keys,
    old: Vec<Keys>,
}

/// What [`Vault::reseal`] made of a sealed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resealed {
    /// Already sealed with the current key.
    Current,
    /// Sealed with an old key: the same plaintext, sealed anew with the current one.
    Moved(Vec<u8>),
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
            current: Keys {
                cipher: Aes256Gcm::new(&seal_key.into()),
                digest_key,
            },
            old: Vec::new(),
        }
    }

    /// This vault, also opening what `old` sealed and accepting the digests `old` made: the
    /// state of a rotation from `old`'s master key to this one.
    pub fn with_old_key(mut self, old: Vault) -> Vault {
        self.old.push(old.current);
        self.old.extend(old.old);
        self
    }

    /// Whether old keys are still accepted (a rotation is under way).
    pub fn has_old_keys(&self) -> bool {
        !self.old.is_empty()
    }

    fn all_keys(&self) -> impl Iterator<Item = &Keys> {
        std::iter::once(&self.current).chain(&self.old)
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
            .current
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts what [`Vault::seal`] sealed for the same `context`, with this vault's key or
    /// one of its old keys.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        self.all_keys()
            .find_map(|keys| keys.open(context, sealed).ok())
            .ok_or(VaultError::CannotOpen)
    }

    /// Moves a value sealed for `context` to the current key, if an old key sealed it.
    pub fn reseal(&self, context: &str, sealed: &[u8]) -> Result<Resealed, VaultError> {
        if self.current.open(context, sealed).is_ok() {
            return Ok(Resealed::Current);
        }
        let plaintext = self.open(context, sealed)?;
        Ok(Resealed::Moved(self.seal(context, &plaintext)))
    }

    /// The stored form of a recovery code of `registration`: HMAC-SHA256 under the vault's
    /// digest key. Codes are normalized by the caller.
    pub fn code_digest(&self, registration: &str, code: &str) -> [u8; 32] {
        self.current.code_digest(registration, code)
    }

    /// The code's digest under each key this vault accepts, the current key's first: a code
    /// digested before a rotation still matches until the re-seal pass digests it anew.
    pub fn code_digests(&self, registration: &str, code: &str) -> Vec<[u8; 32]> {
        self.all_keys()
            .map(|keys| keys.code_digest(registration, code))
            .collect()
    }

    /// A value to keep in the database that proves, at the next start, that the key is the
    /// one the database's secrets were sealed with.
    pub fn check_value(&self) -> Vec<u8> {
        self.seal(CHECK_CONTEXT, CHECK_PLAINTEXT)
    }

    /// The check value moved to the current key, if an old key sealed it.
    pub fn reseal_check_value(&self, check: &[u8]) -> Result<Resealed, VaultError> {
        self.reseal(CHECK_CONTEXT, check)
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
    fn a_rotating_vault_opens_old_values_and_moves_them_to_its_key() {
        let old = vault();
        let sealed = old.seal("p/totp-1", b"secret");
        let digest = old.code_digest("totp-1", "code");
        let check = old.check_value();
        let new_key = vault();
        let rotating = new_key.clone().with_old_key(old.clone());
        assert!(rotating.has_old_keys() && !new_key.has_old_keys());
        assert_eq!(rotating.open("p/totp-1", &sealed).unwrap(), b"secret");
        assert!(rotating.accepts_check_value(&check));
        assert!(rotating.code_digests("totp-1", "code").contains(&digest));
        // New values are the new key's alone.
        let fresh = rotating.seal("p/totp-2", b"other");
        assert_eq!(new_key.open("p/totp-2", &fresh).unwrap(), b"other");
        assert_eq!(old.open("p/totp-2", &fresh), Err(VaultError::CannotOpen));
        assert_eq!(
            rotating.code_digest("totp-1", "code"),
            new_key.code_digest("totp-1", "code")
        );
        // The re-seal moves an old value, leaves a current one, and refuses a stranger's.
        let Resealed::Moved(moved) = rotating.reseal("p/totp-1", &sealed).unwrap() else {
            panic!("an old key's value must move");
        };
        assert_eq!(new_key.open("p/totp-1", &moved).unwrap(), b"secret");
        assert_eq!(
            rotating.reseal("p/totp-2", &fresh).unwrap(),
            Resealed::Current
        );
        assert_eq!(
            rotating.reseal("p/totp-1", &vault().seal("p/totp-1", b"x")),
            Err(VaultError::CannotOpen)
        );
        let Resealed::Moved(check) = rotating.reseal_check_value(&check).unwrap() else {
            panic!("the old check value must move");
        };
        assert!(new_key.accepts_check_value(&check));
        assert!(!old.accepts_check_value(&check));
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
