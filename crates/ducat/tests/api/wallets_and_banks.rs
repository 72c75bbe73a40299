//! Wallet balances, bank lists and name enquiry.

use crate::both_engines;
use crate::helpers::{assert_duplo_error, spawn_app, Engine};
use ducat_core::banks;
use ducat_core::money::Currency;
use reqwest::StatusCode;
use serde_json::json;

both_engines!(
    a_new_wallet_is_empty_and_shows_its_funding_account,
    funding_moves_available_and_ledger_balances,
    unknown_and_malformed_wallet_refs_are_not_found,
    duplo_lists_nigerian_banks_and_beqelal_ethiopian_institutions,
    name_enquiry_follows_the_sandbox_magic_values,
);

async fn a_new_wallet_is_empty_and_shows_its_funding_account(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let answer = app
        .get(
            &format!(
                "/v1/wallets/balance/{}?business_id={}",
                business.ngn_wallet, business.id
            ),
            &business.duplo(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["errors"], json!({}));
    let data = &answer.body["data"];
    assert_eq!(data["available_balance"], json!(0));
    assert_eq!(data["legder_balance"], json!(0));
    let account = &data["bank_accounts"][0];
    assert_eq!(account["account_number"], business.ngn_account.as_str());
    assert_eq!(account["bank_name"], banks::house_bank(Currency::Ngn).name);
    assert_eq!(account["account_name"], "Ada's Kitchen");
    app.finish().await;
}

async fn funding_moves_available_and_ledger_balances(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    app.fund(&business, &business.ngn_account, "1500.50").await;
    app.fund(&business, &business.ngn_account, "0.5").await;
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(1501), json!(1501))
    );
    app.fund(&business, &business.etb_account, "99.99").await;
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await,
        (json!(99.99), json!(99.99))
    );
    app.finish().await;
}

async fn unknown_and_malformed_wallet_refs_are_not_found(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    for wallet in ["wal_000000000000", "not-a-wallet", "wal_%27%20OR%201%3D1"] {
        let answer = app
            .get(
                &format!("/v1/wallets/balance/{wallet}?business_id={}", business.id),
                &business.duplo(),
            )
            .await;
        assert_duplo_error(&answer, 404);
    }
    app.finish().await;
}

async fn duplo_lists_nigerian_banks_and_beqelal_ethiopian_institutions(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let duplo = app
        .get(
            "/v1/merchants/utilities/banks/list?country=Nigeria",
            &business.duplo(),
        )
        .await;
    assert_eq!(duplo.status, StatusCode::OK);
    let list = duplo.body["data"].as_array().unwrap();
    assert!(list
        .iter()
        .any(|b| b["code"] == "058" && b["name"].as_str().unwrap().contains("Guaranty")));
    assert_eq!(list.len(), banks::institutions(Currency::Ngn).len());
    let ghana = app
        .get(
            "/v1/merchants/utilities/banks/list?country=Ghana",
            &business.duplo(),
        )
        .await;
    assert!(assert_duplo_error(&ghana, 400).contains("country"));

    let beqelal = app.get("/api/v1/list/banks", &business.beqelal()).await;
    assert_eq!(beqelal.status, StatusCode::OK);
    let kacha = beqelal
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == 404050)
        .expect("Kacha DFS is listed")
        .clone();
    assert_eq!(kacha["name"], "Kacha DFS");
    assert_eq!(kacha["type"], "WALLET");
    assert_eq!(kacha["account_length"], 12);
    assert_eq!(kacha["regex"], "^251[79][0-9]{8}$");
    let logo = app
        .get(kacha["logo"].as_str().unwrap(), &crate::helpers::Auth::None)
        .await;
    assert_eq!(
        logo.status,
        StatusCode::OK,
        "every listed logo is served by ducat itself"
    );
    assert_eq!(logo.header("content-type"), Some("image/svg+xml"));
    assert!(logo.text.contains(">KD</text>"));
    app.finish().await;
}

async fn name_enquiry_follows_the_sandbox_magic_values(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let verify = |account: &str, bank: &str| json!({ "business_id": business.id, "account_number": account, "bank_code": bank });
    let path = "/v1/merchants/utilities/banks/verify";
    let resolved = app
        .post(path, &business.duplo(), verify("0123456789", "058"))
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text);
    let expected_name = banks::sandbox_account_name(Currency::Ngn, "0123456789");
    assert_eq!(
        resolved.body["data"]["account_name"],
        expected_name.as_str()
    );
    assert_eq!(resolved.body["data"]["bank_code"], "058");
    // Every magic ending but 00 resolves: the failure comes later, at the transfer.
    for account in ["0123456791", "0123456792", "0123456793"] {
        assert_eq!(
            app.post(path, &business.duplo(), verify(account, "058"))
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_duplo_error(
        &app.post(path, &business.duplo(), verify("0123456700", "058"))
            .await,
        404,
    );
    let unknown_bank = app
        .post(path, &business.duplo(), verify("0123456789", "999"))
        .await;
    assert!(assert_duplo_error(&unknown_bank, 400).contains("bank_code"));
    let short = app
        .post(path, &business.duplo(), verify("12345", "058"))
        .await;
    assert_eq!(
        short.body["errors"]["account_number"], "must be 10 digits",
        "{}",
        short.text
    );
    app.finish().await;
}
