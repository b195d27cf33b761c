//! Hashing and verifying every stored format.

use super::*;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Verifies with the server's default settings as its own.
fn verifies(hash: &StoredHash, password: &str) -> bool {
    hash.verify(password, &Argon2Settings::default()).unwrap()
}

fn quick() -> Argon2Settings {
    Argon2Settings {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    }
}

#[test]
fn new_hashes_verify_and_need_no_upgrade() {
    let hash = hash_password("correct horse", &quick()).unwrap();
    assert!(verifies(&hash, "correct horse"));
    assert!(!verifies(&hash, "correct horse "));
    assert!(!hash.needs_upgrade(&quick()));
    assert!(hash.needs_upgrade(&Argon2Settings::default()));
    let round_trip = StoredHash::from_json(&hash.to_json()).unwrap();
    assert_eq!(round_trip, hash);
}

#[test]
fn a_thread_keeps_its_argon2_memory_until_it_gives_it_back() {
    let held = || ARGON2_MEMORY.with(|memory| memory.borrow().len());
    let hash = hash_password("pw", &Argon2Settings::new(8 * 1024, 2, 1).unwrap()).unwrap();
    assert_eq!(held(), 8 * 1024);
    assert!(verifies(&hash, "pw"));
    assert_eq!(held(), 8 * 1024);
    release_hash_memory();
    assert_eq!(held(), 0);
    assert!(verifies(&hash, "pw"));
}

#[test]
fn our_argon2_agrees_with_the_crates_own_hasher_and_verifier() {
    // What we write, the argon2 crate's verifier accepts; what its hasher writes, we accept.
    let settings = Argon2Settings::new(8 * 1024, 2, 2).unwrap();
    let StoredHash::Argon2Phc { phc } = hash_password("pw-1", &settings).unwrap() else {
        unreachable!()
    };
    assert!(phc.starts_with("$argon2id$v=19$m=8192,t=2,p=2$"), "{phc}");
    let parsed = PasswordHash::new(&phc).unwrap();
    assert!(Argon2::default().verify_password(b"pw-1", &parsed).is_ok());
    assert!(Argon2::default().verify_password(b"pw-2", &parsed).is_err());
    for algorithm in [Algorithm::Argon2id, Algorithm::Argon2i, Algorithm::Argon2d] {
        let theirs = Argon2::new(
            algorithm,
            Version::V0x13,
            Params::new(256, 3, 1, None).unwrap(),
        )
        .hash_password(b"pw-3", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        let stored = StoredHash::Argon2Phc { phc: theirs };
        assert!(verifies(&stored, "pw-3"));
        assert!(!verifies(&stored, "pw-4"));
    }
}

#[test]
fn debug_does_not_show_the_hash() {
    let hash = hash_password("pw", &quick()).unwrap();
    let shown = format!("{hash:?}");
    assert!(!shown.contains("argon2id$"), "{shown}");
}

#[test]
fn firebase_reference_vector() {
    // From the README of github.com/firebase/scrypt.
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    let hash = StoredHash::FirebaseScrypt {
        signer_key: STANDARD
            .decode("jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==")
            .unwrap(),
        salt_separator: STANDARD.decode("Bw==").unwrap(),
        salt: STANDARD.decode("42xEC+ixf3L2lw==").unwrap(),
        rounds: 8,
        mem_cost: 14,
        hash: STANDARD
            .decode("lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==")
            .unwrap(),
    };
    assert!(verifies(&hash, "user1password"));
    assert!(!verifies(&hash, "user1password2"));
}

/// The refusal `migrate::parse` gives a hash and config, as `(error_type, message)`.
fn refusal(request: serde_json::Value) -> (&'static str, String) {
    let request: migrate::MigrateHash = serde_json::from_value(request).unwrap();
    match migrate::parse(&request) {
        Err(crate::InputError::Named {
            error_type,
            message,
        }) => (error_type, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn parses(request: serde_json::Value) -> StoredHash {
    let request: migrate::MigrateHash = serde_json::from_value(request).unwrap();
    migrate::parse(&request).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pbkdf2_request(algorithm: &str, iterations: i64, key_length: usize) -> serde_json::Value {
    serde_json::json!({"hash_type": "pbkdf_2", "hash": b64(&vec![7; key_length]),
        "pbkdf_2_config": {"salt": b64(b"saltsalt"), "iteration_amount": iterations,
                           "key_length": key_length, "algorithm": algorithm}})
}

#[test]
fn hashes_over_a_cost_bound_are_refused_at_migrate_time_with_the_bound() {
    use cost::*;
    // The issue's case: PBKDF2-SHA512 at 10^7 iterations, about 22 CPU seconds per login.
    let (error_type, message) = refusal(pbkdf2_request("sha512", 10_000_000, 64));
    assert_eq!(error_type, "invalid_pbkdf_2_iteration_amount");
    assert!(
        message.contains(&PBKDF2_MAX_ITERATIONS_SHA512.to_string()),
        "{message}"
    );
    // At the bound it is accepted; one more iteration is not.
    for (algorithm, max) in [
        ("sha1", PBKDF2_MAX_ITERATIONS_SHA1),
        ("sha256", PBKDF2_MAX_ITERATIONS_SHA256),
        ("sha512", PBKDF2_MAX_ITERATIONS_SHA512),
    ] {
        let block = match algorithm {
            "sha1" => 20,
            "sha256" => 32,
            _ => 64,
        };
        parses(pbkdf2_request(algorithm, i64::from(max), block));
        let (error_type, _) = refusal(pbkdf2_request(algorithm, i64::from(max) + 1, block));
        assert_eq!(
            error_type, "invalid_pbkdf_2_iteration_amount",
            "{algorithm}"
        );
        // A key of two blocks runs every iteration twice: half the iterations.
        parses(pbkdf2_request(algorithm, i64::from(max / 2), block * 2));
        let (_, message) = refusal(pbkdf2_request(algorithm, i64::from(max / 2) + 1, block * 2));
        assert!(message.contains(&(max / 2).to_string()), "{message}");
    }

    let bcrypt = |cost: u32| {
        serde_json::json!({"hash_type": "bcrypt",
            "hash": format!("$2b${cost:02}$RoEFDryXNGmcXpw.KnjIHuKvEBddXs.ccNmzxQ1HsrlCTwX7f2.De")})
    };
    parses(bcrypt(*BCRYPT_COST.end()));
    let (error_type, message) = refusal(bcrypt(BCRYPT_COST.end() + 1));
    assert_eq!(error_type, "invalid_bcrypt_cost");
    assert!(
        message.contains(&BCRYPT_COST.end().to_string()),
        "{message}"
    );

    let argon2 = |memory: u32, iterations: u32| {
        serde_json::json!({"hash_type": "argon_2id",
            "hash": format!("$argon2id$v=19$m={memory},t={iterations},p=1$c2FsdHNhbHQ$YR4M3Fd74L5snIBSZhAjlq0LdTmWWGA92bYWHm/4JwQ")})
    };
    let passes = (ARGON2_MAX_WORK_KIB / 65_536) as u32;
    parses(argon2(65_536, passes));
    let (error_type, message) = refusal(argon2(65_536, passes + 1));
    assert_eq!(error_type, "invalid_argon_2_iteration_amount");
    assert!(
        message.contains(&ARGON2_MAX_WORK_KIB.to_string()),
        "{message}"
    );
    let (error_type, _) = refusal(argon2(ARGON2_MAX_MEMORY_KIB + 1, 1));
    assert_eq!(error_type, "invalid_argon_2_memory");

    let scrypt = |ln: u32, r: u32, p: u32| {
        serde_json::json!({"hash_type": "scrypt",
            "hash": format!("$scrypt$ln={ln},r={r},p={p}$c2FsdHNhbHQ$YR4M3Fd74L5snIBSZhAjlq0LdTmWWGA92bYWHm/4JwQ")})
    };
    let max_log_n = (SCRYPT_MAX_WORK / 8).trailing_zeros();
    parses(scrypt(max_log_n, 8, 1));
    let (error_type, message) = refusal(scrypt(max_log_n - 1, 8, 3));
    assert_eq!(error_type, "invalid_scrypt_parameters");
    assert!(message.contains(&SCRYPT_MAX_WORK.to_string()), "{message}");

    let sha512_crypt = |rounds: u64| {
        serde_json::json!({"hash_type": "sha_512",
            "hash": format!("$6$rounds={rounds}$saltsalt${}", "a".repeat(86))})
    };
    parses(sha512_crypt(*SHA512_CRYPT_ROUNDS.end()));
    let (error_type, message) = refusal(sha512_crypt(SHA512_CRYPT_ROUNDS.end() + 1));
    assert_eq!(error_type, "invalid_hash");
    assert!(
        message.contains(&SHA512_CRYPT_ROUNDS.end().to_string()),
        "{message}"
    );
    let sha256_crypt = |rounds: u64| {
        serde_json::json!({"hash_type": "sha_256",
            "hash": format!("$5$rounds={rounds}$saltsalt${}", "a".repeat(43))})
    };
    parses(sha256_crypt(*SHA256_CRYPT_ROUNDS.end()));
    let (error_type, _) = refusal(sha256_crypt(SHA256_CRYPT_ROUNDS.end() + 1));
    assert_eq!(error_type, "invalid_hash");

    let phpass = |count_log2: u32| {
        let itoa64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let count = char::from(itoa64[count_log2 as usize]);
        serde_json::json!({"hash_type": "phpass", "hash": format!("$P${count}saltsalt{}", ".".repeat(22))})
    };
    parses(phpass(*PHPASS_COUNT_LOG2.end()));
    let (error_type, message) = refusal(phpass(PHPASS_COUNT_LOG2.end() + 1));
    assert_eq!(error_type, "invalid_phpass_hash_format");
    assert!(
        message.contains(&format!("2^{}", PHPASS_COUNT_LOG2.end())),
        "{message}"
    );
}

#[test]
fn a_stored_hash_over_the_budget_is_refused_at_verify_time_without_computing_it() {
    // As stored before the bound: migrate accepted up to 10^7 PBKDF2 iterations.
    let stored = StoredHash::from_json(&format!(
        r#"{{"kind":"pbkdf2","prf":"sha512","iterations":10000000,"salt":"{}","hash":"{}"}}"#,
        b64(b"saltsalt"),
        b64(&[7; 64])
    ))
    .unwrap();
    let started = std::time::Instant::now();
    let verdict = stored.verify("any password", &Argon2Settings::default());
    let over = verdict.unwrap_err();
    assert_eq!(over.error_type, "invalid_pbkdf_2_iteration_amount");
    // Computing it takes tens of seconds; refusing it, microseconds.
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    for json in [
        r#"{"kind":"bcrypt","mcf":"$2b$16$RoEFDryXNGmcXpw.KnjIHuKvEBddXs.ccNmzxQ1HsrlCTwX7f2.De","input":"plain"}"#,
        r#"{"kind":"unix_crypt","mcf":"$6$rounds=999999999$saltsalt$abc"}"#,
        r#"{"kind":"phpass","hash":"$P$Nsaltsalt......................"}"#,
        r#"{"kind":"argon2_phc","phc":"$argon2id$v=19$m=262144,t=32,p=1$c2FsdHNhbHQ$YR4M3Fd74L5snIBSZhAjlq0LdTmWWGA92bYWHm/4JwQ"}"#,
    ] {
        let stored = StoredHash::from_json(json).unwrap();
        assert!(
            stored.verify("pw", &Argon2Settings::default()).is_err(),
            "{json}"
        );
    }
}

#[test]
fn the_servers_own_argon2_cost_is_always_affordable() {
    // An operator may choose up to 1 GiB and 10 passes for new hashes; those must still verify.
    let heavy = Argon2Settings::new(512 * 1024, 3, 1).unwrap();
    let phc = StoredHash::Argon2Phc {
        phc: "$argon2id$v=19$m=524288,t=3,p=1$c2FsdHNhbHQ$YR4M3Fd74L5snIBSZhAjlq0LdTmWWGA92bYWHm/4JwQ"
            .to_owned(),
    };
    assert!(phc.check_cost(&heavy).is_ok());
    assert!(phc.check_cost(&Argon2Settings::default()).is_err());
    // The same cost migrated from elsewhere is over the migrate bound.
    let (error_type, _) = refusal(
        serde_json::json!({"hash_type": "argon_2id", "hash": match &phc {
            StoredHash::Argon2Phc { phc } => phc.clone(),
            _ => unreachable!(),
        }}),
    );
    assert_eq!(error_type, "invalid_argon_2_memory");
}

#[test]
fn scrypt_keys_are_10_to_64_bytes_the_lengths_that_verify() {
    let salt = b"saltsalt";
    let scrypt_request = |key: &[u8], n: i64, r: i64| {
        serde_json::json!({"hash_type": "scrypt", "hash": b64(key),
            "scrypt_config": {"salt": b64(salt), "n_parameter": n, "r_parameter": r,
                              "p_parameter": 1, "key_length": key.len()}})
    };
    for length in [10, 64] {
        let params = scrypt::Params::new(4, 8, 1, length).unwrap();
        let mut key = vec![0u8; length];
        scrypt::scrypt(b"hunter2", salt, &params, &mut key).unwrap();
        let stored = parses(scrypt_request(&key, 16, 8));
        assert!(verifies(&stored, "hunter2"), "{length}");
        assert!(!verifies(&stored, "hunter3"), "{length}");
    }
    for length in [4, 9, 65, 256] {
        let (error_type, message) = refusal(scrypt_request(&vec![7; length], 16, 8));
        assert_eq!(error_type, "invalid_scrypt_key_length", "{length}");
        assert!(message.contains("10 to 64"), "{message}");
    }
    // N must be below 2^(16·r), or the hash cannot be computed at all.
    let (error_type, _) = refusal(scrypt_request(&[7; 32], 1 << 16, 1));
    assert_eq!(error_type, "invalid_scrypt_parameters");
    let (error_type, _) = refusal(serde_json::json!({"hash_type": "firebase_scrypt",
        "hash": b64(&[1; 64]),
        "firebase_scrypt_config": {"signer_key": b64(&[2; 64]), "salt_separator": "Bw==",
            "salt": b64(b"salt"), "rounds": 1, "mem_cost": 16}}));
    assert_eq!(error_type, "invalid_scrypt_parameters");
}

#[test]
fn bcrypt_compares_the_first_72_bytes_as_every_bcrypt_does() {
    // The rule at migrate-and-login time: a password over 72 bytes verifies against a plain
    // bcrypt hash by its first 72 bytes, as it did where the hash was made; the login then
    // rehashes the whole password with argon2id (the server test holds that part).
    let long = "correct horse battery staple ".repeat(4);
    assert!(long.len() > 72);
    let mcf = bcrypt::hash_with_salt(long.as_bytes(), 4, [9; 16])
        .unwrap()
        .to_string();
    let stored = StoredHash::Bcrypt {
        mcf,
        input: BcryptInput::Plain,
    };
    assert!(verifies(&stored, &long));
    let same_prefix = format!("{}-and-then-something-else", &long[..72]);
    assert!(verifies(&stored, &same_prefix));
    assert!(!verifies(&stored, &long[..71]));
}
