//! B2B members: the people of an organization. They live in the same project as consumer users
//! but are a different kind of account, with their own ids, tables and sessions.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::ids::{MemberId, OrganizationId};
use crate::InputError;

/// Where a member stands in its organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberStatus {
    Active,
    /// Created with `create_member_as_pending`: not yet logged in.
    Pending,
    Invited,
    /// Deleted members are kept so that they can be reactivated; they are invisible elsewhere.
    Deleted,
}

impl MemberStatus {
    pub const ALL: [MemberStatus; 4] = [
        MemberStatus::Active,
        MemberStatus::Pending,
        MemberStatus::Invited,
        MemberStatus::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Pending => "pending",
            MemberStatus::Invited => "invited",
            MemberStatus::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<MemberStatus> {
        MemberStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
    }
}

/// A member as stored, plus what is derived from its other rows (its verified TOTP).
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub member_id: MemberId,
    pub organization_id: OrganizationId,
    pub email: String,
    pub email_verified: bool,
    pub status: MemberStatus,
    pub name: String,
    pub is_breakglass: bool,
    pub mfa_phone_number: String,
    pub mfa_phone_number_verified: bool,
    pub mfa_enrolled: bool,
    /// `""`, `sms_otp` or `totp`.
    pub default_mfa_method: String,
    pub trusted_metadata: Map<String, Value>,
    pub untrusted_metadata: Map<String, Value>,
    pub external_id: Option<String>,
    /// Directly assigned roles; `stytch_member` is implicit and not stored.
    pub roles: Vec<String>,
    /// The verified TOTP registration, or `""`.
    pub totp_registration_id: String,
    pub lock_created_at: Option<DateTime<Utc>>,
    pub lock_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The role every member holds.
pub const MEMBER_ROLE: &str = "stytch_member";
/// The role that makes `is_admin` true.
pub const ADMIN_ROLE: &str = "stytch_admin";

impl Member {
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.lock_expires_at.is_some_and(|expires| expires > now)
    }

    /// Whether a deleted member may be reactivated: Stytch reactivates "only … Members with at
    /// least one verified email where their `email_address_verified` is `true`", so a member
    /// who never verified its email stays deleted.
    pub fn may_be_reactivated(&self) -> bool {
        self.email_verified
    }

    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|role| role == ADMIN_ROLE)
    }

    /// Every role the member holds: `stytch_member`, then the directly assigned ones.
    pub fn all_roles(&self) -> Vec<String> {
        let mut roles = vec![MEMBER_ROLE.to_owned()];
        roles.extend(
            self.roles
                .iter()
                .filter(|role| role.as_str() != MEMBER_ROLE)
                .cloned(),
        );
        roles
    }
}

/// `name` of a member: at most 256 characters, no control characters.
pub fn parse_member_name(raw: &str) -> Result<String, InputError> {
    let name = raw.trim();
    if name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(InputError::InvalidName(
            "name must be at most 256 characters, without control characters.".to_owned(),
        ));
    }
    Ok(name.to_owned())
}

/// `default_mfa_method`: `sms_otp` or `totp` (or `""` to clear it).
pub fn parse_default_mfa_method(raw: &str) -> Result<String, InputError> {
    match raw {
        "" | "sms_otp" | "totp" => Ok(raw.to_owned()),
        _ => Err(InputError::Named {
            error_type: "invalid_default_mfa_method",
            message: "default_mfa_method must be sms_otp or totp.".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in MemberStatus::ALL {
            assert_eq!(MemberStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(MemberStatus::parse("Active"), None);
    }

    #[test]
    fn names_and_mfa_methods_are_checked() {
        assert_eq!(
            parse_member_name("  Ada Lovelace ").unwrap(),
            "Ada Lovelace"
        );
        assert!(parse_member_name("a\u{0}b").is_err());
        assert!(parse_member_name(&"x".repeat(257)).is_err());
        assert!(parse_default_mfa_method("totp").is_ok());
        assert!(parse_default_mfa_method("email").is_err());
    }
}
