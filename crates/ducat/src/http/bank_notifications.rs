//! The bank's face: `POST /bank/v1/notifications/inflows` (docs/bank-adapter.md). The bank
//! signs each notification with the shared secret (`rail_http_notification_secret`); ducat
//! answers 200 only once the inflow is durably recorded, so the bank retries everything else.

use super::AppState;
use crate::rail::notifications::{
    self, InflowNotification, INFLOWS_PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use crate::rail::protocol::{codes, ErrorBody, ErrorDocument};
use crate::services::AppError;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new().route(INFLOWS_PATH, post(inflow))
}

fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorDocument {
            error: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
            },
        }),
    )
        .into_response()
}

async fn inflow(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let services = &state.services;
    let Some(configured) = services.config.rail_http_notification_secret.as_deref() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::UNAVAILABLE,
            "ducat has no rail_http_notification_secret configured",
        );
    };
    let secrets: Vec<&str> = configured.split(',').map(str::trim).collect();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now_secs = services.now_ms().div_euclid(1000);
    if let Err(e) = notifications::verify(
        &secrets,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        now_secs,
    ) {
        tracing::warn!(error = %e, "an inflow notification was refused");
        return refuse(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, e.to_string());
    }
    let notification: InflowNotification = match serde_json::from_slice(&body) {
        Ok(notification) => notification,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                codes::INVALID_REQUEST,
                format!("the notification is not valid JSON of the protocol: {e}"),
            )
        }
    };
    match services.bank_inflow_notification(&notification).await {
        Ok(ack) => Json(ack).into_response(),
        Err(AppError::Invalid { field, message }) => refuse(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            format!("{field} {message}"),
        ),
        Err(error) => {
            tracing::error!(%error, session_id = %notification.session_id, "an inflow notification could not be recorded");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::UNAVAILABLE,
                "the notification could not be recorded now; send it again",
            )
        }
    }
}
