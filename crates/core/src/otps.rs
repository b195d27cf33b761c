//! One-time passcodes by SMS, WhatsApp and email, as Stytch has them: six digits, two minutes
//! by default (one to ten), one live code per `method_id` (sending again replaces it), used
//! once. A code is stored only as a keyed digest bound to its destination ([`code_context`]).

use chrono::Duration;
use rand::rngs::OsRng;
use rand::Rng;

use crate::ids::ProjectId;

/// How a code travels: the factor's `delivery_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OtpChannel {
    Sms,
    WhatsApp,
    Email,
}

pub const CODE_DIGITS: usize = 6;
pub const DEFAULT_EXPIRATION_MINUTES: i64 = 2;
pub const MIN_EXPIRATION_MINUTES: i64 = 1;
pub const MAX_EXPIRATION_MINUTES: i64 = 10;

/// Wrong guesses a code survives: the tenth kills it, whatever the user's lock says.
pub const MAX_WRONG_CODES: u32 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OtpError {
    #[error("expiration_minutes must be between 1 and 10")]
    InvalidExpiration,
    #[error("a code is six digits")]
    InvalidCode,
}

impl OtpChannel {
    pub const ALL: [OtpChannel; 3] = [OtpChannel::Sms, OtpChannel::WhatsApp, OtpChannel::Email];

    /// The name it is stored under, and the factor's `delivery_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            OtpChannel::Sms => "sms",
            OtpChannel::WhatsApp => "whatsapp",
            OtpChannel::Email => "email",
        }
    }

    pub fn parse(name: &str) -> Option<OtpChannel> {
        OtpChannel::ALL
            .into_iter()
            .find(|channel| channel.as_str() == name)
    }
}

/// The life of a code asked to live `minutes` (two by default).
pub fn expiry(minutes: Option<i64>) -> Result<Duration, OtpError> {
    let minutes = minutes.unwrap_or(DEFAULT_EXPIRATION_MINUTES);
    if !(MIN_EXPIRATION_MINUTES..=MAX_EXPIRATION_MINUTES).contains(&minutes) {
        return Err(OtpError::InvalidExpiration);
    }
    Ok(Duration::minutes(minutes))
}

/// A fresh code: six decimal digits, uniform, from the OS's generator.
/// The life of a B2B email passcode: Stytch's default of 10 minutes, 2 to 15.
pub fn b2b_email_expiry(minutes: Option<i64>) -> Result<Duration, OtpError> {
    let minutes = minutes.unwrap_or(10);
    if !(2..=15).contains(&minutes) {
        return Err(OtpError::InvalidExpiration);
    }
    Ok(Duration::minutes(minutes))
}

pub fn generate_code() -> String {
    format!("{:06}", OsRng.gen_range(0..1_000_000u32))
}

/// A presented code as it is digested: surrounding whitespace dropped, then exactly six ASCII
/// digits, or `invalid_code` before anything is looked up.
pub fn parse_code(code: &str) -> Result<&str, OtpError> {
    let code = code.trim();
    if code.len() == CODE_DIGITS && code.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(OtpError::InvalidCode)
    }
}

/// What a code's keyed digest binds ([`crate::vault::Vault::code_digest`]): its project and the
/// phone number or email it was sent to, so a code for one destination never passes for
/// another's.
pub fn code_context(project_id: &ProjectId, destination: &str) -> String {
    format!("otp:{project_id}:{destination}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Environment;
    use crate::vault::Vault;

    #[test]
    fn expiry_is_two_minutes_by_default_and_one_to_ten() {
        assert_eq!(expiry(None), Ok(Duration::minutes(2)));
        assert_eq!(expiry(Some(1)), Ok(Duration::minutes(1)));
        assert_eq!(expiry(Some(10)), Ok(Duration::minutes(10)));
        for minutes in [0, -5, 11, i64::MIN] {
            assert_eq!(expiry(Some(minutes)), Err(OtpError::InvalidExpiration));
        }
    }

    #[test]
    fn codes_are_six_digits_and_spread_over_all_of_them() {
        let codes: Vec<String> = (0..2_000).map(|_| generate_code()).collect();
        assert!(codes
            .iter()
            .all(|code| parse_code(code) == Ok(code.as_str())));
        // Leading zeros are kept, and the codes are not all alike.
        assert!(codes.iter().any(|code| code.starts_with('0')));
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert!(distinct.len() > 1_900);
    }

    #[test]
    fn presented_codes_are_six_ascii_digits() {
        assert_eq!(parse_code(" 012345\n"), Ok("012345"));
        for bad in ["12345", "1234567", "12a456", "１２３４５６", "", "12 456"] {
            assert_eq!(parse_code(bad), Err(OtpError::InvalidCode), "{bad:?}");
        }
    }

    #[test]
    fn a_code_digest_binds_project_and_destination() {
        let vault = Vault::from_key_text(&Vault::generate_key_text()).unwrap();
        let project = ProjectId::generate(Environment::Test);
        let other = ProjectId::generate(Environment::Test);
        let one = vault.code_digest(&code_context(&project, "phone-number-test-1"), "123456");
        assert_ne!(
            one,
            vault.code_digest(&code_context(&project, "phone-number-test-2"), "123456")
        );
        assert_ne!(
            one,
            vault.code_digest(&code_context(&other, "phone-number-test-1"), "123456")
        );
        for channel in OtpChannel::ALL {
            assert_eq!(OtpChannel::parse(channel.as_str()), Some(channel));
        }
    }
}
