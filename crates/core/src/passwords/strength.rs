//! Password strength as Stytch reports it: a zxcvbn score (valid at 3 or more) by default, or a
//! LUDS policy (length plus lowercase / uppercase / digit / symbol classes) when the project
//! chooses it. The LUDS breakdown is always reported, so clients can show it either way.

/// Which rule decides `valid_password`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Zxcvbn,
    Luds {
        min_length: u32,
        min_complexity: u32,
    },
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Zxcvbn => "zxcvbn",
            Policy::Luds { .. } => "luds",
        }
    }
}

/// Stytch's defaults for a LUDS policy.
pub const LUDS_DEFAULT_MIN_LENGTH: u32 = 8;
pub const LUDS_DEFAULT_COMPLEXITY: u32 = 3;
/// Stytch refuses passwords longer than this.
pub const MAX_PASSWORD_BYTES: usize = 256;
/// zxcvbn scores at most this many characters of a password: its first ones. zxcvbn's cost
/// grows with the square of the length times the l33t substitutions the password's characters
/// allow: a crafted password holding every l33t character, repeated, cost about 0.8 s at
/// zxcvbn's own bound of 100 characters, and a twelfth of that at 32 (other passwords cost a
/// millisecond or two either way). Scoring a prefix errs on the side of refusing: what follows
/// the prefix does not make a password weaker, and a weak prefix is reason enough to refuse. LUDS
/// counts the whole password, as does the length bound above.
pub const MAX_SCORED_CHARS: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Luds {
    pub has_lower_case: bool,
    pub has_upper_case: bool,
    pub has_digit: bool,
    pub has_symbol: bool,
    pub missing_complexity: u32,
    pub missing_characters: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strength {
    pub valid_password: bool,
    pub score: u8,
    pub strength_policy: &'static str,
    pub warning: String,
    pub suggestions: Vec<String>,
    pub luds: Luds,
}

fn luds(password: &str, min_length: u32, min_complexity: u32) -> Luds {
    let has_lower_case = password.chars().any(|c| c.is_ascii_lowercase());
    let has_upper_case = password.chars().any(|c| c.is_ascii_uppercase());
    let has_digit = password.chars().any(|c| c.is_ascii_digit());
    // Stytch: any character outside a-z, A-Z (and digits) counts as a symbol.
    let has_symbol = password.chars().any(|c| !c.is_ascii_alphanumeric());
    let classes = [has_lower_case, has_upper_case, has_digit, has_symbol]
        .iter()
        .filter(|&&present| present)
        .count() as u32;
    let length = password.chars().count() as u32;
    Luds {
        has_lower_case,
        has_upper_case,
        has_digit,
        has_symbol,
        missing_complexity: min_complexity.saturating_sub(classes),
        missing_characters: min_length.saturating_sub(length),
    }
}

/// The first [`MAX_SCORED_CHARS`] characters of `password`, the part zxcvbn scores.
pub fn scored_prefix(password: &str) -> &str {
    match password.char_indices().nth(MAX_SCORED_CHARS) {
        Some((end, _)) => &password[..end],
        None => password,
    }
}

/// Rates `password` (zxcvbn its [`scored_prefix`], LUDS all of it); `user_inputs` (e.g. the user's email) count against it, as zxcvbn's
/// dictionary words do.
pub fn check(password: &str, user_inputs: &[&str], policy: Policy) -> Strength {
    let entropy = zxcvbn::zxcvbn(scored_prefix(password), user_inputs);
    let score = u8::from(entropy.score());
    let (warning, suggestions) = match entropy.feedback() {
        Some(feedback) => (
            feedback
                .warning()
                .map(|warning| warning.to_string())
                .unwrap_or_default(),
            feedback
                .suggestions()
                .iter()
                .map(|suggestion| suggestion.to_string())
                .collect(),
        ),
        None => (String::new(), Vec::new()),
    };
    let (min_length, min_complexity) = match policy {
        Policy::Zxcvbn => (LUDS_DEFAULT_MIN_LENGTH, LUDS_DEFAULT_COMPLEXITY),
        Policy::Luds {
            min_length,
            min_complexity,
        } => (min_length, min_complexity),
    };
    let luds = luds(password, min_length, min_complexity);
    let valid_password = match policy {
        Policy::Zxcvbn => score >= 3,
        Policy::Luds { .. } => luds.missing_characters == 0 && luds.missing_complexity == 0,
    };
    Strength {
        valid_password,
        score,
        strength_policy: policy.name(),
        warning,
        suggestions,
        luds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_strong() {
        let weak = check("password", &[], Policy::Zxcvbn);
        assert!(!weak.valid_password);
        assert!(weak.score < 3);
        assert!(!weak.warning.is_empty() || !weak.suggestions.is_empty());
        let strong = check("vRIQomL!faE2S44s-correct-horse", &[], Policy::Zxcvbn);
        assert!(strong.valid_password);
        assert_eq!(strong.score, 4);
    }

    #[test]
    fn user_inputs_count_against_the_password() {
        let alone = check("jane.doe.1987", &[], Policy::Zxcvbn).score;
        let with_email = check(
            "jane.doe.1987",
            &["jane.doe.1987@example.com", "jane", "doe"],
            Policy::Zxcvbn,
        )
        .score;
        assert!(with_email <= alone);
    }

    #[test]
    fn zxcvbn_scores_a_bounded_prefix_and_luds_the_whole() {
        let prefix = "é".repeat(MAX_SCORED_CHARS);
        assert_eq!(scored_prefix(&prefix), prefix);
        let long = format!("{prefix}Tail-7!");
        assert_eq!(
            scored_prefix(&long),
            prefix,
            "counted in characters, not bytes"
        );
        // A weak prefix stays weak whatever follows it.
        let weak = "a".repeat(MAX_SCORED_CHARS);
        let padded = format!("{weak}vRIQomL!faE2S44s-correct-horse");
        assert_eq!(
            check(&padded, &[], Policy::Zxcvbn).score,
            check(&weak, &[], Policy::Zxcvbn).score
        );
        assert!(!check(&padded, &[], Policy::Zxcvbn).valid_password);
        // LUDS sees the tail's upper case, digit and symbol.
        let luds = check(&padded, &[], Policy::Zxcvbn).luds;
        assert!(luds.has_upper_case && luds.has_digit && luds.has_symbol);
    }

    #[test]
    fn luds_policy() {
        let policy = Policy::Luds {
            min_length: 10,
            min_complexity: 4,
        };
        let short = check("aB3$", &[], policy);
        assert!(!short.valid_password);
        assert_eq!(short.luds.missing_characters, 6);
        assert_eq!(short.luds.missing_complexity, 0);
        let simple = check("abcdefghijk", &[], policy);
        assert_eq!(simple.luds.missing_complexity, 3);
        assert!(check("abcdefgH1!é", &[], policy).valid_password);
    }
}
