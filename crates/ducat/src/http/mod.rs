//! The HTTP faces. Each face (Duplo, Beqelal, sandbox, operations) owns nothing but
//! translation: it parses and authenticates, calls one service, and maps the result and any
//! error back to its own exact shapes.

pub mod bank_notifications;
pub mod beqelal;
pub mod body;
pub mod dashboard;
pub mod duplo;
pub mod face;
pub mod hosted;
pub mod idempotency;
pub mod logos;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod pay_page;
pub mod sandbox;
pub mod serve;

use crate::services::Services;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderName, Request};
use axum::Router;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub metrics: Arc<metrics::Metrics>,
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

/// The address the request came from, after trusted-proxy handling.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(client_ip(parts, state))
    }
}

pub fn client_ip(parts: &Parts, state: &AppState) -> ClientIp {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    ClientIp(crate::ip::client_address(
        peer,
        forwarded,
        &state.trusted_proxies,
    ))
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A credential header sent twice is refused rather than one copy believed: a proxy in front
/// may read the other copy, and a request that means two callers is not one caller's.
pub fn credential_headers_once(
    headers: &axum::http::HeaderMap,
) -> Result<(), crate::services::AppError> {
    for name in [
        axum::http::header::AUTHORIZATION.as_str(),
        "app-id",
        "api-key",
    ] {
        if headers.get_all(name).iter().nth(1).is_some() {
            return Err(crate::services::AppError::Unauthenticated(format!(
                "the {name} header was sent more than once; send it once"
            )));
        }
    }
    Ok(())
}

/// A path or query that does not percent-decode to UTF-8, or decodes to a NUL (which no
/// reference or filter holds, and PostgreSQL cannot store), is refused here in the face's
/// shape, before an extractor could answer in plain text or a query could fail.
async fn refuse_unreadable_uri(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let readable = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .is_ok_and(|decoded| !decoded.contains('\0'))
    };
    let uri = request.uri();
    let unreadable = if !readable(uri.path()) {
        Some("path")
    } else if !uri.query().is_none_or(readable) {
        Some("query")
    } else {
        None
    };
    match unreadable {
        Some(part) => face::face_of(uri.path()).render(&crate::services::AppError::invalid(
            part,
            "must percent-decode to UTF-8 text without NUL characters",
        )),
        None => next.run(request).await,
    }
}

pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.services.config.request_timeout_secs);
    Router::new()
        .merge(duplo::router(state.clone()))
        .merge(beqelal::router(state.clone()))
        .merge(sandbox::router(state.clone()))
        .merge(bank_notifications::router())
        .merge(ops::router())
        .merge(hosted::router())
        .merge(logos::router())
        .merge(pay_page::router())
        .merge(dashboard::router())
        .fallback(face::not_found)
        .method_not_allowed_fallback(face::method_not_allowed)
        .layer(axum::middleware::from_fn(refuse_unreadable_uri))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            // Headers are deliberately not recorded: they carry keys.
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
