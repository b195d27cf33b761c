//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): SHA-1, 6 digits, 30-second
//! steps, accepting the previous and the next step for clock drift, as Stytch does. Also the
//! `otpauth://` URI authenticator apps scan, drawn as a QR code in a PNG data URL, and recovery
//! codes.
//!
//! Replay protection is the store's: it records the last accepted step of each registration and
//! accepts a step only if it is later (see `matching_step`, which returns the step).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::InputError;

pub const DIGITS: usize = 6;
pub const STEP_SECONDS: i64 = 30;
/// Steps either side of the current one that are still accepted.
pub const DRIFT_STEPS: i64 = 1;
/// Length of a secret Latchkey mints: 160 bits, RFC 4226's recommendation.
const GENERATED_SECRET_BYTES: usize = 20;
/// Shortest migrated secret accepted: 80 bits (16 base32 characters), what common
/// authenticator apps still accept. RFC 4226 asks for at least 128 bits for new secrets.
const MIN_SECRET_BYTES: usize = 10;
const MAX_SECRET_BYTES: usize = 128;

/// A shared TOTP secret. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; GENERATED_SECRET_BYTES];
        OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// Parses a base32 secret as authenticator apps show it: case-insensitive, spaces and `=`
    /// padding ignored.
    pub fn from_base32(text: &str) -> Result<TotpSecret, InputError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let invalid = || InputError::Named {
            error_type: "invalid_totp_secret",
            message: "secret must be a base32 string (RFC 4648) of 80 to 1024 bits.".to_owned(),
        };
        let bytes = data_encoding::BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| invalid())?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err(invalid());
        }
        Ok(TotpSecret(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> TotpSecret {
        TotpSecret(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Upper-case base32 without padding, as Stytch returns `secret`.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// The HOTP value of `counter` (RFC 4226 §5.3), as six digits.
    pub fn code_at(&self, counter: u64) -> String {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(&counter.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[19] & 0x0f);
        let binary = (u32::from(digest[offset]) & 0x7f) << 24
            | u32::from(digest[offset + 1]) << 16
            | u32::from(digest[offset + 2]) << 8
            | u32::from(digest[offset + 3]);
        format!("{:06}", binary % 1_000_000)
    }

    /// The code of the step containing `unix_seconds`.
    pub fn code_at_time(&self, unix_seconds: i64) -> String {
        self.code_at(step_of(unix_seconds).max(0).unsigned_abs())
    }

    /// The step among the current one and its neighbours whose code is `code`, comparing all of
    /// them in constant time. `None` when none matches.
    pub fn matching_step(&self, code: &str, unix_seconds: i64) -> Option<i64> {
        if !is_code_shaped(code) {
            return None;
        }
        let now = step_of(unix_seconds);
        let mut found = None;
        for step in now - DRIFT_STEPS..=now + DRIFT_STEPS {
            let Ok(counter) = u64::try_from(step) else {
                continue;
            };
            let matches: bool = self
                .code_at(counter)
                .as_bytes()
                .ct_eq(code.as_bytes())
                .into();
            // Keep the latest matching step, without leaving the loop early.
            if matches {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://totp/` URI an authenticator app reads from the QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let issuer = percent_encode(issuer);
        let account = percent_encode(account);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.to_base32()
        )
    }
}

/// The step number of an instant: whole 30-second periods since the Unix epoch.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// Six ASCII digits.
pub fn is_code_shaped(code: &str) -> bool {
    code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Draws `text` as a QR code in a black-on-white PNG (4 pixels a module, 4-module quiet zone),
/// returned as a `data:image/png;base64,` URL.
pub fn qr_code_data_url(text: &str) -> Result<String, QrError> {
    const SCALE: usize = 4;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|_| QrError)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (index, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (x, y) = (index % modules + QUIET, index / modules + QUIET);
        for dy in 0..SCALE {
            let row = (y * SCALE + dy) * side;
            pixels[row + x * SCALE..row + (x + 1) * SCALE].fill(0);
        }
    }
    let side = u32::try_from(side).map_err(|_| QrError)?;
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|_| QrError)?;
        writer.write_image_data(&pixels).map_err(|_| QrError)?;
    }
    Ok(format!(
        "data:image/png;base64,{}",
        STANDARD.encode(png_bytes)
    ))
}

/// The text did not fit in a QR code (or the PNG could not be written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot draw the QR code")]
pub struct QrError;

/// How many recovery codes a registration gets, as with Stytch.
pub const RECOVERY_CODE_COUNT: usize = 10;
const MAX_RECOVERY_CODE_LEN: usize = 128;
const MIN_RECOVERY_CODE_LEN: usize = 6;

/// A fresh recovery code in Stytch's shape: `xxxx-xxxx-xxxx`, lower-case letters and digits
/// (about 62 bits).
pub fn generate_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = OsRng;
    let mut code = String::with_capacity(14);
    for group in 0..3 {
        if group > 0 {
            code.push('-');
        }
        for _ in 0..4 {
            code.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
        }
    }
    code
}

pub fn generate_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODE_COUNT)
        .map(|_| generate_recovery_code())
        .collect()
}

/// The form a recovery code is compared in: trimmed and lower-cased, so `CKSS-2SKX-EBOW`
/// works as well as `ckss-2skx-ebow`.
pub fn normalize_recovery_code(code: &str) -> String {
    code.trim().to_ascii_lowercase()
}

/// Checks migrated recovery codes: 1 to 64 of them, each 6 to 128 visible ASCII characters,
/// no two alike. Returns them normalized.
pub fn parse_recovery_codes(codes: &[String]) -> Result<Vec<String>, InputError> {
    let invalid = |message: &str| InputError::Named {
        error_type: "invalid_recovery_code",
        message: message.to_owned(),
    };
    if codes.is_empty() || codes.len() > 64 {
        return Err(invalid("recovery_codes must hold 1 to 64 codes."));
    }
    let mut parsed = Vec::with_capacity(codes.len());
    for code in codes {
        let code = normalize_recovery_code(code);
        if code.len() < MIN_RECOVERY_CODE_LEN
            || code.len() > MAX_RECOVERY_CODE_LEN
            || !code.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid(
                "Each recovery code must be 6 to 128 visible ASCII characters.",
            ));
        }
        if parsed.contains(&code) {
            return Err(invalid("recovery_codes must not repeat a code."));
        }
        parsed.push(code);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (the 8-digit values, of which the last 6 digits are the
    /// 6-digit code: truncation is modulo 10^digits).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        for (time, eight_digits) in [
            (59_i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code_at_time(time), eight_digits[2..], "T = {time}");
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0..9.
    #[test]
    fn rfc_4226_hotp_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(secret.code_at(counter as u64), *code);
        }
    }

    #[test]
    fn neighbouring_steps_match_and_further_ones_do_not() {
        let secret = TotpSecret::generate();
        let now = 1_700_000_015;
        let step = step_of(now);
        for offset in -1..=1 {
            let code = secret.code_at((step + offset) as u64);
            assert_eq!(secret.matching_step(&code, now), Some(step + offset));
        }
        for offset in [-3, -2, 2, 3] {
            let code = secret.code_at((step + offset) as u64);
            // A far step's code may coincide with a near one's; only check when it does not.
            if (-1..=1).all(|near| secret.code_at((step + near) as u64) != code) {
                assert_eq!(secret.matching_step(&code, now), None);
            }
        }
        assert_eq!(secret.matching_step("12345", now), None);
        assert_eq!(secret.matching_step("12345a", now), None);
        assert_eq!(secret.matching_step("1234567", now), None);
    }

    #[test]
    fn base32_round_trips_and_is_lenient_about_case_spaces_and_padding() {
        let secret = TotpSecret::from_base32("BTGNX5RKJRMQWQFRQKTG34JCF6XDRHZS").unwrap();
        assert_eq!(secret.as_bytes().len(), 20);
        assert_eq!(secret.to_base32(), "BTGNX5RKJRMQWQFRQKTG34JCF6XDRHZS");
        let loose = TotpSecret::from_base32("btgn x5rk jrmq wqfr qktg 34jc f6xd rhzs").unwrap();
        assert_eq!(loose, secret);
        assert!(TotpSecret::from_base32("JBSWY3DPEHPK3PXP").is_ok());
        for bad in ["", "JBSWY3DP", "not base32!", "0000000000000000"] {
            assert!(TotpSecret::from_base32(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn otpauth_uri_names_issuer_account_and_parameters() {
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(
            secret.otpauth_uri("Acme Inc", "ada@example.com"),
            "otpauth://totp/Acme%20Inc:ada@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Inc&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn qr_code_is_a_png_data_url() {
        let url = qr_code_data_url("otpauth://totp/x:y?secret=JBSWY3DPEHPK3PXP").unwrap();
        let encoded = url.strip_prefix("data:image/png;base64,").unwrap();
        let png = STANDARD.decode(encoded).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(png.as_slice());
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert!(info.width >= 29 * 4);
    }

    #[test]
    fn recovery_codes_have_stytch_shape_and_migrated_ones_are_checked() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 14);
            assert!(code.split('-').all(|group| group.len() == 4
                && group
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())));
        }
        let given = vec!["CKSS-2SKX-EBOW".to_owned(), " spbc-424h-usy0 ".to_owned()];
        assert_eq!(
            parse_recovery_codes(&given).unwrap(),
            vec!["ckss-2skx-ebow", "spbc-424h-usy0"]
        );
        assert!(parse_recovery_codes(&[]).is_err());
        assert!(parse_recovery_codes(&["abc".to_owned()]).is_err());
        assert!(parse_recovery_codes(&["abc def ghi".to_owned()]).is_err());
        assert!(parse_recovery_codes(&["aaaaaaa".to_owned(), "AAAAAAA".to_owned()]).is_err());
    }
}
