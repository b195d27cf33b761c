//! The lock rules: what an authentication attempt counts, when an account (a user or a member)
//! locks, when the lock lifts and what resets the count. The store keeps a [`LockState`] per
//! account and applies these functions to it inside the attempt's transaction; nothing else
//! decides a lock.
//!
//! An attempt is counted *before* its factor is verified ([`LockPolicy::reserve`]), so
//! concurrent guesses cannot verify more than `threshold` secrets between two successes; a
//! success ([`LockPolicy::succeeded`]) clears the count and the lock.

use chrono::{DateTime, Duration, Utc};

use crate::InputError;

/// Stytch's bounds and defaults for the lock settings.
pub const MIN_THRESHOLD: u32 = 1;
pub const MAX_THRESHOLD: u32 = 100;
pub const DEFAULT_THRESHOLD: u32 = 10;
pub const MIN_LOCK_SECONDS: i64 = 5 * 60;
pub const MAX_LOCK_SECONDS: i64 = 7 * 24 * 3600;
pub const DEFAULT_LOCK_SECONDS: i64 = 3600;

/// A project's lock rules: this many consecutive failed attempts lock an account for `duration`.
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

/// An account's count of failed attempts and its lock, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockState {
    pub failed_attempts: u32,
    /// When the account locked and until when; both or neither.
    pub lock: Option<Lock>,
}

/// A lock on an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The account is locked until `until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locked {
    pub until: DateTime<Utc>,
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

    /// The lock `state` holds at `now`, if it is still in force.
    pub fn active_lock(&self, state: &LockState, now: DateTime<Utc>) -> Option<Locked> {
        state
            .lock
            .filter(|lock| lock.expires_at > now)
            .map(|lock| Locked {
                until: lock.expires_at,
            })
    }

    /// Counts one attempt at `now`, before its factor is verified. A locked account is refused;
    /// an expired lock starts the count afresh; the attempt that reaches the threshold is the
    /// last one allowed, and locks the account at once (a success then clears the lock).
    pub fn reserve(&self, state: LockState, now: DateTime<Utc>) -> Result<LockState, Locked> {
        if let Some(locked) = self.active_lock(&state, now) {
            return Err(locked);
        }
        let failed = if state.lock.is_some() {
            0
        } else {
            state.failed_attempts
        };
        let attempts = failed.saturating_add(1);
        let lock = (attempts >= self.threshold).then(|| Lock {
            created_at: now,
            expires_at: now + self.duration,
        });
        Ok(LockState {
            failed_attempts: attempts,
            lock,
        })
    }

    /// What a successful authentication leaves, whatever the policy: no failures and no lock.
    pub fn succeeded() -> LockState {
        LockState::default()
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
    fn the_attempt_that_reaches_the_threshold_locks() {
        let policy = policy(3);
        let mut state = LockState::default();
        for attempt in 1..=2 {
            state = policy.reserve(state, at(attempt)).unwrap();
            assert_eq!(state.failed_attempts, attempt as u32);
            assert_eq!(state.lock, None);
        }
        state = policy.reserve(state, at(3)).unwrap();
        assert_eq!(
            state.lock,
            Some(Lock {
                created_at: at(3),
                expires_at: at(3 + 3600)
            })
        );
        assert_eq!(
            policy.reserve(state, at(4)),
            Err(Locked {
                until: at(3 + 3600)
            })
        );
    }

    #[test]
    fn a_lock_lifts_when_it_expires_and_the_count_starts_afresh() {
        let policy = policy(2);
        let locked = policy
            .reserve(policy.reserve(LockState::default(), at(0)).unwrap(), at(1))
            .unwrap();
        assert!(policy.active_lock(&locked, at(3600)).is_some());
        assert!(policy.active_lock(&locked, at(3601)).is_none());
        let after = policy.reserve(locked, at(3601)).unwrap();
        assert_eq!(
            after,
            LockState {
                failed_attempts: 1,
                lock: None
            }
        );
    }

    #[test]
    fn a_threshold_of_one_locks_on_the_first_attempt() {
        let state = policy(1).reserve(LockState::default(), at(0)).unwrap();
        assert!(state.lock.is_some());
    }

    #[test]
    fn a_success_clears_the_count_and_the_lock() {
        let policy = policy(5);
        let state = policy.reserve(LockState::default(), at(0)).unwrap();
        assert_eq!(state.failed_attempts, 1);
        assert_eq!(LockPolicy::succeeded(), LockState::default());
    }
}
