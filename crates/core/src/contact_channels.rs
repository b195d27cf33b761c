//! Stack Auth's contact channels and their rules. A contact channel is one of a user's emails,
//! the very rows the Stytch Users API serves, with two more flags: `used_for_auth` (the user
//! may sign in with it) and `is_primary` (at most one per user). The store applies these
//! rules inside the change's transaction; they are decided here.
//!
//! Who owns an address (`docs/security.md`, "Email ownership"): at most one user of a project
//! signs in with an address (a database index); addresses that sign nobody in may be listed
//! by several users, as Stack allows. An address nobody proved never takes the sign-in from a
//! proven one: a user cannot make an unverified address sign it in by itself (that would let
//! anyone claim anyone's address), a verified claim releases another user's unverified hold,
//! and `passwords/migrate` of a verified address never joins the account of someone who
//! claimed it unproven ([`migration_target`]).

use chrono::{DateTime, TimeDelta, Utc};

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
    /// The user adds it to itself (Stack's client access), vouched for by nobody.
    pub self_service: bool,
}

/// A change to a contact channel; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ContactChannelPatch {
    pub value: Option<Email>,
    pub verified: Option<bool>,
    pub used_for_auth: Option<bool>,
    pub is_primary: Option<bool>,
    /// The user changes its own channel (Stack's client access), vouched for by nobody.
    pub self_service: bool,
}

/// What a change to a user's channels needs the store to do besides writing the channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelEffects {
    /// The channel becomes primary: the user's other channels lose the flag first.
    pub takes_primary: bool,
    /// The channel stops being a way to sign in (or goes): the user must keep another one.
    pub gives_up_sign_in: bool,
    /// The change makes an unverified address start signing the user in (a new channel used
    /// for auth, a new value of one, or `used_for_auth` turned on). Refused when the user does
    /// it by itself ([`ChannelEffects::refused`]).
    pub unproven_sign_in: bool,
    /// The change makes a verified address start signing the user in: another user that holds
    /// the address for sign-in unverified stops signing in with it (it keeps it as a contact
    /// address), so an unproven claim never blocks the address's owner.
    pub proven_sign_in: bool,
}

impl ChannelEffects {
    /// Whether the change is refused: a user may not make an address sign it in before the
    /// address is verified, whoever else holds it, so the answer tells nothing about others.
    pub fn refused(&self, self_service: bool) -> bool {
        self_service && self.unproven_sign_in
    }
}

/// The user that signs in with an address, as `passwords/migrate` finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInHolder {
    /// Its hold on the address is verified.
    pub verified: bool,
    /// It has a password: it signs in with a secret of its own.
    pub has_password: bool,
}

/// Where `passwords/migrate` puts a password for an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationTarget {
    /// Nobody signs in with the address: a new user.
    NewUser,
    /// The user that signs in with it (Stytch's rule: migrating onto an existing user).
    Holder,
    /// A new user that takes the address: the migration vouches for it (`email_verified`)
    /// while the holder claimed it unproven with a password of its own. The holder keeps it
    /// as a contact address that signs nothing in.
    NewUserTakingTheAddress,
    /// The holder has a password already: `password_already_exists`.
    PasswordExists,
}

/// Where a migration of an address goes, given who signs in with it and whether the migration
/// vouches that the address is verified. A verified migration never joins (and never marks
/// verified) an account whose claim of the address nobody proved and that has a password of
/// its own: that is someone who signed up with another person's address before them.
pub fn migration_target(holder: Option<SignInHolder>, claim_verified: bool) -> MigrationTarget {
    match holder {
        None => MigrationTarget::NewUser,
        Some(holder) if !holder.has_password => MigrationTarget::Holder,
        Some(holder) if claim_verified && !holder.verified => {
            MigrationTarget::NewUserTakingTheAddress
        }
        Some(_) => MigrationTarget::PasswordExists,
    }
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

/// How many verification emails may go out within a sliding window: to one address (whoever
/// asks: many accounts cannot flood one inbox) and for one user (one account cannot flood many
/// inboxes). The store counts the sends in the outbox, in the sending transaction, so the limit
/// holds across replicas and concurrent requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerificationThrottle {
    pub window: TimeDelta,
    pub per_destination: u64,
    pub per_user: u64,
}

/// Latchkey's limits: 5 messages an hour to one address, 10 an hour for one user.
pub const VERIFICATION_THROTTLE: VerificationThrottle = VerificationThrottle {
    window: TimeDelta::hours(1),
    per_destination: 5,
    per_user: 10,
};

/// The verification emails sent within the window: how many, and the oldest one's time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecentSends {
    pub to_destination: u64,
    pub oldest_to_destination: Option<DateTime<Utc>>,
    pub by_user: u64,
    pub oldest_by_user: Option<DateTime<Utc>>,
}

/// A send refused by the throttle, and how long until it would pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_seconds: u64,
}

impl VerificationThrottle {
    /// The start of the window that ends at `now`: sends after it count.
    pub fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.window
    }

    /// Whether one more message may go out at `now`. When it may not, the wait is until the
    /// oldest counted send leaves the window (the store never lets the count pass the limit,
    /// so one leaving is enough); at least a second.
    pub fn check(&self, recent: &RecentSends, now: DateTime<Utc>) -> Result<(), Throttled> {
        crate::delivery::check_window(
            self.window,
            &[
                (
                    (recent.to_destination, recent.oldest_to_destination),
                    self.per_destination,
                ),
                ((recent.by_user, recent.oldest_by_user), self.per_user),
            ],
            now,
        )
    }
}

impl NewContactChannel {
    pub fn effects(&self) -> ChannelEffects {
        ChannelEffects {
            takes_primary: self.is_primary,
            gives_up_sign_in: false,
            unproven_sign_in: self.used_for_auth && !self.verified,
            proven_sign_in: self.used_for_auth && self.verified,
        }
    }
}

impl ContactChannel {
    /// Applies `patch`: a new address is unproven unless `verified` says otherwise. Returns
    /// what else the change entails.
    pub fn apply(&mut self, patch: ContactChannelPatch) -> ChannelEffects {
        let before = self.clone();
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
        // Signing in with the same address in the same state as before starts nothing.
        let unchanged = |verified: bool| {
            before.used_for_auth && before.verified == verified && before.value == self.value
        };
        effects.unproven_sign_in = self.used_for_auth && !self.verified && !unchanged(false);
        effects.proven_sign_in = self.used_for_auth && self.verified && !unchanged(true);
        effects
    }

    /// What deleting the channel entails.
    pub fn deletion_effects(&self) -> ChannelEffects {
        ChannelEffects {
            gives_up_sign_in: self.used_for_auth,
            ..ChannelEffects::default()
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
            self_service: false,
        };
        assert!(new.effects().takes_primary);
    }

    #[test]
    fn a_user_cannot_make_an_unverified_address_sign_it_in() {
        let new = |verified: bool, used_for_auth: bool| NewContactChannel {
            email_id: EmailId::generate(Environment::Test),
            value: Email::parse("someone@example.com").unwrap(),
            verified,
            used_for_auth,
            is_primary: false,
            self_service: true,
        };
        assert!(new(false, true).effects().refused(true));
        assert!(!new(false, true).effects().refused(false), "a server may");
        assert!(!new(false, false).effects().refused(true));
        assert!(new(true, true).effects().proven_sign_in);

        // A new value of a sign-in channel, or sign-in turned on for an unverified one.
        let mut moved = channel(true, false);
        let effects = moved.apply(ContactChannelPatch {
            value: email("someone@example.com"),
            self_service: true,
            ..Default::default()
        });
        assert!(effects.refused(true));
        let mut unverified = channel(false, false);
        unverified.verified = false;
        let effects = unverified.apply(ContactChannelPatch {
            used_for_auth: Some(true),
            ..Default::default()
        });
        assert!(effects.refused(true));
        // Sign-in turned on for a verified address is proven; touching only the primary flag
        // of an unverified sign-in channel starts nothing.
        let mut verified = channel(false, false);
        let effects = verified.apply(ContactChannelPatch {
            used_for_auth: Some(true),
            ..Default::default()
        });
        assert!(effects.proven_sign_in && !effects.unproven_sign_in);
        let mut signing_in = channel(true, false);
        signing_in.verified = false;
        let effects = signing_in.apply(ContactChannelPatch {
            is_primary: Some(true),
            ..Default::default()
        });
        assert!(!effects.unproven_sign_in && !effects.proven_sign_in);
        // A non-sign-in address may change freely.
        let mut contact = channel(false, false);
        let effects = contact.apply(ContactChannelPatch {
            value: email("someone@example.com"),
            ..Default::default()
        });
        assert!(!effects.refused(true));
    }

    #[test]
    fn verification_emails_are_limited_per_address_and_per_user() {
        let throttle = VERIFICATION_THROTTLE;
        let now = DateTime::from_timestamp(10_000, 0).unwrap();
        let ago = |seconds| Some(now - TimeDelta::seconds(seconds));
        assert_eq!(throttle.since(now), now - TimeDelta::hours(1));
        let quiet = RecentSends::default();
        assert_eq!(throttle.check(&quiet, now), Ok(()));
        let busy_address = RecentSends {
            to_destination: 5,
            oldest_to_destination: ago(3000),
            by_user: 1,
            oldest_by_user: ago(10),
        };
        assert_eq!(
            throttle.check(&busy_address, now),
            Err(Throttled {
                retry_after_seconds: 600
            })
        );
        let busy_user = RecentSends {
            to_destination: 4,
            oldest_to_destination: ago(3000),
            by_user: 10,
            oldest_by_user: ago(3599),
        };
        assert_eq!(
            throttle.check(&busy_user, now),
            Err(Throttled {
                retry_after_seconds: 1
            })
        );
        let under = RecentSends {
            to_destination: 4,
            by_user: 9,
            ..busy_user
        };
        assert_eq!(throttle.check(&under, now), Ok(()));
    }

    #[test]
    fn a_verified_migration_never_joins_an_unproven_claimant() {
        use MigrationTarget::*;
        let holder = |verified, has_password| {
            Some(SignInHolder {
                verified,
                has_password,
            })
        };
        assert_eq!(migration_target(None, true), NewUser);
        assert_eq!(migration_target(None, false), NewUser);
        // The app's own passwordless user (Stytch's users/create, then migrate).
        assert_eq!(migration_target(holder(false, false), true), Holder);
        assert_eq!(migration_target(holder(true, false), false), Holder);
        // Someone signed up with the address unproven: a verified migration takes it.
        assert_eq!(
            migration_target(holder(false, true), true),
            NewUserTakingTheAddress
        );
        assert_eq!(migration_target(holder(false, true), false), PasswordExists);
        assert_eq!(migration_target(holder(true, true), true), PasswordExists);
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
