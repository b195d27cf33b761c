//! The parsers of untrusted strings at the edge: ids, emails, phone numbers, external ids,
//! organization slugs, TOTP secrets and recovery codes. None may panic; what parses, prints
//! back as a value that parses to itself.
#![no_main]

use latchkey_core::organizations::OrganizationSlug;
use latchkey_core::ids::{MemberId, OrganizationId, ProjectId, SessionId, UserId};
use latchkey_core::totps::{parse_recovery_codes, TotpSecret};
use latchkey_core::values::{Email, ExternalId, PhoneNumber};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = UserId::parse(text) {
        assert_eq!(UserId::parse(id.as_str()), Ok(id.clone()));
    }
    let _ = ProjectId::parse(text);
    let _ = SessionId::parse(text);
    let _ = OrganizationId::parse(text);
    let _ = MemberId::parse(text);
    if let Ok(email) = Email::parse(text) {
        assert_eq!(
            Email::parse(email.as_str())
                .map(|e| e.as_str().to_owned())
                .ok(),
            Some(email.as_str().to_owned())
        );
    }
    if let Ok(phone) = PhoneNumber::parse(text) {
        assert!(PhoneNumber::parse(phone.as_str()).is_ok());
    }
    let _ = ExternalId::parse(text);
    let _ = OrganizationSlug::parse(text);
    let _ = OrganizationSlug::from_name(text);
    let _ = TotpSecret::from_base32(text);
    let codes: Vec<String> = text.split(',').map(str::to_owned).collect();
    let _ = parse_recovery_codes(&codes);
});
