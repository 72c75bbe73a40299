//! OTP guessing through the API is bounded per credential and per source address (30 wrong
//! codes in 10 minutes each), beyond each transaction's own attempt limit: the next submission
//! is 429 with `Retry-After` in the face's error shape, and is neither checked nor counted.

use crate::both_engines;
use crate::helpers::{spawn_app_with, Answer, Engine, TestApp, TestBusiness};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both_engines!(
    wrong_payout_otps_are_limited_per_key_and_per_address,
    wrong_direct_payment_otps_are_limited_in_beqelals_shape
);

const LIMIT: usize = 30;
const WINDOW_SECS: u64 = 600;

async fn app_behind_a_proxy(engine: Engine) -> Option<TestApp> {
    spawn_app_with(engine, |config| {
        // Each transaction tolerates every guess here, so only the new limits can stop them.
        config.otp_max_attempts = 1_000;
        // Codes outlive the throttling window, so the right one still works after it.
        config.direct_payment_otp_ttl_secs = 3_600;
        // The test names its client addresses through a trusted proxy's X-Forwarded-For.
        config.trusted_proxies = "127.0.0.1/32".to_owned();
    })
    .await
}

fn wrong_code(right: &str) -> String {
    let n: u32 = right.parse().unwrap();
    format!("{:06}", if n == 999_999 { 100_000 } else { n + 1 })
}

async fn payout_awaiting_otp(app: &TestApp, business: &TestBusiness) -> (String, String) {
    app.fund(business, &business.ngn_account, "10000").await;
    let answer = app
        .post(
            "/v1/wallets/v2/transfer",
            &business.duplo(),
            json!({
                "business_id": business.id,
                "recipient_bank_code": "058",
                "recipient_account_number": "0123456789",
                "amount": 500,
                "description": "Supplier payment",
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let reference = answer.body["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let otp = app.latest_otp(business, "+2348031234567").await;
    (reference, otp)
}

async fn process_from(
    app: &TestApp,
    business: &TestBusiness,
    reference: &str,
    otp: &str,
    address: &str,
) -> Answer {
    app.request_with(
        Method::POST,
        "/v1/wallets/v2/process-transfer",
        &business.duplo(),
        Some(json!({ "business_id": business.id, "transaction_ref": reference, "otp": otp })),
        &[("x-forwarded-for", address)],
    )
    .await
}

fn assert_throttled(answer: &Answer) -> u64 {
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        answer.text
    );
    let retry_after: u64 = answer
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .unwrap();
    assert!((1..=WINDOW_SECS).contains(&retry_after), "{retry_after}");
    retry_after
}

async fn payout_status(app: &TestApp, business: &TestBusiness, reference: &str) -> Value {
    app.get(
        &format!(
            "/v1/wallets/transactions/{reference}?business_id={}",
            business.id
        ),
        &business.duplo(),
    )
    .await
    .body["data"]["status"]
        .clone()
}

async fn wrong_payout_otps_are_limited_per_key_and_per_address(engine: Engine) {
    let Some(app) = app_behind_a_proxy(engine).await else {
        return;
    };
    let guesser = app.create_business().await;
    let (reference, otp) = payout_awaiting_otp(&app, &guesser).await;
    let wrong = wrong_code(&otp);
    for _ in 0..LIMIT {
        let answer = process_from(&app, &guesser, &reference, &wrong, "203.0.113.1").await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    }
    let status_before = payout_status(&app, &guesser, &reference).await;

    // Even the right code is not looked at now, from that address or any other.
    let refused = process_from(&app, &guesser, &reference, &otp, "203.0.113.1").await;
    assert_throttled(&refused);
    assert!(refused.body["data"].is_null(), "{}", refused.text);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("too many wrong OTPs"),
        "{}",
        refused.text
    );
    assert_throttled(&process_from(&app, &guesser, &reference, &otp, "198.51.100.7").await);
    assert_eq!(
        payout_status(&app, &guesser, &reference).await,
        status_before
    );

    // Another business's key from the guessing address is refused too; from elsewhere it works.
    let neighbour = app.create_business().await;
    let (their_reference, their_otp) = payout_awaiting_otp(&app, &neighbour).await;
    assert_throttled(
        &process_from(
            &app,
            &neighbour,
            &their_reference,
            &their_otp,
            "203.0.113.1",
        )
        .await,
    );
    let elsewhere =
        process_from(&app, &neighbour, &their_reference, &their_otp, "192.0.2.50").await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.text);

    // Once the window has passed, the guesser's right code goes through.
    app.clock.advance_secs(WINDOW_SECS as i64 + 1);
    let later = process_from(&app, &guesser, &reference, &otp, "203.0.113.1").await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.text);
    app.finish().await;
}

async fn wrong_direct_payment_otps_are_limited_in_beqelals_shape(engine: Engine) {
    let Some(app) = app_behind_a_proxy(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let account = "251911234567";
    let requested = app
        .post(
            "/api/v1/payment/request",
            &business.beqelal(),
            json!({ "bank": 404050, "account": account, "amount": 10, "trace_number": "G-1", "reason": "Deposit" }),
        )
        .await;
    assert_eq!(requested.status, StatusCode::OK, "{}", requested.text);
    let reference = requested.body["id"].as_str().unwrap().to_owned();
    let otp = app.latest_otp(&business, &format!("+{account}")).await;
    let authorize = |code: String| {
        let app = &app;
        let business = &business;
        let reference = reference.clone();
        async move {
            app.request_with(
                Method::POST,
                "/api/v1/payment/authorize",
                &business.beqelal(),
                Some(json!({ "reference": reference, "otp": code.parse::<u32>().unwrap() })),
                &[("x-forwarded-for", "203.0.113.9")],
            )
            .await
        }
    };
    for _ in 0..LIMIT {
        let answer = authorize(wrong_code(&otp)).await;
        assert_eq!(
            answer.body["error"]["status_code"], "450",
            "{}",
            answer.text
        );
    }
    let refused = authorize(otp.clone()).await;
    assert_throttled(&refused);
    assert_eq!(
        refused.body["error"]["status_code"], "429",
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["error"]["message"], "TOO_MANY_REQUESTS",
        "{}",
        refused.text
    );

    app.clock.advance_secs(WINDOW_SECS as i64 + 1);
    let later = authorize(otp).await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.text);
    assert_eq!(later.body["status"], "PROCESSED", "{}", later.text);
    app.finish().await;
}
