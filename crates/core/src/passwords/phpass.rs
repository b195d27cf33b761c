//! phpass "portable" hashes (`$P$` / `$H$`), as written by WordPress, phpBB and Drupal 7 imports.
//! No maintained crate implements them; the algorithm is small: iterated MD5 with a custom
//! base64 alphabet.

use hmac::digest::Digest as _;

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The iteration exponents the format allows (phpass's own `crypt_private`); what a login may
/// afford is bounded in `passwords::cost`.
pub const MAX_COUNT_LOG2: u32 = 30;
pub const MIN_COUNT_LOG2: u32 = 7;

fn itoa64_index(byte: u8) -> Option<u32> {
    ITOA64
        .iter()
        .position(|&c| c == byte)
        .map(|index| index as u32)
}

/// The iteration exponent a phpass string's fourth character encodes.
pub fn count_log2(byte: u8) -> Option<u32> {
    itoa64_index(byte)
}

/// Why a phpass string is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PhpassProblem {
    Prefix,
    Format(&'static str),
}

/// Checks a phpass string's shape without computing anything.
pub fn check(hash: &str) -> Result<(), PhpassProblem> {
    if !(hash.starts_with("$P$") || hash.starts_with("$H$")) {
        return Err(PhpassProblem::Prefix);
    }
    let bytes = hash.as_bytes();
    if bytes.len() != 34 {
        return Err(PhpassProblem::Format("a phpass hash is 34 characters long"));
    }
    if !bytes[3..].iter().all(|byte| ITOA64.contains(byte)) {
        return Err(PhpassProblem::Format(
            "a phpass hash uses only the characters ./0-9A-Za-z after its prefix",
        ));
    }
    let count_log2 = itoa64_index(bytes[3]).unwrap_or(0);
    if !(MIN_COUNT_LOG2..=MAX_COUNT_LOG2).contains(&count_log2) {
        return Err(PhpassProblem::Format(
            "the phpass iteration count must be between 2^7 and 2^30",
        ));
    }
    Ok(())
}

/// Computes the phpass string for `password` with the setting (prefix, count and salt) of
/// `setting`; `None` when the setting is malformed.
pub fn crypt(password: &[u8], setting: &str) -> Option<String> {
    check(setting).ok()?;
    let bytes = setting.as_bytes();
    let count = 1u64 << itoa64_index(bytes[3])?;
    let salt = &bytes[4..12];
    let mut hash = md5::Md5::new()
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    for _ in 0..count {
        hash = md5::Md5::new()
            .chain_update(hash)
            .chain_update(password)
            .finalize();
    }
    let mut out = String::with_capacity(34);
    out.push_str(&setting[..12]);
    encode64(&hash, &mut out);
    Some(out)
}

/// phpass's little-endian base64 over `ITOA64`.
fn encode64(input: &[u8], out: &mut String) {
    let count = input.len();
    let mut i = 0;
    loop {
        let mut value = u32::from(input[i]);
        i += 1;
        out.push(char::from(ITOA64[(value & 0x3f) as usize]));
        if i < count {
            value |= u32::from(input[i]) << 8;
        }
        out.push(char::from(ITOA64[((value >> 6) & 0x3f) as usize]));
        if i >= count {
            break;
        }
        i += 1;
        if i < count {
            value |= u32::from(input[i]) << 16;
        }
        out.push(char::from(ITOA64[((value >> 12) & 0x3f) as usize]));
        if i >= count {
            break;
        }
        i += 1;
        out.push(char::from(ITOA64[((value >> 18) & 0x3f) as usize]));
        if i >= count {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_wordpress_hash() {
        // The openwall phpass test vector: PasswordHash('test12345') with $P$9IQRaTwmf.
        let hash = "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0";
        assert_eq!(crypt(b"test12345", hash).as_deref(), Some(hash));
        assert_ne!(crypt(b"test12346", hash).as_deref(), Some(hash));
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            check("$X$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"),
            Err(PhpassProblem::Prefix)
        );
        assert!(matches!(
            check("$P$9IQRaTwmf"),
            Err(PhpassProblem::Format(_))
        ));
        assert!(matches!(
            check("$P$zIQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"),
            Err(PhpassProblem::Format(_))
        ));
    }
}
