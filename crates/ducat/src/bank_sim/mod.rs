//! `ducat bank-sim`: the reference server of the bank-adapter protocol (docs/bank-adapter.md).
//!
//! It resolves names and decides transfers by the sandbox's magic values
//! (`ducat_core::banks::sandbox_behaviour`), applies each transfer reference once in its own
//! SQLite file, and injects faults on demand: per request (the `X-Bank-Sim-Fault` header), armed
//! in advance for the next requests (`POST /admin/faults`), or by rate; and it can be made
//! unavailable for a while (`POST /admin/down`).
//!
//! A dropped answer is real: after (or instead of) the commit, the handler unwinds without a
//! panic message and the server's connection task ends, closing the TCP connection without a
//! byte of answer. The client sees "connection closed before message completed".

pub mod debits;
pub mod faults;
pub mod inflows;
pub mod statements;
pub mod store;

use crate::rail::protocol::{
    codes, ErrorBody, ErrorDocument, NameEnquiryAnswer, NameEnquiryRequest, TransferDocument,
    TransferRequest, WireStatus, FAULT_HEADER,
};
use crate::rail::sandbox;
use crate::rail::RailError;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ducat_core::money::Currency;
use faults::{Failure, Fault, FaultPlan, FaultRates};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{AppliedTransfer, SimStore, SimStoreError};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct BankSimConfig {
    pub database: PathBuf,
    /// Required as `Authorization: Bearer <token>` on every request when set.
    pub token: Option<String>,
    pub rates: FaultRates,
    /// How long the simulated customer takes to approve a push prompt for a direct debit.
    pub push_approve_after: Duration,
    /// Where inflow notifications go, signed with what.
    pub notify: inflows::NotifyConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum BankSimError {
    #[error(transparent)]
    Store(#[from] SimStoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

struct SimState {
    store: SimStore,
    token: Option<String>,
    rates: FaultRates,
    armed: Mutex<VecDeque<Fault>>,
    /// Shared with the notification sender: a bank that is down sends nothing either.
    down_until: Arc<Mutex<Option<Instant>>>,
    requests: AtomicU64,
    push_approve_after: Duration,
}

type Shared = Arc<SimState>;

/// Serves the bank-sim on `listener` until `shutdown` resolves.
pub async fn serve<F>(
    config: BankSimConfig,
    listener: TcpListener,
    shutdown: F,
) -> Result<(), BankSimError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let store = SimStore::open(&config.database).await?;
    let state = Arc::new(SimState {
        store: store.clone(),
        token: config.token,
        rates: config.rates,
        armed: Mutex::new(VecDeque::new()),
        down_until: Arc::new(Mutex::new(None)),
        requests: AtomicU64::new(0),
        push_approve_after: config.push_approve_after,
    });
    let sender = inflows::spawn_sender(
        store.pool().clone(),
        config.notify,
        state.down_until.clone(),
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    sender.abort();
    store.close().await;
    Ok(())
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/v1/name-enquiry", post(name_enquiry))
        .route("/v1/transfers", post(transfer))
        .route("/v1/transfers/{reference}", get(transfer_status))
        .route("/v1/statements/{date}", get(statements::statement))
        .route("/admin/down", post(admin_down))
        .route("/admin/faults", post(admin_faults))
        .route("/admin/transfers", get(admin_transfers))
        .route("/admin/stats", get(admin_stats))
        .route("/v1/accounts", post(inflows::open_account))
        .route(
            "/admin/inflows",
            post(inflows::admin_create).get(inflows::admin_list),
        )
        .route("/v1/debits", post(debits::request))
        .route("/v1/debits/{reference}", get(debits::status))
        .route("/v1/debits/{reference}/authorize", post(debits::authorize))
        .route("/admin/debits", get(debits::admin_debits))
        .route("/admin/sms", get(debits::admin_sms))
        .with_state(state)
}

/// The bank-sim's one error: a refusal in the protocol's error shape.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorDocument {
                error: ErrorBody {
                    code: self.code.to_owned(),
                    message: self.message,
                },
            }),
        )
            .into_response()
    }
}

fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
    }
}

/// Ends the request without an answer: the connection task unwinds and the socket closes.
/// `resume_unwind` skips the panic hook, so nothing is printed.
fn drop_connection() -> ! {
    std::panic::resume_unwind(Box::new("bank-sim dropped the answer"))
}

/// What an admitted request suffers once it has done its work: a lost answer, or a long wait
/// before the answer.
async fn after_apply(failure: Option<Failure>) {
    match failure {
        Some(Failure::HangAfterApply(delay)) => tokio::time::sleep(delay).await,
        Some(Failure::DropAfterApply | Failure::DropBeforeApply | Failure::Error(_)) => {
            drop_connection()
        }
        None => {}
    }
}

fn authorized(state: &SimState, headers: &HeaderMap) -> bool {
    let Some(token) = &state.token else {
        return true;
    };
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}

/// Whether `POST /admin/down` put the bank down and its time is not over yet.
fn is_down(down_until: &Mutex<Option<Instant>>) -> bool {
    down_until
        .lock()
        .map(|until| until.is_some_and(|until| Instant::now() < until))
        .unwrap_or(false)
}

/// What every `/v1` request goes through before its handler: counting, authentication, being
/// down, then the faults (latency applied here; a failure returned to the handler).
async fn admit(state: &SimState, headers: &HeaderMap) -> Result<Option<Failure>, Refusal> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if !authorized(state, headers) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "a valid Authorization: Bearer token is required",
        ));
    }
    if is_down(&state.down_until) {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::UNAVAILABLE,
            "the bank is down for maintenance",
        ));
    }
    let explicit = match headers
        .get(FAULT_HEADER)
        .map(|value| value.to_str().unwrap_or("?"))
    {
        Some(text) => faults::parse_faults(text).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                codes::INVALID_REQUEST,
                e.to_string(),
            )
        })?,
        None => state
            .armed
            .lock()
            .ok()
            .and_then(|mut armed| armed.pop_front())
            .into_iter()
            .collect(),
    };
    let draws = {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (rng.gen::<f64>(), rng.gen::<f64>())
    };
    let FaultPlan { latency, failure } = faults::plan(&explicit, &state.rates, draws);
    if let Some(latency) = latency {
        tokio::time::sleep(latency).await;
    }
    match failure {
        Some(Failure::Error(status)) => Err(error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            codes::UNAVAILABLE,
            format!("injected fault: error {status}"),
        )),
        Some(Failure::DropBeforeApply) => drop_connection(),
        Some(Failure::DropAfterApply) => Ok(Some(Failure::DropAfterApply)),
        Some(Failure::HangAfterApply(delay)) => Ok(Some(Failure::HangAfterApply(delay))),
        None => Ok(None),
    }
}

fn rail_error(error_value: RailError) -> Refusal {
    match error_value {
        RailError::UnknownBank(..) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::UNKNOWN_BANK,
            error_value.to_string(),
        ),
        RailError::MalformedAccount(_) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::MALFORMED_ACCOUNT,
            error_value.to_string(),
        ),
        RailError::UnknownAccount(_) => error(
            StatusCode::NOT_FOUND,
            codes::UNKNOWN_ACCOUNT,
            error_value.to_string(),
        ),
        RailError::Unavailable(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::UNAVAILABLE,
            error_value.to_string(),
        ),
    }
}

fn currency(code: &str) -> Result<Currency, Refusal> {
    Currency::from_code(code).ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::INVALID_REQUEST,
            format!("currency must be NGN or ETB, not {code:?}"),
        )
    })
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            e.to_string(),
        )
    })
}

async fn name_enquiry(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let failure = match admit(&state, &headers).await {
        Ok(failure) => failure,
        Err(refusal) => return refusal.into_response(),
    };
    let answer = (|| {
        let request: NameEnquiryRequest = json_body(&body)?;
        let currency = currency(&request.currency)?;
        let resolved = sandbox::resolve(currency, &request.bank_code, &request.account_number)
            .map_err(rail_error)?;
        Ok::<_, Refusal>(NameEnquiryAnswer {
            currency: currency.code().to_owned(),
            bank_code: resolved.bank_code,
            bank_name: resolved.bank_name,
            account_number: resolved.account_number,
            account_name: resolved.account_name,
        })
    })();
    after_apply(failure).await;
    match answer {
        Ok(answer) => Json(answer).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// The two fields every money-moving request carries: ducat's idempotent reference and a
/// positive amount in minor units.
fn check_reference_and_amount(reference: &str, amount: i64) -> Result<(), Refusal> {
    let invalid = |message: &str| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::INVALID_REQUEST,
            message,
        )
    };
    if reference.is_empty()
        || reference.len() > 64
        || !reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(invalid(
            "reference must be 1 to 64 letters, digits, '_' or '-'",
        ));
    }
    if amount <= 0 {
        return Err(invalid(
            "amount must be a positive whole number of minor units",
        ));
    }
    Ok(())
}

/// Decides, from the request alone, what applying it means: pure but for the session id.
fn decide_transfer(request: TransferRequest, now_ms: i64) -> Result<AppliedTransfer, Refusal> {
    check_reference_and_amount(&request.reference, request.amount)?;
    let currency = currency(&request.currency)?;
    let resolved = sandbox::resolve(currency, &request.bank_code, &request.account_number);
    let (status, reason, answers_processing) = match resolved {
        Err(RailError::UnknownAccount(number)) => (
            WireStatus::Failed,
            Some(format!("the receiving bank has no account {number}")),
            false,
        ),
        Err(
            other @ (RailError::UnknownBank(..)
            | RailError::MalformedAccount(_)
            | RailError::Unavailable(_)),
        ) => return Err(rail_error(other)),
        Ok(_) => {
            let (pays, times_out) = sandbox::transfer_behaviour(&request.account_number);
            if pays {
                (WireStatus::Successful, None, times_out)
            } else {
                (
                    WireStatus::Failed,
                    Some("the receiving bank declined the transfer".to_owned()),
                    times_out,
                )
            }
        }
    };
    let session_id = match status {
        WireStatus::Successful => Some(sandbox::nip_session_id(now_ms)),
        WireStatus::Failed | WireStatus::Processing => None,
    };
    Ok(AppliedTransfer {
        request,
        status,
        answers_processing,
        session_id,
        reason,
        created_at: now_ms,
    })
}

fn now_ms() -> i64 {
    use crate::clock::Clock;
    crate::clock::SystemClock.now_ms()
}

fn internal(e: SimStoreError) -> Refusal {
    tracing::error!(error = %e, "bank-sim store");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        codes::INTERNAL,
        "the bank could not record the transfer",
    )
}

/// The answer to a transfer request: the stored document, except that accounts ending 92 or 93
/// keep answering `processing` to the transfer request itself; only a status query tells.
fn transfer_answer(stored: &AppliedTransfer) -> TransferDocument {
    let mut document = stored.document();
    if stored.answers_processing {
        document.status = WireStatus::Processing;
        document.session_id = None;
        document.reason = None;
    }
    document
}

async fn transfer(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let failure = match admit(&state, &headers).await {
        Ok(failure) => failure,
        Err(refusal) => return refusal.into_response(),
    };
    let request: TransferRequest = match json_body(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let candidate = match decide_transfer(request.clone(), now_ms()) {
        Ok(candidate) => candidate,
        Err(refusal) => return refusal.into_response(),
    };
    let (stored, inserted) = match state.store.apply_once(&candidate).await {
        Ok(applied) => applied,
        Err(e) => return internal(e).into_response(),
    };
    if stored.request != request {
        return error(
            StatusCode::CONFLICT,
            codes::REFERENCE_CONFLICT,
            format!(
                "reference {} was used for a different transfer",
                request.reference
            ),
        )
        .into_response();
    }
    if inserted {
        tracing::info!(reference = %request.reference, status = stored.status.as_str(), "bank-sim applied a transfer");
    }
    after_apply(failure).await;
    Json(transfer_answer(&stored)).into_response()
}

async fn transfer_status(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    headers: HeaderMap,
) -> Response {
    let failure = match admit(&state, &headers).await {
        Ok(failure) => failure,
        Err(refusal) => return refusal.into_response(),
    };
    let found = state.store.find(&reference).await;
    after_apply(failure).await;
    match found {
        Ok(Some(stored)) => Json(stored.document()).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            codes::UNKNOWN_TRANSFER,
            format!("the bank has never seen reference {reference}"),
        )
        .into_response(),
        Err(e) => internal(e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DownRequest {
    seconds: u64,
}

/// Makes every `/v1` request answer 503 for `seconds` (0 brings the bank back at once).
async fn admin_down(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, "bad token").into_response();
    }
    let request: DownRequest = match json_body(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let until = Instant::now() + Duration::from_secs(request.seconds);
    if let Ok(mut down) = state.down_until.lock() {
        *down = Some(until);
    }
    Json(serde_json::json!({ "down_for_secs": request.seconds })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArmRequest {
    /// Faults for the next `/v1` requests without a fault header, one each, in order.
    faults: Vec<String>,
}

async fn admin_faults(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, "bad token").into_response();
    }
    let request: ArmRequest = match json_body(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let parsed: Result<Vec<Fault>, _> = request
        .faults
        .iter()
        .map(|f| faults::parse_fault(f))
        .collect();
    match parsed {
        Ok(parsed) => {
            let count = parsed.len();
            if let Ok(mut armed) = state.armed.lock() {
                armed.extend(parsed);
            }
            Json(serde_json::json!({ "armed": count })).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            e.to_string(),
        )
        .into_response(),
    }
}

#[derive(Debug, Serialize)]
struct AdminTransfer {
    #[serde(flatten)]
    document: TransferDocument,
    bank_code: String,
    account_number: String,
    account_name: String,
    narration: String,
}

async fn admin_transfers(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, "bad token").into_response();
    }
    match state.store.all().await {
        Ok(all) => Json(serde_json::json!({
            "transfers": all
                .into_iter()
                .map(|t| AdminTransfer {
                    document: t.document(),
                    bank_code: t.request.bank_code,
                    account_number: t.request.account_number,
                    account_name: t.request.account_name,
                    narration: t.request.narration,
                })
                .collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => internal(e).into_response(),
    }
}

async fn admin_stats(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, "bad token").into_response();
    }
    let armed = state.armed.lock().map(|a| a.len()).unwrap_or(0);
    Json(serde_json::json!({
        "requests": state.requests.load(Ordering::SeqCst),
        "armed_faults": armed,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(account: &str) -> TransferRequest {
        TransferRequest {
            reference: "tran_1".into(),
            currency: "NGN".into(),
            bank_code: "058".into(),
            account_number: account.into(),
            account_name: "A".into(),
            amount: 500_000,
            narration: "n".into(),
        }
    }

    #[test]
    fn transfers_follow_the_sandbox_magic_values() {
        let paid = decide_transfer(request("0123456789"), 0).unwrap();
        assert_eq!(paid.status, WireStatus::Successful);
        assert!(paid.session_id.is_some());
        assert_eq!(transfer_answer(&paid).status, WireStatus::Successful);
        let declined = decide_transfer(request("0123456791"), 0).unwrap();
        assert_eq!(declined.status, WireStatus::Failed);
        assert!(declined.reason.is_some());
        let late = decide_transfer(request("0123456792"), 0).unwrap();
        assert_eq!(late.status, WireStatus::Successful);
        assert_eq!(transfer_answer(&late).status, WireStatus::Processing);
        assert_eq!(late.document().status, WireStatus::Successful);
        let late_failure = decide_transfer(request("0123456793"), 0).unwrap();
        assert_eq!(late_failure.status, WireStatus::Failed);
        assert_eq!(
            transfer_answer(&late_failure).status,
            WireStatus::Processing
        );
        assert_eq!(
            decide_transfer(request("0123456700"), 0).unwrap().status,
            WireStatus::Failed
        );
        assert!(decide_transfer(request("123"), 0).is_err());
        let mut zero = request("0123456789");
        zero.amount = 0;
        assert!(decide_transfer(zero, 0).is_err());
    }
}
