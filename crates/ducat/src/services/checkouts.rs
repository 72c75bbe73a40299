//! Pay-with-transfer checkouts and virtual accounts: each gets its own account number at the
//! house bank; what arrives there is judged by `ducat_core::checkout` in `inflows`.

use super::{AppError, Services};
use crate::store::checkouts::{self, CheckoutRecord};
use crate::store::transactions::{self, TransactionRecord};
use crate::store::virtual_accounts::{self, VirtualAccountRecord};
use crate::store::{inbound, StoreError};
use ducat_core::checkout::{price, price_total, CheckoutStatus, FeeBearer, Order};
use ducat_core::ids::{AccountRef, BusinessId, CheckoutRef};
use ducat_core::money::{Currency, MinorUnits};
use rand::rngs::OsRng;

#[derive(Debug, Clone)]
pub struct NewCheckout {
    pub customer_firstname: Option<String>,
    pub customer_lastname: Option<String>,
    pub customer_phone_number: Option<String>,
    pub customer_email: Option<String>,
    pub customer_ref: Option<String>,
    pub fee_bearer: FeeBearer,
    /// Priced from its lines, or…
    pub order: Option<Order>,
    /// …a bare amount.
    pub amount: Option<MinorUnits>,
    pub description: String,
    pub callback_url: Option<String>,
    /// The request's order-related fields as sent, kept for the business's records.
    pub order_json: String,
}

#[derive(Debug, Clone)]
pub struct NewVirtualAccount {
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
}

/// What verify-transaction found.
pub enum Verification {
    Paid(Box<TransactionRecord>),
    NotPaid {
        status: CheckoutStatus,
        expires_at: i64,
    },
}

fn optional_text(
    field: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, AppError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(
            AppError::invalid(field, format!("must be at most {max} printable characters")),
        ),
        other => Ok(other),
    }
}

impl Services {
    pub async fn create_checkout(
        &self,
        business_id: &BusinessId,
        new: NewCheckout,
    ) -> Result<CheckoutRecord, AppError> {
        let business = self.business(business_id).await?;
        let price = match (&new.order, new.amount) {
            (Some(order), None) => price(order, &business.collection_fees, new.fee_bearer),
            (None, Some(amount)) => price_total(amount, &business.collection_fees, new.fee_bearer),
            (Some(order), Some(amount)) => {
                // Both given: they must agree, or the customer would be told one price and charged another.
                let priced = price(order, &business.collection_fees, new.fee_bearer);
                match priced {
                    Ok(p) if p.total != amount => {
                        return Err(AppError::invalid(
                            "amount",
                            format!(
                                "does not match the line items, shipping, discount and tax, which total {}",
                                p.total.to_major_string(Currency::Ngn)
                            ),
                        ))
                    }
                    other => other,
                }
            }
            (None, None) => return Err(AppError::invalid("line_items", "are required (or give an amount)")),
        }
        .map_err(|e| AppError::invalid("amount", e.to_string()))?;
        let callback_url = new
            .callback_url
            .as_deref()
            .map(|url| {
                super::businesses::validate_webhook_url(url).map_err(|_| {
                    AppError::invalid("callback_url", "must be an http:// or https:// URL")
                })
            })
            .transpose()?;
        let customer_email = new
            .customer_email
            .as_deref()
            .map(|e| {
                super::businesses::validate_email(e)
                    .map_err(|_| AppError::invalid("customer_email", "must be an email address"))
            })
            .transpose()?;
        let now = self.now_ms();
        let expires_after_ms = i64::try_from(self.config.checkout_expires_after_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let wallet = self.wallet(&business.id, Currency::Ngn).await?;
        let checkout_reference = CheckoutRef::generate(&mut OsRng);
        let account_name = format!("{} Checkout", business.name);
        let from_bank = self
            .account_from_bank(
                business.mode,
                checkout_reference.as_str(),
                Currency::Ngn,
                &account_name,
                crate::rail::notifications::AccountKind::Checkout,
            )
            .await?;
        let mut tx = self.store.begin().await?;
        let (bank_code, bank_name, account_number) = self
            .account_or_allocate(&mut tx, Currency::Ngn, from_bank)
            .await?;
        let record = CheckoutRecord {
            checkout_reference,
            business_id: business.id.clone(),
            wallet_ref: wallet.wallet_ref,
            status: CheckoutStatus::Pending,
            currency: Currency::Ngn,
            subtotal: price.subtotal,
            discount: price.discount,
            tax: price.tax,
            shipping_fee: price.shipping_fee,
            total: price.total,
            fee: price.fee,
            fee_bearer: new.fee_bearer,
            amount_to_pay: price.amount_to_pay,
            customer_firstname: optional_text("customer_firstname", new.customer_firstname, 100)?,
            customer_lastname: optional_text("customer_lastname", new.customer_lastname, 100)?,
            customer_phone_number: optional_text(
                "customer_phone_number",
                new.customer_phone_number,
                20,
            )?,
            customer_email,
            customer_ref: optional_text("customer_ref", new.customer_ref, 100)?,
            description: optional_text("description", Some(new.description), 255)?
                .unwrap_or_default(),
            order_json: new.order_json,
            callback_url,
            account_ref: AccountRef::generate(&mut OsRng).to_string(),
            account_number,
            bank_code,
            bank_name,
            account_name,
            expires_at: now.saturating_add(expires_after_ms),
            paid_transaction_ref: None,
            created_at: now,
            updated_at: now,
        };
        checkouts::insert(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn checkout(
        &self,
        business_id: &BusinessId,
        reference: &str,
    ) -> Result<CheckoutRecord, AppError> {
        let not_found = || AppError::NotFound(format!("no checkout {reference} for this business"));
        let parsed = CheckoutRef::parse(reference.trim()).ok_or_else(not_found)?;
        checkouts::of_business(&self.store, business_id, &parsed)
            .await?
            .ok_or_else(not_found)
    }

    /// For the hosted page: the reference in the link is the only key.
    pub async fn public_checkout(&self, reference: &str) -> Result<CheckoutRecord, AppError> {
        let not_found = || AppError::NotFound(format!("no checkout {reference}"));
        let parsed = CheckoutRef::parse(reference.trim()).ok_or_else(not_found)?;
        checkouts::by_reference(&self.store, &parsed)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn verify_checkout(
        &self,
        business_id: &BusinessId,
        reference: &str,
    ) -> Result<Verification, AppError> {
        let checkout = self.checkout(business_id, reference).await?;
        match (
            checkout.status_at(self.now_ms()),
            &checkout.paid_transaction_ref,
        ) {
            (CheckoutStatus::Successful, Some(paid)) => {
                let record = transactions::of_business(&self.store, business_id, paid)
                    .await?
                    .ok_or_else(|| {
                        AppError::Internal(
                            format!("checkout {reference} names a missing transaction").into(),
                        )
                    })?;
                Ok(Verification::Paid(Box::new(record)))
            }
            (status, _) => Ok(Verification::NotPaid {
                status,
                expires_at: checkout.expires_at,
            }),
        }
    }

    /// The payment attempts at a checkout: credited or returned, oldest first.
    pub async fn checkout_attempts(
        &self,
        checkout: &CheckoutRecord,
    ) -> Result<Vec<inbound::InboundRecord>, AppError> {
        Ok(inbound::for_target(
            &self.store,
            "checkout",
            checkout.checkout_reference.as_str(),
        )
        .await?)
    }

    /// Sweeper step: writes down the expiry of every checkout past its deadline.
    pub async fn expire_checkouts(&self) -> Result<u64, StoreError> {
        checkouts::expire_due(&self.store, self.now_ms()).await
    }

    pub async fn create_virtual_account(
        &self,
        business_id: &BusinessId,
        new: NewVirtualAccount,
    ) -> Result<VirtualAccountRecord, AppError> {
        let business = self.business(business_id).await?;
        let name = |field: &str, value: &str| {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > 60 || value.chars().any(char::is_control)
            {
                Err(AppError::invalid(
                    field,
                    "must be between 1 and 60 printable characters",
                ))
            } else {
                Ok(value.to_owned())
            }
        };
        let first_name = name("first_name", &new.first_name)?;
        let last_name = name("last_name", &new.last_name)?;
        if let Some(bvn) = &new.bvn {
            if bvn.len() != 11 || !bvn.bytes().all(|b| b.is_ascii_digit()) {
                return Err(AppError::invalid("bvn", "must be 11 digits"));
            }
        }
        if new.amount.is_some_and(|a| !a.is_positive()) {
            return Err(AppError::invalid("amount", "must be greater than zero"));
        }
        let email = new
            .email
            .as_deref()
            .map(super::businesses::validate_email)
            .transpose()?;
        let wallet = self.wallet(&business.id, Currency::Ngn).await?;
        let now = self.now_ms();
        let account_ref = AccountRef::generate(&mut OsRng).to_string();
        let account_name = format!("{} - {first_name} {last_name}", business.name);
        let from_bank = self
            .account_from_bank(
                business.mode,
                &account_ref,
                Currency::Ngn,
                &account_name,
                crate::rail::notifications::AccountKind::Virtual,
            )
            .await?;
        let mut tx = self.store.begin().await?;
        let (bank_code, bank_name, account_number) = self
            .account_or_allocate(&mut tx, Currency::Ngn, from_bank)
            .await?;
        let record = VirtualAccountRecord {
            account_ref,
            business_id: business.id.clone(),
            wallet_ref: wallet.wallet_ref,
            account_number,
            bank_code,
            bank_name,
            account_name,
            first_name,
            last_name,
            phone_number: optional_text("phone_number", new.phone_number, 20)?,
            email,
            bvn: new.bvn,
            purpose: optional_text("purpose", new.purpose, 255)?,
            metadata: new.metadata,
            is_permanent: new.is_permanent,
            single_use: new.single_use,
            amount: new.amount,
            status: "active".to_owned(),
            created_at: now,
            updated_at: now,
        };
        virtual_accounts::insert(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn virtual_account(
        &self,
        business_id: &BusinessId,
        account_ref: &str,
    ) -> Result<VirtualAccountRecord, AppError> {
        let not_found = || {
            AppError::NotFound(format!(
                "no virtual account {account_ref} for this business"
            ))
        };
        AccountRef::parse(account_ref.trim()).ok_or_else(not_found)?;
        virtual_accounts::of_business(&self.store, business_id, account_ref.trim())
            .await?
            .ok_or_else(not_found)
    }
}
