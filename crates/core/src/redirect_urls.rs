//! The redirect URLs a project allows: each is registered for flows of a type (Stytch's
//! `LOGIN`, `SIGNUP`, `INVITE`, `RESET_PASSWORD` and, for B2B, `DISCOVERY`), and one of each
//! type may be the default used when a request names none. The server matches a requested URL
//! against the list (scheme, host, port and path; the application's own query is kept).

/// The flows a redirect URL serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RedirectType {
    Login,
    Signup,
    Invite,
    ResetPassword,
    Discovery,
}

impl RedirectType {
    pub const ALL: [RedirectType; 5] = [
        RedirectType::Login,
        RedirectType::Signup,
        RedirectType::Invite,
        RedirectType::ResetPassword,
        RedirectType::Discovery,
    ];

    /// The name it is stored under.
    pub fn as_str(self) -> &'static str {
        match self {
            RedirectType::Login => "login",
            RedirectType::Signup => "signup",
            RedirectType::Invite => "invite",
            RedirectType::ResetPassword => "reset_password",
            RedirectType::Discovery => "discovery",
        }
    }

    /// Stytch's name on the wire (`LOGIN`, ...).
    pub fn wire_name(self) -> &'static str {
        match self {
            RedirectType::Login => "LOGIN",
            RedirectType::Signup => "SIGNUP",
            RedirectType::Invite => "INVITE",
            RedirectType::ResetPassword => "RESET_PASSWORD",
            RedirectType::Discovery => "DISCOVERY",
        }
    }

    /// Either name, in any case.
    pub fn parse(name: &str) -> Option<RedirectType> {
        RedirectType::ALL.into_iter().find(|kind| {
            kind.as_str().eq_ignore_ascii_case(name) || kind.wire_name().eq_ignore_ascii_case(name)
        })
    }

    /// The request field that names a URL of this type in the messages it sends.
    pub fn field(self) -> &'static str {
        match self {
            RedirectType::Login => "login_magic_link_url",
            RedirectType::Signup => "signup_magic_link_url",
            RedirectType::Invite => "invite_magic_link_url",
            RedirectType::ResetPassword => "reset_password_redirect_url",
            RedirectType::Discovery => "discovery_redirect_url",
        }
    }
}

/// The URL a test project with an empty list uses when a request names none: Stytch's own
/// default for test projects.
pub const TEST_DEFAULT_URL: &str = "http://localhost:3000/authenticate";

/// Longest URL accepted (Stytch's redirect URLs are short; this bounds stored rows).
pub const MAX_URL_LENGTH: usize = 2_048;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_parses_from_either_name() {
        for kind in RedirectType::ALL {
            assert_eq!(RedirectType::parse(kind.as_str()), Some(kind));
            assert_eq!(RedirectType::parse(kind.wire_name()), Some(kind));
        }
        assert_eq!(RedirectType::parse("reset-password"), None);
    }
}
