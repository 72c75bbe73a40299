//! Registering the business's webhook, as Duplo's integrations do it; listing its events and
//! their delivery attempts, redelivering one, and sending a test event.

use super::transactions::{present, whole_number};
use super::{ok, BusinessQuery, DuploResult};
use crate::clock::iso_millis;
use crate::documents::duplo_object_id;
use crate::http::{body, AppState, ClientIp};
use crate::services::audit::Actor;
use crate::services::auth::Authenticated;
use crate::services::businesses::PreferenceInput;
use crate::services::AppError;
use crate::store::businesses::BusinessRecord;
use crate::store::webhooks::{self as outbox, EventSummary, WebhookAttempt};
use axum::extract::{Path, Request, State};
use axum::http::Uri;
use axum::Extension;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

/// The events a Duplo-face webhook receives.
pub const DUPLO_EVENTS: [&str; 5] = [
    "ACCOUNT_INFLOW",
    "PAYOUT_PENDING",
    "PAYOUT_SUCCESSFUL",
    "PAYOUT_FAILED",
    "PAYOUT_ABANDONED",
];

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterWebhookRequest {
    pub business_id: String,
    pub webhook_url: String,
    /// Sent back as the DP-HASH-VERIFY header on every delivery.
    pub verify_hash: String,
}

#[utoipa::path(
    post,
    path = "/v1/merchants/businesses/webhook",
    tag = "duplo",
    request_body = RegisterWebhookRequest,
    responses(
        (status = 200, description = "The webhook: {id, webhook_url, verify_hash, services}"),
        (status = 400, description = "The URL is not http(s), or verify_hash is empty"),
    ),
    security(("bearer" = []))
)]
pub async fn register(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    ClientIp(ip): ClientIp,
    request: Request,
) -> DuploResult {
    let request: RegisterWebhookRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    state
        .services
        .set_preferences(
            &auth.business_id,
            &Actor::ApiKey {
                credential_id: auth.credential_id.clone(),
                ip,
            },
            PreferenceInput {
                webhook_url: Some(Some(request.webhook_url.clone())),
                verify_hash: Some(request.verify_hash.clone()),
                ..Default::default()
            },
        )
        .await?;
    ok(
        json!({
            "id": duplo_object_id(&format!("webhook:{}", auth.business_id)),
            "webhook_url": request.webhook_url.trim(),
            "verify_hash": request.verify_hash.trim(),
            "services": DUPLO_EVENTS,
        }),
        "Webhook saved successfully",
    )
}

/// Where the business's webhook endpoint stands: shown with its events, so a business whose
/// receiver answered 410 learns that nothing is being sent there.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointState {
    pub webhook_url: Option<String>,
    /// `enabled`, `disabled` (a receiver answered 410 Gone) or `not_set`.
    pub status: &'static str,
    pub disabled_url: Option<String>,
    pub disabled_at: Option<String>,
    pub disabled_reason: Option<String>,
    /// While a rotated-out secret still signs deliveries: until when.
    pub previous_secret_valid_until: Option<String>,
}

fn endpoint_state(business: &BusinessRecord, now_ms: i64) -> EndpointState {
    let status = match (&business.webhook_url, business.webhook_disabled_at) {
        (None, _) => "not_set",
        (Some(_), Some(_)) => "disabled",
        (Some(_), None) => "enabled",
    };
    EndpointState {
        webhook_url: business.webhook_url.clone(),
        status,
        disabled_url: business.webhook_disabled_url.clone(),
        disabled_at: business.webhook_disabled_at.map(iso_millis),
        disabled_reason: business.webhook_disabled_reason.clone(),
        previous_secret_valid_until: business
            .previous_webhook_secret_at(now_ms)
            .and(business.webhook_previous_secret_expires_at)
            .map(iso_millis),
    }
}

/// One event in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventListItem {
    pub event_id: String,
    pub event_type: String,
    pub transaction_ref: Option<String>,
    pub created_at: String,
    /// `pending`, `delivered`, `failed`, `disabled`, or `none` when the event had nowhere to go.
    pub delivery_status: String,
    pub attempts: i64,
    pub url: Option<String>,
}

impl From<&EventSummary> for EventListItem {
    fn from(event: &EventSummary) -> Self {
        EventListItem {
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            transaction_ref: event.transaction_ref.clone(),
            created_at: iso_millis(event.created_at),
            delivery_status: event
                .delivery_status
                .clone()
                .unwrap_or_else(|| "none".to_owned()),
            attempts: event.attempts,
            url: event.url.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    pub business_id: String,
    /// Page number, from 1.
    pub page: Option<String>,
    /// Events per page: 1 to 200, default 50.
    pub limit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/events",
    tag = "duplo",
    params(EventsQuery),
    responses(
        (status = 200, description = "The webhook endpoint's state and a page of the business's events, newest first, with where each delivery stands"),
        (status = 400, description = "A malformed page or limit"),
        (status = 401, description = "A missing, unknown or revoked key"),
        (status = 403, description = "business_id is not the key's"),
    ),
    security(("bearer" = []))
)]
pub async fn list_events(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    uri: Uri,
) -> DuploResult {
    let query: EventsQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    let page = whole_number("page", present(&query.page), 1, 1..=1_000_000)?;
    let limit = whole_number("limit", present(&query.limit), 50, 1..=200)?;
    let services = &state.services;
    let business = services.business(&auth.business_id).await?;
    let (events, total) =
        outbox::list_events(&services.store, &auth.business_id, page, limit).await?;
    ok(
        json!({
            "endpoint": endpoint_state(&business, services.now_ms()),
            "events": events.iter().map(EventListItem::from).collect::<Vec<_>>(),
            "pagination": {
                "page": page,
                "limit": limit,
                "total": total,
                "total_pages": (total + limit - 1) / limit,
            },
        }),
        "Webhook events retrieved successfully",
    )
}

/// One attempt to deliver an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptItem {
    pub attempted_at: String,
    pub url: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    /// The first KiB of the receiver's answer.
    pub response_body: Option<String>,
    pub error: Option<String>,
}

impl From<&WebhookAttempt> for AttemptItem {
    fn from(attempt: &WebhookAttempt) -> Self {
        AttemptItem {
            attempted_at: iso_millis(attempt.attempted_at),
            url: attempt.url.clone(),
            status_code: attempt.status_code,
            latency_ms: attempt.latency_ms,
            response_body: attempt.response_body.clone(),
            error: attempt.error.clone(),
        }
    }
}

/// The event, its delivery and its attempts, as the detail and the send answers show them.
async fn event_document(
    state: &AppState,
    auth: &Authenticated,
    event_id: &str,
) -> Result<serde_json::Value, AppError> {
    let store = &state.services.store;
    let (event_type, payload, transaction_ref, created_at) =
        outbox::event_of_business(store, &auth.business_id, event_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no event {event_id} for this business")))?;
    let delivery = outbox::delivery(store, event_id).await?;
    let attempts = outbox::attempts(store, event_id).await?;
    // The body as stored is the exact text sent; shown as JSON when it is (it always is).
    let body: serde_json::Value =
        serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload));
    Ok(json!({
        "event_id": event_id,
        "event_type": event_type,
        "transaction_ref": transaction_ref,
        "created_at": iso_millis(created_at),
        "body": body,
        "delivery": delivery.map(|d| json!({
            "url": d.url,
            "status": d.status,
            "attempts": d.attempts,
            "next_attempt_at": (d.status == "pending").then(|| iso_millis(d.next_attempt_at)),
            "delivered_at": d.delivered_at.map(iso_millis),
            "last_status_code": d.last_status_code,
            "last_error": d.last_error,
        })),
        "attempts": attempts.iter().map(AttemptItem::from).collect::<Vec<_>>(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/events/{event_id}",
    tag = "duplo",
    params(("event_id" = String, Path, description = "The event (`evt_…`)"), BusinessQuery),
    responses(
        (status = 200, description = "The event's body, its delivery and every attempt (time, URL, status code, latency, the first KiB of the answer, error)"),
        (status = 404, description = "The business has no such event"),
    ),
    security(("bearer" = []))
)]
pub async fn get_event(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(event_id): Path<String>,
    uri: Uri,
) -> DuploResult {
    let query: BusinessQuery = body::query(&uri)?;
    auth.require_business(&query.business_id)?;
    ok(
        event_document(&state, &auth, &event_id).await?,
        "Webhook event retrieved successfully",
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BusinessBody {
    pub business_id: String,
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/events/{event_id}/redeliver",
    tag = "duplo",
    params(("event_id" = String, Path, description = "The event (`evt_…`)")),
    request_body = BusinessBody,
    responses(
        (status = 200, description = "The event, its delivery back to pending with a fresh schedule (the worker sends it), and its attempts so far"),
        (status = 400, description = "The event had nowhere to go and no webhook URL is set"),
        (status = 404, description = "The business has no such event"),
    ),
    security(("bearer" = []))
)]
pub async fn redeliver(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    Path(event_id): Path<String>,
    request: Request,
) -> DuploResult {
    let request: BusinessBody = body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    state
        .services
        .redeliver_event(&auth.business_id, &event_id)
        .await?;
    ok(
        event_document(&state, &auth, &event_id).await?,
        "Webhook event queued for redelivery",
    )
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/test",
    tag = "duplo",
    request_body = BusinessBody,
    responses(
        (status = 200, description = "A WEBHOOK_TEST event appended and sent at once to the business's webhook URL: the event, its delivery and the attempt"),
        (status = 400, description = "No webhook URL is set"),
    ),
    security(("bearer" = []))
)]
pub async fn test(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> DuploResult {
    let request: BusinessBody = body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    let services = &state.services;
    let event_id = services.append_test_event(&auth.business_id).await?;
    services.deliver_event_now(&event_id).await?;
    ok(
        event_document(&state, &auth, &event_id).await?,
        "Test webhook sent",
    )
}
