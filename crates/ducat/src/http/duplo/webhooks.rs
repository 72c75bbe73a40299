//! Registering the business's webhook, as Duplo's integrations do it.

use super::{ok, DuploResult};
use crate::documents::duplo_object_id;
use crate::http::{body, AppState};
use crate::services::auth::Authenticated;
use crate::services::businesses::PreferenceInput;
use axum::extract::{Request, State};
use axum::Extension;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

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
    request: Request,
) -> DuploResult {
    let request: RegisterWebhookRequest =
        body::json(request, state.services.config.max_body_bytes).await?;
    auth.require_business(&request.business_id)?;
    state
        .services
        .set_preferences(
            &auth.business_id,
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
