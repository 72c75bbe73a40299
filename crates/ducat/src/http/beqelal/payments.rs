//! Direct payments: request, authorize with the institution's OTP, and read.

use super::BeqelalResult;
use crate::documents::beqelal_payment;
use crate::http::{body, AppState, ClientIp};
use crate::services::auth::Authenticated;
use crate::services::direct_payments::DirectPaymentRequest;
use crate::services::AppError;
use axum::extract::{Path, Request, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct PaymentRequest {
    /// The institution's id from `GET /api/v1/list/banks` (number or string).
    #[schema(value_type = u64)]
    pub bank: Box<RawValue>,
    /// The account number, or the phone number for a wallet.
    pub account: String,
    /// Birr, as a number or a string; at most 2 decimals.
    #[schema(value_type = f64)]
    pub amount: Box<RawValue>,
    /// Your own id for the request, unique per business.
    pub trace_number: String,
    /// Overrides the portal's webhook URL for this transaction.
    pub callback_url: Option<String>,
    pub reason: Option<String>,
}

pub(super) fn id_text(field: &str, raw: &RawValue) -> Result<String, AppError> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text)
            .map_err(|_| AppError::invalid(field, "must be an institution id"))
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(AppError::invalid(field, "must be an institution id"))
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/payment/request",
    tag = "beqelal",
    request_body = PaymentRequest,
    responses(
        (status = 200, description = "The transaction id and how the institution authorizes it (OTP or PUSH_USSD)"),
        (status = 400, description = "A field error: {\"field\": [\"message\"]}"),
        (status = 409, description = "trace_number was already used (the existing id is named)"),
        (status = 479, description = "The caller's address is not on the allowlist"),
    ),
    security(("app_id" = [], "api_key" = []))
)]
pub async fn request(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> BeqelalResult {
    let request: PaymentRequest = body::json(request, state.services.config.max_body_bytes).await?;
    let payment = state
        .services
        .request_direct_payment(
            &auth.business_id,
            DirectPaymentRequest {
                bank: id_text("bank", &request.bank)?,
                account: request.account,
                amount: body::amount_text("amount", &request.amount)?,
                trace_number: request.trace_number,
                callback_url: request.callback_url,
                reason: request.reason,
            },
        )
        .await?;
    let method = payment.authorization_method.clone();
    let next_step = if method == "OTP" {
        "The institution has sent a 6-digit OTP to the customer; authorize with POST /api/v1/payment/authorize."
    } else {
        "The customer approves on the USSD prompt on their phone; the result arrives by webhook."
    };
    Ok(Json(json!({
        "id": payment.reference,
        "authorization_method": method,
        "status": payment.payment.status.as_str(),
        "trace_number": payment.trace_number,
        "amount": crate::documents::major_number(payment.amount, payment.currency),
        "fee": crate::documents::major_number(payment.fee, payment.currency),
        "bank_name": payment.institution_name,
        "account_no": payment.account,
        "status_code": 200,
        "message": "SUCCESS",
        "detail": next_step,
    }))
    .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AuthorizeRequest {
    /// The transaction id from the request step.
    #[schema(min_length = 1, pattern = r"^[!-~]+$")]
    pub reference: String,
    /// The 6-digit OTP the institution sent to the customer, as a JSON number.
    #[schema(value_type = u32, minimum = 100000, maximum = 999999)]
    pub otp: Box<RawValue>,
}

/// A JSON number of exactly six digits; anything else is a field error.
fn six_digit_number(raw: &RawValue) -> Result<u32, AppError> {
    let text = raw.get().trim();
    if text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0') {
        text.parse()
            .map_err(|_| AppError::invalid("otp", "must be a 6-digit number"))
    } else {
        Err(AppError::invalid("otp", "must be a 6-digit number"))
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/payment/authorize",
    tag = "beqelal",
    request_body = AuthorizeRequest,
    responses(
        (status = 200, description = "The transaction: PROCESSED, or FAILED when the institution declined"),
        (status = 400, description = "442 TRANSACTION_NOT_FOUND, 450 INVALID_OTP, 451 OTP_EXPIRED, 452 TRANSACTION_ALREADY_COMPLETED, 453 OTP_ATTEMPTS_EXCEEDED, 455 AUTHORIZATION_METHOD_MISMATCH, or a field error"),
        (status = 429, description = "Too many wrong OTPs from this key or address (30 per 10 minutes each); see Retry-After. The code was not checked"),
        (status = 479, description = "The caller's address is not on the allowlist"),
    ),
    security(("app_id" = [], "api_key" = []))
)]
pub async fn authorize(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    ClientIp(address): ClientIp,
    request: Request,
) -> BeqelalResult {
    let request: AuthorizeRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    if request.reference.trim().is_empty() {
        return Err(AppError::invalid("reference", "is required").into());
    }
    let services = &state.services;
    let payment = services
        .otp_attempt(&auth.credential_id, address, async {
            let otp = six_digit_number(&request.otp)?;
            services
                .authorize_direct_payment(&auth.business_id, &request.reference, otp)
                .await
        })
        .await?;
    let business = state.services.business(&auth.business_id).await?;
    Ok(Json(beqelal_payment(&payment, &business)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/payment/{reference}",
    tag = "beqelal",
    params(("reference" = String, Path, description = "The transaction id")),
    responses(
        (status = 200, description = "The transaction as the authorize answer documents it"),
        (status = 400, description = "442 TRANSACTION_NOT_FOUND"),
    ),
    security(("app_id" = [], "api_key" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(reference): Path<String>,
) -> BeqelalResult {
    let payment = state
        .services
        .direct_payment(&auth.business_id, &reference)
        .await?;
    let business = state.services.business(&auth.business_id).await?;
    Ok(Json(beqelal_payment(&payment, &business)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_otp_is_a_six_digit_number() {
        assert_eq!(six_digit_number(&raw("657894")).unwrap(), 657_894);
        for bad in [
            "\"657894\"",
            "65789",
            "1657894",
            "657894.0",
            "-65789",
            "true",
            "null",
        ] {
            assert!(six_digit_number(&raw(bad)).is_err(), "{bad}");
        }
    }
}
