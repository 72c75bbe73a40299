//! The SMS outbox. Messages are written in the same transaction as the state change that
//! caused them; the configured SMS provider (or nobody, for the embedded outbox) sends them after.

use super::{int, opt_text, text, Store, StoreError, Tx};
use ducat_core::ids::BusinessId;

#[derive(Debug, Clone)]
pub struct SmsMessage {
    pub id: String,
    pub to: String,
    pub body: String,
    pub reference: Option<String>,
    pub created_at: i64,
}

pub async fn enqueue(
    tx: &mut Tx,
    business: &BusinessId,
    to: &str,
    body: &str,
    reference: &str,
    now_ms: i64,
) -> Result<String, StoreError> {
    let id = super::time_ordered_id("sms_", now_ms);
    sqlx::query(
        "INSERT INTO sms_messages (id, business_id, to_phone, body, reference, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(business.as_str())
    .bind(to)
    .bind(body)
    .bind(reference)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The business's messages, newest first, optionally to one phone.
pub async fn list(
    store: &Store,
    business: &BusinessId,
    phone: Option<&str>,
    limit: i64,
) -> Result<Vec<SmsMessage>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, to_phone, body, reference, created_at FROM sms_messages
         WHERE business_id = $1 AND ($2 = '' OR to_phone = $2)
         ORDER BY created_at DESC, id DESC LIMIT $3",
    )
    .bind(business.as_str())
    .bind(phone.unwrap_or(""))
    .bind(limit)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .iter()
        .map(|row| SmsMessage {
            id: text(row, "id"),
            to: text(row, "to_phone"),
            body: text(row, "body"),
            reference: opt_text(row, "reference"),
            created_at: int(row, "created_at"),
        })
        .collect())
}
