//! What the Users product refuses, in its own words; one `From` makes each an answer.

use crate::error::{ApiError, ErrorType};

#[derive(Debug)]
pub enum UserError {
    /// A new user needs an email or a phone number.
    EmailOrPhoneNumberRequired,
    /// `exchange_primary_factor` takes exactly one of `email_address` and `phone_number`.
    NotExactlyOneFactor,
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> ApiError {
        match error {
            UserError::EmailOrPhoneNumberRequired => ApiError::new(
                ErrorType::EmailOrPhoneNumberRequired,
                "An email or a phone_number is required to create a user.",
            ),
            UserError::NotExactlyOneFactor => {
                ApiError::bad_request("Pass exactly one of email_address and phone_number.")
            }
        }
    }
}
