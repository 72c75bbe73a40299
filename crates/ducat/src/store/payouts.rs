//! Payout state beside its public transaction row. Loads lock the row (PostgreSQL) or run on
//! the single writer (SQLite), and every save is conditional on the version that was loaded.

use super::transactions::{self, TransactionRecord};
use super::{int, opt_text, text, Engine, Store, StoreError, Tx};
use ducat_core::ids::{BusinessId, TransactionRef};
use ducat_core::payout::{Payout, PayoutStatus};
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RailState {
    NotSent,
    Queued,
    Unknown,
    Done,
}

impl RailState {
    pub fn as_str(self) -> &'static str {
        match self {
            RailState::NotSent => "not_sent",
            RailState::Queued => "queued",
            RailState::Unknown => "unknown",
            RailState::Done => "done",
        }
    }

    fn parse(text: &str) -> Result<RailState, StoreError> {
        [
            RailState::NotSent,
            RailState::Queued,
            RailState::Unknown,
            RailState::Done,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown rail state {text:?}")))
    }
}

#[derive(Debug, Clone)]
pub struct StoredPayout {
    pub transaction: TransactionRecord,
    pub api_version: String,
    pub payout: Payout,
    pub otp_hash: Option<String>,
    pub version: i64,
    pub rail_state: RailState,
    pub rail_attempts: i64,
    pub rail_next_at: Option<i64>,
    pub rail_last_error: Option<String>,
    /// Beqelal withdrawals: the fee before VAT and levy, the callback URL, the trace number.
    pub withdrawal: Option<WithdrawalDetails>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalDetails {
    pub base_fee: i64,
    pub callback_url: Option<String>,
    pub trace_number: String,
}

/// The payout's mutable part, as it will be saved.
#[derive(Debug, Clone)]
pub struct PayoutChanges {
    pub payout: Payout,
    pub otp_hash: Option<String>,
    pub rail_state: RailState,
    pub rail_attempts: i64,
    pub rail_next_at: Option<i64>,
    pub rail_last_error: Option<String>,
    pub new_balance: Option<i64>,
}

impl StoredPayout {
    pub fn changes(&self) -> PayoutChanges {
        PayoutChanges {
            payout: self.payout.clone(),
            otp_hash: self.otp_hash.clone(),
            rail_state: self.rail_state,
            rail_attempts: self.rail_attempts,
            rail_next_at: self.rail_next_at,
            rail_last_error: self.rail_last_error.clone(),
            new_balance: None,
        }
    }
}

pub async fn insert(
    tx: &mut Tx,
    transaction: &TransactionRecord,
    api_version: &str,
    otp_hash: Option<&str>,
    deadline_at: i64,
    withdrawal: Option<&WithdrawalDetails>,
) -> Result<(), StoreError> {
    transactions::insert(tx, transaction).await?;
    sqlx::query(
        "INSERT INTO payouts (transaction_ref, business_id, api_version, otp_hash, deadline_at,
                              base_fee, callback_url, trace_number)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(transaction.transaction_ref.as_str())
    .bind(transaction.business_id.as_str())
    .bind(api_version)
    .bind(otp_hash)
    .bind(deadline_at)
    .bind(withdrawal.map(|w| w.base_fee))
    .bind(withdrawal.and_then(|w| w.callback_url.clone()))
    .bind(withdrawal.map(|w| w.trace_number.clone()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Loads a business's payout inside the transaction that will change it.
pub async fn load(
    tx: &mut Tx,
    engine: Engine,
    business: &BusinessId,
    transaction_ref: &TransactionRef,
) -> Result<Option<StoredPayout>, StoreError> {
    let lock = match engine {
        Engine::Postgres => " FOR UPDATE",
        // The single SQLite writer already excludes every other change.
        Engine::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT api_version, otp_hash, wrong_otps, resends, deadline_at, version, rail_state,
                rail_attempts, rail_next_at, rail_last_error, base_fee, callback_url, trace_number
         FROM payouts WHERE business_id = $1 AND transaction_ref = $2{lock}"
    ))
    .bind(business.as_str())
    .bind(transaction_ref.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let transaction = transactions::of_business_in(tx, business, transaction_ref)
        .await?
        .ok_or_else(|| {
            StoreError::Corrupt(format!("payout {transaction_ref} has no transaction"))
        })?;
    let status = PayoutStatus::parse(&transaction.status)
        .ok_or_else(|| StoreError::Corrupt(format!("payout status {:?}", transaction.status)))?;
    let count = |column: &str| u32::try_from(int(&row, column)).unwrap_or(u32::MAX);
    Ok(Some(StoredPayout {
        payout: Payout {
            status,
            amount: transaction.amount,
            fee: transaction.fee_amount,
            wrong_otps: count("wrong_otps"),
            resends: count("resends"),
            deadline_ms: int(&row, "deadline_at"),
        },
        api_version: text(&row, "api_version"),
        otp_hash: opt_text(&row, "otp_hash"),
        version: int(&row, "version"),
        rail_state: RailState::parse(&text(&row, "rail_state"))?,
        rail_attempts: int(&row, "rail_attempts"),
        rail_next_at: row.get::<Option<i64>, _>("rail_next_at"),
        rail_last_error: opt_text(&row, "rail_last_error"),
        withdrawal: match (
            row.get::<Option<i64>, _>("base_fee"),
            opt_text(&row, "trace_number"),
        ) {
            (Some(base_fee), Some(trace_number)) => Some(WithdrawalDetails {
                base_fee,
                callback_url: opt_text(&row, "callback_url"),
                trace_number,
            }),
            _ => None,
        },
        transaction,
    }))
}

/// Saves the changes if nobody else changed the payout since it was loaded; returns whether
/// it did.
pub async fn save(
    tx: &mut Tx,
    stored: &StoredPayout,
    changes: &PayoutChanges,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE payouts SET otp_hash = $3, wrong_otps = $4, resends = $5, version = version + 1,
                rail_state = $6, rail_attempts = $7, rail_next_at = $8, rail_last_error = $9,
                rail_lease_until = NULL
         WHERE transaction_ref = $1 AND version = $2",
    )
    .bind(stored.transaction.transaction_ref.as_str())
    .bind(stored.version)
    .bind(&changes.otp_hash)
    .bind(i64::from(changes.payout.wrong_otps))
    .bind(i64::from(changes.payout.resends))
    .bind(changes.rail_state.as_str())
    .bind(changes.rail_attempts)
    .bind(changes.rail_next_at)
    .bind(&changes.rail_last_error)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE transactions SET status = $2, updated_at = $3, new_balance = COALESCE($4, new_balance)
         WHERE transaction_ref = $1",
    )
    .bind(stored.transaction.transaction_ref.as_str())
    .bind(changes.payout.status.as_str())
    .bind(now_ms)
    .bind(changes.new_balance)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Payouts still waiting for an OTP whose deadline has passed.
pub async fn past_deadline(
    store: &Store,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<(BusinessId, TransactionRef)>, StoreError> {
    let rows = sqlx::query(
        "SELECT p.business_id, p.transaction_ref FROM payouts p
         JOIN transactions t ON t.transaction_ref = p.transaction_ref
         WHERE p.deadline_at <= $1 AND t.status = 'awaiting_otp_verification'
         ORDER BY p.deadline_at LIMIT $2",
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
                TransactionRef::from_trusted(text(row, "transaction_ref")),
            )
        })
        .collect())
}

/// Leases up to `limit` payouts whose bank transfer is due (to send, or to ask about), so that
/// one dispatcher among several nodes works on each.
pub async fn lease_due_for_bank(
    store: &Store,
    now_ms: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<(BusinessId, TransactionRef)>, StoreError> {
    let candidates = sqlx::query(
        "SELECT business_id, transaction_ref FROM payouts
         WHERE rail_state IN ('queued', 'unknown') AND rail_next_at <= $1
           AND (rail_lease_until IS NULL OR rail_lease_until < $1)
         ORDER BY rail_next_at LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(store.reader())
    .await?;
    // One transaction for the whole lease: another node's claim of the same row makes its
    // UPDATE match nothing here, so each payout is still leased by one node.
    let mut tx = store.begin().await?;
    let mut leased = Vec::new();
    for row in candidates {
        let transaction_ref = text(&row, "transaction_ref");
        let won = sqlx::query(
            "UPDATE payouts SET rail_lease_until = $2
             WHERE transaction_ref = $1 AND rail_state IN ('queued', 'unknown')
               AND (rail_lease_until IS NULL OR rail_lease_until < $3)",
        )
        .bind(&transaction_ref)
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if won {
            leased.push((
                BusinessId::from_trusted(text(&row, "business_id")),
                TransactionRef::from_trusted(transaction_ref),
            ));
        }
    }
    tx.commit().await?;
    Ok(leased)
}

/// The v1 payout OTP of a business.
pub struct V1Otp {
    pub otp_hash: String,
    pub wrong_otps: i64,
    pub expires_at: i64,
}

pub async fn upsert_v1_otp(
    tx: &mut Tx,
    business: &BusinessId,
    otp_hash: &str,
    expires_at: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO payout_otps_v1 (business_id, otp_hash, wrong_otps, expires_at, created_at)
         VALUES ($1, $2, 0, $3, $4)
         ON CONFLICT (business_id) DO UPDATE SET otp_hash = excluded.otp_hash,
             wrong_otps = 0, expires_at = excluded.expires_at, created_at = excluded.created_at",
    )
    .bind(business.as_str())
    .bind(otp_hash)
    .bind(expires_at)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn load_v1_otp(
    tx: &mut Tx,
    engine: Engine,
    business: &BusinessId,
) -> Result<Option<V1Otp>, StoreError> {
    let lock = match engine {
        Engine::Postgres => " FOR UPDATE",
        Engine::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT otp_hash, wrong_otps, expires_at FROM payout_otps_v1 WHERE business_id = $1{lock}"
    ))
    .bind(business.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| V1Otp {
        otp_hash: text(&row, "otp_hash"),
        wrong_otps: int(&row, "wrong_otps"),
        expires_at: int(&row, "expires_at"),
    }))
}

pub async fn count_v1_wrong_otp(tx: &mut Tx, business: &BusinessId) -> Result<(), StoreError> {
    sqlx::query("UPDATE payout_otps_v1 SET wrong_otps = wrong_otps + 1 WHERE business_id = $1")
        .bind(business.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn delete_v1_otp(tx: &mut Tx, business: &BusinessId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM payout_otps_v1 WHERE business_id = $1")
        .bind(business.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
