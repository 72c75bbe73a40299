//! The audit log: who changed what, written in the transaction that made the change.

use super::{int, opt_text, text, Store, StoreError, Tx};
use ducat_core::ids::BusinessId;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub ip: Option<String>,
    pub created_at: i64,
}

pub async fn append(
    tx: &mut Tx,
    business: &BusinessId,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (id, business_id, actor, action, detail, ip, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&entry.id)
    .bind(business.as_str())
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.detail)
    .bind(&entry.ip)
    .bind(entry.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A page of the business's log, newest first, and how many entries there are in all.
pub async fn list(
    store: &Store,
    business: &BusinessId,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditEntry>, i64), StoreError> {
    let total: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE business_id = $1")
        .bind(business.as_str())
        .fetch_one(store.reader())
        .await?
        .get(0);
    let rows = sqlx::query(
        "SELECT id, actor, action, detail, ip, created_at FROM audit_log
         WHERE business_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(business.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(store.reader())
    .await?;
    Ok((
        rows.iter()
            .map(|row| AuditEntry {
                id: text(row, "id"),
                actor: text(row, "actor"),
                action: text(row, "action"),
                detail: text(row, "detail"),
                ip: opt_text(row, "ip"),
                created_at: int(row, "created_at"),
            })
            .collect(),
        total,
    ))
}
