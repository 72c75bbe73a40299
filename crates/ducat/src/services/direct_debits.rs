//! Beqelal direct payments authorized by the institution itself over the bank rail (live
//! businesses on the `http` rail): the bank texts its own OTP or pushes a prompt; ducat relays
//! the OTP, and asks the bank (status queries) about push approvals and about authorizations
//! whose answer was lost. Beqelal's answers and error codes are those of the in-process flow:
//! the bank's answers are turned into the same `DirectPaymentCommand`s, decided by the same
//! `ducat_core::direct_payment::decide`, applied by the same code (one ledger entry on
//! PROCESSED). Test mode, and live mode on the in-process sandbox, never come here.

use super::direct_payments::refused;
use super::{AppError, Services};
use crate::rail::debits::{
    DebitFailure, DebitMethod, DebitOutcome, DebitRequest, DebitRequestError,
};
use crate::store::bank_debits;
use crate::store::businesses::Mode;
use crate::store::direct_payments::{self, DirectPaymentRecord};
use ducat_core::direct_payment::{
    decide, DirectPayment, DirectPaymentCommand, DirectPaymentStatus, Refusal,
};
use ducat_core::ids::BusinessId;

/// The first status query for a push approval, this long after the request.
pub const PUSH_FIRST_POLL_MS: i64 = 1_000;
/// Status queries back off from 1 s, doubling, to at most this.
pub const MAX_POLL_DELAY_MS: i64 = 600_000;

/// The wait before the next status query, after `polls` of them.
pub fn poll_delay_ms(polls: i64) -> i64 {
    let shift = u32::try_from(polls.clamp(0, 20)).unwrap_or(20);
    1_000i64.saturating_mul(1 << shift).min(MAX_POLL_DELAY_MS)
}

/// What the institution's answer to an authorization means for ducat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeStep {
    /// Decide this command on this payment (adjusted so that the bank's final word about
    /// wrong OTPs or expiry yields the same refusal as in process).
    Decide(DirectPayment, DirectPaymentCommand),
    /// No answer that settles it: ask the bank again later, change nothing.
    Unknown,
}

pub fn authorize_step(
    payment: &DirectPayment,
    outcome: &DebitOutcome,
    now_ms: i64,
    max_wrong_otps: u32,
) -> AuthorizeStep {
    let authorize = |otp_matches, institution_approves| DirectPaymentCommand::Authorize {
        otp_matches,
        institution_approves,
    };
    match outcome {
        DebitOutcome::Processed => AuthorizeStep::Decide(*payment, authorize(true, true)),
        DebitOutcome::Failed {
            failure: DebitFailure::Declined,
            ..
        } => AuthorizeStep::Decide(*payment, authorize(true, false)),
        DebitOutcome::Failed {
            failure: DebitFailure::OtpAttemptsExceeded,
            ..
        } => AuthorizeStep::Decide(
            DirectPayment {
                wrong_otps: payment.wrong_otps.max(max_wrong_otps.saturating_sub(1)),
                ..*payment
            },
            authorize(false, true),
        ),
        DebitOutcome::Failed {
            failure: DebitFailure::Expired,
            ..
        } => AuthorizeStep::Decide(
            DirectPayment {
                otp_expires_ms: payment.otp_expires_ms.min(now_ms),
                ..*payment
            },
            authorize(true, true),
        ),
        DebitOutcome::Awaiting { .. } => AuthorizeStep::Decide(*payment, authorize(false, true)),
        DebitOutcome::Unknown { .. } | DebitOutcome::NotFound => AuthorizeStep::Unknown,
    }
}

/// What a status query's answer means for a payment still awaiting authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStep {
    Decide(DirectPaymentCommand),
    /// Nothing settled: ask again at this time (`None`: only when the OTP expires, the
    /// customer's OTP is awaited).
    Wait(Option<i64>),
}

pub fn poll_step(
    payment: &DirectPayment,
    method: DebitMethod,
    outcome: &DebitOutcome,
    now_ms: i64,
    polls: i64,
) -> PollStep {
    let expired = now_ms >= payment.otp_expires_ms;
    let again = Some(now_ms.saturating_add(poll_delay_ms(polls)));
    match outcome {
        DebitOutcome::Processed => {
            PollStep::Decide(DirectPaymentCommand::PushAnswered { approved: true })
        }
        DebitOutcome::Failed { .. } => {
            PollStep::Decide(DirectPaymentCommand::PushAnswered { approved: false })
        }
        // The bank says nothing was debited (or never saw the debit): past the OTP's lifetime
        // the payment fails, as in process; ducat relays no OTP after that.
        DebitOutcome::Awaiting { .. } | DebitOutcome::NotFound if expired => {
            PollStep::Decide(DirectPaymentCommand::Sweep)
        }
        DebitOutcome::Awaiting { .. } => match method {
            DebitMethod::Push => PollStep::Wait(again),
            DebitMethod::Otp => PollStep::Wait(None),
        },
        // Never guessed: asked again, for as long as it takes.
        DebitOutcome::NotFound | DebitOutcome::Unknown { .. } => PollStep::Wait(again),
    }
}

fn unknown_outcome(reference: &str) -> AppError {
    AppError::Unavailable(format!(
        "The institution did not confirm the authorization of {reference} in time; ducat is \
         confirming the outcome with the institution. Read GET /api/v1/payment/{reference} or \
         wait for the webhook. Sending the same OTP to authorize again is safe (it is applied \
         at most once); requesting a new payment is not needed."
    ))
}

impl Services {
    /// Whether a business's direct payments are authorized by the institution over the rail.
    pub(super) fn debits_at_bank(&self, mode: Mode) -> bool {
        match mode {
            Mode::Test => false,
            Mode::Live => self.live_rail.authorizes_debits(),
        }
    }

    /// Asks the institution to debit the customer first; only an accepted request is recorded
    /// (a refused or unanswered one leaves nothing, and the same request may be sent again).
    pub(super) async fn request_debit_at_bank(
        &self,
        mut record: DirectPaymentRecord,
    ) -> Result<DirectPaymentRecord, AppError> {
        let debit = DebitRequest {
            reference: record.reference.clone(),
            currency: record.currency,
            institution: record.institution_code.clone(),
            account_number: record.account.clone(),
            amount: record.amount,
            reason: record.reason.clone(),
        };
        let method = self
            .live_rail
            .debit_request(&debit)
            .await
            .map_err(|error| match error {
                DebitRequestError::UnknownAccount(account) => AppError::invalid(
                    "account",
                    format!("{account} does not exist at {}", record.institution_name),
                ),
                DebitRequestError::Refused(message) => AppError::Unprocessable(message),
                DebitRequestError::Unavailable(message) => AppError::Unavailable(format!(
                    "{} could not be reached ({message}); nothing was created. Send the same request again.",
                    record.institution_name
                )),
            })?;
        let now = self.now_ms();
        record.otp_hash = None;
        record.authorization_method = match method {
            DebitMethod::Otp => "OTP",
            DebitMethod::Push => "PUSH_USSD",
        }
        .to_owned();
        let next_poll_at = match method {
            DebitMethod::Otp => None,
            DebitMethod::Push => Some(now.saturating_add(PUSH_FIRST_POLL_MS)),
        };
        let mut tx = self.store.begin().await?;
        direct_payments::insert(&mut tx, &record)
            .await
            .map_err(|error| match error {
                crate::store::StoreError::Duplicate { .. } => AppError::Conflict(format!(
                    "trace_number {} was already used",
                    record.trace_number
                )),
                other => other.into(),
            })?;
        bank_debits::insert(&mut tx, &record.reference, method, next_poll_at, now).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Relays the customer's OTP to the institution, then applies its answer as the in-process
    /// flow applies its own decision. A lost answer changes nothing but schedules a status query.
    pub(super) async fn authorize_debit_at_bank(
        &self,
        record: DirectPaymentRecord,
        otp: u32,
    ) -> Result<DirectPaymentRecord, AppError> {
        let reference = record.reference.clone();
        if record.payment.status.is_final() {
            return Err(refused(Refusal::AlreadyFinal(record.payment.status)));
        }
        if record.authorization_method != "OTP" {
            return Err(refused(Refusal::NotOtpAuthorized));
        }
        if self.now_ms() >= record.payment.otp_expires_ms {
            // Too late to relay an OTP; but an earlier authorization may have reached the bank.
            let after = self
                .poll_bank_debit(&record.business_id, &reference)
                .await?
                .unwrap_or(record);
            return Err(match after.payment.status {
                DirectPaymentStatus::Processed => {
                    refused(Refusal::AlreadyFinal(DirectPaymentStatus::Processed))
                }
                DirectPaymentStatus::Failed => refused(Refusal::OtpExpired),
                DirectPaymentStatus::AwaitingAuthorization => unknown_outcome(&reference),
            });
        }
        let outcome = self
            .live_rail
            .debit_authorize(&reference, &otp.to_string())
            .await;
        for _ in 0..5 {
            let mut tx = self.store.begin().await?;
            let loaded = direct_payments::load(
                &mut tx,
                self.store.engine(),
                &record.business_id,
                &reference,
            )
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no transaction {reference}")))?;
            let now = self.now_ms();
            match authorize_step(&loaded.payment, &outcome, now, self.config.otp_max_attempts) {
                AuthorizeStep::Unknown => {
                    let note = match &outcome {
                        DebitOutcome::Unknown { reason } => reason.clone(),
                        DebitOutcome::NotFound => "the bank has never seen the debit".to_owned(),
                        DebitOutcome::Processed
                        | DebitOutcome::Failed { .. }
                        | DebitOutcome::Awaiting { .. } => String::new(),
                    };
                    tracing::warn!(reference = %reference, reason = %note, "direct debit authorization outcome unknown");
                    if !loaded.payment.status.is_final() {
                        bank_debits::schedule(
                            &mut tx,
                            &reference,
                            Some(now.saturating_add(poll_delay_ms(0))),
                            false,
                            Some(&note),
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    return Err(unknown_outcome(&reference));
                }
                AuthorizeStep::Decide(payment, command) => {
                    // The status query settled it first, the same way: the same answer.
                    if loaded.payment.status == DirectPaymentStatus::Processed
                        && outcome == DebitOutcome::Processed
                    {
                        tx.rollback().await?;
                        return Ok(loaded);
                    }
                    let decision = decide(&payment, command, now, self.config.otp_max_attempts);
                    match self
                        .apply_direct_payment(&mut tx, &loaded, &decision)
                        .await?
                    {
                        Some(after) => {
                            if after.payment.status.is_final() {
                                bank_debits::schedule(&mut tx, &reference, None, false, None)
                                    .await?;
                            }
                            tx.commit().await?;
                            return match decision.refusal {
                                Some(refusal) => Err(refused(refusal)),
                                None => Ok(after),
                            };
                        }
                        None => tx.rollback().await?,
                    }
                }
            }
        }
        Err(AppError::Conflict(format!(
            "transaction {reference} is being changed by another request; retry"
        )))
    }

    /// Asks the bank about one bank-held payment and applies a settled answer (once: the save
    /// is conditional on the version loaded). `None` when the payment is not bank-held.
    pub(super) async fn poll_bank_debit(
        &self,
        business_id: &BusinessId,
        reference: &str,
    ) -> Result<Option<DirectPaymentRecord>, AppError> {
        let Some(debit) = bank_debits::find_in(&self.store, reference).await? else {
            return Ok(None);
        };
        let outcome = self.live_rail.debit_status(reference).await;
        for _ in 0..5 {
            let mut tx = self.store.begin().await?;
            let Some(record) =
                direct_payments::load(&mut tx, self.store.engine(), business_id, reference).await?
            else {
                tx.rollback().await?;
                return Ok(None);
            };
            if record.payment.status.is_final() {
                bank_debits::schedule(&mut tx, reference, None, false, None).await?;
                tx.commit().await?;
                return Ok(Some(record));
            }
            let now = self.now_ms();
            match poll_step(&record.payment, debit.method, &outcome, now, debit.polls) {
                PollStep::Wait(next_poll_at) => {
                    let note = match &outcome {
                        DebitOutcome::Unknown { reason } => Some(reason.as_str()),
                        DebitOutcome::NotFound => Some("the bank has never seen the debit"),
                        DebitOutcome::Processed
                        | DebitOutcome::Failed { .. }
                        | DebitOutcome::Awaiting { .. } => None,
                    };
                    bank_debits::schedule(&mut tx, reference, next_poll_at, true, note).await?;
                    tx.commit().await?;
                    return Ok(Some(record));
                }
                PollStep::Decide(command) => {
                    let decision =
                        decide(&record.payment, command, now, self.config.otp_max_attempts);
                    match self
                        .apply_direct_payment(&mut tx, &record, &decision)
                        .await?
                    {
                        Some(after) => {
                            bank_debits::schedule(&mut tx, reference, None, true, None).await?;
                            tx.commit().await?;
                            return Ok(Some(after));
                        }
                        None => tx.rollback().await?,
                    }
                }
            }
        }
        Err(AppError::Conflict(format!(
            "transaction {reference} is being changed by another request"
        )))
    }

    /// Worker step: status queries for the bank-held payments that are due (push approvals,
    /// lost answers, expired OTPs). Returns how many became final.
    pub(super) async fn poll_due_bank_debits(&self) -> Result<usize, AppError> {
        let due = bank_debits::due(&self.store, self.now_ms(), 200).await?;
        let mut finished = 0;
        for (business_id, reference) in due {
            match self.poll_bank_debit(&business_id, &reference).await {
                Ok(Some(after)) if after.payment.status.is_final() => finished += 1,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(reference = %reference, error = %error, "direct debit status query failed")
                }
            }
        }
        Ok(finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u32 = 5;

    fn awaiting() -> DirectPayment {
        DirectPayment {
            status: DirectPaymentStatus::AwaitingAuthorization,
            wrong_otps: 0,
            otp_expires_ms: 600_000,
        }
    }

    fn decided(outcome: DebitOutcome, now: i64) -> ducat_core::direct_payment::Decision {
        match authorize_step(&awaiting(), &outcome, now, MAX) {
            AuthorizeStep::Decide(payment, command) => decide(&payment, command, now, MAX),
            AuthorizeStep::Unknown => panic!("unknown"),
        }
    }

    fn failed(failure: DebitFailure) -> DebitOutcome {
        DebitOutcome::Failed {
            failure,
            reason: "x".into(),
        }
    }

    #[test]
    fn bank_answers_to_an_authorization_give_the_in_process_refusals() {
        let processed = decided(DebitOutcome::Processed, 0);
        assert_eq!(processed.next.status, DirectPaymentStatus::Processed);
        assert_eq!(processed.refusal, None);
        let declined = decided(failed(DebitFailure::Declined), 0);
        assert_eq!(
            (declined.next.status, declined.refusal),
            (DirectPaymentStatus::Failed, None)
        );
        let wrong = decided(
            DebitOutcome::Awaiting {
                attempts_left: Some(4),
            },
            0,
        );
        assert_eq!(
            wrong.refusal,
            Some(Refusal::InvalidOtp { attempts_left: 4 })
        );
        assert_eq!(wrong.next.wrong_otps, 1);
        let exceeded = decided(failed(DebitFailure::OtpAttemptsExceeded), 0);
        assert_eq!(
            (exceeded.next.status, exceeded.refusal),
            (DirectPaymentStatus::Failed, Some(Refusal::TooManyWrongOtps))
        );
        let expired = decided(failed(DebitFailure::Expired), 10);
        assert_eq!(
            (expired.next.status, expired.refusal),
            (DirectPaymentStatus::Failed, Some(Refusal::OtpExpired))
        );
        for unsettled in [
            DebitOutcome::Unknown {
                reason: "dropped".into(),
            },
            DebitOutcome::NotFound,
        ] {
            assert_eq!(
                authorize_step(&awaiting(), &unsettled, 0, MAX),
                AuthorizeStep::Unknown
            );
        }
    }

    #[test]
    fn status_answers_settle_or_wait_never_guess() {
        let poll =
            |method, outcome: DebitOutcome, now| poll_step(&awaiting(), method, &outcome, now, 0);
        assert_eq!(
            poll(DebitMethod::Push, DebitOutcome::Processed, 0),
            PollStep::Decide(DirectPaymentCommand::PushAnswered { approved: true })
        );
        assert_eq!(
            poll(DebitMethod::Otp, failed(DebitFailure::Declined), 0),
            PollStep::Decide(DirectPaymentCommand::PushAnswered { approved: false })
        );
        let waiting = DebitOutcome::Awaiting {
            attempts_left: None,
        };
        assert_eq!(
            poll(DebitMethod::Push, waiting.clone(), 5),
            PollStep::Wait(Some(1_005))
        );
        assert_eq!(
            poll(DebitMethod::Otp, waiting.clone(), 5),
            PollStep::Wait(None)
        );
        assert_eq!(
            poll(DebitMethod::Otp, waiting, 600_000),
            PollStep::Decide(DirectPaymentCommand::Sweep)
        );
        // An unknown outcome is asked about again, even past the OTP's lifetime.
        let unknown = DebitOutcome::Unknown {
            reason: "timeout".into(),
        };
        assert_eq!(
            poll(DebitMethod::Otp, unknown, 700_000),
            PollStep::Wait(Some(701_000))
        );
        assert_eq!(poll_delay_ms(0), 1_000);
        assert_eq!(poll_delay_ms(3), 8_000);
        assert_eq!(poll_delay_ms(40), MAX_POLL_DELAY_MS);
    }
}
