//! Money arriving from the bank: a notification of an inbound transfer, applied once per
//! `session_id`, to whatever the receiving account belongs to: a wallet's funding account, a
//! checkout, or a virtual account. Money that cannot be accepted goes back to the sender
//! through suspense, and the attempt is recorded.

use super::{AppError, Services};
use crate::documents;
use crate::store::businesses::{self, Mode, WalletRecord};
use crate::store::checkouts::{self, CheckoutRecord};
use crate::store::events::{self, EventFace};
use crate::store::inbound::{self, InboundRecord};
use crate::store::ledger::{self as ledger_store, EntryKind};
use crate::store::transactions::{self, Party, TransactionRecord};
use crate::store::virtual_accounts::{self, VirtualAccountRecord};
use crate::store::{StoreError, Tx};
use ducat_core::checkout::{decide_inflow, InflowDecision, ReturnReason};
use ducat_core::ids::{BusinessId, TransactionRef};
use ducat_core::ledger::{self, Account};
use ducat_core::money::{Currency, MinorUnits};
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
    /// `successful` when credited, `returned` when sent back to the sender.
    pub status: String,
    pub transaction_ref: Option<String>,
    /// Why the money went back, when it did.
    pub reason: Option<String>,
    /// True when this session id had already been applied: nothing happened again.
    pub duplicate: bool,
}

/// What the receiving account belongs to.
enum Target {
    Wallet(WalletRecord),
    Checkout(CheckoutRecord),
    VirtualAccount(VirtualAccountRecord),
}

impl Target {
    fn business_id(&self) -> &BusinessId {
        match self {
            Target::Wallet(w) => &w.business_id,
            Target::Checkout(c) => &c.business_id,
            Target::VirtualAccount(v) => &v.business_id,
        }
    }

    fn kind_and_ref(&self) -> (&'static str, String) {
        match self {
            Target::Wallet(w) => ("wallet", w.wallet_ref.to_string()),
            Target::Checkout(c) => ("checkout", c.checkout_reference.to_string()),
            Target::VirtualAccount(v) => ("virtual_account", v.account_ref.clone()),
        }
    }
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

async fn find_target(tx: &mut Tx, account_number: &str) -> Result<Option<Target>, StoreError> {
    if let Some(wallet) = businesses::wallet_by_account_number(tx, account_number).await? {
        return Ok(Some(Target::Wallet(wallet)));
    }
    if let Some(checkout) = checkouts::by_account_number(tx, account_number).await? {
        return Ok(Some(Target::Checkout(checkout)));
    }
    Ok(virtual_accounts::by_account_number(tx, account_number)
        .await?
        .map(Target::VirtualAccount))
}

/// How a credit is booked: what arrived, ducat's fee, and the credit's identity.
struct Credit {
    wallet: WalletRecord,
    gross: MinorUnits,
    fee: MinorUnits,
    category: &'static str,
    description: String,
    account_ref: Option<String>,
    receiver: Party,
    metadata: serde_json::Value,
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
        match self
            .apply_inbound_transfer(Some(business_id), &transfer)
            .await
        {
            // Two deliveries of one notification raced (possible on PostgreSQL, where writers
            // run concurrently); the unique session id let one win. Answer as the loser's
            // retry would have been answered.
            Err(AppError::Conflict(_)) if transfer.session_id.is_some() => {
                self.apply_inbound_transfer(Some(business_id), &transfer)
                    .await
            }
            other => other,
        }
    }

    /// Applies an inbound transfer the bank notified, to whichever business's account it names,
    /// once per `session_id`. The entry point of the bank-adapter's inflow notifications (not
    /// yet served over HTTP; live-mode tests fund wallets through it).
    pub async fn bank_inbound_transfer(
        &self,
        transfer: InboundTransfer,
    ) -> Result<InflowOutcome, AppError> {
        match self.apply_inbound_transfer(None, &transfer).await {
            // Two deliveries of one notification raced; the unique session id let one win.
            Err(AppError::Conflict(_)) if transfer.session_id.is_some() => {
                self.apply_inbound_transfer(None, &transfer).await
            }
            other => other,
        }
    }

    /// Applies a bank notification once. With `only_for`, the account must be that business's
    /// (the sandbox lets a business pay only into its own accounts).
    async fn apply_inbound_transfer(
        &self,
        only_for: Option<&BusinessId>,
        transfer: &InboundTransfer,
    ) -> Result<InflowOutcome, AppError> {
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let not_found = || {
            AppError::NotFound(format!(
                "no account of this business has the number {}",
                transfer.account_number
            ))
        };
        let target = find_target(&mut tx, &transfer.account_number)
            .await?
            .filter(|target| only_for.is_none_or(|business| target.business_id() == business))
            .ok_or_else(not_found)?;
        let currency = match &target {
            Target::Wallet(w) => w.currency,
            Target::Checkout(c) => c.currency,
            Target::VirtualAccount(_) => Currency::Ngn,
        };
        let amount = ducat_core::money::parse_major(&transfer.amount, currency)
            .map_err(|e| AppError::invalid("amount", e.to_string()))?;
        if !amount.is_positive() {
            return Err(AppError::invalid("amount", "must be greater than zero"));
        }
        let session_id = transfer
            .session_id
            .clone()
            .unwrap_or_else(|| new_session_id(now));
        if let Some(seen) = inbound::seen(&mut tx, &session_id).await? {
            tx.rollback().await?;
            if only_for.is_some_and(|business| *business != seen.business_id) {
                return Err(AppError::Conflict(format!(
                    "session_id {session_id} was already used"
                )));
            }
            return Ok(InflowOutcome {
                session_id,
                status: if seen.outcome == "credited" {
                    "successful".to_owned()
                } else {
                    seen.outcome
                },
                transaction_ref: seen.transaction_ref,
                reason: seen.reason,
                duplicate: true,
            });
        }

        let business = self.business(target.business_id()).await?;
        let decision = match &target {
            Target::Wallet(wallet) => Ok(Credit {
                wallet: wallet.clone(),
                gross: amount,
                fee: MinorUnits::ZERO,
                category: "wallet_funding",
                description: transfer
                    .narration
                    .clone()
                    .unwrap_or_else(|| "Wallet funding".to_owned()),
                account_ref: None,
                receiver: Party {
                    bank_code: Some(wallet.bank_code.clone()),
                    bank_name: Some(wallet.bank_name.clone()),
                    account_number: Some(wallet.account_number.clone()),
                    account_name: Some(wallet.account_name.clone()),
                },
                metadata: serde_json::json!({}),
            }),
            Target::Checkout(checkout) => {
                match decide_inflow(
                    checkout.status,
                    checkout.amount_to_pay,
                    checkout.expires_at,
                    amount,
                    now,
                ) {
                    InflowDecision::Accept => Ok(Credit {
                        wallet: self.wallet(&business.id, checkout.currency).await?,
                        gross: amount,
                        fee: checkout.fee,
                        category: "pay-with-transfer",
                        description: if checkout.description.is_empty() {
                            format!("Payment for checkout {}", checkout.checkout_reference)
                        } else {
                            checkout.description.clone()
                        },
                        account_ref: Some(checkout.account_ref.clone()),
                        receiver: Party {
                            bank_code: Some(checkout.bank_code.clone()),
                            bank_name: Some(checkout.bank_name.clone()),
                            account_number: Some(checkout.account_number.clone()),
                            account_name: Some(checkout.account_name.clone()),
                        },
                        metadata: serde_json::json!({ "checkout_reference": checkout.checkout_reference }),
                    }),
                    InflowDecision::Return(reason) => Err(reason),
                }
            }
            Target::VirtualAccount(account) => {
                let reason = if account.status != "active" {
                    Some(ReturnReason::AlreadyPaid)
                } else {
                    account
                        .amount
                        .filter(|expected| *expected != amount)
                        .map(|expected| ReturnReason::WrongAmount {
                            expected,
                            received: amount,
                        })
                };
                match reason {
                    Some(reason) => Err(reason),
                    None => Ok(Credit {
                        wallet: self.wallet(&business.id, Currency::Ngn).await?,
                        gross: amount,
                        fee: business.collection_fees.fee_for(amount).min(amount),
                        category: "virtual-account",
                        description: transfer
                            .narration
                            .clone()
                            .unwrap_or_else(|| format!("Transfer to {}", account.account_name)),
                        account_ref: Some(account.account_ref.clone()),
                        receiver: Party {
                            bank_code: Some(account.bank_code.clone()),
                            bank_name: Some(account.bank_name.clone()),
                            account_number: Some(account.account_number.clone()),
                            account_name: Some(account.account_name.clone()),
                        },
                        metadata: account
                            .metadata
                            .as_deref()
                            .and_then(|m| serde_json::from_str(m).ok())
                            .unwrap_or_else(|| serde_json::json!({})),
                    }),
                }
            }
        };

        let (kind, target_ref) = target.kind_and_ref();
        let mut record = InboundRecord {
            session_id: session_id.clone(),
            business_id: business.id.clone(),
            account_number: transfer.account_number.clone(),
            target_kind: kind.to_owned(),
            target_ref,
            currency: currency.code().to_owned(),
            amount,
            source_bank_name: transfer.source_bank_name.clone(),
            source_account_number: transfer.source_account_number.clone(),
            source_account_name: transfer.source_account_name.clone(),
            narration: transfer.narration.clone(),
            outcome: String::new(),
            reason: None,
            transaction_ref: None,
            created_at: now,
        };
        let outcome = match decision {
            Ok(credit) => {
                let transaction_ref = self
                    .book_credit(&mut tx, &business.id, &credit, transfer, &session_id, now)
                    .await?;
                match &target {
                    Target::Checkout(checkout) => {
                        if !checkouts::mark_paid(
                            &mut tx,
                            &checkout.checkout_reference,
                            &transaction_ref,
                            now,
                        )
                        .await?
                        {
                            return Err(AppError::Conflict(format!(
                                "checkout {} changed while it was being paid",
                                checkout.checkout_reference
                            )));
                        }
                    }
                    Target::VirtualAccount(account) if account.single_use => {
                        if !virtual_accounts::mark_used(&mut tx, &account.account_ref, now).await? {
                            return Err(AppError::Conflict(format!(
                                "virtual account {} changed while it was being paid",
                                account.account_ref
                            )));
                        }
                    }
                    Target::Wallet(_) | Target::VirtualAccount(_) => {}
                }
                record.outcome = "credited".to_owned();
                record.transaction_ref = Some(transaction_ref.to_string());
                InflowOutcome {
                    session_id: session_id.clone(),
                    status: "successful".to_owned(),
                    transaction_ref: Some(transaction_ref.to_string()),
                    reason: None,
                    duplicate: false,
                }
            }
            Err(reason) => {
                self.return_to_sender(&mut tx, currency, amount, &session_id, now)
                    .await?;
                record.outcome = "returned".to_owned();
                record.reason = Some(reason.describe(currency));
                InflowOutcome {
                    session_id: session_id.clone(),
                    status: "returned".to_owned(),
                    transaction_ref: None,
                    reason: record.reason.clone(),
                    duplicate: false,
                }
            }
        };
        inbound::insert(&mut tx, &record)
            .await
            .map_err(|error| match error {
                StoreError::Duplicate { .. } => {
                    AppError::Conflict(format!("session_id {session_id} is being applied"))
                }
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(outcome)
    }

    pub(super) async fn wallet(
        &self,
        business_id: &BusinessId,
        currency: Currency,
    ) -> Result<WalletRecord, AppError> {
        businesses::list_wallets(&self.store, business_id)
            .await?
            .into_iter()
            .find(|w| w.currency == currency)
            .ok_or_else(|| {
                AppError::Internal(format!("the business has no {currency} wallet").into())
            })
    }

    /// Credits the wallet, records the transaction and appends `ACCOUNT_INFLOW`.
    async fn book_credit(
        &self,
        tx: &mut Tx,
        business_id: &BusinessId,
        credit: &Credit,
        transfer: &InboundTransfer,
        session_id: &str,
        now: i64,
    ) -> Result<TransactionRef, AppError> {
        let wallet = &credit.wallet;
        let transaction_ref = TransactionRef::generate(&mut OsRng);
        let entry = ledger::inflow(
            &wallet.wallet_ref,
            wallet.currency,
            credit.gross,
            credit.fee,
        )
        .map_err(|e| AppError::Internal(Box::new(e)))?;
        let balances =
            ledger_store::post(tx, &entry, EntryKind::Inflow, transaction_ref.as_str(), now)
                .await?;
        let record = TransactionRecord {
            transaction_ref: transaction_ref.clone(),
            business_id: business_id.clone(),
            wallet_ref: wallet.wallet_ref.clone(),
            currency: wallet.currency,
            direction: "credit",
            channel: "nip".to_owned(),
            category: credit.category.to_owned(),
            status: "successful".to_owned(),
            amount: credit.gross,
            fee_amount: credit.fee,
            settled_amount: credit.gross.checked_sub(credit.fee).unwrap_or(credit.gross),
            new_balance: balances
                .get(&Account::available(&wallet.wallet_ref))
                .copied(),
            description: credit.description.clone(),
            external_transaction_id: None,
            session_id: Some(session_id.to_owned()),
            provider_ref_id: Some(random_digits(41)),
            account_number: credit.receiver.account_number.clone(),
            account_ref: credit.account_ref.clone(),
            source: Party {
                bank_code: None,
                bank_name: transfer.source_bank_name.clone(),
                account_number: transfer.source_account_number.clone(),
                account_name: transfer.source_account_name.clone(),
            },
            receiver: credit.receiver.clone(),
            created_at: now,
            updated_at: now,
        };
        transactions::insert(tx, &record)
            .await
            .map_err(|error| match error {
                StoreError::Duplicate { .. } => {
                    AppError::Conflict(format!("session_id {session_id} is being applied"))
                }
                other => other.into(),
            })?;
        let body = documents::duplo_event_body(
            "ACCOUNT_INFLOW",
            documents::duplo_inflow_event(&record, &credit.metadata),
        );
        events::append(
            tx,
            business_id,
            EventFace::Duplo,
            "ACCOUNT_INFLOW",
            Some(transaction_ref.as_str()),
            &body,
            now,
        )
        .await?;
        Ok(transaction_ref)
    }

    /// Sends money that cannot be accepted back where it came from: it enters suspense and
    /// leaves it again, so the ledger shows both legs. The sandbox bank returns it at once.
    async fn return_to_sender(
        &self,
        tx: &mut Tx,
        currency: Currency,
        amount: MinorUnits,
        session_id: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let internal = |e: ducat_core::ledger::LedgerError| AppError::Internal(Box::new(e));
        let received = ledger::receive_unmatched(currency, amount).map_err(internal)?;
        ledger_store::post(tx, &received, EntryKind::UnmatchedInflow, session_id, now).await?;
        let returned = ledger::return_unmatched(currency, amount).map_err(internal)?;
        ledger_store::post(tx, &returned, EntryKind::UnmatchedReturn, session_id, now).await?;
        Ok(())
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
