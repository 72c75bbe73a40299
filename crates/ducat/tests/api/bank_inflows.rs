//! Money in over the network: live businesses get their account numbers from a real
//! `ducat bank-sim` process, and the bank-sim's signed inflow notifications are applied once
//! each, under duplicates, reordering and ducat being unreachable, on both engines.
//!
//! The bank-sim notifies a small gateway in front of ducat (started first, since the bank-sim
//! and ducat each need the other's address), which can be switched to answer 503.

use crate::bank_network::{gateway, BankSim};
use crate::bank_support::assert_reconciled_clean;
use crate::both_engines;
use crate::helpers::{Engine, TestApp, TestBusiness};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode as AxumStatus, Uri};
use axum::response::{IntoResponse, Response};
use ducat::rail::notifications;
use ducat::store::businesses::Mode;
use ducat_core::checkout::CheckoutStatus;
use ducat_core::ids::BusinessId;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_bank_notifications_for_tests";

both_engines!(
    a_live_wallet_account_comes_from_the_bank_and_an_inflow_credits_it_once,
    a_duplicate_notification_is_applied_once,
    out_of_order_notifications_are_both_applied,
    a_live_checkout_is_paid_over_the_network_and_a_wrong_amount_returned,
    bad_signatures_and_stale_timestamps_are_refused,
    the_backlog_drains_once_ducat_is_reachable_again,
    a_checkout_paid_while_the_bank_is_down_is_paid_once_it_is_back,
);

/// A gateway in front of ducat: forwards to `target`, or answers 503 while `down`.
#[derive(Clone, Default)]
pub(crate) struct Front {
    target: Arc<Mutex<Option<String>>>,
    down: Arc<AtomicBool>,
    client: reqwest::Client,
}

async fn forward(
    State(front): State<Front>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = front.target.lock().unwrap().clone();
    let (false, Some(target)) = (front.down.load(Ordering::SeqCst), target) else {
        return (AxumStatus::SERVICE_UNAVAILABLE, "ducat is down").into_response();
    };
    let mut request = front
        .client
        .request(method, format!("{target}{}", uri.path()))
        .body(body);
    for (name, value) in &headers {
        if name.as_str().starts_with("x-ducat-") || name.as_str() == "content-type" {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = AxumStatus::from_u16(answer.status().as_u16()).unwrap();
            (status, answer.bytes().await.unwrap_or_default()).into_response()
        }
        Err(_) => (AxumStatus::BAD_GATEWAY, "ducat did not answer").into_response(),
    }
}

async fn start_front() -> (Front, String) {
    let front = Front::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(front.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    (front, url)
}

/// The bank-sim, ducat (live mode on the http rail, notifications signed with `SECRET`), and
/// the gateway between them. ducat's clock is moved to the real time so the bank-sim's
/// timestamps are fresh.
pub(crate) async fn network(engine: Engine) -> Option<(BankSim, TestApp, Front)> {
    let (front, front_url) = start_front().await;
    let bank = BankSim::start_with(&[
        "--notify-url",
        &front_url,
        "--notify-secret",
        SECRET,
        "--notify-backoff-ms",
        "50",
        "--notify-backoff-cap-ms",
        "400",
    ]);
    let app = gateway(engine, &bank, |config| {
        config.rail_http_notification_secret = Some(SECRET.to_owned());
    })
    .await?;
    *front.target.lock().unwrap() = Some(app.address.clone());
    Some((bank, app, front))
}

pub(crate) async fn send_inflow(bank: &BankSim, account: &str, kobo: i64, faults: Value) -> String {
    let mut body = json!({
        "account_number": account,
        "amount": kobo,
        "currency": "NGN",
        "source_account_name": "Amaka Eze",
        "source_bank_code": "044",
        "source_account_number": "0690000031",
    });
    if let (Some(body), Some(faults)) = (body.as_object_mut(), faults.as_object()) {
        body.extend(faults.clone());
    }
    let created = bank
        .admin(
            reqwest::Client::new()
                .post(format!("{}/admin/inflows", bank.url))
                .json(&body),
        )
        .await;
    created["session_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn inflows(bank: &BankSim) -> Vec<Value> {
    bank.admin(reqwest::Client::new().get(format!("{}/admin/inflows", bank.url)))
        .await["inflows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until every inflow the bank-sim recorded satisfies `done`, and returns them.
pub(crate) async fn wait_for(bank: &BankSim, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = inflows(bank).await;
        if !all.is_empty() && all.iter().all(&done) {
            return all;
        }
        assert!(Instant::now() < deadline, "inflows never settled: {all:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn acknowledged(inflow: &Value) -> bool {
    inflow["acknowledged"] == true
}

fn answer_status(inflow: &Value) -> String {
    let answer: Value =
        serde_json::from_str(inflow["last_answer"].as_str().unwrap_or("null")).unwrap();
    answer["status"].as_str().unwrap_or_default().to_owned()
}

fn find<'a>(all: &'a [Value], session_id: &str) -> &'a Value {
    all.iter()
        .find(|i| i["session_id"] == session_id)
        .unwrap_or_else(|| panic!("inflow {session_id} in {all:#?}"))
}

async fn wallet_credits(app: &TestApp, business: &TestBusiness) -> usize {
    let id = BusinessId::parse(&business.id).unwrap();
    let mut tx = app.services.store.begin().await.unwrap();
    let seen: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbound_transfers WHERE business_id = $1 AND outcome = 'credited'",
    )
    .bind(id.as_str())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    usize::try_from(seen).unwrap()
}

async fn a_live_wallet_account_comes_from_the_bank_and_an_inflow_credits_it_once(engine: Engine) {
    let Some((bank, app, _front)) = network(engine).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    // The bank opened the account for the wallet: asking again with the wallet's reference
    // gets the same number.
    let again = bank
        .admin(
            reqwest::Client::new()
                .post(format!("{}/v1/accounts", bank.url))
                .json(&json!({"reference": business.ngn_wallet, "currency": "NGN",
                    "account_name": "Ada's Kitchen", "kind": "wallet"})),
        )
        .await;
    assert_eq!(again["account_number"], business.ngn_account.as_str());
    let etb_again = bank
        .admin(
            reqwest::Client::new()
                .post(format!("{}/v1/accounts", bank.url))
                .json(&json!({"reference": business.etb_wallet, "currency": "ETB",
                    "account_name": "Ada's Kitchen", "kind": "wallet"})),
        )
        .await;
    assert_eq!(etb_again["account_number"], business.etb_account.as_str());
    // Test mode is untouched: its accounts never reach the bank.
    let tester = app.create_business_in(Mode::Test).await;
    let fresh = bank
        .admin(
            reqwest::Client::new()
                .post(format!("{}/v1/accounts", bank.url))
                .json(&json!({"reference": tester.ngn_wallet, "currency": "NGN",
                    "account_name": "x", "kind": "wallet"})),
        )
        .await;
    assert_ne!(fresh["account_number"], tester.ngn_account.as_str());

    let session = send_inflow(&bank, &business.ngn_account, 500_000, json!({})).await;
    let all = wait_for(&bank, acknowledged).await;
    let inflow = find(&all, &session);
    assert_eq!(answer_status(inflow), "applied", "{inflow:#}");
    assert_eq!(inflow["attempts"], 1);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(5000), json!(5000))
    );
    assert_eq!(wallet_credits(&app, &business).await, 1);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn a_duplicate_notification_is_applied_once(engine: Engine) {
    let Some((bank, app, _front)) = network(engine).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let session = send_inflow(
        &bank,
        &business.ngn_account,
        250_000,
        json!({"duplicate": true}),
    )
    .await;
    let all = wait_for(&bank, |i| i["deliveries"] == 2).await;
    let inflow = find(&all, &session);
    assert_eq!(answer_status(inflow), "duplicate", "{inflow:#}");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(2500), json!(2500))
    );
    assert_eq!(wallet_credits(&app, &business).await, 1);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn out_of_order_notifications_are_both_applied(engine: Engine) {
    let Some((bank, app, _front)) = network(engine).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let first = send_inflow(
        &bank,
        &business.ngn_account,
        100_000,
        json!({"out_of_order": true}),
    )
    .await;
    let second = send_inflow(&bank, &business.ngn_account, 200_000, json!({})).await;
    let all = wait_for(&bank, acknowledged).await;
    let (first, second) = (find(&all, &first), find(&all, &second));
    assert!(
        first["ack_rank"].as_i64() > second["ack_rank"].as_i64(),
        "the held-back notification arrived second: {all:#?}"
    );
    assert_eq!(answer_status(first), "applied");
    assert_eq!(answer_status(second), "applied");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(3000), json!(3000))
    );
    assert_eq!(wallet_credits(&app, &business).await, 2);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn create_checkout(app: &TestApp, business: &TestBusiness, naira: &str) -> (String, String) {
    let answer = app
        .post(
            "/v1/checkout/",
            &business.duplo(),
            json!({"business_id": business.id, "amount": naira, "fee_bearer": "customer"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let data = &answer.body["data"];
    (
        data["checkout_reference"].as_str().unwrap().to_owned(),
        data["account_number"].as_str().unwrap().to_owned(),
    )
}

async fn a_live_checkout_is_paid_over_the_network_and_a_wrong_amount_returned(engine: Engine) {
    let Some((bank, app, _front)) = network(engine).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let id = BusinessId::parse(&business.id).unwrap();
    let (paid_ref, paid_account) = create_checkout(&app, &business, "1200").await;
    let (open_ref, open_account) = create_checkout(&app, &business, "1200").await;
    let checkout = app.services.checkout(&id, &paid_ref).await.unwrap();
    // The checkout's account came from the bank (asking again with its reference agrees).
    let again = bank
        .admin(
            reqwest::Client::new()
                .post(format!("{}/v1/accounts", bank.url))
                .json(&json!({"reference": paid_ref, "currency": "NGN",
                    "account_name": checkout.account_name, "kind": "checkout"})),
        )
        .await;
    assert_eq!(again["account_number"], paid_account.as_str());
    let to_pay = checkout.amount_to_pay.get();

    let exact = send_inflow(&bank, &paid_account, to_pay, json!({})).await;
    let wrong = send_inflow(&bank, &open_account, to_pay - 100, json!({})).await;
    let unknown = send_inflow(&bank, "9999999999", 70_000, json!({"duplicate": true})).await;
    let all = wait_for(&bank, |i| {
        acknowledged(i) && i["deliveries"].as_i64() >= Some(1 + i64::from(i["duplicate"] == true))
    })
    .await;
    assert_eq!(answer_status(find(&all, &exact)), "applied");
    assert_eq!(answer_status(find(&all, &wrong)), "returned");
    assert_eq!(answer_status(find(&all, &unknown)), "duplicate");
    assert_eq!(
        app.services.checkout(&id, &paid_ref).await.unwrap().status,
        CheckoutStatus::Successful
    );
    assert_eq!(
        app.services.checkout(&id, &open_ref).await.unwrap().status,
        CheckoutStatus::Pending
    );
    let attempts = app
        .services
        .checkout_attempts(&app.services.checkout(&id, &open_ref).await.unwrap())
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "returned");
    // Only the exact payment reached the wallet (the customer bore the fee).
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(1200), json!(1200))
    );
    assert_eq!(wallet_credits(&app, &business).await, 1);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn post_signed(app: &TestApp, body: &str, timestamp: i64, secret: &str) -> (u16, Value) {
    let answer = app
        .client
        .post(format!("{}{}", app.address, notifications::INFLOWS_PATH))
        .header("content-type", "application/json")
        .header(notifications::TIMESTAMP_HEADER, timestamp.to_string())
        .header(
            notifications::SIGNATURE_HEADER,
            notifications::sign(secret, timestamp, body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn bad_signatures_and_stale_timestamps_are_refused(engine: Engine) {
    let Some((bank, app, front)) = network(engine).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let now = app.clock_now() / 1000;
    // A real inflow at the bank, whose notification is held at the door while this test posts
    // its own copies (the reconciliation finds it on the bank's statement).
    front.down.store(true, Ordering::SeqCst);
    let notification = bank
        .admin(
            reqwest::Client::new()
                .post(format!("{}/admin/inflows", bank.url))
                .json(
                    &json!({"account_number": business.ngn_account, "amount": 500_000,
                    "currency": "NGN"}),
                ),
        )
        .await;
    let body = notification.to_string();
    let (status, refusal) = post_signed(&app, &body, now, "not the secret").await;
    assert_eq!(status, 401, "{refusal}");
    assert_eq!(refusal["error"]["code"], "unauthorized");
    let (status, _) = post_signed(&app, &body, now - 301, SECRET).await;
    assert_eq!(status, 401);
    let (status, _) = post_signed(&app, &body, now + 301, SECRET).await;
    assert_eq!(status, 401);
    let unsigned = app
        .client
        .post(format!("{}{}", app.address, notifications::INFLOWS_PATH))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    // Signed but malformed: 400, nothing applied.
    let (status, refusal) = post_signed(&app, "{\"session_id\": 1}", now, SECRET).await;
    assert_eq!(status, 400, "{refusal}");
    let mut negative = notification.clone();
    negative["amount"] = json!(-5);
    let negative = negative.to_string();
    let (status, _) = post_signed(&app, &negative, now, SECRET).await;
    assert_eq!(status, 400);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(0), json!(0))
    );
    assert_eq!(wallet_credits(&app, &business).await, 0);
    // The same body, properly signed, is applied; again, it is a duplicate.
    let (status, ack) = post_signed(&app, &body, now, SECRET).await;
    assert_eq!((status, ack["status"].clone()), (200, json!("applied")));
    let (status, ack) = post_signed(&app, &body, now, SECRET).await;
    assert_eq!((status, ack["status"].clone()), (200, json!("duplicate")));
    // The bank's own delivery, once ducat is reachable: a duplicate too.
    front.down.store(false, Ordering::SeqCst);
    let all = wait_for(&bank, acknowledged).await;
    assert_eq!(answer_status(&all[0]), "duplicate", "{all:#?}");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(5000), json!(5000))
    );
    assert_eq!(wallet_credits(&app, &business).await, 1);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn the_backlog_drains_once_ducat_is_reachable_again(engine: Engine) {
    let Some((bank, app, front)) = network(engine).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    front.down.store(true, Ordering::SeqCst);
    let mut sessions = Vec::new();
    for kobo in [100_000, 200_000, 300_000] {
        sessions.push(send_inflow(&bank, &business.ngn_account, kobo, json!({})).await);
    }
    // The bank keeps trying while ducat answers 503.
    wait_for(&bank, |i| {
        i["attempts"].as_i64() >= Some(3) && !acknowledged(i)
    })
    .await;
    assert_eq!(wallet_credits(&app, &business).await, 0);
    front.down.store(false, Ordering::SeqCst);
    let all = wait_for(&bank, acknowledged).await;
    for session in &sessions {
        let inflow = find(&all, session);
        assert_eq!(answer_status(inflow), "applied", "{inflow:#}");
        assert_eq!(inflow["deliveries"], 1);
    }
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(6000), json!(6000))
    );
    assert_eq!(wallet_credits(&app, &business).await, 3);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn a_checkout_paid_while_the_bank_is_down_is_paid_once_it_is_back(engine: Engine) {
    let Some((bank, app, _front)) = network(engine).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let id = BusinessId::parse(&business.id).unwrap();
    let (reference, account) = create_checkout(&app, &business, "1200").await;
    let to_pay = app
        .services
        .checkout(&id, &reference)
        .await
        .unwrap()
        .amount_to_pay
        .get();
    bank.down_for(2).await;
    let went_down = Instant::now();
    // A new checkout needs an account from the bank: refused while it is down.
    let refused = app
        .post(
            "/v1/checkout/",
            &business.duplo(),
            json!({"business_id": business.id, "amount": "1200", "fee_bearer": "customer"}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text
    );
    // The customer pays the open one; the bank, down, notifies nobody yet.
    let session = send_inflow(&bank, &account, to_pay, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(went_down.elapsed() < Duration::from_secs(2));
    assert_eq!(inflows(&bank).await[0]["attempts"], 0);
    assert_eq!(
        app.services.checkout(&id, &reference).await.unwrap().status,
        CheckoutStatus::Pending
    );
    // Back: the notification arrives, the checkout is paid once.
    let all = wait_for(&bank, acknowledged).await;
    assert!(went_down.elapsed() >= Duration::from_secs(2));
    let inflow = find(&all, &session);
    assert_eq!(answer_status(inflow), "applied", "{inflow:#}");
    assert_eq!(inflow["deliveries"], 1);
    assert_eq!(
        app.services.checkout(&id, &reference).await.unwrap().status,
        CheckoutStatus::Successful
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(1200), json!(1200))
    );
    assert_eq!(wallet_credits(&app, &business).await, 1);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}
