//! Reading transactions: one by reference, one by the business's own id, and the filtered list.

use super::{ok, BusinessQuery, DuploResult};
use crate::documents::duplo_transaction;
use crate::http::{body, AppState};
use crate::services::auth::Authenticated;
use crate::services::AppError;
use crate::store::transactions::{self, TransactionFilter};
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::Extension;
use ducat_core::ids::TransactionRef;
use ducat_core::money::{parse_major, Currency};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

#[utoipa::path(
    get,
    path = "/v1/wallets/transactions/{transaction_ref}",
    tag = "duplo",
    params(("transaction_ref" = String, Path, description = "The transaction (`tran_…`)"), BusinessQuery),
    responses(
        (status = 200, description = "The transaction"),
        (status = 404, description = "No transaction of this business has that reference"),
    ),
    security(("bearer" = []))
)]
pub async fn by_reference(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(reference): Path<String>,
    uri: Uri,
) -> DuploResult {
    let query: BusinessQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    let not_found = || AppError::NotFound(format!("no transaction {reference} for this business"));
    let parsed = TransactionRef::parse(&reference).ok_or_else(not_found)?;
    let record = state
        .services
        .transaction(&auth.business_id, &parsed)
        .await?;
    ok(
        duplo_transaction(&record),
        "Transaction retrieved successfully",
    )
}

#[utoipa::path(
    get,
    path = "/v1/wallets/transactions/external/{transaction_id}",
    tag = "duplo",
    params(("transaction_id" = String, Path, description = "The id the business gave the payout"), BusinessQuery),
    responses(
        (status = 200, description = "The transaction"),
        (status = 404, description = "No transaction of this business has that id"),
    ),
    security(("bearer" = []))
)]
pub async fn by_external_id(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(transaction_id): Path<String>,
    uri: Uri,
) -> DuploResult {
    let query: BusinessQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    let record =
        transactions::by_external_id(&state.services.store, &auth.business_id, &transaction_id)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "no transaction with transaction_id {transaction_id} for this business"
                ))
            })?;
    ok(
        duplo_transaction(&record),
        "Transaction retrieved successfully",
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub business_id: String,
    /// Page number, from 1.
    pub page: Option<String>,
    /// Transactions per page: 1 to 200, default 50.
    pub limit: Option<String>,
    pub wallet_ref: Option<String>,
    pub transaction_ref: Option<String>,
    /// `YYYY-MM-DD` (from the start of that day, UTC) or an RFC 3339 instant.
    pub start_date: Option<String>,
    /// `YYYY-MM-DD` (to the end of that day, UTC) or an RFC 3339 instant.
    pub end_date: Option<String>,
    /// `in-system` or `nip`.
    pub channel: Option<String>,
    /// `debit` or `credit`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    /// Exact amount in naira.
    pub amount: Option<String>,
    pub search_term: Option<String>,
}

pub(crate) fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub(crate) fn whole_number(
    field: &str,
    value: Option<&str>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, AppError> {
    let Some(text) = value else {
        return Ok(default);
    };
    text.parse::<i64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            AppError::invalid(
                field,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// A date bound: a day (`2026-11-22`) covers the whole day; an instant is taken as is.
fn date_bound(field: &str, text: &str, end_of_day: bool) -> Result<i64, AppError> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, &day) {
        let start = date.midnight().assume_utc().unix_timestamp() * 1000;
        return Ok(if end_of_day {
            start + 86_400_000
        } else {
            start
        });
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64 + i64::from(end_of_day))
        .map_err(|_| {
            AppError::invalid(
                field,
                "must be a date (YYYY-MM-DD) or an RFC 3339 date and time",
            )
        })
}

fn one_of(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<Option<String>, AppError> {
    match value {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_owned())),
        Some(v) => Err(AppError::invalid(
            field,
            format!("must be one of {}, not {v:?}", allowed.join(", ")),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/v1/wallets/transactions",
    tag = "duplo",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of transactions, newest first, with paging metadata"),
        (status = 400, description = "A malformed filter"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    uri: Uri,
) -> DuploResult {
    let query: ListQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    let page = whole_number("page", present(&query.page), 1, 1..=1_000_000)?;
    let limit = whole_number("limit", present(&query.limit), 50, 1..=200)?;
    let filter = TransactionFilter {
        wallet_ref: present(&query.wallet_ref).map(str::to_owned),
        transaction_ref: present(&query.transaction_ref).map(str::to_owned),
        start_ms: present(&query.start_date)
            .map(|d| date_bound("start_date", d, false))
            .transpose()?,
        end_ms: present(&query.end_date)
            .map(|d| date_bound("end_date", d, true))
            .transpose()?,
        channel: one_of("channel", present(&query.channel), &["in-system", "nip"])?,
        direction: one_of("type", present(&query.kind), &["debit", "credit"])?,
        status: one_of(
            "status",
            present(&query.status),
            &[
                "awaiting_otp_verification",
                "pending",
                "successful",
                "failed",
                "abandoned",
            ],
        )?,
        amount: present(&query.amount)
            .map(|a| {
                parse_major(a, Currency::Ngn)
                    .map(|m| m.get())
                    .map_err(|e| AppError::invalid("amount", e.to_string()))
            })
            .transpose()?,
        search_term: present(&query.search_term).map(|s| s.chars().take(100).collect()),
    };
    let (records, total) = transactions::list(
        &state.services.store,
        &auth.business_id,
        &filter,
        limit,
        (page - 1) * limit,
    )
    .await?;
    let documents: Vec<_> = records.iter().map(duplo_transaction).collect();
    ok(
        json!({
            "transactions": documents,
            "pagination": {
                "page": page,
                "limit": limit,
                "total": total,
                "total_pages": (total + limit - 1) / limit,
            }
        }),
        "Transactions retrieved successfully",
    )
}
