//! The `Sms` port's delivery side.
//!
//! A message is written to `sms_messages` (the outbox) in the same transaction as the state
//! change that caused it ([`crate::store::sms::enqueue`]); nothing is sent inside a request. What
//! happens next depends on the provider:
//!
//! - `outbox` (the default): the stored row is the destination, read through the sandbox API and
//!   the dashboard. [`settle_outbox_sms`] marks such rows `not_required`.
//! - `http`: [`deliver_pending_sms`] claims due rows with a lease, hands each to an
//!   [`SmsSender`] ([`HttpSms`] in production) and records the outcome, retrying with
//!   [`retry_delay`] until `sms_max_attempts`, after which the row stays, `failed`.
//!
//! Delivery is at least once: a node that sends and then cannot record the outcome (crash,
//! database gone) leaves the lease to run out, and the message is sent again. For an OTP a
//! duplicate text is harmless; a lost one locks the customer out.
//!
//! Message bodies carry OTPs, so nothing here logs or stores a body outside its row: logs and
//! `last_error` name the message id, the status and the error only.

use crate::config::{Config, ConfigError};
use crate::rail::BoxFuture;
use crate::services::Services;
use crate::store::{int, opt_int, opt_text, text, Autocommit, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// At most this many messages per worker step, so one step's length stays bounded during a
/// provider outage (each failing send can take the whole timeout) and a large backlog is shared
/// between nodes instead of being claimed by the first.
pub const DELIVERY_BATCH: i64 = 50;

/// How long a claim lasts at least. Longer than any one send (the HTTP timeout is enforced),
/// short enough that a message claimed by a node that then died goes out a minute later.
const MIN_LEASE_MS: i64 = 60_000;

/// One message as the provider receives it.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    /// The stored message id, for logs and tests; not sent to the provider.
    pub id: &'a str,
    pub to: &'a str,
    pub body: &'a str,
    pub reference: Option<&'a str>,
}

/// Why a send did not succeed. None of the variants carries the body.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway answered HTTP {0}")]
    Status(u16),
    #[error("the SMS gateway did not answer within {0} s")]
    Timeout(u64),
    #[error("the SMS gateway could not be reached: {0}")]
    Unreachable(String),
}

/// Sends one text message. Implementations return `Ok` only when the provider has accepted it.
pub trait SmsSender: Send + Sync + 'static {
    fn send<'a>(&'a self, message: OutgoingSms<'a>) -> BoxFuture<'a, Result<(), SmsError>>;
}

/// The `http` provider: POSTs `{"to", "body", "reference"}` as JSON to the configured URL.
pub struct HttpSms {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
    timeout_secs: u64,
}

// By hand, so the bearer token never reaches a log through `{:?}`.
impl std::fmt::Debug for HttpSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSms")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl HttpSms {
    pub fn new(url: &str, token: Option<&str>, timeout_secs: u64) -> Result<HttpSms, ConfigError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout_secs))
            // A POST answered with a redirect is not a send: following it would replay the
            // message as a GET (or to another host); failing makes the misconfiguration visible
            // in `last_error` instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                ConfigError::Invalid(format!("sms_http_url: cannot build a client: {e}"))
            })?;
        Ok(HttpSms {
            client,
            url: url.to_owned(),
            token: token.map(str::to_owned),
            timeout_secs,
        })
    }
}

impl SmsSender for HttpSms {
    fn send<'a>(&'a self, message: OutgoingSms<'a>) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let mut request = self.client.post(&self.url).json(&serde_json::json!({
                "to": message.to,
                "body": message.body,
                "reference": message.reference,
            }));
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => Ok(()),
                // The provider's answer body is not kept: some echo the message, OTP included.
                Ok(response) => Err(SmsError::Status(response.status().as_u16())),
                Err(error) if error.is_timeout() => Err(SmsError::Timeout(self.timeout_secs)),
                Err(error) => Err(SmsError::Unreachable(error_chain(&error.without_url()))),
            }
        })
    }
}

/// reqwest's top-level message ("error sending request") hides the cause ("connection
/// refused"); the chain is what an operator needs. The URL is left out: gateways often take
/// their API key as a query parameter.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The sender the configuration asks for, built once at startup: `None` for the outbox.
pub fn sender_from_config(config: &Config) -> Result<Option<Arc<dyn SmsSender>>, ConfigError> {
    match config.sms_provider.as_str() {
        "outbox" => Ok(None),
        "http" => {
            let url = config.sms_http_url.as_deref().ok_or_else(|| {
                ConfigError::Invalid("sms_provider \"http\" needs sms_http_url".into())
            })?;
            let sender = HttpSms::new(
                url,
                config.sms_http_token.as_deref(),
                config.sms_http_timeout_secs,
            )?;
            Ok(Some(Arc::new(sender)))
        }
        other => Err(ConfigError::Invalid(format!(
            "sms_provider must be \"outbox\" or \"http\", not {other:?}"
        ))),
    }
}

/// The wait after the `failed_attempts`-th failure before the next try: 5 s, doubling, at most
/// 10 minutes. Doubling spares a provider that is down; the cap keeps an OTP from waiting longer
/// than it stays valid once the provider is back.
pub fn retry_delay(failed_attempts: u32) -> Duration {
    const FIRST: Duration = Duration::from_secs(5);
    const CAP: Duration = Duration::from_secs(600);
    let doublings = failed_attempts.saturating_sub(1).min(16);
    FIRST.saturating_mul(1 << doublings).min(CAP)
}

/// How long a claim lasts: at least a minute, and always longer than one send may take, so a lease
/// never runs out while its send is still in flight (which would let another node send too).
fn lease_ms(timeout_secs: u64) -> i64 {
    let send_ms = i64::try_from(timeout_secs.saturating_add(30))
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    send_ms.max(MIN_LEASE_MS)
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// One worker step for the `http` provider: claims up to [`DELIVERY_BATCH`] due messages, sends
/// each and records the outcome. Returns how many were sent (accepted by the provider).
///
/// Safe to run on several nodes at once: each message is claimed by a conditional UPDATE on its
/// lease, and outcomes are recorded only by the holder of the lease.
pub async fn deliver_pending_sms(
    services: &Services,
    sender: &dyn SmsSender,
) -> Result<usize, StoreError> {
    let store = &services.store;
    let due = sqlx::query(
        "SELECT id FROM sms_messages
         WHERE delivery_status = 'pending' AND next_attempt_at <= $1
           AND (lease_until IS NULL OR lease_until < $1)
         ORDER BY next_attempt_at, created_at, id
         LIMIT $2",
    )
    .bind(services.now_ms())
    .bind(DELIVERY_BATCH)
    .fetch_all(store.reader())
    .await?;
    let lease = lease_ms(services.config.sms_http_timeout_secs);
    let max_attempts = i64::from(services.config.sms_max_attempts.max(1));
    let mut sent = 0;
    for row in &due {
        let id = text(row, "id");
        // Claimed one at a time, just before its send, so every lease starts when its own send
        // does; and a message another node claimed (or finished) since the SELECT is skipped.
        let Some(claim) = claim(store, &id, services.now_ms(), lease).await? else {
            continue;
        };
        let outcome = sender
            .send(OutgoingSms {
                id: &id,
                to: &claim.to,
                body: &claim.body,
                reference: claim.reference.as_deref(),
            })
            .await;
        let attempts = claim.attempts.saturating_add(1);
        let now = services.now_ms();
        let recorded = match &outcome {
            Ok(()) => {
                sent += 1;
                tracing::info!(sms_id = %id, attempts, "SMS sent");
                sqlx::query(
                    "UPDATE sms_messages
                     SET delivery_status = 'sent', sent_at = $1, attempts = $2, lease_until = NULL
                     WHERE id = $3 AND lease_until = $4",
                )
                .bind(now)
                .bind(attempts)
                .bind(&id)
                .bind(claim.lease_until)
                .execute_in(store)
                .await?
            }
            Err(error) => {
                let give_up = attempts >= max_attempts;
                let status = if give_up { "failed" } else { "pending" };
                let delay = retry_delay(u32::try_from(attempts).unwrap_or(u32::MAX));
                let next_attempt_at = now.saturating_add(duration_ms(delay));
                if give_up {
                    tracing::warn!(sms_id = %id, attempts, error = %error, "SMS not sent; giving up");
                } else {
                    tracing::warn!(
                        sms_id = %id,
                        attempts,
                        error = %error,
                        retry_in_secs = delay.as_secs(),
                        "SMS not sent; will retry"
                    );
                }
                sqlx::query(
                    "UPDATE sms_messages
                     SET delivery_status = $1, attempts = $2, last_error = $3,
                         next_attempt_at = $4, lease_until = NULL
                     WHERE id = $5 AND lease_until = $6",
                )
                .bind(status)
                .bind(attempts)
                .bind(error.to_string())
                .bind(next_attempt_at)
                .bind(&id)
                .bind(claim.lease_until)
                .execute_in(store)
                .await?
            }
        };
        if recorded.rows_affected() == 0 {
            // Only possible when the send outlasted the lease (a stalled node or clock skew
            // between nodes): the other claimant's outcome stands.
            tracing::warn!(sms_id = %id, "SMS lease ran out before the outcome was recorded");
        }
    }
    Ok(sent)
}

struct Claim {
    to: String,
    body: String,
    reference: Option<String>,
    attempts: i64,
    lease_until: i64,
}

/// Takes the lease on a message if it is still pending, due and unleased (or its lease ran out).
async fn claim(
    store: &Store,
    id: &str,
    now: i64,
    lease_ms: i64,
) -> Result<Option<Claim>, StoreError> {
    let lease_until = now.saturating_add(lease_ms);
    let row = sqlx::query(
        "UPDATE sms_messages SET lease_until = $1
         WHERE id = $2 AND delivery_status = 'pending' AND next_attempt_at <= $3
           AND (lease_until IS NULL OR lease_until < $3)
         RETURNING to_phone, body, reference, attempts",
    )
    .bind(lease_until)
    .bind(id)
    .bind(now)
    .fetch_optional_in(store)
    .await?;
    Ok(row.map(|row| Claim {
        to: text(&row, "to_phone"),
        body: text(&row, "body"),
        reference: opt_text(&row, "reference"),
        attempts: int(&row, "attempts"),
        lease_until,
    }))
}

/// One worker step for the `outbox` provider: every pending message is settled as
/// `not_required`, because the stored row is its destination. Returns how many were settled.
///
/// Marking them (rather than leaving them pending, which would look the same today) matters the
/// day the provider becomes `http`: that worker sends whatever is pending, and messages written
/// for the outbox, hours-old OTPs among them, must not go out then. Switch every node sharing a
/// database at once: a node still on the outbox settles the messages the others should send.
pub async fn settle_outbox_sms(services: &Services) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE sms_messages SET delivery_status = 'not_required' WHERE delivery_status = 'pending'",
    )
    .execute_in(&services.store)
    .await?;
    Ok(done.rows_affected())
}

/// Where a message stands, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsDelivery {
    pub id: String,
    /// `pending`, `sent`, `failed` or `not_required`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

pub async fn delivery_state(store: &Store, id: &str) -> Result<Option<SmsDelivery>, StoreError> {
    let row = sqlx::query(
        "SELECT id, delivery_status, attempts, next_attempt_at, last_error, sent_at
         FROM sms_messages WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.reader())
    .await?;
    Ok(row.map(|row| SmsDelivery {
        id: text(&row, "id"),
        status: text(&row, "delivery_status"),
        attempts: int(&row, "attempts"),
        next_attempt_at: int(&row, "next_attempt_at"),
        last_error: opt_text(&row, "last_error"),
        sent_at: opt_int(&row, "sent_at"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_five_seconds_doubling_to_ten_minutes() {
        let secs: Vec<u64> = (1..=10).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(retry_delay(0), Duration::from_secs(5));
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(600));
    }

    #[test]
    fn a_lease_outlasts_any_send() {
        assert_eq!(lease_ms(10), 60_000);
        assert_eq!(lease_ms(45), 75_000);
        assert!(lease_ms(u64::MAX) > 0);
    }

    #[test]
    fn the_provider_is_chosen_by_name() {
        let outbox = Config::default();
        assert!(sender_from_config(&outbox).unwrap().is_none());
        let http = Config {
            sms_provider: "http".into(),
            sms_http_url: Some("http://127.0.0.1:9/sms".into()),
            ..Config::default()
        };
        assert!(sender_from_config(&http).unwrap().is_some());
        let unknown = Config {
            sms_provider: "carrier-pigeon".into(),
            ..Config::default()
        };
        let err = sender_from_config(&unknown).err().unwrap().to_string();
        assert!(err.contains("carrier-pigeon"), "{err}");
    }

    #[test]
    fn the_token_is_not_debug_printed() {
        let sender = HttpSms::new("http://127.0.0.1:9/sms", Some("sk_secret"), 10).unwrap();
        assert!(!format!("{sender:?}").contains("sk_secret"));
    }
}
