//! What the Members product refuses, in its own words; one `From` makes each an answer.

use crate::error::{ApiError, ErrorType};

#[derive(Debug)]
pub enum MemberError {
    /// `stytch_member` is every member's role; it cannot be assigned.
    DefaultRoleAssigned,
    /// A member lookup with neither `member_id` nor `email_address`.
    NoMemberIdentifier,
    /// A member search with no organization, or `organization_ids` that are not ids.
    NoOrganizations,
    OrganizationIdsNotIds,
}

impl From<MemberError> for ApiError {
    fn from(error: MemberError) -> ApiError {
        match error {
            MemberError::DefaultRoleAssigned => ApiError::new(
                ErrorType::CannotAssignDefaultRbacRoleId,
                "stytch_member is held by every member and cannot be assigned.",
            ),
            MemberError::NoMemberIdentifier => {
                ApiError::bad_request("Include one of member_id or email_address.")
            }
            MemberError::NoOrganizations => {
                ApiError::bad_request("organization_ids is required: at least one organization.")
            }
            MemberError::OrganizationIdsNotIds => {
                ApiError::bad_request("organization_ids must be a list of organization ids.")
            }
        }
    }
}
