//! bank-sim's own SQLite file: the transfers it applied, each reference once (the primary key
//! is the reference, so a second apply is a no-op that reads back the first).

use crate::rail::protocol::{TransferDocument, TransferRequest, WireStatus};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SimStoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not what this version expects: {0}")]
    Corrupt(String),
}

/// A transfer as the bank-sim stored it: the request it applied and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedTransfer {
    pub request: TransferRequest,
    pub status: WireStatus,
    pub answers_processing: bool,
    pub session_id: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
}

impl AppliedTransfer {
    /// The protocol document for this transfer, as a status query sees it.
    pub fn document(&self) -> TransferDocument {
        TransferDocument {
            reference: self.request.reference.clone(),
            status: self.status,
            currency: self.request.currency.clone(),
            amount: self.request.amount,
            session_id: self.session_id.clone(),
            reason: self.reason.clone(),
            created_at: self.created_at,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimStore {
    pool: SqlitePool,
}

impl SimStore {
    pub async fn open(path: &Path) -> Result<SimStore, SimStoreError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an answer that says "applied" means the commit is on disk.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/bank_sim").run(&pool).await?;
        Ok(SimStore { pool })
    }

    /// Applies `transfer` unless its reference was applied before; returns the stored
    /// transfer either way (the caller compares it with the request).
    pub async fn apply_once(
        &self,
        transfer: &AppliedTransfer,
    ) -> Result<(AppliedTransfer, bool), SimStoreError> {
        let request = &transfer.request;
        let inserted = sqlx::query(
            "INSERT INTO transfers (reference, currency, bank_code, account_number, account_name,
                 amount, narration, status, answers_processing, session_id, reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&request.reference)
        .bind(&request.currency)
        .bind(&request.bank_code)
        .bind(&request.account_number)
        .bind(&request.account_name)
        .bind(request.amount)
        .bind(&request.narration)
        .bind(transfer.status.as_str())
        .bind(transfer.answers_processing)
        .bind(&transfer.session_id)
        .bind(&transfer.reason)
        .bind(transfer.created_at)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        let stored = self.find(&request.reference).await?.ok_or_else(|| {
            SimStoreError::Corrupt(format!("transfer {} vanished", request.reference))
        })?;
        Ok((stored, inserted))
    }

    pub async fn find(&self, reference: &str) -> Result<Option<AppliedTransfer>, SimStoreError> {
        let row = sqlx::query(&format!("{SELECT} WHERE reference = $1"))
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every applied transfer, oldest first.
    pub async fn all(&self) -> Result<Vec<AppliedTransfer>, SimStoreError> {
        let rows = sqlx::query(&format!("{SELECT} ORDER BY created_at, reference"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The pool, for the bank-sim's other tables (debits, its SMS log).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

const SELECT: &str = "SELECT reference, currency, bank_code, account_number, account_name, amount,
    narration, status, answers_processing, session_id, reason, created_at FROM transfers";

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<AppliedTransfer, SimStoreError> {
    let status: String = row.get("status");
    Ok(AppliedTransfer {
        request: TransferRequest {
            reference: row.get("reference"),
            currency: row.get("currency"),
            bank_code: row.get("bank_code"),
            account_number: row.get("account_number"),
            account_name: row.get("account_name"),
            amount: row.get("amount"),
            narration: row.get("narration"),
        },
        status: WireStatus::parse(&status)
            .ok_or_else(|| SimStoreError::Corrupt(format!("transfer status {status:?}")))?,
        answers_processing: row.get("answers_processing"),
        session_id: row.get("session_id"),
        reason: row.get("reason"),
        created_at: row.get("created_at"),
    })
}
