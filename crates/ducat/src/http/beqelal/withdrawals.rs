//! Withdrawals: money out of the business's ETB wallet to a bank or wallet account.

use super::BeqelalResult;
use crate::documents::beqelal_withdrawal;
use crate::http::{body, AppState};
use crate::services::auth::Authenticated;
use crate::services::withdrawals::WithdrawalRequest;
use axum::extract::{Path, Request, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExecuteRequest {
    /// The institution's id from `GET /api/v1/list/banks` (number or string).
    #[schema(value_type = u64)]
    pub bank: Box<RawValue>,
    pub account: String,
    /// Birr, as a number or a string; at most 2 decimals.
    #[schema(value_type = f64)]
    pub amount: Box<RawValue>,
    /// Your own id for the withdrawal, unique per business.
    pub trace_number: String,
    pub callback_url: Option<String>,
    pub reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/withdraw/execute",
    tag = "beqelal",
    request_body = ExecuteRequest,
    responses(
        (status = 200, description = "reference_id, the recipient's name, the institution, fee, VAT (15 % of the fee), levy (5 % of the fee), the new balance and the status: PROCESSED, FAILED, or PENDING while the institution has not answered"),
        (status = 400, description = "A field error, or insufficient balance (422 INSUFFICIENT_BALANCE)"),
        (status = 409, description = "trace_number was already used"),
    ),
    security(("app_id" = [], "api_key" = []))
)]
pub async fn execute(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> BeqelalResult {
    let request: ExecuteRequest = body::json(request, state.services.config.max_body_bytes).await?;
    let bank = super::payments::id_text("bank", &request.bank)?;
    let withdrawal = state
        .services
        .execute_withdrawal(
            &auth.business_id,
            WithdrawalRequest {
                bank,
                account: request.account,
                amount: body::amount_text("amount", &request.amount)?,
                trace_number: request.trace_number,
                callback_url: request.callback_url,
                reason: request.reason,
            },
        )
        .await?;
    Ok(Json(beqelal_withdrawal(&withdrawal)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/withdraw/{reference_id}",
    tag = "beqelal",
    params(("reference_id" = String, Path, description = "The withdrawal's reference_id")),
    responses(
        (status = 200, description = "The withdrawal as the execute answer documents it"),
        (status = 400, description = "442 TRANSACTION_NOT_FOUND"),
    ),
    security(("app_id" = [], "api_key" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(reference): Path<String>,
) -> BeqelalResult {
    let withdrawal = state
        .services
        .withdrawal(&auth.business_id, &reference)
        .await?;
    Ok(Json(beqelal_withdrawal(&withdrawal)).into_response())
}
