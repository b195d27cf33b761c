//! The lock rules: what an authentication attempt counts, when an account (a user or a member)
//! locks, when the lock lifts and what resets the count. The store keeps, per account, its
//! [`Lock`] and, per account and [`Factor`], a [`FactorAttempts`]; it applies these functions
//! inside the attempt's transaction, and nothing else decides a lock.
//!
//! - Each factor counts its own failures: TOTP guesses are not forgiven by a correct password,
//!   and only a success of the same factor resets its count.
//! - Only a wrong secret is a failure. An attempt is *reserved* before its secret is checked
//!   ([`LockPolicy::reserve`]), so concurrent guesses can never have more than `threshold`
//!   secrets checked between a success and the lock; the reservation then ends as a failure
//!   ([`LockPolicy::failed`]), a success ([`LockPolicy::succeeded`]), or neither
//!   ([`LockPolicy::released`]: the request failed for another reason). A reservation whose
//!   request never came back (a timeout, a dropped connection) lapses after
//!   [`PENDING_LEASE_SECONDS`]: its caller never learnt whether the secret was right, so it is no
//!   failure.
//! - The confirmed failure that reaches the threshold locks the account for the policy's
//!   duration, and the counts of all its factors start afresh after it.

use chrono::{DateTime, Duration, Utc};

use crate::InputError;

/// Stytch's bounds and defaults for the lock settings.
pub const MIN_THRESHOLD: u32 = 1;
pub const MAX_THRESHOLD: u32 = 100;
pub const DEFAULT_THRESHOLD: u32 = 10;
pub const MIN_LOCK_SECONDS: i64 = 5 * 60;
pub const MAX_LOCK_SECONDS: i64 = 7 * 24 * 3600;
pub const DEFAULT_LOCK_SECONDS: i64 = 3600;
/// How long a reservation holds its place without an outcome: longer than any request may run
/// (the server's request timeout is well below it), so a live request's reservation never
/// lapses.
pub const PENDING_LEASE_SECONDS: i64 = 120;

/// A project's lock rules: this many failed attempts of one factor lock an account for
/// `duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockPolicy {
    threshold: u32,
    duration: Duration,
}

impl Default for LockPolicy {
    fn default() -> Self {
        LockPolicy {
            threshold: DEFAULT_THRESHOLD,
            duration: Duration::seconds(DEFAULT_LOCK_SECONDS),
        }
    }
}

/// The kinds of secret an account's attempts are counted by, each on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Factor {
    Password,
    Totp,
    RecoveryCode,
    /// A one-time passcode by SMS, WhatsApp or email.
    Otp,
}

impl Factor {
    pub const ALL: [Factor; 4] = [
        Factor::Password,
        Factor::Totp,
        Factor::RecoveryCode,
        Factor::Otp,
    ];

    /// The name it is stored under.
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Totp => "totp",
            Factor::RecoveryCode => "recovery_code",
            Factor::Otp => "otp",
        }
    }

    pub fn parse(name: &str) -> Option<Factor> {
        Factor::ALL
            .into_iter()
            .find(|factor| factor.as_str() == name)
    }
}

/// One factor's attempts on one account, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FactorAttempts {
    /// Wrong secrets since the factor's last success or the account's last lock.
    pub failed: u32,
    /// Reserved attempts without an outcome yet.
    pub pending: u32,
    /// When the pending reservations lapse (the latest one's lease).
    pub pending_until: Option<DateTime<Utc>>,
}

impl FactorAttempts {
    /// The reservations still holding their place at `now`.
    pub fn pending_at(&self, now: DateTime<Utc>) -> u32 {
        match self.pending_until {
            Some(until) if until > now => self.pending,
            _ => 0,
        }
    }

    /// One reservation ends: the pending count as it is at `now`, less one.
    fn end_one(self, now: DateTime<Utc>) -> FactorAttempts {
        let pending = self.pending_at(now).saturating_sub(1);
        FactorAttempts {
            failed: self.failed,
            pending,
            pending_until: self.pending_until.filter(|_| pending > 0),
        }
    }
}

/// A lock on an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why an attempt may not be made now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The account is locked until `until`.
    Locked { until: DateTime<Utc> },
    /// So many attempts of this factor are failed or in flight that one more could pass the
    /// threshold; it frees up as they end.
    Saturated,
}

/// What a failure leaves: the factor's attempts and, when it reached the threshold, the lock
/// it sets (after which every factor's count starts afresh).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    pub attempts: FactorAttempts,
    pub lock: Option<Lock>,
}

impl LockPolicy {
    /// The rules for `threshold` failures and a lock of `lock_seconds`, within Stytch's bounds
    /// (1 to 100 attempts, 5 minutes to 7 days).
    pub fn new(threshold: u32, lock_seconds: i64) -> Result<LockPolicy, InputError> {
        if !(MIN_THRESHOLD..=MAX_THRESHOLD).contains(&threshold) {
            return Err(InputError::BadRequest(format!(
                "The lock threshold must be between {MIN_THRESHOLD} and {MAX_THRESHOLD} attempts."
            )));
        }
        if !(MIN_LOCK_SECONDS..=MAX_LOCK_SECONDS).contains(&lock_seconds) {
            return Err(InputError::BadRequest(format!(
                "The lock duration must be between {MIN_LOCK_SECONDS} and {MAX_LOCK_SECONDS} seconds."
            )));
        }
        Ok(LockPolicy {
            threshold,
            duration: Duration::seconds(lock_seconds),
        })
    }

    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The lock in force at `now`, if any.
    pub fn active_lock(&self, lock: Option<Lock>, now: DateTime<Utc>) -> Option<Lock> {
        lock.filter(|lock| lock.expires_at > now)
    }

    /// Reserves one attempt of a factor at `now`, before its secret is checked: refused while
    /// the account is locked, or while the factor's failures and live reservations already
    /// make up the threshold.
    pub fn reserve(
        &self,
        lock: Option<Lock>,
        attempts: FactorAttempts,
        now: DateTime<Utc>,
    ) -> Result<FactorAttempts, Refused> {
        if let Some(lock) = self.active_lock(lock, now) {
            return Err(Refused::Locked {
                until: lock.expires_at,
            });
        }
        let pending = attempts.pending_at(now);
        if attempts.failed.saturating_add(pending) >= self.threshold {
            return Err(Refused::Saturated);
        }
        Ok(FactorAttempts {
            failed: attempts.failed,
            pending: pending + 1,
            pending_until: Some(now + Duration::seconds(PENDING_LEASE_SECONDS)),
        })
    }

    /// A reserved attempt whose secret was wrong. The failure that reaches the threshold locks
    /// the account and clears the count.
    pub fn failed(&self, attempts: FactorAttempts, now: DateTime<Utc>) -> Failure {
        let ended = attempts.end_one(now);
        let failed = ended.failed.saturating_add(1);
        if failed >= self.threshold {
            return Failure {
                attempts: FactorAttempts { failed: 0, ..ended },
                lock: Some(Lock {
                    created_at: now,
                    expires_at: now + self.duration,
                }),
            };
        }
        Failure {
            attempts: FactorAttempts { failed, ..ended },
            lock: None,
        }
    }

    /// A reserved attempt whose secret was right: the factor's count starts afresh.
    pub fn succeeded(attempts: FactorAttempts, now: DateTime<Utc>) -> FactorAttempts {
        FactorAttempts {
            failed: 0,
            ..attempts.end_one(now)
        }
    }

    /// A reserved attempt that ended before its secret was judged, or whose request failed
    /// after it for another reason: no failure and no success.
    pub fn released(attempts: FactorAttempts, now: DateTime<Utc>) -> FactorAttempts {
        attempts.end_one(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap_or_default()
    }

    fn policy(threshold: u32) -> LockPolicy {
        LockPolicy::new(threshold, 3600).unwrap()
    }

    /// One sequential attempt of `policy` at `now` that fails: its attempts and lock after.
    fn fail(
        policy: &LockPolicy,
        lock: Option<Lock>,
        attempts: FactorAttempts,
        now: DateTime<Utc>,
    ) -> Result<Failure, Refused> {
        let reserved = policy.reserve(lock, attempts, now)?;
        Ok(policy.failed(reserved, now))
    }

    #[test]
    fn settings_outside_stytchs_bounds_are_refused() {
        assert!(LockPolicy::new(0, 3600).is_err());
        assert!(LockPolicy::new(101, 3600).is_err());
        assert!(LockPolicy::new(10, 299).is_err());
        assert!(LockPolicy::new(10, 7 * 24 * 3600 + 1).is_err());
        assert!(LockPolicy::new(1, 300).is_ok());
        assert!(LockPolicy::new(100, 7 * 24 * 3600).is_ok());
        assert_eq!(LockPolicy::default(), LockPolicy::new(10, 3600).unwrap());
    }

    #[test]
    fn factors_are_stored_by_name() {
        for factor in Factor::ALL {
            assert_eq!(Factor::parse(factor.as_str()), Some(factor));
        }
        assert_eq!(Factor::parse("magic"), None);
    }

    #[test]
    fn the_failure_that_reaches_the_threshold_locks() {
        let policy = policy(3);
        let mut attempts = FactorAttempts::default();
        for attempt in 1..=2 {
            let failure = fail(&policy, None, attempts, at(attempt)).unwrap();
            assert_eq!(failure.attempts.failed, attempt as u32);
            assert_eq!(failure.attempts.pending, 0);
            assert_eq!(failure.lock, None);
            attempts = failure.attempts;
        }
        let failure = fail(&policy, None, attempts, at(3)).unwrap();
        let lock = Lock {
            created_at: at(3),
            expires_at: at(3 + 3600),
        };
        assert_eq!(failure.lock, Some(lock));
        assert_eq!(failure.attempts, FactorAttempts::default());
        assert_eq!(
            policy.reserve(Some(lock), failure.attempts, at(4)),
            Err(Refused::Locked {
                until: at(3 + 3600)
            })
        );
    }

    #[test]
    fn a_lock_lifts_when_it_expires_and_the_count_starts_afresh() {
        let policy = policy(2);
        let first = fail(&policy, None, FactorAttempts::default(), at(0)).unwrap();
        let second = fail(&policy, None, first.attempts, at(1)).unwrap();
        let lock = second.lock;
        assert!(policy.active_lock(lock, at(3600)).is_some());
        assert!(policy.active_lock(lock, at(3601)).is_none());
        let after = fail(&policy, lock, second.attempts, at(3601)).unwrap();
        assert_eq!(after.attempts.failed, 1);
        assert_eq!(after.lock, None);
    }

    #[test]
    fn a_threshold_of_one_locks_on_the_first_failure() {
        let failure = fail(&policy(1), None, FactorAttempts::default(), at(0)).unwrap();
        assert!(failure.lock.is_some());
    }

    #[test]
    fn a_success_clears_the_count_of_its_factor() {
        let policy = policy(5);
        let failure = fail(&policy, None, FactorAttempts::default(), at(0)).unwrap();
        assert_eq!(failure.attempts.failed, 1);
        let reserved = policy.reserve(None, failure.attempts, at(1)).unwrap();
        assert_eq!(
            LockPolicy::succeeded(reserved, at(1)),
            FactorAttempts::default()
        );
    }

    /// Concurrent guesses: reservations count toward the threshold while in flight, so no
    /// more than `threshold` secrets are ever checked before the lock.
    #[test]
    fn reservations_in_flight_count_toward_the_threshold() {
        let policy = policy(3);
        let mut attempts = FactorAttempts::default();
        for _ in 0..3 {
            attempts = policy.reserve(None, attempts, at(0)).unwrap();
        }
        assert_eq!(attempts.pending, 3);
        assert_eq!(
            policy.reserve(None, attempts, at(0)),
            Err(Refused::Saturated)
        );
        // One ends as a success elsewhere: room for one more.
        let released = LockPolicy::released(attempts, at(1));
        assert!(policy.reserve(None, released, at(1)).is_ok());
    }

    /// A request that reserved and never came back (it timed out) is no failure: its
    /// reservation lapses with its lease, and the count stays as it was.
    #[test]
    fn an_abandoned_reservation_lapses_without_counting() {
        let policy = policy(2);
        let mut attempts = FactorAttempts::default();
        for _ in 0..2 {
            attempts = policy.reserve(None, attempts, at(0)).unwrap();
        }
        assert_eq!(
            policy.reserve(None, attempts, at(PENDING_LEASE_SECONDS - 1)),
            Err(Refused::Saturated)
        );
        let later = policy
            .reserve(None, attempts, at(PENDING_LEASE_SECONDS))
            .unwrap();
        assert_eq!(later.failed, 0);
        assert_eq!(later.pending, 1);
        // An outcome arriving after its lease lapsed takes nothing below zero.
        let ended = LockPolicy::released(attempts, at(PENDING_LEASE_SECONDS + 1));
        assert_eq!(ended.pending, 0);
        assert_eq!(ended.pending_until, None);
    }

    #[test]
    fn a_released_reservation_is_neither_failure_nor_success() {
        let policy = policy(3);
        let failure = fail(&policy, None, FactorAttempts::default(), at(0)).unwrap();
        let reserved = policy.reserve(None, failure.attempts, at(1)).unwrap();
        let released = LockPolicy::released(reserved, at(2));
        assert_eq!(released.failed, 1);
        assert_eq!(released.pending, 0);
    }
}
