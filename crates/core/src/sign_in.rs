//! How many wrong passwords a dashboard sign-in tolerates. Failures are counted per email (a
//! guesser aiming at one account) and per client address (one guesser trying many accounts);
//! either limit closes sign-in for that subject until its oldest counted failure ages out.

use crate::throttle::{longest_wait, Limit};

/// Failures are counted over this window.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_FAILURES_PER_EMAIL: usize = 5;
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;

/// The failures of one subject inside the window, oldest first, as unix milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Failures<'a> {
    pub by_email: &'a [i64],
    pub by_address: &'a [i64],
}

/// `Ok` when a password may be checked now; otherwise the milliseconds until it may.
pub fn may_attempt(failures: Failures<'_>, now_ms: i64) -> Result<(), i64> {
    let per = |max_failures| Limit {
        window_ms: WINDOW_MS,
        max_failures,
    };
    match longest_wait([
        per(MAX_FAILURES_PER_EMAIL).wait_ms(failures.by_email, now_ms),
        per(MAX_FAILURES_PER_ADDRESS).wait_ms(failures.by_address, now_ms),
    ]) {
        None => Ok(()),
        Some(wait) => Err(wait),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(email: &[i64], address: &[i64], now: i64) -> Result<(), i64> {
        may_attempt(
            Failures {
                by_email: email,
                by_address: address,
            },
            now,
        )
    }

    #[test]
    fn four_failures_allow_a_fifth_attempt_and_five_do_not() {
        let now = 10 * WINDOW_MS;
        let four: Vec<i64> = (0..4).map(|i| now - 1000 * (4 - i)).collect();
        assert_eq!(check(&four, &[], now), Ok(()));
        let five: Vec<i64> = (0..5).map(|i| now - 1000 * (5 - i)).collect();
        let wait = check(&five, &[], now).unwrap_err();
        assert_eq!(wait, five[0] + WINDOW_MS - now);
    }

    #[test]
    fn failures_age_out_of_the_window() {
        let now = 10 * WINDOW_MS;
        let old: Vec<i64> = (0..10).map(|i| now - WINDOW_MS - i).collect();
        assert_eq!(check(&old, &old, now), Ok(()));
    }

    #[test]
    fn one_address_guessing_many_accounts_is_stopped() {
        let now = 10 * WINDOW_MS;
        let twenty: Vec<i64> = (0..20).map(|i| now - 100 * (20 - i)).collect();
        assert!(check(&[], &twenty, now).is_err());
        assert_eq!(check(&[], &twenty[..19], now), Ok(()));
    }
}
