//! Hashing and verifying every stored format.

use super::*;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

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
    assert!(hash.verify("correct horse"));
    assert!(!hash.verify("correct horse "));
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
    assert!(hash.verify("pw"));
    assert_eq!(held(), 8 * 1024);
    release_hash_memory();
    assert_eq!(held(), 0);
    assert!(hash.verify("pw"));
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
        assert!(stored.verify("pw-3"));
        assert!(!stored.verify("pw-4"));
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
    assert!(hash.verify("user1password"));
    assert!(!hash.verify("user1password2"));
}
