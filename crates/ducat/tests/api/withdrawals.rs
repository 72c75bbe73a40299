//! Beqelal withdrawals over HTTP on both engines.

use crate::both_engines;
use crate::helpers::{
    assert_beqelal_error, fixture, spawn_app, Answer, Engine, TestApp, TestBusiness,
};
use ducat_core::banks;
use ducat_core::ids::BusinessId;
use ducat_core::money::Currency;
use reqwest::StatusCode;
use serde_json::{json, Value};

const CBE: &str = "100001";
const CBE_ACCOUNT: &str = "1000123456789";

both_engines!(
    fees_vat_and_levy_are_exact_on_several_amounts,
    the_magic_values_give_their_outcomes,
    insufficient_funds_unknown_accounts_and_repeats_are_refused,
);

async fn withdraw(
    app: &TestApp,
    business: &TestBusiness,
    account: &str,
    amount: Value,
    trace: &str,
) -> Answer {
    app.post(
        "/api/v1/withdraw/execute",
        &business.beqelal(),
        json!({ "bank": CBE, "account": account, "amount": amount, "trace_number": trace, "reason": "Payroll" }),
    )
    .await
}

async fn fees_vat_and_levy_are_exact_on_several_amounts(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    app.fund(&business, &business.etb_account, "200000").await;
    // Fee: 10 birr + 0.10 %, at most 50; VAT 15 % and levy 5 % of the fee, each rounded half up.
    let mut balance: i64 = 20_000_000; // 200,000 birr in santim
    for (amount, fee, vat, levy, total_fee) in [
        (
            json!(1000),
            json!(11),
            json!(1.65),
            json!(0.55),
            json!(13.2),
        ),
        (
            json!("250.50"),
            json!(10.25),
            json!(1.54),
            json!(0.51),
            json!(12.3),
        ),
        (json!(100000), json!(50), json!(7.5), json!(2.5), json!(60)),
    ] {
        let answer = withdraw(
            &app,
            &business,
            CBE_ACCOUNT,
            amount.clone(),
            &format!("W-{amount}"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let body = &answer.body;
        assert_eq!(body["status"], "PROCESSED", "{}", answer.text);
        assert_eq!(
            (
                &body["fee"],
                &body["vat"],
                &body["levy"],
                &body["total_fee"]
            ),
            (&fee, &vat, &levy, &total_fee),
            "{amount}"
        );
        let minor = |v: &Value| {
            (v.as_f64()
                .unwrap_or_else(|| v.as_str().unwrap().parse().unwrap())
                * 100.0)
                .round() as i64
        };
        balance -= minor(&amount) + minor(&total_fee);
        assert_eq!(minor(&body["balance"]), balance, "{amount}");
        assert_eq!(
            body["recipient_name"],
            banks::sandbox_account_name(Currency::Etb, CBE_ACCOUNT).as_str()
        );
        assert_eq!(body["institution"], "Commercial Bank of Ethiopia");
        assert!(body["reference_id"].as_str().unwrap().starts_with("tran_"));
    }
    let (available, ledger) = app.balance(&business, &business.etb_wallet).await;
    assert_eq!(available, ledger);
    assert_eq!(
        (available.as_f64().unwrap() * 100.0).round() as i64,
        balance
    );
    app.finish().await;
}

async fn the_magic_values_give_their_outcomes(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    app.fund(&business, &business.etb_account, "1000").await;
    let declined = withdraw(&app, &business, "1000123456791", json!(100), "M-91").await;
    assert_eq!(declined.body["status"], "FAILED", "{}", declined.text);
    assert_eq!(declined.body["balance"], json!(1000), "refunded in full");
    let timed_out = withdraw(&app, &business, "1000123456792", json!(100), "M-92").await;
    assert_eq!(timed_out.body["status"], "PENDING", "{}", timed_out.text);
    let reference = timed_out.body["reference_id"].as_str().unwrap().to_owned();
    app.clock.advance_secs(5);
    app.services.dispatch_payouts().await.unwrap();
    let read = app
        .get(
            &format!("/api/v1/withdraw/{reference}"),
            &business.beqelal(),
        )
        .await;
    assert_eq!(read.body["status"], "PROCESSED");
    let lost = withdraw(&app, &business, "1000123456793", json!(100), "M-93").await;
    assert_eq!(lost.body["status"], "PENDING");
    let lost_reference = lost.body["reference_id"].as_str().unwrap().to_owned();
    app.clock.advance_secs(5);
    app.services.dispatch_payouts().await.unwrap();
    let read = app
        .get(
            &format!("/api/v1/withdraw/{lost_reference}"),
            &business.beqelal(),
        )
        .await;
    assert_eq!(read.body["status"], "FAILED");
    // 1,000 - (100 + 10.10 fee + 1.52 VAT + 0.51 levy) for the one that was paid.
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(887.87)
    );
    let id = BusinessId::parse(&business.id).unwrap();
    let events = ducat::store::events::for_transaction(&app.services.store, &id, &reference)
        .await
        .unwrap();
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, vec!["WITHDRAWAL_PENDING", "WITHDRAWAL_PROCESSED"]);
    assert_eq!(events[1].face, "beqelal");
    app.finish().await;
}

async fn insufficient_funds_unknown_accounts_and_repeats_are_refused(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let other = app.create_business().await;
    app.fund(&business, &business.etb_account, "100").await;
    let poor = withdraw(&app, &business, CBE_ACCOUNT, json!(95), "R-1").await;
    assert_beqelal_error(&poor, 400, "422", "INSUFFICIENT_BALANCE");
    let unknown = withdraw(&app, &business, "1000123456700", json!(5), "R-2").await;
    assert!(
        unknown.body["account"][0]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{}",
        unknown.text
    );
    let malformed = withdraw(&app, &business, "12", json!(5), "R-3").await;
    assert!(
        malformed.body["account"][0].is_string(),
        "{}",
        malformed.text
    );
    let first = withdraw(&app, &business, CBE_ACCOUNT, json!(5), "R-4").await;
    assert_eq!(first.body["status"], "PROCESSED");
    let repeat = withdraw(&app, &business, CBE_ACCOUNT, json!(5), "R-4").await;
    assert_eq!(repeat.status.as_u16(), 409);
    assert!(repeat.body["error"]["detail"]
        .as_str()
        .unwrap()
        .contains(first.body["reference_id"].as_str().unwrap()));
    let theirs = app
        .get(
            &format!(
                "/api/v1/withdraw/{}",
                first.body["reference_id"].as_str().unwrap()
            ),
            &other.beqelal(),
        )
        .await;
    assert_eq!(
        theirs.body,
        fixture("beqelal-payment-authorize.400-442.json")
    );
    app.finish().await;
}
