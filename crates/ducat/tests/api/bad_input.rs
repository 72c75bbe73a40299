//! Bad input gets the face's error shape, a 4xx, and changes nothing.

use crate::both_engines;
use crate::helpers::{assert_duplo_error, spawn_app, Engine};
use serde_json::json;

both_engines!(
    malformed_bodies_are_refused_with_the_offending_field,
    amounts_must_be_exact_and_positive,
    oversized_bodies_and_wrong_content_types_are_refused,
);

async fn malformed_bodies_are_refused_with_the_offending_field(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let url = format!("{}/sandbox/v1/bank/transfers", app.address);
    let post = |body: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&business.secret_key)
            .header("content-type", "application/json")
            .body(body)
    };
    let cases: [(&str, &str); 7] = [
        ("{\"account_number\": ", "body"),
        ("", "body"),
        ("[1, 2]", "body"),
        ("{\"amount\": \"5\"}", "account_number"),
        (
            "{\"account_number\": 5, \"amount\": \"5\"}",
            "account_number",
        ),
        (
            "{\"account_number\": \"1\", \"amount\": \"5\", \"colour\": \"red\"}",
            "colour",
        ),
        ("{\"account_number\": \"1\", \"amount\": true}", "amount"),
    ];
    for (body, field) in cases {
        let answer = app.raw(post(body)).await;
        assert_duplo_error(&answer, 400);
        assert!(
            answer.body["errors"].get(field).is_some(),
            "{body} should name {field}: {}",
            answer.text
        );
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let answer = app
        .raw(
            app.client
                .post(&url)
                .bearer_auth(&business.secret_key)
                .header("content-type", "application/json")
                .body(deep),
        )
        .await;
    assert_duplo_error(&answer, 400);
    let invalid_utf8 = app
        .raw(
            app.client
                .post(&url)
                .bearer_auth(&business.secret_key)
                .header("content-type", "application/json")
                .body(vec![b'{', 0xff, 0xfe, b'}']),
        )
        .await;
    assert_duplo_error(&invalid_utf8, 400);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(0)
    );
    app.finish().await;
}

async fn amounts_must_be_exact_and_positive(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    for (amount, expected) in [
        (json!("10.001"), "more than 2 decimal places"),
        (json!(10.001), "more than 2 decimal places"),
        (json!(-5), "negative"),
        (json!("0"), "greater than zero"),
        (json!("1e3"), "must be a number"),
        (json!("12abc"), "must be a number"),
        (json!(1e300), "must be a number"),
        (json!("100000000000000000000"), "too large"),
    ] {
        let answer = app
            .post(
                "/sandbox/v1/bank/transfers",
                &business.duplo(),
                json!({ "account_number": business.ngn_account, "amount": amount }),
            )
            .await;
        let message = assert_duplo_error(&answer, 400);
        assert!(message.contains(expected), "{amount}: {message}");
        assert!(answer.body["errors"]["amount"].is_string());
    }
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(0)
    );
    app.finish().await;
}

async fn oversized_bodies_and_wrong_content_types_are_refused(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let url = format!("{}/sandbox/v1/bank/transfers", app.address);
    let huge = format!(
        "{{\"account_number\": \"{}\", \"amount\": \"5\", \"narration\": \"{}\"}}",
        business.ngn_account,
        "x".repeat(200 * 1024)
    );
    let answer = app
        .raw(
            app.client
                .post(&url)
                .bearer_auth(&business.secret_key)
                .header("content-type", "application/json")
                .body(huge),
        )
        .await;
    assert_duplo_error(&answer, 413);
    let form = app
        .raw(
            app.client
                .post(&url)
                .bearer_auth(&business.secret_key)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("account_number=1&amount=5"),
        )
        .await;
    assert_duplo_error(&form, 415);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(0)
    );
    app.finish().await;
}
