//! Sliding-window limits on failed attempts: a subject (an email, an address, a credential) that
//! failed `max_failures` times within `window_ms` may not try again until the oldest of those
//! failures leaves the window. Pure: the callers keep the failure times.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub window_ms: i64,
    pub max_failures: usize,
}

impl Limit {
    /// `None` when another attempt may be made now; otherwise the milliseconds until one may.
    pub fn wait_ms(self, failures: &[i64], now_ms: i64) -> Option<i64> {
        let recent: Vec<i64> = failures
            .iter()
            .copied()
            .filter(|t| now_ms - t < self.window_ms)
            .collect();
        (self.max_failures > 0 && recent.len() >= self.max_failures).then(|| {
            // The attempt that brings the count back under the limit is allowed once the
            // failure `max_failures` places from the newest has left the window.
            let mut sorted = recent;
            sorted.sort_unstable();
            let pivot = sorted[sorted.len() - self.max_failures];
            (pivot + self.window_ms - now_ms).max(1)
        })
    }

    /// Whether a failure at `at_ms` still counts at `now_ms` (callers prune with it).
    pub fn counts(self, at_ms: i64, now_ms: i64) -> bool {
        now_ms - at_ms < self.window_ms
    }
}

/// The longest wait any of the limits imposes, or `None` when none does.
pub fn longest_wait(waits: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    waits.into_iter().flatten().max()
}

/// Wrong OTPs through the API, per credential and per source address: with each transaction's
/// own attempt limit these bound how fast anyone holding a key (a stolen one, or a dishonest
/// merchant debiting strangers) can guess customers' codes: at most 30 guesses per 10 minutes
/// per key, whatever number of transactions they open.
pub const OTP_FAILURES_PER_CREDENTIAL: Limit = Limit {
    window_ms: 10 * 60 * 1000,
    max_failures: 30,
};
pub const OTP_FAILURES_PER_ADDRESS: Limit = Limit {
    window_ms: 10 * 60 * 1000,
    max_failures: 30,
};

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Limit = Limit {
        window_ms: 1_000,
        max_failures: 3,
    };

    #[test]
    fn below_the_limit_an_attempt_is_allowed() {
        assert_eq!(LIMIT.wait_ms(&[10, 20], 100), None);
        assert_eq!(LIMIT.wait_ms(&[], 100), None);
    }

    #[test]
    fn at_the_limit_the_wait_ends_when_the_oldest_counted_failure_leaves_the_window() {
        assert_eq!(LIMIT.wait_ms(&[100, 200, 300], 400), Some(700));
        // Order of the input does not matter.
        assert_eq!(LIMIT.wait_ms(&[300, 100, 200], 400), Some(700));
        // With more failures than the limit, the pivot is the limit-th newest.
        assert_eq!(LIMIT.wait_ms(&[100, 200, 300, 350], 400), Some(800));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        assert_eq!(LIMIT.wait_ms(&[0, 1, 2], 1_002), None);
        assert!(LIMIT.counts(5, 1_004));
        assert!(!LIMIT.counts(4, 1_004));
    }

    #[test]
    fn the_longest_wait_wins() {
        assert_eq!(longest_wait([None, Some(5), Some(9)]), Some(9));
        assert_eq!(longest_wait([None, None]), None);
    }
}
