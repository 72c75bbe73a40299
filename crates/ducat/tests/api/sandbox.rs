//! The sandbox bank and SMS outbox.

use crate::both_engines;
use crate::helpers::{assert_duplo_error, spawn_app, Auth, Engine};
use ducat::store::businesses::Mode;
use ducat_core::ids::BusinessId;
use reqwest::StatusCode;
use serde_json::json;

both_engines!(
    the_same_bank_notification_twice_is_applied_once,
    transfers_to_accounts_of_other_businesses_are_not_found,
    live_credentials_cannot_use_the_sandbox,
    the_sms_outbox_lists_newest_first_and_filters_by_phone,
    either_test_credential_opens_the_sandbox,
);

async fn the_same_bank_notification_twice_is_applied_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let transfer = json!({
        "account_number": business.ngn_account,
        "amount": 2500,
        "session_id": "000015251122080000123456789012",
        "source_account_name": "Manni Ben",
        "source_account_number": "7218000007",
        "source_bank_code": "070",
    });
    let first = app
        .post(
            "/sandbox/v1/bank/transfers",
            &business.duplo(),
            transfer.clone(),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["data"]["duplicate"], false);
    assert_eq!(first.body["data"]["status"], "successful");
    let second = app
        .post("/sandbox/v1/bank/transfers", &business.duplo(), transfer)
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body["data"]["duplicate"], true);
    assert_eq!(
        second.body["data"]["transaction_ref"],
        first.body["data"]["transaction_ref"]
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(2500)
    );
    app.finish().await;
}

async fn transfers_to_accounts_of_other_businesses_are_not_found(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let ours = app.create_business().await;
    let theirs = app.create_business().await;
    let answer = app
        .post(
            "/sandbox/v1/bank/transfers",
            &ours.duplo(),
            json!({ "account_number": theirs.ngn_account, "amount": "10" }),
        )
        .await;
    assert_duplo_error(&answer, 404);
    assert_eq!(app.balance(&theirs, &theirs.ngn_wallet).await.0, json!(0));
    app.finish().await;
}

async fn live_credentials_cannot_use_the_sandbox(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let live = app.create_business_in(Mode::Live).await;
    assert!(live.secret_key.starts_with("dp_live_"));
    let answer = app
        .post(
            "/sandbox/v1/bank/transfers",
            &live.duplo(),
            json!({ "account_number": live.ngn_account, "amount": "10" }),
        )
        .await;
    assert!(assert_duplo_error(&answer, 403).contains("test-mode"));
    assert_duplo_error(&app.get("/sandbox/v1/sms", &live.beqelal()).await, 403);
    app.finish().await;
}

async fn the_sms_outbox_lists_newest_first_and_filters_by_phone(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let other = app.create_business().await;
    let empty = app.get("/sandbox/v1/sms", &business.duplo()).await;
    assert_eq!(empty.body["data"], json!([]));

    let id = BusinessId::parse(&business.id).unwrap();
    let mut tx = app.services.store.begin().await.unwrap();
    for (phone, body) in [
        ("+2348031234567", "first"),
        ("+2348039999999", "second"),
        ("+2348031234567", "third"),
    ] {
        app.clock.advance_secs(1);
        ducat::store::sms::enqueue(&mut tx, &id, phone, body, "tran_test", app.clock_now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let all = app.get("/sandbox/v1/sms", &business.duplo()).await;
    let bodies: Vec<_> = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        vec![json!("third"), json!("second"), json!("first")]
    );
    let first = &all.body["data"][0];
    assert_eq!(first["to"], "+2348031234567");
    assert!(first["id"].as_str().unwrap().starts_with("sms_"));
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));

    let filtered = app
        .get(
            "/sandbox/v1/sms?phone=%2B2348031234567&limit=1",
            &business.duplo(),
        )
        .await;
    assert_eq!(filtered.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(filtered.body["data"][0]["body"], "third");
    assert_duplo_error(
        &app.get("/sandbox/v1/sms?limit=0", &business.duplo()).await,
        400,
    );
    assert_duplo_error(
        &app.get("/sandbox/v1/sms?limit=many", &business.duplo())
            .await,
        400,
    );
    // Another business sees none of them.
    assert_eq!(
        app.get("/sandbox/v1/sms", &other.duplo()).await.body["data"],
        json!([])
    );
    app.finish().await;
}

async fn either_test_credential_opens_the_sandbox(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    assert_eq!(
        app.get("/sandbox/v1/sms", &business.duplo()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/sandbox/v1/sms", &business.beqelal()).await.status,
        StatusCode::OK
    );
    assert_duplo_error(&app.get("/sandbox/v1/sms", &Auth::None).await, 401);
    app.finish().await;
}
