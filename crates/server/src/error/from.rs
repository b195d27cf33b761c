//! Core's input errors and the store's errors, as answers.

use latchkey_core::users::FactorKind;

use super::*;

impl From<InputError> for ApiError {
    fn from(error: InputError) -> ApiError {
        let error_type = match &error {
            InputError::InvalidEmail => ErrorType::InvalidEmail,
            InputError::InvalidPhoneNumber => ErrorType::InvalidPhoneNumber,
            InputError::InvalidExternalId => ErrorType::InvalidExternalId,
            InputError::InvalidUserId => ErrorType::InvalidUserId,
            InputError::InvalidId { field } => ErrorType::invalid_id(field),
            InputError::InvalidMetadata(_) => ErrorType::InvalidMetadata,
            InputError::InvalidName(_) => ErrorType::InvalidName,
            InputError::InvalidRoles(_) => ErrorType::InvalidRoles,
            InputError::InvalidSearchQuery(_) => ErrorType::InvalidSearchQuery,
            InputError::InvalidCursor => ErrorType::InvalidSearchCursor,
            InputError::InvalidLimit => ErrorType::InvalidLimit,
            InputError::BadRequest(_) => ErrorType::BadRequest,
            InputError::Named { error_type, .. } => ErrorType::Input(error_type),
        };
        ApiError::new(error_type, error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(missing) => ApiError::new(
                ErrorType::not_found(missing),
                match missing {
                    Missing::User => "User could not be found.",
                    Missing::Email => "Email could not be found.",
                    Missing::PhoneNumber => "Phone number could not be found.",
                    Missing::WebAuthnRegistration => "WebAuthn registration could not be found.",
                    Missing::BiometricRegistration => "Biometric registration could not be found.",
                    Missing::Totp => "TOTP could not be found.",
                    Missing::CryptoWallet => "Crypto wallet could not be found.",
                    Missing::Password => "Password could not be found.",
                    Missing::OAuthRegistration => "OAuth registration could not be found.",
                    Missing::Project => "Project could not be found.",
                    Missing::Session => "Session could not be found.",
                    Missing::Organization => "Organization could not be found.",
                    Missing::Member => "Member could not be found.",
                    Missing::ContactChannel => "Email could not be found.",
                    Missing::VerificationCode => "Verification code could not be found.",
                    Missing::SigningKey => "Signing key could not be found.",
                    Missing::MagicLink => {
                        "The magic link could not be authenticated, try sending another magic \
                         link to the user."
                    }
                    Missing::OtpCode => {
                        "The passcode provided was incorrect and could not be authenticated."
                    }
                    Missing::RedirectUrl => "Redirect URL could not be found.",
                    Missing::IntermediateSession => "The intermediate session could not be found.",
                },
            ),
            StoreError::Conflict(Conflict::DuplicateEmail) => ApiError::new(
                ErrorType::DuplicateEmail,
                "A user with the specified email already exists for this project.",
            ),
            StoreError::Conflict(Conflict::DuplicatePhoneNumber) => ApiError::new(
                ErrorType::DuplicatePhoneNumber,
                "A user with the specified phone number already exists for this project.",
            ),
            StoreError::Conflict(Conflict::DuplicateExternalId) => ApiError::new(
                ErrorType::DuplicateExternalId,
                "A user with the specified external_id already exists for this project.",
            ),
            StoreError::Conflict(Conflict::PasswordAlreadyExists) => ApiError::new(
                ErrorType::PasswordAlreadyExists,
                "This user already has a password. Reset it instead of migrating another.",
            ),
            StoreError::Refused(Refusal::UserLocked) => ApiError::new(
                ErrorType::UserLockLimitReached,
                "The user has been locked out due to too many failed authentication attempts. \
                 Please try again later.",
            ),
            StoreError::Conflict(Conflict::DuplicateOrganizationSlug) => ApiError::new(
                ErrorType::OrganizationSlugAlreadyUsed,
                "An organization with this organization_slug already exists in this project.",
            ),
            StoreError::Conflict(Conflict::DuplicateOrganizationExternalId) => ApiError::new(
                ErrorType::DuplicateOrganizationExternalId,
                "An organization with this organization_external_id already exists in this project.",
            ),
            StoreError::Conflict(Conflict::DuplicateMemberEmail) => ApiError::new(
                ErrorType::DuplicateMemberEmail,
                "A member with this email_address already exists in this organization.",
            ),
            StoreError::Conflict(Conflict::DuplicateMemberExternalId) => ApiError::new(
                ErrorType::DuplicateMemberExternalId,
                "A member with this external_id already exists in this organization.",
            ),
            StoreError::Refused(Refusal::LastSignInMethod) => ApiError::new(
                ErrorType::CannotDeleteLastPrimaryFactor,
                "This is the user's last way to sign in.",
            ),
            // Refusals of Stack Auth's verification flow, which answers them in its own format.
            StoreError::Refused(
                refusal @ (Refusal::EmailAlreadyVerified
                | Refusal::VerificationCodeUsed
                | Refusal::VerificationCodeExpired),
            ) => ApiError::bad_request(format!("The email verification was refused: {refusal}.")),
            StoreError::Refused(Refusal::MemberEmailNotVerified) => ApiError::new(
                ErrorType::MemberEmailNotVerified,
                "Only a member whose email address is verified can be reactivated; this one \
                 never verified it.",
            ),
            StoreError::Refused(Refusal::TooMany(kind)) => too_many(kind),
            StoreError::Refused(Refusal::Throttled(throttled)) => ApiError::new(
                ErrorType::TooManyVerificationEmails,
                "Too many verification emails were sent to this address or for this user; \
                 wait before sending another.",
            )
            .retry_after(throttled.retry_after_seconds),
            StoreError::Refused(Refusal::UnverifiedSignIn) => ApiError::bad_request(
                "Verify this email before using it for sign-in.",
            ),
            StoreError::Refused(Refusal::MfaPhoneNumberExists) => ApiError::new(
                ErrorType::DuplicateMemberPhoneNumberForMember,
                "The member already has an MFA phone number; delete it before setting another.",
            ),
            StoreError::Refused(Refusal::TooManyUnverifiedFactors) => ApiError::new(
                ErrorType::TooManyUnverifiedFactors,
                "We were unable to create a new auth factor. This user already has too many \
                 unverified factors.",
            ),
            StoreError::Refused(Refusal::TotpStepUsed) => ApiError::new(
                ErrorType::TotpCodeAlreadyAuthenticated,
                "This TOTP code was already used. Wait for the next code.",
            ),
            StoreError::Refused(Refusal::MagicLinkUnusable) => ApiError::new(
                ErrorType::UnableToAuthMagicLink,
                "The magic link could not be authenticated because it was either already used or \
                 expired. Send another magic link to this user.",
            ),
            // Wrong, or used already: the caller cannot tell which.
            StoreError::Refused(Refusal::RecoveryCodeRejected) => ApiError::new(
                ErrorType::UnableToAuthenticateRecoveryCode,
                "The recovery code could not be authenticated.",
            ),
            StoreError::Refused(Refusal::ActiveTotpExists) => ApiError::new(
                ErrorType::ActiveTotpExists,
                "Cannot create a new TOTP for the specified user since the user already has an \
                 active TOTP. Users may only have one active TOTP at a time.",
            ),
            StoreError::Invalid(input) => input.into(),
            StoreError::Refused(Refusal::NotExactlyOnePrimaryFactor) => ApiError::new(
                ErrorType::UserHasMultipleFactors,
                "exchange_primary_factor only works for a user whose one factor is an email \
                 address or a phone number.",
            ),
            failure @ (StoreError::Unavailable(_)
            | StoreError::Corrupt(_)
            | StoreError::Database(_)
            | StoreError::Migration(_)) => store_failure(&failure),
        }
    }
}

/// A user that holds as many of a kind of factor as it may: a 400 naming the cap, for the
/// Stytch and the Stack API alike.
pub fn too_many(kind: FactorKind) -> ApiError {
    let error_type = match kind {
        FactorKind::Email => ErrorType::TooManyEmails,
        FactorKind::PhoneNumber => ErrorType::TooManyPhoneNumbers,
        _ => ErrorType::TooManyFactors,
    };
    ApiError::new(
        error_type,
        format!(
            "A user may hold at most {} {}; remove one before adding another.",
            kind.cap(),
            kind.plural()
        ),
    )
}

/// How long a caller should wait before retrying a request the database could not serve.
pub const DATABASE_RETRY_AFTER_SECONDS: u64 = 1;

/// The store's own failures, not the request's: the cause goes to the log, never to the caller.
/// An unreachable database is worth a retry (503 with `Retry-After`); a corrupt row or a failed
/// statement is a 500.
pub fn store_failure(error: &StoreError) -> ApiError {
    match error {
        StoreError::Unavailable(cause) => {
            tracing::error!(error = %cause, "database unavailable");
            ApiError::new(
                ErrorType::ServiceUnavailable,
                "The database is unavailable. Retry the request later.",
            )
            .retry_after(DATABASE_RETRY_AFTER_SECONDS)
        }
        StoreError::Corrupt(cause) => {
            tracing::error!(error = %cause, "corrupt row in the database");
            ApiError::internal()
        }
        StoreError::Migration(cause) => {
            tracing::error!(error = %cause, "migration error during a request");
            ApiError::internal()
        }
        other => {
            tracing::error!(error = %other, "database error");
            ApiError::internal()
        }
    }
}
