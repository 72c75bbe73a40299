//! The SMS port's delivery side: messages written to the outbox reach an HTTP SMS gateway (here
//! a small server in the test that records what it receives and can be told to fail), survive
//! the gateway's outages, give up visibly, and are sent once even with two workers racing.
//!
//! Background workers are off in these apps: each test calls the worker step itself and moves
//! the injected clock to make retries due.

use crate::both_engines;
use crate::helpers::{spawn_app_with, Engine, TestApp, TestBusiness, START_MS};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use ducat::sms::{deliver_pending_sms, delivery_state, settle_outbox_sms, SmsDelivery};
use ducat_core::ids::BusinessId;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

both_engines!(
    a_message_reaches_the_gateway_with_the_token_and_the_exact_json,
    an_outage_delays_a_message_but_does_not_lose_it,
    after_the_last_attempt_a_message_is_failed_and_left_alone,
    two_racing_workers_send_each_message_once,
    the_outbox_provider_needs_no_delivery,
);

const TOKEN: &str = "sk_sms_gateway_test";
const PHONE: &str = "+2348031234567";

/// What the gateway does with the next request; once the script is used up it accepts.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Unavailable,
    /// Answers only after the gateway client's timeout (1 s in these tests) has passed.
    Hang,
}

#[derive(Debug, Clone)]
struct Received {
    authorization: Option<String>,
    content_type: Option<String>,
    body: Value,
}

#[derive(Default)]
struct GatewayState {
    script: VecDeque<Answer>,
    always_unavailable: bool,
    /// How long an accepted request takes, so racing workers really overlap.
    accept_after: Duration,
    requests: usize,
    accepted: Vec<Received>,
}

#[derive(Clone)]
struct Gateway {
    url: String,
    state: Arc<Mutex<GatewayState>>,
}

impl Gateway {
    async fn start(state: GatewayState) -> Gateway {
        let state = Arc::new(Mutex::new(state));
        let router = axum::Router::new()
            .route("/sms", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Gateway { url, state }
    }

    fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    fn accepted(&self) -> Vec<Received> {
        self.state.lock().unwrap().accepted.clone()
    }
}

async fn receive(
    State(state): State<Arc<Mutex<GatewayState>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (answer, accept_after) = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        let answer = if state.always_unavailable {
            Some(Answer::Unavailable)
        } else {
            state.script.pop_front()
        };
        (answer, state.accept_after)
    };
    match answer {
        Some(Answer::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
        Some(Answer::Hang) => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            StatusCode::SERVICE_UNAVAILABLE
        }
        None => {
            tokio::time::sleep(accept_after).await;
            state.lock().unwrap().accepted.push(Received {
                authorization: header("authorization"),
                content_type: header("content-type"),
                body,
            });
            StatusCode::ACCEPTED
        }
    }
}

/// An app whose SMS go to `gateway`, with workers off so only the test runs the steps.
async fn spawn_app_sending_to(
    engine: Engine,
    gateway: &Gateway,
    max_attempts: u32,
) -> Option<TestApp> {
    let url = gateway.url.clone();
    spawn_app_with(engine, move |config| {
        config.run_workers = false;
        config.sms_provider = "http".to_owned();
        config.sms_http_url = Some(url);
        config.sms_http_token = Some(TOKEN.to_owned());
        config.sms_http_timeout_secs = 1;
        config.sms_max_attempts = max_attempts;
    })
    .await
}

/// Writes a message the way a flow does: inside its own transaction.
async fn enqueue(app: &TestApp, business: &TestBusiness, body: &str, reference: &str) -> String {
    let mut tx = app.services.store.begin().await.unwrap();
    let id = ducat::store::sms::enqueue(
        &mut tx,
        &BusinessId::from_trusted(business.id.clone()),
        PHONE,
        body,
        reference,
        app.clock_now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn step(app: &TestApp) -> usize {
    let sender = app
        .services
        .sms_sender
        .as_deref()
        .expect("the http provider has a sender");
    deliver_pending_sms(&app.services, sender)
        .await
        .expect("the step runs")
}

async fn state(app: &TestApp, id: &str) -> SmsDelivery {
    delivery_state(&app.services.store, id)
        .await
        .unwrap()
        .expect("the message is stored")
}

/// The ids `GET /sandbox/v1/sms` lists for the business.
async fn listed(app: &TestApp, business: &TestBusiness) -> Vec<String> {
    let answer = app
        .get("/sandbox/v1/sms?limit=200", &business.duplo())
        .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.text);
    answer.body["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_message_reaches_the_gateway_with_the_token_and_the_exact_json(engine: Engine) {
    let gateway = Gateway::start(GatewayState::default()).await;
    let Some(app) = spawn_app_sending_to(engine, &gateway, 8).await else {
        return;
    };
    let business = app.create_business().await;
    let id = enqueue(&app, &business, "Your ducat OTP is 482913", "TRF_0001").await;
    assert_eq!(state(&app, &id).await.status, "pending");

    assert_eq!(step(&app).await, 1);

    let accepted = gateway.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].body,
        json!({ "to": PHONE, "body": "Your ducat OTP is 482913", "reference": "TRF_0001" })
    );
    assert_eq!(
        accepted[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        accepted[0].content_type.as_deref(),
        Some("application/json")
    );
    let sent = state(&app, &id).await;
    assert_eq!(sent.status, "sent");
    assert_eq!(sent.attempts, 1);
    assert_eq!(sent.sent_at, Some(START_MS));
    assert_eq!(sent.last_error, None);

    // Sent is final: later steps send nothing, and the sandbox still lists the message.
    app.clock.advance_secs(3600);
    assert_eq!(step(&app).await, 0);
    assert_eq!(gateway.requests(), 1);
    assert_eq!(listed(&app, &business).await, vec![id]);
    app.finish().await;
}

async fn an_outage_delays_a_message_but_does_not_lose_it(engine: Engine) {
    let gateway = Gateway::start(GatewayState {
        script: VecDeque::from([Answer::Unavailable, Answer::Unavailable, Answer::Hang]),
        ..GatewayState::default()
    })
    .await;
    let Some(app) = spawn_app_sending_to(engine, &gateway, 8).await else {
        return;
    };
    let business = app.create_business().await;
    let id = enqueue(&app, &business, "Your ducat OTP is 105533", "TRF_0002").await;

    // First attempt: 503. Retried 5 s later, not before.
    assert_eq!(step(&app).await, 0);
    let first = state(&app, &id).await;
    assert_eq!(first.status, "pending");
    assert_eq!(first.attempts, 1);
    assert_eq!(first.next_attempt_at, START_MS + 5_000);
    assert!(
        first
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("503")),
        "{first:?}"
    );
    assert_eq!(step(&app).await, 0);
    app.clock.advance_secs(4);
    assert_eq!(step(&app).await, 0);
    assert_eq!(gateway.requests(), 1, "nothing is retried before it is due");

    // Second attempt: 503 again; the wait doubles.
    app.clock.advance_secs(1);
    assert_eq!(step(&app).await, 0);
    let second = state(&app, &id).await;
    assert_eq!(second.attempts, 2);
    assert_eq!(second.next_attempt_at, app.clock_now() + 10_000);

    // Third attempt: the gateway hangs past the timeout.
    app.clock.advance_secs(10);
    assert_eq!(step(&app).await, 0);
    let third = state(&app, &id).await;
    assert_eq!(third.status, "pending");
    assert_eq!(third.attempts, 3);
    assert_eq!(third.next_attempt_at, app.clock_now() + 20_000);
    assert!(
        third
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("did not answer within 1 s")),
        "{third:?}"
    );
    assert!(gateway.accepted().is_empty());

    // The gateway is back: the message goes out, once.
    app.clock.advance_secs(20);
    assert_eq!(step(&app).await, 1);
    let sent = state(&app, &id).await;
    assert_eq!(sent.status, "sent");
    assert_eq!(sent.attempts, 4);
    assert_eq!(sent.sent_at, Some(app.clock_now()));
    app.clock.advance_secs(3600);
    assert_eq!(step(&app).await, 0);
    assert_eq!(gateway.requests(), 4);
    let accepted = gateway.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].body["reference"], "TRF_0002");
    app.finish().await;
}

async fn after_the_last_attempt_a_message_is_failed_and_left_alone(engine: Engine) {
    let gateway = Gateway::start(GatewayState {
        always_unavailable: true,
        ..GatewayState::default()
    })
    .await;
    let Some(app) = spawn_app_sending_to(engine, &gateway, 3).await else {
        return;
    };
    let business = app.create_business().await;
    let id = enqueue(&app, &business, "Your ducat OTP is 777001", "TRF_0003").await;

    assert_eq!(step(&app).await, 0);
    app.clock.advance_secs(5);
    assert_eq!(step(&app).await, 0);
    assert_eq!(state(&app, &id).await.status, "pending");
    app.clock.advance_secs(10);
    assert_eq!(step(&app).await, 0);
    let failed = state(&app, &id).await;
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.attempts, 3);
    assert_eq!(failed.sent_at, None);
    assert!(
        failed
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("503")),
        "{failed:?}"
    );

    // No fourth attempt, however long we wait; the message stays visible.
    app.clock.advance_secs(24 * 3600);
    assert_eq!(step(&app).await, 0);
    assert_eq!(gateway.requests(), 3);
    assert_eq!(state(&app, &id).await.status, "failed");
    assert_eq!(listed(&app, &business).await, vec![id]);
    app.finish().await;
}

async fn two_racing_workers_send_each_message_once(engine: Engine) {
    let gateway = Gateway::start(GatewayState {
        accept_after: Duration::from_millis(20),
        ..GatewayState::default()
    })
    .await;
    let Some(app) = spawn_app_sending_to(engine, &gateway, 8).await else {
        return;
    };
    let business = app.create_business().await;
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(
            enqueue(
                &app,
                &business,
                &format!("message {n}"),
                &format!("REF_{n:02}"),
            )
            .await,
        );
    }

    let (first, second) = tokio::join!(step(&app), step(&app));
    assert_eq!(first + second, 12, "{first} + {second}");

    let mut references: Vec<String> = gateway
        .accepted()
        .iter()
        .map(|r| r.body["reference"].as_str().unwrap().to_owned())
        .collect();
    references.sort();
    let expected: Vec<String> = (0..12).map(|n| format!("REF_{n:02}")).collect();
    assert_eq!(references, expected, "each message exactly once");
    assert_eq!(gateway.requests(), 12);
    for id in &ids {
        assert_eq!(state(&app, id).await.status, "sent");
    }
    assert_eq!(step(&app).await, 0);
    app.finish().await;
}

async fn the_outbox_provider_needs_no_delivery(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |config| config.run_workers = false).await else {
        return;
    };
    assert!(app.services.sms_sender.is_none());
    let business = app.create_business().await;
    let id = enqueue(&app, &business, "Your ducat OTP is 246810", "TRF_0004").await;

    assert_eq!(settle_outbox_sms(&app.services).await.unwrap(), 1);
    let settled = state(&app, &id).await;
    assert_eq!(settled.status, "not_required");
    assert_eq!(settled.attempts, 0);
    assert_eq!(settle_outbox_sms(&app.services).await.unwrap(), 0);
    assert_eq!(listed(&app, &business).await, vec![id]);
    app.finish().await;
}
