//! Beqelal direct payments: request, the institution's OTP, authorize, over HTTP on both
//! engines.

use crate::both_engines;
use crate::helpers::{
    assert_beqelal_error, fixture, spawn_app, Answer, Engine, TestApp, TestBusiness,
};
use ducat_core::ids::BusinessId;
use reqwest::StatusCode;
use serde_json::{json, Value};

const KACHA: u64 = 404050;
const TELEBIRR: u64 = 404010;
const WALLET_ACCOUNT: &str = "251911234567";

both_engines!(
    an_otp_payment_is_processed_exactly_as_documented,
    each_error_has_its_documented_body,
    wrong_otps_are_limited,
    an_expired_otp_fails_the_payment,
    an_institution_decline_fails_the_payment,
    push_payments_need_a_webhook_and_complete_by_themselves,
    concurrent_authorizations_process_once,
    requests_are_validated_and_trace_numbers_unique,
);

async fn request(app: &TestApp, business: &TestBusiness, body: Value) -> Answer {
    app.post("/api/v1/payment/request", &business.beqelal(), body)
        .await
}

/// Requests a payment from a Kacha wallet; returns the transaction id.
async fn requested(
    app: &TestApp,
    business: &TestBusiness,
    account: &str,
    amount: Value,
    trace: &str,
) -> String {
    let answer = request(
        app,
        business,
        json!({ "bank": KACHA, "account": account, "amount": amount, "trace_number": trace, "reason": "Betting deposit" }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn authorize(app: &TestApp, business: &TestBusiness, reference: &str, otp: Value) -> Answer {
    app.post(
        "/api/v1/payment/authorize",
        &business.beqelal(),
        json!({ "reference": reference, "otp": otp }),
    )
    .await
}

async fn otp_number(app: &TestApp, business: &TestBusiness, phone: &str) -> Value {
    json!(app
        .latest_otp(business, phone)
        .await
        .parse::<u32>()
        .unwrap())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

async fn an_otp_payment_is_processed_exactly_as_documented(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let answer = request(
        &app,
        &business,
        json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 100, "trace_number": "T-1" }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["authorization_method"], "OTP");
    assert_eq!(answer.body["status"], "AWAITING_AUTHORIZATION");
    let reference = answer.body["id"].as_str().unwrap().to_owned();
    assert_eq!(reference.len(), 10);
    assert!(reference
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));

    let otp = otp_number(&app, &business, &format!("+{WALLET_ACCOUNT}")).await;
    let processed = authorize(&app, &business, &reference, otp).await;
    assert_eq!(processed.status, StatusCode::OK, "{}", processed.text);
    let expected = fixture("beqelal-payment-authorize.200.json");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&processed.body), keys(&expected));
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(json_type(&processed.body[key]), json_type(value), "{key}");
    }
    for fixed in ["process", "status", "status_code", "message", "detail"] {
        assert_eq!(processed.body[fixed], expected[fixed], "{fixed}");
    }
    assert_eq!(processed.body["id"], reference.as_str());
    assert_eq!(processed.body["bank_name"], "Kacha DFS");
    assert_eq!(processed.body["merchant"], "Ada's Kitchen");
    assert_eq!(processed.body["merchant_phone"], "2348031234567");
    assert_eq!(processed.body["phone"], WALLET_ACCOUNT);
    assert_eq!(processed.body["account_no"], WALLET_ACCOUNT);
    assert_eq!(processed.body["amount"], json!(100));
    assert_eq!(processed.body["fee"], json!(0.5));
    assert_eq!(processed.body["total_amount"], json!(100));
    // The business's ETB wallet has the amount less the fee.
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(99.5)
    );
    let read = app
        .get(&format!("/api/v1/payment/{reference}"), &business.beqelal())
        .await;
    assert_eq!(read.body["status"], "PROCESSED");
    let id = BusinessId::parse(&business.id).unwrap();
    let events = ducat::store::events::for_transaction(&app.services.store, &id, &reference)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "DIRECT_PAYMENT_PROCESSED");
    assert_eq!(events[0].payload["status"], "PROCESSED");
    assert_eq!(events[0].face, "beqelal");
    // No callback_url on the request: the event goes to the portal's webhook URL (or nowhere).
    assert_eq!(events[0].callback_url, None);
    app.finish().await;
}

async fn each_error_has_its_documented_body(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let other = app.create_business().await;
    let unknown = authorize(&app, &business, "4EA310DX85", json!(657894)).await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert_eq!(
        unknown.body,
        fixture("beqelal-payment-authorize.400-442.json")
    );
    // Another business's reference is not found either.
    let theirs = requested(&app, &other, WALLET_ACCOUNT, json!(50), "T-2").await;
    assert_eq!(
        authorize(&app, &business, &theirs, json!(657894))
            .await
            .body,
        fixture("beqelal-payment-authorize.400-442.json")
    );
    assert_eq!(
        app.get(&format!("/api/v1/payment/{theirs}"), &business.beqelal())
            .await
            .body,
        fixture("beqelal-payment-authorize.400-442.json")
    );

    let reference = requested(&app, &business, WALLET_ACCOUNT, json!(50), "T-3").await;
    let otp = otp_number(&app, &business, &format!("+{WALLET_ACCOUNT}")).await;
    let wrong = json!(if otp.as_u64() == Some(999_999) {
        100_000
    } else {
        otp.as_u64().unwrap() + 1
    });
    let invalid = authorize(&app, &business, &reference, wrong).await;
    assert_eq!(invalid.status.as_u16(), 400);
    assert_eq!(
        invalid.body,
        fixture("beqelal-payment-authorize.400-450.json")
    );
    // An OTP that is not a 6-digit JSON number is a field error, and is not counted.
    for bad in [json!("123456"), json!(12345), json!(1234567), json!(null)] {
        let answer = authorize(&app, &business, &reference, bad.clone()).await;
        assert_eq!(answer.status.as_u16(), 400, "{bad}");
        assert!(
            answer.body["otp"][0].as_str().unwrap().contains("6-digit"),
            "{bad}: {}",
            answer.text
        );
    }
    assert_eq!(
        authorize(&app, &business, &reference, otp.clone())
            .await
            .body["status"],
        "PROCESSED"
    );
    let again = authorize(&app, &business, &reference, otp).await;
    assert_beqelal_error(&again, 400, "452", "TRANSACTION_ALREADY_COMPLETED");
    app.finish().await;
}

async fn wrong_otps_are_limited(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let reference = requested(&app, &business, WALLET_ACCOUNT, json!(10), "T-4").await;
    let otp = otp_number(&app, &business, &format!("+{WALLET_ACCOUNT}")).await;
    let wrong = json!(if otp.as_u64() == Some(999_999) {
        100_000
    } else {
        otp.as_u64().unwrap() + 1
    });
    for _ in 0..4 {
        assert_beqelal_error(
            &authorize(&app, &business, &reference, wrong.clone()).await,
            400,
            "450",
            "INVALID_OTP",
        );
    }
    assert_beqelal_error(
        &authorize(&app, &business, &reference, wrong).await,
        400,
        "453",
        "OTP_ATTEMPTS_EXCEEDED",
    );
    assert_beqelal_error(
        &authorize(&app, &business, &reference, otp).await,
        400,
        "452",
        "TRANSACTION_ALREADY_COMPLETED",
    );
    let read = app
        .get(&format!("/api/v1/payment/{reference}"), &business.beqelal())
        .await;
    assert_eq!(read.body["status"], "FAILED");
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(0)
    );
    app.finish().await;
}

async fn an_expired_otp_fails_the_payment(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let late = requested(&app, &business, WALLET_ACCOUNT, json!(10), "T-5").await;
    let otp = otp_number(&app, &business, &format!("+{WALLET_ACCOUNT}")).await;
    let swept = requested(&app, &business, "251911234568", json!(10), "T-6").await;
    app.clock.advance_secs(600);
    assert_beqelal_error(
        &authorize(&app, &business, &late, otp).await,
        400,
        "451",
        "OTP_EXPIRED",
    );
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 1);
    let read = app
        .get(&format!("/api/v1/payment/{swept}"), &business.beqelal())
        .await;
    assert_eq!(read.body["status"], "FAILED");
    assert!(read.body["detail"].as_str().unwrap().contains("expired"));
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 0);
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(0)
    );
    app.finish().await;
}

async fn an_institution_decline_fails_the_payment(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let declined_account = "251911234591";
    let reference = requested(&app, &business, declined_account, json!(25), "T-7").await;
    let otp = otp_number(&app, &business, &format!("+{declined_account}")).await;
    let answer = authorize(&app, &business, &reference, otp).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["status"], "FAILED");
    assert_eq!(answer.body["message"], "FAILED");
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(0)
    );
    let unknown = request(
        &app,
        &business,
        json!({ "bank": KACHA, "account": "251911234500", "amount": 1, "trace_number": "T-8" }),
    )
    .await;
    assert!(
        unknown.body["account"][0]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{}",
        unknown.text
    );
    app.finish().await;
}

async fn push_payments_need_a_webhook_and_complete_by_themselves(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let body = |trace: &str, callback: Option<&str>| {
        let mut body = json!({ "bank": TELEBIRR, "account": "251922334455", "amount": "75.25", "trace_number": trace });
        if let Some(url) = callback {
            body["callback_url"] = json!(url);
        }
        body
    };
    let refused = request(&app, &business, body("P-1", None)).await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(
        refused.body["callback_url"][0]
            .as_str()
            .unwrap()
            .contains("USSD"),
        "{}",
        refused.text
    );
    let accepted = request(
        &app,
        &business,
        body("P-2", Some("https://shop.example.com/hooks/beqelal")),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert_eq!(accepted.body["authorization_method"], "PUSH_USSD");
    let reference = accepted.body["id"].as_str().unwrap().to_owned();
    assert_beqelal_error(
        &authorize(&app, &business, &reference, json!(123456)).await,
        400,
        "455",
        "AUTHORIZATION_METHOD_MISMATCH",
    );
    assert_eq!(
        app.services.settle_due_direct_payments().await.unwrap(),
        0,
        "the customer has not answered yet"
    );
    app.clock.advance_secs(3);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 1);
    let read = app
        .get(&format!("/api/v1/payment/{reference}"), &business.beqelal())
        .await;
    assert_eq!(read.body["status"], "PROCESSED");
    let stored = ducat::store::direct_payments::of_business(
        &app.services.store,
        &BusinessId::parse(&business.id).unwrap(),
        &reference,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        stored.callback_url.as_deref(),
        Some("https://shop.example.com/hooks/beqelal")
    );
    // The request's callback_url overrides the portal's for this transaction's event.
    let events = ducat::store::events::for_transaction(
        &app.services.store,
        &BusinessId::parse(&business.id).unwrap(),
        &reference,
    )
    .await
    .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "DIRECT_PAYMENT_PROCESSED");
    assert_eq!(
        events[0].callback_url.as_deref(),
        Some("https://shop.example.com/hooks/beqelal")
    );
    // With a portal webhook URL, no callback_url is needed.
    app.services
        .set_preferences(
            &BusinessId::parse(&business.id).unwrap(),
            &ducat::services::audit::Actor::Cli,
            ducat::services::businesses::PreferenceInput {
                webhook_url: Some(Some("https://shop.example.com/hooks".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        request(&app, &business, body("P-3", None)).await.status,
        StatusCode::OK
    );
    app.finish().await;
}

async fn concurrent_authorizations_process_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let reference = requested(&app, &business, WALLET_ACCOUNT, json!(40), "T-9").await;
    let otp = otp_number(&app, &business, &format!("+{WALLET_ACCOUNT}")).await;
    let answers = futures_util::future::join_all(
        (0..6).map(|_| authorize(&app, &business, &reference, otp.clone())),
    )
    .await;
    let processed = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK && a.body["status"] == "PROCESSED")
        .count();
    assert_eq!(
        processed,
        1,
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    for answer in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_beqelal_error(answer, 400, "452", "TRANSACTION_ALREADY_COMPLETED");
    }
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(39.8)
    );
    app.finish().await;
}

async fn requests_are_validated_and_trace_numbers_unique(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let first = requested(&app, &business, WALLET_ACCOUNT, json!(5), "DUP-1").await;
    let repeat = request(
        &app,
        &business,
        json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 5, "trace_number": "DUP-1" }),
    )
    .await;
    assert_eq!(repeat.status.as_u16(), 409);
    assert!(
        repeat.body["error"]["detail"]
            .as_str()
            .unwrap()
            .contains(&first),
        "{}",
        repeat.text
    );
    for (body, field) in [
        (
            json!({ "bank": 999999, "account": WALLET_ACCOUNT, "amount": 5, "trace_number": "V-1" }),
            "bank",
        ),
        (
            json!({ "bank": KACHA, "account": "0911234567", "amount": 5, "trace_number": "V-2" }),
            "account",
        ),
        (
            json!({ "bank": "100001", "account": "12345", "amount": 5, "trace_number": "V-3" }),
            "account",
        ),
        (
            json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": "5.001", "trace_number": "V-4" }),
            "amount",
        ),
        (
            json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": -5, "trace_number": "V-5" }),
            "amount",
        ),
        (
            json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 1000001, "trace_number": "V-6" }),
            "amount",
        ),
        (
            json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 5, "trace_number": "" }),
            "trace_number",
        ),
        (
            json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 5, "trace_number": "V-8", "callback_url": "ftp://x" }),
            "callback_url",
        ),
        (
            json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 5 }),
            "trace_number",
        ),
    ] {
        let answer = request(&app, &business, body.clone()).await;
        assert_eq!(answer.status.as_u16(), 400, "{body}");
        assert!(
            answer.body[field][0].is_string(),
            "{body} should name {field}: {}",
            answer.text
        );
    }
    app.finish().await;
}
