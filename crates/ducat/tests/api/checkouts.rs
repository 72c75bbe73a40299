//! Pay-with-transfer checkouts, virtual accounts and the Duplo webhook registration, over
//! HTTP on both engines.

use crate::both_engines;
use crate::helpers::{
    assert_duplo_error, fixture, spawn_app, Answer, Auth, Engine, TestApp, TestBusiness,
};
use ducat_core::ids::BusinessId;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_engines!(
    an_exact_payment_verifies_as_the_specification_documents,
    short_and_over_payments_are_returned_and_the_checkout_stays_open,
    the_same_notification_twice_pays_once,
    payments_after_expiry_are_returned,
    the_fee_bearer_decides_who_pays_the_fee,
    another_business_cannot_see_a_checkout,
    orders_are_priced_exactly_and_bad_orders_refused,
    virtual_accounts_credit_the_wallet_by_their_rules,
    the_hosted_page_shows_the_account_and_follows_the_payment,
    webhooks_are_registered_as_duplo_does,
);

async fn create_checkout(app: &TestApp, business: &TestBusiness, body: Value) -> Answer {
    let mut body = body;
    body["business_id"] = json!(business.id);
    app.post("/v1/checkout/", &business.duplo(), body).await
}

/// Creates a checkout for a bare amount; returns (reference, account number, amount to pay).
async fn checkout_for(
    app: &TestApp,
    business: &TestBusiness,
    amount: &str,
    bearer: &str,
) -> (String, String, Value) {
    let answer = create_checkout(
        app,
        business,
        json!({ "amount": amount, "fee_bearer": bearer }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let data = &answer.body["data"];
    (
        data["checkout_reference"].as_str().unwrap().to_owned(),
        data["account_number"].as_str().unwrap().to_owned(),
        data["amount"].clone(),
    )
}

async fn pay(
    app: &TestApp,
    business: &TestBusiness,
    account: &str,
    amount: &str,
    session_id: Option<&str>,
) -> Value {
    let mut body = json!({
        "account_number": account,
        "amount": amount,
        "source_account_name": "Manni Ben",
        "source_account_number": "7218000007",
        "source_bank_code": "070",
    });
    if let Some(session_id) = session_id {
        body["session_id"] = json!(session_id);
    }
    let answer = app
        .post("/sandbox/v1/bank/transfers", &business.duplo(), body)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"].clone()
}

async fn verify(app: &TestApp, business: &TestBusiness, reference: &str) -> Answer {
    app.get(
        &format!(
            "/v1/checkout/verify-transaction/{reference}?business_id={}",
            business.id
        ),
        &business.duplo(),
    )
    .await
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

/// Same keys at every level, same JSON type for every value.
fn assert_same_shape(expected: &Value, actual: &Value, path: &str) {
    assert_eq!(json_type(expected), json_type(actual), "{path}: {actual}");
    if let (Value::Object(expected), Value::Object(actual)) = (expected, actual) {
        let expected_keys: Vec<_> = expected.keys().collect();
        let actual_keys: Vec<_> = actual.keys().collect();
        assert_eq!(expected_keys, actual_keys, "{path}: the keys differ");
        for (key, value) in expected {
            assert_same_shape(value, &actual[key], &format!("{path}.{key}"));
        }
    }
}

async fn an_exact_payment_verifies_as_the_specification_documents(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let (reference, account, to_pay) = checkout_for(&app, &business, "1200", "business").await;
    assert_eq!(to_pay, json!(1200));
    let paid = pay(&app, &business, &account, "1200", None).await;
    assert_eq!(paid["status"], "successful");

    let answer = verify(&app, &business, &reference).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let expected = fixture("duplo-verify-checkout-transaction.200.json");
    assert_same_shape(&expected, &answer.body, "");
    let details = &answer.body["data"]["checkout_transaction_details"];
    for fixed in [
        "type",
        "channel",
        "status",
        "category",
        "currency",
        "multiple_source_details",
        "__v",
    ] {
        assert_eq!(
            details[fixed], expected["data"]["checkout_transaction_details"][fixed],
            "{fixed}"
        );
    }
    assert_eq!(answer.body["message"], expected["message"]);
    assert_eq!(answer.body["errors"], json!({}));
    // The business bears the fee: 0.50 % of 1,200 is 6.
    assert_eq!(details["amount"], "1200");
    assert_eq!(details["fee_amount"], "6");
    assert_eq!(details["settled_amount"], "1194");
    assert_eq!(details["new_balance"], "1194");
    assert_eq!(details["account_number"], account.as_str());
    assert_eq!(
        details["receiver_details"]["account_number"],
        account.as_str()
    );
    assert_eq!(
        details["source_details"],
        json!({ "bank_name": "Fidelity Bank", "account_name": "Manni Ben", "account_number": "7218000007" })
    );
    assert_eq!(details["session_id"], paid["session_id"]);
    assert_eq!(details["business_id"], business.id.as_str());
    assert_eq!(details["wallet_ref"], business.ngn_wallet.as_str());
    assert!(details["account_ref"].as_str().unwrap().starts_with("act_"));
    assert!(details["transaction_ref"]
        .as_str()
        .unwrap()
        .starts_with("tran_"));
    assert_eq!(details["_id"].as_str().unwrap().len(), 24);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(1194)
    );

    // The inflow event carries the documented fields.
    let id = BusinessId::parse(&business.id).unwrap();
    let events = ducat::store::events::for_transaction(
        &app.services.store,
        &id,
        details["transaction_ref"].as_str().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "ACCOUNT_INFLOW");
    assert_eq!(events[0].payload["data"]["event_type"], "ACCOUNT_INFLOW");
    assert_eq!(
        events[0].payload["message"],
        "A new event just occurred on your account"
    );
    let event = &events[0].payload["data"]["event"];
    for key in [
        "currency",
        "new_balance",
        "account_number",
        "session_id",
        "provider_ref_id",
        "type",
        "channel",
        "description",
        "business_id",
        "account_ref",
        "wallet_ref",
        "status",
        "transaction_ref",
        "fee_amount",
        "settled_amount",
        "amount",
        "source_details",
        "receiver_details",
        "date",
        "category",
        "metadata",
    ] {
        assert!(
            event.get(key).is_some(),
            "the ACCOUNT_INFLOW event has {key}"
        );
    }
    assert_eq!(event["metadata"]["checkout_reference"], reference.as_str());
    app.finish().await;
}

async fn short_and_over_payments_are_returned_and_the_checkout_stays_open(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let (reference, account, _) = checkout_for(&app, &business, "5000", "business").await;
    for wrong in ["4999.99", "5000.01"] {
        app.clock.advance_secs(1);
        let returned = pay(&app, &business, &account, wrong, None).await;
        assert_eq!(returned["status"], "returned");
        assert!(returned["reason"]
            .as_str()
            .unwrap()
            .contains("wrong amount"));
        let ledger: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM journal_entries WHERE reference = $1 AND kind IN ('unmatched_inflow', 'unmatched_return')",
        )
        .bind(returned["session_id"].as_str().unwrap())
        .fetch_one(app.services.store.reader())
        .await
        .unwrap();
        assert_eq!(ledger, 2, "both legs of the return are in the ledger");
    }
    let not_paid = verify(&app, &business, &reference).await;
    assert_duplo_error(&not_paid, 422);
    assert_eq!(not_paid.body["errors"]["checkout_status"], "pending");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(0)
    );
    app.clock.advance_secs(1);
    assert_eq!(
        pay(&app, &business, &account, "5000", None).await["status"],
        "successful"
    );
    let checkout = app
        .get(
            &format!("/v1/checkout/{reference}?business_id={}", business.id),
            &business.duplo(),
        )
        .await;
    let attempts = checkout.body["data"]["attempts"].as_array().unwrap();
    let outcomes: Vec<_> = attempts
        .iter()
        .map(|a| (a["amount"].clone(), a["outcome"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (json!(4999.99), json!("returned")),
            (json!(5000.01), json!("returned")),
            (json!(5000), json!("credited"))
        ]
    );
    assert_eq!(checkout.body["data"]["status"], "successful");
    // Paid: anything more goes back too.
    assert_eq!(
        pay(&app, &business, &account, "5000", None).await["status"],
        "returned"
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(4975)
    );
    app.finish().await;
}

async fn the_same_notification_twice_pays_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let (_, account, _) = checkout_for(&app, &business, "700", "business").await;
    let first = pay(
        &app,
        &business,
        &account,
        "700",
        Some("878837230723606234664390001888004118416997121"),
    )
    .await;
    let second = pay(
        &app,
        &business,
        &account,
        "700",
        Some("878837230723606234664390001888004118416997121"),
    )
    .await;
    assert_eq!(first["duplicate"], false);
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["transaction_ref"], first["transaction_ref"]);
    // A returned notification repeated stays returned, once.
    let (_, other, _) = checkout_for(&app, &business, "700", "business").await;
    let wrong = pay(
        &app,
        &business,
        &other,
        "1",
        Some("000015251122080000999999999999"),
    )
    .await;
    let again = pay(
        &app,
        &business,
        &other,
        "1",
        Some("000015251122080000999999999999"),
    )
    .await;
    assert_eq!(
        (
            wrong["status"].clone(),
            again["status"].clone(),
            again["duplicate"].clone()
        ),
        (json!("returned"), json!("returned"), json!(true))
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(696.5)
    );
    app.finish().await;
}

async fn payments_after_expiry_are_returned(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let (reference, account, _) = checkout_for(&app, &business, "300", "customer").await;
    app.clock.advance_secs(3600);
    let late = pay(&app, &business, &account, "301.5", None).await;
    assert_eq!(late["status"], "returned");
    assert!(late["reason"].as_str().unwrap().contains("expired"));
    let answer = verify(&app, &business, &reference).await;
    assert_duplo_error(&answer, 422);
    assert_eq!(answer.body["errors"]["checkout_status"], "expired");
    assert_eq!(app.services.expire_checkouts().await.unwrap(), 1);
    assert_eq!(app.services.expire_checkouts().await.unwrap(), 0);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(0)
    );
    app.finish().await;
}

async fn the_fee_bearer_decides_who_pays_the_fee(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    // The customer pays 10,000 + 0.50 % = 10,050; the business receives 10,000.
    let (_, account, to_pay) = checkout_for(&app, &business, "10000", "customer").await;
    assert_eq!(to_pay, json!(10050));
    assert_eq!(
        pay(&app, &business, &account, "10000", None).await["status"],
        "returned"
    );
    assert_eq!(
        pay(&app, &business, &account, "10050", None).await["status"],
        "successful"
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(10000)
    );
    // The business bears it: the customer pays 10,000 and the business receives 9,950.
    let (_, account, to_pay) = checkout_for(&app, &business, "10000", "business").await;
    assert_eq!(to_pay, json!(10000));
    assert_eq!(
        pay(&app, &business, &account, "10000", None).await["status"],
        "successful"
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(19950)
    );
    // The fee is capped at 1,000.
    let (_, _, to_pay) = checkout_for(&app, &business, "1000000", "customer").await;
    assert_eq!(to_pay, json!(1001000));
    app.finish().await;
}

async fn another_business_cannot_see_a_checkout(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let ours = app.create_business().await;
    let theirs = app.create_business().await;
    let (reference, account, _) = checkout_for(&app, &theirs, "500", "business").await;
    assert_duplo_error(&verify(&app, &ours, &reference).await, 404);
    let read = app
        .get(
            &format!("/v1/checkout/{reference}?business_id={}", ours.id),
            &ours.duplo(),
        )
        .await;
    assert_duplo_error(&read, 404);
    assert_duplo_error(&verify(&app, &ours, "che_doesnotexist").await, 404);
    assert_duplo_error(&verify(&app, &ours, "not-a-reference").await, 404);
    // Nor pay into it through the sandbox with its own key.
    let answer = app
        .post(
            "/sandbox/v1/bank/transfers",
            &ours.duplo(),
            json!({ "account_number": account, "amount": "500" }),
        )
        .await;
    assert_duplo_error(&answer, 404);
    app.finish().await;
}

async fn orders_are_priced_exactly_and_bad_orders_refused(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let order = json!({
        "customer_firstname": "Ngozi", "customer_lastname": "Eze", "customer_email": "ngozi@example.com",
        "customer_phone_number": "08031234567", "fee_bearer": "business", "prefered_payment_method": "pay-with-transfer",
        "shipping_fee": 1500,
        "line_items": [{ "name": "Ankara dress", "unit_price": 2500, "quantity": 2 }, { "name": "Headwrap", "unit_price": "99.99", "quantity": 3 }],
        "discount": { "type": "percentage", "value": 10 },
        "tax": { "type": "percentage", "value": 7.5, "description": "VAT" },
        "metadata": { "order_id": "A-17" },
    });
    let answer = create_checkout(&app, &business, order.clone()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let data = &answer.body["data"];
    assert_eq!(data["subtotal"], json!(5299.97));
    assert_eq!(data["discount"], json!(530));
    assert_eq!(data["tax"], json!(357.75));
    assert_eq!(data["shipping_fee"], json!(1500));
    assert_eq!(data["total"], json!(6627.72));
    assert_eq!(data["amount"], json!(6627.72));
    assert_eq!(data["status"], "pending");
    assert!(data["checkout_url"].as_str().unwrap().ends_with(&format!(
        "/checkout/{}",
        data["checkout_reference"].as_str().unwrap()
    )));
    assert!(data["expires_at"].as_str().unwrap().ends_with('Z'));
    let mut flat = order.clone();
    flat["discount"] = json!({ "type": "flat", "value": "299.97" });
    // 5,299.97 - 299.97 = 5,000; 7.5 % tax = 375; + 1,500 shipping = 6,875.
    flat["amount"] = json!("6875.00");
    let answer = create_checkout(&app, &business, flat).await;
    assert_eq!(answer.body["data"]["total"], json!(6875), "{}", answer.text);

    for (change, field) in [
        (json!({ "line_items": [] }), "line_items"),
        (json!({ "fee_bearer": "nobody" }), "fee_bearer"),
        (
            json!({ "prefered_payment_method": "card" }),
            "prefered_payment_method",
        ),
        (
            json!({ "discount": { "type": "flat", "value": 999999 } }),
            "amount",
        ),
        (
            json!({ "discount": { "type": "percentage", "value": 101 } }),
            "discount.value",
        ),
        (
            json!({ "tax": { "type": "sometimes", "value": 1 } }),
            "tax.type",
        ),
        (json!({ "amount": 1 }), "amount"),
        (
            json!({ "line_items": [{ "name": "x", "unit_price": "1.001", "quantity": 1 }] }),
            "line_items[0].unit_price",
        ),
        (
            json!({ "line_items": [{ "name": "x", "unit_price": 1, "quantity": 0 }] }),
            "line_items[0].quantity",
        ),
        (
            json!({ "callback_url": "javascript:alert(1)" }),
            "callback_url",
        ),
        (
            json!({ "customer_email": "not-an-email" }),
            "customer_email",
        ),
    ] {
        let mut body = order.clone();
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let answer = create_checkout(&app, &business, body).await;
        assert_duplo_error(&answer, 400);
        assert!(
            answer.body["errors"].get(field).is_some(),
            "{change} should name {field}: {}",
            answer.text
        );
    }
    let neither = create_checkout(&app, &business, json!({ "fee_bearer": "customer" })).await;
    assert_duplo_error(&neither, 400);
    app.finish().await;
}

async fn virtual_accounts_credit_the_wallet_by_their_rules(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let other = app.create_business().await;
    let create = |body: Value| {
        let mut body = body;
        body["business_id"] = json!(business.id);
        let auth = business.duplo();
        let app = &app;
        async move { app.post("/v1/virtual-accounts", &auth, body).await }
    };
    let permanent = create(json!({ "first_name": "Tolu", "last_name": "Ade", "email": "tolu@example.com", "metadata": { "customer": 7 } })).await;
    assert_eq!(permanent.status, StatusCode::OK, "{}", permanent.text);
    let permanent = permanent.body["data"].clone();
    assert_eq!(permanent["status"], "active");
    assert_eq!(permanent["is_permanent"], true);
    assert_eq!(permanent["account_name"], "Ada's Kitchen - Tolu Ade");
    let single = create(
        json!({ "first_name": "Bola", "last_name": "Ige", "single_use": true, "amount": 2500 }),
    )
    .await
    .body["data"]
        .clone();
    assert_eq!(single["amount"], json!(2500));

    let account = |v: &Value| v["account_number"].as_str().unwrap().to_owned();
    // Any amount into the unrestricted account, more than once, less the 0.50 % fee.
    assert_eq!(
        pay(&app, &business, &account(&permanent), "1000", None).await["status"],
        "successful"
    );
    assert_eq!(
        pay(&app, &business, &account(&permanent), "3000", None).await["status"],
        "successful"
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(3980)
    );
    // Only exactly 2,500, and only once, into the single-use account.
    assert_eq!(
        pay(&app, &business, &account(&single), "2000", None).await["status"],
        "returned"
    );
    assert_eq!(
        pay(&app, &business, &account(&single), "2500", None).await["status"],
        "successful"
    );
    assert_eq!(
        pay(&app, &business, &account(&single), "2500", None).await["status"],
        "returned"
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(6467.5)
    );

    let reference = single["account_ref"].as_str().unwrap();
    let read = app
        .get(
            &format!(
                "/v1/virtual-accounts/{reference}?business_id={}",
                business.id
            ),
            &business.duplo(),
        )
        .await;
    assert_eq!(read.body["data"]["status"], "used");
    let list = app
        .get(
            &format!("/v1/virtual-accounts?business_id={}", business.id),
            &business.duplo(),
        )
        .await;
    assert_eq!(list.body["data"]["pagination"]["total"], 2);
    assert_duplo_error(
        &app.get(
            &format!("/v1/virtual-accounts/{reference}?business_id={}", other.id),
            &other.duplo(),
        )
        .await,
        404,
    );
    let transactions = app
        .get(
            &format!(
                "/v1/wallets/transactions?business_id={}&type=credit",
                business.id
            ),
            &business.duplo(),
        )
        .await;
    assert_eq!(transactions.body["data"]["pagination"]["total"], 3);
    assert_eq!(
        transactions.body["data"]["transactions"][0]["category"],
        "virtual-account"
    );
    for (body, field) in [
        (json!({ "last_name": "Ade" }), "first_name"),
        (
            json!({ "first_name": "A", "last_name": "B", "bvn": "123" }),
            "bvn",
        ),
        (
            json!({ "first_name": "A", "last_name": "B", "amount": 0 }),
            "amount",
        ),
        (
            json!({ "first_name": "A", "last_name": "B", "metadata": [1] }),
            "metadata",
        ),
    ] {
        let answer = create(body.clone()).await;
        assert_duplo_error(&answer, 400);
        assert!(
            answer.body["errors"].get(field).is_some(),
            "{body}: {}",
            answer.text
        );
    }
    app.finish().await;
}

async fn the_hosted_page_shows_the_account_and_follows_the_payment(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let created = create_checkout(&app, &business, json!({ "amount": "1005", "fee_bearer": "business", "callback_url": "https://shop.example.com/done?x=1" })).await;
    let data = created.body["data"].clone();
    let reference = data["checkout_reference"].as_str().unwrap();
    let account = data["account_number"].as_str().unwrap();
    let page = app
        .get(&format!("/checkout/{reference}"), &Auth::None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(page.text.contains("₦1,005.00"));
    assert!(page.text.contains(account));
    assert!(page.text.contains("Ada&#39;s Kitchen"), "names are escaped");
    assert!(page.text.contains(r#"<section id="paid" hidden>"#));
    let status = app
        .get(&format!("/checkout/{reference}/status"), &Auth::None)
        .await;
    assert_eq!(status.body["status"], "pending");
    assert_eq!(status.body["return_url"], Value::Null);

    pay(&app, &business, account, "1005", None).await;
    let status = app
        .get(&format!("/checkout/{reference}/status"), &Auth::None)
        .await;
    assert_eq!(status.body["status"], "successful");
    assert_eq!(
        status.body["return_url"],
        format!(
            "https://shop.example.com/done?x=1&checkout_reference={reference}&status=successful"
        )
        .as_str()
    );
    let page = app
        .get(&format!("/checkout/{reference}"), &Auth::None)
        .await;
    assert!(page.text.contains(r#"<section id="pending" hidden"#));
    assert!(page.text.contains(r#"<section id="paid">"#));
    assert_eq!(
        app.get("/checkout/che_doesnotexist/status", &Auth::None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/checkout/che_doesnotexist", &Auth::None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let script = app.get("/static/checkout.js", &Auth::None).await;
    assert!(script
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    app.finish().await;
}

async fn webhooks_are_registered_as_duplo_does(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let answer = app
        .post(
            "/v1/merchants/businesses/webhook",
            &business.duplo(),
            json!({ "business_id": business.id, "webhook_url": "https://hooks.example.com/duplo", "verify_hash": "s3cret-hash" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let data = &answer.body["data"];
    assert_eq!(data["webhook_url"], "https://hooks.example.com/duplo");
    assert_eq!(data["verify_hash"], "s3cret-hash");
    assert!(data["services"]
        .as_array()
        .unwrap()
        .contains(&json!("ACCOUNT_INFLOW")));
    assert!(data["id"].is_string());
    let record = app
        .services
        .business(&BusinessId::parse(&business.id).unwrap())
        .await
        .unwrap();
    assert_eq!(
        record.webhook_url.as_deref(),
        Some("https://hooks.example.com/duplo")
    );
    assert_eq!(record.verify_hash, "s3cret-hash");
    for body in [
        json!({ "business_id": business.id, "webhook_url": "ftp://x", "verify_hash": "h" }),
        json!({ "business_id": business.id, "webhook_url": "https://x.example.com", "verify_hash": "  " }),
        json!({ "business_id": business.id, "verify_hash": "h" }),
    ] {
        assert_duplo_error(
            &app.post("/v1/merchants/businesses/webhook", &business.duplo(), body)
                .await,
            400,
        );
    }
    app.finish().await;
}
