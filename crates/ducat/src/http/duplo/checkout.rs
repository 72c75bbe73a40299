//! Pay-with-transfer checkout: create, verify.

use super::wallets::major_number;
use super::{ok, BusinessQuery, DuploResult};
use crate::documents::duplo_checkout_transaction;
use crate::http::face::duplo_envelope;
use crate::http::{body, AppState};
use crate::services::auth::Authenticated;
use crate::services::checkouts::{NewCheckout, Verification};
use crate::services::AppError;
use crate::store::checkouts::CheckoutRecord;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Extension;
use ducat_core::checkout::{Adjustment, FeeBearer, LineItem, Order};
use ducat_core::money::{parse_major, Currency, MinorUnits};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LineItemRequest {
    pub name: String,
    /// Naira, as a number or a string.
    #[schema(value_type = f64)]
    pub unit_price: Box<RawValue>,
    pub quantity: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AdjustmentRequest {
    /// `percentage` or `flat`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A percentage (e.g. 7.5) or naira.
    #[schema(value_type = f64)]
    pub value: Box<RawValue>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCheckoutRequest {
    pub business_id: String,
    pub customer_firstname: Option<String>,
    pub customer_lastname: Option<String>,
    pub customer_phone_number: Option<String>,
    pub customer_email: Option<String>,
    pub customer_ref: Option<String>,
    /// `customer` (default) or `business`: who pays the collection fee.
    pub fee_bearer: Option<String>,
    /// Only `pay-with-transfer` is offered.
    pub prefered_payment_method: Option<String>,
    #[schema(value_type = Option<f64>)]
    pub shipping_fee: Option<Box<RawValue>>,
    /// The total in naira when there are no line items (must agree with them when there are).
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Box<RawValue>>,
    pub line_items: Option<Vec<LineItemRequest>>,
    pub discount: Option<AdjustmentRequest>,
    pub tax: Option<AdjustmentRequest>,
    pub description: Option<String>,
    /// Where the hosted page sends the customer once paid.
    pub callback_url: Option<String>,
    pub metadata: Option<Value>,
}

fn naira(field: &str, raw: &RawValue) -> Result<MinorUnits, AppError> {
    let text = body::amount_text(field, raw)?;
    parse_major(&text, Currency::Ngn).map_err(|e| AppError::invalid(field, e.to_string()))
}

fn adjustment(field: &str, request: &AdjustmentRequest) -> Result<Adjustment, AppError> {
    match request.kind.as_str() {
        "percentage" => {
            // A percentage with two decimals is a whole number of basis points.
            let basis_points = naira(&format!("{field}.value"), &request.value)?.get();
            u32::try_from(basis_points)
                .ok()
                .filter(|bps| *bps <= 10_000)
                .map(|basis_points| Adjustment::Percentage { basis_points })
                .ok_or_else(|| {
                    AppError::invalid(
                        &format!("{field}.value"),
                        "must be a percentage from 0 to 100",
                    )
                })
        }
        "flat" => Ok(Adjustment::Flat(naira(
            &format!("{field}.value"),
            &request.value,
        )?)),
        other => Err(AppError::invalid(
            &format!("{field}.type"),
            format!("must be percentage or flat, not {other:?}"),
        )),
    }
}

fn new_checkout(request: &CreateCheckoutRequest) -> Result<NewCheckout, AppError> {
    match request.prefered_payment_method.as_deref() {
        None | Some("pay-with-transfer") => {}
        Some(other) => {
            return Err(AppError::invalid(
                "prefered_payment_method",
                format!("must be pay-with-transfer, not {other:?}"),
            ))
        }
    }
    let fee_bearer = match request.fee_bearer.as_deref() {
        None => FeeBearer::Customer,
        Some(text) => FeeBearer::parse(text).ok_or_else(|| {
            AppError::invalid(
                "fee_bearer",
                format!("must be customer or business, not {text:?}"),
            )
        })?,
    };
    let order = match &request.line_items {
        None => None,
        Some(items) if items.is_empty() => {
            return Err(AppError::invalid("line_items", "must not be empty"))
        }
        Some(items) => {
            let mut line_items = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if item.name.trim().is_empty() {
                    return Err(AppError::invalid(
                        &format!("line_items[{i}].name"),
                        "is required",
                    ));
                }
                if item.quantity == 0 {
                    return Err(AppError::invalid(
                        &format!("line_items[{i}].quantity"),
                        "must be at least 1",
                    ));
                }
                line_items.push(LineItem {
                    unit_price: naira(&format!("line_items[{i}].unit_price"), &item.unit_price)?,
                    quantity: item.quantity,
                });
            }
            Some(Order {
                line_items,
                shipping_fee: request
                    .shipping_fee
                    .as_deref()
                    .map(|raw| naira("shipping_fee", raw))
                    .transpose()?
                    .unwrap_or_default(),
                discount: request
                    .discount
                    .as_ref()
                    .map(|d| adjustment("discount", d))
                    .transpose()?,
                tax: request
                    .tax
                    .as_ref()
                    .map(|t| adjustment("tax", t))
                    .transpose()?,
            })
        }
    };
    let amount = request
        .amount
        .as_deref()
        .map(|raw| naira("amount", raw))
        .transpose()?;
    if order.is_none()
        && (request.discount.is_some() || request.tax.is_some() || request.shipping_fee.is_some())
    {
        return Err(AppError::invalid(
            "line_items",
            "are required with shipping_fee, discount or tax",
        ));
    }
    let order_json = json!({
        "line_items": request.line_items.as_ref().map(|items| items.iter().map(|i| json!({
            "name": i.name, "unit_price": i.unit_price.get(), "quantity": i.quantity,
        })).collect::<Vec<_>>()),
        "shipping_fee": request.shipping_fee.as_ref().map(|r| r.get()),
        "discount": request.discount.as_ref().map(|d| json!({ "type": d.kind, "value": d.value.get() })),
        "tax": request.tax.as_ref().map(|t| json!({ "type": t.kind, "value": t.value.get(), "description": t.description })),
        "metadata": request.metadata,
    });
    Ok(NewCheckout {
        customer_firstname: request.customer_firstname.clone(),
        customer_lastname: request.customer_lastname.clone(),
        customer_phone_number: request.customer_phone_number.clone(),
        customer_email: request.customer_email.clone(),
        customer_ref: request.customer_ref.clone(),
        fee_bearer,
        order,
        amount,
        description: request.description.clone().unwrap_or_default(),
        callback_url: request.callback_url.clone(),
        order_json: order_json.to_string(),
    })
}

/// Where the hosted page lives: the configured public URL, else the host the caller used.
pub fn public_base(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = &state.services.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| state.services.config.listen.to_string());
    format!("http://{host}")
}

pub fn checkout_document(checkout: &CheckoutRecord, base: &str, now_ms: i64) -> Value {
    let money = |amount: MinorUnits| major_number(amount, checkout.currency);
    json!({
        "checkout_reference": checkout.checkout_reference.as_str(),
        "checkout_url": format!("{base}/checkout/{}", checkout.checkout_reference),
        "status": checkout.status_at(now_ms).as_str(),
        "currency": checkout.currency.code(),
        "amount": money(checkout.amount_to_pay),
        "subtotal": money(checkout.subtotal),
        "discount": money(checkout.discount),
        "tax": money(checkout.tax),
        "shipping_fee": money(checkout.shipping_fee),
        "total": money(checkout.total),
        "fee_amount": money(checkout.fee),
        "fee_bearer": checkout.fee_bearer.as_str(),
        "bank_name": checkout.bank_name,
        "bank_code": checkout.bank_code,
        "account_number": checkout.account_number,
        "account_name": checkout.account_name,
        "account_ref": checkout.account_ref,
        "customer_ref": checkout.customer_ref,
        "callback_url": checkout.callback_url,
        "expires_at": crate::clock::iso_millis(checkout.expires_at),
        "created_at": crate::clock::iso_millis(checkout.created_at),
    })
}

#[utoipa::path(
    post,
    path = "/v1/checkout/",
    tag = "duplo",
    request_body = CreateCheckoutRequest,
    responses(
        (status = 200, description = "The checkout, its account to pay into, and the hosted page's URL"),
        (status = 400, description = "A field is missing or wrong (line items, amounts, fee_bearer)"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> DuploResult {
    let headers = request.headers().clone();
    let request: CreateCheckoutRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    let checkout = state
        .services
        .create_checkout(&auth.business_id, new_checkout(&request)?)
        .await?;
    ok(
        checkout_document(
            &checkout,
            &public_base(&state, &headers),
            state.services.now_ms(),
        ),
        "Checkout created successfully",
    )
}

#[utoipa::path(
    get,
    path = "/v1/checkout/verify-transaction/{checkout_reference}",
    tag = "duplo",
    params(("checkout_reference" = String, Path, description = "The checkout (`che_…`)"), BusinessQuery),
    responses(
        (status = 200, description = "Paid: the checkout's transaction, exactly as Duplo documents it"),
        (status = 404, description = "No checkout of this business has that reference"),
        (status = 422, description = "Not paid (yet): errors.checkout_status is pending or expired"),
    ),
    security(("bearer" = []))
)]
pub async fn verify(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(reference): Path<String>,
    uri: Uri,
) -> DuploResult {
    let query: BusinessQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    match state.services.verify_checkout(&auth.business_id, &reference).await? {
        Verification::Paid(record) => ok(
            json!({ "checkout_transaction_details": duplo_checkout_transaction(&record) }),
            "Request successful",
        ),
        Verification::NotPaid { status, expires_at } => Ok(duplo_envelope(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "checkout_status": status.as_str(), "expires_at": crate::clock::iso_millis(expires_at) }),
            &format!("checkout {reference} has not been paid (it is {})", status.as_str()),
        )
        .into_response()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/checkout/{checkout_reference}",
    tag = "duplo",
    params(("checkout_reference" = String, Path, description = "The checkout (`che_…`)"), BusinessQuery),
    responses(
        (status = 200, description = "The checkout with every payment attempt: credited or returned, and why"),
        (status = 404, description = "No checkout of this business has that reference"),
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(reference): Path<String>,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> DuploResult {
    let query: BusinessQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    let checkout = state
        .services
        .checkout(&auth.business_id, &reference)
        .await?;
    let attempts = state.services.checkout_attempts(&checkout).await?;
    let mut document = checkout_document(
        &checkout,
        &public_base(&state, &headers),
        state.services.now_ms(),
    );
    document["attempts"] = attempts
        .iter()
        .map(|attempt| {
            json!({
                "session_id": attempt.session_id,
                "amount": major_number(attempt.amount, checkout.currency),
                "outcome": attempt.outcome,
                "reason": attempt.reason,
                "transaction_ref": attempt.transaction_ref,
                "source_details": {
                    "bank_name": attempt.source_bank_name,
                    "account_name": attempt.source_account_name,
                    "account_number": attempt.source_account_number,
                },
                "date": crate::clock::iso_millis(attempt.created_at),
            })
        })
        .collect();
    ok(document, "Checkout retrieved successfully")
}
