//! Beqelal withdrawals: money out of the business's ETB wallet to a bank or mobile-wallet
//! account, on the payout machinery (hold, bank transfer with an idempotent reference,
//! settlement or release), answered synchronously with the bank's verdict when it has one.

use super::payouts::PreparedPayout;
use super::{beqelal_fields, AppError, Services};
use crate::rail::RailError;
use crate::store::payouts::WithdrawalDetails;
use crate::store::transactions::{self, Party, TransactionRecord};
use ducat_core::fees::withdrawal_charges;
use ducat_core::ids::{BusinessId, TransactionRef};
use ducat_core::money::{Currency, MinorUnits};
use ducat_core::payout::PayoutStatus;
use rand::rngs::OsRng;

#[derive(Debug, Clone)]
pub struct WithdrawalRequest {
    pub bank: String,
    pub account: String,
    pub amount: String,
    pub trace_number: String,
    pub callback_url: Option<String>,
    pub reason: Option<String>,
}

/// A withdrawal as Beqelal reports it.
#[derive(Debug, Clone)]
pub struct Withdrawal {
    pub record: TransactionRecord,
    pub details: WithdrawalDetails,
}

impl Withdrawal {
    /// The fee parts: the fee, 15 % VAT on it, 5 % levy on it.
    pub fn fee_parts(&self) -> (MinorUnits, MinorUnits, MinorUnits) {
        let fee = MinorUnits(self.details.base_fee);
        let (vat, levy) = withdrawal_charges(fee);
        (fee, vat, levy)
    }

    /// As Beqelal spells the payout's state.
    pub fn status(&self) -> &'static str {
        match PayoutStatus::parse(&self.record.status) {
            Some(PayoutStatus::Successful) => "PROCESSED",
            Some(PayoutStatus::Failed | PayoutStatus::Abandoned) => "FAILED",
            Some(PayoutStatus::Pending | PayoutStatus::AwaitingOtpVerification) | None => "PENDING",
        }
    }
}

/// Withdrawals share the transactions table with Duplo payouts; their trace numbers live in
/// their own namespace of the external id so the two never collide.
fn external_id(trace_number: &str) -> String {
    format!("withdraw:{trace_number}")
}

impl Services {
    pub async fn execute_withdrawal(
        &self,
        business_id: &BusinessId,
        request: WithdrawalRequest,
    ) -> Result<Withdrawal, AppError> {
        let business = self.business(business_id).await?;
        let institution = beqelal_fields::institution(&request.bank)?;
        let amount = beqelal_fields::amount(&request.amount)?;
        let trace_number = beqelal_fields::trace_number(&request.trace_number)?;
        if let Some(existing) =
            transactions::by_external_id(&self.store, &business.id, &external_id(&trace_number))
                .await?
        {
            return Err(AppError::Conflict(format!(
                "trace_number {trace_number} was already used for withdrawal {}",
                existing.transaction_ref
            )));
        }
        let callback_url = beqelal_fields::callback_url(request.callback_url.as_deref())?;
        let resolved = self
            .rail_for(business.mode)
            .name_enquiry(Currency::Etb, institution.code, request.account.trim())
            .await
            .map_err(|error| match error {
                RailError::UnknownBank(code, _) => {
                    AppError::invalid("bank", format!("{code:?} is not an institution"))
                }
                RailError::MalformedAccount(message) => AppError::invalid("account", message),
                RailError::UnknownAccount(number) => AppError::invalid(
                    "account",
                    format!("{number} does not exist at {}", institution.name),
                ),
                RailError::Unavailable(message) => AppError::Unavailable(message),
            })?;
        let base_fee = business.payout_fees.fee_for(amount);
        let (vat, levy) = withdrawal_charges(base_fee);
        let total_fee = MinorUnits(base_fee.get() + vat.get() + levy.get());
        let wallet = self.wallet(&business.id, Currency::Etb).await?;
        let (available, _) =
            crate::store::ledger::wallet_balances(&self.store, &wallet.wallet_ref).await?;
        let needed = MinorUnits(amount.get() + total_fee.get());
        if needed > available {
            return Err(AppError::InsufficientFunds(format!(
                "insufficient balance: the withdrawal needs ETB {} (amount, fee, VAT and levy) but ETB {} is available",
                needed.to_major_string(Currency::Etb),
                available.to_major_string(Currency::Etb)
            )));
        }
        let now = self.now_ms();
        let details = WithdrawalDetails {
            base_fee: base_fee.get(),
            callback_url,
            trace_number: trace_number.clone(),
        };
        let prepared = PreparedPayout {
            withdrawal: Some(details.clone()),
            record: TransactionRecord {
                transaction_ref: TransactionRef::generate(&mut OsRng),
                business_id: business.id.clone(),
                wallet_ref: wallet.wallet_ref.clone(),
                currency: Currency::Etb,
                direction: "debit",
                channel: "beqelal".to_owned(),
                category: "withdrawal".to_owned(),
                status: PayoutStatus::AwaitingOtpVerification.as_str().to_owned(),
                amount,
                fee_amount: total_fee,
                settled_amount: amount,
                new_balance: None,
                description: request
                    .reason
                    .map(|r| r.trim().chars().take(255).collect::<String>())
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "Withdrawal".to_owned()),
                external_transaction_id: Some(external_id(&trace_number)),
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
        };
        let mut tx = self.store.begin().await?;
        self.insert_confirmed(&mut tx, &business, &prepared, "withdraw")
            .await?;
        tx.commit().await?;
        let reference = prepared.record.transaction_ref.clone();
        // Ask the bank now, so the answer can carry its verdict; a timeout leaves the
        // withdrawal PENDING for the dispatcher to settle, never guessed.
        if let Err(error) = self.send_payout_now(&business.id, &reference).await {
            tracing::warn!(transaction_ref = %reference, error = %error, "withdrawal not sent yet; the dispatcher will retry");
        }
        self.withdrawal(&business.id, reference.as_str()).await
    }

    pub async fn withdrawal(
        &self,
        business_id: &BusinessId,
        reference: &str,
    ) -> Result<Withdrawal, AppError> {
        let not_found = || AppError::NotFound(format!("no withdrawal {reference}"));
        let parsed = TransactionRef::parse(reference.trim()).ok_or_else(not_found)?;
        let mut tx = self.store.begin().await?;
        let stored =
            crate::store::payouts::load(&mut tx, self.store.engine(), business_id, &parsed).await?;
        tx.rollback().await?;
        match stored {
            Some(stored) => match stored.withdrawal {
                Some(details) => Ok(Withdrawal {
                    record: stored.transaction,
                    details,
                }),
                None => Err(not_found()),
            },
            None => Err(not_found()),
        }
    }
}
