//! What the Passwords product refuses, in its own words; one `From` makes each an answer.

use latchkey_core::passwords::strength::MAX_PASSWORD_BYTES;

use crate::error::{ApiError, ErrorType};

#[derive(Debug)]
pub enum PasswordError {
    /// No such email, no password, or the wrong one: the caller cannot tell which.
    Unauthorized,
    /// The stored password was flagged for reset and cannot log in until it is.
    MustReset,
    /// The new password fails the project's strength policy; zxcvbn's warning, if any.
    Weak { warning: String },
    /// A password field that is missing or empty.
    Required(&'static str),
    /// A password field over [`MAX_PASSWORD_BYTES`].
    TooLong(&'static str),
    /// The strength check did not finish within its deadline: worth a retry.
    NotRatedInTime,
}

impl From<PasswordError> for ApiError {
    fn from(error: PasswordError) -> ApiError {
        match error {
            PasswordError::Unauthorized => ApiError::new(
                ErrorType::UnauthorizedCredentials,
                "Unauthorized credentials.",
            ),
            PasswordError::MustReset => ApiError::new(
                ErrorType::ResetPassword,
                "This password must be reset before it can be used to log in.",
            ),
            PasswordError::Weak { warning } if warning.is_empty() => {
                ApiError::new(ErrorType::WeakPassword, "The password is too weak.")
            }
            PasswordError::Weak { warning } => ApiError::new(
                ErrorType::WeakPassword,
                format!("The password is too weak. {warning}"),
            ),
            PasswordError::Required(field) => {
                ApiError::bad_request(format!("{field} is required."))
            }
            PasswordError::TooLong(field) => ApiError::bad_request(format!(
                "{field} must be at most {MAX_PASSWORD_BYTES} bytes."
            )),
            PasswordError::NotRatedInTime => ApiError::new(
                ErrorType::ServiceUnavailable,
                "The password's strength could not be rated in time; try again shortly.",
            )
            .retry_after(1),
        }
    }
}
