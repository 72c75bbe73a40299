//! The dashboard in a real browser.
//!
//! Headless Chromium, driven by `tests/browser/dashboard.mjs` with Playwright, signs the owner
//! in and goes through every page: a secret key shown once, the payout OTP phone confirmed with
//! the code from the sandbox inbox, an IP range the API then enforces, a webhook with a test
//! event, a simulated transfer, a payout confirmed with its OTP, the transactions, an invited
//! viewer who can change nothing, and the essentials without JavaScript. Screenshots of each page
//! (desktop and phone width) go to `artifacts/screenshots/dashboard-*.png`. Afterwards this side
//! checks on the server what the browser did.
//!
//! Needs what `browser.rs` needs (node, `npm ci` in `tests/browser`, Chromium); without them the
//! test is skipped outside CI and fails in CI.

use crate::both_engines;
use crate::browser::{browser_available, run_node};
use crate::helpers::{spawn_app_with, Engine, TestApp, TestBusiness};
use crate::webhooks::{Receiver, ReceiverState};
use ducat::store::{audit, businesses, dashboard};
use ducat_core::ids::BusinessId;
use ducat_core::roles::Role;
use reqwest::StatusCode;
use serde_json::Value;

both_engines!(the_dashboard_works_end_to_end_in_a_browser);

/// The number the browser sets as the payout OTP phone.
const NEW_OTP_PHONE: &str = "+2348030000001";

/// What the script reports for this side to check.
#[derive(Debug, Default)]
struct Reported {
    payout_ref: Option<String>,
    secret_prefix: Option<String>,
    viewer: Option<String>,
}

async fn payout_status(app: &TestApp, business: &TestBusiness, reference: &str) -> String {
    let answer = app
        .get(
            &format!(
                "/v1/wallets/transactions/{reference}?business_id={}",
                business.id
            ),
            &business.duplo(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"]["status"]
        .as_str()
        .expect("a status")
        .to_owned()
}

fn number(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().expect("a finite number"),
        Value::String(s) => s.parse().expect("a number as text"),
        other => panic!("not an amount: {other}"),
    }
}

async fn the_dashboard_works_end_to_end_in_a_browser(engine: Engine) {
    if !browser_available() {
        return;
    }
    let Some(app) = spawn_app_with(engine, |c| c.webhook_allow_private_targets = true).await else {
        return;
    };
    let business = app.create_business().await;
    let id = BusinessId::parse(&business.id).expect("a business id");
    let receiver = Receiver::start(ReceiverState::default()).await;
    let webhook_url = receiver.url("/hook");

    let env = [
        ("API_BASE", app.address.clone()),
        ("EMAIL", business.dashboard_login.clone()),
        ("PASSWORD", business.dashboard_password.clone()),
        ("BUSINESS_ID", business.id.clone()),
        ("WEBHOOK_URL", webhook_url.clone()),
        ("NGN_ACCOUNT", business.ngn_account.clone()),
    ];
    let mut reported = Reported::default();
    run_node("dashboard.mjs", "dashboard", &env, |line| {
        let mut words = line.splitn(2, ' ');
        let (Some(key), Some(value)) = (words.next(), words.next()) else {
            return;
        };
        let value = Some(value.trim().to_owned());
        match key {
            "PAYOUT_REF" => reported.payout_ref = value,
            "SECRET_PREFIX" => reported.secret_prefix = value,
            "VIEWER" => reported.viewer = value,
            _ => {}
        }
    })
    .await;

    let record = app.services.business(&id).await.expect("the business");
    // Step 3: the confirmed OTP phone is in effect.
    assert_eq!(record.otp_phone.as_deref(), Some(NEW_OTP_PHONE));
    // Step 10 (without JavaScript) saved 127.0.0.1/32; the viewer's attempt changed nothing.
    assert_eq!(record.ip_allowlist, "127.0.0.1/32");
    // Step 5: the webhook URL is saved and the receiver got the test event, signed.
    assert_eq!(record.webhook_url.as_deref(), Some(webhook_url.as_str()));
    let received = receiver.received();
    let tests: Vec<_> = received
        .iter()
        .filter(|r| r.json()["data"]["event_type"] == ducat::webhooks::TEST_EVENT)
        .collect();
    assert_eq!(tests.len(), 1, "one test event reached the receiver");
    assert!(tests[0].header("webhook-signature").is_some());

    // Step 2: a second Duplo secret key, listed by the prefix the page showed.
    let credentials = businesses::list_credentials(&app.services.store, &id)
        .await
        .expect("the keys");
    let prefix = reported
        .secret_prefix
        .expect("the script printed SECRET_PREFIX");
    assert!(
        credentials
            .iter()
            .any(|c| c.key_prefix == prefix && c.revoked_at.is_none() && c.last_used_at.is_some()),
        "a key with prefix {prefix} that the API has seen used: {credentials:#?}"
    );

    // Step 4: the audit log names the owner changing the allowlist.
    let (entries, _) = audit::list(&app.services.store, &id, 200, 0)
        .await
        .expect("the audit log");
    let by_owner = |needle: &str| {
        entries.iter().any(|e| {
            e.actor.contains(&business.dashboard_login)
                && (e.detail.contains(needle) || e.action.contains(needle))
        })
    };
    assert!(by_owner("10.20.0.0/16"), "{entries:#?}");

    // Step 9: the viewer joined with the viewer role.
    let viewer = reported.viewer.expect("the script printed VIEWER");
    let users = dashboard::users_of_business(&app.services.store, &id)
        .await
        .expect("the users");
    assert!(
        users
            .iter()
            .any(|u| u.email == viewer && u.role == Role::Viewer),
        "{users:#?}"
    );

    // Steps 6 and 7: ₦50,000 in, a ₦1,000 payout (plus its fee) held, then paid by the bank.
    let reference = reported.payout_ref.expect("the script printed PAYOUT_REF");
    let status = payout_status(&app, &business, &reference).await;
    assert!(
        status == "pending" || status == "successful",
        "the payout is {status}"
    );
    let (available, _) = app.balance(&business, &business.ngn_wallet).await;
    let available = number(&available);
    assert!(
        available < 49_000.0 && available > 48_900.0,
        "₦50,000 less ₦1,000 and its fee: {available}"
    );
    app.services
        .dispatch_payouts()
        .await
        .expect("the dispatcher runs");
    assert_eq!(
        payout_status(&app, &business, &reference).await,
        "successful"
    );
    let (available_after, ledger) = app.balance(&business, &business.ngn_wallet).await;
    assert_eq!(number(&available_after), available);
    assert_eq!(number(&ledger), available);
    app.finish().await;
}
