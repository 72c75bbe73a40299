//! OTP-confirmed payouts: initiation, the OTP, resends, the sweeper that abandons them at the
//! deadline, and the dispatcher that sends pending ones to the bank.
//!
//! Every change runs the pure `ducat_core::payout::decide` on the payout as loaded (locked on
//! PostgreSQL, on the single writer on SQLite) and applies the decision, its postings, its OTP
//! message and its events in one database transaction, saved only if the payout's version is
//! still the one loaded. The bank is called outside any transaction.

use super::{AppError, Services};
use crate::documents;
use crate::rail::{TransferOut, TransferOutcome};
use crate::store::businesses::BusinessRecord;
use crate::store::events::{self, EventFace};
use crate::store::ledger::{self as ledger_store, EntryKind};
use crate::store::payouts::{self, PayoutChanges, RailState, StoredPayout, WithdrawalDetails};
use crate::store::transactions::{Party, TransactionRecord};
use crate::store::{businesses, sms, StoreError, Tx};
use ducat_core::ids::{BusinessId, TransactionRef};
use ducat_core::ledger::{self, Account, LedgerError};
use ducat_core::money::{parse_major, Currency, MinorUnits};
use ducat_core::otp::Otp;
use ducat_core::payout::{
    decide, Decision, Effect, PayoutCommand, PayoutEvent, PayoutPolicy, PayoutStatus, Refusal,
};
use futures_util::StreamExt;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;

/// Duplo's documented minimum payout: ₦200.
pub const MINIMUM_PAYOUT: MinorUnits = MinorUnits(20_000);

/// How many times a command is retried when another node changed the payout in between.
const MAX_CONFLICT_RETRIES: usize = 5;

/// The dispatcher leases this many due payouts at a time, talks to the bank about this many at
/// once, and takes at most this many leases per step before yielding to its pacing loop.
const DISPATCH_LEASE_SIZE: usize = 128;
const DISPATCH_CONCURRENCY: usize = 32;
const DISPATCH_ROUNDS_PER_STEP: usize = 16;

#[derive(Debug, Clone)]
pub struct InitiatePayout {
    pub bank_code: String,
    pub account_number: String,
    /// Major units exactly as sent.
    pub amount: String,
    pub description: String,
    /// The business's own id for the payout, unique per business.
    pub transaction_id: Option<String>,
}

/// A payout validated against the bank and the wallet, ready to be written.
pub(super) struct PreparedPayout {
    pub(super) record: TransactionRecord,
    pub(super) withdrawal: Option<WithdrawalDetails>,
}

/// The outcome of one attempt at applying a decision.
enum Applied {
    Saved,
    /// Another node changed the payout since it was loaded: load again and decide again.
    Raced,
}

/// How long to wait before asking the bank again about a transfer whose outcome is unknown:
/// 5 s, doubling, at most 10 minutes, for as long as it takes.
pub fn status_query_backoff_ms(attempts: i64) -> i64 {
    let exponent = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    (5_000i64 << exponent).min(600_000)
}

fn hash_matches(stored: Option<&str>, presented: &str) -> bool {
    match stored {
        Some(stored) => bool::from(stored.as_bytes().ct_eq(presented.as_bytes())),
        None => false,
    }
}

fn refusal_error(refusal: Refusal, policy: &PayoutPolicy, abandon_after_secs: u64) -> AppError {
    match refusal {
        Refusal::Expired => AppError::Conflict(format!(
            "this payout was abandoned: its OTP was not confirmed within {} minutes of initiation",
            abandon_after_secs / 60
        )),
        Refusal::WrongOtp { attempts_left } => AppError::invalid(
            "otp",
            format!("is incorrect; {attempts_left} attempt(s) left before the payout is abandoned"),
        ),
        Refusal::TooManyWrongOtps => AppError::Conflict(format!(
            "{} wrong OTPs: this payout has been abandoned",
            policy.max_wrong_otps
        )),
        Refusal::ResendLimitReached { max_resends } => AppError::Unprocessable(format!(
            "the OTP of this payout was already resent {max_resends} times and cannot be resent again; \
             the payout will be abandoned at its deadline unless the last OTP is confirmed"
        )),
        Refusal::InsufficientFunds { needed, available } => AppError::InsufficientFunds(format!(
            "insufficient balance: the payout needs NGN {} (amount and fee) but NGN {} is available",
            needed.to_major_string(Currency::Ngn),
            available.to_major_string(Currency::Ngn)
        )),
        Refusal::NotAwaitingOtp(status) => AppError::Conflict(format!(
            "this payout is {}; it no longer accepts an OTP or a resend",
            status.as_str()
        )),
    }
}

fn otp_message(otp: &Otp, record: &TransactionRecord, expires_at_ms: i64) -> String {
    let expires = crate::clock::iso_millis(expires_at_ms);
    format!(
        "ducat: {} is the OTP to confirm payout {} of NGN {} to {} ({}). It expires at {} UTC. Never share it.",
        otp.expose(),
        record.transaction_ref,
        record.amount.to_major_string(record.currency),
        record.receiver.account_name.as_deref().unwrap_or("the recipient"),
        record.receiver.bank_name.as_deref().unwrap_or("their bank"),
        &expires[11..16]
    )
}

impl Services {
    pub fn payout_policy(&self) -> PayoutPolicy {
        PayoutPolicy {
            max_resends: self.config.payout_max_otp_resends,
            max_wrong_otps: self.config.otp_max_attempts,
        }
    }

    fn abandon_after_ms(&self) -> i64 {
        i64::try_from(self.config.payout_abandon_after_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000)
    }

    /// Validates a payout against the rules, the bank and the wallet. Reads only.
    async fn prepare_payout(
        &self,
        business: &BusinessRecord,
        input: &InitiatePayout,
    ) -> Result<PreparedPayout, AppError> {
        let amount = parse_major(input.amount.trim(), Currency::Ngn)
            .map_err(|e| AppError::invalid("amount", e.to_string()))?;
        if amount < MINIMUM_PAYOUT {
            return Err(AppError::invalid("amount", "must be at least 200 (NGN)"));
        }
        let description = input.description.trim();
        if description.chars().count() > 255 {
            return Err(AppError::invalid(
                "description",
                "must be at most 255 characters",
            ));
        }
        let transaction_id = match input.transaction_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) if id.len() > 100 || id.chars().any(char::is_control) => {
                return Err(AppError::invalid(
                    "transaction_id",
                    "must be at most 100 printable characters",
                ))
            }
            Some(id) => Some(id.to_owned()),
        };
        if let Some(id) = &transaction_id {
            if let Some(existing) =
                crate::store::transactions::by_external_id(&self.store, &business.id, id).await?
            {
                return Err(AppError::Conflict(format!(
                    "transaction_id {id} was already used for {}",
                    existing.transaction_ref
                )));
            }
        }
        let resolved = self
            .rail_for(business.mode)
            .name_enquiry(
                Currency::Ngn,
                input.bank_code.trim(),
                input.account_number.trim(),
            )
            .await
            .map_err(|error| match error {
                crate::rail::RailError::UnknownBank(code, _) => AppError::invalid(
                    "recipient_bank_code",
                    format!("does not name a known bank ({code:?})"),
                ),
                crate::rail::RailError::MalformedAccount(message) => {
                    AppError::invalid("recipient_account_number", message)
                }
                crate::rail::RailError::UnknownAccount(number) => AppError::invalid(
                    "recipient_account_number",
                    format!("{number} does not exist at that bank (name enquiry failed)"),
                ),
                crate::rail::RailError::Unavailable(message) => AppError::Unavailable(message),
            })?;
        let fee = business.payout_fees.fee_for(amount);
        let total = amount
            .checked_add(fee)
            .ok_or_else(|| AppError::invalid("amount", "is too large"))?;
        let wallet = businesses::list_wallets(&self.store, &business.id)
            .await?
            .into_iter()
            .find(|w| w.currency == Currency::Ngn)
            .ok_or_else(|| AppError::Internal("the business has no NGN wallet".into()))?;
        let (available, _) = ledger_store::wallet_balances(&self.store, &wallet.wallet_ref).await?;
        if total > available {
            return Err(refusal_error(
                Refusal::InsufficientFunds {
                    needed: total,
                    available,
                },
                &self.payout_policy(),
                self.config.payout_abandon_after_secs,
            ));
        }
        let now = self.now_ms();
        Ok(PreparedPayout {
            withdrawal: None,
            record: TransactionRecord {
                transaction_ref: TransactionRef::generate(&mut OsRng),
                business_id: business.id.clone(),
                wallet_ref: wallet.wallet_ref.clone(),
                currency: Currency::Ngn,
                direction: "debit",
                channel: "nip".to_owned(),
                category: "bank_transfer".to_owned(),
                status: PayoutStatus::AwaitingOtpVerification.as_str().to_owned(),
                amount,
                fee_amount: fee,
                settled_amount: amount,
                new_balance: None,
                description: description.to_owned(),
                external_transaction_id: transaction_id,
                session_id: None,
                provider_ref_id: None,
                account_number: Some(wallet.account_number.clone()),
                account_ref: None,
                source: Party {
                    bank_code: Some(wallet.bank_code.clone()),
                    bank_name: Some(wallet.bank_name.clone()),
                    account_number: Some(wallet.account_number.clone()),
                    account_name: Some(wallet.account_name.clone()),
                },
                receiver: Party {
                    bank_code: Some(resolved.bank_code),
                    bank_name: Some(resolved.bank_name),
                    account_number: Some(resolved.account_number),
                    account_name: Some(resolved.account_name),
                },
                created_at: now,
                updated_at: now,
            },
        })
    }

    async fn insert_payout(
        &self,
        tx: &mut Tx,
        prepared: &PreparedPayout,
        api_version: &str,
        otp_hash: Option<&str>,
    ) -> Result<(), AppError> {
        let deadline = prepared
            .record
            .created_at
            .saturating_add(self.abandon_after_ms());
        payouts::insert(
            tx,
            &prepared.record,
            api_version,
            otp_hash,
            deadline,
            prepared.withdrawal.as_ref(),
        )
        .await
        .map_err(|error| match error {
            StoreError::Duplicate { .. } => AppError::Conflict(format!(
                "transaction_id {} was already used",
                prepared
                    .record
                    .external_transaction_id
                    .as_deref()
                    .unwrap_or_default()
            )),
            other => other.into(),
        })
    }

    /// Payout v2: creates the payout awaiting its OTP and texts the OTP to the business's phone.
    pub async fn initiate_payout_v2(
        &self,
        business_id: &BusinessId,
        input: InitiatePayout,
    ) -> Result<TransactionRecord, AppError> {
        let business = self.business(business_id).await?;
        let Some(phone) = business.otp_phone.clone() else {
            return Err(AppError::Unprocessable(
                "no OTP phone number is set for payouts: set one in the dashboard (Settings, Payout API) \
                 or with `ducat business set --otp-phone`"
                    .to_owned(),
            ));
        };
        let prepared = self.prepare_payout(&business, &input).await?;
        let record = &prepared.record;
        let otp = Otp::generate(&mut OsRng);
        let otp_hash = self
            .keys
            .hash_otp(record.transaction_ref.as_str(), otp.expose());
        let deadline = record.created_at.saturating_add(self.abandon_after_ms());
        let mut tx = self.store.begin().await?;
        self.insert_payout(&mut tx, &prepared, "v2", Some(&otp_hash))
            .await?;
        sms::enqueue(
            &mut tx,
            &business.id,
            &phone,
            &otp_message(&otp, record, deadline),
            record.transaction_ref.as_str(),
            record.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(prepared.record)
    }

    /// Payout v1: checks the business's payout OTP (when it has them switched on) and sends the
    /// payout straight to pending.
    pub async fn initiate_payout_v1(
        &self,
        business_id: &BusinessId,
        input: InitiatePayout,
        payout_otp: Option<String>,
    ) -> Result<TransactionRecord, AppError> {
        let business = self.business(business_id).await?;
        let otp = match (
            business.payout_otp_enabled,
            payout_otp.as_deref().map(str::trim),
        ) {
            (false, _) => None,
            (true, None | Some("")) => {
                return Err(AppError::invalid(
                    "payout_otp",
                    "is required: request one with POST /v1/recipients/payouts-otp",
                ))
            }
            (true, Some(text)) => Some(Otp::parse(text).ok_or_else(|| {
                AppError::invalid("payout_otp", "must be the 6-digit code sent by SMS")
            })?),
        };
        let prepared = self.prepare_payout(&business, &input).await?;
        let mut tx = self.store.begin().await?;
        if let Some(otp) = otp {
            if let Err(refusal) = self.consume_v1_otp(&mut tx, &business, &otp).await? {
                // The refusal's bookkeeping (a counted attempt, a burnt code) must stick.
                tx.commit().await?;
                return Err(refusal);
            }
        }
        self.insert_confirmed(&mut tx, &business, &prepared, "v1")
            .await?;
        tx.commit().await?;
        self.transaction(&business.id, &prepared.record.transaction_ref)
            .await
    }

    /// Writes a payout that needs no OTP (v1 with a checked payout OTP, Beqelal withdrawals)
    /// and takes it straight to pending: funds held, transfer queued.
    pub(super) async fn insert_confirmed(
        &self,
        tx: &mut Tx,
        business: &BusinessRecord,
        prepared: &PreparedPayout,
        api_version: &str,
    ) -> Result<(), AppError> {
        self.insert_payout(tx, prepared, api_version, None).await?;
        let stored = payouts::load(
            tx,
            self.store.engine(),
            &business.id,
            &prepared.record.transaction_ref,
        )
        .await?
        .ok_or_else(|| AppError::Internal("a payout vanished inside its own transaction".into()))?;
        let available =
            ledger_store::account_balance(tx, &Account::available(&stored.transaction.wallet_ref))
                .await?;
        let decision = decide(
            &stored.payout,
            PayoutCommand::SubmitOtp {
                otp_matches: true,
                available,
            },
            self.now_ms(),
            &self.payout_policy(),
        );
        if let Some(refusal) = decision.refusal {
            return Err(refusal_error(
                refusal,
                &self.payout_policy(),
                self.config.payout_abandon_after_secs,
            ));
        }
        match self
            .apply_decision(tx, business, &stored, &decision)
            .await?
        {
            Applied::Saved => {}
            Applied::Raced => {
                return Err(AppError::Internal(
                    "a new payout changed under its own transaction".into(),
                ))
            }
        }
        Ok(())
    }

    /// Checks and burns the business's v1 payout OTP. The outer `Result` is storage; the inner
    /// is the caller's refusal, whose bookkeeping the caller commits.
    async fn consume_v1_otp(
        &self,
        tx: &mut Tx,
        business: &BusinessRecord,
        otp: &Otp,
    ) -> Result<Result<(), AppError>, AppError> {
        let no_code = || {
            AppError::invalid(
                "payout_otp",
                "is not valid: request a new one with POST /v1/recipients/payouts-otp",
            )
        };
        let Some(stored) = payouts::load_v1_otp(tx, self.store.engine(), &business.id).await?
        else {
            return Ok(Err(no_code()));
        };
        if self.now_ms() >= stored.expires_at {
            payouts::delete_v1_otp(tx, &business.id).await?;
            return Ok(Err(AppError::invalid(
                "payout_otp",
                "has expired: request a new one",
            )));
        }
        let presented = self
            .keys
            .hash_otp(&format!("v1:{}", business.id), otp.expose());
        if hash_matches(Some(&stored.otp_hash), &presented) {
            payouts::delete_v1_otp(tx, &business.id).await?;
            return Ok(Ok(()));
        }
        let max = i64::from(self.config.otp_max_attempts);
        if stored.wrong_otps + 1 >= max {
            payouts::delete_v1_otp(tx, &business.id).await?;
            return Ok(Err(AppError::invalid(
                "payout_otp",
                format!(
                    "is incorrect; after {max} wrong attempts the code is void: request a new one"
                ),
            )));
        }
        payouts::count_v1_wrong_otp(tx, &business.id).await?;
        Ok(Err(AppError::invalid(
            "payout_otp",
            format!(
                "is incorrect; {} attempt(s) left",
                max - stored.wrong_otps - 1
            ),
        )))
    }

    /// Payout v1: texts a payout OTP to the business's phone. It is good for one payout within
    /// the payout window (`payout_abandon_after_secs`), and replaces any earlier code.
    pub async fn send_v1_payout_otp(&self, business_id: &BusinessId) -> Result<(), AppError> {
        let business = self.business(business_id).await?;
        let Some(phone) = business.otp_phone.clone() else {
            return Err(AppError::Unprocessable(
                "no OTP phone number is set for payouts: set one in the dashboard or with `ducat business set --otp-phone`".to_owned(),
            ));
        };
        let now = self.now_ms();
        let expires_at = now.saturating_add(self.abandon_after_ms());
        let otp = Otp::generate(&mut OsRng);
        let hash = self
            .keys
            .hash_otp(&format!("v1:{}", business.id), otp.expose());
        let mut tx = self.store.begin().await?;
        payouts::upsert_v1_otp(&mut tx, &business.id, &hash, expires_at, now).await?;
        let body = format!(
            "ducat: {} is your payout OTP. It is valid for one payout until {} UTC. Never share it.",
            otp.expose(),
            &crate::clock::iso_millis(expires_at)[11..16]
        );
        sms::enqueue(&mut tx, &business.id, &phone, &body, "payout-otp-v1", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Runs one command against a payout, retrying when another node raced it.
    async fn command_payout(
        &self,
        business: &BusinessRecord,
        transaction_ref: &TransactionRef,
        command: impl Fn(&StoredPayout, Option<MinorUnits>) -> PayoutCommand,
        needs_balance: bool,
    ) -> Result<Decision, AppError> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let mut tx = self.store.begin().await?;
            let stored = payouts::load(&mut tx, self.store.engine(), &business.id, transaction_ref)
                .await?
                .ok_or_else(|| {
                    AppError::NotFound(format!("no payout {transaction_ref} for this business"))
                })?;
            let available = if needs_balance {
                Some(
                    ledger_store::account_balance(
                        &mut tx,
                        &Account::available(&stored.transaction.wallet_ref),
                    )
                    .await?,
                )
            } else {
                None
            };
            let decision = decide(
                &stored.payout,
                command(&stored, available),
                self.now_ms(),
                &self.payout_policy(),
            );
            if !decision.changes_state(&stored.payout) {
                tx.rollback().await?;
                return Ok(decision);
            }
            match self
                .apply_decision(&mut tx, business, &stored, &decision)
                .await
            {
                Ok(Applied::Saved) => {
                    tx.commit().await?;
                    return Ok(decision);
                }
                Ok(Applied::Raced) => {
                    tx.rollback().await?;
                    continue;
                }
                // Another payout spent the money between our read and our hold.
                Err(AppError::InsufficientFunds(_)) => {
                    tx.rollback().await?;
                    let available =
                        ledger_store::wallet_balances(&self.store, &stored.transaction.wallet_ref)
                            .await?
                            .0;
                    return Ok(Decision {
                        next: stored.payout.clone(),
                        effects: Vec::new(),
                        refusal: Some(Refusal::InsufficientFunds {
                            needed: stored.payout.total(),
                            available,
                        }),
                    });
                }
                Err(other) => return Err(other),
            }
        }
        Err(AppError::Conflict(format!(
            "payout {transaction_ref} is being changed by another request; retry"
        )))
    }

    fn refused(&self, decision: Decision) -> Result<(), AppError> {
        match decision.refusal {
            None => Ok(()),
            Some(refusal) => Err(refusal_error(
                refusal,
                &self.payout_policy(),
                self.config.payout_abandon_after_secs,
            )),
        }
    }

    /// Payout v2: the OTP. The correct one holds the funds and queues the transfer.
    pub async fn process_payout_otp(
        &self,
        business_id: &BusinessId,
        transaction_ref: &str,
        otp: &str,
    ) -> Result<(), AppError> {
        let reference = TransactionRef::parse(transaction_ref.trim()).ok_or_else(|| {
            AppError::NotFound(format!("no payout {transaction_ref} for this business"))
        })?;
        let otp = Otp::parse(otp.trim())
            .ok_or_else(|| AppError::invalid("otp", "must be the 6-digit code sent by SMS"))?;
        let business = self.business(business_id).await?;
        let presented = self.keys.hash_otp(reference.as_str(), otp.expose());
        let decision = self
            .command_payout(
                &business,
                &reference,
                |stored, available| PayoutCommand::SubmitOtp {
                    otp_matches: hash_matches(stored.otp_hash.as_deref(), &presented),
                    available: available.unwrap_or(MinorUnits::ZERO),
                },
                true,
            )
            .await?;
        if decision.effects.contains(&Effect::SendToBank) {
            self.payouts_due.notify_one();
        }
        self.refused(decision)
    }

    /// Payout v2: a new OTP replacing the old one, at most `payout_max_otp_resends` times.
    pub async fn resend_payout_otp(
        &self,
        business_id: &BusinessId,
        transaction_ref: &str,
    ) -> Result<(), AppError> {
        let reference = TransactionRef::parse(transaction_ref.trim()).ok_or_else(|| {
            AppError::NotFound(format!("no payout {transaction_ref} for this business"))
        })?;
        let business = self.business(business_id).await?;
        let decision = self
            .command_payout(
                &business,
                &reference,
                |_, _| PayoutCommand::ResendOtp,
                false,
            )
            .await?;
        self.refused(decision)
    }

    /// Applies a decision's effects and saves the payout, in the caller's transaction.
    async fn apply_decision(
        &self,
        tx: &mut Tx,
        business: &BusinessRecord,
        stored: &StoredPayout,
        decision: &Decision,
    ) -> Result<Applied, AppError> {
        let now = self.now_ms();
        let record = &stored.transaction;
        let wallet = &record.wallet_ref;
        let reference = record.transaction_ref.as_str();
        let mut changes = PayoutChanges {
            payout: decision.next.clone(),
            ..stored.changes()
        };
        let mut emitted = Vec::new();
        let ledger_error = |e: LedgerError| AppError::Internal(Box::new(e));
        let available_after = |balances: &std::collections::BTreeMap<Account, MinorUnits>| {
            balances.get(&Account::available(wallet)).map(|b| b.get())
        };
        for effect in &decision.effects {
            match *effect {
                Effect::Hold(total) => {
                    let entry =
                        ledger::hold(wallet, record.currency, total).map_err(ledger_error)?;
                    let balances =
                        ledger_store::post(tx, &entry, EntryKind::Hold, reference, now).await?;
                    changes.new_balance = available_after(&balances);
                }
                Effect::SettleHold { amount, fee } => {
                    let entry = ledger::settle_hold(wallet, record.currency, amount, fee)
                        .map_err(ledger_error)?;
                    ledger_store::post(tx, &entry, EntryKind::Settlement, reference, now).await?;
                }
                Effect::ReleaseHold(total) => {
                    let entry =
                        ledger::release(wallet, record.currency, total).map_err(ledger_error)?;
                    let balances =
                        ledger_store::post(tx, &entry, EntryKind::Release, reference, now).await?;
                    changes.new_balance = available_after(&balances);
                }
                Effect::IssueOtp => {
                    let phone = business.otp_phone.as_deref().ok_or_else(|| {
                        AppError::Unprocessable("no OTP phone number is set for payouts".to_owned())
                    })?;
                    let otp = Otp::generate(&mut OsRng);
                    changes.otp_hash = Some(self.keys.hash_otp(reference, otp.expose()));
                    let body = otp_message(&otp, record, stored.payout.deadline_ms);
                    sms::enqueue(tx, &business.id, phone, &body, reference, now).await?;
                }
                Effect::ConsumeOtp => changes.otp_hash = None,
                Effect::SendToBank => {
                    changes.rail_state = RailState::Queued;
                    changes.rail_next_at = Some(now);
                }
                Effect::Emit(event) => emitted.push(event),
            }
        }
        if !payouts::save(tx, stored, &changes, now).await? {
            return Ok(Applied::Raced);
        }
        let mut after = record.clone();
        after.status = changes.payout.status.as_str().to_owned();
        after.updated_at = now;
        if let Some(balance) = changes.new_balance {
            after.new_balance = Some(MinorUnits(balance));
        }
        for event in emitted {
            match &stored.withdrawal {
                // A Beqelal withdrawal tells its business in Beqelal's words.
                Some(details) => {
                    let withdrawal = super::withdrawals::Withdrawal {
                        record: after.clone(),
                        details: details.clone(),
                    };
                    let event_type = format!("WITHDRAWAL_{}", withdrawal.status());
                    let body = documents::beqelal_withdrawal(&withdrawal);
                    events::append_with_callback(
                        tx,
                        &business.id,
                        EventFace::Beqelal,
                        &event_type,
                        Some(reference),
                        details.callback_url.as_deref(),
                        &body,
                        now,
                    )
                    .await?;
                }
                None => {
                    let body = documents::duplo_event_body(
                        event.as_str(),
                        documents::duplo_transaction(&after),
                    );
                    events::append(
                        tx,
                        &business.id,
                        EventFace::Duplo,
                        event.as_str(),
                        Some(reference),
                        &body,
                        now,
                    )
                    .await?;
                }
            }
        }
        Ok(Applied::Saved)
    }

    /// Sweeper step: abandons every payout whose OTP deadline has passed. Returns how many.
    pub async fn abandon_expired_payouts(&self) -> Result<usize, AppError> {
        let due = payouts::past_deadline(&self.store, self.now_ms(), 200).await?;
        let mut abandoned = 0;
        for (business_id, reference) in due {
            let business = self.business(&business_id).await?;
            let decision = self
                .command_payout(&business, &reference, |_, _| PayoutCommand::Sweep, false)
                .await?;
            // Another node may have abandoned it first: count only this node's transition.
            if decision
                .effects
                .contains(&Effect::Emit(PayoutEvent::Abandoned))
            {
                abandoned += 1;
            }
        }
        Ok(abandoned)
    }

    /// Dispatcher step: sends queued payouts to the bank and asks about those whose outcome is
    /// unknown. Returns how many payouts it worked on.
    pub async fn dispatch_payouts(&self) -> Result<usize, AppError> {
        let mut dispatched = 0;
        for _ in 0..DISPATCH_ROUNDS_PER_STEP {
            let leased = payouts::lease_due_for_bank(
                &self.store,
                self.now_ms(),
                self.config.payout_dispatch_lease_ms(),
                DISPATCH_LEASE_SIZE as i64,
            )
            .await?;
            let count = leased.len();
            // Each exchange with the bank is mostly waiting; their writes share commits.
            futures_util::stream::iter(leased)
                .for_each_concurrent(DISPATCH_CONCURRENCY, |(business_id, reference)| async move {
                    if let Err(error) = self.dispatch_one(&business_id, &reference).await {
                        tracing::warn!(transaction_ref = %reference, error = %error, "payout dispatch failed; will retry");
                    }
                })
                .await;
            dispatched += count;
            if count < DISPATCH_LEASE_SIZE {
                break;
            }
        }
        Ok(dispatched)
    }

    /// Sends one pending payout to the bank now instead of at the dispatcher's next tick. The
    /// bank applies a reference once, so racing the dispatcher cannot pay twice.
    pub(super) async fn send_payout_now(
        &self,
        business_id: &BusinessId,
        reference: &TransactionRef,
    ) -> Result<(), AppError> {
        self.dispatch_one(business_id, reference).await
    }

    async fn dispatch_one(
        &self,
        business_id: &BusinessId,
        reference: &TransactionRef,
    ) -> Result<(), AppError> {
        let business = self.business(business_id).await?;
        let stored = {
            let mut tx = self.store.begin().await?;
            let stored =
                payouts::load(&mut tx, self.store.engine(), business_id, reference).await?;
            tx.rollback().await?;
            stored.ok_or_else(|| AppError::NotFound(format!("no payout {reference}")))?
        };
        let rail = self.rail_for(business.mode);
        let outcome = match stored.rail_state {
            RailState::Queued => {
                let receiver = &stored.transaction.receiver;
                rail.transfer_out(&TransferOut {
                    reference: reference.to_string(),
                    currency: stored.transaction.currency,
                    bank_code: receiver.bank_code.clone().unwrap_or_default(),
                    account_number: receiver.account_number.clone().unwrap_or_default(),
                    account_name: receiver.account_name.clone().unwrap_or_default(),
                    amount: stored.transaction.amount,
                    narration: stored.transaction.description.clone(),
                })
                .await
            }
            RailState::Unknown => rail.transfer_status(reference.as_str()).await,
            // Someone recorded the outcome since the lease was taken.
            RailState::NotSent | RailState::Done => return Ok(()),
        };
        let now = self.now_ms();
        // What the answer means for the payout: a final outcome to decide on, or a question
        // to ask again later.
        enum Next {
            Decide(PayoutCommand, Option<String>),
            AskAgain(RailState, String),
        }
        let next = match outcome {
            TransferOutcome::Paid { session_id } => {
                Next::Decide(PayoutCommand::BankPaid, Some(session_id))
            }
            TransferOutcome::Declined { .. } => Next::Decide(PayoutCommand::BankDeclined, None),
            TransferOutcome::Unknown { reason } => Next::AskAgain(RailState::Unknown, reason),
            // The bank never saw it: safe to send again.
            TransferOutcome::NotFound => Next::AskAgain(
                RailState::Queued,
                "the bank has no record of the transfer".to_owned(),
            ),
        };
        for _ in 0..MAX_CONFLICT_RETRIES {
            let mut tx = self.store.begin().await?;
            let Some(current) =
                payouts::load(&mut tx, self.store.engine(), business_id, reference).await?
            else {
                return Err(AppError::NotFound(format!("no payout {reference}")));
            };
            let applied = match &next {
                Next::Decide(command, session_id) => {
                    if let Some(session_id) = session_id {
                        crate::store::transactions::set_session_id(&mut tx, reference, session_id)
                            .await?;
                    }
                    let decision = decide(&current.payout, *command, now, &self.payout_policy());
                    // The transfer's outcome is recorded with the payout's new state.
                    let mut settled = current.clone();
                    settled.rail_state = RailState::Done;
                    settled.rail_next_at = None;
                    settled.rail_last_error = None;
                    self.apply_decision(&mut tx, &business, &settled, &decision)
                        .await?
                }
                Next::AskAgain(state, error) => {
                    let changes = PayoutChanges {
                        rail_state: *state,
                        rail_attempts: current.rail_attempts + 1,
                        rail_next_at: Some(now + status_query_backoff_ms(current.rail_attempts)),
                        rail_last_error: Some(error.clone()),
                        ..current.changes()
                    };
                    if payouts::save(&mut tx, &current, &changes, now).await? {
                        Applied::Saved
                    } else {
                        Applied::Raced
                    }
                }
            };
            match applied {
                Applied::Saved => {
                    tx.commit().await?;
                    return Ok(());
                }
                Applied::Raced => tx.rollback().await?,
            }
        }
        Err(AppError::Conflict(format!(
            "payout {reference} kept changing under the dispatcher"
        )))
    }

    pub async fn transaction(
        &self,
        business_id: &BusinessId,
        reference: &TransactionRef,
    ) -> Result<TransactionRecord, AppError> {
        crate::store::transactions::of_business(&self.store, business_id, reference)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("no transaction {reference} for this business"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_queries_back_off_to_ten_minutes() {
        assert_eq!(status_query_backoff_ms(0), 5_000);
        assert_eq!(status_query_backoff_ms(1), 10_000);
        assert_eq!(status_query_backoff_ms(6), 320_000);
        assert_eq!(status_query_backoff_ms(7), 600_000);
        assert_eq!(status_query_backoff_ms(1_000), 600_000);
    }
}
