//! The HTTP side: one pooled client for the server, and the per-flow session that times and
//! records every call it makes.

use crate::metrics::Recorder;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longer than any answer a healthy server gives; a call past it is an error, not a hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an unexpected answer's body an error message quotes.
const BODY_QUOTED_CHARS: usize = 240;

/// Credentials of one face of a business.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Duplo(String),
    Beqelal { app_id: String, api_key: String },
}

pub struct Api {
    http: reqwest::Client,
    base_url: String,
}

impl Api {
    pub fn new(base_url: &str) -> Result<Api, String> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            // Every flow in flight keeps its connection: no reconnects in the measurement.
            .pool_max_idle_per_host(usize::MAX)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Api {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// One call that must answer 200; its JSON body (or null when it is not JSON).
    /// `route` names it in errors.
    pub async fn exchange(
        &self,
        route: &str,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        request = match auth {
            Auth::None => request,
            Auth::Duplo(key) => request.bearer_auth(key),
            Auth::Beqelal { app_id, api_key } => {
                request.header("app-id", app_id).header("api-key", api_key)
            }
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{route}: no answer: {e}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("{route}: answer cut off: {e}"))?;
        if status != reqwest::StatusCode::OK {
            let text = String::from_utf8_lossy(&bytes);
            let quoted: String = text.chars().take(BODY_QUOTED_CHARS).collect();
            return Err(format!("{route}: HTTP {}: {quoted}", status.as_u16()));
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

impl Api {
    /// A plain-text GET outside any flow (the server's `/metrics`); `None` if it fails.
    pub async fn text(&self, path: &str) -> Option<String> {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .ok()?;
        response.text().await.ok()
    }
}

/// One flow's calls. The first call's latency counts from the flow's intended start (in the
/// open loop, the moment the schedule said to send it, however late it actually went), so a
/// server that falls behind cannot hide the queueing it causes; later calls in the flow depend
/// on earlier answers and count from when they were sent.
pub struct Session {
    api: Arc<Api>,
    recorder: Arc<Recorder>,
    first_call_from: Option<Instant>,
}

impl Session {
    pub fn new(api: Arc<Api>, recorder: Arc<Recorder>, intended_start: Instant) -> Session {
        Session {
            api,
            recorder,
            first_call_from: Some(intended_start),
        }
    }

    /// `route` is the endpoint's pattern (`GET /v1/wallets/transactions/:transaction_ref`),
    /// so calls with different references share one histogram.
    pub async fn get(
        &mut self,
        route: &'static str,
        path: &str,
        auth: &Auth,
    ) -> Result<Value, String> {
        self.send(route, Method::GET, path, auth, None).await
    }

    pub async fn post(
        &mut self,
        route: &'static str,
        path: &str,
        auth: &Auth,
        body: Value,
    ) -> Result<Value, String> {
        self.send(route, Method::POST, path, auth, Some(&body))
            .await
    }

    async fn send(
        &mut self,
        route: &'static str,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let from = self.first_call_from.take().unwrap_or_else(Instant::now);
        let mutating = method != Method::GET;
        let answer = self.api.exchange(route, method, path, auth, body).await;
        self.recorder.call(route, mutating, from.elapsed());
        answer
    }
}

/// A string field of an answer, or an error naming what was missing.
pub fn text<'a>(answer: &'a Value, pointer: &str, what: &str) -> Result<&'a str, String> {
    answer
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what}: no {pointer} in {answer}"))
}

/// The six-digit code in an SMS body: the first word of exactly six digits.
pub fn otp_in(message: &str) -> Option<&str> {
    message
        .split_whitespace()
        .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_six_digit_code_and_nothing_else() {
        assert_eq!(
            otp_in("ducat: 042917 is the OTP to confirm payout tran_12 of NGN 200"),
            Some("042917")
        );
        assert_eq!(
            otp_in("Kacha DFS: 123456 is your code to approve a payment of ETB 100.00"),
            Some("123456")
        );
        assert_eq!(
            otp_in("no code 12345 or 1234567 or tran_123456x here"),
            None
        );
    }
}
