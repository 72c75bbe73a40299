//! Checkouts and their bank accounts.

use super::{int, opt_text, text, Autocommit, Store, StoreError, Tx};
use ducat_core::checkout::{CheckoutStatus, FeeBearer};
use ducat_core::ids::{BusinessId, CheckoutRef, TransactionRef, WalletRef};
use ducat_core::money::{Currency, MinorUnits};
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct CheckoutRecord {
    pub checkout_reference: CheckoutRef,
    pub business_id: BusinessId,
    pub wallet_ref: WalletRef,
    pub status: CheckoutStatus,
    pub currency: Currency,
    pub subtotal: MinorUnits,
    pub discount: MinorUnits,
    pub tax: MinorUnits,
    pub shipping_fee: MinorUnits,
    pub total: MinorUnits,
    pub fee: MinorUnits,
    pub fee_bearer: FeeBearer,
    pub amount_to_pay: MinorUnits,
    pub customer_firstname: Option<String>,
    pub customer_lastname: Option<String>,
    pub customer_phone_number: Option<String>,
    pub customer_email: Option<String>,
    pub customer_ref: Option<String>,
    pub description: String,
    pub order_json: String,
    pub callback_url: Option<String>,
    pub account_ref: String,
    pub account_number: String,
    pub bank_code: String,
    pub bank_name: String,
    pub account_name: String,
    pub expires_at: i64,
    pub paid_transaction_ref: Option<TransactionRef>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CheckoutRecord {
    /// The status as of `now`: a pending checkout past its deadline is expired even before the
    /// sweeper writes it down.
    pub fn status_at(&self, now_ms: i64) -> CheckoutStatus {
        match self.status {
            CheckoutStatus::Pending if now_ms >= self.expires_at => CheckoutStatus::Expired,
            CheckoutStatus::Pending | CheckoutStatus::Successful | CheckoutStatus::Expired => {
                self.status
            }
        }
    }
}

const COLUMNS: &str = "checkout_reference, business_id, wallet_ref, status, currency, subtotal, discount, tax, \
    shipping_fee, total, fee, fee_bearer, amount_to_pay, customer_firstname, customer_lastname, \
    customer_phone_number, customer_email, customer_ref, description, order_json, callback_url, account_ref, \
    account_number, bank_code, bank_name, account_name, expires_at, paid_transaction_ref, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<CheckoutRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("checkout {what}"));
    Ok(CheckoutRecord {
        checkout_reference: CheckoutRef::from_trusted(text(row, "checkout_reference")),
        business_id: BusinessId::from_trusted(text(row, "business_id")),
        wallet_ref: WalletRef::from_trusted(text(row, "wallet_ref")),
        status: CheckoutStatus::parse(&text(row, "status")).ok_or_else(|| corrupt("status"))?,
        currency: Currency::from_code(&text(row, "currency")).ok_or_else(|| corrupt("currency"))?,
        subtotal: MinorUnits(int(row, "subtotal")),
        discount: MinorUnits(int(row, "discount")),
        tax: MinorUnits(int(row, "tax")),
        shipping_fee: MinorUnits(int(row, "shipping_fee")),
        total: MinorUnits(int(row, "total")),
        fee: MinorUnits(int(row, "fee")),
        fee_bearer: FeeBearer::parse(&text(row, "fee_bearer"))
            .ok_or_else(|| corrupt("fee bearer"))?,
        amount_to_pay: MinorUnits(int(row, "amount_to_pay")),
        customer_firstname: opt_text(row, "customer_firstname"),
        customer_lastname: opt_text(row, "customer_lastname"),
        customer_phone_number: opt_text(row, "customer_phone_number"),
        customer_email: opt_text(row, "customer_email"),
        customer_ref: opt_text(row, "customer_ref"),
        description: text(row, "description"),
        order_json: text(row, "order_json"),
        callback_url: opt_text(row, "callback_url"),
        account_ref: text(row, "account_ref"),
        account_number: text(row, "account_number"),
        bank_code: text(row, "bank_code"),
        bank_name: text(row, "bank_name"),
        account_name: text(row, "account_name"),
        expires_at: int(row, "expires_at"),
        paid_transaction_ref: opt_text(row, "paid_transaction_ref")
            .map(TransactionRef::from_trusted),
        created_at: int(row, "created_at"),
        updated_at: int(row, "updated_at"),
    })
}

pub async fn insert(tx: &mut Tx, c: &CheckoutRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO checkouts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
         $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)"
    ))
    .bind(c.checkout_reference.as_str())
    .bind(c.business_id.as_str())
    .bind(c.wallet_ref.as_str())
    .bind(c.status.as_str())
    .bind(c.currency.code())
    .bind(c.subtotal.get())
    .bind(c.discount.get())
    .bind(c.tax.get())
    .bind(c.shipping_fee.get())
    .bind(c.total.get())
    .bind(c.fee.get())
    .bind(c.fee_bearer.as_str())
    .bind(c.amount_to_pay.get())
    .bind(&c.customer_firstname)
    .bind(&c.customer_lastname)
    .bind(&c.customer_phone_number)
    .bind(&c.customer_email)
    .bind(&c.customer_ref)
    .bind(&c.description)
    .bind(&c.order_json)
    .bind(&c.callback_url)
    .bind(&c.account_ref)
    .bind(&c.account_number)
    .bind(&c.bank_code)
    .bind(&c.bank_name)
    .bind(&c.account_name)
    .bind(c.expires_at)
    .bind(c.paid_transaction_ref.as_ref().map(|r| r.as_str().to_owned()))
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn of_business(
    store: &Store,
    business: &BusinessId,
    reference: &CheckoutRef,
) -> Result<Option<CheckoutRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM checkouts WHERE business_id = $1 AND checkout_reference = $2"
    ))
    .bind(business.as_str())
    .bind(reference.as_str())
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// For the hosted page, where the unguessable reference in the link is the customer's only key.
pub async fn by_reference(
    store: &Store,
    reference: &CheckoutRef,
) -> Result<Option<CheckoutRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM checkouts WHERE checkout_reference = $1"
    ))
    .bind(reference.as_str())
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_account_number(
    tx: &mut Tx,
    account_number: &str,
) -> Result<Option<CheckoutRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM checkouts WHERE account_number = $1"
    ))
    .bind(account_number)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Marks a pending checkout paid; false if it was no longer pending.
pub async fn mark_paid(
    tx: &mut Tx,
    reference: &CheckoutRef,
    transaction: &TransactionRef,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE checkouts SET status = 'successful', paid_transaction_ref = $2, updated_at = $3
         WHERE checkout_reference = $1 AND status = 'pending'",
    )
    .bind(reference.as_str())
    .bind(transaction.as_str())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Writes down the expiry of every pending checkout past its deadline; returns how many.
pub async fn expire_due(store: &Store, now_ms: i64) -> Result<u64, StoreError> {
    let updated = sqlx::query(
        "UPDATE checkouts SET status = 'expired', updated_at = $1 WHERE status = 'pending' AND expires_at <= $1",
    )
    .bind(now_ms)
    .execute_in(store)
    .await?
    .rows_affected();
    Ok(updated)
}
