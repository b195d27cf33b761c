//! B2B intermediate sessions: what a primary factor leaves when it is not enough for a member
//! session (the organization demands MFA, or a discovery login has not chosen an organization
//! yet). It is short-lived, kept only as a digest of its token, bound to the email that proved
//! itself and, once chosen, to the organization and member. It is used up only by the call
//! that turns it into a member session or creates an organization with it.

use chrono::{DateTime, Duration, Utc};

use crate::ids::{MemberId, OrganizationId};
use crate::members::Member;
use crate::organizations::Organization;
use crate::sessions::AuthenticationFactor;

/// The login method a factor kind is, in `allowed_auth_methods` terms.
fn auth_method(kind: &str) -> &str {
    match kind {
        "otp" => "email_otp",
        other => other,
    }
}

/// Whether `factors` hold a primary method `organization` allows: what an intermediate session
/// from discovery (bound to no organization yet) must show before it may end in a session
/// there.
pub fn primary_allowed(organization: &Organization, factors: &[AuthenticationFactor]) -> bool {
    factors
        .iter()
        .any(|factor| organization.allows_auth_method(auth_method(&factor.kind)))
}

/// How long an intermediate session lives: Stytch's ten minutes.
pub const LIFETIME_MINUTES: i64 = 10;

/// An intermediate session as kept.
#[derive(Clone, Debug, PartialEq)]
pub struct IntermediateSession {
    /// The email address the primary factor proved, as stored on members.
    pub email: String,
    /// The organization it is for, once chosen (organization logins bind one at once).
    pub organization_id: Option<OrganizationId>,
    /// The member it is for, once known.
    pub member_id: Option<MemberId>,
    /// The factors proven so far.
    pub factors: Vec<AuthenticationFactor>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl IntermediateSession {
    pub fn lifetime() -> Duration {
        Duration::minutes(LIFETIME_MINUTES)
    }

    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// Whether it may complete an authentication of `member`: its email proved, and the
    /// organization and member it is bound to, if any, are the member's.
    pub fn fits(&self, member: &Member) -> bool {
        self.email.eq_ignore_ascii_case(&member.email)
            && self
                .organization_id
                .as_ref()
                .is_none_or(|id| *id == member.organization_id)
            && self
                .member_id
                .as_ref()
                .is_none_or(|id| *id == member.member_id)
    }
}
