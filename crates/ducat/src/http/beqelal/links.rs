//! Hosted checkout links and payment links: create, and read back.

use super::BeqelalResult;
use crate::documents::major_number;
use crate::http::duplo::checkout::public_base;
use crate::http::{body, AppState};
use crate::services::auth::Authenticated;
use crate::services::payment_links::{LinkView, NewLink};
use crate::store::payment_links::LinkKind;
use axum::extract::{Path, Request, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    /// The customer's phone, e.g. `+251911234567`.
    #[schema(pattern = r"^\+?[0-9]{9,15}$")]
    pub phone: String,
    /// Birr, as a number or a string; at most 2 decimals, at most 1,000,000.
    #[schema(value_type = f64, exclusive_minimum = 0, maximum = 1000000)]
    pub amount: Box<RawValue>,
    /// Your own id for the checkout, unique per business (at most 60 characters).
    #[schema(pattern = r"^[!-~]([ -~]{0,62}[!-~])?$")]
    pub trace_number: String,
    /// Where the page sends the customer once paid.
    #[schema(
        pattern = r"^https?://[^/?#\s\x00-\x1f\x7f-\x9f][^\s\x00-\x1f\x7f-\x9f]*$",
        max_length = 2048
    )]
    pub return_url: String,
    /// Overrides the portal's webhook URL for the payment.
    #[schema(
        pattern = r"^https?://[^/?#\s\x00-\x1f\x7f-\x9f][^\s\x00-\x1f\x7f-\x9f]*$",
        max_length = 2048
    )]
    pub callback_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PaymentLinkRequest {
    /// The customer's phone, e.g. `+251911234567`.
    #[schema(pattern = r"^\+?[0-9]{9,15}$")]
    pub phone: String,
    /// Birr, 1 to 1,000,000, as a number or a string; at most 2 decimals. The total to pay.
    #[schema(value_type = f64, exclusive_minimum = 0, maximum = 1000000)]
    pub amount: Box<RawValue>,
    /// RFC 3339, in the future.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// Where the payment's outcome is posted.
    #[schema(
        pattern = r"^https?://[^/?#\s\x00-\x1f\x7f-\x9f][^\s\x00-\x1f\x7f-\x9f]*$",
        max_length = 2048
    )]
    pub callback_url: String,
    /// Your own id for the link, unique per business (at most 60 characters).
    #[schema(pattern = r"^[!-~]([ -~]{0,62}[!-~])?$")]
    pub trace_number: String,
    pub item_name: Option<String>,
    pub quantity: Option<u32>,
    pub reason: Option<String>,
    /// Where the page sends the customer once paid (optional).
    #[schema(
        pattern = r"^https?://[^/?#\s\x00-\x1f\x7f-\x9f][^\s\x00-\x1f\x7f-\x9f]*$",
        max_length = 2048
    )]
    pub return_url: Option<String>,
}

/// One document for both kinds: `checkout_url` is the page, `link` the same address.
pub fn link_document(view: &LinkView, base: &str) -> Value {
    let link = &view.link;
    let url = format!("{base}/pay/{}", link.reference);
    json!({
        "reference": link.reference,
        "kind": link.kind.as_str(),
        "checkout_url": url,
        "link": url,
        "status": view.status.as_str(),
        "merchant": view.business.name,
        "phone": link.phone,
        "amount": major_number(link.amount, link.currency),
        "currency": link.currency.code(),
        "trace_number": link.trace_number,
        "item_name": link.item_name,
        "quantity": link.quantity,
        "reason": link.reason,
        "return_url": link.return_url,
        "callback_url": link.callback_url,
        "expires_at": crate::clock::iso_millis(link.expires_at),
        "attempts": link.attempts,
        "payment_id": link.payment_reference,
        "created_at": crate::clock::iso_millis(link.created_at),
        "status_code": 200,
        "message": "SUCCESS",
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/create/checkout",
    tag = "beqelal",
    request_body = CheckoutRequest,
    responses(
        (status = 200, description = "The link: `reference` and `checkout_url` of the hosted page, which expires after 10 minutes"),
        (status = 400, description = "A field error: {\"field\": [\"message\"]}"),
        (status = 409, description = "trace_number was already used"),
        (status = 479, description = "The caller's address is not on the allowlist"),
    ),
    security(("app_id" = [], "api_key" = []))
)]
pub async fn create_checkout(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> BeqelalResult {
    let base = public_base(&state, request.headers());
    let request: CheckoutRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    let created = state
        .services
        .create_payment_link(
            &auth.business_id,
            NewLink {
                kind: LinkKind::Checkout,
                phone: request.phone,
                amount: body::amount_text("amount", &request.amount)?,
                trace_number: request.trace_number,
                return_url: Some(request.return_url),
                callback_url: request.callback_url,
                expires_at: None,
                item_name: None,
                quantity: None,
                reason: None,
            },
        )
        .await?;
    let view = state
        .services
        .payment_link(&auth.business_id, &created.reference)
        .await?;
    Ok(Json(link_document(&view, &base)).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/create/payment-link",
    tag = "beqelal",
    request_body = PaymentLinkRequest,
    responses(
        (status = 200, description = "The link: `reference` and `link` (also `checkout_url`) of the hosted page"),
        (status = 400, description = "A field error: {\"field\": [\"message\"]}"),
        (status = 409, description = "trace_number was already used"),
        (status = 479, description = "The caller's address is not on the allowlist"),
    ),
    security(("app_id" = [], "api_key" = []))
)]
pub async fn create_payment_link(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> BeqelalResult {
    let base = public_base(&state, request.headers());
    let request: PaymentLinkRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    let created = state
        .services
        .create_payment_link(
            &auth.business_id,
            NewLink {
                kind: LinkKind::PaymentLink,
                phone: request.phone,
                amount: body::amount_text("amount", &request.amount)?,
                trace_number: request.trace_number,
                return_url: request.return_url,
                callback_url: Some(request.callback_url),
                expires_at: Some(request.expires_at),
                item_name: request.item_name,
                quantity: request.quantity,
                reason: request.reason,
            },
        )
        .await?;
    let view = state
        .services
        .payment_link(&auth.business_id, &created.reference)
        .await?;
    Ok(Json(link_document(&view, &base)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/payment-link/{reference}",
    tag = "beqelal",
    params(("reference" = String, Path, description = "The link's reference (lnk_…)")),
    responses(
        (status = 200, description = "The link, its status (OPEN, PAID, EXPIRED) and, once paid, `payment_id`"),
        (status = 400, description = "442 TRANSACTION_NOT_FOUND, also for another business's link"),
    ),
    security(("app_id" = [], "api_key" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    headers: axum::http::HeaderMap,
    Path(reference): Path<String>,
) -> BeqelalResult {
    let view = state
        .services
        .payment_link(&auth.business_id, &reference)
        .await?;
    Ok(Json(link_document(&view, &public_base(&state, &headers))).into_response())
}
