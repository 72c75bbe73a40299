//! Virtual accounts: create, list, read.

use super::wallets::major_number;
use super::{ok, BusinessQuery, DuploResult};
use crate::http::{body, AppState};
use crate::services::auth::Authenticated;
use crate::services::checkouts::NewVirtualAccount;
use crate::services::AppError;
use crate::store::virtual_accounts::{self, VirtualAccountRecord};
use axum::extract::{Path, Request, State};
use axum::http::Uri;
use axum::Extension;
use ducat_core::money::{parse_major, Currency};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateVirtualAccountRequest {
    pub business_id: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    pub email: Option<String>,
    pub bvn: Option<String>,
    pub metadata: Option<Value>,
    /// Default true.
    pub is_permanent: Option<bool>,
    /// Default false: a single-use account accepts one payment.
    pub single_use: Option<bool>,
    pub purpose: Option<String>,
    /// When set, only exactly this amount (naira) is accepted; anything else is returned.
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Box<RawValue>>,
}

pub fn document(account: &VirtualAccountRecord) -> Value {
    json!({
        "account_ref": account.account_ref,
        "account_number": account.account_number,
        "bank_name": account.bank_name,
        "bank_code": account.bank_code,
        "account_name": account.account_name,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "phone_number": account.phone_number,
        "email": account.email,
        "purpose": account.purpose,
        "is_permanent": account.is_permanent,
        "single_use": account.single_use,
        "amount": account.amount.map(|a| major_number(a, Currency::Ngn)),
        "metadata": account.metadata.as_deref().and_then(|m| serde_json::from_str::<Value>(m).ok()),
        "status": account.status,
        "business_id": account.business_id.as_str(),
        "wallet_ref": account.wallet_ref.as_str(),
        "created_at": crate::clock::iso_millis(account.created_at),
        "updated_at": crate::clock::iso_millis(account.updated_at),
    })
}

#[utoipa::path(
    post,
    path = "/v1/virtual-accounts",
    tag = "duplo",
    request_body = CreateVirtualAccountRequest,
    responses(
        (status = 200, description = "The account; money paid into it credits the business's NGN wallet"),
        (status = 400, description = "A field is missing or wrong"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> DuploResult {
    let request: CreateVirtualAccountRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    let amount = request
        .amount
        .as_deref()
        .map(|raw| {
            let text = body::amount_text("amount", raw)?;
            parse_major(&text, Currency::Ngn)
                .map_err(|e| AppError::invalid("amount", e.to_string()))
        })
        .transpose()?;
    let metadata = match &request.metadata {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => Some(value.to_string()),
        Some(_) => return Err(AppError::invalid("metadata", "must be a JSON object").into()),
    };
    if metadata.as_ref().is_some_and(|m| m.len() > 4096) {
        return Err(AppError::invalid("metadata", "must be at most 4096 bytes of JSON").into());
    }
    let account = state
        .services
        .create_virtual_account(
            &auth.business_id,
            NewVirtualAccount {
                first_name: request.first_name,
                last_name: request.last_name,
                phone_number: request.phone_number,
                email: request.email,
                bvn: request.bvn,
                purpose: request.purpose,
                metadata,
                is_permanent: request.is_permanent.unwrap_or(true),
                single_use: request.single_use.unwrap_or(false),
                amount,
            },
        )
        .await?;
    ok(document(&account), "Virtual account created successfully")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub business_id: String,
    pub page: Option<u32>,
    /// Accounts per page: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/v1/virtual-accounts",
    tag = "duplo",
    params(ListQuery),
    responses((status = 200, description = "The business's virtual accounts, newest first")),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    uri: Uri,
) -> DuploResult {
    let query: ListQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    let page = i64::from(query.page.unwrap_or(1).max(1));
    let limit = i64::from(query.limit.unwrap_or(50));
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "must be from 1 to 200").into());
    }
    let (accounts, total) = virtual_accounts::list(
        &state.services.store,
        &auth.business_id,
        limit,
        (page - 1) * limit,
    )
    .await?;
    ok(
        json!({
            "virtual_accounts": accounts.iter().map(document).collect::<Vec<_>>(),
            "pagination": { "page": page, "limit": limit, "total": total, "total_pages": (total + limit - 1) / limit },
        }),
        "Virtual accounts retrieved successfully",
    )
}

#[utoipa::path(
    get,
    path = "/v1/virtual-accounts/{account_ref}",
    tag = "duplo",
    params(("account_ref" = String, Path, description = "The account (`act_…`)"), BusinessQuery),
    responses(
        (status = 200, description = "The account"),
        (status = 404, description = "No virtual account of this business has that reference"),
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(account_ref): Path<String>,
    uri: Uri,
) -> DuploResult {
    let query: BusinessQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    let account = state
        .services
        .virtual_account(&auth.business_id, &account_ref)
        .await?;
    ok(document(&account), "Virtual account retrieved successfully")
}
