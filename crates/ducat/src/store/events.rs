//! Events: appended in the transaction that caused them; read by the webhook deliverer and
//! the dashboard.

use super::{int, opt_text, text, Store, StoreError, Tx};
use ducat_core::ids::BusinessId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFace {
    Duplo,
    Beqelal,
}

impl EventFace {
    pub fn as_str(self) -> &'static str {
        match self {
            EventFace::Duplo => "duplo",
            EventFace::Beqelal => "beqelal",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: String,
    pub event_type: String,
    pub face: String,
    pub transaction_ref: Option<String>,
    pub payload: serde_json::Value,
    /// Where this event goes instead of the business's webhook URL, when its request said.
    pub callback_url: Option<String>,
    pub created_at: i64,
}

pub async fn append(
    tx: &mut Tx,
    business: &BusinessId,
    face: EventFace,
    event_type: &str,
    transaction_ref: Option<&str>,
    payload: &serde_json::Value,
    now_ms: i64,
) -> Result<String, StoreError> {
    append_with_callback(
        tx,
        business,
        face,
        event_type,
        transaction_ref,
        None,
        payload,
        now_ms,
    )
    .await
}

/// Appends an event whose transaction named its own `callback_url`, which overrides the
/// business's webhook URL for it (Beqelal's rule).
#[allow(clippy::too_many_arguments)]
pub async fn append_with_callback(
    tx: &mut Tx,
    business: &BusinessId,
    face: EventFace,
    event_type: &str,
    transaction_ref: Option<&str>,
    callback_url: Option<&str>,
    payload: &serde_json::Value,
    now_ms: i64,
) -> Result<String, StoreError> {
    let id = super::time_ordered_id("evt_", now_ms);
    sqlx::query(
        "INSERT INTO events (id, business_id, event_type, face, transaction_ref, payload, created_at, callback_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(business.as_str())
    .bind(event_type)
    .bind(face.as_str())
    .bind(transaction_ref)
    .bind(payload.to_string())
    .bind(now_ms)
    .bind(callback_url)
    .execute(&mut **tx)
    .await?;
    // The webhook outbox row, in the same transaction: addressed now (the request's callback_url,
    // else the business's webhook URL at this moment), so a URL changed later does not redirect
    // an event already raised. No URL, no delivery.
    let row = sqlx::query(
        "SELECT webhook_url, webhook_disabled_url, webhook_disabled_reason FROM businesses
         WHERE id = $1",
    )
    .bind(business.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    let (webhook_url, disabled_url, disabled_reason) = match &row {
        Some(row) => (
            opt_text(row, "webhook_url"),
            opt_text(row, "webhook_disabled_url"),
            opt_text(row, "webhook_disabled_reason"),
        ),
        None => (None, None, None),
    };
    let url = callback_url.map(str::to_owned).or(webhook_url);
    if let Some(url) = url {
        // A URL whose receiver answered 410 gets no sends until the business registers a URL
        // again; the event still gets its (disabled) row so it can be replayed.
        let disabled = (disabled_url.as_deref() == Some(url.as_str()))
            .then(|| disabled_reason.unwrap_or_else(|| "the receiver answered 410 Gone".into()));
        super::webhooks::enqueue(tx, &id, business, &url, now_ms, disabled.as_deref()).await?;
    }
    Ok(id)
}

/// A transaction's events in the order they happened.
pub async fn for_transaction(
    store: &Store,
    business: &BusinessId,
    transaction_ref: &str,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, event_type, face, transaction_ref, payload, created_at, callback_url FROM events
         WHERE business_id = $1 AND transaction_ref = $2 ORDER BY created_at, id",
    )
    .bind(business.as_str())
    .bind(transaction_ref)
    .fetch_all(store.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredEvent {
                id: text(row, "id"),
                event_type: text(row, "event_type"),
                face: text(row, "face"),
                transaction_ref: opt_text(row, "transaction_ref"),
                payload: serde_json::from_str(&text(row, "payload"))
                    .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?,
                callback_url: opt_text(row, "callback_url"),
                created_at: int(row, "created_at"),
            })
        })
        .collect()
}
