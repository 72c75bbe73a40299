//! The Duplo face (`/v1`): `Authorization: Bearer dp_…`, the `{data, errors, message}` envelope.

pub mod checkout;
pub mod payouts;
pub mod transactions;
pub mod utilities;
pub mod virtual_accounts;
pub mod wallets;
pub mod webhooks;

use super::face::Face;
use super::{client_ip, idempotency, AppState};
use crate::services::AppError;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

/// An `AppError` on its way out of a Duplo handler.
#[derive(Debug)]
pub struct DuploError(pub AppError);

impl<E: Into<AppError>> From<E> for DuploError {
    fn from(error: E) -> Self {
        DuploError(error.into())
    }
}

impl IntoResponse for DuploError {
    fn into_response(self) -> Response {
        Face::Duplo.render(&self.0)
    }
}

pub type DuploResult = Result<Response, DuploError>;

/// A successful answer in Duplo's envelope.
pub fn ok<T: Serialize>(data: T, message: &str) -> DuploResult {
    Ok((
        StatusCode::OK,
        Json(json!({ "data": data, "errors": {}, "message": message })),
    )
        .into_response())
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/wallets/balance/{wallet_ref}", get(wallets::balance))
        .route("/v1/checkout/", post(checkout::create))
        .route("/v1/checkout", post(checkout::create))
        .route(
            "/v1/checkout/verify-transaction/{checkout_reference}",
            get(checkout::verify),
        )
        .route("/v1/checkout/{checkout_reference}", get(checkout::get_one))
        .route(
            "/v1/virtual-accounts",
            post(virtual_accounts::create).get(virtual_accounts::list),
        )
        .route(
            "/v1/virtual-accounts/{account_ref}",
            get(virtual_accounts::get_one),
        )
        .route("/v1/merchants/businesses/webhook", post(webhooks::register))
        .route("/v1/webhooks/events", get(webhooks::list_events))
        .route("/v1/webhooks/events/{event_id}", get(webhooks::get_event))
        .route(
            "/v1/webhooks/events/{event_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/v1/webhooks/test", post(webhooks::test))
        .route("/v1/merchants/utilities/banks/list", get(utilities::banks))
        .route(
            "/v1/merchants/utilities/banks/verify",
            post(utilities::verify_account),
        )
        .route("/v1/wallets/v2/transfer", post(payouts::initiate_v2))
        .route("/v1/wallets/v2/process-transfer", post(payouts::process_v2))
        .route("/v1/wallets/v2/resend-payout-otp", post(payouts::resend_v2))
        .route("/v1/recipients/payouts-otp", post(payouts::payout_otp_v1))
        .route("/v1/wallets/transfer", post(payouts::transfer_v1))
        .route("/v1/wallets/transactions", get(transactions::list))
        .route(
            "/v1/wallets/transactions/{transaction_ref}",
            get(transactions::by_reference),
        )
        .route(
            "/v1/wallets/transactions/external/{transaction_id}",
            get(transactions::by_external_id),
        )
        .layer(middleware::from_fn_with_state(
            (state.clone(), Face::Duplo),
            idempotency::enforce,
        ))
        .layer(middleware::from_fn_with_state(state, authenticate))
}

async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let ip = client_ip(&parts, &state);
    if let Err(error) = crate::http::credential_headers_once(&parts.headers) {
        return Face::Duplo.render(&error);
    }
    let presented = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(secret_key) = presented.filter(|k| !k.is_empty()) else {
        return Face::Duplo.render(&AppError::Unauthenticated(
            "missing Authorization header: send Authorization: Bearer <secret key>".to_owned(),
        ));
    };
    match state.services.authenticate_duplo(secret_key, ip.0).await {
        Ok(authenticated) => {
            parts.extensions.insert(authenticated);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) => Face::Duplo.render(&error),
    }
}

/// The `business_id` every Duplo call carries, in the query for GET requests.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BusinessQuery {
    /// The business the secret key belongs to.
    pub business_id: String,
}
