//! The sandbox tools (`/sandbox/v1`), for test mode only: the SMS outbox and a bank that sends
//! inbound transfers on request. Either of a business's test credentials authenticates.

use super::duplo::{ok, DuploError, DuploResult};
use super::face::Face;
use super::{body, client_ip, idempotency, AppState};
use crate::services::auth::Authenticated;
use crate::services::inflows::InboundTransfer;
use crate::services::AppError;
use crate::store::businesses::Mode;
use crate::store::sms;
use axum::extract::{Request, State};
use axum::http::{header, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/sandbox/v1/sms", get(list_sms))
        .route("/sandbox/v1/bank/transfers", post(inbound_transfer))
        .layer(middleware::from_fn_with_state(
            (state.clone(), Face::Duplo),
            idempotency::enforce,
        ))
        .layer(middleware::from_fn_with_state(state, authenticate))
}

async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let ip = client_ip(&parts, &state).0;
    if let Err(error) = crate::http::credential_headers_once(&parts.headers) {
        return Face::Duplo.render(&error);
    }
    let header_value = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let bearer = header_value(header::AUTHORIZATION.as_str())
        .and_then(|v| v.strip_prefix("Bearer ").map(|k| k.trim().to_owned()));
    let services = &state.services;
    let result = match (bearer, header_value("app-id"), header_value("api-key")) {
        (Some(secret_key), _, _) => services.authenticate_duplo(&secret_key, ip).await,
        (None, Some(app_id), Some(api_key)) => {
            services.authenticate_beqelal(&app_id, &api_key, ip).await
        }
        (None, _, _) => Err(AppError::Unauthenticated(
            "send Authorization: Bearer <test secret key>, or the app-id and api-key headers"
                .to_owned(),
        )),
    };
    let result = result.and_then(|auth| match auth.mode {
        Mode::Test => Ok(auth),
        Mode::Live => Err(AppError::Forbidden(
            "the sandbox is available to test-mode credentials only".to_owned(),
        )),
    });
    match result {
        Ok(authenticated) => {
            parts.extensions.insert(authenticated);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) => Face::Duplo.render(&error),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SmsQuery {
    /// Only messages to this E.164 number.
    pub phone: Option<String>,
    /// How many, newest first (1 to 200, default 20).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsEntry {
    pub id: String,
    pub to: String,
    pub body: String,
    pub created_at: String,
}

#[utoipa::path(
    get,
    path = "/sandbox/v1/sms",
    tag = "sandbox",
    params(SmsQuery),
    responses((status = 200, description = "The SMS outbox, newest first", body = super::openapi::Envelope<Vec<SmsEntry>>)),
    security(("bearer" = []), ("app_id" = [], "api_key" = []))
)]
pub async fn list_sms(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    uri: Uri,
) -> DuploResult {
    let query: SmsQuery = body::query(&uri)?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 200").into());
    }
    let phone = query
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let messages = sms::list(&state.services.store, &auth.business_id, phone, limit).await?;
    let entries: Vec<SmsEntry> = messages
        .into_iter()
        .map(|m| SmsEntry {
            id: m.id,
            to: m.to,
            body: m.body,
            created_at: crate::clock::iso_millis(m.created_at),
        })
        .collect();
    ok(entries, "SMS messages retrieved successfully")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SandboxTransferRequest)]
pub struct TransferRequest {
    /// The receiving account: a wallet's funding account, a checkout's or a virtual account.
    pub account_number: String,
    /// Major units, as a number or a string.
    #[schema(value_type = f64, exclusive_minimum = 0)]
    pub amount: Box<RawValue>,
    /// Send the same session id again to simulate the bank repeating a notification.
    #[schema(pattern = r"^[A-Za-z0-9]{1,64}$")]
    pub session_id: Option<String>,
    pub source_bank_code: Option<String>,
    pub source_account_number: Option<String>,
    pub source_account_name: Option<String>,
    pub narration: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferOutcome {
    pub session_id: String,
    pub status: String,
    pub transaction_ref: Option<String>,
    /// Why the money went back to the sender, when it did.
    pub reason: Option<String>,
    pub duplicate: bool,
}

#[utoipa::path(
    post,
    path = "/sandbox/v1/bank/transfers",
    tag = "sandbox",
    request_body = TransferRequest,
    responses(
        (status = 200, description = "The bank delivered the transfer", body = super::openapi::Envelope<TransferOutcome>),
        (status = 400, description = "A malformed field"),
        (status = 404, description = "No account of this business has that number"),
    ),
    security(("bearer" = []), ("app_id" = [], "api_key" = []))
)]
pub async fn inbound_transfer(
    State(state): State<AppState>,
    Extension(auth): Extension<Authenticated>,
    request: Request,
) -> DuploResult {
    let input: TransferRequest = body::json(request, state.services.config.max_body_bytes).await?;
    let amount = body::amount_text("amount", &input.amount)?;
    let source_bank_name = input.source_bank_code.as_deref().map(|code| {
        ducat_core::banks::find_institution(ducat_core::money::Currency::Ngn, code)
            .or_else(|| ducat_core::banks::find_institution(ducat_core::money::Currency::Etb, code))
            .map(|bank| bank.name.to_owned())
            .unwrap_or_else(|| code.to_owned())
    });
    let outcome = state
        .services
        .sandbox_inbound_transfer(
            &auth.business_id,
            auth.mode,
            InboundTransfer {
                account_number: input.account_number.trim().to_owned(),
                amount,
                session_id: input.session_id,
                source_bank_name,
                source_account_number: input.source_account_number,
                source_account_name: input.source_account_name,
                narration: input.narration,
            },
        )
        .await
        .map_err(DuploError)?;
    ok(
        TransferOutcome {
            session_id: outcome.session_id,
            status: outcome.status,
            transaction_ref: outcome.transaction_ref,
            reason: outcome.reason,
            duplicate: outcome.duplicate,
        },
        "Transfer delivered",
    )
}
