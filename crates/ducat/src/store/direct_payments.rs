//! Beqelal direct payments. Loads lock the row (PostgreSQL) or run on the single writer
//! (SQLite); saves are conditional on the version loaded.

use super::{int, opt_text, text, Engine, Store, StoreError, Tx};
use ducat_core::direct_payment::{DirectPayment, DirectPaymentStatus};
use ducat_core::ids::{BusinessId, WalletRef};
use ducat_core::money::{Currency, MinorUnits};
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct DirectPaymentRecord {
    pub reference: String,
    pub business_id: BusinessId,
    pub wallet_ref: WalletRef,
    pub trace_number: String,
    pub institution_code: String,
    pub institution_name: String,
    pub account: String,
    pub account_name: String,
    pub customer_phone: String,
    pub currency: Currency,
    pub amount: MinorUnits,
    pub fee: MinorUnits,
    /// `OTP` or `PUSH_USSD`.
    pub authorization_method: String,
    pub payment: DirectPayment,
    pub otp_hash: Option<String>,
    pub callback_url: Option<String>,
    pub reason: Option<String>,
    pub failure_reason: Option<String>,
    pub transaction_ref: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "reference, business_id, wallet_ref, trace_number, institution_code, institution_name, account, \
    account_name, customer_phone, currency, amount, fee, authorization_method, status, otp_hash, wrong_otps, \
    otp_expires_at, callback_url, reason, failure_reason, transaction_ref, version, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<DirectPaymentRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("direct payment {what}"));
    Ok(DirectPaymentRecord {
        reference: text(row, "reference"),
        business_id: BusinessId::from_trusted(text(row, "business_id")),
        wallet_ref: WalletRef::from_trusted(text(row, "wallet_ref")),
        trace_number: text(row, "trace_number"),
        institution_code: text(row, "institution_code"),
        institution_name: text(row, "institution_name"),
        account: text(row, "account"),
        account_name: text(row, "account_name"),
        customer_phone: text(row, "customer_phone"),
        currency: Currency::from_code(&text(row, "currency")).ok_or_else(|| corrupt("currency"))?,
        amount: MinorUnits(int(row, "amount")),
        fee: MinorUnits(int(row, "fee")),
        authorization_method: text(row, "authorization_method"),
        payment: DirectPayment {
            status: DirectPaymentStatus::parse(&text(row, "status"))
                .ok_or_else(|| corrupt("status"))?,
            wrong_otps: u32::try_from(int(row, "wrong_otps")).unwrap_or(u32::MAX),
            otp_expires_ms: int(row, "otp_expires_at"),
        },
        otp_hash: opt_text(row, "otp_hash"),
        callback_url: opt_text(row, "callback_url"),
        reason: opt_text(row, "reason"),
        failure_reason: opt_text(row, "failure_reason"),
        transaction_ref: opt_text(row, "transaction_ref"),
        version: int(row, "version"),
        created_at: int(row, "created_at"),
        updated_at: int(row, "updated_at"),
    })
}

pub async fn insert(tx: &mut Tx, p: &DirectPaymentRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO direct_payments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
         $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
    ))
    .bind(&p.reference)
    .bind(p.business_id.as_str())
    .bind(p.wallet_ref.as_str())
    .bind(&p.trace_number)
    .bind(&p.institution_code)
    .bind(&p.institution_name)
    .bind(&p.account)
    .bind(&p.account_name)
    .bind(&p.customer_phone)
    .bind(p.currency.code())
    .bind(p.amount.get())
    .bind(p.fee.get())
    .bind(&p.authorization_method)
    .bind(p.payment.status.as_str())
    .bind(&p.otp_hash)
    .bind(i64::from(p.payment.wrong_otps))
    .bind(p.payment.otp_expires_ms)
    .bind(&p.callback_url)
    .bind(&p.reason)
    .bind(&p.failure_reason)
    .bind(&p.transaction_ref)
    .bind(p.version)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn load(
    tx: &mut Tx,
    engine: Engine,
    business: &BusinessId,
    reference: &str,
) -> Result<Option<DirectPaymentRecord>, StoreError> {
    let lock = match engine {
        Engine::Postgres => " FOR UPDATE",
        Engine::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM direct_payments WHERE business_id = $1 AND reference = $2{lock}"
    ))
    .bind(business.as_str())
    .bind(reference)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn of_business(
    store: &Store,
    business: &BusinessId,
    reference: &str,
) -> Result<Option<DirectPaymentRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM direct_payments WHERE business_id = $1 AND reference = $2"
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
) -> Result<Option<DirectPaymentRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM direct_payments WHERE business_id = $1 AND trace_number = $2"
    ))
    .bind(business.as_str())
    .bind(trace_number)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Saves the payment's new state if nobody changed it since it was loaded.
pub async fn save(
    tx: &mut Tx,
    before: &DirectPaymentRecord,
    after: &DirectPaymentRecord,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE direct_payments SET status = $3, otp_hash = $4, wrong_otps = $5, failure_reason = $6,
                transaction_ref = $7, version = version + 1, updated_at = $8
         WHERE reference = $1 AND version = $2",
    )
    .bind(&before.reference)
    .bind(before.version)
    .bind(after.payment.status.as_str())
    .bind(&after.otp_hash)
    .bind(i64::from(after.payment.wrong_otps))
    .bind(&after.failure_reason)
    .bind(&after.transaction_ref)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Awaiting payments that a worker must look at: OTPs past their lifetime, and USSD pushes the
/// sandbox institution answers after `push_delay_ms`.
pub async fn due(
    store: &Store,
    now_ms: i64,
    push_delay_ms: i64,
    limit: i64,
) -> Result<Vec<(BusinessId, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT business_id, reference FROM direct_payments
         WHERE status = 'AWAITING_AUTHORIZATION'
           AND (otp_expires_at <= $1 OR (authorization_method = 'PUSH_USSD' AND created_at <= $2))
         ORDER BY created_at LIMIT $3",
    )
    .bind(now_ms)
    .bind(now_ms - push_delay_ms)
    .bind(limit)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            (
                BusinessId::from_trusted(text(row, "business_id")),
                text(row, "reference"),
            )
        })
        .collect())
}
