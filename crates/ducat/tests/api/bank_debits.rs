//! Beqelal direct payments of live businesses over the `http` rail: the institution (a real
//! `ducat bank-sim` process on loopback) texts its own OTP or pushes a prompt, ducat relays the
//! OTP and asks the bank about push approvals and lost answers. Beqelal's answers stay those of
//! the in-process flow; every money movement happens once. Both engines; each test ends with
//! the ledger check.

use crate::bank_network::{gateway, BankSim};
use crate::bank_support::assert_reconciled_clean;
use crate::both_engines;
use crate::helpers::{assert_beqelal_error, fixture, Answer, Engine, TestApp, TestBusiness};
use ducat::store::businesses::Mode;
use ducat_core::ids::BusinessId;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const KACHA: u64 = 404050;
const TELEBIRR: u64 = 404010;
pub(crate) const WALLET_ACCOUNT: &str = "251911234567";

both_engines!(
    the_banks_otp_processes_a_live_payment_once,
    a_wrong_otp_is_refused_as_in_process,
    a_push_approval_is_settled_by_the_status_query,
    an_institution_decline_fails_the_payment,
    an_authorization_answer_lost_after_the_bank_processed_is_settled_once,
    a_bank_error_on_the_request_creates_nothing,
    an_authorization_answer_later_than_the_timeout_is_settled_once,
    the_bank_down_during_a_request_and_an_authorization,
);

async fn request(app: &TestApp, business: &TestBusiness, body: Value) -> Answer {
    app.post("/api/v1/payment/request", &business.beqelal(), body)
        .await
}

pub(crate) async fn requested(
    app: &TestApp,
    business: &TestBusiness,
    account: &str,
    trace: &str,
) -> String {
    let answer = request(
        app,
        business,
        json!({ "bank": KACHA, "account": account, "amount": 100, "trace_number": trace }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["authorization_method"], "OTP");
    assert_eq!(answer.body["status"], "AWAITING_AUTHORIZATION");
    answer.body["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn authorize(
    app: &TestApp,
    business: &TestBusiness,
    reference: &str,
    otp: u32,
) -> Answer {
    app.post(
        "/api/v1/payment/authorize",
        &business.beqelal(),
        json!({ "reference": reference, "otp": otp }),
    )
    .await
}

pub(crate) async fn payment_status(
    app: &TestApp,
    business: &TestBusiness,
    reference: &str,
) -> String {
    let read = app
        .get(&format!("/api/v1/payment/{reference}"), &business.beqelal())
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    read.body["status"].as_str().unwrap().to_owned()
}

/// The OTP the institution texted for this debit, from the bank-sim's SMS log.
pub(crate) async fn bank_otp(bank: &BankSim, reference: &str) -> u32 {
    let messages = bank
        .admin(reqwest::Client::new().get(format!("{}/admin/sms?reference={reference}", bank.url)))
        .await;
    let message = &messages["messages"][0];
    assert_eq!(message["phone"], format!("+{WALLET_ACCOUNT}").as_str());
    let body = message["body"].as_str().expect("an SMS for the debit");
    body.split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .unwrap_or_else(|| panic!("an OTP in {body:?}"))
        .parse()
        .unwrap()
}

/// What the bank-sim holds: (reference, status) of every debit.
async fn bank_debits(bank: &BankSim) -> Vec<(String, String)> {
    let debits = bank
        .admin(reqwest::Client::new().get(format!("{}/admin/debits", bank.url)))
        .await;
    debits["debits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["reference"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn events(app: &TestApp, business: &TestBusiness, reference: &str) -> Vec<String> {
    let id = BusinessId::parse(&business.id).unwrap();
    ducat::store::events::for_transaction(&app.services.store, &id, reference)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.event_type)
        .collect()
}

async fn etb_balance(app: &TestApp, business: &TestBusiness) -> Value {
    app.balance(business, &business.etb_wallet).await.0
}

async fn the_banks_otp_processes_a_live_payment_once(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let reference = requested(&app, &business, WALLET_ACCOUNT, "L-1").await;
    // The institution texted the customer, not ducat.
    let id = BusinessId::parse(&business.id).unwrap();
    let ours = ducat::store::sms::list(
        &app.services.store,
        &id,
        Some(&format!("+{WALLET_ACCOUNT}")),
        10,
    )
    .await
    .unwrap();
    assert!(ours.is_empty(), "{ours:?}");
    assert_eq!(
        bank_debits(&bank).await,
        [(reference.clone(), "awaiting_authorization".to_owned())]
    );
    let otp = bank_otp(&bank, &reference).await;
    let processed = authorize(&app, &business, &reference, otp).await;
    assert_eq!(processed.status, StatusCode::OK, "{}", processed.text);
    let expected = fixture("beqelal-payment-authorize.200.json");
    for fixed in ["process", "status", "status_code", "message", "detail"] {
        assert_eq!(processed.body[fixed], expected[fixed], "{fixed}");
    }
    assert_eq!(processed.body["id"], reference.as_str());
    assert_eq!(processed.body["fee"], json!(0.5));
    assert_eq!(etb_balance(&app, &business).await, json!(99.5));
    assert_eq!(
        bank_debits(&bank).await,
        [(reference.clone(), "processed".to_owned())]
    );
    // Again: already completed, nothing moves twice; the worker has nothing to do.
    assert_beqelal_error(
        &authorize(&app, &business, &reference, otp).await,
        400,
        "452",
        "TRANSACTION_ALREADY_COMPLETED",
    );
    app.clock.advance_secs(700);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    assert_eq!(etb_balance(&app, &business).await, json!(99.5));
    assert_eq!(
        events(&app, &business, &reference).await,
        ["DIRECT_PAYMENT_PROCESSED"]
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn a_wrong_otp_is_refused_as_in_process(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let reference = requested(&app, &business, WALLET_ACCOUNT, "L-2").await;
    let otp = bank_otp(&bank, &reference).await;
    let wrong = if otp == 999_999 { 100_000 } else { otp + 1 };
    let invalid = authorize(&app, &business, &reference, wrong).await;
    assert_eq!(invalid.status.as_u16(), 400);
    assert_eq!(
        invalid.body,
        fixture("beqelal-payment-authorize.400-450.json")
    );
    assert_eq!(
        payment_status(&app, &business, &reference).await,
        "AWAITING_AUTHORIZATION"
    );
    assert_eq!(etb_balance(&app, &business).await, json!(0));
    let processed = authorize(&app, &business, &reference, otp).await;
    assert_eq!(processed.body["status"], "PROCESSED", "{}", processed.text);
    assert_eq!(etb_balance(&app, &business).await, json!(99.5));
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn a_push_approval_is_settled_by_the_status_query(engine: Engine) {
    let bank = BankSim::start_with(&["--push-approve-after-ms", "1500"]);
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let accepted = request(
        &app,
        &business,
        json!({ "bank": TELEBIRR, "account": "251922334455", "amount": "75.25",
                "trace_number": "L-3", "callback_url": "https://shop.example.com/hooks/beqelal" }),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert_eq!(accepted.body["authorization_method"], "PUSH_USSD");
    let reference = accepted.body["id"].as_str().unwrap().to_owned();
    assert_beqelal_error(
        &authorize(&app, &business, &reference, 123_456).await,
        400,
        "455",
        "AUTHORIZATION_METHOD_MISMATCH",
    );
    // Not asked yet (the first status query is a second after the request).
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    // Asked before the customer answered: still waiting, asked again later.
    app.clock.advance_secs(1);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    assert_eq!(
        payment_status(&app, &business, &reference).await,
        "AWAITING_AUTHORIZATION"
    );
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert_eq!(
        app.services.settle_due_direct_payments().await.unwrap(),
        0,
        "not due yet"
    );
    app.clock.advance_secs(3);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 1);
    assert_eq!(
        payment_status(&app, &business, &reference).await,
        "PROCESSED"
    );
    // 75.25 less the fee (0.38).
    assert_eq!(etb_balance(&app, &business).await, json!(74.87));
    app.clock.advance_secs(60);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    assert_eq!(etb_balance(&app, &business).await, json!(74.87));
    assert_eq!(
        events(&app, &business, &reference).await,
        ["DIRECT_PAYMENT_PROCESSED"]
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn an_institution_decline_fails_the_payment(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    // An account the institution does not have is refused at the request, as in process.
    let unknown = request(
        &app,
        &business,
        json!({ "bank": KACHA, "account": "251911234500", "amount": 100, "trace_number": "L-4a" }),
    )
    .await;
    assert_eq!(unknown.status.as_u16(), 400, "{}", unknown.text);
    assert!(unknown.text.contains("does not exist"), "{}", unknown.text);
    let reference = requested(&app, &business, "251911234591", "L-4").await;
    let messages = bank
        .admin(reqwest::Client::new().get(format!("{}/admin/sms?reference={reference}", bank.url)))
        .await;
    let body = messages["messages"][0]["body"].as_str().unwrap().to_owned();
    let otp: u32 = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .unwrap()
        .parse()
        .unwrap();
    let failed = authorize(&app, &business, &reference, otp).await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.text);
    assert_eq!(failed.body["status"], "FAILED");
    assert_eq!(etb_balance(&app, &business).await, json!(0));
    assert_eq!(
        bank_debits(&bank).await,
        [(reference.clone(), "failed".to_owned())]
    );
    assert_eq!(
        events(&app, &business, &reference).await,
        ["DIRECT_PAYMENT_FAILED"]
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn an_authorization_answer_lost_after_the_bank_processed_is_settled_once(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let reference = requested(&app, &business, WALLET_ACCOUNT, "L-5").await;
    let otp = bank_otp(&bank, &reference).await;
    // Every try (the first processes, the retries find it processed) loses its answer.
    bank.arm(&["drop-after-apply", "drop-after-apply", "drop-after-apply"])
        .await;
    let unknown = authorize(&app, &business, &reference, otp).await;
    assert_beqelal_error(&unknown, 503, "503", "SERVICE_UNAVAILABLE");
    assert!(
        unknown.body["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("confirming the outcome"),
        "{}",
        unknown.text
    );
    // The bank debited the customer; ducat does not know yet and guesses nothing.
    assert_eq!(
        bank_debits(&bank).await,
        [(reference.clone(), "processed".to_owned())]
    );
    assert_eq!(
        payment_status(&app, &business, &reference).await,
        "AWAITING_AUTHORIZATION"
    );
    assert_eq!(etb_balance(&app, &business).await, json!(0));
    // Not due yet; then the status query settles it, once.
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    app.clock.advance_secs(2);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 1);
    assert_eq!(
        payment_status(&app, &business, &reference).await,
        "PROCESSED"
    );
    assert_eq!(etb_balance(&app, &business).await, json!(99.5));
    app.clock.advance_secs(700);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    // The business retries its authorize: already completed, nothing credited twice.
    assert_beqelal_error(
        &authorize(&app, &business, &reference, otp).await,
        400,
        "452",
        "TRANSACTION_ALREADY_COMPLETED",
    );
    assert_eq!(etb_balance(&app, &business).await, json!(99.5));
    assert_eq!(
        events(&app, &business, &reference).await,
        ["DIRECT_PAYMENT_PROCESSED"]
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn a_bank_error_on_the_request_creates_nothing(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    bank.arm(&["error=503", "error=503", "error=503"]).await;
    let body =
        json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 100, "trace_number": "L-6" });
    let refused = request(&app, &business, body.clone()).await;
    assert_beqelal_error(&refused, 503, "503", "SERVICE_UNAVAILABLE");
    assert!(
        refused.body["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was created"),
        "{}",
        refused.text
    );
    assert!(bank_debits(&bank).await.is_empty());
    let id = BusinessId::parse(&business.id).unwrap();
    assert!(
        ducat::store::direct_payments::by_trace_number(&app.services.store, &id, "L-6")
            .await
            .unwrap()
            .is_none()
    );
    // The same request again goes through, with the same trace number.
    let accepted = request(&app, &business, body).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    let reference = accepted.body["id"].as_str().unwrap().to_owned();
    let otp = bank_otp(&bank, &reference).await;
    assert_eq!(
        authorize(&app, &business, &reference, otp).await.body["status"],
        "PROCESSED"
    );
    assert_eq!(etb_balance(&app, &business).await, json!(99.5));
    assert_eq!(bank_debits(&bank).await.len(), 1);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn an_authorization_answer_later_than_the_timeout_is_settled_once(engine: Engine) {
    let bank = BankSim::start();
    // One try, one second: the late answer is an unknown outcome.
    let Some(app) = gateway(engine, &bank, |config| {
        config.rail_http_timeout_secs = 1;
        config.rail_http_max_attempts = 1;
    })
    .await
    else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let reference = requested(&app, &business, WALLET_ACCOUNT, "L-7").await;
    let otp = bank_otp(&bank, &reference).await;
    bank.arm(&["latency=2000ms"]).await;
    let sent = std::time::Instant::now();
    let unknown = authorize(&app, &business, &reference, otp).await;
    assert!(sent.elapsed() < Duration::from_millis(1_900), "timed out");
    assert_beqelal_error(&unknown, 503, "503", "SERVICE_UNAVAILABLE");
    assert!(
        unknown.body["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("confirming the outcome"),
        "{}",
        unknown.text
    );
    assert_eq!(
        payment_status(&app, &business, &reference).await,
        "AWAITING_AUTHORIZATION"
    );
    assert_eq!(etb_balance(&app, &business).await, json!(0));
    // The bank-sim drops a request whose caller hung up before it was served: the worker's
    // status query finds the debit still awaiting, and ducat keeps waiting (nothing guessed).
    tokio::time::sleep(Duration::from_millis(2_100).saturating_sub(sent.elapsed())).await;
    app.clock.advance_secs(2);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    assert_eq!(
        bank_debits(&bank).await,
        [(reference.clone(), "awaiting_authorization".to_owned())]
    );
    // The customer's OTP, relayed again, processes it once.
    let processed = authorize(&app, &business, &reference, otp).await;
    assert_eq!(processed.status, StatusCode::OK, "{}", processed.text);
    assert_eq!(
        payment_status(&app, &business, &reference).await,
        "PROCESSED"
    );
    assert_eq!(
        bank_debits(&bank).await,
        [(reference.clone(), "processed".to_owned())]
    );
    app.clock.advance_secs(700);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    assert_eq!(etb_balance(&app, &business).await, json!(99.5));
    assert_eq!(
        events(&app, &business, &reference).await,
        ["DIRECT_PAYMENT_PROCESSED"]
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn the_bank_down_during_a_request_and_an_authorization(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let body =
        json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 100, "trace_number": "L-8" });
    // Down during the request: refused, nothing created anywhere.
    bank.down_for(1).await;
    let went_down = std::time::Instant::now();
    let refused = request(&app, &business, body.clone()).await;
    assert_beqelal_error(&refused, 503, "503", "SERVICE_UNAVAILABLE");
    assert!(
        refused.body["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was created"),
        "{}",
        refused.text
    );
    assert!(bank_debits(&bank).await.is_empty());
    tokio::time::sleep(Duration::from_millis(1_100).saturating_sub(went_down.elapsed())).await;
    let accepted = request(&app, &business, body).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    let reference = accepted.body["id"].as_str().unwrap().to_owned();
    let otp = bank_otp(&bank, &reference).await;
    // Down during the authorization: pending, nothing credited, nothing guessed.
    bank.down_for(1).await;
    let went_down = std::time::Instant::now();
    let pending = authorize(&app, &business, &reference, otp).await;
    assert_beqelal_error(&pending, 503, "503", "SERVICE_UNAVAILABLE");
    assert_eq!(
        payment_status(&app, &business, &reference).await,
        "AWAITING_AUTHORIZATION"
    );
    assert_eq!(etb_balance(&app, &business).await, json!(0));
    tokio::time::sleep(Duration::from_millis(1_100).saturating_sub(went_down.elapsed())).await;
    app.clock.advance_secs(2);
    // Back: the status query finds the debit never authorized; the OTP relayed again
    // processes it once.
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    let again = authorize(&app, &business, &reference, otp).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(
        payment_status(&app, &business, &reference).await,
        "PROCESSED"
    );
    assert_eq!(etb_balance(&app, &business).await, json!(99.5));
    assert_eq!(
        bank_debits(&bank).await,
        [(reference.clone(), "processed".to_owned())]
    );
    app.clock.advance_secs(700);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    assert_eq!(
        events(&app, &business, &reference).await,
        ["DIRECT_PAYMENT_PROCESSED"]
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}
