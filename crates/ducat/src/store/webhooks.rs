//! The webhook outbox: one delivery row per event that has somewhere to go, written in the
//! event's transaction, and one attempt row per POST tried. The deliverer is
//! [`crate::webhooks::deliver_due_webhooks`].

use super::{int, opt_int, opt_text, text, Autocommit, Store, StoreError, Tx};
use ducat_core::ids::BusinessId;

/// Writes the delivery row of a just-appended event, due at once (the schedule's first delay is
/// applied by the deliverer, which knows the configuration). With `disabled_reason` (the URL
/// answered 410 earlier) the row is written `disabled` instead: never sent, but visible and
/// replayable once the business has fixed its receiver.
pub async fn enqueue(
    tx: &mut Tx,
    event_id: &str,
    business: &BusinessId,
    url: &str,
    now_ms: i64,
    disabled_reason: Option<&str>,
) -> Result<(), StoreError> {
    let status = match disabled_reason {
        Some(_) => "disabled",
        None => "pending",
    };
    sqlx::query(
        "INSERT INTO webhook_deliveries
             (event_id, business_id, url, status, attempts, next_attempt_at, created_at, updated_at,
              last_error)
         VALUES ($1, $2, $3, $5, 0, $4, $4, $4, $6)",
    )
    .bind(event_id)
    .bind(business.as_str())
    .bind(url)
    .bind(now_ms)
    .bind(status)
    .bind(disabled_reason)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

/// The condition shared by the due query and the claim: pending, unleased (or the lease ran
/// out), and due. A first attempt is due `first_delay` after its row was written (`$2` is now
/// minus that delay); a retry at its `next_attempt_at` (`$1` is now).
const DUE: &str = "status = 'pending'
       AND (lease_until IS NULL OR lease_until < $1)
       AND ((attempts = 0 AND next_attempt_at <= $2) OR (attempts > 0 AND next_attempt_at <= $1))";

/// Up to `limit` due deliveries, oldest first.
pub async fn due(
    store: &Store,
    now_ms: i64,
    first_delay_ms: i64,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT event_id FROM webhook_deliveries WHERE {DUE}
         ORDER BY next_attempt_at, event_id LIMIT $3"
    ))
    .bind(now_ms)
    .bind(now_ms.saturating_sub(first_delay_ms))
    .bind(limit)
    .fetch_all(store.reader())
    .await?;
    Ok(rows.iter().map(|row| text(row, "event_id")).collect())
}

/// A claimed delivery with what is needed to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub event_id: String,
    pub business_id: String,
    pub url: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub lease_until: i64,
    pub face: String,
    pub event_type: String,
    /// The stored payload text: the exact body sent and signed.
    pub payload: String,
    /// When the event was raised, for the delivery-lag metric.
    pub event_created_at: i64,
}

/// Takes the lease on a delivery if it is still due and unleased (or its lease ran out): a
/// conditional UPDATE, so of two nodes racing for one row exactly one gets it.
pub async fn claim(
    store: &Store,
    event_id: &str,
    now_ms: i64,
    first_delay_ms: i64,
    lease_ms: i64,
) -> Result<Option<ClaimedDelivery>, StoreError> {
    let lease_until = now_ms.saturating_add(lease_ms);
    let row = sqlx::query(&format!(
        "UPDATE webhook_deliveries SET lease_until = $3
         WHERE event_id = $4 AND {DUE}
         RETURNING business_id, url, attempts"
    ))
    .bind(now_ms)
    .bind(now_ms.saturating_sub(first_delay_ms))
    .bind(lease_until)
    .bind(event_id)
    .fetch_optional_in(store)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let event =
        sqlx::query("SELECT face, event_type, payload, created_at FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_one(store.reader())
            .await?;
    Ok(Some(ClaimedDelivery {
        event_id: event_id.to_owned(),
        business_id: text(&row, "business_id"),
        url: text(&row, "url"),
        attempts: int(&row, "attempts"),
        lease_until,
        face: text(&event, "face"),
        event_type: text(&event, "event_type"),
        payload: text(&event, "payload"),
        event_created_at: int(&event, "created_at"),
    }))
}

/// One attempt as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub id: String,
    pub event_id: String,
    pub attempted_at: i64,
    pub url: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    /// The first KiB of the answer.
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// Where the delivery goes next after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextState {
    /// `pending`, `delivered`, `failed` or `disabled`.
    pub status: &'static str,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
}

/// Records an attempt and moves its delivery on, in one transaction. The attempt is always
/// recorded (it happened); the delivery moves only if this claimant still holds the lease.
/// Returns whether it did.
pub async fn record_attempt(
    store: &Store,
    claimed: &ClaimedDelivery,
    attempt: &WebhookAttempt,
    next: &NextState,
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts
             (id, event_id, business_id, attempted_at, url, status_code, latency_ms, response_body, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&attempt.id)
    .bind(&attempt.event_id)
    .bind(&claimed.business_id)
    .bind(attempt.attempted_at)
    .bind(&attempt.url)
    .bind(attempt.status_code)
    .bind(attempt.latency_ms)
    .bind(&attempt.response_body)
    .bind(&attempt.error)
    .execute(&mut *tx)
    .await?;
    let moved = sqlx::query(
        "UPDATE webhook_deliveries
         SET status = $1, attempts = attempts + 1, next_attempt_at = $2, lease_until = NULL,
             last_status_code = $3, last_error = $4,
             delivered_at = COALESCE($5, delivered_at), updated_at = $6
         WHERE event_id = $7 AND lease_until = $8",
    )
    .bind(next.status)
    .bind(next.next_attempt_at)
    .bind(attempt.status_code)
    .bind(&attempt.error)
    .bind(next.delivered_at)
    .bind(attempt.attempted_at)
    .bind(&claimed.event_id)
    .bind(claimed.lease_until)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(moved.rows_affected() == 1)
}

/// Where a delivery stands, for operators, the dashboard and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub event_id: String,
    pub business_id: String,
    pub url: String,
    /// `pending`, `delivered`, `failed` or `disabled`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
}

pub async fn delivery(
    store: &Store,
    event_id: &str,
) -> Result<Option<WebhookDelivery>, StoreError> {
    let row = sqlx::query(
        "SELECT event_id, business_id, url, status, attempts, next_attempt_at, last_status_code,
                last_error, delivered_at, created_at
         FROM webhook_deliveries WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_optional(store.reader())
    .await?;
    Ok(row.map(|row| WebhookDelivery {
        event_id: text(&row, "event_id"),
        business_id: text(&row, "business_id"),
        url: text(&row, "url"),
        status: text(&row, "status"),
        attempts: int(&row, "attempts"),
        next_attempt_at: int(&row, "next_attempt_at"),
        last_status_code: opt_int(&row, "last_status_code"),
        last_error: opt_text(&row, "last_error"),
        delivered_at: opt_int(&row, "delivered_at"),
        created_at: int(&row, "created_at"),
    }))
}

/// A delivery's attempts, oldest first.
pub async fn attempts(store: &Store, event_id: &str) -> Result<Vec<WebhookAttempt>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, event_id, attempted_at, url, status_code, latency_ms, response_body, error
         FROM webhook_attempts WHERE event_id = $1 ORDER BY attempted_at, id",
    )
    .bind(event_id)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .iter()
        .map(|row| WebhookAttempt {
            id: text(row, "id"),
            event_id: text(row, "event_id"),
            attempted_at: int(row, "attempted_at"),
            url: text(row, "url"),
            status_code: opt_int(row, "status_code"),
            latency_ms: int(row, "latency_ms"),
            response_body: opt_text(row, "response_body"),
            error: opt_text(row, "error"),
        })
        .collect())
}

/// The event's callback URL (itself optional), for a redelivery. `None` when the event is not
/// the business's.
pub async fn event_for_redelivery(
    store: &Store,
    business: &BusinessId,
    event_id: &str,
) -> Result<Option<Option<String>>, StoreError> {
    let row = sqlx::query("SELECT callback_url FROM events WHERE id = $1 AND business_id = $2")
        .bind(event_id)
        .bind(business.as_str())
        .fetch_optional(store.reader())
        .await?;
    Ok(row.map(|row| opt_text(&row, "callback_url")))
}

/// Puts a delivery back to pending with a fresh schedule, due at `due_at` (the attempt history
/// stays). Creates the row, addressed to `url`, for an event that had nowhere to go when it was
/// raised.
pub async fn reset_for_redelivery(
    store: &Store,
    business: &BusinessId,
    event_id: &str,
    url_if_new: &str,
    due_at: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let updated = sqlx::query(
        "UPDATE webhook_deliveries
         SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL,
             updated_at = $2
         WHERE event_id = $3 AND business_id = $4",
    )
    .bind(due_at)
    .bind(now_ms)
    .bind(event_id)
    .bind(business.as_str())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO webhook_deliveries
                 (event_id, business_id, url, status, attempts, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, 'pending', 0, $4, $5, $5)",
        )
        .bind(event_id)
        .bind(business.as_str())
        .bind(url_if_new)
        .bind(due_at)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_insert)?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records on the business that the receiver at `url` answered 410 Gone, and disables the
/// business's other deliveries to that URL that are waiting (not those another node holds a
/// lease on: their own answer decides them). One transaction, so the business never shows an
/// endpoint disabled while its queue still sends there.
pub async fn disable_endpoint(
    store: &Store,
    business: &BusinessId,
    url: &str,
    reason: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    super::businesses::disable_webhook_endpoint(&mut tx, business, url, reason, now_ms).await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'disabled', last_error = $3, updated_at = $4
         WHERE business_id = $1 AND url = $2 AND status = 'pending'
           AND (lease_until IS NULL OR lease_until < $4)",
    )
    .bind(business.as_str())
    .bind(url)
    .bind(reason)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One of a business's events with where its delivery stands, for the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    pub event_id: String,
    pub event_type: String,
    pub transaction_ref: Option<String>,
    pub created_at: i64,
    /// `None` when the event had nowhere to go (no URL when it was raised).
    pub delivery_status: Option<String>,
    pub attempts: i64,
    pub url: Option<String>,
}

/// A page of the business's events, newest first, and how many it has in all.
pub async fn list_events(
    store: &Store,
    business: &BusinessId,
    page: i64,
    limit: i64,
) -> Result<(Vec<EventSummary>, i64), StoreError> {
    let rows = sqlx::query(
        "SELECT e.id, e.event_type, e.transaction_ref, e.created_at, d.status, d.attempts, d.url
         FROM events e LEFT JOIN webhook_deliveries d ON d.event_id = e.id
         WHERE e.business_id = $1
         ORDER BY e.created_at DESC, e.id DESC LIMIT $2 OFFSET $3",
    )
    .bind(business.as_str())
    .bind(limit)
    .bind(page.saturating_sub(1).saturating_mul(limit))
    .fetch_all(store.reader())
    .await?;
    let total = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE business_id = $1")
        .bind(business.as_str())
        .fetch_one(store.reader())
        .await?;
    let events = rows
        .iter()
        .map(|row| EventSummary {
            event_id: text(row, "id"),
            event_type: text(row, "event_type"),
            transaction_ref: opt_text(row, "transaction_ref"),
            created_at: int(row, "created_at"),
            delivery_status: opt_text(row, "status"),
            attempts: opt_int(row, "attempts").unwrap_or(0),
            url: opt_text(row, "url"),
        })
        .collect();
    Ok((events, int(&total, "n")))
}

/// One event of the business: its stored body (the exact text sent) and type. `None` when the
/// business has no such event, another business's included.
pub async fn event_of_business(
    store: &Store,
    business: &BusinessId,
    event_id: &str,
) -> Result<Option<(String, String, Option<String>, i64)>, StoreError> {
    let row = sqlx::query(
        "SELECT event_type, payload, transaction_ref, created_at FROM events
         WHERE id = $1 AND business_id = $2",
    )
    .bind(event_id)
    .bind(business.as_str())
    .fetch_optional(store.reader())
    .await?;
    Ok(row.map(|row| {
        (
            text(&row, "event_type"),
            text(&row, "payload"),
            opt_text(&row, "transaction_ref"),
            int(&row, "created_at"),
        )
    }))
}
