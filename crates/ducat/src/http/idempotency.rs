//! `Idempotency-Key` on every POST: the same key and body replay the stored answer (with
//! `Idempotent-Replayed: true`), the same key with another body is 422, and a retry while the
//! first request still runs is 409. Keys are scoped to the authenticated business.

use super::face::Face;
use super::AppState;
use crate::services::auth::Authenticated;
use crate::services::AppError;
use crate::store::idempotency::{self, Claim, SavedResponse};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const HEADER: &str = "idempotency-key";
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// An answer is small JSON; anything larger is not worth remembering byte for byte.
const MAX_SAVED_RESPONSE_BYTES: usize = 1024 * 1024;

pub async fn enforce(
    State((state, face)): State<(AppState, Face)>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    let Some(auth) = request.extensions().get::<Authenticated>().cloned() else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_owned()
        }
        _ => {
            return face.render(&AppError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ))
        }
    };
    let services = &state.services;
    let (parts, body) = request.into_parts();
    let limit = services.config.max_body_bytes;
    let bytes = match super::body::read_limited(body, limit).await {
        Ok(bytes) => bytes,
        Err(error) => return face.render(&error),
    };
    let fingerprint = fingerprint(parts.method.as_str(), &parts.uri.to_string(), &bytes);
    let retention_ms = i64::try_from(services.config.idempotency_retention_secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let claim = idempotency::claim(
        &services.store,
        &auth.business_id,
        &key,
        &fingerprint,
        services.now_ms(),
        retention_ms,
    )
    .await;
    match claim {
        Err(error) => face.render(&error.into()),
        Ok(Claim::Mismatch) => face.render(&AppError::Unprocessable(
            "this Idempotency-Key was already used for a different request".to_owned(),
        )),
        Ok(Claim::InProgress) => face.render(&AppError::Conflict(
            "a request with this Idempotency-Key is still being processed; retry later".to_owned(),
        )),
        Ok(Claim::Replay(saved)) => replay(saved),
        Ok(Claim::Claimed) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            remember(&state, face, &auth, &key, response).await
        }
    }
}

/// What makes two requests "the same": method, path with query, and the exact body bytes.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method);
    hasher.update(b" ");
    hasher.update(path_and_query);
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

async fn remember(
    state: &AppState,
    face: Face,
    auth: &Authenticated,
    key: &str,
    response: Response,
) -> Response {
    let store = &state.services.store;
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_SAVED_RESPONSE_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let _ = idempotency::release(store, &auth.business_id, key).await;
            return face.render(&AppError::Internal("response too large to remember".into()));
        }
    };
    // A server error may be transient: let the client retry with the same key.
    let outcome = if parts.status.is_server_error() {
        idempotency::release(store, &auth.business_id, key).await
    } else {
        let headers = parts
            .headers
            .iter()
            .filter(|(name, _)| *name == axum::http::header::CONTENT_TYPE)
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect();
        let saved = SavedResponse {
            status: parts.status.as_u16(),
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        idempotency::complete(store, &auth.business_id, key, &saved).await
    };
    if let Err(error) = outcome {
        tracing::error!(error = %error, "could not record an idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(saved: SavedResponse) -> Response {
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
    let mut response = (status, saved.body).into_response();
    let headers = response.headers_mut();
    for (name, value) in saved.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
