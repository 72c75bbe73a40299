//! OTP-confirmed payouts (Duplo v2 and v1), end to end over HTTP on both engines.

use crate::both_engines;
use crate::helpers::{
    assert_duplo_error, spawn_app, spawn_node, Answer, Engine, TestApp, TestBusiness,
};
use ducat::services::businesses::PreferenceInput;
use ducat_core::banks;
use ducat_core::ids::BusinessId;
use ducat_core::money::Currency;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PHONE: &str = "+2348031234567";
const GOOD_ACCOUNT: &str = "0123456789";

both_engines!(
    the_whole_happy_path_ends_successful,
    a_declined_transfer_fails_and_releases_the_hold,
    a_timed_out_transfer_is_settled_by_status_queries,
    an_unknown_account_is_refused_at_initiation,
    resends_are_limited_and_each_replaces_the_code,
    wrong_otps_are_limited_and_resends_do_not_reset_them,
    the_sweeper_abandons_at_the_deadline_exactly_once,
    a_late_otp_or_resend_abandons_and_changes_nothing_else,
    the_balance_is_checked_at_initiation_and_at_the_hold,
    bad_payout_requests_are_refused_and_create_nothing,
    payouts_v1_use_the_business_payout_otp,
    transactions_are_listed_filtered_and_paged,
    concurrent_correct_otps_make_one_pending_payout,
    the_sweeper_racing_a_correct_otp_gives_one_final_state,
    fees_follow_the_business_schedule,
    background_workers_carry_a_payout_to_successful,
);

fn wallet_path(business: &TestBusiness, path: &str) -> String {
    format!("{path}?business_id={}", business.id)
}

async fn initiate(
    app: &TestApp,
    business: &TestBusiness,
    account: &str,
    amount: Value,
    transaction_id: Option<&str>,
) -> Answer {
    let mut body = json!({
        "business_id": business.id,
        "recipient_bank_code": "058",
        "recipient_account_number": account,
        "amount": amount,
        "description": "Supplier payment",
    });
    if let Some(id) = transaction_id {
        body["transaction_id"] = json!(id);
    }
    app.post("/v1/wallets/v2/transfer", &business.duplo(), body)
        .await
}

/// Initiates a payout that must be accepted; returns its reference.
async fn initiated(app: &TestApp, business: &TestBusiness, account: &str, amount: Value) -> String {
    let answer = initiate(app, business, account, amount, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn process(app: &TestApp, business: &TestBusiness, reference: &str, otp: &str) -> Answer {
    app.post(
        "/v1/wallets/v2/process-transfer",
        &business.duplo(),
        json!({ "business_id": business.id, "transaction_ref": reference, "otp": otp }),
    )
    .await
}

async fn resend(app: &TestApp, business: &TestBusiness, reference: &str) -> Answer {
    app.post(
        "/v1/wallets/v2/resend-payout-otp",
        &business.duplo(),
        json!({ "business_id": business.id, "transaction_ref": reference }),
    )
    .await
}

async fn transaction(app: &TestApp, business: &TestBusiness, reference: &str) -> Value {
    let answer = app
        .get(
            &wallet_path(business, &format!("/v1/wallets/transactions/{reference}")),
            &business.duplo(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"].clone()
}

async fn status(app: &TestApp, business: &TestBusiness, reference: &str) -> String {
    transaction(app, business, reference).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn event_types(app: &TestApp, business: &TestBusiness, reference: &str) -> Vec<String> {
    let id = BusinessId::parse(&business.id).unwrap();
    ducat::store::events::for_transaction(&app.services.store, &id, reference)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

async fn funded(app: &TestApp, naira: &str) -> TestBusiness {
    let business = app.create_business().await;
    app.fund(&business, &business.ngn_account, naira).await;
    business
}

async fn the_whole_happy_path_ends_successful(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    let answer = initiate(&app, &business, GOOD_ACCOUNT, json!(5000), Some("inv-001")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.body["message"],
        "Payout request initiated successfully"
    );
    let data = &answer.body["data"];
    assert_eq!(data["status"], "awaiting_otp_verification");
    assert_eq!(data["amount"], json!(5000));
    assert_eq!(data["fee_amount"], json!(15));
    assert_eq!(data["transaction_id"], "inv-001");
    assert_eq!(data["business_id"], business.id.as_str());
    let reference = data["transaction_ref"].as_str().unwrap().to_owned();
    assert!(reference.starts_with("tran_"));
    // Nothing moves before the OTP.
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(10000), json!(10000))
    );

    let otp = app.latest_otp(&business, PHONE).await;
    let processed = process(&app, &business, &reference, &otp).await;
    assert_eq!(processed.status, StatusCode::OK, "{}", processed.text);
    assert_eq!(
        processed.body,
        json!({ "data": {}, "errors": {}, "message": "Transaction request successful" })
    );
    assert_eq!(status(&app, &business, &reference).await, "pending");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(10000))
    );
    // The OTP was single use.
    assert_duplo_error(&process(&app, &business, &reference, &otp).await, 409);

    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
    let document = transaction(&app, &business, &reference).await;
    assert_eq!(document["status"], "successful");
    assert_eq!(document["type"], "debit");
    assert_eq!(document["channel"], "nip");
    assert_eq!(document["category"], "bank_transfer");
    assert_eq!(document["amount"], "5000");
    assert_eq!(document["fee_amount"], "15");
    assert_eq!(document["settled_amount"], "5000");
    assert_eq!(document["new_balance"], "4985");
    assert_eq!(document["external_transaction_id"], "inv-001");
    assert_eq!(document["receiver_details"]["account_number"], GOOD_ACCOUNT);
    assert_eq!(document["receiver_details"]["bank_code"], "058");
    assert_eq!(
        document["receiver_details"]["account_name"],
        banks::sandbox_account_name(Currency::Ngn, GOOD_ACCOUNT).as_str()
    );
    assert!(document["session_id"]
        .as_str()
        .is_some_and(|s| s.len() == 30));
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(4985))
    );
    assert_eq!(
        event_types(&app, &business, &reference).await,
        vec!["PAYOUT_PENDING", "PAYOUT_SUCCESSFUL"]
    );
    let by_external = app
        .get(
            &wallet_path(&business, "/v1/wallets/transactions/external/inv-001"),
            &business.duplo(),
        )
        .await;
    assert_eq!(
        by_external.body["data"]["transaction_ref"],
        reference.as_str()
    );
    // Nothing more to send.
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 0);
    app.finish().await;
}

async fn a_declined_transfer_fails_and_releases_the_hold(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    let reference = initiated(&app, &business, "0123456791", json!(2000)).await;
    let otp = app.latest_otp(&business, PHONE).await;
    assert_eq!(
        process(&app, &business, &reference, &otp).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(7988)
    );
    app.services.dispatch_payouts().await.unwrap();
    assert_eq!(status(&app, &business, &reference).await, "failed");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(10000), json!(10000))
    );
    assert_eq!(
        event_types(&app, &business, &reference).await,
        vec!["PAYOUT_PENDING", "PAYOUT_FAILED"]
    );
    app.finish().await;
}

async fn a_timed_out_transfer_is_settled_by_status_queries(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    for (account, outcome, available) in [
        ("0123456792", "successful", json!(7988)),
        ("0123456793", "failed", json!(7988)),
    ] {
        let reference = initiated(&app, &business, account, json!(2000)).await;
        let otp = app.latest_otp(&business, PHONE).await;
        assert_eq!(
            process(&app, &business, &reference, &otp).await.status,
            StatusCode::OK
        );
        // The bank's answer is lost: the payout stays pending, money stays held.
        assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
        assert_eq!(status(&app, &business, &reference).await, "pending");
        // The next status query is not due yet.
        assert_eq!(app.services.dispatch_payouts().await.unwrap(), 0);
        app.clock.advance_secs(5);
        assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
        assert_eq!(status(&app, &business, &reference).await, outcome);
        assert_eq!(
            app.balance(&business, &business.ngn_wallet).await.0,
            available
        );
        // The bank saw the reference once, whatever happened.
        let sent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_transfers WHERE reference = $1")
                .bind(&reference)
                .fetch_one(app.services.store.reader())
                .await
                .unwrap();
        assert_eq!(sent, 1);
    }
    app.finish().await;
}

async fn an_unknown_account_is_refused_at_initiation(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    let answer = initiate(&app, &business, "0123456700", json!(2000), None).await;
    assert!(assert_duplo_error(&answer, 400).contains("does not exist"));
    assert!(answer.body["errors"]["recipient_account_number"].is_string());
    assert_eq!(
        app.get(
            &wallet_path(&business, "/v1/wallets/transactions"),
            &business.duplo()
        )
        .await
        .body["data"]["pagination"]["total"],
        1,
        "only the funding"
    );
    app.finish().await;
}

async fn resends_are_limited_and_each_replaces_the_code(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    let reference = initiated(&app, &business, GOOD_ACCOUNT, json!(1000)).await;
    let mut previous = app.latest_otp(&business, PHONE).await;
    let mut replaced = Vec::new();
    for _ in 0..3 {
        let answer = resend(&app, &business, &reference).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(answer.body["message"], "Payout OTP resent successfully");
        replaced.push(previous.clone());
        previous = app.latest_otp(&business, PHONE).await;
    }
    assert!(
        assert_duplo_error(&resend(&app, &business, &reference).await, 422).contains("3 times")
    );
    let messages = app
        .get("/sandbox/v1/sms?limit=200", &business.duplo())
        .await;
    assert_eq!(
        messages.body["data"].as_array().unwrap().len(),
        4,
        "one initial and three resent OTPs"
    );
    // A replaced code no longer works (unless it happens to equal the current one).
    for old in replaced.iter().filter(|old| **old != previous) {
        let answer = process(&app, &business, &reference, old).await;
        assert!(
            answer.body["errors"]["otp"]
                .as_str()
                .unwrap()
                .contains("incorrect"),
            "{}",
            answer.text
        );
    }
    assert_eq!(
        process(&app, &business, &reference, &previous).await.status,
        StatusCode::OK
    );
    app.finish().await;
}

fn a_wrong(otp: &str) -> String {
    let digit = (otp.as_bytes()[0] - b'0' + 1) % 10;
    format!("{digit}{}", &otp[1..])
}

async fn wrong_otps_are_limited_and_resends_do_not_reset_them(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    let reference = initiated(&app, &business, GOOD_ACCOUNT, json!(1000)).await;
    let otp = app.latest_otp(&business, PHONE).await;
    for left in [4, 3] {
        let answer = process(&app, &business, &reference, &a_wrong(&otp)).await;
        assert_duplo_error(&answer, 400);
        assert!(answer.body["errors"]["otp"]
            .as_str()
            .unwrap()
            .contains(&format!("{left} attempt")));
    }
    assert_eq!(
        resend(&app, &business, &reference).await.status,
        StatusCode::OK
    );
    let otp = app.latest_otp(&business, PHONE).await;
    for _ in 0..2 {
        assert_duplo_error(
            &process(&app, &business, &reference, &a_wrong(&otp)).await,
            400,
        );
    }
    let fifth = process(&app, &business, &reference, &a_wrong(&otp)).await;
    assert!(assert_duplo_error(&fifth, 409).contains("abandoned"));
    assert_eq!(status(&app, &business, &reference).await, "abandoned");
    // Even the right code cannot revive it; nothing was held.
    assert_duplo_error(&process(&app, &business, &reference, &otp).await, 409);
    assert_duplo_error(&resend(&app, &business, &reference).await, 409);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(10000), json!(10000))
    );
    assert_eq!(
        event_types(&app, &business, &reference).await,
        vec!["PAYOUT_ABANDONED"]
    );
    let malformed = process(&app, &business, &reference, "12ab56").await;
    assert!(assert_duplo_error(&malformed, 400).contains("6-digit"));
    app.finish().await;
}

async fn the_sweeper_abandons_at_the_deadline_exactly_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    let reference = initiated(&app, &business, GOOD_ACCOUNT, json!(1000)).await;
    let otp = app.latest_otp(&business, PHONE).await;
    // Resends do not move the deadline.
    app.clock.advance_secs(1800);
    assert_eq!(
        resend(&app, &business, &reference).await.status,
        StatusCode::OK
    );
    app.clock.advance_secs(1799);
    assert_eq!(app.services.abandon_expired_payouts().await.unwrap(), 0);
    assert_eq!(
        status(&app, &business, &reference).await,
        "awaiting_otp_verification"
    );
    app.clock.advance_secs(1);
    assert_eq!(app.services.abandon_expired_payouts().await.unwrap(), 1);
    assert_eq!(app.services.abandon_expired_payouts().await.unwrap(), 0);
    assert_eq!(status(&app, &business, &reference).await, "abandoned");
    assert_eq!(
        event_types(&app, &business, &reference).await,
        vec!["PAYOUT_ABANDONED"]
    );
    let late = process(&app, &business, &reference, &otp).await;
    assert!(assert_duplo_error(&late, 409).contains("abandoned"));
    assert_eq!(
        event_types(&app, &business, &reference).await,
        vec!["PAYOUT_ABANDONED"]
    );
    app.finish().await;
}

async fn a_late_otp_or_resend_abandons_and_changes_nothing_else(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    let first = initiated(&app, &business, GOOD_ACCOUNT, json!(1000)).await;
    let otp = app.latest_otp(&business, PHONE).await;
    let second = initiated(&app, &business, GOOD_ACCOUNT, json!(1000)).await;
    app.clock.advance_secs(3600);
    let late = process(&app, &business, &first, &otp).await;
    assert!(
        assert_duplo_error(&late, 409).contains("60 minutes"),
        "{}",
        late.text
    );
    assert_eq!(status(&app, &business, &first).await, "abandoned");
    assert!(assert_duplo_error(&resend(&app, &business, &second).await, 409).contains("abandoned"));
    assert_eq!(status(&app, &business, &second).await, "abandoned");
    // The sweeper finds nothing left to do.
    assert_eq!(app.services.abandon_expired_payouts().await.unwrap(), 0);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(10000), json!(10000))
    );
    assert_eq!(
        event_types(&app, &business, &first).await,
        vec!["PAYOUT_ABANDONED"]
    );
    app.finish().await;
}

async fn the_balance_is_checked_at_initiation_and_at_the_hold(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "3000").await;
    // 3000 + fee does not fit in 3000.
    let too_much = initiate(&app, &business, GOOD_ACCOUNT, json!(3000), None).await;
    assert!(assert_duplo_error(&too_much, 422).contains("insufficient balance"));
    let first = initiated(&app, &business, GOOD_ACCOUNT, json!(2000)).await;
    let first_otp = app.latest_otp(&business, PHONE).await;
    let second = initiated(&app, &business, GOOD_ACCOUNT, json!(2000)).await;
    let second_otp = app.latest_otp(&business, PHONE).await;
    assert_eq!(
        process(&app, &business, &first, &first_otp).await.status,
        StatusCode::OK
    );
    let refused = process(&app, &business, &second, &second_otp).await;
    assert!(assert_duplo_error(&refused, 422).contains("insufficient balance"));
    assert_eq!(
        status(&app, &business, &second).await,
        "awaiting_otp_verification"
    );
    // Funded, the same code now goes through.
    app.fund(&business, &business.ngn_account, "2000").await;
    assert_eq!(
        process(&app, &business, &second, &second_otp).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(976), json!(5000))
    );
    app.finish().await;
}

async fn bad_payout_requests_are_refused_and_create_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    let other = funded(&app, "10000").await;
    for (amount, field_message) in [
        (json!(199.99), "at least 200"),
        (json!("200.001"), "decimal places"),
        (json!(-500), "negative"),
        (json!("lots"), "number"),
    ] {
        let answer = initiate(&app, &business, GOOD_ACCOUNT, amount.clone(), None).await;
        assert_duplo_error(&answer, 400);
        assert!(
            answer.body["errors"]["amount"]
                .as_str()
                .unwrap()
                .contains(field_message),
            "{amount}: {}",
            answer.text
        );
    }
    let mut unknown_bank = json!({ "business_id": business.id, "recipient_bank_code": "999", "recipient_account_number": GOOD_ACCOUNT, "amount": 500 });
    let answer = app
        .post(
            "/v1/wallets/v2/transfer",
            &business.duplo(),
            unknown_bank.clone(),
        )
        .await;
    assert!(
        answer.body["errors"]["recipient_bank_code"].is_string(),
        "{}",
        answer.text
    );
    unknown_bank
        .as_object_mut()
        .unwrap()
        .remove("recipient_account_number");
    let missing = app
        .post("/v1/wallets/v2/transfer", &business.duplo(), unknown_bank)
        .await;
    assert_eq!(
        missing.body["errors"]["recipient_account_number"],
        "is required"
    );
    let forbidden = initiate(&app, &business, GOOD_ACCOUNT, json!(500), None).await;
    assert_eq!(forbidden.status, StatusCode::OK);
    let mine = forbidden.body["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another business's reference is not found; another business_id is forbidden.
    let theirs = initiated(&app, &other, GOOD_ACCOUNT, json!(500)).await;
    let their_otp = app.latest_otp(&other, PHONE).await;
    assert_duplo_error(&process(&app, &business, &theirs, &their_otp).await, 404);
    assert_duplo_error(&resend(&app, &business, &theirs).await, 404);
    let not_found = app
        .get(
            &wallet_path(&business, &format!("/v1/wallets/transactions/{theirs}")),
            &business.duplo(),
        )
        .await;
    assert_duplo_error(&not_found, 404);
    let wrong_business = app
        .post(
            "/v1/wallets/v2/process-transfer",
            &business.duplo(),
            json!({ "business_id": other.id, "transaction_ref": mine, "otp": "123456" }),
        )
        .await;
    assert_duplo_error(&wrong_business, 403);

    // transaction_id is unique per business, and the refusal names the first payout.
    let first = initiate(&app, &business, GOOD_ACCOUNT, json!(500), Some("dup-1")).await;
    let first_ref = first.body["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let repeat = initiate(&app, &business, GOOD_ACCOUNT, json!(500), Some("dup-1")).await;
    assert!(assert_duplo_error(&repeat, 409).contains(&first_ref));
    assert_eq!(
        initiate(&app, &other, GOOD_ACCOUNT, json!(500), Some("dup-1"))
            .await
            .status,
        StatusCode::OK
    );

    // No OTP phone: refused, nothing created.
    let id = BusinessId::parse(&business.id).unwrap();
    app.services
        .set_preferences(
            &id,
            &ducat::services::audit::Actor::Cli,
            PreferenceInput {
                otp_phone: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let no_phone = initiate(&app, &business, GOOD_ACCOUNT, json!(500), Some("no-phone")).await;
    assert!(assert_duplo_error(&no_phone, 422).contains("OTP phone"));
    let list = app
        .get(
            &wallet_path(&business, "/v1/wallets/transactions"),
            &business.duplo(),
        )
        .await;
    assert_eq!(
        list.body["data"]["pagination"]["total"], 3,
        "the funding and two payouts only"
    );
    app.finish().await;
}

async fn payouts_v1_use_the_business_payout_otp(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    let body = |otp: Option<&str>| {
        let mut body = json!({
            "business_id": business.id, "recipient_bank_code": "058",
            "recipient_account_number": GOOD_ACCOUNT, "amount": "1000", "description": "v1",
        });
        if let Some(otp) = otp {
            body["payout_otp"] = json!(otp);
        }
        body
    };
    let without = app
        .post("/v1/wallets/transfer", &business.duplo(), body(None))
        .await;
    assert!(without.body["errors"]["payout_otp"]
        .as_str()
        .unwrap()
        .contains("payouts-otp"));
    let requested = app
        .post(
            "/v1/recipients/payouts-otp",
            &business.duplo(),
            json!({ "business_id": business.id }),
        )
        .await;
    assert_eq!(requested.status, StatusCode::OK, "{}", requested.text);
    let otp = app.latest_otp(&business, PHONE).await;
    let wrong = app
        .post(
            "/v1/wallets/transfer",
            &business.duplo(),
            body(Some(&a_wrong(&otp))),
        )
        .await;
    assert!(wrong.body["errors"]["payout_otp"]
        .as_str()
        .unwrap()
        .contains("incorrect"));
    let sent = app
        .post("/v1/wallets/transfer", &business.duplo(), body(Some(&otp)))
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert_eq!(sent.body["message"], "Transaction request successful");
    let reference = sent.body["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(status(&app, &business, &reference).await, "pending");
    // Single use.
    let again = app
        .post("/v1/wallets/transfer", &business.duplo(), body(Some(&otp)))
        .await;
    assert_duplo_error(&again, 400);
    app.services.dispatch_payouts().await.unwrap();
    assert_eq!(status(&app, &business, &reference).await, "successful");
    // With payout OTPs switched off, a v1 transfer needs none.
    let id = BusinessId::parse(&business.id).unwrap();
    app.services
        .set_preferences(
            &id,
            &ducat::services::audit::Actor::Cli,
            PreferenceInput {
                payout_otp_enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let unguarded = app
        .post("/v1/wallets/transfer", &business.duplo(), body(None))
        .await;
    assert_eq!(unguarded.status, StatusCode::OK, "{}", unguarded.text);
    app.finish().await;
}

async fn transactions_are_listed_filtered_and_paged(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "10000").await;
    app.clock.advance_secs(86_400);
    let first = initiated(&app, &business, GOOD_ACCOUNT, json!(300)).await;
    app.clock.advance_secs(1);
    let second = initiated(&app, &business, "0123456791", json!(400)).await;
    let list = |query: &str| {
        let path = format!(
            "/v1/wallets/transactions?business_id={}{query}",
            business.id
        );
        let auth = business.duplo();
        let app = &app;
        async move { app.get(&path, &auth).await }
    };
    let all = list("").await;
    let refs: Vec<_> = all.body["data"]["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transaction_ref"].clone())
        .collect();
    assert_eq!(refs.len(), 3);
    assert_eq!(refs[0], json!(second), "newest first");
    assert_eq!(
        list("&type=credit").await.body["data"]["pagination"]["total"],
        1
    );
    assert_eq!(
        list("&type=debit&amount=400").await.body["data"]["transactions"][0]["transaction_ref"],
        json!(second)
    );
    assert_eq!(
        list(&format!("&transaction_ref={first}")).await.body["data"]["pagination"]["total"],
        1
    );
    assert_eq!(
        list("&status=awaiting_otp_verification").await.body["data"]["pagination"]["total"],
        2
    );
    assert_eq!(
        list("&search_term=Supplier").await.body["data"]["pagination"]["total"],
        2
    );
    assert_eq!(
        list("&start_date=2025-11-23").await.body["data"]["pagination"]["total"],
        2
    );
    assert_eq!(
        list("&end_date=2025-11-22").await.body["data"]["pagination"]["total"],
        1
    );
    assert_eq!(
        list(&format!("&wallet_ref={}", business.ngn_wallet))
            .await
            .body["data"]["pagination"]["total"],
        3
    );
    let paged = list("&limit=2&page=2").await;
    assert_eq!(
        paged.body["data"]["transactions"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        paged.body["data"]["pagination"],
        json!({ "page": 2, "limit": 2, "total": 3, "total_pages": 2 })
    );
    for bad in [
        "&limit=0",
        "&limit=1000",
        "&page=zero",
        "&type=sideways",
        "&status=lost",
        "&start_date=yesterday",
        "&amount=1.001",
    ] {
        assert_duplo_error(&list(bad).await, 400);
    }
    app.finish().await;
}

async fn concurrent_correct_otps_make_one_pending_payout(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    // On PostgreSQL the calls go to two nodes sharing the database.
    let second_node = match engine {
        Engine::Postgres => Some(spawn_node(&app).await),
        Engine::Sqlite => None,
    };
    let business = funded(&app, "10000").await;
    let reference = initiated(&app, &business, GOOD_ACCOUNT, json!(1000)).await;
    let otp = app.latest_otp(&business, PHONE).await;
    let nodes: Vec<&TestApp> = match &second_node {
        Some(node) => vec![&app, node, &app, node, &app, node],
        None => vec![&app; 6],
    };
    let answers = futures_util::future::join_all(
        nodes
            .iter()
            .map(|node| process(node, &business, &reference, &otp)),
    )
    .await;
    let successes = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .count();
    assert_eq!(
        successes,
        1,
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    for answer in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_duplo_error(answer, 409);
    }
    let holds: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM journal_entries WHERE reference = $1 AND kind = 'hold'",
    )
    .bind(&reference)
    .fetch_one(app.services.store.reader())
    .await
    .unwrap();
    assert_eq!(holds, 1);
    assert_eq!(
        event_types(&app, &business, &reference).await,
        vec!["PAYOUT_PENDING"]
    );
    if let Some(node) = second_node {
        node.finish().await;
    }
    app.finish().await;
}

async fn the_sweeper_racing_a_correct_otp_gives_one_final_state(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "100000").await;
    let mut outcomes = std::collections::BTreeMap::new();
    for _ in 0..4 {
        let reference = initiated(&app, &business, GOOD_ACCOUNT, json!(1000)).await;
        let otp = app.latest_otp(&business, PHONE).await;
        app.clock.advance_secs(3599);
        let (answer, swept) = tokio::join!(process(&app, &business, &reference, &otp), async {
            app.clock.advance_secs(1);
            app.services.abandon_expired_payouts().await.unwrap()
        });
        let final_status = status(&app, &business, &reference).await;
        match final_status.as_str() {
            "pending" => {
                assert_eq!(answer.status, StatusCode::OK);
                assert_eq!(swept, 0);
                assert_eq!(
                    event_types(&app, &business, &reference).await,
                    vec!["PAYOUT_PENDING"]
                );
            }
            "abandoned" => {
                assert_duplo_error(&answer, 409);
                assert_eq!(
                    event_types(&app, &business, &reference).await,
                    vec!["PAYOUT_ABANDONED"]
                );
            }
            other => panic!("unexpected final state {other}"),
        }
        *outcomes.entry(final_status).or_insert(0) += 1;
        app.assert_ledger_clean().await;
    }
    assert_eq!(outcomes.values().sum::<i32>(), 4);
    app.finish().await;
}

async fn fees_follow_the_business_schedule(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = funded(&app, "100000").await;
    let id = BusinessId::parse(&business.id).unwrap();
    // The default: NGN 10 + 0.10 %, at most NGN 50.
    for (amount, fee) in [
        (json!(200), json!(10.2)),
        (json!(5005), json!(15.01)),
        (json!(90000), json!(50)),
    ] {
        let answer = initiate(&app, &business, GOOD_ACCOUNT, amount, None).await;
        assert_eq!(answer.body["data"]["fee_amount"], fee, "{}", answer.text);
    }
    app.services
        .set_preferences(
            &id,
            &ducat::services::audit::Actor::Cli,
            PreferenceInput {
                payout_fees: Some(ducat_core::fees::FeeSchedule {
                    flat: ducat_core::money::MinorUnits(0),
                    basis_points: 150,
                    cap: None,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let answer = initiate(&app, &business, GOOD_ACCOUNT, json!(1000.33), None).await;
    assert_eq!(
        answer.body["data"]["fee_amount"],
        json!(15),
        "1.5 % of 1000.33 is 15.00495, rounded half up to 15.00"
    );
    app.finish().await;
}

async fn background_workers_carry_a_payout_to_successful(engine: Engine) {
    let Some(app) =
        crate::helpers::spawn_app_with(engine, |config| config.run_workers = true).await
    else {
        return;
    };
    let business = funded(&app, "10000").await;
    let reference = initiated(&app, &business, GOOD_ACCOUNT, json!(1000)).await;
    let otp = app.latest_otp(&business, PHONE).await;
    assert_eq!(
        process(&app, &business, &reference, &otp).await.status,
        StatusCode::OK
    );
    let mut final_status = String::new();
    for _ in 0..100 {
        final_status = status(&app, &business, &reference).await;
        if final_status == "successful" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(final_status, "successful");
    app.finish().await;
}
