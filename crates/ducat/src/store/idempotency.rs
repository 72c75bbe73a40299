//! Idempotency records: the first request with a key claims it; its response is saved so a
//! retry gets the same answer instead of a second payout.

use super::{opt_int, opt_text, text, Autocommit, Store, StoreError};
use ducat_core::ids::BusinessId;

#[derive(Debug, Clone)]
pub struct SavedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What to do with a request that carries an idempotency key.
#[derive(Debug)]
pub enum Claim {
    /// The key is new (or its record expired): process the request.
    Claimed,
    /// The same request finished before: answer with what it answered.
    Replay(SavedResponse),
    /// The same request is still being processed.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

pub async fn claim(
    store: &Store,
    business: &BusinessId,
    key: &str,
    fingerprint: &str,
    now_ms: i64,
    retention_ms: i64,
) -> Result<Claim, StoreError> {
    let mut tx = store.begin().await?;
    // An expired record no longer binds the key.
    sqlx::query("DELETE FROM idempotency_keys WHERE business_id = $1 AND idempotency_key = $2 AND created_at < $3")
        .bind(business.as_str())
        .bind(key)
        .bind(now_ms - retention_ms)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (business_id, idempotency_key, request_fingerprint, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (business_id, idempotency_key) DO NOTHING",
    )
    .bind(business.as_str())
    .bind(key)
    .bind(fingerprint)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let claim = if inserted == 1 {
        Claim::Claimed
    } else {
        let row = sqlx::query(
            "SELECT request_fingerprint, response_status, response_headers, response_body
             FROM idempotency_keys WHERE business_id = $1 AND idempotency_key = $2",
        )
        .bind(business.as_str())
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
        if text(&row, "request_fingerprint") != fingerprint {
            Claim::Mismatch
        } else {
            match opt_int(&row, "response_status") {
                None => Claim::InProgress,
                Some(status) => Claim::Replay(SavedResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    headers: serde_json::from_str(
                        &opt_text(&row, "response_headers").unwrap_or_default(),
                    )
                    .unwrap_or_default(),
                    body: opt_text(&row, "response_body").unwrap_or_default(),
                }),
            }
        }
    };
    tx.commit().await?;
    Ok(claim)
}

pub async fn complete(
    store: &Store,
    business: &BusinessId,
    key: &str,
    response: &SavedResponse,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idempotency_keys SET response_status = $3, response_headers = $4, response_body = $5
         WHERE business_id = $1 AND idempotency_key = $2",
    )
    .bind(business.as_str())
    .bind(key)
    .bind(i64::from(response.status))
    .bind(serde_json::to_string(&response.headers).unwrap_or_default())
    .bind(&response.body)
    .execute_in(store)
    .await?;
    Ok(())
}

/// Forgets a claim whose request failed in a way worth retrying (a server error).
pub async fn release(store: &Store, business: &BusinessId, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE business_id = $1 AND idempotency_key = $2")
        .bind(business.as_str())
        .bind(key)
        .execute_in(store)
        .await?;
    Ok(())
}

/// Removes records past retention; returns how many.
pub async fn purge_expired(
    store: &Store,
    now_ms: i64,
    retention_ms: i64,
) -> Result<u64, StoreError> {
    let result = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(now_ms - retention_ms)
        .execute_in(store)
        .await?;
    Ok(result.rows_affected())
}
