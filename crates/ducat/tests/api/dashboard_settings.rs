//! Dashboard settings over plain HTTP: the payout OTP phone with its confirmation code, the IP
//! allowlist and the audit log.

use crate::both_engines;
use crate::dashboard_support::Dashboard;
use crate::helpers::{assert_duplo_error, spawn_app, Engine, TestBusiness};
use ducat_core::ids::BusinessId;
use reqwest::StatusCode;
use serde_json::json;

both_engines!(
    a_new_otp_phone_takes_effect_only_with_the_code_sent_to_it,
    a_confirmation_code_expires_and_wrong_codes_run_out,
    an_invalid_phone_is_refused_and_sends_nothing,
    the_ip_allowlist_set_in_the_dashboard_is_enforced_by_both_apis,
    an_invalid_allowlist_is_refused_and_changes_nothing,
    the_audit_log_names_who_changed_what_from_where,
);

fn business_id(business: &TestBusiness) -> BusinessId {
    BusinessId::parse(&business.id).expect("a business id")
}

const NEW_PHONE: &str = "+2348030000001";
const OLD_PHONE: &str = "+2348031234567";
const SETTINGS: &str = "/dashboard/settings/payout";

async fn a_new_otp_phone_takes_effect_only_with_the_code_sent_to_it(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let page = dashboard
        .submit(
            SETTINGS,
            "/dashboard/settings/payout/phone",
            &[("otp_phone", NEW_PHONE)],
        )
        .await;
    assert_eq!(
        page.location(),
        Some("/dashboard/settings/payout?done=code-sent")
    );
    let code = app.latest_otp(&business, NEW_PHONE).await;

    // Until the code comes back the old number stays in effect.
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(record.otp_phone.as_deref(), Some(OLD_PHONE));
    let page = dashboard.get(SETTINGS).await;
    assert!(page.contains(&format!(
        "<strong id=\"current-otp-phone\">{OLD_PHONE}</strong>"
    )));
    assert!(page.contains("Waiting for the code sent to"));

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let page = dashboard
        .submit(
            SETTINGS,
            "/dashboard/settings/payout/phone/confirm",
            &[("otp", wrong)],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("The code is not the code sent to the new number."));
    let page = dashboard
        .submit(
            SETTINGS,
            "/dashboard/settings/payout/phone/confirm",
            &[("otp", &code)],
        )
        .await;
    assert_eq!(
        page.location(),
        Some("/dashboard/settings/payout?done=confirmed")
    );
    let page = dashboard.get(page.location().unwrap()).await;
    assert!(page.contains(&format!(
        "<strong id=\"current-otp-phone\">{NEW_PHONE}</strong>"
    )));

    // The next payout's OTP goes to the new number.
    app.fund(&business, &business.ngn_account, "10000").await;
    let answer = app
        .post(
            "/v1/wallets/v2/transfer",
            &business.duplo(),
            json!({
                "business_id": business.id, "amount": 500, "recipient_bank_code": "058",
                "recipient_account_number": "0123456781", "description": "rent",
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let otp = app.latest_otp(&business, NEW_PHONE).await;
    assert_eq!(otp.len(), 6);
    // The confirmation code cannot be used twice.
    let page = dashboard
        .submit(
            SETTINGS,
            "/dashboard/settings/payout/phone/confirm",
            &[("otp", &code)],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    app.finish().await;
}

async fn a_confirmation_code_expires_and_wrong_codes_run_out(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    dashboard
        .submit(
            SETTINGS,
            "/dashboard/settings/payout/phone",
            &[("otp_phone", NEW_PHONE)],
        )
        .await;
    let code = app.latest_otp(&business, NEW_PHONE).await;
    app.clock.advance_secs(10 * 60);
    let page = dashboard
        .submit(
            SETTINGS,
            "/dashboard/settings/payout/phone/confirm",
            &[("otp", &code)],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.html
    );
    assert!(page.contains("The code has expired; ask for a new one."));

    dashboard
        .submit(
            SETTINGS,
            "/dashboard/settings/payout/phone",
            &[("otp_phone", NEW_PHONE)],
        )
        .await;
    let code = app.latest_otp(&business, NEW_PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let max = app.services.config.otp_max_attempts;
    for attempt in 1..=max {
        let page = dashboard
            .submit(
                SETTINGS,
                "/dashboard/settings/payout/phone/confirm",
                &[("otp", wrong)],
            )
            .await;
        if attempt < max {
            assert_eq!(page.status, StatusCode::BAD_REQUEST);
        } else {
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(page.contains("Too many wrong codes"), "{}", page.html);
        }
    }
    // Even the right code is worthless now.
    let page = dashboard
        .submit(
            SETTINGS,
            "/dashboard/settings/payout/phone/confirm",
            &[("otp", &code)],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(record.otp_phone.as_deref(), Some(OLD_PHONE));
    app.finish().await;
}

async fn an_invalid_phone_is_refused_and_sends_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    for phone in ["08031234567", "+234 803", "phone", "", OLD_PHONE] {
        let page = dashboard
            .submit(
                SETTINGS,
                "/dashboard/settings/payout/phone",
                &[("otp_phone", phone)],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{phone}: {}",
            page.html
        );
        assert!(page.contains("The phone number"), "{phone}");
        assert!(!page.contains("Waiting for the code"));
    }
    let sms = app.get("/sandbox/v1/sms", &business.duplo()).await;
    assert_eq!(
        sms.body["data"].as_array().map(Vec::len),
        Some(0),
        "{}",
        sms.text
    );
    app.finish().await;
}

async fn the_ip_allowlist_set_in_the_dashboard_is_enforced_by_both_apis(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let balance = format!(
        "/v1/wallets/balance/{}?business_id={}",
        business.ngn_wallet, business.id
    );
    assert_eq!(
        app.get(&balance, &business.duplo()).await.status,
        StatusCode::OK
    );

    let page = dashboard
        .submit(
            "/dashboard/security",
            "/dashboard/security/ip-allowlist",
            &[("ip_allowlist", "10.20.0.0/16\n2001:db8::/32")],
        )
        .await;
    assert_eq!(page.location(), Some("/dashboard/security?done=saved"));
    let answer = app.get(&balance, &business.duplo()).await;
    assert_duplo_error(&answer, 403);
    let answer = app.get("/api/v1/list/banks", &business.beqelal()).await;
    assert_eq!(answer.status.as_u16(), 479, "{}", answer.text);
    let page = dashboard.get("/dashboard/security").await;
    assert!(page.contains("<code>10.20.0.0/16</code>"));

    let page = dashboard
        .submit(
            "/dashboard/security",
            "/dashboard/security/ip-allowlist",
            &[("ip_allowlist", "127.0.0.1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&balance, &business.duplo()).await.status,
        StatusCode::OK
    );
    app.finish().await;
}

async fn an_invalid_allowlist_is_refused_and_changes_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    for list in ["10.0.0.0/33", "not an address", "10.0.0.1, 300.1.1.1"] {
        let page = dashboard
            .submit(
                "/dashboard/security",
                "/dashboard/security/ip-allowlist",
                &[("ip_allowlist", list)],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{list}");
        assert!(page.contains("The IP allowlist"), "{}", page.html);
        // What was typed is kept for correcting.
        assert!(page.contains(list), "{list}");
    }
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(record.ip_allowlist, "");
    app.finish().await;
}

async fn the_audit_log_names_who_changed_what_from_where(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    dashboard
        .submit(
            "/dashboard/security",
            "/dashboard/security/ip-allowlist",
            &[("ip_allowlist", "127.0.0.1")],
        )
        .await;
    // A change through the API is logged too, under the credential that made it.
    let answer = app
        .post(
            "/v1/merchants/businesses/webhook",
            &business.duplo(),
            json!({"business_id": business.id, "webhook_url": "https://example.com/hook", "verify_hash": "abc"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);

    let page = dashboard.get("/dashboard/security").await;
    let log = &page.html[page.html.find("id=\"audit-log\"").expect("the audit table")..];
    assert!(log.contains(&business.dashboard_login));
    assert!(
        log.contains("ip_allowlist.changed") && log.contains("IP allowlist set to 127.0.0.1/32")
    );
    assert!(log.contains("127.0.0.1"));
    assert!(log.contains("webhook_url.changed") && log.contains("API credential cred_"));
    assert!(log.contains("user.signed_in"));
    // Newest first.
    assert!(log.find("webhook_url.changed").unwrap() < log.find("ip_allowlist.changed").unwrap());
    app.finish().await;
}
