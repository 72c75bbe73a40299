//! Payouts: v2 (initiate, process with the OTP, resend the OTP) and v1 (payout OTP, transfer).

use super::wallets::major_number;
use super::{ok, DuploResult};
use crate::http::{body, AppState, ClientIp};
use crate::services::auth::Authenticated;
use crate::services::payouts::InitiatePayout;
use crate::services::AppError;
use axum::extract::{Request, State};
use axum::Extension;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct TransferRequest {
    pub business_id: String,
    /// The recipient's bank (CBN code, e.g. `058`).
    pub recipient_bank_code: String,
    pub recipient_account_number: String,
    /// Naira, as a number or a string; at least 200, at most 2 decimals.
    #[schema(value_type = f64)]
    pub amount: Box<RawValue>,
    #[serde(default)]
    pub description: String,
    /// Your own id for the payout, unique per business.
    pub transaction_id: Option<String>,
    /// Payouts v1 only: the code from `POST /v1/recipients/payouts-otp`.
    #[schema(value_type = Option<String>)]
    pub payout_otp: Option<Box<RawValue>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InitiatedPayout {
    pub transaction_ref: String,
    #[schema(value_type = f64)]
    pub amount: serde_json::Number,
    #[schema(value_type = f64)]
    pub fee_amount: serde_json::Number,
    pub currency: String,
    pub description: String,
    pub business_id: String,
    pub status: String,
    pub transaction_id: Option<String>,
}

/// An OTP sent as a string or as a JSON number. Numbers lose leading zeros, so a number of
/// fewer than six digits is read with them restored.
pub fn otp_text(field: &str, raw: &RawValue) -> Result<String, AppError> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        let inner: String = serde_json::from_str(text)
            .map_err(|_| AppError::invalid(field, "must be the 6-digit code sent by SMS"))?;
        return Ok(inner.trim().to_owned());
    }
    if !text.is_empty() && text.len() <= 6 && text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(format!("{text:0>6}"));
    }
    Err(AppError::invalid(
        field,
        "must be the 6-digit code sent by SMS",
    ))
}

fn initiate_input(request: &TransferRequest) -> Result<InitiatePayout, AppError> {
    Ok(InitiatePayout {
        bank_code: request.recipient_bank_code.clone(),
        account_number: request.recipient_account_number.clone(),
        amount: body::amount_text("amount", &request.amount)?,
        description: request.description.clone(),
        transaction_id: request.transaction_id.clone(),
    })
}

fn initiated(record: &crate::store::transactions::TransactionRecord) -> InitiatedPayout {
    InitiatedPayout {
        transaction_ref: record.transaction_ref.to_string(),
        amount: major_number(record.amount, record.currency),
        fee_amount: major_number(record.fee_amount, record.currency),
        currency: record.currency.code().to_owned(),
        description: record.description.clone(),
        business_id: record.business_id.to_string(),
        status: record.status.clone(),
        transaction_id: record.external_transaction_id.clone(),
    }
}

#[utoipa::path(
    post,
    path = "/v1/wallets/v2/transfer",
    tag = "duplo",
    request_body = TransferRequest,
    responses(
        (status = 200, description = "Awaiting OTP verification; the OTP went by SMS to the business's phone", body = crate::http::openapi::Envelope<InitiatedPayout>),
        (status = 400, description = "A field is missing or wrong (amount below 200, unknown bank, account not found)"),
        (status = 409, description = "transaction_id was already used"),
        (status = 422, description = "Insufficient balance, or no OTP phone number set"),
    ),
    security(("bearer" = []))
)]
pub async fn initiate_v2(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> DuploResult {
    let request: TransferRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    let record = state
        .services
        .initiate_payout_v2(&auth.business_id, initiate_input(&request)?)
        .await?;
    ok(initiated(&record), "Payout request initiated successfully")
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProcessRequest {
    pub business_id: String,
    pub transaction_ref: String,
    /// The 6-digit code, as a string (or a number).
    #[schema(value_type = String)]
    pub otp: Box<RawValue>,
}

#[utoipa::path(
    post,
    path = "/v1/wallets/v2/process-transfer",
    tag = "duplo",
    request_body = ProcessRequest,
    responses(
        (status = 200, description = "The OTP was correct: the payout is pending and goes to the bank"),
        (status = 400, description = "The OTP is malformed or wrong (wrong ones are counted)"),
        (status = 404, description = "No payout of this business has that reference"),
        (status = 409, description = "The payout was abandoned or no longer awaits an OTP"),
        (status = 422, description = "Insufficient balance for amount and fee"),
        (status = 429, description = "Too many wrong OTPs from this key or address (30 per 10 minutes each); see Retry-After. The code was not checked"),
    ),
    security(("bearer" = []))
)]
pub async fn process_v2(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    ClientIp(address): ClientIp,
    request: Request,
) -> DuploResult {
    let request: ProcessRequest = body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    let services = &state.services;
    services
        .otp_attempt(&auth.credential_id, address, async {
            let otp = otp_text("otp", &request.otp)?;
            services
                .process_payout_otp(&auth.business_id, &request.transaction_ref, &otp)
                .await
        })
        .await?;
    ok(json!({}), "Transaction request successful")
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResendRequest {
    pub business_id: String,
    pub transaction_ref: String,
}

#[utoipa::path(
    post,
    path = "/v1/wallets/v2/resend-payout-otp",
    tag = "duplo",
    request_body = ResendRequest,
    responses(
        (status = 200, description = "A new OTP replaced the old one"),
        (status = 404, description = "No payout of this business has that reference"),
        (status = 409, description = "The payout was abandoned or no longer awaits an OTP"),
        (status = 422, description = "The OTP was already resent the maximum number of times"),
    ),
    security(("bearer" = []))
)]
pub async fn resend_v2(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> DuploResult {
    let request: ResendRequest = body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    state
        .services
        .resend_payout_otp(&auth.business_id, &request.transaction_ref)
        .await?;
    ok(json!({}), "Payout OTP resent successfully")
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PayoutOtpRequest {
    pub business_id: String,
}

#[utoipa::path(
    post,
    path = "/v1/recipients/payouts-otp",
    tag = "duplo",
    request_body = PayoutOtpRequest,
    responses(
        (status = 200, description = "A payout OTP went by SMS to the business's phone"),
        (status = 422, description = "No OTP phone number set"),
    ),
    security(("bearer" = []))
)]
pub async fn payout_otp_v1(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> DuploResult {
    let request: PayoutOtpRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    state.services.send_v1_payout_otp(&auth.business_id).await?;
    ok(json!({}), "Payout OTP sent successfully")
}

#[utoipa::path(
    post,
    path = "/v1/wallets/transfer",
    tag = "duplo",
    request_body = TransferRequest,
    responses(
        (status = 200, description = "The payout is pending and goes to the bank", body = crate::http::openapi::Envelope<InitiatedPayout>),
        (status = 400, description = "A field is missing or wrong, or the payout OTP is wrong or expired"),
        (status = 409, description = "transaction_id was already used"),
        (status = 422, description = "Insufficient balance"),
    ),
    security(("bearer" = []))
)]
pub async fn transfer_v1(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> DuploResult {
    let request: TransferRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    let otp = request
        .payout_otp
        .as_deref()
        .map(|raw| otp_text("payout_otp", raw))
        .transpose()?;
    let record = state
        .services
        .initiate_payout_v1(&auth.business_id, initiate_input(&request)?, otp)
        .await?;
    ok(initiated(&record), "Transaction request successful")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn otps_arrive_as_strings_or_numbers() {
        assert_eq!(otp_text("otp", &raw("\"012345\"")).unwrap(), "012345");
        assert_eq!(otp_text("otp", &raw("12345")).unwrap(), "012345");
        assert_eq!(otp_text("otp", &raw("657894")).unwrap(), "657894");
        assert!(otp_text("otp", &raw("1234567")).is_err());
        assert!(otp_text("otp", &raw("12.5")).is_err());
        assert!(otp_text("otp", &raw("true")).is_err());
    }
}
