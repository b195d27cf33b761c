//! The crypt-style formats: bcrypt, salted digests, SHA-crypt and MD5-crypt, and phpass.

use super::*;

pub(super) const BCRYPT_ALPHABET: &[u8] =
    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub(super) fn parse_bcrypt(hash: &str) -> Result<StoredHash, InputError> {
    let (mcf, input) = if let Some(rest) = hash.strip_prefix("bcrypt_sha256$") {
        (rest, BcryptInput::DjangoSha256)
    } else if let Some(rest) = hash.strip_prefix("bcrypt$") {
        (rest, BcryptInput::Plain)
    } else {
        (hash, BcryptInput::Plain)
    };
    let invalid = || {
        refuse(
            "invalid_bcrypt_hash",
            "A bcrypt hash is 60 characters: $2a$, $2b$ or $2y$, a two-digit cost, $, then 53 \
             characters of bcrypt's base64.",
        )
    };
    let bytes = mcf.as_bytes();
    if bytes.len() != 60 {
        return Err(invalid());
    }
    let prefix_ok = matches!(&mcf[..4], "$2a$" | "$2b$" | "$2y$");
    if !prefix_ok
        || bytes[6] != b'$'
        || !bytes[7..].iter().all(|byte| BCRYPT_ALPHABET.contains(byte))
    {
        return Err(invalid());
    }
    let cost: u32 = mcf[4..6].parse().map_err(|_| invalid())?;
    cost::bcrypt(cost)?;
    Ok(StoredHash::Bcrypt {
        mcf: mcf.to_owned(),
        input,
    })
}

/// Hex (either case) or standard base64 of exactly the digest's length.
pub(super) fn decode_digest(text: &str, length: usize) -> Option<Vec<u8>> {
    if text.len() == length * 2 {
        if let Ok(bytes) = hex::decode(text) {
            return Some(bytes);
        }
    }
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .ok()?;
    (bytes.len() == length).then_some(bytes)
}

pub(super) fn parse_salted(
    hash: &str,
    algorithm: DigestAlgorithm,
    config: Option<&SaltConfig>,
    error_type: &'static str,
) -> Result<StoredHash, InputError> {
    let length = algorithm.output_len();
    let digest = decode_digest(hash, length).ok_or_else(|| {
        refuse(
            error_type,
            format!(
                "The hash must be the {length}-byte digest as {} hex characters or base64.",
                length * 2
            ),
        )
    })?;
    let config = config.cloned().unwrap_or_default();
    let prepend_salt = config.prepend_salt.unwrap_or_default();
    let append_salt = config.append_salt.unwrap_or_default();
    if prepend_salt.len() > MAX_SALT_LEN || prepend_salt.contains('\0') {
        return Err(refuse(
            "invalid_prepend_salt",
            "prepend_salt must be at most 1024 bytes.",
        ));
    }
    if append_salt.len() > MAX_SALT_LEN || append_salt.contains('\0') {
        return Err(refuse(
            "invalid_append_salt",
            "append_salt must be at most 1024 bytes.",
        ));
    }
    Ok(StoredHash::SaltedDigest {
        algorithm,
        prepend_salt,
        append_salt,
        hash: digest,
    })
}

pub(super) const CRYPT_ALPHABET: &[u8] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// md5-crypt `$1$salt$hash`, sha256-crypt `$5$[rounds=N$]salt$hash`, sha512-crypt likewise.
pub(super) fn parse_unix_crypt(
    hash: &str,
    error_type: &'static str,
) -> Result<StoredHash, InputError> {
    let (name, digest_len) = match &hash[..3] {
        "$1$" => ("md5-crypt", 22),
        "$5$" => ("sha256-crypt", 43),
        _ => ("sha512-crypt", 86),
    };
    let invalid = |why: &str| refuse(error_type, format!("Invalid {name} hash: {why}."));
    let mut parts: Vec<&str> = hash[3..].split('$').collect();
    if let Some(rounds) = parts.first().and_then(|part| part.strip_prefix("rounds=")) {
        if name == "md5-crypt" {
            return Err(invalid("md5-crypt has no rounds"));
        }
        let rounds: u64 = rounds
            .parse()
            .map_err(|_| invalid("rounds is not a number"))?;
        cost::sha_crypt(name == "sha512-crypt", rounds)?;
        parts.remove(0);
    }
    let [salt, digest] = parts.as_slice() else {
        return Err(invalid("expected $salt$hash after the prefix"));
    };
    let max_salt = if name == "md5-crypt" { 8 } else { 16 };
    if salt.is_empty()
        || salt.len() > max_salt
        || !salt.bytes().all(|byte| CRYPT_ALPHABET.contains(&byte))
    {
        return Err(invalid(
            "the salt must be 1 to 16 characters of ./0-9A-Za-z (8 for md5-crypt)",
        ));
    }
    if digest.len() != digest_len || !digest.bytes().all(|byte| CRYPT_ALPHABET.contains(&byte)) {
        return Err(invalid("the hash part has the wrong length or characters"));
    }
    Ok(StoredHash::UnixCrypt {
        mcf: hash.to_owned(),
    })
}

pub(super) fn parse_phpass(hash: &str) -> Result<StoredHash, InputError> {
    match phpass::check(hash) {
        Ok(()) => {
            let count_log2 = hash
                .as_bytes()
                .get(3)
                .and_then(|&byte| phpass::count_log2(byte))
                .unwrap_or(u32::MAX);
            cost::phpass(count_log2)?;
            Ok(StoredHash::Phpass {
                hash: hash.to_owned(),
            })
        }
        Err(PhpassProblem::Prefix) => Err(refuse(
            "invalid_phpass_hash_prefix",
            "A phpass hash starts with $P$ or $H$.",
        )),
        Err(PhpassProblem::Format(why)) => {
            Err(refuse("invalid_phpass_hash_format", format!("{why}.")))
        }
    }
}
