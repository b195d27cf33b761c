//! The User and its factors, as the store returns them and the API renders them.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::ids::{
    BiometricRegistrationId, CryptoWalletId, EmailId, OAuthUserRegistrationId, PasswordId, PhoneId,
    TotpId, UserId, WebAuthnRegistrationId,
};
use crate::values::{Email, ExternalId, Name, PhoneNumber};

/// `pending` until the user first authenticates when created with `create_user_as_pending`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Pending,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Pending => "pending",
        }
    }

    pub fn parse(value: &str) -> Option<UserStatus> {
        match value {
            "active" => Some(UserStatus::Active),
            "pending" => Some(UserStatus::Pending),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct UserEmail {
    pub email_id: EmailId,
    pub email: String,
    pub verified: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UserPhoneNumber {
    pub phone_id: PhoneId,
    pub phone_number: String,
    pub verified: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WebAuthnRegistration {
    pub webauthn_registration_id: WebAuthnRegistrationId,
    pub domain: String,
    pub user_agent: String,
    pub verified: bool,
    pub authenticator_type: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BiometricRegistration {
    pub biometric_registration_id: BiometricRegistrationId,
    pub verified: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Totp {
    pub totp_id: TotpId,
    pub verified: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CryptoWallet {
    pub crypto_wallet_id: CryptoWalletId,
    pub crypto_wallet_address: String,
    pub crypto_wallet_type: String,
    pub verified: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OAuthProvider {
    pub oauth_user_registration_id: OAuthUserRegistrationId,
    pub provider_type: String,
    pub provider_subject: String,
    pub profile_picture_url: String,
    pub locale: String,
}

/// What the API shows of a password: never the hash.
#[derive(Clone, Debug, PartialEq)]
pub struct PasswordSummary {
    pub password_id: PasswordId,
    pub requires_reset: bool,
}

/// A user with every factor, in creation order within each list.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub user_id: UserId,
    pub status: UserStatus,
    pub name: Name,
    pub emails: Vec<UserEmail>,
    pub phone_numbers: Vec<UserPhoneNumber>,
    pub webauthn_registrations: Vec<WebAuthnRegistration>,
    pub biometric_registrations: Vec<BiometricRegistration>,
    pub totps: Vec<Totp>,
    pub crypto_wallets: Vec<CryptoWallet>,
    pub providers: Vec<OAuthProvider>,
    pub password: Option<PasswordSummary>,
    pub trusted_metadata: Map<String, Value>,
    pub untrusted_metadata: Map<String, Value>,
    pub external_id: Option<String>,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub lock_created_at: Option<DateTime<Utc>>,
    pub lock_expires_at: Option<DateTime<Utc>>,
}

impl User {
    /// Locked while a lock exists that has not yet expired at `now`.
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.lock_expires_at.is_some_and(|expires| expires > now)
    }

    /// The factors that count for `exchange_primary_factor`: emails, phone numbers, WebAuthn and
    /// biometric registrations, TOTPs, crypto wallets, OAuth providers and a password.
    pub fn n_factors(&self) -> usize {
        self.emails.len()
            + self.phone_numbers.len()
            + self.webauthn_registrations.len()
            + self.biometric_registrations.len()
            + self.totps.len()
            + self.crypto_wallets.len()
            + self.providers.len()
            + usize::from(self.password.is_some())
    }
}

/// The kinds of factor a user may hold several of. Each is capped ([`FactorKind::cap`]) so that
/// no caller can grow a user without bound: a user is read in one statement with everything it
/// holds, and every added address is one more an attacker could claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactorKind {
    Email,
    PhoneNumber,
    Totp,
    WebAuthnRegistration,
    BiometricRegistration,
    CryptoWallet,
    OAuthRegistration,
}

impl FactorKind {
    /// How many of this kind one user may hold: 10 of each.
    pub const fn cap(self) -> u64 {
        match self {
            FactorKind::Email
            | FactorKind::PhoneNumber
            | FactorKind::Totp
            | FactorKind::WebAuthnRegistration
            | FactorKind::BiometricRegistration
            | FactorKind::CryptoWallet
            | FactorKind::OAuthRegistration => 10,
        }
    }

    /// Whether a user that holds `held` of this kind may add `adding` more. The store counts
    /// `held` in the adding transaction, with the user locked, so concurrent additions cannot
    /// pass the cap together.
    pub fn allows(self, held: u64, adding: u64) -> bool {
        held.saturating_add(adding) <= self.cap()
    }

    /// The kind's name in a sentence, plural.
    pub fn plural(self) -> &'static str {
        match self {
            FactorKind::Email => "emails",
            FactorKind::PhoneNumber => "phone numbers",
            FactorKind::Totp => "TOTP registrations",
            FactorKind::WebAuthnRegistration => "WebAuthn registrations",
            FactorKind::BiometricRegistration => "biometric registrations",
            FactorKind::CryptoWallet => "crypto wallets",
            FactorKind::OAuthRegistration => "OAuth registrations",
        }
    }
}

/// Everything needed to create a user, already parsed.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub email: Option<Email>,
    pub email_verified: bool,
    pub phone_number: Option<PhoneNumber>,
    pub phone_verified: bool,
    pub name: Name,
    pub pending: bool,
    pub trusted_metadata: Map<String, Value>,
    pub untrusted_metadata: Map<String, Value>,
    pub external_id: Option<ExternalId>,
    pub roles: Vec<String>,
}

/// How a caller names a user in a path: by `user_id`, or by the `external_id` the app set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    Id(UserId),
    External(ExternalId),
}

impl UserRef {
    /// A well-formed user id is looked up as one; anything else that is a valid external id is
    /// looked up as that. Anything else is not a way to name a user.
    pub fn parse(raw: &str) -> Result<UserRef, crate::InputError> {
        if let Ok(id) = UserId::parse(raw) {
            return Ok(UserRef::Id(id));
        }
        ExternalId::parse(raw)
            .map(UserRef::External)
            .map_err(|_| crate::InputError::InvalidUserId)
    }
}

#[cfg(test)]
mod tests {
    use super::FactorKind;

    #[test]
    fn each_factor_kind_is_capped_at_ten() {
        assert!(FactorKind::Email.allows(9, 1));
        assert!(!FactorKind::Email.allows(10, 1));
        assert!(!FactorKind::PhoneNumber.allows(8, 3));
        assert!(FactorKind::Totp.allows(0, 10));
        assert!(!FactorKind::Totp.allows(u64::MAX, 1));
    }
}
