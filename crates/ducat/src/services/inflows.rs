//! Money arriving from the bank: a notification of an inbound transfer, applied once per
//! `session_id`, crediting the account it was sent to.

use super::{AppError, Services};
use crate::store::businesses::{self, Mode};
use crate::store::ledger::{self as ledger_store, EntryKind};
use crate::store::transactions::{self, Party, TransactionRecord};
use ducat_core::ids::{BusinessId, TransactionRef};
use ducat_core::ledger::{self, Account};
use ducat_core::money::MinorUnits;
use rand::rngs::OsRng;
use rand::Rng;

/// An inbound transfer as the bank notifies it.
#[derive(Debug, Clone)]
pub struct InboundTransfer {
    pub account_number: String,
    /// Decimal major units exactly as sent; parsed once the account's currency is known.
    pub amount: String,
    pub session_id: Option<String>,
    pub source_bank_name: Option<String>,
    pub source_account_number: Option<String>,
    pub source_account_name: Option<String>,
    pub narration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InflowOutcome {
    pub session_id: String,
    pub status: String,
    pub transaction_ref: Option<String>,
    /// True when this session id had already been applied: nothing was credited again.
    pub duplicate: bool,
}

/// A NIP-style session id: a 6-digit institution code, yyMMddHHmmss and 12 random digits (30).
fn new_session_id(now_ms: i64) -> String {
    let mut rng = OsRng;
    let tail: String = (0..12)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect();
    let stamp = crate::clock::iso_millis(now_ms);
    let digits: String = stamp
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    format!("000015{}{tail}", &digits[2..])
}

fn random_digits(len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

impl Services {
    /// Simulates the bank notifying an inbound transfer to one of `business_id`'s accounts.
    /// Only test-mode businesses may use the sandbox bank.
    pub async fn sandbox_inbound_transfer(
        &self,
        business_id: &BusinessId,
        mode: Mode,
        transfer: InboundTransfer,
    ) -> Result<InflowOutcome, AppError> {
        match self
            .apply_inbound_transfer(business_id, mode, &transfer)
            .await
        {
            // Two deliveries of one notification raced (possible on PostgreSQL, where writers
            // run concurrently); the unique session id let one win. Answer as the loser's
            // retry would have been answered.
            Err(AppError::Conflict(_)) if transfer.session_id.is_some() => {
                self.apply_inbound_transfer(business_id, mode, &transfer)
                    .await
            }
            other => other,
        }
    }

    async fn apply_inbound_transfer(
        &self,
        business_id: &BusinessId,
        mode: Mode,
        transfer: &InboundTransfer,
    ) -> Result<InflowOutcome, AppError> {
        match mode {
            Mode::Test => {}
            Mode::Live => {
                return Err(AppError::Forbidden(
                    "the sandbox bank is available to test-mode keys only".to_owned(),
                ))
            }
        }
        if let Some(session_id) = &transfer.session_id {
            if session_id.is_empty()
                || session_id.len() > 64
                || !session_id.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(AppError::invalid(
                    "session_id",
                    "must be 1 to 64 letters or digits",
                ));
            }
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let wallet = businesses::wallet_by_account_number(&mut tx, &transfer.account_number)
            .await?
            .filter(|wallet| &wallet.business_id == business_id)
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "no account of this business has the number {}",
                    transfer.account_number
                ))
            })?;
        let amount = ducat_core::money::parse_major(&transfer.amount, wallet.currency)
            .map_err(|e| AppError::invalid("amount", e.to_string()))?;
        if !amount.is_positive() {
            return Err(AppError::invalid("amount", "must be greater than zero"));
        }
        let session_id = transfer
            .session_id
            .clone()
            .unwrap_or_else(|| new_session_id(now));
        if let Some(existing) = transactions::by_session_id(&mut tx, &session_id).await? {
            tx.rollback().await?;
            if existing.business_id != *business_id {
                return Err(AppError::Conflict(format!(
                    "session_id {session_id} was already used"
                )));
            }
            return Ok(InflowOutcome {
                session_id,
                status: existing.status,
                transaction_ref: Some(existing.transaction_ref.to_string()),
                duplicate: true,
            });
        }
        let transaction_ref = TransactionRef::generate(&mut OsRng);
        let fee = MinorUnits::ZERO;
        let entry = ledger::inflow(&wallet.wallet_ref, wallet.currency, amount, fee)
            .map_err(|e| AppError::Internal(Box::new(e)))?;
        let balances = ledger_store::post(
            &mut tx,
            &entry,
            EntryKind::Inflow,
            transaction_ref.as_str(),
            now,
        )
        .await?;
        let new_balance = balances
            .get(&Account::available(&wallet.wallet_ref))
            .copied();
        transactions::insert(
            &mut tx,
            &TransactionRecord {
                transaction_ref: transaction_ref.clone(),
                business_id: business_id.clone(),
                wallet_ref: wallet.wallet_ref.clone(),
                currency: wallet.currency,
                direction: "credit",
                channel: "nip".to_owned(),
                category: "wallet_funding".to_owned(),
                status: "successful".to_owned(),
                amount,
                fee_amount: fee,
                settled_amount: amount.checked_sub(fee).unwrap_or(amount),
                new_balance,
                description: transfer
                    .narration
                    .clone()
                    .unwrap_or_else(|| "Wallet funding".to_owned()),
                external_transaction_id: None,
                session_id: Some(session_id.clone()),
                provider_ref_id: Some(random_digits(40)),
                account_number: Some(wallet.account_number.clone()),
                source: Party {
                    bank_code: None,
                    bank_name: transfer.source_bank_name.clone(),
                    account_number: transfer.source_account_number.clone(),
                    account_name: transfer.source_account_name.clone(),
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
        .await
        .map_err(|error| match error {
            crate::store::StoreError::Duplicate { .. } => {
                AppError::Conflict(format!("session_id {session_id} is being applied"))
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(InflowOutcome {
            session_id,
            status: "successful".to_owned(),
            transaction_ref: Some(transaction_ref.to_string()),
            duplicate: false,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_ids_look_like_nip() {
        let id = super::new_session_id(1_663_227_918_953);
        assert_eq!(id.len(), 30);
        assert!(id.starts_with("000015220915074518"));
    }
}
