//! Bounds OTP guessing through the API per credential and per source address, on top of each
//! transaction's own attempt limit (policy: `ducat_core::throttle`).
//!
//! Failures are counted in this node's memory: a restart forgets them and N nodes allow N times
//! the rate. The durable bound stays the per-transaction one; this one slows a guesser spread
//! over many transactions to the limit's pace per node.

use super::{AppError, Services};
use ducat_core::throttle::{
    longest_wait, Limit, OTP_FAILURES_PER_ADDRESS, OTP_FAILURES_PER_CREDENTIAL,
};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Mutex;

/// Past this many subjects, those with no failure left in the window are dropped.
const PRUNE_ABOVE: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Credential(String),
    Address(IpAddr),
}

impl Subject {
    fn limit(&self) -> Limit {
        match self {
            Subject::Credential(_) => OTP_FAILURES_PER_CREDENTIAL,
            Subject::Address(_) => OTP_FAILURES_PER_ADDRESS,
        }
    }
}

#[derive(Default)]
pub struct OtpGuard {
    failures: Mutex<HashMap<Subject, Vec<i64>>>,
}

impl OtpGuard {
    fn subjects(credential: &str, address: IpAddr) -> [Subject; 2] {
        [
            Subject::Credential(credential.to_owned()),
            Subject::Address(address),
        ]
    }

    /// Refuses with 429 while either subject is over its limit; nothing is checked or counted.
    fn admit(&self, credential: &str, address: IpAddr, now_ms: i64) -> Result<(), AppError> {
        let failures = self.lock();
        let waits = Self::subjects(credential, address).map(|subject| {
            let times = failures.get(&subject).map(Vec::as_slice).unwrap_or(&[]);
            subject.limit().wait_ms(times, now_ms)
        });
        match longest_wait(waits) {
            None => Ok(()),
            Some(wait_ms) => {
                let retry_after_secs = u64::try_from(wait_ms).unwrap_or(1).div_ceil(1000).max(1);
                Err(AppError::RateLimited {
                    message: format!(
                        "too many wrong OTPs from this API key or address; try again in \
                         {retry_after_secs} seconds"
                    ),
                    retry_after_secs,
                })
            }
        }
    }

    fn failed(&self, credential: &str, address: IpAddr, now_ms: i64) {
        let mut failures = self.lock();
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|subject, times| {
                times.iter().any(|&at| subject.limit().counts(at, now_ms))
            });
        }
        for subject in Self::subjects(credential, address) {
            let limit = subject.limit();
            let times = failures.entry(subject).or_default();
            times.retain(|&at| limit.counts(at, now_ms));
            times.push(now_ms);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Subject, Vec<i64>>> {
        // A panic while holding the lock leaves nothing half-written worth refusing to read.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether an OTP submission failed because of the code itself (malformed or wrong, or the
/// attempt that used up the transaction's last chance), in either face's words.
fn is_failed_otp(error: &AppError) -> bool {
    match error {
        AppError::Invalid { field, .. } => field == "otp",
        AppError::Refused { code, .. } => matches!(*code, "450" | "453"),
        _ => false,
    }
}

impl Services {
    /// Runs an OTP submission under the per-credential and per-address limits, counting it
    /// against both when the code was wrong.
    pub async fn otp_attempt<T>(
        &self,
        credential: &str,
        address: IpAddr,
        attempt: impl Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        self.otp_guard.admit(credential, address, self.now_ms())?;
        let outcome = attempt.await;
        if outcome.as_ref().err().is_some_and(is_failed_otp) {
            self.otp_guard.failed(credential, address, self.now_ms());
        }
        outcome
    }
}
