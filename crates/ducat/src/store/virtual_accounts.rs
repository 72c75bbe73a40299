//! Virtual accounts: bank accounts a business hands to its customers.

use super::{int, opt_int, opt_text, text, Store, StoreError, Tx};
use ducat_core::ids::{BusinessId, WalletRef};
use ducat_core::money::MinorUnits;
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct VirtualAccountRecord {
    pub account_ref: String,
    pub business_id: BusinessId,
    pub wallet_ref: WalletRef,
    pub account_number: String,
    pub bank_code: String,
    pub bank_name: String,
    pub account_name: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    pub email: Option<String>,
    pub bvn: Option<String>,
    pub purpose: Option<String>,
    pub metadata: Option<String>,
    pub is_permanent: bool,
    pub single_use: bool,
    pub amount: Option<MinorUnits>,
    /// `active`, or `used` once a single-use account has been paid.
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "account_ref, business_id, wallet_ref, account_number, bank_code, bank_name, account_name, \
    first_name, last_name, phone_number, email, bvn, purpose, metadata, is_permanent, single_use, amount, status, \
    created_at, updated_at";

fn from_row(row: &AnyRow) -> VirtualAccountRecord {
    VirtualAccountRecord {
        account_ref: text(row, "account_ref"),
        business_id: BusinessId::from_trusted(text(row, "business_id")),
        wallet_ref: WalletRef::from_trusted(text(row, "wallet_ref")),
        account_number: text(row, "account_number"),
        bank_code: text(row, "bank_code"),
        bank_name: text(row, "bank_name"),
        account_name: text(row, "account_name"),
        first_name: text(row, "first_name"),
        last_name: text(row, "last_name"),
        phone_number: opt_text(row, "phone_number"),
        email: opt_text(row, "email"),
        bvn: opt_text(row, "bvn"),
        purpose: opt_text(row, "purpose"),
        metadata: opt_text(row, "metadata"),
        is_permanent: int(row, "is_permanent") == 1,
        single_use: int(row, "single_use") == 1,
        amount: opt_int(row, "amount").map(MinorUnits),
        status: text(row, "status"),
        created_at: int(row, "created_at"),
        updated_at: int(row, "updated_at"),
    }
}

pub async fn insert(tx: &mut Tx, v: &VirtualAccountRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO virtual_accounts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
         $14, $15, $16, $17, $18, $19, $20)"
    ))
    .bind(&v.account_ref)
    .bind(v.business_id.as_str())
    .bind(v.wallet_ref.as_str())
    .bind(&v.account_number)
    .bind(&v.bank_code)
    .bind(&v.bank_name)
    .bind(&v.account_name)
    .bind(&v.first_name)
    .bind(&v.last_name)
    .bind(&v.phone_number)
    .bind(&v.email)
    .bind(&v.bvn)
    .bind(&v.purpose)
    .bind(&v.metadata)
    .bind(i64::from(v.is_permanent))
    .bind(i64::from(v.single_use))
    .bind(v.amount.map(MinorUnits::get))
    .bind(&v.status)
    .bind(v.created_at)
    .bind(v.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn of_business(
    store: &Store,
    business: &BusinessId,
    account_ref: &str,
) -> Result<Option<VirtualAccountRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM virtual_accounts WHERE business_id = $1 AND account_ref = $2"
    ))
    .bind(business.as_str())
    .bind(account_ref)
    .fetch_optional(store.reader())
    .await?;
    Ok(row.as_ref().map(from_row))
}

pub async fn list(
    store: &Store,
    business: &BusinessId,
    limit: i64,
    offset: i64,
) -> Result<(Vec<VirtualAccountRecord>, i64), StoreError> {
    use sqlx::Row;
    let total: i64 = sqlx::query("SELECT COUNT(*) FROM virtual_accounts WHERE business_id = $1")
        .bind(business.as_str())
        .fetch_one(store.reader())
        .await?
        .get(0);
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM virtual_accounts WHERE business_id = $1
         ORDER BY created_at DESC, account_ref DESC LIMIT $2 OFFSET $3"
    ))
    .bind(business.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(store.reader())
    .await?;
    Ok((rows.iter().map(from_row).collect(), total))
}

pub async fn by_account_number(
    tx: &mut Tx,
    account_number: &str,
) -> Result<Option<VirtualAccountRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM virtual_accounts WHERE account_number = $1"
    ))
    .bind(account_number)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// A single-use account is spent by its first payment; false if it already was.
pub async fn mark_used(tx: &mut Tx, account_ref: &str, now_ms: i64) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE virtual_accounts SET status = 'used', updated_at = $2 WHERE account_ref = $1 AND status = 'active'",
    )
    .bind(account_ref)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated == 1)
}
