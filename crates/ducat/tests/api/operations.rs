//! Health, readiness, metrics, request ids and the API description.

use crate::both_engines;
use crate::helpers::{spawn_app, Auth, Engine};
use reqwest::StatusCode;

both_engines!(
    health_readiness_and_request_ids,
    metrics_count_requests_by_route_and_status,
    the_openapi_document_describes_every_endpoint,
);

async fn the_openapi_document_describes_every_endpoint(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let answer = app.get("/openapi.json", &Auth::None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["openapi"], "3.1.0");
    let paths = answer.body["paths"].as_object().unwrap();
    // Every route the server answers (static assets aside).
    for path in [
        "/api/v1/create/checkout",
        "/api/v1/create/payment-link",
        "/api/v1/list/banks",
        "/api/v1/payment-link/{reference}",
        "/api/v1/payment/authorize",
        "/api/v1/payment/request",
        "/api/v1/payment/{reference}",
        "/api/v1/withdraw/execute",
        "/api/v1/withdraw/{reference_id}",
        "/checkout/{reference}",
        "/checkout/{reference}/status",
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/pay/{reference}",
        "/pay/{reference}/otp",
        "/readyz",
        "/sandbox/v1/bank/transfers",
        "/sandbox/v1/sms",
        "/v1/checkout/",
        "/v1/checkout/verify-transaction/{checkout_reference}",
        "/v1/checkout/{checkout_reference}",
        "/v1/merchants/businesses/webhook",
        "/v1/merchants/utilities/banks/list",
        "/v1/merchants/utilities/banks/verify",
        "/v1/recipients/payouts-otp",
        "/v1/virtual-accounts",
        "/v1/virtual-accounts/{account_ref}",
        "/v1/webhooks/events",
        "/v1/webhooks/events/{event_id}",
        "/v1/webhooks/events/{event_id}/redeliver",
        "/v1/webhooks/test",
        "/v1/wallets/balance/{wallet_ref}",
        "/v1/wallets/transactions",
        "/v1/wallets/transactions/external/{transaction_id}",
        "/v1/wallets/transactions/{transaction_ref}",
        "/v1/wallets/transfer",
        "/v1/wallets/v2/process-transfer",
        "/v1/wallets/v2/resend-payout-otp",
        "/v1/wallets/v2/transfer",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    assert_eq!(
        paths.len(),
        40,
        "a route was added without a test line here, or the reverse"
    );
    let schemes = &answer.body["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["name"], "api-key");
    app.finish().await;
}

async fn health_readiness_and_request_ids(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let health = app.get("/healthz", &Auth::None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    let ready = app.get("/readyz", &Auth::None).await;
    assert_eq!(ready.status, StatusCode::OK);
    let first = health
        .header("x-request-id")
        .expect("a request id")
        .to_owned();
    let second = ready
        .header("x-request-id")
        .expect("a request id")
        .to_owned();
    assert_ne!(first, second);
    // A caller's own request id is kept.
    let mine = app
        .raw(
            app.client
                .get(format!("{}/healthz", app.address))
                .header("x-request-id", "trace-me-42"),
        )
        .await;
    assert_eq!(mine.header("x-request-id"), Some("trace-me-42"));
    app.finish().await;
}

async fn metrics_count_requests_by_route_and_status(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    app.balance(&business, &business.ngn_wallet).await;
    app.get("/v1/wallets/balance/wal_000000000000", &Auth::None)
        .await;
    let metrics = app.get("/metrics", &Auth::None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.text;
    assert!(text.contains(
        r#"ducat_http_requests_total{method="GET",route="/v1/wallets/balance/{wallet_ref}",status="200"} 1"#
    ), "{text}");
    assert!(text.contains(
        r#"ducat_http_requests_total{method="GET",route="/v1/wallets/balance/{wallet_ref}",status="401"} 1"#
    ), "{text}");
    assert!(text.contains("ducat_http_request_duration_seconds_bucket"));
    assert!(!text.contains(&business.secret_key));
    // Creating the business and its funding committed through the write lane.
    let counter = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from {text}"))
    };
    assert!(counter("ducat_write_batches_total") >= 1.0);
    assert!(counter("ducat_write_batched_requests_total") >= counter("ducat_write_batches_total"));
    assert!(counter("ducat_write_lane_statement_seconds_total") > 0.0);
    assert!(counter("ducat_write_lane_commit_seconds_total") > 0.0);
    app.finish().await;
}
