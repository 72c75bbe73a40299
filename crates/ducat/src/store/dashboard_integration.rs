//! Reads the dashboard's integration pages need: the delivery log with the last answer of each
//! delivery, the open checkouts the sandbox can pay, and which of the business's accounts an
//! account number is.

use super::{int, opt_int, opt_text, text, Store, StoreError};
use ducat_core::ids::BusinessId;

/// One event of the business with where its delivery stands, newest first in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLogRow {
    pub event_id: String,
    pub event_type: String,
    pub transaction_ref: Option<String>,
    pub created_at: i64,
    /// `None` when the event had nowhere to go (no URL when it was raised).
    pub delivery_status: Option<String>,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub url: Option<String>,
}

/// A page of the business's events with their deliveries, newest first, and the total.
pub async fn delivery_log(
    store: &Store,
    business: &BusinessId,
    limit: i64,
    offset: i64,
) -> Result<(Vec<DeliveryLogRow>, i64), StoreError> {
    let rows = sqlx::query(
        "SELECT e.id, e.event_type, e.transaction_ref, e.created_at, d.status, d.attempts,
                d.last_status_code, d.last_error, d.url
         FROM events e LEFT JOIN webhook_deliveries d ON d.event_id = e.id
         WHERE e.business_id = $1
         ORDER BY e.created_at DESC, e.id DESC LIMIT $2 OFFSET $3",
    )
    .bind(business.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(store.reader())
    .await?;
    let total = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE business_id = $1")
        .bind(business.as_str())
        .fetch_one(store.reader())
        .await?;
    let events = rows
        .iter()
        .map(|row| DeliveryLogRow {
            event_id: text(row, "id"),
            event_type: text(row, "event_type"),
            transaction_ref: opt_text(row, "transaction_ref"),
            created_at: int(row, "created_at"),
            delivery_status: opt_text(row, "status"),
            attempts: opt_int(row, "attempts").unwrap_or(0),
            last_status_code: opt_int(row, "last_status_code"),
            last_error: opt_text(row, "last_error"),
            url: opt_text(row, "url"),
        })
        .collect();
    Ok((events, int(&total, "n")))
}

/// A pending checkout of the business that has not passed its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCheckout {
    pub checkout_reference: String,
    pub account_number: String,
    pub bank_name: String,
    pub currency: String,
    pub amount_to_pay: i64,
    pub expires_at: i64,
}

/// The business's open checkouts, newest first.
pub async fn open_checkouts(
    store: &Store,
    business: &BusinessId,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<OpenCheckout>, StoreError> {
    let rows = sqlx::query(
        "SELECT checkout_reference, account_number, bank_name, currency, amount_to_pay, expires_at
         FROM checkouts
         WHERE business_id = $1 AND status = 'pending' AND expires_at > $2
         ORDER BY created_at DESC, checkout_reference DESC LIMIT $3",
    )
    .bind(business.as_str())
    .bind(now_ms)
    .bind(limit)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .iter()
        .map(|row| OpenCheckout {
            checkout_reference: text(row, "checkout_reference"),
            account_number: text(row, "account_number"),
            bank_name: text(row, "bank_name"),
            currency: text(row, "currency"),
            amount_to_pay: int(row, "amount_to_pay"),
            expires_at: int(row, "expires_at"),
        })
        .collect())
}

/// What one of the business's account numbers belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOwner {
    Wallet,
    Checkout,
    VirtualAccount,
}

/// Which of the business's accounts has this number, with its reference and currency; `None`
/// when no account of the business has it (another business's included).
pub async fn account_of_business(
    store: &Store,
    business: &BusinessId,
    account_number: &str,
) -> Result<Option<(AccountOwner, String, String)>, StoreError> {
    let wallet = sqlx::query(
        "SELECT wallet_ref, currency FROM wallets WHERE business_id = $1 AND account_number = $2",
    )
    .bind(business.as_str())
    .bind(account_number)
    .fetch_optional(store.reader())
    .await?;
    if let Some(row) = wallet {
        return Ok(Some((
            AccountOwner::Wallet,
            text(&row, "wallet_ref"),
            text(&row, "currency"),
        )));
    }
    let checkout = sqlx::query(
        "SELECT checkout_reference, currency FROM checkouts
         WHERE business_id = $1 AND account_number = $2",
    )
    .bind(business.as_str())
    .bind(account_number)
    .fetch_optional(store.reader())
    .await?;
    if let Some(row) = checkout {
        return Ok(Some((
            AccountOwner::Checkout,
            text(&row, "checkout_reference"),
            text(&row, "currency"),
        )));
    }
    let virtual_account = sqlx::query(
        "SELECT account_ref FROM virtual_accounts WHERE business_id = $1 AND account_number = $2",
    )
    .bind(business.as_str())
    .bind(account_number)
    .fetch_optional(store.reader())
    .await?;
    Ok(virtual_account.map(|row| {
        (
            AccountOwner::VirtualAccount,
            text(&row, "account_ref"),
            "NGN".to_owned(),
        )
    }))
}
