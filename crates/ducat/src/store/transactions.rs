//! Transactions as Duplo shows them: every movement of a business's wallet.

use super::{int, opt_int, opt_text, text, Store, StoreError, Tx};
use ducat_core::ids::{BusinessId, TransactionRef, WalletRef};
use ducat_core::money::{Currency, MinorUnits};
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub bank_code: Option<String>,
    pub bank_name: Option<String>,
    pub account_number: Option<String>,
    pub account_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TransactionRecord {
    pub transaction_ref: TransactionRef,
    pub business_id: BusinessId,
    pub wallet_ref: WalletRef,
    pub currency: Currency,
    /// `credit` or `debit`, as Duplo spells it.
    pub direction: &'static str,
    pub channel: String,
    pub category: String,
    pub status: String,
    pub amount: MinorUnits,
    pub fee_amount: MinorUnits,
    pub settled_amount: MinorUnits,
    pub new_balance: Option<MinorUnits>,
    pub description: String,
    pub external_transaction_id: Option<String>,
    pub session_id: Option<String>,
    pub provider_ref_id: Option<String>,
    pub account_number: Option<String>,
    pub source: Party,
    pub receiver: Party,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "transaction_ref, business_id, wallet_ref, currency, type, channel, category, status, \
    amount, fee_amount, settled_amount, new_balance, description, external_transaction_id, session_id, \
    provider_ref_id, account_number, source_bank_name, source_account_number, source_account_name, \
    receiver_bank_code, receiver_bank_name, receiver_account_number, receiver_account_name, created_at, updated_at";

pub async fn insert(tx: &mut Tx, t: &TransactionRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO transactions ({COLUMNS}) VALUES
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
          $21, $22, $23, $24, $25, $26)"
    ))
    .bind(t.transaction_ref.as_str())
    .bind(t.business_id.as_str())
    .bind(t.wallet_ref.as_str())
    .bind(t.currency.code())
    .bind(t.direction)
    .bind(&t.channel)
    .bind(&t.category)
    .bind(&t.status)
    .bind(t.amount.get())
    .bind(t.fee_amount.get())
    .bind(t.settled_amount.get())
    .bind(t.new_balance.map(MinorUnits::get))
    .bind(&t.description)
    .bind(&t.external_transaction_id)
    .bind(&t.session_id)
    .bind(&t.provider_ref_id)
    .bind(&t.account_number)
    .bind(&t.source.bank_name)
    .bind(&t.source.account_number)
    .bind(&t.source.account_name)
    .bind(&t.receiver.bank_code)
    .bind(&t.receiver.bank_name)
    .bind(&t.receiver.account_number)
    .bind(&t.receiver.account_name)
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

fn from_row(row: &AnyRow) -> Result<TransactionRecord, StoreError> {
    let currency_code = text(row, "currency");
    let direction = match text(row, "type").as_str() {
        "credit" => "credit",
        "debit" => "debit",
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown transaction type {other:?}"
            )))
        }
    };
    Ok(TransactionRecord {
        transaction_ref: TransactionRef::from_trusted(text(row, "transaction_ref")),
        business_id: BusinessId::from_trusted(text(row, "business_id")),
        wallet_ref: WalletRef::from_trusted(text(row, "wallet_ref")),
        currency: Currency::from_code(&currency_code)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown currency {currency_code:?}")))?,
        direction,
        channel: text(row, "channel"),
        category: text(row, "category"),
        status: text(row, "status"),
        amount: MinorUnits(int(row, "amount")),
        fee_amount: MinorUnits(int(row, "fee_amount")),
        settled_amount: MinorUnits(int(row, "settled_amount")),
        new_balance: opt_int(row, "new_balance").map(MinorUnits),
        description: text(row, "description"),
        external_transaction_id: opt_text(row, "external_transaction_id"),
        session_id: opt_text(row, "session_id"),
        provider_ref_id: opt_text(row, "provider_ref_id"),
        account_number: opt_text(row, "account_number"),
        source: Party {
            bank_code: None,
            bank_name: opt_text(row, "source_bank_name"),
            account_number: opt_text(row, "source_account_number"),
            account_name: opt_text(row, "source_account_name"),
        },
        receiver: Party {
            bank_code: opt_text(row, "receiver_bank_code"),
            bank_name: opt_text(row, "receiver_bank_name"),
            account_number: opt_text(row, "receiver_account_number"),
            account_name: opt_text(row, "receiver_account_name"),
        },
        created_at: int(row, "created_at"),
        updated_at: int(row, "updated_at"),
    })
}

pub async fn by_session_id(
    tx: &mut Tx,
    session_id: &str,
) -> Result<Option<TransactionRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE session_id = $1"
    ))
    .bind(session_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn of_business(
    store: &Store,
    business: &BusinessId,
    transaction_ref: &TransactionRef,
) -> Result<Option<TransactionRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE business_id = $1 AND transaction_ref = $2"
    ))
    .bind(business.as_str())
    .bind(transaction_ref.as_str())
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}
