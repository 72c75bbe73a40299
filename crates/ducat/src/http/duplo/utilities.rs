//! Bank list and name enquiry.

use super::{ok, DuploResult};
use crate::http::{body, AppState};
use crate::rail::RailError;
use crate::services::auth::Authenticated;
use crate::services::AppError;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::Extension;
use ducat_core::banks;
use ducat_core::money::Currency;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BanksQuery {
    /// Only `Nigeria` is served on the Duplo face.
    pub country: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Bank {
    pub code: String,
    pub name: String,
}

#[utoipa::path(
    get,
    path = "/v1/merchants/utilities/banks/list",
    tag = "duplo",
    params(BanksQuery),
    responses((status = 200, description = "Banks that can receive payouts", body = crate::http::openapi::Envelope<Vec<Bank>>)),
    security(("bearer" = []))
)]
pub async fn banks(uri: Uri) -> DuploResult {
    let query: BanksQuery = body::query(&uri)?;
    match query.country.as_deref().map(str::trim) {
        None | Some("") => {}
        Some(country) if country.eq_ignore_ascii_case("nigeria") => {}
        Some(other) => {
            return Err(AppError::invalid(
                "country",
                format!("{other:?} is not served; use Nigeria"),
            )
            .into())
        }
    }
    let list: Vec<Bank> = banks::institutions(Currency::Ngn)
        .iter()
        .map(|bank| Bank {
            code: bank.code.to_owned(),
            name: bank.name.to_owned(),
        })
        .collect();
    ok(list, "Banks retrieved successfully")
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyAccountRequest {
    pub business_id: String,
    pub account_number: String,
    pub bank_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedAccount {
    pub account_name: String,
    pub account_number: String,
    pub bank_code: String,
    pub bank_name: String,
}

#[utoipa::path(
    post,
    path = "/v1/merchants/utilities/banks/verify",
    tag = "duplo",
    request_body = VerifyAccountRequest,
    responses(
        (status = 200, description = "The account holder's name", body = crate::http::openapi::Envelope<VerifiedAccount>),
        (status = 400, description = "Unknown bank code or malformed account number"),
        (status = 404, description = "The bank has no such account"),
    ),
    security(("bearer" = []))
)]
pub async fn verify_account(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> DuploResult {
    let input: VerifyAccountRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&input.business_id)?;
    let resolved = state
        .services
        .rail_for(auth.mode)
        .name_enquiry(
            Currency::Ngn,
            input.bank_code.trim(),
            input.account_number.trim(),
        )
        .await
        .map_err(|error| match error {
            RailError::UnknownBank(code, _) => AppError::invalid(
                "bank_code",
                format!("does not name a known bank ({code:?})"),
            ),
            RailError::MalformedAccount(message) => AppError::invalid("account_number", message),
            RailError::UnknownAccount(number) => {
                AppError::NotFound(format!("the bank has no account {number}"))
            }
            RailError::Unavailable(message) => AppError::Unavailable(message),
        })?;
    ok(
        VerifiedAccount {
            account_name: resolved.account_name,
            account_number: resolved.account_number,
            bank_code: resolved.bank_code,
            bank_name: resolved.bank_name,
        },
        "Account verified successfully",
    )
}
