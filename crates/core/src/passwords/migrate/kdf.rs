//! The key-derivation formats with parameters: argon2, scrypt, PBKDF2 and Firebase's scrypt.

use super::*;

pub(super) fn parse_argon2(
    hash: &str,
    variant: Argon2Variant,
    config: Option<&Argon2Config>,
) -> Result<StoredHash, InputError> {
    let encoded = hash
        .strip_prefix("argon2")
        .filter(|rest| rest.starts_with("$argon2"))
        .unwrap_or(hash);
    if encoded.starts_with("$argon2") {
        return parse_argon2_phc(encoded, variant);
    }
    let Some(config) = config else {
        return Err(refuse(
            "invalid_hash",
            "An argon2 hash must be a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash), or hex with \
             argon_2_config.",
        ));
    };
    let digest = hex::decode(hash).map_err(|_| {
        refuse(
            "invalid_hash",
            "Without its PHC encoding an argon2 hash must be hex.",
        )
    })?;
    let memory_kib = to_u32(
        config.memory,
        "invalid_argon_2_memory",
        "argon_2_config.memory",
    )?;
    let iterations = to_u32(
        config.iteration_amount,
        "invalid_argon_2_iteration_amount",
        "argon_2_config.iteration_amount",
    )?;
    let parallelism = to_u32(
        config.threads,
        "invalid_argon_2_threads",
        "argon_2_config.threads",
    )?;
    cost::argon2(memory_kib, iterations, parallelism, None)?;
    in_range(
        config.key_length,
        &KEY_LENGTH,
        "invalid_argon_2_key_length",
        "argon_2_config.key_length",
    )?;
    if usize::try_from(config.key_length).ok() != Some(digest.len()) {
        return Err(refuse(
            "argon_2_key_length_mismatch",
            "argon_2_config.key_length must equal the length of the decoded hash.",
        ));
    }
    let salt = config.salt.as_bytes().to_vec();
    if salt.len() < 8 || salt.len() > MAX_SALT_LEN {
        return Err(refuse(
            "invalid_argon_2_salt",
            "argon_2_config.salt must be 8 to 1024 bytes.",
        ));
    }
    Ok(StoredHash::Argon2Raw {
        variant,
        memory_kib,
        iterations,
        parallelism,
        salt,
        hash: digest,
    })
}

pub(super) fn parse_argon2_phc(
    phc: &str,
    variant: Argon2Variant,
) -> Result<StoredHash, InputError> {
    let invalid = |why: &str| refuse("invalid_hash", format!("Invalid argon2 PHC string: {why}."));
    let parsed = argon2::PasswordHash::new(phc).map_err(|error| invalid(&error.to_string()))?;
    let expected = match variant {
        Argon2Variant::Argon2i => "argon2i",
        Argon2Variant::Argon2id => "argon2id",
    };
    if parsed.algorithm.as_str() != expected {
        return Err(invalid(&format!(
            "hash_type says {expected} but the hash is {}",
            parsed.algorithm
        )));
    }
    if parsed.version.is_some_and(|version| version != 0x13) {
        return Err(invalid("only version 19 (v=19) is supported"));
    }
    let params = argon2::Params::try_from(&parsed).map_err(|error| invalid(&error.to_string()))?;
    cost::argon2(params.m_cost(), params.t_cost(), params.p_cost(), None)?;
    if parsed.salt.is_none() {
        return Err(refuse(
            "invalid_argon_2_salt",
            "The argon2 PHC string has no salt.",
        ));
    }
    match parsed.hash {
        Some(output) if KEY_LENGTH.contains(&(output.len() as i64)) => {}
        _ => {
            return Err(invalid(
                "the hash part is missing or of an unsupported length",
            ))
        }
    }
    Ok(StoredHash::Argon2Phc {
        phc: phc.to_owned(),
    })
}

/// Base64 as the migrating systems write it: standard, with or without padding, or passlib's
/// "adapted" alphabet that uses `.` for `+`.
pub(super) fn decode_b64(text: &str) -> Option<Vec<u8>> {
    let text = text.replace('.', "+");
    STANDARD
        .decode(&text)
        .or_else(|_| STANDARD_NO_PAD.decode(&text))
        .ok()
}

pub(super) fn scrypt_checked(
    salt: Vec<u8>,
    digest: Vec<u8>,
    n: i64,
    r: i64,
    p: i64,
    key_length: Option<i64>,
) -> Result<StoredHash, InputError> {
    if n < 2 || n & (n - 1) != 0 {
        return Err(refuse(
            "invalid_scrypt_n_parameter",
            "The scrypt N parameter must be a power of two greater than 1.",
        ));
    }
    let (Ok(r), Ok(p)) = (u32::try_from(r), u32::try_from(p)) else {
        return Err(refuse(
            "invalid_scrypt_parameters",
            "The scrypt r and p parameters must be positive numbers.",
        ));
    };
    if salt.is_empty() || salt.len() > MAX_SALT_LEN {
        return Err(refuse(
            "invalid_scrypt_salt_length",
            "The scrypt salt must be 1 to 1024 bytes.",
        ));
    }
    if let Some(key_length) = key_length {
        if usize::try_from(key_length).ok() != Some(digest.len()) {
            return Err(refuse(
                "scrypt_key_length_mismatch",
                "scrypt_config.key_length must equal the length of the decoded hash.",
            ));
        }
    }
    let log_n = n.trailing_zeros() as u8;
    cost::scrypt(log_n, r, p, digest.len())?;
    Ok(StoredHash::Scrypt {
        log_n,
        r,
        p,
        salt,
        hash: digest,
    })
}

pub(super) fn parse_scrypt(
    hash: &str,
    config: Option<&ScryptConfig>,
) -> Result<StoredHash, InputError> {
    if let Some(rest) = hash.strip_prefix("$scrypt$") {
        return parse_scrypt_phc(rest);
    }
    let Some(config) = config else {
        return Err(refuse(
            "invalid_hash",
            "A scrypt hash must be a PHC string ($scrypt$ln=…,r=…,p=…$salt$hash), or base64 with \
             scrypt_config.",
        ));
    };
    let digest = decode_b64(hash).ok_or_else(|| {
        refuse(
            "invalid_base64_scrypt_hash",
            "The scrypt hash must be base64.",
        )
    })?;
    let salt = decode_b64(&config.salt).ok_or_else(|| {
        refuse(
            "invalid_base64_scrypt_salt",
            "scrypt_config.salt must be base64.",
        )
    })?;
    scrypt_checked(
        salt,
        digest,
        config.n_parameter,
        config.r_parameter,
        config.p_parameter,
        Some(config.key_length),
    )
}

/// `ln=16,r=8,p=1$salt$hash` (passlib and the PHC reference).
pub(super) fn parse_scrypt_phc(rest: &str) -> Result<StoredHash, InputError> {
    let invalid = || {
        refuse(
            "invalid_hash",
            "Invalid scrypt PHC string: expected $scrypt$ln=…,r=…,p=…$salt$hash.",
        )
    };
    let [params, salt, digest] = rest.split('$').collect::<Vec<_>>()[..] else {
        return Err(invalid());
    };
    let (mut ln, mut r, mut p) = (None, None, None);
    for pair in params.split(',') {
        let (key, value) = pair.split_once('=').ok_or_else(invalid)?;
        let value: i64 = value.parse().map_err(|_| invalid())?;
        match key {
            "ln" => ln = Some(value),
            "r" => r = Some(value),
            "p" => p = Some(value),
            _ => return Err(invalid()),
        }
    }
    let (Some(ln), Some(r), Some(p)) = (ln, r, p) else {
        return Err(invalid());
    };
    if !(1..=62).contains(&ln) {
        return Err(refuse(
            "invalid_scrypt_n_parameter",
            "ln (log2 of N) must be between 1 and 62.",
        ));
    }
    let salt = decode_b64(salt).ok_or_else(|| {
        refuse(
            "invalid_base64_scrypt_salt",
            "The scrypt salt must be base64.",
        )
    })?;
    let digest = decode_b64(digest).ok_or_else(|| {
        refuse(
            "invalid_base64_scrypt_hash",
            "The scrypt hash must be base64.",
        )
    })?;
    scrypt_checked(salt, digest, 1 << ln, r, p, None)
}

pub(super) fn pbkdf2_prf(name: &str) -> Option<Pbkdf2Prf> {
    match name {
        "sha1" => Some(Pbkdf2Prf::Sha1),
        "sha256" => Some(Pbkdf2Prf::Sha256),
        "sha512" => Some(Pbkdf2Prf::Sha512),
        _ => None,
    }
}

pub(super) fn pbkdf2_checked(
    prf: Pbkdf2Prf,
    iterations: i64,
    salt: Vec<u8>,
    digest: Vec<u8>,
) -> Result<StoredHash, InputError> {
    if salt.is_empty() || salt.len() > MAX_SALT_LEN {
        return Err(refuse(
            "invalid_pbkdf_2_salt",
            "The PBKDF2 salt must be 1 to 1024 bytes.",
        ));
    }
    if !KEY_LENGTH.contains(&(digest.len() as i64)) {
        return Err(refuse(
            "invalid_pbkdf_2_hash",
            "The PBKDF2 hash must be 4 to 256 bytes.",
        ));
    }
    cost::pbkdf2(prf, iterations, digest.len())?;
    let iterations = to_u32(
        iterations,
        "invalid_pbkdf_2_iteration_amount",
        "The PBKDF2 iteration amount",
    )?;
    Ok(StoredHash::Pbkdf2 {
        prf,
        iterations,
        salt,
        hash: digest,
    })
}

pub(super) fn parse_pbkdf2(
    hash: &str,
    config: Option<&Pbkdf2Config>,
) -> Result<StoredHash, InputError> {
    // Django: pbkdf2_sha256$<iterations>$<salt as text>$<base64 hash>
    for (prefix, prf) in [
        ("pbkdf2_sha256$", Pbkdf2Prf::Sha256),
        ("pbkdf2_sha1$", Pbkdf2Prf::Sha1),
    ] {
        if let Some(rest) = hash.strip_prefix(prefix) {
            let invalid = || {
                refuse("invalid_pbkdf_2_hash", "Invalid Django PBKDF2 string: expected <algorithm>$<iterations>$<salt>$<hash>.")
            };
            let [iterations, salt, digest] = rest.split('$').collect::<Vec<_>>()[..] else {
                return Err(invalid());
            };
            let iterations: i64 = iterations.parse().map_err(|_| invalid())?;
            let digest = STANDARD.decode(digest).map_err(|_| invalid())?;
            return pbkdf2_checked(prf, iterations, salt.as_bytes().to_vec(), digest);
        }
    }
    // passlib: $pbkdf2-sha256$<iterations>$<ab64 salt>$<ab64 hash>; $pbkdf2$ is SHA-1.
    for (prefix, prf) in [
        ("$pbkdf2-sha256$", Pbkdf2Prf::Sha256),
        ("$pbkdf2-sha512$", Pbkdf2Prf::Sha512),
        ("$pbkdf2$", Pbkdf2Prf::Sha1),
    ] {
        if let Some(rest) = hash.strip_prefix(prefix) {
            let invalid = || {
                refuse("invalid_pbkdf_2_hash", "Invalid passlib PBKDF2 string: expected $pbkdf2-<digest>$<iterations>$<salt>$<hash>.")
            };
            let [iterations, salt, digest] = rest.split('$').collect::<Vec<_>>()[..] else {
                return Err(invalid());
            };
            let iterations: i64 = iterations.parse().map_err(|_| invalid())?;
            let salt = decode_b64(salt).ok_or_else(invalid)?;
            let digest = decode_b64(digest).ok_or_else(invalid)?;
            return pbkdf2_checked(prf, iterations, salt, digest);
        }
    }
    let Some(config) = config else {
        return Err(refuse(
            "invalid_hash",
            "A PBKDF2 hash needs pbkdf_2_config.",
        ));
    };
    let algorithm = config
        .algorithm
        .as_deref()
        .filter(|name| !name.is_empty())
        .unwrap_or("sha256");
    let prf = pbkdf2_prf(algorithm).ok_or_else(|| {
        refuse(
            "invalid_pbkdf_2_algorithm",
            "pbkdf_2_config.algorithm must be sha256 or sha512 (or sha1).",
        )
    })?;
    let digest = decode_b64(hash)
        .ok_or_else(|| refuse("invalid_pbkdf_2_hash", "The PBKDF2 hash must be base64."))?;
    let salt = decode_b64(&config.salt).ok_or_else(|| {
        refuse(
            "invalid_pbkdf_2_salt",
            "pbkdf_2_config.salt must be base64.",
        )
    })?;
    if usize::try_from(config.key_length).ok() != Some(digest.len()) {
        return Err(refuse(
            "pbkdf_2_key_length_mismatch",
            "pbkdf_2_config.key_length must equal the length of the decoded hash.",
        ));
    }
    pbkdf2_checked(prf, config.iteration_amount, salt, digest)
}

pub(super) fn parse_firebase(
    hash: &str,
    config: Option<&FirebaseScryptConfig>,
) -> Result<StoredHash, InputError> {
    let Some(config) = config else {
        return Err(refuse(
            "invalid_hash",
            "A firebase_scrypt hash needs firebase_scrypt_config.",
        ));
    };
    let field = |text: &str, name: &str| {
        STANDARD.decode(text).map_err(|_| {
            refuse(
                "invalid_hash",
                format!("firebase_scrypt_config.{name} must be base64."),
            )
        })
    };
    let signer_key = field(&config.signer_key, "signer_key")?;
    let salt_separator = field(&config.salt_separator, "salt_separator")?;
    let salt = field(&config.salt, "salt")?;
    let digest = STANDARD
        .decode(hash)
        .map_err(|_| refuse("invalid_hash", "A firebase_scrypt hash must be base64."))?;
    if signer_key.is_empty() || digest.len() != signer_key.len() || salt.is_empty() {
        return Err(refuse(
            "invalid_hash",
            "The firebase_scrypt hash must be as long as the signer key, and the salt non-empty.",
        ));
    }
    if !(1..=32).contains(&config.rounds) || !(1..=17).contains(&config.mem_cost) {
        return Err(refuse(
            "invalid_scrypt_parameters",
            "firebase_scrypt_config needs rounds between 1 and 32 and mem_cost between 1 and 17.",
        ));
    }
    cost::scrypt(config.mem_cost as u8, config.rounds as u32, 1, 64)?;
    Ok(StoredHash::FirebaseScrypt {
        signer_key,
        salt_separator,
        salt,
        rounds: config.rounds as u32,
        mem_cost: config.mem_cost as u8,
        hash: digest,
    })
}
