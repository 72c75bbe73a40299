//! The dashboard's reads of money: the transaction list filtered by kind (category) as well as
//! the API's filters, and a payout's state beside its transaction, read without a lock.

use super::transactions::{self, TransactionRecord};
use super::{int, opt_int, opt_text, text, Store, StoreError};
use ducat_core::ids::{BusinessId, TransactionRef};
use sqlx::Row;

/// Filters of the dashboard's transaction list; `None` filters nothing.
#[derive(Debug, Clone, Default)]
pub struct MoneyFilter {
    pub category: Option<String>,
    pub status: Option<String>,
    /// Inclusive, unix milliseconds.
    pub start_ms: Option<i64>,
    /// Exclusive, unix milliseconds.
    pub end_ms: Option<i64>,
    /// Minor units, exact.
    pub amount: Option<i64>,
    /// Part of the reference, external id, session id, provider reference or account ref.
    pub reference: Option<String>,
}

/// A page of a business's transactions, newest first, and how many match in all.
pub async fn list(
    store: &Store,
    business: &BusinessId,
    filter: &MoneyFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<TransactionRecord>, i64), StoreError> {
    // Every filter is always bound; an absent one compares against a value that matches all.
    let conditions = "business_id = $1
        AND ($2 = '' OR category = $2)
        AND ($3 = '' OR status = $3)
        AND created_at >= $4 AND created_at < $5
        AND ($6 < 0 OR amount = $6)
        AND ($7 = '' OR transaction_ref LIKE $7 OR external_transaction_id LIKE $7
             OR session_id LIKE $7 OR provider_ref_id LIKE $7 OR account_ref LIKE $7)";
    let reference = filter
        .reference
        .as_deref()
        .map(|term| format!("%{}%", term.replace(['%', '_', '\\'], "")))
        .unwrap_or_default();
    macro_rules! bind_filters {
        ($query:expr) => {
            $query
                .bind(business.as_str())
                .bind(filter.category.clone().unwrap_or_default())
                .bind(filter.status.clone().unwrap_or_default())
                .bind(filter.start_ms.unwrap_or(i64::MIN))
                .bind(filter.end_ms.unwrap_or(i64::MAX))
                .bind(filter.amount.unwrap_or(-1))
                .bind(reference.clone())
        };
    }
    let total: i64 = bind_filters!(sqlx::query(&format!(
        "SELECT COUNT(*) FROM transactions WHERE {conditions}"
    )))
    .fetch_one(store.reader())
    .await?
    .get(0);
    let rows = bind_filters!(sqlx::query(&format!(
        "SELECT {} FROM transactions WHERE {conditions}
         ORDER BY created_at DESC, transaction_ref DESC LIMIT $8 OFFSET $9",
        transactions::COLUMNS
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(store.reader())
    .await?;
    let records = rows
        .iter()
        .map(transactions::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((records, total))
}

/// A payout's own state, as the dashboard shows it.
#[derive(Debug, Clone)]
pub struct PayoutView {
    /// `v1`, `v2` or `withdraw`.
    pub api_version: String,
    /// Whether an OTP is outstanding (its hash is stored).
    pub otp_outstanding: bool,
    pub wrong_otps: i64,
    pub resends: i64,
    pub deadline_at: i64,
    /// `not_sent`, `queued`, `unknown` or `done`.
    pub rail_state: String,
    pub rail_attempts: i64,
    pub rail_next_at: Option<i64>,
    pub rail_last_error: Option<String>,
}

/// The payout behind a business's transaction, if the transaction is one.
pub async fn payout(
    store: &Store,
    business: &BusinessId,
    transaction_ref: &TransactionRef,
) -> Result<Option<PayoutView>, StoreError> {
    let row = sqlx::query(
        "SELECT api_version, otp_hash, wrong_otps, resends, deadline_at, rail_state, rail_attempts,
                rail_next_at, rail_last_error
         FROM payouts WHERE business_id = $1 AND transaction_ref = $2",
    )
    .bind(business.as_str())
    .bind(transaction_ref.as_str())
    .fetch_optional(store.reader())
    .await?;
    Ok(row.map(|row| PayoutView {
        api_version: text(&row, "api_version"),
        otp_outstanding: opt_text(&row, "otp_hash").is_some(),
        wrong_otps: int(&row, "wrong_otps"),
        resends: int(&row, "resends"),
        deadline_at: int(&row, "deadline_at"),
        rail_state: text(&row, "rail_state"),
        rail_attempts: int(&row, "rail_attempts"),
        rail_next_at: opt_int(&row, "rail_next_at"),
        rail_last_error: opt_text(&row, "rail_last_error"),
    }))
}
