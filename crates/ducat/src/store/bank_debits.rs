//! Direct payments held by the institution over the bank rail (`bank_debits`): which ones, and
//! when the worker asks the bank about each next.

use super::{int, opt_int, text, Store, StoreError, Tx};
use crate::rail::debits::DebitMethod;
use ducat_core::ids::BusinessId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankDebit {
    pub reference: String,
    pub method: DebitMethod,
    pub next_poll_at: Option<i64>,
    pub polls: i64,
}

pub async fn insert(
    tx: &mut Tx,
    reference: &str,
    method: DebitMethod,
    next_poll_at: Option<i64>,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO bank_debits (reference, method, next_poll_at, polls, created_at)
         VALUES ($1, $2, $3, 0, $4)",
    )
    .bind(reference)
    .bind(method.as_str())
    .bind(next_poll_at)
    .bind(now_ms)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn find(tx: &mut Tx, reference: &str) -> Result<Option<BankDebit>, StoreError> {
    let row = sqlx::query(
        "SELECT reference, method, next_poll_at, polls FROM bank_debits WHERE reference = $1",
    )
    .bind(reference)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        let method = text(&row, "method");
        Ok(BankDebit {
            reference: text(&row, "reference"),
            method: DebitMethod::parse(&method)
                .ok_or_else(|| StoreError::Corrupt(format!("bank debit method {method}")))?,
            next_poll_at: opt_int(&row, "next_poll_at"),
            polls: int(&row, "polls"),
        })
    })
    .transpose()
}

pub async fn find_in(store: &Store, reference: &str) -> Result<Option<BankDebit>, StoreError> {
    let mut tx = store.begin().await?;
    let found = find(&mut tx, reference).await?;
    tx.rollback().await?;
    Ok(found)
}

/// When to ask the bank next (`None`: not until the OTP expires), counting a poll when `polled`.
pub async fn schedule(
    tx: &mut Tx,
    reference: &str,
    next_poll_at: Option<i64>,
    polled: bool,
    last_error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE bank_debits SET next_poll_at = $2, polls = polls + $3, last_error = $4
         WHERE reference = $1",
    )
    .bind(reference)
    .bind(next_poll_at)
    .bind(i64::from(polled))
    .bind(last_error)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Awaiting bank-held payments the worker must ask the bank about now.
pub async fn due(
    store: &Store,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<(BusinessId, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.business_id, d.reference FROM bank_debits b
         JOIN direct_payments d ON d.reference = b.reference
         WHERE d.status = 'AWAITING_AUTHORIZATION'
           AND ((b.next_poll_at IS NOT NULL AND b.next_poll_at <= $1) OR d.otp_expires_at <= $1)
         ORDER BY b.created_at LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            (
                BusinessId::from_trusted(text(row, "business_id")),
                text(row, "reference"),
            )
        })
        .collect())
}
