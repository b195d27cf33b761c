//! What the TOTP product (consumer and B2B) refuses, in its own words; one `From` makes each an
//! answer.

use latchkey_store::{Refusal, StoreError};

use super::{DEFAULT_EXPIRATION_MINUTES, MIN_EXPIRATION_MINUTES};
use crate::error::{ApiError, ErrorType};

#[derive(Debug)]
pub enum TotpError {
    /// The code is wrong for every step the window allows.
    Unauthenticated,
    /// The recovery code is wrong or used already: the caller cannot tell which.
    RecoveryCodeRejected,
    /// The only registration was never verified and has expired.
    Expired,
    /// `expiration_minutes` outside Stytch's bounds.
    InvalidExpiration,
    /// A `totp_code` that cannot be a code at all.
    NotACode,
}

impl From<TotpError> for ApiError {
    fn from(error: TotpError) -> ApiError {
        match error {
            TotpError::Unauthenticated => ApiError::new(
                ErrorType::UnableToAuthenticateTotp,
                "The TOTP code could not be authenticated.",
            ),
            // The store answers a recovery code used up concurrently the same way.
            TotpError::RecoveryCodeRejected => {
                StoreError::Refused(Refusal::RecoveryCodeRejected).into()
            }
            TotpError::Expired => ApiError::new(
                ErrorType::ExpiredTotp,
                "The TOTP registration expired before it was verified. Create a new one.",
            ),
            TotpError::InvalidExpiration => ApiError::new(
                ErrorType::InvalidExpiration,
                format!(
                    "expiration_minutes must be between {MIN_EXPIRATION_MINUTES} and \
                     {DEFAULT_EXPIRATION_MINUTES}."
                ),
            ),
            TotpError::NotACode => {
                ApiError::new(ErrorType::InvalidTotpCode, "totp_code must be 6 digits.")
            }
        }
    }
}
