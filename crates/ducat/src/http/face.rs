//! The error shapes of each face, in one place: every `AppError` becomes exactly one status and
//! body per face. Internal errors are logged here, with their whole cause chain, and never
//! returned.

use crate::services::AppError;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// Duplo's `{data, errors, message}` envelope. ducat's own sandbox and operations
    /// endpoints use it too, so an integrator sees one shape outside the Beqelal paths.
    Duplo,
    /// Beqelal's `{error: {status, status_code, message, detail}}` and field maps.
    Beqelal,
}

/// Beqelal's documented answer for a reference that is not the caller's.
pub const BEQELAL_NOT_FOUND_DETAIL: &str = "Transaction does not exist with this reference number.";

pub fn log_internal(error: &AppError) {
    let mut chain = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %format!("{error}{chain}"), "request failed");
}

impl Face {
    pub fn render(self, error: &AppError) -> Response {
        if let AppError::Internal(_) = error {
            log_internal(error);
        }
        let mut response = match self {
            Face::Duplo => duplo(error),
            Face::Beqelal => beqelal(error),
        };
        if let AppError::RateLimited {
            retry_after_secs, ..
        } = error
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_secs),
            );
        }
        response
    }
}

pub fn duplo_envelope(status: StatusCode, errors: Value, message: &str) -> Response {
    (
        status,
        Json(json!({ "data": null, "errors": errors, "message": message })),
    )
        .into_response()
}

/// The ordinary HTTP status of an error, for faces (Duplo's, the dashboard) that have no
/// codes of their own.
pub fn plain_status(error: &AppError) -> StatusCode {
    match error {
        AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) | AppError::IpNotAllowed(_) => StatusCode::FORBIDDEN,
        AppError::Conflict(_) | AppError::Refused { .. } => StatusCode::CONFLICT,
        AppError::InsufficientFunds(_) | AppError::Unprocessable(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn duplo(error: &AppError) -> Response {
    let status = plain_status(error);
    match error {
        AppError::Invalid { field, message } => duplo_envelope(
            status,
            json!({ field: message }),
            &format!("{field} {message}"),
        ),
        AppError::Internal(_) => duplo_envelope(
            status,
            json!({}),
            "An internal error occurred; it has been logged",
        ),
        AppError::NotFound(m)
        | AppError::Unauthenticated(m)
        | AppError::Forbidden(m)
        | AppError::Conflict(m)
        | AppError::InsufficientFunds(m)
        | AppError::Unprocessable(m)
        | AppError::Refused { detail: m, .. }
        | AppError::Unavailable(m)
        | AppError::PayloadTooLarge(m)
        | AppError::UnsupportedMediaType(m)
        | AppError::RateLimited { message: m, .. } => duplo_envelope(status, json!({}), m),
        AppError::IpNotAllowed(_) => duplo_envelope(status, json!({}), &error.to_string()),
    }
}

pub fn beqelal_error(status: StatusCode, code: &str, message: &str, detail: &str) -> Response {
    (
        status,
        Json(json!({
            "error": { "status": "FAILED", "status_code": code, "message": message, "detail": detail }
        })),
    )
        .into_response()
}

fn beqelal(error: &AppError) -> Response {
    match error {
        AppError::Invalid { field, message } => (
            StatusCode::BAD_REQUEST,
            Json(json!({ field: [format!("{field} {message}")] })),
        )
            .into_response(),
        AppError::NotFound(_) => beqelal_error(
            StatusCode::BAD_REQUEST,
            "442",
            "TRANSACTION_NOT_FOUND",
            BEQELAL_NOT_FOUND_DETAIL,
        ),
        AppError::IpNotAllowed(_) => beqelal_error(
            StatusCode::from_u16(479).expect("479 is a valid status code"),
            "479",
            "UNAUTHORIZED_IP_ACCESS",
            "Unauthorized IP address access.",
        ),
        AppError::Unauthenticated(m) => {
            beqelal_error(StatusCode::UNAUTHORIZED, "401", "UNAUTHORIZED", m)
        }
        AppError::Forbidden(m) => beqelal_error(StatusCode::FORBIDDEN, "403", "FORBIDDEN", m),
        AppError::Conflict(m) => beqelal_error(StatusCode::CONFLICT, "409", "DUPLICATE_REQUEST", m),
        AppError::InsufficientFunds(m) => {
            beqelal_error(StatusCode::BAD_REQUEST, "422", "INSUFFICIENT_BALANCE", m)
        }
        AppError::Refused { code, name, detail } => {
            beqelal_error(StatusCode::BAD_REQUEST, code, name, detail)
        }
        AppError::Unprocessable(m) => {
            beqelal_error(StatusCode::UNPROCESSABLE_ENTITY, "422", "UNPROCESSABLE", m)
        }
        AppError::Unavailable(m) => beqelal_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "503",
            "SERVICE_UNAVAILABLE",
            m,
        ),
        AppError::PayloadTooLarge(m) => {
            beqelal_error(StatusCode::PAYLOAD_TOO_LARGE, "413", "PAYLOAD_TOO_LARGE", m)
        }
        AppError::UnsupportedMediaType(m) => beqelal_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "415",
            "UNSUPPORTED_MEDIA_TYPE",
            m,
        ),
        AppError::RateLimited { message, .. } => beqelal_error(
            StatusCode::TOO_MANY_REQUESTS,
            "429",
            "TOO_MANY_REQUESTS",
            message,
        ),
        AppError::Internal(_) => beqelal_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500",
            "INTERNAL_ERROR",
            "An internal error occurred; it has been logged",
        ),
    }
}

/// Which face a path belongs to, for answers given before any face's router ran.
pub fn face_of(path: &str) -> Face {
    if path.starts_with("/api/") {
        Face::Beqelal
    } else {
        Face::Duplo
    }
}

/// An unknown path. On the Beqelal face this is not a 442: no transaction was asked about.
pub async fn not_found(uri: Uri) -> Response {
    let message = format!("no endpoint at {}", uri.path());
    match face_of(uri.path()) {
        Face::Duplo => duplo_envelope(StatusCode::NOT_FOUND, json!({}), &message),
        Face::Beqelal => beqelal_error(StatusCode::NOT_FOUND, "404", "NOT_FOUND", &message),
    }
}

pub async fn method_not_allowed(uri: Uri) -> Response {
    let message = format!("{} does not accept this method", uri.path());
    match face_of(uri.path()) {
        Face::Duplo => duplo_envelope(StatusCode::METHOD_NOT_ALLOWED, json!({}), &message),
        Face::Beqelal => beqelal_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "405",
            "METHOD_NOT_ALLOWED",
            &message,
        ),
    }
}
