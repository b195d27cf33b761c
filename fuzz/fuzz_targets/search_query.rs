//! Users search queries and cursors: any JSON query and any cursor string must parse or be
//! refused, never panic; a cursor Latchkey wrote decodes to itself.
#![no_main]

use latchkey_core::search::{SearchCursor, SearchQuery};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = SearchQuery::parse(&value);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cursor) = SearchCursor::decode(text) {
            let encoded = cursor.encode();
            assert_eq!(
                SearchCursor::decode(&encoded)
                    .map(SearchCursor::encode)
                    .ok(),
                Some(encoded)
            );
        }
    }
});
