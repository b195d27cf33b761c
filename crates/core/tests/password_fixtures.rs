//! Every hash in `fixtures/password_hashes.json` (made by hashlib, passlib, bcrypt, argon2-cffi
//! and OpenSSL; see scripts/gen-password-fixtures.py) must be accepted by `migrate::parse`,
//! verify its password, refuse a wrong one, and survive the JSON round trip of storage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use latchkey_core::passwords::migrate::{self, MigrateHash};
use latchkey_core::passwords::{Argon2Settings, StoredHash};
use serde_json::Value;

fn request(case: &Value) -> MigrateHash {
    serde_json::from_value(case.clone()).unwrap()
}

#[test]
fn every_fixture_parses_and_verifies() {
    let fixtures: Value =
        serde_json::from_str(include_str!("fixtures/password_hashes.json")).unwrap();
    let cases = fixtures["cases"].as_array().unwrap();
    assert!(cases.len() > 100, "the fixture file lost its cases");
    let mut kinds = std::collections::BTreeSet::new();
    let own = Argon2Settings::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let stored =
            migrate::parse(&request(case)).unwrap_or_else(|error| panic!("{name}: {error:?}"));
        kinds.insert(stored.kind());
        let stored = StoredHash::from_json(&stored.to_json()).unwrap();
        assert!(
            stored
                .verify(case["password"].as_str().unwrap(), &own)
                .unwrap(),
            "{name}: right password refused"
        );
        assert!(
            !stored
                .verify(case["wrong_password"].as_str().unwrap(), &own)
                .unwrap(),
            "{name}: wrong password accepted"
        );
    }
    assert_eq!(kinds.len(), 9, "every stored kind is exercised: {kinds:?}");
}

fn error_type(fragment: Value) -> &'static str {
    match migrate::parse(&request(&fragment)) {
        Err(latchkey_core::InputError::Named { error_type, .. }) => error_type,
        other => panic!("{fragment}: expected a named refusal, got {other:?}"),
    }
}

#[test]
fn hashes_and_configs_that_cannot_be_right_are_refused_with_stytch_names() {
    use serde_json::json;
    let bcrypt = "$2b$04$RoEFDryXNGmcXpw.KnjIHuKvEBddXs.ccNmzxQ1HsrlCTwX7f2.De";
    let cases = [
        (
            json!({"hash_type": "rot13", "hash": "abc"}),
            "invalid_hash_type",
        ),
        (json!({"hash_type": "", "hash": "abc"}), "invalid_hash_type"),
        (json!({"hash_type": "bcrypt", "hash": ""}), "invalid_hash"),
        (
            json!({"hash_type": "bcrypt", "hash": "x".repeat(2000)}),
            "invalid_hash",
        ),
        (
            json!({"hash_type": "bcrypt", "hash": &bcrypt[..59]}),
            "invalid_bcrypt_hash",
        ),
        (
            json!({"hash_type": "bcrypt", "hash": bcrypt.replace("$2b$", "$2z$")}),
            "invalid_bcrypt_hash",
        ),
        (
            json!({"hash_type": "bcrypt", "hash": bcrypt.replace("$04$", "$31$")}),
            "invalid_bcrypt_cost",
        ),
        (
            json!({"hash_type": "bcrypt", "hash": bcrypt.replace("$04$", "$03$")}),
            "invalid_bcrypt_cost",
        ),
        (
            json!({"hash_type": "bcrypt", "hash": bcrypt.replace('R', "!")}),
            "invalid_bcrypt_hash",
        ),
        (
            json!({"hash_type": "md_5", "hash": "abcd"}),
            "invalid_md_5_hash",
        ),
        (
            json!({"hash_type": "md_5", "hash": "zz".repeat(16)}),
            "invalid_md_5_hash",
        ),
        (
            json!({"hash_type": "sha_1", "hash": "ab".repeat(16)}),
            "invalid_sha_1_hash",
        ),
        (
            json!({"hash_type": "sha_512", "hash": "ab".repeat(20)}),
            "invalid_hash",
        ),
        (
            json!({"hash_type": "md_5", "hash": "ab".repeat(16), "md_5_config": {"prepend_salt": "x".repeat(2000)}}),
            "invalid_prepend_salt",
        ),
        (
            json!({"hash_type": "sha_1", "hash": "ab".repeat(20), "sha_1_config": {"append_salt": "x".repeat(2000)}}),
            "invalid_append_salt",
        ),
        (
            json!({"hash_type": "md_5", "hash": "$1$saltsaltsalt$abcdefghijklmnopqrstuv"}),
            "invalid_md_5_hash",
        ),
        (
            json!({"hash_type": "sha_512", "hash": "$6$rounds=999999999$salt$abc"}),
            "invalid_hash",
        ),
        (
            json!({"hash_type": "argon_2id", "hash": "abcdef"}),
            "invalid_hash",
        ),
        (
            json!({"hash_type": "argon_2id", "hash": "$argon2id$v=19$m=64,t=1,p=1"}),
            "invalid_argon_2_salt",
        ),
        (
            json!({"hash_type": "argon_2i", "hash": "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$YR4M3Fd74L5snIBSZhAjlq0LdTmWWGA92bYWHm/4JwQ"}),
            "invalid_hash",
        ),
        (
            json!({"hash_type": "argon_2id", "hash": "$argon2id$v=19$m=4000000,t=1,p=1$c2FsdHNhbHQ$YR4M3Fd74L5snIBSZhAjlq0LdTmWWGA92bYWHm/4JwQ"}),
            "invalid_argon_2_memory",
        ),
        (
            json!({"hash_type": "argon_2id", "hash": "ab".repeat(16), "argon_2_config": {"salt": "saltsalt", "iteration_amount": 0, "memory": 64, "threads": 1, "key_length": 16}}),
            "invalid_argon_2_iteration_amount",
        ),
        (
            json!({"hash_type": "argon_2id", "hash": "ab".repeat(16), "argon_2_config": {"salt": "saltsalt", "iteration_amount": 1, "memory": 1 << 30, "threads": 1, "key_length": 16}}),
            "invalid_argon_2_memory",
        ),
        (
            json!({"hash_type": "argon_2id", "hash": "ab".repeat(16), "argon_2_config": {"salt": "saltsalt", "iteration_amount": 1, "memory": 64, "threads": 0, "key_length": 16}}),
            "invalid_argon_2_threads",
        ),
        (
            json!({"hash_type": "argon_2id", "hash": "ab".repeat(16), "argon_2_config": {"salt": "saltsalt", "iteration_amount": 1, "memory": 64, "threads": 1, "key_length": 32}}),
            "argon_2_key_length_mismatch",
        ),
        (
            json!({"hash_type": "argon_2id", "hash": "ab".repeat(16), "argon_2_config": {"salt": "salt", "iteration_amount": 1, "memory": 64, "threads": 1, "key_length": 16}}),
            "invalid_argon_2_salt",
        ),
        (
            json!({"hash_type": "argon_2id", "hash": "ab".repeat(16), "argon_2_config": {"salt": "saltsalt", "iteration_amount": 1, "memory": 64, "threads": 1, "key_length": 1}}),
            "invalid_argon_2_key_length",
        ),
        (
            json!({"hash_type": "scrypt", "hash": "AAAA"}),
            "invalid_hash",
        ),
        (
            json!({"hash_type": "scrypt", "hash": "!!!", "scrypt_config": {"salt": "c2FsdA==", "n_parameter": 1024, "r_parameter": 8, "p_parameter": 1, "key_length": 3}}),
            "invalid_base64_scrypt_hash",
        ),
        (
            json!({"hash_type": "scrypt", "hash": "AAAAAAAA", "scrypt_config": {"salt": "%%%", "n_parameter": 1024, "r_parameter": 8, "p_parameter": 1, "key_length": 6}}),
            "invalid_base64_scrypt_salt",
        ),
        (
            json!({"hash_type": "scrypt", "hash": "AAAAAAAA", "scrypt_config": {"salt": "c2FsdA==", "n_parameter": 1000, "r_parameter": 8, "p_parameter": 1, "key_length": 6}}),
            "invalid_scrypt_n_parameter",
        ),
        (
            json!({"hash_type": "scrypt", "hash": "AAAAAAAA", "scrypt_config": {"salt": "c2FsdA==", "n_parameter": 524288, "r_parameter": 8, "p_parameter": 1, "key_length": 6}}),
            "invalid_scrypt_n_parameter",
        ),
        (
            json!({"hash_type": "scrypt", "hash": "AAAAAAAA", "scrypt_config": {"salt": "c2FsdA==", "n_parameter": 262144, "r_parameter": 32, "p_parameter": 1, "key_length": 6}}),
            "invalid_scrypt_parameters",
        ),
        (
            json!({"hash_type": "scrypt", "hash": "AAAAAAAA", "scrypt_config": {"salt": "", "n_parameter": 1024, "r_parameter": 8, "p_parameter": 1, "key_length": 6}}),
            "invalid_scrypt_salt_length",
        ),
        (
            json!({"hash_type": "scrypt", "hash": "AAAAAAAA", "scrypt_config": {"salt": "c2FsdA==", "n_parameter": 1024, "r_parameter": 8, "p_parameter": 1, "key_length": 32}}),
            "scrypt_key_length_mismatch",
        ),
        (
            json!({"hash_type": "pbkdf_2", "hash": "AAAAAAAA"}),
            "invalid_hash",
        ),
        (
            json!({"hash_type": "pbkdf_2", "hash": "AAAAAAAA", "pbkdf_2_config": {"salt": "c2FsdA==", "iteration_amount": 1000, "key_length": 6, "algorithm": "md4"}}),
            "invalid_pbkdf_2_algorithm",
        ),
        (
            json!({"hash_type": "pbkdf_2", "hash": "!!", "pbkdf_2_config": {"salt": "c2FsdA==", "iteration_amount": 1000, "key_length": 6}}),
            "invalid_pbkdf_2_hash",
        ),
        (
            json!({"hash_type": "pbkdf_2", "hash": "AAAAAAAA", "pbkdf_2_config": {"salt": "%%", "iteration_amount": 1000, "key_length": 6}}),
            "invalid_pbkdf_2_salt",
        ),
        (
            json!({"hash_type": "pbkdf_2", "hash": "AAAAAAAA", "pbkdf_2_config": {"salt": "c2FsdA==", "iteration_amount": 0, "key_length": 6}}),
            "invalid_pbkdf_2_iteration_amount",
        ),
        (
            json!({"hash_type": "pbkdf_2", "hash": "AAAAAAAA", "pbkdf_2_config": {"salt": "c2FsdA==", "iteration_amount": 1000, "key_length": 32}}),
            "pbkdf_2_key_length_mismatch",
        ),
        (
            json!({"hash_type": "phpass", "hash": "$X$685/Q9ccXii3VUzDP0zRsvztKF836s0"}),
            "invalid_phpass_hash_prefix",
        ),
        (
            json!({"hash_type": "phpass", "hash": "$P$685/Q9cc"}),
            "invalid_phpass_hash_format",
        ),
        (
            json!({"hash_type": "phpass", "hash": "$P$z85/Q9ccXii3VUzDP0zRsvztKF836s0"}),
            "invalid_phpass_hash_format",
        ),
        (
            json!({"hash_type": "firebase_scrypt", "hash": "AAAA"}),
            "invalid_hash",
        ),
    ];
    for (fragment, expected) in cases {
        assert_eq!(error_type(fragment.clone()), expected, "{fragment}");
    }
}
