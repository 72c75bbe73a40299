//! The record of every inbound transfer the bank notified: one row per session id.

use super::{int, opt_text, text, StoreError, Tx};
use ducat_core::ids::BusinessId;
use ducat_core::money::MinorUnits;

#[derive(Debug, Clone)]
pub struct InboundRecord {
    pub session_id: String,
    pub business_id: BusinessId,
    pub account_number: String,
    pub target_kind: String,
    pub target_ref: String,
    pub currency: String,
    pub amount: MinorUnits,
    pub source_bank_name: Option<String>,
    pub source_account_number: Option<String>,
    pub source_account_name: Option<String>,
    pub narration: Option<String>,
    /// `credited` or `returned`.
    pub outcome: String,
    pub reason: Option<String>,
    pub transaction_ref: Option<String>,
    pub created_at: i64,
}

pub async fn insert(tx: &mut Tx, r: &InboundRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO inbound_transfers (session_id, business_id, account_number, target_kind, target_ref, currency,
             amount, source_bank_name, source_account_number, source_account_name, narration, outcome, reason,
             transaction_ref, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&r.session_id)
    .bind(r.business_id.as_str())
    .bind(&r.account_number)
    .bind(&r.target_kind)
    .bind(&r.target_ref)
    .bind(&r.currency)
    .bind(r.amount.get())
    .bind(&r.source_bank_name)
    .bind(&r.source_account_number)
    .bind(&r.source_account_name)
    .bind(&r.narration)
    .bind(&r.outcome)
    .bind(&r.reason)
    .bind(&r.transaction_ref)
    .bind(r.created_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

/// A notification seen before: its business, outcome, reason and transaction.
pub struct SeenTransfer {
    pub business_id: BusinessId,
    pub outcome: String,
    pub reason: Option<String>,
    pub transaction_ref: Option<String>,
}

pub async fn seen(tx: &mut Tx, session_id: &str) -> Result<Option<SeenTransfer>, StoreError> {
    let row = sqlx::query("SELECT business_id, outcome, reason, transaction_ref FROM inbound_transfers WHERE session_id = $1")
        .bind(session_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|row| SeenTransfer {
        business_id: BusinessId::from_trusted(text(&row, "business_id")),
        outcome: text(&row, "outcome"),
        reason: opt_text(&row, "reason"),
        transaction_ref: opt_text(&row, "transaction_ref"),
    }))
}

/// The attempts made at one checkout or virtual account, oldest first.
pub async fn for_target(
    store: &super::Store,
    target_kind: &str,
    target_ref: &str,
) -> Result<Vec<InboundRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT session_id, business_id, account_number, currency, amount, source_bank_name, source_account_number,
                source_account_name, narration, outcome, reason, transaction_ref, created_at, target_ref
         FROM inbound_transfers WHERE target_kind = $1 AND target_ref = $2 ORDER BY created_at, session_id",
    )
    .bind(target_kind)
    .bind(target_ref)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .iter()
        .map(|row| InboundRecord {
            session_id: text(row, "session_id"),
            business_id: BusinessId::from_trusted(text(row, "business_id")),
            account_number: text(row, "account_number"),
            target_kind: target_kind.to_owned(),
            target_ref: text(row, "target_ref"),
            currency: text(row, "currency"),
            amount: MinorUnits(int(row, "amount")),
            source_bank_name: opt_text(row, "source_bank_name"),
            source_account_number: opt_text(row, "source_account_number"),
            source_account_name: opt_text(row, "source_account_name"),
            narration: opt_text(row, "narration"),
            outcome: text(row, "outcome"),
            reason: opt_text(row, "reason"),
            transaction_ref: opt_text(row, "transaction_ref"),
            created_at: int(row, "created_at"),
        })
        .collect())
}
