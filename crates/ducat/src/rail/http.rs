//! The `http` rail: ducat's side of the bank-adapter protocol (docs/bank-adapter.md) over
//! reqwest, with a per-request timeout, bounded retries with exponential backoff, and a circuit
//! breaker.
//!
//! Every call may be retried: name enquiries and status queries change nothing, and a transfer
//! is sent again with the same reference, which the bank applies once. What is never done is
//! guessing: a transfer whose answer did not arrive (a timeout, a dropped connection, a 5xx, an
//! open circuit) is `Unknown`, and only a status query settles it.

mod debits;

use super::protocol::{
    codes, ErrorDocument, NameEnquiryAnswer, NameEnquiryRequest, TransferDocument, TransferRequest,
    WireStatus,
};
use super::{BoxFuture, Rail, RailError, ResolvedAccount, TransferOut, TransferOutcome};
use crate::clock::Clock;
use ducat_core::banks;
use ducat_core::money::Currency;
use reqwest::StatusCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HttpRailSettings {
    /// The bank adapter's base URL, without the `/v1`.
    pub base_url: String,
    pub token: Option<String>,
    /// How long one request may take, answer included.
    pub timeout: Duration,
    /// Tries per call (at least 1).
    pub max_attempts: u32,
    /// The wait before the second try; doubled for each later one.
    pub retry_backoff: Duration,
    /// Consecutive failures that open the circuit.
    pub breaker_failures: u32,
    /// How long an open circuit fails fast before letting one trial request through.
    pub breaker_cooldown_ms: i64,
}

/// The circuit breaker's state: pure, driven by the caller's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker {
    threshold: u32,
    cooldown_ms: i64,
    consecutive_failures: u32,
    /// While set and in the future, calls fail fast; once past, one trial is let through.
    open_until: Option<i64>,
    trial_in_flight: bool,
}

/// Whether a request may go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Closed,
    /// The cool-down is over: this request is the trial that closes or reopens the circuit.
    Trial,
    /// Fail fast without sending.
    Open,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown_ms: i64) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cooldown_ms,
            consecutive_failures: 0,
            open_until: None,
            trial_in_flight: false,
        }
    }

    pub fn admit(&mut self, now_ms: i64) -> Admission {
        match self.open_until {
            None => Admission::Closed,
            Some(until) if now_ms < until || self.trial_in_flight => Admission::Open,
            Some(_) => {
                self.trial_in_flight = true;
                Admission::Trial
            }
        }
    }

    /// The bank answered (whatever it said): the circuit closes.
    pub fn succeeded(&mut self) {
        self.consecutive_failures = 0;
        self.open_until = None;
        self.trial_in_flight = false;
    }

    /// No answer, or a 5xx: one more failure; a failed trial reopens the circuit at once.
    pub fn failed(&mut self, now_ms: i64) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.trial_in_flight || self.consecutive_failures >= self.threshold {
            self.open_until = Some(now_ms + self.cooldown_ms);
        }
        self.trial_in_flight = false;
    }

    pub fn is_open(&self, now_ms: i64) -> bool {
        self.open_until.is_some_and(|until| now_ms < until)
    }
}

/// The wait before try `attempt` (0-based; the first try does not wait).
pub fn retry_delay(base: Duration, attempt: u32) -> Duration {
    match attempt {
        0 => Duration::ZERO,
        n => base.saturating_mul(1u32 << (n - 1).min(10)),
    }
}

/// One exchange with the bank, as far as the transport is concerned.
#[derive(Debug)]
enum Exchange {
    /// The bank answered with this status and body.
    Answered(StatusCode, Vec<u8>),
    /// No answer: a timeout, a refused or dropped connection, an open circuit.
    NoAnswer(String),
}

fn is_retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

pub struct HttpRail {
    client: reqwest::Client,
    settings: HttpRailSettings,
    clock: Arc<dyn Clock>,
    breaker: Mutex<Breaker>,
}

impl HttpRail {
    pub fn new(
        settings: HttpRailSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<HttpRail, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()?;
        let breaker = Breaker::new(settings.breaker_failures, settings.breaker_cooldown_ms);
        Ok(HttpRail {
            client,
            settings,
            clock,
            breaker: Mutex::new(breaker),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }

    fn admit(&self) -> Admission {
        let now = self.clock.now_ms();
        self.breaker
            .lock()
            .map(|mut breaker| breaker.admit(now))
            .unwrap_or(Admission::Closed)
    }

    fn record(&self, exchange: &Exchange) {
        let now = self.clock.now_ms();
        if let Ok(mut breaker) = self.breaker.lock() {
            match exchange {
                Exchange::Answered(status, _) if !is_retryable(*status) => breaker.succeeded(),
                Exchange::Answered(..) | Exchange::NoAnswer(_) => breaker.failed(now),
            }
        }
    }

    /// Whether the circuit is open now (calls fail fast).
    pub fn circuit_open(&self) -> bool {
        let now = self.clock.now_ms();
        self.breaker
            .lock()
            .map(|breaker| breaker.is_open(now))
            .unwrap_or(false)
    }

    async fn once(&self, request: reqwest::RequestBuilder) -> Exchange {
        let request = match &self.settings.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(body) => Exchange::Answered(status, body.to_vec()),
                    Err(e) => Exchange::NoAnswer(format!("the answer was cut off: {e}")),
                }
            }
            Err(e) if e.is_timeout() => Exchange::NoAnswer(format!(
                "no answer within {} ms",
                self.settings.timeout.as_millis()
            )),
            Err(e) => Exchange::NoAnswer(format!("no answer from the bank: {}", error_chain(&e))),
        }
    }

    /// Sends `build()` up to `max_attempts` times while the answer is missing or a 5xx,
    /// waiting longer each time, unless the circuit is open.
    async fn call(&self, build: impl Fn() -> reqwest::RequestBuilder) -> Exchange {
        let mut last = Exchange::NoAnswer("not sent".to_owned());
        for attempt in 0..self.settings.max_attempts.max(1) {
            let delay = retry_delay(self.settings.retry_backoff, attempt);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match self.admit() {
                Admission::Open => {
                    return match last {
                        Exchange::NoAnswer(reason) if attempt > 0 => Exchange::NoAnswer(format!(
                            "{reason}; then the circuit to the bank opened"
                        )),
                        Exchange::Answered(..) | Exchange::NoAnswer(_) => Exchange::NoAnswer(
                            "the circuit to the bank is open: not sent".to_owned(),
                        ),
                    }
                }
                Admission::Closed | Admission::Trial => {}
            }
            let exchange = self.once(build()).await;
            self.record(&exchange);
            match &exchange {
                Exchange::Answered(status, _) if !is_retryable(*status) => return exchange,
                Exchange::Answered(status, _) => {
                    tracing::warn!(attempt, %status, "bank answered with an error; retrying")
                }
                Exchange::NoAnswer(reason) => {
                    tracing::warn!(attempt, reason = %reason, "no answer from the bank; retrying")
                }
            }
            last = exchange;
        }
        last
    }

    async fn transfer(&self, transfer: &TransferOut) -> TransferOutcome {
        let body = TransferRequest {
            reference: transfer.reference.clone(),
            currency: transfer.currency.code().to_owned(),
            bank_code: transfer.bank_code.clone(),
            account_number: transfer.account_number.clone(),
            account_name: transfer.account_name.clone(),
            amount: transfer.amount.get(),
            narration: transfer.narration.clone(),
        };
        let url = self.url("/v1/transfers");
        let exchange = self.call(|| self.client.post(&url).json(&body)).await;
        transfer_outcome(exchange, false)
    }

    async fn status(&self, reference: &str) -> TransferOutcome {
        let url = self.url(&format!("/v1/transfers/{reference}"));
        let exchange = self.call(|| self.client.get(&url)).await;
        transfer_outcome(exchange, true)
    }

    async fn enquire(
        &self,
        currency: Currency,
        bank_code: &str,
        account_number: &str,
    ) -> Result<ResolvedAccount, RailError> {
        // Refused here what the bank would refuse anyway, without a round trip.
        let institution = banks::find_institution(currency, bank_code)
            .ok_or_else(|| RailError::UnknownBank(bank_code.to_owned(), currency))?;
        institution
            .validate_account(account_number)
            .map_err(|e| RailError::MalformedAccount(e.to_string()))?;
        let body = NameEnquiryRequest {
            currency: currency.code().to_owned(),
            bank_code: bank_code.to_owned(),
            account_number: account_number.to_owned(),
        };
        let url = self.url("/v1/name-enquiry");
        let exchange = self.call(|| self.client.post(&url).json(&body)).await;
        name_enquiry_result(exchange, currency, bank_code, account_number)
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn error_document(body: &[u8]) -> Option<ErrorDocument> {
    serde_json::from_slice(body).ok()
}

fn describe(status: StatusCode, body: &[u8]) -> String {
    match error_document(body) {
        Some(document) => format!(
            "the bank answered {status}: {} ({})",
            document.error.message, document.error.code
        ),
        None => format!("the bank answered {status}"),
    }
}

/// What an exchange about a transfer means. `status_query`: a 404 is "never seen" there, while
/// for a transfer request it is no answer the protocol gives.
fn transfer_outcome(exchange: Exchange, status_query: bool) -> TransferOutcome {
    let (status, body) = match exchange {
        Exchange::NoAnswer(reason) => return TransferOutcome::Unknown { reason },
        Exchange::Answered(status, body) => (status, body),
    };
    if status.is_success() {
        return match serde_json::from_slice::<TransferDocument>(&body) {
            Ok(document) => match document.status {
                WireStatus::Successful => TransferOutcome::Paid {
                    session_id: document.session_id.unwrap_or(document.reference),
                },
                WireStatus::Failed => TransferOutcome::Declined {
                    reason: document
                        .reason
                        .unwrap_or_else(|| "the bank declined the transfer".to_owned()),
                },
                WireStatus::Processing => TransferOutcome::Unknown {
                    reason: "the bank is still processing the transfer".to_owned(),
                },
            },
            Err(e) => TransferOutcome::Unknown {
                reason: format!("the bank's answer is not a transfer document: {e}"),
            },
        };
    }
    let code = error_document(&body).map(|d| d.error.code);
    match (status, code.as_deref()) {
        (StatusCode::NOT_FOUND, Some(codes::UNKNOWN_TRANSFER)) if status_query => {
            TransferOutcome::NotFound
        }
        // The bank refused the request as malformed: nothing was applied.
        (StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY, _) if !status_query => {
            TransferOutcome::Declined {
                reason: describe(status, &body),
            }
        }
        // 401/403 (a configuration problem), 409 (the reference is taken by another body), 5xx
        // after the last try, anything unexpected: the money may have moved, so do not guess.
        _ => TransferOutcome::Unknown {
            reason: describe(status, &body),
        },
    }
}

fn name_enquiry_result(
    exchange: Exchange,
    currency: Currency,
    bank_code: &str,
    account_number: &str,
) -> Result<ResolvedAccount, RailError> {
    let (status, body) = match exchange {
        Exchange::NoAnswer(reason) => return Err(RailError::Unavailable(reason)),
        Exchange::Answered(status, body) => (status, body),
    };
    if status.is_success() {
        return serde_json::from_slice::<NameEnquiryAnswer>(&body)
            .map(|answer| ResolvedAccount {
                bank_code: answer.bank_code,
                bank_name: answer.bank_name,
                account_number: answer.account_number,
                account_name: answer.account_name,
            })
            .map_err(|e| {
                RailError::Unavailable(format!("the bank's answer is not a name enquiry: {e}"))
            });
    }
    let code = error_document(&body).map(|d| d.error.code);
    match code.as_deref() {
        Some(codes::UNKNOWN_ACCOUNT) => Err(RailError::UnknownAccount(account_number.to_owned())),
        Some(codes::UNKNOWN_BANK) => Err(RailError::UnknownBank(bank_code.to_owned(), currency)),
        Some(codes::MALFORMED_ACCOUNT) => Err(RailError::MalformedAccount(describe(status, &body))),
        Some(_) | None => Err(RailError::Unavailable(describe(status, &body))),
    }
}

/// What the answer to `GET /v1/statements/{date}` means: the day's lines, or why there are none.
fn statement_lines(
    exchange: Exchange,
    date: &str,
) -> Result<Vec<super::protocol::StatementLine>, RailError> {
    match exchange {
        Exchange::Answered(status, body) if status.is_success() => serde_json::from_slice::<
            super::protocol::StatementDocument,
        >(&body)
        .ok()
        .filter(|document| document.date == date)
        .map(|document| document.lines)
        .ok_or_else(|| {
            RailError::Unavailable(format!("the bank's answer is not a statement of {date}"))
        }),
        Exchange::Answered(status, body) => Err(RailError::Unavailable(describe(status, &body))),
        Exchange::NoAnswer(reason) => Err(RailError::Unavailable(reason)),
    }
}

impl Rail for HttpRail {
    fn authorizes_debits(&self) -> bool {
        true
    }

    fn statement<'a>(
        &'a self,
        day: ducat_core::reconcile::Day,
    ) -> BoxFuture<'a, Result<Vec<super::protocol::StatementLine>, RailError>> {
        Box::pin(async move {
            let date = day.to_string();
            let url = self.url(&format!("/v1/statements/{date}"));
            let exchange = self.call(|| self.client.get(&url)).await;
            statement_lines(exchange, &date)
        })
    }

    fn debit_request<'a>(
        &'a self,
        debit: &'a super::debits::DebitRequest,
    ) -> BoxFuture<'a, Result<super::debits::DebitMethod, super::debits::DebitRequestError>> {
        Box::pin(self.request_debit(debit))
    }

    fn debit_authorize<'a>(
        &'a self,
        reference: &'a str,
        otp: &'a str,
    ) -> BoxFuture<'a, super::debits::DebitOutcome> {
        Box::pin(self.authorize_debit(reference, otp))
    }

    fn debit_status<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, super::debits::DebitOutcome> {
        Box::pin(self.debit_status_query(reference))
    }

    fn name_enquiry<'a>(
        &'a self,
        currency: Currency,
        bank_code: &'a str,
        account_number: &'a str,
    ) -> BoxFuture<'a, Result<ResolvedAccount, RailError>> {
        Box::pin(self.enquire(currency, bank_code, account_number))
    }

    fn transfer_out<'a>(&'a self, transfer: &'a TransferOut) -> BoxFuture<'a, TransferOutcome> {
        Box::pin(self.transfer(transfer))
    }

    fn transfer_status<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, TransferOutcome> {
        Box::pin(self.status(reference))
    }

    fn open_account<'a>(
        &'a self,
        opening: &'a super::notifications::AccountOpening,
    ) -> BoxFuture<'a, Result<super::notifications::OpenedAccount, RailError>> {
        Box::pin(async move {
            let body = opening.request();
            let url = self.url("/v1/accounts");
            match self.call(|| self.client.post(&url).json(&body)).await {
                Exchange::Answered(status, body) if status.is_success() => {
                    super::notifications::opened_account(&body)
                }
                Exchange::Answered(status, body) => {
                    Err(RailError::Unavailable(describe(status, &body)))
                }
                Exchange::NoAnswer(reason) => Err(RailError::Unavailable(reason)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bank answer as the exchange delivers it (the debit tests use it too).
    pub(super) fn answered(status: u16, body: serde_json::Value) -> Exchange {
        Exchange::Answered(
            StatusCode::from_u16(status).unwrap(),
            body.to_string().into_bytes(),
        )
    }

    #[test]
    fn a_statement_is_read_for_its_day_only() {
        let document = serde_json::json!({
            "date": "2025-11-22",
            "lines": [{ "reference": "tran_1", "direction": "out", "currency": "NGN",
                        "amount": 500, "kind": "transfer", "created_at": 1 }]
        });
        let lines = statement_lines(answered(200, document.clone()), "2025-11-22").unwrap();
        assert_eq!(lines.len(), 1);
        assert!(statement_lines(answered(200, document), "2025-11-23").is_err());
        assert!(statement_lines(answered(503, serde_json::json!({})), "2025-11-22").is_err());
        assert!(statement_lines(Exchange::NoAnswer("x".into()), "2025-11-22").is_err());
    }

    #[test]
    fn the_breaker_opens_fails_fast_and_half_opens() {
        let mut breaker = Breaker::new(3, 1_000);
        assert_eq!(breaker.admit(0), Admission::Closed);
        breaker.failed(0);
        breaker.failed(0);
        assert_eq!(breaker.admit(0), Admission::Closed);
        breaker.failed(10);
        assert_eq!(breaker.admit(500), Admission::Open);
        assert!(breaker.is_open(500));
        // After the cool-down, exactly one trial goes through.
        assert_eq!(breaker.admit(1_010), Admission::Trial);
        assert_eq!(breaker.admit(1_010), Admission::Open);
        // A failed trial reopens at once.
        breaker.failed(1_020);
        assert_eq!(breaker.admit(1_500), Admission::Open);
        assert_eq!(breaker.admit(2_020), Admission::Trial);
        breaker.succeeded();
        assert_eq!(breaker.admit(2_021), Admission::Closed);
        // A success resets the count.
        breaker.failed(3_000);
        breaker.failed(3_000);
        breaker.succeeded();
        breaker.failed(3_000);
        assert_eq!(breaker.admit(3_000), Admission::Closed);
    }

    #[test]
    fn retries_back_off_exponentially() {
        let base = Duration::from_millis(100);
        assert_eq!(retry_delay(base, 0), Duration::ZERO);
        assert_eq!(retry_delay(base, 1), Duration::from_millis(100));
        assert_eq!(retry_delay(base, 2), Duration::from_millis(200));
        assert_eq!(retry_delay(base, 3), Duration::from_millis(400));
    }

    #[test]
    fn transfer_answers_map_to_outcomes() {
        let document = |status: &str| {
            serde_json::json!({"reference": "tran_1", "status": status, "currency": "NGN",
                "amount": 100, "session_id": "S1", "reason": "no", "created_at": 0})
        };
        assert_eq!(
            transfer_outcome(answered(200, document("successful")), false),
            TransferOutcome::Paid {
                session_id: "S1".into()
            }
        );
        assert_eq!(
            transfer_outcome(answered(200, document("failed")), false),
            TransferOutcome::Declined {
                reason: "no".into()
            }
        );
        assert!(matches!(
            transfer_outcome(answered(200, document("processing")), false),
            TransferOutcome::Unknown { .. }
        ));
        let not_found = serde_json::json!({"error": {"code": "unknown_transfer", "message": "x"}});
        assert_eq!(
            transfer_outcome(answered(404, not_found.clone()), true),
            TransferOutcome::NotFound
        );
        assert!(matches!(
            transfer_outcome(answered(404, not_found), false),
            TransferOutcome::Unknown { .. }
        ));
        let unavailable = serde_json::json!({"error": {"code": "unavailable", "message": "x"}});
        assert!(matches!(
            transfer_outcome(answered(503, unavailable), false),
            TransferOutcome::Unknown { .. }
        ));
        let conflict = serde_json::json!({"error": {"code": "reference_conflict", "message": "x"}});
        assert!(matches!(
            transfer_outcome(answered(409, conflict), false),
            TransferOutcome::Unknown { .. }
        ));
        assert!(matches!(
            transfer_outcome(answered(401, serde_json::json!({})), false),
            TransferOutcome::Unknown { .. }
        ));
        assert!(matches!(
            transfer_outcome(Exchange::NoAnswer("timeout".into()), false),
            TransferOutcome::Unknown { .. }
        ));
        assert!(matches!(
            transfer_outcome(answered(200, serde_json::json!({"oops": 1})), false),
            TransferOutcome::Unknown { .. }
        ));
    }

    #[test]
    fn name_enquiry_answers_map_to_rail_errors() {
        let result = |exchange| name_enquiry_result(exchange, Currency::Ngn, "058", "0123456700");
        let unknown = serde_json::json!({"error": {"code": "unknown_account", "message": "x"}});
        assert_eq!(
            result(answered(404, unknown)),
            Err(RailError::UnknownAccount("0123456700".into()))
        );
        assert!(matches!(
            result(Exchange::NoAnswer("timeout".into())),
            Err(RailError::Unavailable(_))
        ));
        assert!(matches!(
            result(answered(503, serde_json::json!({}))),
            Err(RailError::Unavailable(_))
        ));
    }
}
