//! Stack Auth's contact channels and their rules. A contact channel is one of a user's emails,
//! the very rows the Stytch Users API serves, with two more flags: `used_for_auth` (the user
//! may sign in with it) and `is_primary` (at most one per user). The store applies these
//! rules inside the change's transaction; they are decided here.

use chrono::{DateTime, Utc};

use crate::ids::{EmailId, UserId};
use crate::values::Email;

/// A user's email seen as a contact channel.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactChannel {
    pub email_id: EmailId,
    pub user_id: UserId,
    pub value: String,
    pub verified: bool,
    pub used_for_auth: bool,
    pub is_primary: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewContactChannel {
    pub email_id: EmailId,
    pub value: Email,
    pub verified: bool,
    pub used_for_auth: bool,
    pub is_primary: bool,
}

/// A change to a contact channel; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ContactChannelPatch {
    pub value: Option<Email>,
    pub verified: Option<bool>,
    pub used_for_auth: Option<bool>,
    pub is_primary: Option<bool>,
}

/// What a change to a user's channels needs the store to do besides writing the channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelEffects {
    /// The channel becomes primary: the user's other channels lose the flag first.
    pub takes_primary: bool,
    /// The channel stops being a way to sign in (or goes): the user must keep another one.
    pub gives_up_sign_in: bool,
}

/// The sign-in methods a user keeps besides the channel being changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OtherSignInMethods {
    pub emails_used_for_auth: u64,
    pub phone_numbers: u64,
    pub oauth_registrations: u64,
    pub webauthn_registrations: u64,
    pub biometric_registrations: u64,
    pub crypto_wallets: u64,
}

impl OtherSignInMethods {
    /// Whether any way to sign in is left; a change that leaves none is refused.
    pub fn any(&self) -> bool {
        [
            self.emails_used_for_auth,
            self.phone_numbers,
            self.oauth_registrations,
            self.webauthn_registrations,
            self.biometric_registrations,
            self.crypto_wallets,
        ]
        .iter()
        .any(|count| *count > 0)
    }
}

impl NewContactChannel {
    pub fn effects(&self) -> ChannelEffects {
        ChannelEffects {
            takes_primary: self.is_primary,
            gives_up_sign_in: false,
        }
    }
}

impl ContactChannel {
    /// Applies `patch`: a new address is unproven unless `verified` says otherwise. Returns
    /// what else the change entails.
    pub fn apply(&mut self, patch: ContactChannelPatch) -> ChannelEffects {
        let mut effects = ChannelEffects::default();
        if let Some(value) = patch.value {
            if value.as_str() != self.value {
                self.value = value.as_str().to_owned();
                self.verified = false;
            }
        }
        if let Some(verified) = patch.verified {
            self.verified = verified;
        }
        if let Some(used_for_auth) = patch.used_for_auth {
            effects.gives_up_sign_in = self.used_for_auth && !used_for_auth;
            self.used_for_auth = used_for_auth;
        }
        if let Some(primary) = patch.is_primary {
            effects.takes_primary = primary && !self.is_primary;
            self.is_primary = primary;
        }
        effects
    }

    /// What deleting the channel entails.
    pub fn deletion_effects(&self) -> ChannelEffects {
        ChannelEffects {
            takes_primary: false,
            gives_up_sign_in: self.used_for_auth,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Environment;

    fn channel(used_for_auth: bool, is_primary: bool) -> ContactChannel {
        ContactChannel {
            email_id: EmailId::generate(Environment::Test),
            user_id: UserId::generate(Environment::Test),
            value: "ada@example.com".into(),
            verified: true,
            used_for_auth,
            is_primary,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    fn email(text: &str) -> Option<Email> {
        Some(Email::parse(text).unwrap())
    }

    #[test]
    fn a_new_address_is_unverified_unless_the_patch_says_otherwise() {
        let mut moved = channel(true, false);
        moved.apply(ContactChannelPatch {
            value: email("grace@example.com"),
            ..Default::default()
        });
        assert_eq!(moved.value, "grace@example.com");
        assert!(!moved.verified);

        let mut same = channel(true, false);
        same.apply(ContactChannelPatch {
            value: email("ada@example.com"),
            ..Default::default()
        });
        assert!(same.verified, "the same address stays verified");

        let mut vouched = channel(true, false);
        vouched.apply(ContactChannelPatch {
            value: email("grace@example.com"),
            verified: Some(true),
            ..Default::default()
        });
        assert!(vouched.verified);
    }

    #[test]
    fn only_giving_up_sign_in_needs_another_method() {
        let mut stops = channel(true, false);
        let effects = stops.apply(ContactChannelPatch {
            used_for_auth: Some(false),
            ..Default::default()
        });
        assert!(effects.gives_up_sign_in);
        let mut stays = channel(true, false);
        let effects = stays.apply(ContactChannelPatch {
            used_for_auth: Some(true),
            ..Default::default()
        });
        assert!(!effects.gives_up_sign_in);
        let mut starts = channel(false, false);
        assert!(
            !starts
                .apply(ContactChannelPatch {
                    used_for_auth: Some(true),
                    ..Default::default()
                })
                .gives_up_sign_in
        );
        assert!(channel(true, false).deletion_effects().gives_up_sign_in);
        assert!(!channel(false, true).deletion_effects().gives_up_sign_in);
    }

    #[test]
    fn becoming_primary_takes_the_flag_from_the_others() {
        let mut secondary = channel(false, false);
        let effects = secondary.apply(ContactChannelPatch {
            is_primary: Some(true),
            ..Default::default()
        });
        assert!(effects.takes_primary);
        assert!(secondary.is_primary);
        let mut primary = channel(false, true);
        assert!(
            !primary
                .apply(ContactChannelPatch {
                    is_primary: Some(true),
                    ..Default::default()
                })
                .takes_primary
        );
        let new = NewContactChannel {
            email_id: EmailId::generate(Environment::Test),
            value: Email::parse("ada@example.com").unwrap(),
            verified: false,
            used_for_auth: true,
            is_primary: true,
        };
        assert!(new.effects().takes_primary);
    }

    #[test]
    fn the_last_sign_in_method_is_kept() {
        assert!(!OtherSignInMethods::default().any());
        for nth in 0..6 {
            let mut counts = [0u64; 6];
            counts[nth] = 1;
            let others = OtherSignInMethods {
                emails_used_for_auth: counts[0],
                phone_numbers: counts[1],
                oauth_registrations: counts[2],
                webauthn_registrations: counts[3],
                biometric_registrations: counts[4],
                crypto_wallets: counts[5],
            };
            assert!(others.any());
        }
    }
}
