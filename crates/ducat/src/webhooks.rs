//! Webhook delivery: the deliverer of the outbox [`crate::store::webhooks`] fills in the
//! transaction of every event.
//!
//! - Addressing is decided when the event is appended (its `callback_url`, else the business's
//!   `webhook_url` at that moment); the row keeps the URL.
//! - Every POST carries the Standard Webhooks 1.0 headers ([`sign`]): `webhook-id` (the event id,
//!   the same on every retry, so receivers de-duplicate on it), `webhook-timestamp` (this
//!   attempt's unix seconds) and `webhook-signature` (during a secret rotation's overlap, the new
//!   and the previous secret's signatures, space-separated, new first); Duplo-face events also
//!   carry `DP-HASH-VERIFY` for integrations written against Duplo.
//! - Only 2xx is success. 410 Gone disables the delivery (kept, replayable) and the endpoint:
//!   the business records that URL as disabled, its waiting deliveries there are disabled, and
//!   new events for it are written disabled until a webhook URL is registered again. Anything else
//!   (another status, 3xx included since redirects are not followed, a timeout, a connection
//!   error, a refused target) is retried on the configured schedule ([`delay_before_attempt`],
//!   `Retry-After` honoured up to [`RETRY_AFTER_CAP`]); after the last scheduled attempt the
//!   delivery is `failed`, kept and replayable with [`Services::redeliver_event`].
//! - Unless `webhook_allow_private_targets`, the host is resolved at send time and any loopback,
//!   private, link-local, CGNAT or unspecified address refuses the send; the connection then goes
//!   to exactly the addresses checked, so a DNS answer that changes between check and connect
//!   cannot slip through.
//!
//! Delivery is at least once: a node that sends and dies before recording the outcome leaves the
//! lease to run out, and the event is sent again with the same `webhook-id`.

use crate::http::metrics::DeliveryOutcome;
use crate::services::{AppError, Services};
use crate::store::webhooks::{self as outbox, ClaimedDelivery, NextState, WebhookAttempt};
use crate::store::{businesses, StoreError};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ducat_core::ids::BusinessId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

/// At most this many deliveries per worker step, so a step stays bounded while receivers time
/// out and a backlog is shared between nodes.
pub const DELIVERY_BATCH: i64 = 50;

/// A receiver's `Retry-After` is honoured up to this long; beyond it the schedule's own delay
/// (if longer) applies.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(24 * 3600);

/// How much of a receiver's answer is read and kept.
pub const RESPONSE_BODY_CAP: usize = 1024;

/// How long a claim lasts at least; always longer than one send may take.
const MIN_LEASE_MS: i64 = 60_000;

/// The wait before attempt `attempt` (1-based) after the previous one, from the configured
/// schedule (`schedule[0]` is the wait between the event and the first attempt). A
/// `Retry-After` of the previous answer lengthens the wait up to [`RETRY_AFTER_CAP`]; it never
/// shortens it. `None` once the schedule has no attempt left.
pub fn delay_before_attempt(
    schedule: &[u64],
    attempt: usize,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let scheduled = Duration::from_secs(*schedule.get(attempt.checked_sub(1)?)?);
    Some(match retry_after {
        Some(asked) => scheduled.max(asked.min(RETRY_AFTER_CAP)),
        None => scheduled,
    })
}

/// A `Retry-After` header in delay-seconds form (the HTTP-date form is ignored).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("the webhook secret is not a whsec_ secret with a base64 key")]
    BadSecret,
}

/// The Standard Webhooks 1.0 signature header value: `v1,` and the base64 HMAC-SHA256, keyed with
/// the base64-decoded part of the `whsec_` secret, of `"{id}.{timestamp}.{body}"`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignError> {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| SignError::BadSecret)?;
    if key.is_empty() {
        return Err(SignError::BadSecret);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SignError::BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// Whether a webhook may be sent to this address when private targets are not allowed: not
/// loopback, private, link-local, CGNAT, unspecified, broadcast, multicast or documentation, nor
/// an IPv6 form (v4-mapped, v4-compatible, NAT64) of such an IPv4 address.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let forbidden = ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240; // reserved
    !forbidden
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    // Deprecated v4-compatible ::a.b.c.d (but not :: and ::1, handled below).
    if segments[..6] == [0; 6] && segments[6] != 0 {
        let [.., hi, lo] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    let forbidden = ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || segments[0] == 0x2001 && segments[1] == 0x0db8; // documentation
    !forbidden
}

/// Where one send may connect: the host and, when private targets are refused, the checked
/// addresses the connection is pinned to.
#[derive(Debug)]
struct Target {
    url: reqwest::Url,
    pinned: Option<(String, Vec<SocketAddr>)>,
}

/// Checks the URL's scheme and, unless private targets are allowed, resolves its host now and
/// refuses it if any address it resolves to is not public.
async fn check_target(
    url: &str,
    allow_private: bool,
    resolve_timeout_secs: u64,
) -> Result<Target, String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("the webhook URL is not a URL: {e}"))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(format!(
            "the webhook URL must be http or https, not {}",
            parsed.scheme()
        ));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| "the webhook URL has no host".to_owned())?
        .to_owned();
    if allow_private {
        return Ok(Target {
            url: parsed,
            pinned: None,
        });
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        // Bounded like the send, so a stalled resolver cannot outlast the lease.
        Err(_) => tokio::time::timeout(
            Duration::from_secs(resolve_timeout_secs),
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| format!("cannot resolve {host}: no answer within {resolve_timeout_secs} s"))?
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect(),
    };
    if addresses.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    if let Some(bad) = addresses.iter().find(|a| !is_public_address(a.ip())) {
        return Err(format!(
            "refused: {host} resolves to {}, a private, loopback or link-local address \
             (set webhook_allow_private_targets to allow it)",
            bad.ip()
        ));
    }
    let pinned = literal
        .parse::<IpAddr>()
        .is_err()
        .then_some((host, addresses));
    Ok(Target {
        url: parsed,
        pinned,
    })
}

/// What one POST came to.
#[derive(Debug, Default)]
struct Sent {
    status: Option<u16>,
    body: Option<String>,
    error: Option<String>,
    retry_after: Option<Duration>,
    /// Never sent: the target or the secret was refused before any connection.
    refused: bool,
}

/// How long a claim lasts: at least a minute, and longer than one send may take.
fn lease_ms(timeout_secs: u64) -> i64 {
    i64::try_from(timeout_secs.saturating_add(30))
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
        .max(MIN_LEASE_MS)
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// reqwest's top-level message hides the cause; the chain is what a business needs to see.
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

async fn post(
    target: Target,
    headers: Vec<(&'static str, String)>,
    body: String,
    timeout_secs: u64,
) -> Sent {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_secs))
        // A redirect is a failure: following it would send the signed event somewhere the
        // business did not register (and past the address check).
        .redirect(reqwest::redirect::Policy::none());
    if let Some((host, addresses)) = &target.pinned {
        builder = builder.resolve_to_addrs(host, addresses);
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(e) => {
            return Sent {
                error: Some(format!("cannot build an HTTP client: {}", error_chain(&e))),
                ..Sent::default()
            }
        }
    };
    let mut request = client
        .post(target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(e) if e.is_timeout() => {
            return Sent {
                error: Some(format!("no answer within {timeout_secs} s")),
                ..Sent::default()
            }
        }
        Err(e) => {
            return Sent {
                error: Some(format!(
                    "could not be reached: {}",
                    error_chain(&e.without_url())
                )),
                ..Sent::default()
            }
        }
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    // At most the first KiB is read; the rest is left unread (the connection is dropped).
    let mut kept: Vec<u8> = Vec::new();
    while kept.len() < RESPONSE_BODY_CAP {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = RESPONSE_BODY_CAP - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    let error = if status.is_success() {
        None
    } else if status.as_u16() == 410 {
        Some("the receiver answered 410 Gone: delivery disabled, not retried".to_owned())
    } else if status.is_redirection() {
        Some(format!(
            "the receiver answered HTTP {} (a redirect, not followed)",
            status.as_u16()
        ))
    } else {
        Some(format!("the receiver answered HTTP {}", status.as_u16()))
    };
    Sent {
        status: Some(status.as_u16()),
        body: Some(String::from_utf8_lossy(&kept).into_owned()),
        error,
        retry_after,
        refused: false,
    }
}

/// Signs and sends one claimed delivery; returns what happened. Refusals (a bad URL, a private
/// target, an undecryptable secret) are outcomes, never sends.
async fn attempt(services: &Services, claimed: &ClaimedDelivery, now_ms: i64) -> Sent {
    let refused = |error: String| Sent {
        error: Some(error),
        refused: true,
        ..Sent::default()
    };
    let business_id = BusinessId::from_trusted(claimed.business_id.clone());
    let business = match businesses::get_business(&services.store, &business_id).await {
        Ok(Some(business)) => business,
        Ok(None) => return refused("the business no longer exists".to_owned()),
        Err(e) => return refused(format!("cannot load the business: {e}")),
    };
    let secret = match services.keys.decrypt(&business.webhook_secret_enc) {
        Ok(secret) => secret,
        Err(_) => return refused("cannot decrypt the business's webhook secret".to_owned()),
    };
    let timestamp = now_ms.div_euclid(1000);
    let mut signature = match sign(
        &secret,
        &claimed.event_id,
        timestamp,
        claimed.payload.as_bytes(),
    ) {
        Ok(signature) => signature,
        Err(e) => return refused(e.to_string()),
    };
    // During a rotation's overlap the previous secret signs too (after the new one), so a
    // receiver still verifying with either secret accepts the delivery. A previous secret that
    // cannot be used is left out rather than failing a delivery the new one signs.
    if let Some(previous) = business.previous_webhook_secret_at(now_ms) {
        let old = services.keys.decrypt(previous).ok().and_then(|old| {
            sign(
                &old,
                &claimed.event_id,
                timestamp,
                claimed.payload.as_bytes(),
            )
            .ok()
        });
        if let Some(old) = old {
            signature.push(' ');
            signature.push_str(&old);
        }
    }
    let target = match check_target(
        &claimed.url,
        services.config.webhook_allow_private_targets,
        services.config.webhook_timeout_secs,
    )
    .await
    {
        Ok(target) => target,
        Err(e) => return refused(e),
    };
    let mut headers = vec![
        ("webhook-id", claimed.event_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    if claimed.face == "duplo" {
        headers.push(("DP-HASH-VERIFY", business.verify_hash.clone()));
    }
    post(
        target,
        headers,
        claimed.payload.clone(),
        services.config.webhook_timeout_secs,
    )
    .await
}

/// One worker step: claims up to [`DELIVERY_BATCH`] due deliveries, sends each, records the
/// attempt and moves the delivery on. Returns how many were delivered (answered 2xx).
///
/// Safe to run on several nodes at once: each delivery is claimed by a conditional UPDATE on its
/// lease, and its outcome is recorded only by the holder of the lease.
pub async fn deliver_due_webhooks(services: &Services) -> Result<usize, StoreError> {
    let schedule = services
        .config
        .webhook_schedule()
        .map_err(StoreError::Corrupt)?;
    let first_delay_ms = duration_ms(Duration::from_secs(schedule[0]));
    let lease = lease_ms(services.config.webhook_timeout_secs);
    let store = &services.store;
    let due = outbox::due(store, services.now_ms(), first_delay_ms, DELIVERY_BATCH).await?;
    let mut delivered = 0;
    for event_id in due {
        // Claimed one at a time, just before its send, so each lease starts with its own send and
        // a delivery another node took since the SELECT is skipped.
        let Some(claimed) =
            outbox::claim(store, &event_id, services.now_ms(), first_delay_ms, lease).await?
        else {
            continue;
        };
        if send_claimed(services, &claimed, &schedule).await? == DeliveryOutcome::Delivered {
            delivered += 1;
        }
    }
    Ok(delivered)
}

/// Sends one claimed delivery, records the attempt, moves the delivery on, and counts the
/// outcome in the metrics.
async fn send_claimed(
    services: &Services,
    claimed: &ClaimedDelivery,
    schedule: &[u64],
) -> Result<DeliveryOutcome, StoreError> {
    let store = &services.store;
    let attempted_at = services.now_ms();
    let started = Instant::now();
    let sent = attempt(services, claimed, attempted_at).await;
    let latency_ms = duration_ms(started.elapsed());
    let now = services.now_ms();
    let made = usize::try_from(claimed.attempts).unwrap_or(0) + 1;
    let outcome = match sent.status {
        Some(code) if (200..300).contains(&code) => DeliveryOutcome::Delivered,
        Some(410) => DeliveryOutcome::Disabled,
        Some(_) => DeliveryOutcome::FailedAttempt,
        None if sent.refused => DeliveryOutcome::RefusedTarget,
        None => DeliveryOutcome::FailedAttempt,
    };
    let retry_or_fail = || match delay_before_attempt(schedule, made + 1, sent.retry_after) {
        Some(delay) => NextState {
            status: "pending",
            next_attempt_at: now.saturating_add(duration_ms(delay)),
            delivered_at: None,
        },
        None => NextState {
            status: "failed",
            next_attempt_at: now,
            delivered_at: None,
        },
    };
    let next = match outcome {
        DeliveryOutcome::Delivered => NextState {
            status: "delivered",
            next_attempt_at: now,
            delivered_at: Some(now),
        },
        DeliveryOutcome::Disabled => NextState {
            status: "disabled",
            next_attempt_at: now,
            delivered_at: None,
        },
        DeliveryOutcome::FailedAttempt | DeliveryOutcome::RefusedTarget => retry_or_fail(),
    };
    let record = WebhookAttempt {
        id: crate::store::time_ordered_id("wha_", attempted_at),
        event_id: claimed.event_id.clone(),
        attempted_at,
        url: claimed.url.clone(),
        status_code: sent.status.map(i64::from),
        latency_ms,
        response_body: sent.body,
        error: sent.error,
    };
    match outcome {
        DeliveryOutcome::Delivered => {}
        DeliveryOutcome::Disabled
        | DeliveryOutcome::FailedAttempt
        | DeliveryOutcome::RefusedTarget => tracing::info!(
            event_id = %claimed.event_id,
            event_type = %claimed.event_type,
            attempt = made,
            outcome = next.status,
            error = record.error.as_deref().unwrap_or_default(),
            "webhook not delivered"
        ),
    }
    if !outbox::record_attempt(store, claimed, &record, &next).await? {
        tracing::warn!(
            event_id = %claimed.event_id,
            "webhook lease ran out before the outcome was recorded"
        );
    }
    services.metrics.webhook_attempt(outcome);
    match outcome {
        DeliveryOutcome::Delivered => services
            .metrics
            .webhook_delivered_after(now.saturating_sub(claimed.event_created_at)),
        DeliveryOutcome::Disabled => {
            // The business learns of it on its webhook API, and no new event is sent there
            // until it registers a URL again.
            let reason = format!(
                "{} answered 410 Gone at {}",
                claimed.url,
                crate::clock::iso_millis(now)
            );
            outbox::disable_endpoint(
                store,
                &BusinessId::from_trusted(claimed.business_id.clone()),
                &claimed.url,
                &reason,
                now,
            )
            .await?;
        }
        DeliveryOutcome::FailedAttempt | DeliveryOutcome::RefusedTarget => {}
    }
    Ok(outcome)
}

/// The type of the event `POST /v1/webhooks/test` and `ducat webhooks test` send.
pub const TEST_EVENT: &str = "WEBHOOK_TEST";

impl Services {
    /// Appends a `WEBHOOK_TEST` event (the Duplo envelope) for the business, addressed like any
    /// other event to its webhook URL, and returns its id. The deliverer sends it.
    pub async fn append_test_event(&self, business: &BusinessId) -> Result<String, AppError> {
        let record = self.business(business).await?;
        if record.webhook_url.is_none() {
            return Err(AppError::invalid(
                "webhook_url",
                "is not set: register one before sending a test event",
            ));
        }
        let now = self.now_ms();
        let payload = serde_json::json!({
            "data": {
                "event_type": TEST_EVENT,
                "event": {
                    "business_id": business.as_str(),
                    "created_at": crate::clock::iso_millis(now),
                    "description": "A test event sent on request; nothing happened on the account.",
                },
            },
            "message": "A new event just occurred on your account",
        });
        let mut tx = self.store.begin().await?;
        let event_id = crate::store::events::append(
            &mut tx,
            business,
            crate::store::events::EventFace::Duplo,
            TEST_EVENT,
            None,
            &payload,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(event_id)
    }

    /// Sends one event's delivery now, ahead of the worker, if it is pending and unclaimed (a
    /// disabled or already claimed one is left alone). The attempt is recorded and scheduled
    /// like any other.
    pub async fn deliver_event_now(&self, event_id: &str) -> Result<(), AppError> {
        let schedule = self
            .config
            .webhook_schedule()
            .map_err(|e| AppError::Internal(e.into()))?;
        let lease = lease_ms(self.config.webhook_timeout_secs);
        // A first delay of 0: the caller asked for this send now.
        if let Some(claimed) = outbox::claim(&self.store, event_id, self.now_ms(), 0, lease).await?
        {
            send_claimed(self, &claimed, &schedule).await?;
        }
        Ok(())
    }

    /// Sends one of the business's events again: its delivery goes back to pending with a fresh
    /// schedule, due now, whatever its state (a delivered, failed or disabled one included). An
    /// event that had nowhere to go when raised is addressed now (its callback URL, else the
    /// business's webhook URL). The attempt history is kept.
    pub async fn redeliver_event(
        &self,
        business: &BusinessId,
        event_id: &str,
    ) -> Result<(), AppError> {
        let callback_url = outbox::event_for_redelivery(&self.store, business, event_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no event {event_id}")))?;
        let url = match callback_url {
            Some(url) => Some(url),
            None => businesses::get_business(&self.store, business)
                .await?
                .and_then(|b| b.webhook_url),
        };
        let existing = outbox::delivery(&self.store, event_id).await?;
        let url = match (existing, url) {
            (Some(existing), _) => existing.url,
            (None, Some(url)) => url,
            (None, None) => {
                return Err(AppError::invalid(
                    "webhook_url",
                    "is not set: this event has nowhere to go",
                ))
            }
        };
        let schedule = self
            .config
            .webhook_schedule()
            .map_err(|e| AppError::Internal(e.into()))?;
        let now = self.now_ms();
        let due_at = now.saturating_sub(duration_ms(Duration::from_secs(schedule[0])));
        outbox::reset_for_redelivery(&self.store, business, event_id, &url, due_at, now).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: [u64; 10] = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400];

    #[test]
    fn the_schedule_gives_the_wait_before_each_attempt_and_then_ends() {
        let waits: Vec<u64> = (1..=10)
            .map(|n| delay_before_attempt(&SCHEDULE, n, None).unwrap().as_secs())
            .collect();
        assert_eq!(waits, SCHEDULE);
        assert_eq!(delay_before_attempt(&SCHEDULE, 11, None), None);
        assert_eq!(delay_before_attempt(&SCHEDULE, 0, None), None);
        assert_eq!(
            delay_before_attempt(&[7], 1, None),
            Some(Duration::from_secs(7))
        );
        assert_eq!(delay_before_attempt(&[7], 2, None), None);
    }

    #[test]
    fn retry_after_lengthens_the_wait_up_to_a_cap_and_never_shortens_it() {
        let secs = |n, after: u64| {
            delay_before_attempt(&SCHEDULE, n, Some(Duration::from_secs(after)))
                .unwrap()
                .as_secs()
        };
        assert_eq!(secs(2, 60), 60);
        assert_eq!(secs(3, 60), 300);
        assert_eq!(secs(2, 10 * 24 * 3600), 24 * 3600);
        assert_eq!(
            delay_before_attempt(&SCHEDULE, 11, Some(Duration::from_secs(1))),
            None
        );
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(
            sign("whsec_!!!", "msg", 1, b"{}"),
            Err(SignError::BadSecret)
        );
        assert_eq!(sign("whsec_", "msg", 1, b"{}"), Err(SignError::BadSecret));
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        let refused = [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "100.127.255.255",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ];
        for ip in refused {
            assert!(!is_public_address(ip.parse().unwrap()), "{ip}");
        }
        let allowed = [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ];
        for ip in allowed {
            assert!(is_public_address(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn targets_are_checked_before_any_send() {
        for (url, needle) in [
            ("ftp://example.com/hook", "http or https"),
            ("http://127.0.0.1:9/hook", "127.0.0.1"),
            ("http://[::1]:9/hook", "::1"),
            ("http://localhost:9/hook", "refused"),
            ("http://10.0.0.8/hook", "10.0.0.8"),
            ("not a url", "not a URL"),
        ] {
            let error = check_target(url, false, 5).await.unwrap_err();
            assert!(error.contains(needle), "{url}: {error}");
        }
        assert!(check_target("http://127.0.0.1:9/hook", true, 5)
            .await
            .is_ok());
        let literal = check_target("https://8.8.8.8/hook", false, 5)
            .await
            .unwrap();
        assert!(literal.pinned.is_none());
    }

    #[test]
    fn a_lease_outlasts_any_send() {
        assert_eq!(lease_ms(15), 60_000);
        assert_eq!(lease_ms(45), 75_000);
        assert!(lease_ms(u64::MAX) > 0);
    }
}
