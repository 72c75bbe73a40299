//! `Idempotency-Key` semantics.

use crate::both_engines;
use crate::helpers::{assert_duplo_error, spawn_app, Engine};
use ducat_core::ids::BusinessId;
use reqwest::{Method, StatusCode};
use serde_json::json;

both_engines!(
    a_retry_with_the_same_key_replays_and_moves_money_once,
    the_same_key_with_another_body_is_refused,
    a_retry_while_the_first_runs_is_a_conflict,
    keys_are_scoped_to_the_business,
    keys_expire_after_retention,
);

async fn a_retry_with_the_same_key_replays_and_moves_money_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let auth = business.duplo();
    let body = json!({ "account_number": business.ngn_account, "amount": "700" });
    let send = || {
        app.request_with(
            Method::POST,
            "/sandbox/v1/bank/transfers",
            &auth,
            Some(body.clone()),
            &[("Idempotency-Key", "fund-1")],
        )
    };
    let first = send().await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("idempotent-replayed"), None);
    let second = send().await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("content-type"), Some("application/json"));
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(700)
    );
    app.finish().await;
}

async fn the_same_key_with_another_body_is_refused(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let auth = business.duplo();
    let send = |amount: &str| {
        app.request_with(
            Method::POST,
            "/sandbox/v1/bank/transfers",
            &auth,
            Some(json!({ "account_number": business.ngn_account, "amount": amount })),
            &[("Idempotency-Key", "fund-2")],
        )
    };
    assert_eq!(send("10").await.status, StatusCode::OK);
    assert!(assert_duplo_error(&send("11").await, 422).contains("different request"));
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(10)
    );
    let bad_key = app
        .request_with(
            Method::POST,
            "/sandbox/v1/bank/transfers",
            &business.duplo(),
            Some(json!({})),
            &[("Idempotency-Key", "has space")],
        )
        .await;
    assert!(assert_duplo_error(&bad_key, 400).contains("Idempotency-Key"));
    app.finish().await;
}

async fn a_retry_while_the_first_runs_is_a_conflict(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let body = json!({ "account_number": business.ngn_account, "amount": "5" });
    let path = "/sandbox/v1/bank/transfers";
    // Claim the key as a request that is still running would have.
    let fingerprint = ducat::http::idempotency::fingerprint(
        "POST",
        path,
        serde_json::to_vec(&body).unwrap().as_slice(),
    );
    let id = BusinessId::parse(&business.id).unwrap();
    let claim = ducat::store::idempotency::claim(
        &app.services.store,
        &id,
        "busy",
        &fingerprint,
        app.clock_now(),
        86_400_000,
    )
    .await
    .unwrap();
    assert!(matches!(claim, ducat::store::idempotency::Claim::Claimed));
    let answer = app
        .request_with(
            Method::POST,
            path,
            &business.duplo(),
            Some(body),
            &[("Idempotency-Key", "busy")],
        )
        .await;
    assert!(assert_duplo_error(&answer, 409).contains("still being processed"));
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(0)
    );
    app.finish().await;
}

async fn keys_are_scoped_to_the_business(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let ours = app.create_business().await;
    let theirs = app.create_business().await;
    for business in [&ours, &theirs] {
        let answer = app
            .request_with(
                Method::POST,
                "/sandbox/v1/bank/transfers",
                &business.duplo(),
                Some(json!({ "account_number": business.ngn_account, "amount": "3" })),
                &[("Idempotency-Key", "same-key")],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("idempotent-replayed"), None);
        assert_eq!(
            app.balance(business, &business.ngn_wallet).await.0,
            json!(3)
        );
    }
    app.finish().await;
}

async fn keys_expire_after_retention(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let auth = business.duplo();
    let send = |amount: &str| {
        app.request_with(
            Method::POST,
            "/sandbox/v1/bank/transfers",
            &auth,
            Some(json!({ "account_number": business.ngn_account, "amount": amount })),
            &[("Idempotency-Key", "old")],
        )
    };
    assert_eq!(send("1").await.status, StatusCode::OK);
    app.clock.advance_secs(24 * 3600 + 1);
    let purged = ducat::workers::purge_idempotency_keys(&app.services)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let again = send("2").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("idempotent-replayed"), None);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(3)
    );
    app.finish().await;
}
