//! Webhook delivery: events the flows append reach a receiver (a small server in the test that
//! records what it gets and can be told to fail, hang, or answer 410), signed per Standard
//! Webhooks with a stable id, retried on the schedule, disabled by 410, failed at the schedule's
//! end and replayable, never sent to private targets unless allowed, and sent once with two
//! workers racing; a rotated secret signs next to the old one for the overlap; a 410 disables the
//! endpoint until a URL is registered again; the events API lists, shows, redelivers and tests;
//! /metrics counts deliveries.
//!
//! Background workers are off: each test calls the worker step itself and moves the injected
//! clock to make retries due.

use crate::both_engines;
use crate::helpers::{assert_duplo_error, spawn_app_with, Engine, TestApp, TestBusiness, START_MS};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ducat::config::Config;
use ducat::store::webhooks::{attempts, delivery, WebhookAttempt, WebhookDelivery};
use ducat::webhooks::deliver_due_webhooks;
use ducat_core::ids::BusinessId;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::Row;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

both_engines!(
    an_inflow_is_delivered_signed_with_the_duplo_envelope,
    failures_are_retried_on_the_schedule_with_a_stable_id_then_succeed,
    a_410_disables_the_delivery_until_it_is_redelivered,
    after_the_last_scheduled_attempt_the_event_is_failed_and_replayable,
    private_targets_are_refused_at_send_time,
    two_racing_workers_deliver_each_attempt_once,
    a_beqelal_payment_with_a_callback_url_is_delivered_there,
    events_with_no_url_get_no_delivery,
    a_node_that_dies_mid_delivery_loses_nothing,
    a_rotated_secret_signs_next_to_the_old_one_until_the_overlap_ends,
    a_410_disables_the_endpoint_until_a_url_is_registered_again,
    the_events_api_lists_shows_and_redelivers_a_business_s_events,
    the_events_api_sends_a_test_event_and_refuses_bad_input,
    metrics_count_deliveries_by_outcome_and_their_lag,
);

/// What the receiver does with the next request; once the script is used up it answers 200.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reply {
    Status(u16),
    StatusRetryAfter(u16, u64),
    /// Answers only after the deliverer's timeout (1 s in these tests) has passed.
    Hang,
}

#[derive(Debug, Clone)]
pub(crate) struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
pub(crate) struct ReceiverState {
    pub(crate) script: VecDeque<Reply>,
    pub(crate) always: Option<u16>,
    /// How long a 200 takes, so racing workers really overlap.
    pub(crate) accept_after: Duration,
    pub(crate) received: Vec<Received>,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) base: String,
    pub(crate) state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub(crate) async fn start(state: ReceiverState) -> Receiver {
        let state = Arc::new(Mutex::new(state));
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .route("/callback", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver { base, state }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, HeaderMap, String) {
    let (reply, accept_after) = {
        let mut state = state.lock().unwrap();
        state.received.push(Received {
            path: uri.path().to_owned(),
            headers,
            body,
        });
        let reply = match state.always {
            Some(code) => Some(Reply::Status(code)),
            None => state.script.pop_front(),
        };
        (reply, state.accept_after)
    };
    let mut out = HeaderMap::new();
    match reply {
        Some(Reply::Status(code)) => (
            StatusCode::from_u16(code).unwrap(),
            out,
            format!("answer {code}"),
        ),
        Some(Reply::StatusRetryAfter(code, secs)) => {
            out.insert("retry-after", secs.to_string().parse().unwrap());
            (StatusCode::from_u16(code).unwrap(), out, "later".into())
        }
        Some(Reply::Hang) => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            (StatusCode::OK, out, "too late".into())
        }
        None => {
            tokio::time::sleep(accept_after).await;
            // Longer than the 1 KiB the deliverer keeps.
            (StatusCode::OK, out, format!("ok{}", "!".repeat(2000)))
        }
    }
}

async fn spawn(engine: Engine, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
    spawn_app_with(engine, |c| {
        c.webhook_allow_private_targets = true;
        c.webhook_timeout_secs = 1;
        configure(c);
    })
    .await
}

pub(crate) fn business_id(business: &TestBusiness) -> BusinessId {
    BusinessId::parse(&business.id).unwrap()
}

pub(crate) async fn set_webhook_url(app: &TestApp, business: &TestBusiness, url: &str) {
    app.services
        .set_preferences(
            &business_id(business),
            &ducat::services::audit::Actor::Cli,
            ducat::services::businesses::PreferenceInput {
                webhook_url: Some(Some(url.to_owned())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// The business's `(whsec_ secret, verify_hash)`, as its dashboard shows them.
pub(crate) async fn secrets_of(app: &TestApp, business: &TestBusiness) -> (String, String) {
    let record =
        ducat::store::businesses::get_business(&app.services.store, &business_id(business))
            .await
            .unwrap()
            .unwrap();
    (
        app.services
            .keys
            .decrypt(&record.webhook_secret_enc)
            .unwrap(),
        record.verify_hash,
    )
}

/// The business's event ids of this type, oldest first.
async fn event_ids(app: &TestApp, business: &TestBusiness, event_type: &str) -> Vec<String> {
    sqlx::query(
        "SELECT id FROM events WHERE business_id = $1 AND event_type = $2 ORDER BY created_at, id",
    )
    .bind(&business.id)
    .bind(event_type)
    .fetch_all(app.services.store.reader())
    .await
    .unwrap()
    .iter()
    .map(|row| row.get::<String, _>("id"))
    .collect()
}

pub(crate) async fn step(app: &TestApp) -> usize {
    deliver_due_webhooks(&app.services)
        .await
        .expect("the step runs")
}

async fn state(app: &TestApp, event_id: &str) -> WebhookDelivery {
    delivery(&app.services.store, event_id)
        .await
        .unwrap()
        .expect("a delivery row")
}

async fn attempts_of(app: &TestApp, event_id: &str) -> Vec<WebhookAttempt> {
    attempts(&app.services.store, event_id).await.unwrap()
}

/// An independent Standard Webhooks verifier, as a receiver writes it: checks the timestamp's
/// freshness against `now_secs` and that one of the space-separated `v1,` signatures matches.
pub(crate) fn verify(secret: &str, received: &Received, now_secs: i64) -> Result<(), String> {
    let id = received.header("webhook-id").ok_or("no webhook-id")?;
    let timestamp = received
        .header("webhook-timestamp")
        .ok_or("no webhook-timestamp")?;
    let signatures = received
        .header("webhook-signature")
        .ok_or("no webhook-signature")?;
    let sent_at: i64 = timestamp.parse().map_err(|_| "timestamp not a number")?;
    if (now_secs - sent_at).abs() > 5 * 60 {
        return Err(format!("timestamp {sent_at} is not fresh at {now_secs}"));
    }
    let key = BASE64
        .decode(secret.trim_start_matches("whsec_"))
        .map_err(|e| e.to_string())?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", received.body).as_bytes());
    let expected = mac.finalize().into_bytes();
    for signature in signatures.split(' ') {
        if let Some(("v1", encoded)) = signature.split_once(',') {
            if BASE64.decode(encoded).ok().as_deref() == Some(expected.as_slice()) {
                return Ok(());
            }
        }
    }
    Err(format!("no signature in {signatures:?} matches"))
}

async fn an_inflow_is_delivered_signed_with_the_duplo_envelope(engine: Engine) {
    let receiver = Receiver::start(ReceiverState::default()).await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    app.fund(&business, &business.ngn_account, "50000").await;
    let events = event_ids(&app, &business, "ACCOUNT_INFLOW").await;
    assert_eq!(events.len(), 1);
    let event_id = &events[0];
    let pending = state(&app, event_id).await;
    assert_eq!(pending.status, "pending");
    assert_eq!(pending.url, receiver.url("/hook"));

    assert_eq!(step(&app).await, 1);

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.path, "/hook");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("webhook-id"), Some(event_id.as_str()));
    assert_eq!(
        got.header("webhook-timestamp"),
        Some((START_MS / 1000).to_string().as_str())
    );
    let (secret, verify_hash) = secrets_of(&app, &business).await;
    assert!(secret.starts_with("whsec_"));
    verify(&secret, got, START_MS / 1000).expect("the signature verifies");
    assert!(verify(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        got,
        START_MS / 1000
    )
    .is_err());
    assert_eq!(got.header("dp-hash-verify"), Some(verify_hash.as_str()));
    // The Duplo envelope, exactly the event's stored payload.
    let body = got.json();
    assert_eq!(body["data"]["event_type"], "ACCOUNT_INFLOW");
    assert_eq!(body["message"], "A new event just occurred on your account");
    assert_eq!(
        body["data"]["event"]["wallet_ref"],
        business.ngn_wallet.as_str()
    );
    assert_eq!(body["data"]["event"]["business_id"], business.id.as_str());
    let stored: String = sqlx::query("SELECT payload FROM events WHERE id = $1")
        .bind(event_id)
        .fetch_one(app.services.store.reader())
        .await
        .unwrap()
        .get("payload");
    assert_eq!(got.body, stored);

    let delivered = state(&app, event_id).await;
    assert_eq!(delivered.status, "delivered");
    assert_eq!(delivered.attempts, 1);
    assert_eq!(delivered.delivered_at, Some(START_MS));
    assert_eq!(delivered.last_status_code, Some(200));
    assert_eq!(delivered.last_error, None);
    let recorded = attempts_of(&app, event_id).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status_code, Some(200));
    assert_eq!(recorded[0].url, receiver.url("/hook"));
    assert_eq!(recorded[0].attempted_at, START_MS);
    let kept = recorded[0].response_body.as_deref().unwrap();
    assert_eq!(kept.len(), 1024, "only the first KiB of the answer is kept");
    assert!(kept.starts_with("ok!!!"));

    // Delivered is final.
    app.clock.advance_secs(86_400);
    assert_eq!(step(&app).await, 0);
    assert_eq!(receiver.received().len(), 1);
    app.finish().await;
}

async fn failures_are_retried_on_the_schedule_with_a_stable_id_then_succeed(engine: Engine) {
    let receiver = Receiver::start(ReceiverState {
        script: VecDeque::from([
            Reply::StatusRetryAfter(503, 60),
            Reply::Hang,
            Reply::Status(302),
            Reply::Status(500),
        ]),
        ..ReceiverState::default()
    })
    .await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    app.fund(&business, &business.ngn_account, "1200").await;
    let event_id = event_ids(&app, &business, "ACCOUNT_INFLOW").await[0].clone();

    // Attempt 1 at once: 503 with Retry-After 60, longer than the schedule's 5 s, so it wins.
    assert_eq!(step(&app).await, 0);
    let first = state(&app, &event_id).await;
    assert_eq!((first.status.as_str(), first.attempts), ("pending", 1));
    assert_eq!(first.next_attempt_at, START_MS + 60_000);
    assert_eq!(first.last_status_code, Some(503));
    app.clock.advance_secs(59);
    assert_eq!(step(&app).await, 0);
    assert_eq!(receiver.received().len(), 1, "nothing is retried early");

    // Attempt 2 at 60 s: the receiver hangs past the timeout. Next after 300 s.
    app.clock.advance_secs(1);
    assert_eq!(step(&app).await, 0);
    let second = state(&app, &event_id).await;
    assert_eq!(second.attempts, 2);
    assert_eq!(second.next_attempt_at, START_MS + 360_000);
    assert_eq!(second.last_status_code, None);
    assert!(
        second.last_error.as_deref().unwrap().contains("within 1 s"),
        "{second:?}"
    );

    // Attempt 3: a redirect is a failure and is not followed. Next after 1800 s.
    app.clock.advance_secs(300);
    assert_eq!(step(&app).await, 0);
    let third = state(&app, &event_id).await;
    assert_eq!(third.last_status_code, Some(302));
    assert!(third.last_error.as_deref().unwrap().contains("redirect"));
    assert_eq!(third.next_attempt_at, START_MS + 2_160_000);

    // Attempt 4: 500. Next after 7200 s.
    app.clock.advance_secs(1800);
    assert_eq!(step(&app).await, 0);
    let fourth = state(&app, &event_id).await;
    assert_eq!(fourth.attempts, 4);
    assert_eq!(fourth.next_attempt_at, START_MS + 9_360_000);

    // Attempt 5 succeeds.
    app.clock.advance_secs(7199);
    assert_eq!(step(&app).await, 0);
    app.clock.advance_secs(1);
    assert_eq!(step(&app).await, 1);
    let done = state(&app, &event_id).await;
    assert_eq!((done.status.as_str(), done.attempts), ("delivered", 5));

    let received = receiver.received();
    assert_eq!(received.len(), 5);
    let (secret, _) = secrets_of(&app, &business).await;
    let sent_at = [
        START_MS,
        START_MS + 60_000,
        START_MS + 360_000,
        START_MS + 2_160_000,
        START_MS + 9_360_000,
    ];
    for (got, at) in received.iter().zip(sent_at) {
        assert_eq!(got.header("webhook-id"), Some(event_id.as_str()));
        assert_eq!(
            got.header("webhook-timestamp"),
            Some((at / 1000).to_string().as_str())
        );
        verify(&secret, got, at / 1000).expect("every attempt is signed afresh");
        assert_eq!(got.body, received[0].body, "the body never changes");
    }
    let recorded = attempts_of(&app, &event_id).await;
    let codes: Vec<Option<i64>> = recorded.iter().map(|a| a.status_code).collect();
    assert_eq!(
        codes,
        [Some(503), None, Some(302), Some(500), Some(200)],
        "every attempt is recorded"
    );
    assert!(recorded[1].latency_ms >= 900, "{:?}", recorded[1]);
    assert_eq!(recorded[0].response_body.as_deref(), Some("later"));
    app.finish().await;
}

async fn a_410_disables_the_delivery_until_it_is_redelivered(engine: Engine) {
    let receiver = Receiver::start(ReceiverState {
        script: VecDeque::from([Reply::Status(410)]),
        ..ReceiverState::default()
    })
    .await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    app.fund(&business, &business.ngn_account, "700").await;
    let event_id = event_ids(&app, &business, "ACCOUNT_INFLOW").await[0].clone();

    assert_eq!(step(&app).await, 0);
    let disabled = state(&app, &event_id).await;
    assert_eq!(disabled.status, "disabled");
    assert_eq!(disabled.last_status_code, Some(410));
    assert!(disabled.last_error.as_deref().unwrap().contains("410"));
    app.clock.advance_secs(7 * 86_400);
    assert_eq!(step(&app).await, 0);
    assert_eq!(receiver.received().len(), 1, "410 is not retried");

    app.services
        .redeliver_event(&business_id(&business), &event_id)
        .await
        .unwrap();
    assert_eq!(state(&app, &event_id).await.status, "pending");
    assert_eq!(step(&app).await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].header("webhook-id"), Some(event_id.as_str()));
    assert_eq!(state(&app, &event_id).await.status, "delivered");
    assert_eq!(attempts_of(&app, &event_id).await.len(), 2);

    // Another business cannot redeliver it; an unknown event is not found.
    let other = app.create_business().await;
    assert!(app
        .services
        .redeliver_event(&business_id(&other), &event_id)
        .await
        .is_err());
    assert!(app
        .services
        .redeliver_event(&business_id(&business), "evt_nope")
        .await
        .is_err());
    app.finish().await;
}

async fn after_the_last_scheduled_attempt_the_event_is_failed_and_replayable(engine: Engine) {
    let receiver = Receiver::start(ReceiverState {
        always: Some(500),
        ..ReceiverState::default()
    })
    .await;
    let Some(app) = spawn(engine, |c| c.webhook_schedule_secs = "0,5,10".into()).await else {
        return;
    };
    let business = app.create_business().await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    app.fund(&business, &business.ngn_account, "900").await;
    let event_id = event_ids(&app, &business, "ACCOUNT_INFLOW").await[0].clone();

    assert_eq!(step(&app).await, 0);
    app.clock.advance_secs(5);
    assert_eq!(step(&app).await, 0);
    assert_eq!(state(&app, &event_id).await.status, "pending");
    app.clock.advance_secs(10);
    assert_eq!(step(&app).await, 0);
    let failed = state(&app, &event_id).await;
    assert_eq!((failed.status.as_str(), failed.attempts), ("failed", 3));
    app.clock.advance_secs(86_400);
    assert_eq!(step(&app).await, 0);
    assert_eq!(receiver.received().len(), 3, "the schedule has ended");
    assert_eq!(attempts_of(&app, &event_id).await.len(), 3);

    // Kept and replayable once the receiver is back.
    receiver.state.lock().unwrap().always = None;
    app.services
        .redeliver_event(&business_id(&business), &event_id)
        .await
        .unwrap();
    assert_eq!(step(&app).await, 1);
    assert_eq!(state(&app, &event_id).await.status, "delivered");
    assert_eq!(attempts_of(&app, &event_id).await.len(), 4);
    app.finish().await;
}

async fn private_targets_are_refused_at_send_time(engine: Engine) {
    let receiver = Receiver::start(ReceiverState::default()).await;
    let Some(app) = spawn(engine, |c| c.webhook_allow_private_targets = false).await else {
        return;
    };
    let business = app.create_business().await;
    // Accepted at registration (the check that counts is the one at send time).
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    app.fund(&business, &business.ngn_account, "300").await;
    let port = receiver.base.rsplit(':').next().unwrap().to_owned();
    set_webhook_url(&app, &business, &format!("http://localhost:{port}/hook")).await;
    app.fund(&business, &business.ngn_account, "400").await;
    let events = event_ids(&app, &business, "ACCOUNT_INFLOW").await;
    assert_eq!(events.len(), 2);

    assert_eq!(step(&app).await, 0);
    assert!(receiver.received().is_empty(), "nothing is sent");
    for event_id in &events {
        let refused = state(&app, event_id).await;
        assert_eq!(refused.status, "pending", "retried like any failure");
        assert_eq!(refused.attempts, 1);
        let error = refused.last_error.unwrap();
        assert!(
            error.contains("refused") && error.contains("127.0.0.1"),
            "{error}"
        );
        let recorded = attempts_of(&app, event_id).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].status_code, None);
        assert!(recorded[0].error.as_deref().unwrap().contains("private"));
    }
    app.finish().await;
}

async fn two_racing_workers_deliver_each_attempt_once(engine: Engine) {
    let receiver = Receiver::start(ReceiverState {
        accept_after: Duration::from_millis(200),
        ..ReceiverState::default()
    })
    .await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    for amount in ["300", "400", "500", "600"] {
        app.fund(&business, &business.ngn_account, amount).await;
    }
    let events = event_ids(&app, &business, "ACCOUNT_INFLOW").await;
    assert_eq!(events.len(), 4);

    let (a, b) = tokio::join!(
        deliver_due_webhooks(&app.services),
        deliver_due_webhooks(&app.services)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 4);
    let received = receiver.received();
    assert_eq!(received.len(), 4, "each event is sent once");
    let mut ids: Vec<String> = received
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    ids.sort();
    let mut expected = events.clone();
    expected.sort();
    assert_eq!(ids, expected);
    for event_id in &events {
        assert_eq!(attempts_of(&app, event_id).await.len(), 1);
        assert_eq!(state(&app, event_id).await.status, "delivered");
    }
    app.finish().await;
}

const KACHA: u64 = 404050;
const WALLET_ACCOUNT: &str = "251911234567";

async fn a_beqelal_payment_with_a_callback_url_is_delivered_there(engine: Engine) {
    let receiver = Receiver::start(ReceiverState::default()).await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    // The portal URL is set too: the request's callback_url overrides it.
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    let requested = app
        .post(
            "/api/v1/payment/request",
            &business.beqelal(),
            json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 100, "trace_number": "W-1",
                    "callback_url": receiver.url("/callback") }),
        )
        .await;
    assert_eq!(requested.status.as_u16(), 200, "{}", requested.text);
    let reference = requested.body["id"].as_str().unwrap().to_owned();
    let otp: u32 = app
        .latest_otp(&business, &format!("+{WALLET_ACCOUNT}"))
        .await
        .parse()
        .unwrap();
    let processed = app
        .post(
            "/api/v1/payment/authorize",
            &business.beqelal(),
            json!({ "reference": reference, "otp": otp }),
        )
        .await;
    assert_eq!(processed.status.as_u16(), 200, "{}", processed.text);

    assert_eq!(step(&app).await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.path, "/callback");
    assert_eq!(got.header("dp-hash-verify"), None, "Duplo's header only");
    let (secret, _) = secrets_of(&app, &business).await;
    verify(&secret, got, START_MS / 1000).expect("the signature verifies");
    // The transaction document of the authorize answer.
    assert_eq!(got.json(), processed.body);
    let event_id = event_ids(&app, &business, "DIRECT_PAYMENT_PROCESSED").await[0].clone();
    assert_eq!(got.header("webhook-id"), Some(event_id.as_str()));
    assert_eq!(state(&app, &event_id).await.url, receiver.url("/callback"));
    app.finish().await;
}

async fn events_with_no_url_get_no_delivery(engine: Engine) {
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    app.fund(&business, &business.ngn_account, "300").await;
    let event_id = event_ids(&app, &business, "ACCOUNT_INFLOW").await[0].clone();
    assert!(delivery(&app.services.store, &event_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(step(&app).await, 0);
    // Redelivery needs somewhere to go; once a URL is registered, it addresses the event.
    assert!(app
        .services
        .redeliver_event(&business_id(&business), &event_id)
        .await
        .is_err());
    let receiver = Receiver::start(ReceiverState::default()).await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    app.services
        .redeliver_event(&business_id(&business), &event_id)
        .await
        .unwrap();
    assert_eq!(step(&app).await, 1);
    assert_eq!(receiver.received().len(), 1);
    app.finish().await;
}

async fn a_node_that_dies_mid_delivery_loses_nothing(engine: Engine) {
    let receiver = Receiver::start(ReceiverState::default()).await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    app.fund(&business, &business.ngn_account, "800").await;
    let event_id = event_ids(&app, &business, "ACCOUNT_INFLOW").await[0].clone();

    // A node claims the delivery and dies before sending or recording anything.
    let claimed =
        ducat::store::webhooks::claim(&app.services.store, &event_id, START_MS, 0, 60_000)
            .await
            .unwrap()
            .expect("the first claim wins");
    assert_eq!(claimed.url, receiver.url("/hook"));
    assert!(
        ducat::store::webhooks::claim(&app.services.store, &event_id, START_MS, 0, 60_000)
            .await
            .unwrap()
            .is_none(),
        "a held lease cannot be claimed again"
    );
    // While its lease runs, the others leave the delivery alone…
    assert_eq!(step(&app).await, 0);
    app.clock.advance_secs(60);
    assert_eq!(step(&app).await, 0);
    assert!(receiver.received().is_empty());
    // …and once it has run out, the delivery goes out, once, with its own id.
    app.clock.advance_secs(1);
    assert_eq!(step(&app).await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].header("webhook-id"), Some(event_id.as_str()));
    let delivered = state(&app, &event_id).await;
    assert_eq!(
        (delivered.status.as_str(), delivered.attempts),
        ("delivered", 1)
    );
    assert_eq!(attempts_of(&app, &event_id).await.len(), 1);
    app.finish().await;
}

/// The `v1,` signatures of a delivery, in the order sent.
fn signatures(received: &Received) -> Vec<String> {
    received
        .header("webhook-signature")
        .unwrap_or_default()
        .split(' ')
        .map(str::to_owned)
        .collect()
}

/// Whether this one signature of the delivery verifies with this secret (the independent
/// verifier, given the delivery with only that signature).
fn signed_by(secret: &str, received: &Received, signature: &str, now_secs: i64) -> bool {
    let mut alone = received.clone();
    alone
        .headers
        .insert("webhook-signature", signature.parse().unwrap());
    verify(secret, &alone, now_secs).is_ok()
}

async fn a_rotated_secret_signs_next_to_the_old_one_until_the_overlap_ends(engine: Engine) {
    let receiver = Receiver::start(ReceiverState::default()).await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    let (old, _) = secrets_of(&app, &business).await;
    let rotated = app
        .services
        .rotate_webhook_secret(
            &business_id(&business),
            &ducat::services::audit::Actor::Cli,
            3600,
        )
        .await
        .unwrap();
    let new = rotated.webhook_secret.clone();
    assert!(new.starts_with("whsec_"));
    assert_ne!(new, old);
    assert_eq!(
        secrets_of(&app, &business).await.0,
        new,
        "the new one is current"
    );

    // During the overlap: both signatures, the new one first, each verifying with its own secret.
    app.fund(&business, &business.ngn_account, "500").await;
    assert_eq!(step(&app).await, 1);
    let now = START_MS / 1000;
    let during = receiver.received()[0].clone();
    let sent = signatures(&during);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(signed_by(&new, &during, &sent[0], now));
    assert!(!signed_by(&old, &during, &sent[0], now));
    assert!(signed_by(&old, &during, &sent[1], now));
    assert!(!signed_by(&new, &during, &sent[1], now));
    verify(&new, &during, now).expect("a receiver on the new secret accepts it");
    verify(&old, &during, now).expect("a receiver still on the old secret accepts it");

    // Still both one second before the end; after it, only the new one.
    app.clock.advance_secs(3599);
    app.fund(&business, &business.ngn_account, "600").await;
    assert_eq!(step(&app).await, 1);
    assert_eq!(signatures(&receiver.received()[1]).len(), 2);
    app.clock.advance_secs(1);
    app.fund(&business, &business.ngn_account, "700").await;
    assert_eq!(step(&app).await, 1);
    let after = receiver.received()[2].clone();
    let later = (START_MS / 1000) + 3600;
    assert_eq!(signatures(&after).len(), 1);
    verify(&new, &after, later).expect("the new secret verifies");
    assert!(verify(&old, &after, later).is_err(), "the old one is gone");
    app.finish().await;
}

async fn a_410_disables_the_endpoint_until_a_url_is_registered_again(engine: Engine) {
    let receiver = Receiver::start(ReceiverState {
        script: VecDeque::from([Reply::Status(410)]),
        ..ReceiverState::default()
    })
    .await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    let url = receiver.url("/hook");
    set_webhook_url(&app, &business, &url).await;
    app.fund(&business, &business.ngn_account, "300").await;
    app.fund(&business, &business.ngn_account, "400").await;
    let first = event_ids(&app, &business, "ACCOUNT_INFLOW").await;

    // The first answer is 410: the endpoint is disabled, and so is the other waiting delivery.
    assert_eq!(step(&app).await, 0);
    assert_eq!(receiver.received().len(), 1);
    for event_id in &first {
        assert_eq!(state(&app, event_id).await.status, "disabled");
    }
    let record =
        ducat::store::businesses::get_business(&app.services.store, &business_id(&business))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(record.webhook_disabled_at, Some(START_MS));
    assert_eq!(record.webhook_disabled_url.as_deref(), Some(url.as_str()));
    assert!(record.webhook_disabled_reason.unwrap().contains("410"));

    // The business sees it on its webhook API.
    let listed = app
        .get(
            &format!("/v1/webhooks/events?business_id={}", business.id),
            &business.duplo(),
        )
        .await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.text);
    let endpoint = &listed.body["data"]["endpoint"];
    assert_eq!(endpoint["status"], "disabled");
    assert_eq!(endpoint["disabled_url"], url.as_str());
    assert!(endpoint["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("410"));

    // New events are recorded, their deliveries disabled (never sent, replayable).
    app.clock.advance_secs(60);
    app.fund(&business, &business.ngn_account, "500").await;
    let all = event_ids(&app, &business, "ACCOUNT_INFLOW").await;
    let held = all.last().unwrap().clone();
    let held_state = state(&app, &held).await;
    assert_eq!(held_state.status, "disabled");
    assert!(held_state.last_error.unwrap().contains("410"));
    app.clock.advance_secs(86_400);
    assert_eq!(step(&app).await, 0);
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing is sent to a disabled URL"
    );

    // Registering the URL again re-enables it; new events go out, the held one is replayable.
    let registered = app
        .post(
            "/v1/merchants/businesses/webhook",
            &business.duplo(),
            json!({ "business_id": business.id, "webhook_url": url, "verify_hash": "h-1" }),
        )
        .await;
    assert_eq!(registered.status.as_u16(), 200, "{}", registered.text);
    let listed = app
        .get(
            &format!("/v1/webhooks/events?business_id={}", business.id),
            &business.duplo(),
        )
        .await;
    assert_eq!(listed.body["data"]["endpoint"]["status"], "enabled");
    assert!(listed.body["data"]["endpoint"]["disabled_at"].is_null());
    app.fund(&business, &business.ngn_account, "600").await;
    assert_eq!(step(&app).await, 1);
    let redelivered = app
        .post(
            &format!("/v1/webhooks/events/{held}/redeliver"),
            &business.duplo(),
            json!({ "business_id": business.id }),
        )
        .await;
    assert_eq!(redelivered.status.as_u16(), 200, "{}", redelivered.text);
    assert_eq!(step(&app).await, 1);
    assert_eq!(state(&app, &held).await.status, "delivered");
    assert_eq!(receiver.received().len(), 3);
    app.finish().await;
}

async fn the_events_api_lists_shows_and_redelivers_a_business_s_events(engine: Engine) {
    let receiver = Receiver::start(ReceiverState {
        script: VecDeque::from([Reply::Status(500)]),
        ..ReceiverState::default()
    })
    .await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    app.fund(&business, &business.ngn_account, "300").await;
    app.clock.advance_secs(1);
    app.fund(&business, &business.ngn_account, "400").await;
    let events = event_ids(&app, &business, "ACCOUNT_INFLOW").await;
    assert_eq!(events.len(), 2);
    // The older one fails once (500), the newer one is delivered.
    assert_eq!(step(&app).await, 1);

    let listed = app
        .get(
            &format!("/v1/webhooks/events?business_id={}&limit=1", business.id),
            &business.duplo(),
        )
        .await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.text);
    let data = &listed.body["data"];
    assert_eq!(data["pagination"]["total"], 2);
    assert_eq!(data["endpoint"]["status"], "enabled");
    let page: Vec<Value> = data["events"].as_array().unwrap().clone();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["event_id"], events[1].as_str(), "newest first");
    assert_eq!(page[0]["event_type"], "ACCOUNT_INFLOW");
    assert_eq!(page[0]["delivery_status"], "delivered");
    assert_eq!(page[0]["attempts"], 1);
    assert_eq!(page[0]["url"], receiver.url("/hook").as_str());
    assert!(page[0]["transaction_ref"]
        .as_str()
        .unwrap()
        .starts_with("tran_"));
    assert!(page[0]["created_at"].is_string());
    let second = app
        .get(
            &format!(
                "/v1/webhooks/events?business_id={}&limit=1&page=2",
                business.id
            ),
            &business.duplo(),
        )
        .await;
    let older = &second.body["data"]["events"][0];
    assert_eq!(older["event_id"], events[0].as_str());
    assert_eq!(older["delivery_status"], "pending");

    // The detail: the body as sent and every attempt.
    let shown = app
        .get(
            &format!(
                "/v1/webhooks/events/{}?business_id={}",
                events[0], business.id
            ),
            &business.duplo(),
        )
        .await;
    assert_eq!(shown.status.as_u16(), 200, "{}", shown.text);
    let data = &shown.body["data"];
    assert_eq!(data["body"], receiver.received()[0].json());
    assert_eq!(data["delivery"]["status"], "pending");
    let tried = data["attempts"].as_array().unwrap();
    assert_eq!(tried.len(), 1);
    assert_eq!(tried[0]["status_code"], 500);
    assert_eq!(tried[0]["url"], receiver.url("/hook").as_str());
    assert_eq!(tried[0]["response_body"], "answer 500");
    assert!(tried[0]["error"].as_str().unwrap().contains("500"));
    assert!(tried[0]["latency_ms"].is_i64());
    assert!(tried[0]["attempted_at"].is_string());

    // Redelivering the delivered one sends it again, with the same id.
    let redelivered = app
        .post(
            &format!("/v1/webhooks/events/{}/redeliver", events[1]),
            &business.duplo(),
            json!({ "business_id": business.id }),
        )
        .await;
    assert_eq!(redelivered.status.as_u16(), 200, "{}", redelivered.text);
    assert_eq!(redelivered.body["data"]["delivery"]["status"], "pending");
    assert_eq!(step(&app).await, 1);
    let last = receiver.received().last().unwrap().clone();
    assert_eq!(last.header("webhook-id"), Some(events[1].as_str()));
    assert_eq!(attempts_of(&app, &events[1]).await.len(), 2);

    // Another business's event is not found, whichever way it is asked for.
    let other = app.create_business().await;
    let foreign = app
        .get(
            &format!("/v1/webhooks/events/{}?business_id={}", events[0], other.id),
            &other.duplo(),
        )
        .await;
    assert_duplo_error(&foreign, 404);
    let foreign = app
        .post(
            &format!("/v1/webhooks/events/{}/redeliver", events[0]),
            &other.duplo(),
            json!({ "business_id": other.id }),
        )
        .await;
    assert_duplo_error(&foreign, 404);
    let listed = app
        .get(
            &format!("/v1/webhooks/events?business_id={}", other.id),
            &other.duplo(),
        )
        .await;
    assert_eq!(listed.body["data"]["pagination"]["total"], 0);
    assert_eq!(listed.body["data"]["endpoint"]["status"], "not_set");
    app.finish().await;
}

async fn the_events_api_sends_a_test_event_and_refuses_bad_input(engine: Engine) {
    let receiver = Receiver::start(ReceiverState::default()).await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    // No URL yet: nowhere to send a test to.
    let refused = app
        .post(
            "/v1/webhooks/test",
            &business.duplo(),
            json!({ "business_id": business.id }),
        )
        .await;
    assert!(assert_duplo_error(&refused, 400).contains("webhook_url"));

    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    let sent = app
        .post(
            "/v1/webhooks/test",
            &business.duplo(),
            json!({ "business_id": business.id }),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 200, "{}", sent.text);
    let data = &sent.body["data"];
    assert_eq!(data["event_type"], "WEBHOOK_TEST");
    assert_eq!(data["delivery"]["status"], "delivered");
    assert_eq!(data["attempts"][0]["status_code"], 200);
    let received = receiver.received();
    assert_eq!(received.len(), 1, "sent at once, through the outbox");
    let got = &received[0];
    assert_eq!(got.json()["data"]["event_type"], "WEBHOOK_TEST");
    assert_eq!(got.header("webhook-id"), data["event_id"].as_str());
    let (secret, verify_hash) = secrets_of(&app, &business).await;
    verify(&secret, got, START_MS / 1000).expect("signed like any event");
    assert_eq!(got.header("dp-hash-verify"), Some(verify_hash.as_str()));
    assert_eq!(step(&app).await, 0, "and not again by the worker");

    // Bad input: the Duplo error shape and a 4xx, every time.
    let id = &business.id;
    for (path, status) in [
        (format!("/v1/webhooks/events?business_id={id}&page=0"), 400),
        (
            format!("/v1/webhooks/events?business_id={id}&limit=abc"),
            400,
        ),
        (
            format!("/v1/webhooks/events?business_id={id}&limit=201"),
            400,
        ),
        ("/v1/webhooks/events".to_owned(), 400),
        (
            "/v1/webhooks/events/evt_nope?business_id=".to_owned() + id,
            404,
        ),
    ] {
        let answer = app.get(&path, &business.duplo()).await;
        assert_duplo_error(&answer, status);
    }
    let other = app.create_business().await;
    let answer = app
        .get(
            &format!("/v1/webhooks/events?business_id={}", other.id),
            &business.duplo(),
        )
        .await;
    assert_duplo_error(&answer, 403);
    for (path, body) in [
        ("/v1/webhooks/test", json!({})),
        ("/v1/webhooks/test", json!({ "business_id": 7 })),
        (
            "/v1/webhooks/events/evt_nope/redeliver",
            json!({ "business_id": id }),
        ),
    ] {
        let answer = app.post(path, &business.duplo(), body).await;
        let status = answer.status.as_u16();
        assert!((400..500).contains(&status), "{path}: {}", answer.text);
        assert_duplo_error(&answer, status);
    }
    let unauthenticated = app
        .get(
            &format!("/v1/webhooks/events?business_id={id}"),
            &crate::helpers::Auth::None,
        )
        .await;
    assert_duplo_error(&unauthenticated, 401);
    app.finish().await;
}

async fn metrics_count_deliveries_by_outcome_and_their_lag(engine: Engine) {
    let receiver = Receiver::start(ReceiverState {
        script: VecDeque::from([Reply::Status(503)]),
        ..ReceiverState::default()
    })
    .await;
    let Some(app) = spawn(engine, |_| {}).await else {
        return;
    };
    let business = app.create_business().await;
    set_webhook_url(&app, &business, &receiver.url("/hook")).await;
    app.fund(&business, &business.ngn_account, "300").await;
    assert_eq!(step(&app).await, 0);
    app.clock.advance_secs(5);
    assert_eq!(step(&app).await, 1);
    let metrics = app.get("/metrics", &crate::helpers::Auth::None).await;
    let text = metrics.text;
    assert!(
        text.contains(r#"ducat_webhook_deliveries_total{outcome="delivered"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ducat_webhook_deliveries_total{outcome="failed_attempt"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("ducat_webhook_delivery_lag_seconds_count 1"),
        "{text}"
    );
    // Delivered 5 s after the event.
    assert!(
        text.contains("ducat_webhook_delivery_lag_seconds_sum 5.0"),
        "{text}"
    );
    app.finish().await;
}
