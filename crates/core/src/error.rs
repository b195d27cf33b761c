//! Errors for input that the domain refuses. Each variant names the rule that was broken; the
//! server maps variants to Stytch's `error_type` names in one place.

use thiserror::Error;

/// Input that fails a domain rule. Messages are safe to show to API callers: they never echo
/// secrets.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    #[error("email format is invalid.")]
    InvalidEmail,
    #[error(
        "phone_number format is invalid. Phone numbers must be in E.164 format, e.g. +12025550123."
    )]
    InvalidPhoneNumber,
    #[error("external_id must be 1 to 128 characters of letters, digits, '.', '_', '-' or '|'.")]
    InvalidExternalId,
    #[error("user_id format is invalid.")]
    InvalidUserId,
    #[error("{field} format is invalid.")]
    InvalidId { field: &'static str },
    #[error("{0}")]
    InvalidMetadata(String),
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidRoles(String),
    #[error("{0}")]
    InvalidSearchQuery(String),
    #[error(
        "The search cursor is invalid. Pass the next_cursor value of a previous search unchanged."
    )]
    InvalidCursor,
    #[error("limit must be between 1 and 1000.")]
    InvalidLimit,
    #[error("{0}")]
    BadRequest(String),
    /// A refusal whose Stytch `error_type` the domain names itself (the password-hash rules
    /// have dozens; one variant each would add nothing).
    #[error("{message}")]
    Named {
        error_type: &'static str,
        message: String,
    },
}
