//! Beqelal checkout links and payment links. Changes are conditional updates on the row's
//! current state, so two customers submitting the same page at once cannot both win.

use super::{int, opt_int, opt_text, text, Autocommit, Store, StoreError, Tx};
use ducat_core::ids::BusinessId;
use ducat_core::money::{Currency, MinorUnits};
use sqlx::any::AnyRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `POST /api/v1/create/checkout`: ten minutes, back to `return_url` once paid.
    Checkout,
    /// `POST /api/v1/create/payment-link`: until the business's `expires_at`.
    PaymentLink,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Checkout => "checkout",
            LinkKind::PaymentLink => "payment_link",
        }
    }

    pub fn parse(text: &str) -> Option<LinkKind> {
        match text {
            "checkout" => Some(LinkKind::Checkout),
            "payment_link" => Some(LinkKind::PaymentLink),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    Open,
    Paid,
    Expired,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Open => "OPEN",
            LinkStatus::Paid => "PAID",
            LinkStatus::Expired => "EXPIRED",
        }
    }

    pub fn parse(text: &str) -> Option<LinkStatus> {
        match text {
            "OPEN" => Some(LinkStatus::Open),
            "PAID" => Some(LinkStatus::Paid),
            "EXPIRED" => Some(LinkStatus::Expired),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LinkRecord {
    pub reference: String,
    pub business_id: BusinessId,
    pub kind: LinkKind,
    pub phone: String,
    pub currency: Currency,
    pub amount: MinorUnits,
    pub trace_number: String,
    pub return_url: Option<String>,
    pub callback_url: Option<String>,
    pub item_name: Option<String>,
    pub quantity: Option<i64>,
    pub reason: Option<String>,
    pub expires_at: i64,
    pub status: LinkStatus,
    pub attempts: i64,
    pub attempt_reference: Option<String>,
    pub payment_reference: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl LinkRecord {
    /// The status as of `now`: an open link past its deadline is expired without anyone
    /// having to write that down.
    pub fn status_at(&self, now_ms: i64) -> LinkStatus {
        match self.status {
            LinkStatus::Open if now_ms >= self.expires_at => LinkStatus::Expired,
            LinkStatus::Open | LinkStatus::Paid | LinkStatus::Expired => self.status,
        }
    }
}

const COLUMNS: &str =
    "reference, business_id, kind, phone, currency, amount, trace_number, return_url, \
    callback_url, item_name, quantity, reason, expires_at, status, attempts, attempt_reference, \
    payment_reference, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<LinkRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("payment link {what}"));
    Ok(LinkRecord {
        reference: text(row, "reference"),
        business_id: BusinessId::from_trusted(text(row, "business_id")),
        kind: LinkKind::parse(&text(row, "kind")).ok_or_else(|| corrupt("kind"))?,
        phone: text(row, "phone"),
        currency: Currency::from_code(&text(row, "currency")).ok_or_else(|| corrupt("currency"))?,
        amount: MinorUnits(int(row, "amount")),
        trace_number: text(row, "trace_number"),
        return_url: opt_text(row, "return_url"),
        callback_url: opt_text(row, "callback_url"),
        item_name: opt_text(row, "item_name"),
        quantity: opt_int(row, "quantity"),
        reason: opt_text(row, "reason"),
        expires_at: int(row, "expires_at"),
        status: LinkStatus::parse(&text(row, "status")).ok_or_else(|| corrupt("status"))?,
        attempts: int(row, "attempts"),
        attempt_reference: opt_text(row, "attempt_reference"),
        payment_reference: opt_text(row, "payment_reference"),
        created_at: int(row, "created_at"),
        updated_at: int(row, "updated_at"),
    })
}

pub async fn insert(tx: &mut Tx, l: &LinkRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO payment_links ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
         $14, $15, $16, $17, $18, $19)"
    ))
    .bind(&l.reference)
    .bind(l.business_id.as_str())
    .bind(l.kind.as_str())
    .bind(&l.phone)
    .bind(l.currency.code())
    .bind(l.amount.get())
    .bind(&l.trace_number)
    .bind(&l.return_url)
    .bind(&l.callback_url)
    .bind(&l.item_name)
    .bind(l.quantity)
    .bind(&l.reason)
    .bind(l.expires_at)
    .bind(l.status.as_str())
    .bind(l.attempts)
    .bind(&l.attempt_reference)
    .bind(&l.payment_reference)
    .bind(l.created_at)
    .bind(l.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn by_reference(
    store: &Store,
    reference: &str,
) -> Result<Option<LinkRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payment_links WHERE reference = $1"
    ))
    .bind(reference)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn of_business(
    store: &Store,
    business: &BusinessId,
    reference: &str,
) -> Result<Option<LinkRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payment_links WHERE business_id = $1 AND reference = $2"
    ))
    .bind(business.as_str())
    .bind(reference)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_trace_number(
    store: &Store,
    business: &BusinessId,
    trace_number: &str,
) -> Result<Option<LinkRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payment_links WHERE business_id = $1 AND trace_number = $2"
    ))
    .bind(business.as_str())
    .bind(trace_number)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Takes attempt number `seen + 1` for an open link; false when another request took it first
/// or the link is no longer open.
/// Counts a new attempt if the link is still as the caller saw it: `seen` attempts, the newest
/// being `seen_attempt`. The second condition matters: another submit may have claimed, started
/// its payment and cleared its claim between the caller's look and this update, leaving the
/// count one higher but the claim free.
pub async fn claim_attempt(
    store: &Store,
    reference: &str,
    seen: i64,
    seen_attempt: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE payment_links SET attempts = attempts + 1, attempt_claimed_at = $1, updated_at = $1
         WHERE reference = $2 AND attempts = $3 AND status = 'OPEN'
           AND attempt_reference IS NOT DISTINCT FROM $4
           AND (attempt_claimed_at IS NULL OR attempt_claimed_at < $1 - 30000)",
    )
    .bind(now)
    .bind(reference)
    .bind(seen)
    .bind(seen_attempt)
    .execute_in(store)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_attempt(
    store: &Store,
    reference: &str,
    payment_reference: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE payment_links SET attempt_reference = $1, attempt_claimed_at = NULL, updated_at = $2
         WHERE reference = $3 AND status = 'OPEN'",
    )
    .bind(payment_reference)
    .bind(now)
    .bind(reference)
    .execute_in(store)
    .await?;
    Ok(())
}

/// Gives up a claimed attempt that started no payment, so the customer can try again.
pub async fn release_attempt(store: &Store, reference: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE payment_links SET attempt_claimed_at = NULL WHERE reference = $1")
        .bind(reference)
        .execute_in(store)
        .await?;
    Ok(())
}

/// Records the payment that paid the link; a second call (another request saw the same
/// payment processed) changes nothing.
pub async fn mark_paid(
    store: &Store,
    reference: &str,
    payment_reference: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE payment_links SET status = 'PAID', payment_reference = $1, updated_at = $2
         WHERE reference = $3 AND status <> 'PAID'",
    )
    .bind(payment_reference)
    .bind(now)
    .bind(reference)
    .execute_in(store)
    .await?;
    Ok(())
}
