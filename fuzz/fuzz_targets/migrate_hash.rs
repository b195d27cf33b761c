//! `passwords/migrate`'s hash and config parsing: any JSON body must be refused cleanly or
//! give a hash whose stored form reads back the same.
#![no_main]

use latchkey_core::passwords::migrate::{parse, MigrateHash};
use latchkey_core::passwords::StoredHash;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<MigrateHash>(data) else {
        return;
    };
    if let Ok(stored) = parse(&input) {
        let text = stored.to_json();
        let again = StoredHash::from_json(&text).expect("a stored hash reads back");
        assert_eq!(again.to_json(), text);
    }
});
