//! Beqelal direct payments: the request (the institution texts the customer an OTP, or pushes a
//! USSD prompt), the authorization with that OTP, and the worker that fails expired requests
//! and plays the sandbox customer answering pushes.

use super::{beqelal_fields, AppError, Services};
use crate::store::direct_payments::{self, DirectPaymentRecord};
use crate::store::events::{self, EventFace};
use crate::store::ledger::{self as ledger_store, EntryKind};
use crate::store::transactions::{self, Party, TransactionRecord};
use crate::store::{sms, Tx};
use ducat_core::banks::{self, AuthorizationMethod, SandboxBehaviour};
use ducat_core::direct_payment::{
    decide, Decision, DirectPayment, DirectPaymentCommand, DirectPaymentStatus, Effect, Refusal,
};
use ducat_core::ids::{BeqelalRef, BusinessId, TransactionRef};
use ducat_core::ledger::{self, Account};
use ducat_core::money::Currency;
use rand::rngs::OsRng;
use rand::Rng;
use subtle::ConstantTimeEq;

/// The sandbox customer answers a USSD push this long after the request.
pub const SANDBOX_PUSH_ANSWER_MS: i64 = 3_000;

#[derive(Debug, Clone)]
pub struct DirectPaymentRequest {
    pub bank: String,
    pub account: String,
    pub amount: String,
    pub trace_number: String,
    pub callback_url: Option<String>,
    pub reason: Option<String>,
}

pub(super) fn refused(refusal: Refusal) -> AppError {
    match refusal {
        // Exactly the specification's words: how many attempts are left is not part of its document.
        Refusal::InvalidOtp { .. } => AppError::Refused {
            code: "450",
            name: "INVALID_OTP",
            detail: "Invalid OTP".to_owned(),
        },
        Refusal::TooManyWrongOtps => AppError::Refused {
            code: "453",
            name: "OTP_ATTEMPTS_EXCEEDED",
            detail: "Too many invalid OTPs; the transaction has failed.".to_owned(),
        },
        Refusal::OtpExpired => AppError::Refused {
            code: "451",
            name: "OTP_EXPIRED",
            detail: "The OTP has expired; the transaction has failed. Request the payment again."
                .to_owned(),
        },
        Refusal::AlreadyFinal(status) => AppError::Refused {
            code: "452",
            name: "TRANSACTION_ALREADY_COMPLETED",
            detail: format!("The transaction is already {}.", status.as_str()),
        },
        Refusal::NotOtpAuthorized => AppError::Refused {
            code: "455",
            name: "AUTHORIZATION_METHOD_MISMATCH",
            detail:
                "This transaction is authorized by USSD push on the customer's phone, not by OTP."
                    .to_owned(),
        },
    }
}

/// The phone the sandbox institution texts: a wallet's account is the phone itself; a bank
/// account gets a deterministic Ethiopian mobile number from its digits.
fn sandbox_customer_phone(account: &str, mobile_account: bool) -> String {
    if mobile_account {
        return format!("+{account}");
    }
    let digits: String = account
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("+2519{digits:0>8}")
}

impl Services {
    pub async fn request_direct_payment(
        &self,
        business_id: &BusinessId,
        request: DirectPaymentRequest,
    ) -> Result<DirectPaymentRecord, AppError> {
        let business = self.business(business_id).await?;
        let institution = beqelal_fields::institution(&request.bank)?;
        let account = request.account.trim();
        institution
            .validate_account(account)
            .map_err(|e| AppError::invalid("account", e.to_string()))?;
        // Over the bank rail, the institution itself says whether the account exists.
        let at_bank = self.debits_at_bank(business.mode);
        if !at_bank && banks::sandbox_behaviour(account) == SandboxBehaviour::UnknownAccount {
            return Err(AppError::invalid(
                "account",
                format!("{account} does not exist at {}", institution.name),
            ));
        }
        let amount = beqelal_fields::amount(&request.amount)?;
        let trace_number = beqelal_fields::trace_number(&request.trace_number)?;
        let trace_number = trace_number.as_str();
        if let Some(existing) =
            direct_payments::by_trace_number(&self.store, &business.id, trace_number).await?
        {
            return Err(AppError::Conflict(format!(
                "trace_number {trace_number} was already used for transaction {}",
                existing.reference
            )));
        }
        let callback_url = beqelal_fields::callback_url(request.callback_url.as_deref())?;
        let reason = request
            .reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if reason.as_ref().is_some_and(|r| r.chars().count() > 255) {
            return Err(AppError::invalid(
                "reason",
                "must be at most 255 characters",
            ));
        }
        let method = institution.authorization_method;
        if method == AuthorizationMethod::PushUssd
            && callback_url.is_none()
            && business.webhook_url.is_none()
        {
            return Err(AppError::invalid(
                "callback_url",
                format!(
                    "is required: {} authorizes by USSD push and the result arrives only by webhook, \
                     and no webhook URL is configured in the portal",
                    institution.name
                ),
            ));
        }
        let wallet = self.wallet(&business.id, Currency::Etb).await?;
        let now = self.now_ms();
        let ttl_ms = i64::try_from(self.config.direct_payment_otp_ttl_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let reference = BeqelalRef::generate(&mut OsRng).as_str().to_owned();
        let customer_phone =
            sandbox_customer_phone(account, institution.kind == banks::InstitutionKind::Wallet);
        // Always six digits, so the JSON number Beqelal's clients send back keeps them all.
        let otp: u32 = OsRng.gen_range(100_000..1_000_000);
        let otp_hash = match method {
            AuthorizationMethod::Otp => Some(self.keys.hash_otp(&reference, &otp.to_string())),
            AuthorizationMethod::PushUssd => None,
        };
        let record = DirectPaymentRecord {
            reference: reference.clone(),
            business_id: business.id.clone(),
            wallet_ref: wallet.wallet_ref,
            trace_number: trace_number.to_owned(),
            institution_code: institution.code.to_owned(),
            institution_name: institution.name.to_owned(),
            account: account.to_owned(),
            account_name: banks::sandbox_account_name(Currency::Etb, account),
            customer_phone: customer_phone.clone(),
            currency: Currency::Etb,
            amount,
            fee: business.collection_fees.fee_for(amount).min(amount),
            authorization_method: method.as_str().to_owned(),
            payment: DirectPayment {
                status: DirectPaymentStatus::AwaitingAuthorization,
                wrong_otps: 0,
                otp_expires_ms: now.saturating_add(ttl_ms),
            },
            otp_hash,
            callback_url,
            reason,
            failure_reason: None,
            transaction_ref: None,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        if at_bank {
            return self.request_debit_at_bank(record).await;
        }
        let mut tx = self.store.begin().await?;
        direct_payments::insert(&mut tx, &record)
            .await
            .map_err(|error| match error {
                crate::store::StoreError::Duplicate { .. } => {
                    AppError::Conflict(format!("trace_number {trace_number} was already used"))
                }
                other => other.into(),
            })?;
        match method {
            AuthorizationMethod::Otp => {
                let body = format!(
                    "{}: {otp} is your code to approve a payment of ETB {} to {}. It expires in {} minutes. Never share it.",
                    institution.name,
                    amount.to_major_string(Currency::Etb),
                    business.name,
                    self.config.direct_payment_otp_ttl_secs / 60
                );
                sms::enqueue(
                    &mut tx,
                    &business.id,
                    &customer_phone,
                    &body,
                    &reference,
                    now,
                )
                .await?;
            }
            AuthorizationMethod::PushUssd => {
                let body = format!(
                    "{}: approve a payment of ETB {} to {} on the USSD prompt on your phone.",
                    institution.name,
                    amount.to_major_string(Currency::Etb),
                    business.name
                );
                sms::enqueue(
                    &mut tx,
                    &business.id,
                    &customer_phone,
                    &body,
                    &reference,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(record)
    }

    pub async fn direct_payment(
        &self,
        business_id: &BusinessId,
        reference: &str,
    ) -> Result<DirectPaymentRecord, AppError> {
        direct_payments::of_business(&self.store, business_id, reference.trim())
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no transaction {reference}")))
    }

    /// Beqelal's authorize: the OTP the institution texted. The institution confirms (or, for
    /// a sandbox account ending in 91, declines) and the payment is PROCESSED or FAILED.
    pub async fn authorize_direct_payment(
        &self,
        business_id: &BusinessId,
        reference: &str,
        otp: u32,
    ) -> Result<DirectPaymentRecord, AppError> {
        let reference = reference.trim();
        if crate::store::bank_debits::find_in(&self.store, reference)
            .await?
            .is_some()
        {
            let record = self.direct_payment(business_id, reference).await?;
            return self.authorize_debit_at_bank(record, otp).await;
        }
        let presented =
            |record: &DirectPaymentRecord| self.keys.hash_otp(&record.reference, &otp.to_string());
        for _ in 0..5 {
            let mut tx = self.store.begin().await?;
            let record =
                direct_payments::load(&mut tx, self.store.engine(), business_id, reference)
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("no transaction {reference}")))?;
            if record.authorization_method != AuthorizationMethod::Otp.as_str()
                && !record.payment.status.is_final()
            {
                return Err(refused(Refusal::NotOtpAuthorized));
            }
            let otp_matches = record.otp_hash.as_deref().is_some_and(|stored| {
                bool::from(stored.as_bytes().ct_eq(presented(&record).as_bytes()))
            });
            let institution_approves =
                banks::sandbox_behaviour(&record.account) != SandboxBehaviour::Decline;
            let decision = decide(
                &record.payment,
                DirectPaymentCommand::Authorize {
                    otp_matches,
                    institution_approves,
                },
                self.now_ms(),
                self.config.otp_max_attempts,
            );
            match self
                .apply_direct_payment(&mut tx, &record, &decision)
                .await?
            {
                Some(after) => {
                    tx.commit().await?;
                    return match decision.refusal {
                        Some(refusal) => Err(refused(refusal)),
                        None => Ok(after),
                    };
                }
                None => tx.rollback().await?,
            }
        }
        Err(AppError::Conflict(format!(
            "transaction {reference} is being changed by another request; retry"
        )))
    }

    /// Applies a decision in the caller's transaction; `None` when another request changed
    /// the payment first (load again and decide again).
    pub(super) async fn apply_direct_payment(
        &self,
        tx: &mut Tx,
        record: &DirectPaymentRecord,
        decision: &Decision,
    ) -> Result<Option<DirectPaymentRecord>, AppError> {
        if decision.next == record.payment && decision.effects.is_empty() {
            return Ok(Some(record.clone()));
        }
        let now = self.now_ms();
        let mut after = record.clone();
        after.payment = decision.next;
        after.updated_at = now;
        if after.payment.status.is_final() {
            after.otp_hash = None;
            if after.payment.status == DirectPaymentStatus::Failed {
                after.failure_reason = Some(match decision.refusal {
                    Some(Refusal::OtpExpired) => "the OTP expired".to_owned(),
                    Some(Refusal::TooManyWrongOtps) => "too many invalid OTPs".to_owned(),
                    None if now >= record.payment.otp_expires_ms => {
                        "the OTP expired before the payment was authorized".to_owned()
                    }
                    Some(
                        Refusal::InvalidOtp { .. }
                        | Refusal::AlreadyFinal(_)
                        | Refusal::NotOtpAuthorized,
                    )
                    | None => "the institution declined the payment".to_owned(),
                });
            }
        }
        for effect in decision.effects {
            match effect {
                Effect::Collect => {
                    after.transaction_ref = Some(
                        self.collect_direct_payment(tx, record, now)
                            .await?
                            .to_string(),
                    );
                }
                Effect::EmitOutcome => {}
            }
        }
        if !direct_payments::save(tx, record, &after, now).await? {
            return Ok(None);
        }
        if decision.effects.contains(&Effect::EmitOutcome) {
            let business = self.business(&record.business_id).await?;
            let document = crate::documents::beqelal_payment(&after, &business);
            events::append_with_callback(
                tx,
                &record.business_id,
                EventFace::Beqelal,
                &format!("DIRECT_PAYMENT_{}", after.payment.status.as_str()),
                Some(&record.reference),
                record.callback_url.as_deref(),
                &document,
                now,
            )
            .await?;
        }
        Ok(Some(after))
    }

    /// The institution debits the customer (recorded by the sandbox bank under the payment's
    /// reference, once) and the business's ETB wallet is credited the amount less the fee, in
    /// one ledger entry.
    async fn collect_direct_payment(
        &self,
        tx: &mut Tx,
        record: &DirectPaymentRecord,
        now: i64,
    ) -> Result<TransactionRef, AppError> {
        let wallet = self.wallet(&record.business_id, record.currency).await?;
        let transaction_ref = TransactionRef::generate(&mut OsRng);
        let entry = ledger::inflow(
            &wallet.wallet_ref,
            record.currency,
            record.amount,
            record.fee,
        )
        .map_err(|e| AppError::Internal(Box::new(e)))?;
        let balances =
            ledger_store::post(tx, &entry, EntryKind::Inflow, transaction_ref.as_str(), now)
                .await?;
        // The in-process sandbox institution records the debit; over the bank rail the bank did.
        if crate::store::bank_debits::find(tx, &record.reference)
            .await?
            .is_none()
        {
            sqlx::query(
                "INSERT INTO sandbox_transfers (reference, currency, bank_code, account_number, amount, outcome, session_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'successful', $6, $7) ON CONFLICT (reference) DO NOTHING",
            )
            .bind(format!("debit:{}", record.reference))
            .bind(record.currency.code())
            .bind(&record.institution_code)
            .bind(&record.account)
            .bind(record.amount.get())
            .bind(&record.reference)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        transactions::insert(
            tx,
            &TransactionRecord {
                transaction_ref: transaction_ref.clone(),
                business_id: record.business_id.clone(),
                wallet_ref: wallet.wallet_ref.clone(),
                currency: record.currency,
                direction: "credit",
                channel: "direct-debit".to_owned(),
                category: "direct_payment".to_owned(),
                status: "successful".to_owned(),
                amount: record.amount,
                fee_amount: record.fee,
                settled_amount: record
                    .amount
                    .checked_sub(record.fee)
                    .unwrap_or(record.amount),
                new_balance: balances
                    .get(&Account::available(&wallet.wallet_ref))
                    .copied(),
                description: record
                    .reason
                    .clone()
                    .unwrap_or_else(|| "Direct Payment(API)".to_owned()),
                external_transaction_id: Some(format!("beqelal:{}", record.trace_number)),
                session_id: None,
                provider_ref_id: Some(record.reference.clone()),
                account_number: Some(wallet.account_number.clone()),
                account_ref: None,
                source: Party {
                    bank_code: Some(record.institution_code.clone()),
                    bank_name: Some(record.institution_name.clone()),
                    account_number: Some(record.account.clone()),
                    account_name: Some(record.account_name.clone()),
                },
                receiver: Party {
                    bank_code: Some(wallet.bank_code.clone()),
                    bank_name: Some(wallet.bank_name.clone()),
                    account_number: Some(wallet.account_number.clone()),
                    account_name: Some(wallet.account_name.clone()),
                },
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        Ok(transaction_ref)
    }

    /// Worker step: fails requests whose OTP expired, and answers sandbox USSD pushes (the
    /// customer approves, unless the account ends in 91). Returns how many it finished.
    pub async fn settle_due_direct_payments(&self) -> Result<usize, AppError> {
        // Bank-held payments are settled by the bank's answers to status queries only.
        let mut finished = self.poll_due_bank_debits().await?;
        let due =
            direct_payments::due(&self.store, self.now_ms(), SANDBOX_PUSH_ANSWER_MS, 200).await?;
        for (business_id, reference) in due {
            let mut tx = self.store.begin().await?;
            let Some(record) =
                direct_payments::load(&mut tx, self.store.engine(), &business_id, &reference)
                    .await?
            else {
                tx.rollback().await?;
                continue;
            };
            if crate::store::bank_debits::find(&mut tx, &reference)
                .await?
                .is_some()
            {
                tx.rollback().await?;
                continue;
            }
            let now = self.now_ms();
            let command = if now >= record.payment.otp_expires_ms {
                DirectPaymentCommand::Sweep
            } else {
                DirectPaymentCommand::PushAnswered {
                    approved: banks::sandbox_behaviour(&record.account)
                        != SandboxBehaviour::Decline,
                }
            };
            let decision = decide(&record.payment, command, now, self.config.otp_max_attempts);
            match self
                .apply_direct_payment(&mut tx, &record, &decision)
                .await?
            {
                Some(after) => {
                    tx.commit().await?;
                    if after.payment.status.is_final() && !record.payment.status.is_final() {
                        finished += 1;
                    }
                }
                None => tx.rollback().await?,
            }
        }
        Ok(finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_customers_have_phones() {
        assert_eq!(
            sandbox_customer_phone("251911234567", true),
            "+251911234567"
        );
        assert_eq!(
            sandbox_customer_phone("1000123456789", false),
            "+251923456789"
        );
        assert_eq!(sandbox_customer_phone("1234", false), "+251900001234");
    }
}
