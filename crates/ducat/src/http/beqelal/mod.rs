//! The Beqelal face (`/api/v1`): `app-id` + `api-key` headers, `{error: {…}}` bodies, the IP
//! allowlist answered with HTTP 479.

pub mod banks;
pub mod links;
pub mod payments;
pub mod withdrawals;

use super::face::Face;
use super::{client_ip, idempotency, AppState};
use crate::services::AppError;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

/// An `AppError` on its way out of a Beqelal handler.
#[derive(Debug)]
pub struct BeqelalError(pub AppError);

impl<E: Into<AppError>> From<E> for BeqelalError {
    fn from(error: E) -> Self {
        BeqelalError(error.into())
    }
}

impl IntoResponse for BeqelalError {
    fn into_response(self) -> Response {
        Face::Beqelal.render(&self.0)
    }
}

pub type BeqelalResult = Result<Response, BeqelalError>;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/list/banks", get(banks::list))
        .route("/api/v1/payment/request", post(payments::request))
        .route("/api/v1/payment/authorize", post(payments::authorize))
        .route("/api/v1/payment/{reference}", get(payments::get_one))
        .route("/api/v1/create/checkout", post(links::create_checkout))
        .route(
            "/api/v1/create/payment-link",
            post(links::create_payment_link),
        )
        .route("/api/v1/payment-link/{reference}", get(links::get_one))
        .route("/api/v1/withdraw/execute", post(withdrawals::execute))
        .route("/api/v1/withdraw/{reference_id}", get(withdrawals::get_one))
        .layer(middleware::from_fn_with_state(
            (state.clone(), Face::Beqelal),
            idempotency::enforce,
        ))
        .layer(middleware::from_fn_with_state(state, authenticate))
}

async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let ip = client_ip(&parts, &state);
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if let Err(error) = crate::http::credential_headers_once(&parts.headers) {
        return Face::Beqelal.render(&error);
    }
    let (Some(app_id), Some(api_key)) = (header("app-id"), header("api-key")) else {
        return Face::Beqelal.render(&AppError::Unauthenticated(
            "send both the app-id and api-key headers".to_owned(),
        ));
    };
    match state
        .services
        .authenticate_beqelal(&app_id, &api_key, ip.0)
        .await
    {
        Ok(authenticated) => {
            parts.extensions.insert(authenticated);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) => Face::Beqelal.render(&error),
    }
}
