//! The Users API's storage: the [`UserStore`] trait and the changes it takes, implemented in
//! `sql/users.rs` (reads in `sql/users_read.rs`, search in `sql/users_search.rs`, inserts in
//! `sql/users_write.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_core::ids::{
    BiometricRegistrationId, CryptoWalletId, EmailId, OAuthUserRegistrationId, PasswordId, PhoneId,
    ProjectId, TotpId, UserId, WebAuthnRegistrationId,
};
use latchkey_core::search::{SearchCursor, SearchQuery};
use latchkey_core::users::{NewUser, User, UserRef};
use latchkey_core::values::{Email, ExternalId, NamePatch, PhoneNumber};
use serde_json::{Map, Value};

use crate::*;

/// A change to a user. `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<NamePatch>,
    pub trusted_metadata: Option<Map<String, Value>>,
    pub untrusted_metadata: Option<Map<String, Value>>,
    pub external_id: Option<ExternalId>,
    pub roles: Option<Vec<String>>,
    /// Emails and phone numbers to attach, unverified (Stytch's legacy update semantics).
    pub add_emails: Vec<Email>,
    pub add_phone_numbers: Vec<PhoneNumber>,
}

/// One factor, named by its id, for the per-factor deletes.
#[derive(Clone, Debug)]
pub enum FactorRef {
    Email(EmailId),
    PhoneNumber(PhoneId),
    WebAuthnRegistration(WebAuthnRegistrationId),
    BiometricRegistration(BiometricRegistrationId),
    Totp(TotpId),
    CryptoWallet(CryptoWalletId),
    Password(PasswordId),
    OAuthRegistration(OAuthUserRegistrationId),
}

/// What `exchange_primary_factor` exchanges to.
#[derive(Clone, Debug)]
pub enum PrimaryFactor {
    Email(Email),
    PhoneNumber(PhoneNumber),
}

/// A factor to attach to a user directly. The flows that create these (WebAuthn, OAuth, …) build
/// on this; until they exist it is how operators and tests seed them.
#[derive(Clone, Debug)]
pub enum NewFactor {
    WebAuthnRegistration {
        domain: String,
        user_agent: String,
        authenticator_type: String,
        name: String,
        verified: bool,
    },
    BiometricRegistration {
        verified: bool,
    },
    Totp {
        verified: bool,
    },
    CryptoWallet {
        address: String,
        wallet_type: String,
        verified: bool,
    },
    OAuthRegistration {
        provider_type: String,
        provider_subject: String,
        profile_picture_url: String,
        locale: String,
    },
    Password {
        requires_reset: bool,
    },
}

/// One page of search results.
#[derive(Clone, Debug)]
pub struct SearchPage {
    pub users: Vec<User>,
    /// How many users match the query in all.
    pub total: i64,
    pub next_cursor: Option<SearchCursor>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user with its email, phone number and roles in one transaction.
    async fn create_user(
        &self,
        project_id: &ProjectId,
        new_user: NewUser,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;

    async fn get_user(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
    ) -> Result<Option<User>, StoreError>;

    async fn update_user(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
        patch: UserPatch,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;

    /// Deletes the user and, with it, every factor. Returns the deleted user's id.
    async fn delete_user(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
    ) -> Result<UserId, StoreError>;

    /// Removes a user's external id.
    async fn delete_external_id(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
    ) -> Result<User, StoreError>;

    async fn search_users(
        &self,
        project_id: &ProjectId,
        query: &SearchQuery,
        limit: u32,
        cursor: Option<SearchCursor>,
    ) -> Result<SearchPage, StoreError>;

    /// Deletes one factor and returns its user as it is afterwards.
    async fn delete_factor(
        &self,
        project_id: &ProjectId,
        factor: &FactorRef,
    ) -> Result<User, StoreError>;

    async fn exchange_primary_factor(
        &self,
        project_id: &ProjectId,
        user: &UserRef,
        to: PrimaryFactor,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;

    async fn add_factor(
        &self,
        project_id: &ProjectId,
        user_id: &UserId,
        factor: NewFactor,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError>;
}
