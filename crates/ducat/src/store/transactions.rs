//! Transactions as Duplo shows them: every movement of a business's wallet.

use super::{int, opt_int, opt_text, text, Store, StoreError, Tx};
use ducat_core::ids::{BusinessId, TransactionRef, WalletRef};
use ducat_core::money::{Currency, MinorUnits};
use sqlx::any::AnyRow;
use sqlx::Row;

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
    /// The checkout's or virtual account's `act_…` a credit arrived through.
    pub account_ref: Option<String>,
    pub source: Party,
    pub receiver: Party,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const COLUMNS: &str = "transaction_ref, business_id, wallet_ref, currency, type, channel, category, status, \
    amount, fee_amount, settled_amount, new_balance, description, external_transaction_id, session_id, \
    provider_ref_id, account_number, source_bank_name, source_account_number, source_account_name, \
    receiver_bank_code, receiver_bank_name, receiver_account_number, receiver_account_name, created_at, updated_at, \
    account_ref";

pub async fn insert(tx: &mut Tx, t: &TransactionRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO transactions ({COLUMNS}) VALUES
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
          $21, $22, $23, $24, $25, $26, $27)"
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
    .bind(&t.account_ref)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub(crate) fn from_row(row: &AnyRow) -> Result<TransactionRecord, StoreError> {
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
        account_ref: opt_text(row, "account_ref"),
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

/// Records the bank's session id of an outgoing transfer once the bank has paid it.
pub async fn set_session_id(
    tx: &mut Tx,
    transaction_ref: &TransactionRef,
    session_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE transactions SET session_id = $2 WHERE transaction_ref = $1 AND session_id IS NULL",
    )
    .bind(transaction_ref.as_str())
    .bind(session_id)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
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

pub async fn of_business_in(
    tx: &mut Tx,
    business: &BusinessId,
    transaction_ref: &TransactionRef,
) -> Result<Option<TransactionRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE business_id = $1 AND transaction_ref = $2"
    ))
    .bind(business.as_str())
    .bind(transaction_ref.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_external_id(
    store: &Store,
    business: &BusinessId,
    external_id: &str,
) -> Result<Option<TransactionRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE business_id = $1 AND external_transaction_id = $2"
    ))
    .bind(business.as_str())
    .bind(external_id)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Filters of the transaction list; `None` filters nothing.
#[derive(Debug, Clone, Default)]
pub struct TransactionFilter {
    pub wallet_ref: Option<String>,
    pub transaction_ref: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub channel: Option<String>,
    pub direction: Option<String>,
    pub status: Option<String>,
    pub amount: Option<i64>,
    /// Matched against reference, description, external id and counterparty names and numbers.
    pub search_term: Option<String>,
}

/// A page of a business's transactions, newest first, and how many match in all.
pub async fn list(
    store: &Store,
    business: &BusinessId,
    filter: &TransactionFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<TransactionRecord>, i64), StoreError> {
    // Every filter is always bound; an absent one compares against a value that matches all.
    let conditions = "business_id = $1
        AND ($2 = '' OR wallet_ref = $2)
        AND ($3 = '' OR transaction_ref = $3)
        AND created_at >= $4 AND created_at < $5
        AND ($6 = '' OR channel = $6)
        AND ($7 = '' OR type = $7)
        AND ($8 = '' OR status = $8)
        AND ($9 < 0 OR amount = $9)
        AND ($10 = '' OR transaction_ref LIKE $10 OR description LIKE $10
             OR external_transaction_id LIKE $10 OR receiver_account_name LIKE $10
             OR receiver_account_number LIKE $10 OR source_account_name LIKE $10
             OR source_account_number LIKE $10 OR session_id LIKE $10)";
    let search = filter
        .search_term
        .as_deref()
        .map(|term| format!("%{}%", term.replace(['%', '_'], "")))
        .unwrap_or_default();
    macro_rules! bind_filters {
        ($query:expr) => {
            $query
                .bind(business.as_str())
                .bind(filter.wallet_ref.clone().unwrap_or_default())
                .bind(filter.transaction_ref.clone().unwrap_or_default())
                .bind(filter.start_ms.unwrap_or(i64::MIN))
                .bind(filter.end_ms.unwrap_or(i64::MAX))
                .bind(filter.channel.clone().unwrap_or_default())
                .bind(filter.direction.clone().unwrap_or_default())
                .bind(filter.status.clone().unwrap_or_default())
                .bind(filter.amount.unwrap_or(-1))
                .bind(search.clone())
        };
    }
    let total: i64 = bind_filters!(sqlx::query(&format!(
        "SELECT COUNT(*) FROM transactions WHERE {conditions}"
    )))
    .fetch_one(store.reader())
    .await?
    .get(0);
    let rows = bind_filters!(sqlx::query(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE {conditions}
         ORDER BY created_at DESC, transaction_ref DESC LIMIT $11 OFFSET $12"
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(store.reader())
    .await?;
    let records = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok((records, total))
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
