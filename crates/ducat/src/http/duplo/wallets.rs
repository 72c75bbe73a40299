//! Wallet balances.

use super::{ok, BusinessQuery, DuploResult};
use crate::http::body;
use crate::http::AppState;
use crate::services::auth::Authenticated;
use crate::services::AppError;
use crate::store::{businesses, ledger};
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::Extension;
use ducat_core::ids::WalletRef;
use serde::Serialize;
use serde_json::Number;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct BankAccount {
    pub bank_name: String,
    pub bank_code: String,
    pub account_number: String,
    pub account_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WalletBalance {
    pub wallet_ref: String,
    pub currency: String,
    /// What can be spent now, in major units.
    #[schema(value_type = f64)]
    pub available_balance: Number,
    /// Available plus held for payouts in flight, in major units (Duplo's own spelling).
    #[schema(value_type = f64)]
    pub legder_balance: Number,
    pub bank_accounts: Vec<BankAccount>,
}

pub use crate::documents::major_number;

#[utoipa::path(
    get,
    path = "/v1/wallets/balance/{wallet_ref}",
    tag = "duplo",
    params(("wallet_ref" = String, Path, description = "The wallet (`wal_…`)"), BusinessQuery),
    responses(
        (status = 200, description = "The wallet's balances", body = crate::http::openapi::Envelope<WalletBalance>),
        (status = 400, description = "A missing or malformed parameter"),
        (status = 401, description = "A missing, unknown or revoked key"),
        (status = 403, description = "business_id is not the key's, or the address is not allowed"),
        (status = 404, description = "No wallet of this business has that reference"),
    ),
    security(("bearer" = []))
)]
pub async fn balance(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(wallet_ref): Path<String>,
    uri: Uri,
) -> DuploResult {
    let query: BusinessQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    let not_found = || AppError::NotFound(format!("no wallet {wallet_ref} for this business"));
    let wallet_ref = WalletRef::parse(&wallet_ref).ok_or_else(not_found)?;
    let store = &state.services.store;
    let wallet = businesses::wallet_of_business(store, &auth.business_id, &wallet_ref)
        .await?
        .ok_or_else(not_found)?;
    let (available, held) = ledger::wallet_balances(store, &wallet.wallet_ref).await?;
    let total = available.checked_add(held).ok_or_else(not_found)?;
    ok(
        WalletBalance {
            wallet_ref: wallet.wallet_ref.to_string(),
            currency: wallet.currency.code().to_owned(),
            available_balance: major_number(available, wallet.currency),
            legder_balance: major_number(total, wallet.currency),
            bank_accounts: vec![BankAccount {
                bank_name: wallet.bank_name,
                bank_code: wallet.bank_code,
                account_number: wallet.account_number,
                account_name: wallet.account_name,
            }],
        },
        "Wallet balance retrieved successfully",
    )
}
