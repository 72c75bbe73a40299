//! The webhooks page: where events go and with what verify hash, the signing secret (masked,
//! revealed or rotated on request), a test event, and the delivery log with redelivery.

use super::format::{when, when_precise};
use super::layout::{
    badge, button_form, csrf, page, pager, role_note, secret_once, Notice, Section,
};
use super::{describe, html, see_other, PageResult, Post, Signed};
use crate::http::AppState;
use crate::services::businesses::PreferenceInput;
use crate::services::AppError;
use crate::store::dashboard_integration::{delivery_log, DeliveryLogRow};
use crate::store::webhooks as outbox;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use ducat_core::roles::Action;
use maud::{html as markup, Markup};
use serde::Deserialize;

const PATH: &str = "/dashboard/webhooks";
const PER_PAGE: i64 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(webhooks_page))
        .route("/dashboard/webhooks/save", post(save))
        .route("/dashboard/webhooks/reveal", post(reveal))
        .route("/dashboard/webhooks/rotate", post(rotate))
        .route("/dashboard/webhooks/test", post(send_test))
        .route(
            "/dashboard/webhooks/events/{event_id}/redeliver",
            post(redeliver),
        )
}

#[derive(Debug, Deserialize)]
struct WebhooksQuery {
    done: Option<String>,
    page: Option<String>,
}

/// What the page shows besides the stored state: a secret shown once, and what was typed into
/// the form that failed.
#[derive(Default)]
struct Extra {
    secret: Option<(&'static str, String, Option<String>)>,
    typed_url: Option<String>,
    typed_hash: Option<String>,
    page: i64,
}

async fn webhooks_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<WebhooksQuery>,
) -> PageResult {
    let notice = match query.done.as_deref() {
        Some("saved") => Some(Notice::success("The webhook settings were saved.")),
        Some("cleared") => Some(Notice::success(
            "The webhook URL was removed: events are no longer sent anywhere.",
        )),
        Some("redelivered") => Some(Notice::success(
            "The event is queued to be sent again; the delivery log below shows how it went.",
        )),
        _ => None,
    };
    let page_number = query
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let extra = Extra {
        page: page_number,
        ..Extra::default()
    };
    render(&state, &signed, StatusCode::OK, notice, extra).await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice: Option<Notice>,
    extra: Extra,
) -> PageResult {
    let store = &state.services.store;
    let page_number = extra.page.max(1);
    let (events, total) = delivery_log(
        store,
        &signed.business.id,
        PER_PAGE,
        (page_number - 1) * PER_PAGE,
    )
    .await?;
    let content = content(state, signed, &events, total, page_number, &extra);
    Ok(html(
        status,
        page(signed, Section::Webhooks, notice.as_ref(), content),
    ))
}

fn content(
    state: &AppState,
    signed: &Signed,
    events: &[DeliveryLogRow],
    total: i64,
    page_number: i64,
    extra: &Extra,
) -> Markup {
    let business = &signed.business;
    let now = state.services.now_ms();
    let may_manage = signed.may(Action::ManageWebhooks);
    let may_reveal = signed.may(Action::RevealWebhookSecret);
    let url_value = extra
        .typed_url
        .clone()
        .or_else(|| business.webhook_url.clone())
        .unwrap_or_default();
    let previous_until = business
        .previous_webhook_secret_at(now)
        .and(business.webhook_previous_secret_expires_at);
    markup! {
        h1 { "Webhooks" }
        @if let Some((label, secret, note)) = &extra.secret {
            section.card aria-label="Webhook secret" {
                (secret_once(label, "webhook-secret", secret))
                @if let Some(note) = note { p { (note) } }
            }
        }
        section.card aria-label="Endpoint" {
            h2 { "Endpoint" }
            dl.facts {
                dt { "URL" }
                dd id="webhook-url" {
                    @match &business.webhook_url {
                        Some(url) => code { (url) },
                        None => span.muted { "Not set: events are recorded but sent nowhere." },
                    }
                }
                dt { "State" }
                dd id="webhook-state" {
                    @match (&business.webhook_url, business.webhook_disabled_at) {
                        (None, _) => (badge("not set")),
                        (Some(_), Some(_)) => (badge("disabled")),
                        (Some(_), None) => (badge("active")),
                    }
                }
                @if let Some(at) = business.webhook_disabled_at {
                    dt { "Disabled" }
                    dd id="webhook-disabled" {
                        "Since " (when(at))
                        @if let Some(url) = &business.webhook_disabled_url { ": the receiver at " code { (url) } }
                        @if let Some(reason) = &business.webhook_disabled_reason { " (" (reason) ")" }
                        ". Nothing is sent there until a webhook URL is saved again; then redeliver what it missed."
                    }
                }
                dt { "Signing secret" }
                dd { code id="webhook-secret-masked" { "whsec_••••" } }
                @if let Some(until) = previous_until {
                    dt { "Previous secret" }
                    dd { "Also signs deliveries until " (when_precise(until)) "." }
                }
                dt { "Verify hash" }
                dd {
                    @if may_reveal { code id="current-verify-hash" { (business.verify_hash) } }
                    @else { span.muted { "set (hidden from your role)" } }
                }
            }
            @if may_reveal || may_manage {
                p {
                    @if may_reveal {
                        (button_form(signed, "/dashboard/webhooks/reveal", "Reveal secret", None))
                        " "
                    }
                    @if may_manage {
                        (button_form(
                            signed,
                            "/dashboard/webhooks/rotate",
                            "Rotate secret",
                            Some("Rotate the webhook secret? The current one keeps signing for the overlap, then stops."),
                        ))
                        " "
                        (button_form(signed, "/dashboard/webhooks/test", "Send test event", None))
                    }
                }
            }
        }
        h2 { "Settings" }
        @if may_manage {
            form.stack method="post" action="/dashboard/webhooks/save" {
                (csrf(signed))
                label for="webhook_url" { "Webhook URL" }
                input #webhook_url type="url" name="webhook_url" value=(url_value) placeholder="https://example.com/webhooks/ducat" inputmode="url";
                p.hint { "Leave empty to stop sending events." }
                label for="verify_hash" { "Verify hash" }
                input #verify_hash type="text" name="verify_hash" value=(extra.typed_hash.clone().unwrap_or_default()) autocomplete="off";
                p.hint { "Sent as the DP-HASH-VERIFY header. Leave empty to keep the current one." }
                button.primary type="submit" { "Save webhook" }
            }
        } @else {
            (role_note(signed, Action::ManageWebhooks))
        }
        section.card aria-label="How to verify" {
            h2 { "How to verify" }
            p {
                "Every delivery carries " code { "webhook-id" } " (the event id, the same on every retry: de-duplicate on it), "
                code { "webhook-timestamp" } " (unix seconds) and " code { "webhook-signature" } ": "
                code { "v1,<base64 HMAC-SHA256>" } " of " code { "{webhook-id}.{webhook-timestamp}.{body}" }
                ", keyed with the base64 part of your " code { "whsec_…" } " secret. During a rotation's overlap it carries two signatures; accept the delivery when one matches."
            }
            p {
                "Use any Standard Webhooks library with the raw body, and reject old timestamps. Duplo integrations may also compare "
                code { "DP-HASH-VERIFY" } " with the verify hash, in constant time."
            }
        }
        h2 { "Delivery log" }
        @if events.is_empty() {
            p.muted { "No events yet." }
        } @else {
            div.table-wrap {
                table id="deliveries" {
                    thead {
                        tr {
                            th { "When" } th { "Event" } th { "Type" } th { "Delivery" }
                            th.num { "Attempts" } th { "Last answer" } th { "Transaction" }
                            @if may_manage { th { span.visually-hidden { "Actions" } } }
                        }
                    }
                    tbody {
                        @for event in events {
                            tr {
                                td { (when(event.created_at)) }
                                td { code { (event.event_id) } }
                                td { (event.event_type) }
                                td {
                                    @match &event.delivery_status {
                                        Some(status) => (badge(status)),
                                        None => span.muted { "nowhere to go" },
                                    }
                                }
                                td.num { (event.attempts) }
                                td {
                                    @match (event.last_status_code, &event.last_error) {
                                        (Some(code), _) => { "HTTP " (code) }
                                        (None, Some(error)) => span.muted { (error) },
                                        (None, None) => span.muted { "—" },
                                    }
                                }
                                td {
                                    @match &event.transaction_ref {
                                        Some(reference) => a href=(format!("/dashboard/transactions/{reference}")) { code { (reference) } },
                                        None => span.muted { "—" },
                                    }
                                }
                                @if may_manage {
                                    td {
                                        (button_form(
                                            signed,
                                            &format!("/dashboard/webhooks/events/{}/redeliver", event.event_id),
                                            "Redeliver",
                                            None,
                                        ))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager("", page_number, PER_PAGE, total, PATH))
        }
    }
}

async fn error_page(
    state: &AppState,
    signed: &Signed,
    error: &AppError,
    extra: Extra,
) -> PageResult {
    let (status, message) = describe(error);
    render(state, signed, status, Some(Notice::error(message)), extra).await
}

async fn save(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageWebhooks)?;
    let url = post.form.value("webhook_url");
    let hash = post.form.value("verify_hash");
    let changes = PreferenceInput {
        webhook_url: Some(url.map(str::to_owned)),
        verify_hash: hash.map(str::to_owned),
        ..PreferenceInput::default()
    };
    match state
        .services
        .set_preferences(&signed.business.id, &signed.actor(), changes)
        .await
    {
        Ok(()) if url.is_none() => see_other("/dashboard/webhooks?done=cleared"),
        Ok(()) => see_other("/dashboard/webhooks?done=saved"),
        Err(error) => {
            let extra = Extra {
                typed_url: Some(post.form.get("webhook_url").to_owned()),
                typed_hash: Some(post.form.get("verify_hash").to_owned()),
                ..Extra::default()
            };
            error_page(&state, signed, &error, extra).await
        }
    }
}

async fn reveal(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::RevealWebhookSecret)?;
    let services = &state.services;
    // Read afresh: the secret may have been rotated since the session's page was built.
    let business = services.business(&signed.business.id).await?;
    let secret = services
        .keys
        .decrypt(&business.webhook_secret_enc)
        .map_err(|e| {
            AppError::Internal(format!("the webhook secret does not decrypt: {e}").into())
        })?;
    let mut tx = services.store.begin().await?;
    services
        .audit(
            &mut tx,
            &business.id,
            &signed.actor(),
            "webhook_secret.revealed",
            "the webhook secret was shown in the dashboard",
        )
        .await?;
    tx.commit().await?;
    let extra = Extra {
        secret: Some(("Webhook secret", secret, None)),
        ..Extra::default()
    };
    render(&state, signed, StatusCode::OK, None, extra).await
}

async fn rotate(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageWebhooks)?;
    let services = &state.services;
    match services
        .rotate_webhook_secret(
            &signed.business.id,
            &signed.actor(),
            services.config.webhook_secret_overlap_secs,
        )
        .await
    {
        Ok(rotated) => {
            let note = format!(
                "Until {} deliveries are signed with the previous secret too, so your receiver can switch without missing one.",
                rotated.previous_secret_valid_until
            );
            let notice = Notice::success("The webhook secret was rotated.");
            let extra = Extra {
                secret: Some(("New webhook secret", rotated.webhook_secret, Some(note))),
                ..Extra::default()
            };
            // The page shows the business as it is now (the previous secret's overlap).
            let mut signed = signed.clone();
            signed.business = services.business(&signed.business.id).await?;
            render(&state, &signed, StatusCode::OK, Some(notice), extra).await
        }
        Err(error) => error_page(&state, signed, &error, Extra::default()).await,
    }
}

async fn send_test(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageWebhooks)?;
    let services = &state.services;
    let event_id = match services.append_test_event(&signed.business.id).await {
        Ok(event_id) => event_id,
        Err(error) => return error_page(&state, signed, &error, Extra::default()).await,
    };
    services.deliver_event_now(&event_id).await?;
    let delivery = outbox::delivery(&services.store, &event_id).await?;
    let notice = match delivery {
        Some(delivery) => match delivery.status.as_str() {
            "delivered" => Notice::success(format!(
                "Test event {event_id} delivered: the receiver answered HTTP {}.",
                delivery
                    .last_status_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "2xx".to_owned())
            )),
            "disabled" => Notice::error(format!(
                "Test event {event_id} was not sent: the endpoint is disabled ({}). Save the webhook URL again to re-enable it.",
                delivery.last_error.as_deref().unwrap_or("the receiver answered 410 Gone")
            )),
            "pending" | "failed" => {
                let why = match (delivery.last_status_code, delivery.last_error.as_deref()) {
                    (Some(code), _) => format!("the receiver answered HTTP {code}"),
                    (None, Some(error)) => error.to_owned(),
                    (None, None) => "it could not be sent yet".to_owned(),
                };
                Notice::error(format!(
                    "Test event {event_id} failed: {why}. It is retried on the schedule; the delivery log shows how it goes."
                ))
            }
            other => Notice::error(format!("Test event {event_id}: delivery {other}.")),
        },
        None => Notice::error(format!("Test event {event_id} had nowhere to go.")),
    };
    let mut signed = signed.clone();
    signed.business = services.business(&signed.business.id).await?;
    render(
        &state,
        &signed,
        StatusCode::OK,
        Some(notice),
        Extra::default(),
    )
    .await
}

async fn redeliver(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    post: Post,
) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageWebhooks)?;
    match state
        .services
        .redeliver_event(&signed.business.id, &event_id)
        .await
    {
        Ok(()) => see_other("/dashboard/webhooks?done=redelivered"),
        Err(AppError::NotFound(_)) => {
            let notice = Notice::error("This business has no such event.");
            render(
                &state,
                signed,
                StatusCode::NOT_FOUND,
                Some(notice),
                Extra::default(),
            )
            .await
        }
        Err(error) => error_page(&state, signed, &error, Extra::default()).await,
    }
}
