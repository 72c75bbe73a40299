//! Reconciliation against a real `ducat bank-sim` process: a day of live payouts (under lost
//! answers and 503s), inflows (a duplicate notification, an unknown account returned) and
//! direct debits reconciles clean through `ducat reconcile` and the service; a payout the bank
//! applied that ducat has not recorded yet is named `missing in ledger` until the dispatcher
//! settles it; test mode reconciles with the sandbox; the dashboard shows the business's day.

use crate::bank_debits::{authorize, bank_otp, payment_status, requested, WALLET_ACCOUNT};
use crate::bank_inflows::{network, send_inflow, wait_for};
use crate::bank_network::{pending_payout, status, GOOD_ACCOUNT, TOKEN};
use crate::both_engines;
use crate::dashboard_support::Dashboard;
use crate::helpers::{spawn_app, Engine, TestApp, TestBusiness};
use ducat::clock::{Clock, SystemClock};
use ducat::services::reconcile::RailChoice;
use ducat::store::businesses::Mode;
use ducat_core::reconcile::{Day, Mismatch};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Command, Output, Stdio};

both_engines!(
    a_live_day_reconciles_clean_and_an_unrecorded_payout_is_named,
    test_mode_reconciles_with_the_sandbox_and_the_dashboard_shows_it,
);

/// `ducat reconcile` as its own process on the test's database, banking live with `bank_url`.
fn run_reconcile(app: &TestApp, bank_url: &str, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_ducat"))
        .arg("reconcile")
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", &app.database_url)
        .env("DUCAT_MASTER_KEY", &app.master_key_hex)
        .env("DUCAT_RAIL", "http")
        .env("DUCAT_RAIL_HTTP_URL", bank_url)
        .env("DUCAT_RAIL_HTTP_TOKEN", TOKEN)
        .env("DUCAT_RAIL_HTTP_TIMEOUT_SECS", "2")
        .env("DUCAT_RAIL_HTTP_MAX_ATTEMPTS", "2")
        .env("DUCAT_RAIL_HTTP_RETRY_BACKOFF_MS", "20")
        .env("DUCAT_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("ducat reconcile runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Dispatches until the payout is `successful`, moving ducat's clock past each retry's wait.
async fn settle(app: &TestApp, business: &TestBusiness, reference: &str) {
    for _ in 0..20 {
        app.services.dispatch_payouts().await.unwrap();
        if status(app, business, reference).await == "successful" {
            return;
        }
        app.clock.advance_secs(5);
    }
    panic!("payout {reference} never settled");
}

fn names(mismatches: &[Mismatch]) -> Vec<(String, &'static str)> {
    mismatches
        .iter()
        .map(|m| {
            let kind = match m {
                Mismatch::MissingInLedger { .. } => "missing in ledger",
                Mismatch::MissingAtBank { .. } => "missing at bank",
                Mismatch::Differs { .. } => "differs",
            };
            (m.reference().to_owned(), kind)
        })
        .collect()
}

async fn a_live_day_reconciles_clean_and_an_unrecorded_payout_is_named(engine: Engine) {
    let Some((bank, app, _front)) = network(engine).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;

    // Money in: a wallet funding notified twice, and money for an account ducat does not have.
    let funding = send_inflow(
        &bank,
        &business.ngn_account,
        2_000_000,
        json!({ "duplicate": true }),
    )
    .await;
    let stray = send_inflow(&bank, "0000000019", 70_000, json!({})).await;
    let all = wait_for(&bank, |i: &Value| {
        let wanted = if i["duplicate"] == true { 2 } else { 1 };
        i["deliveries"].as_i64().unwrap_or(0) >= wanted
    })
    .await;
    assert_eq!(all.len(), 2);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(20000), json!(20000))
    );

    // Money out: one plain payout, one whose first answer is lost after the bank applied it,
    // one refused twice with 503 before it goes through.
    let mut paid = Vec::new();
    for faults in [
        &[][..],
        &["drop-after-apply"][..],
        &["error=503", "error=503"][..],
    ] {
        let reference = pending_payout(&app, &business, GOOD_ACCOUNT, 1000).await;
        bank.arm(faults).await;
        settle(&app, &business, &reference).await;
        paid.push(reference);
    }

    // A direct debit the institution processed on its own OTP.
    let debit = requested(&app, &business, WALLET_ACCOUNT, "RECON-1").await;
    let otp = bank_otp(&bank, &debit).await;
    let processed = authorize(&app, &business, &debit, otp).await;
    assert_eq!(processed.status, StatusCode::OK, "{}", processed.text);
    assert_eq!(payment_status(&app, &business, &debit).await, "PROCESSED");

    // funding in, stray in and back out, three transfers, one debit.
    let day = Day::of_ms(SystemClock.now_ms());
    let date = day.to_string();
    let report = app
        .services
        .reconcile(day, RailChoice::Live, None)
        .await
        .unwrap();
    assert!(report.outcome.is_clean(), "{:?}", report.outcome);
    assert_eq!(report.outcome.matched, 7);
    assert_eq!(report.kind_of(&funding), "inflow");
    assert_eq!(report.kind_of(&debit), "debit");
    assert_eq!(report.kind_of(&paid[0]), "transfer");
    let (code, stdout, stderr) = run_reconcile(&app, &bank.url, &["--date", &date]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("clean: 7 movements matched"), "{stdout}");

    // The bank applies a payout and every answer is lost: ducat has not recorded it yet.
    let unrecorded = pending_payout(&app, &business, GOOD_ACCOUNT, 1000).await;
    bank.arm(&["drop-after-apply", "error=503", "error=503"])
        .await;
    app.services.dispatch_payouts().await.unwrap();
    assert_eq!(status(&app, &business, &unrecorded).await, "pending");
    let report = app
        .services
        .reconcile(day, RailChoice::Live, None)
        .await
        .unwrap();
    assert_eq!(
        names(&report.outcome.mismatches),
        [(unrecorded.clone(), "missing in ledger")]
    );
    let (code, stdout, stderr) = run_reconcile(&app, &bank.url, &["--date", &date]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("missing in ledger: {unrecorded} (transfer")),
        "{stdout}"
    );
    let (code, stdout, _) = run_reconcile(&app, &bank.url, &["--date", &date, "--json"]);
    assert_eq!(code, 1);
    let document: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(document["clean"], false);
    assert_eq!(document["mismatches"][0]["reference"], unrecorded.as_str());
    assert_eq!(document["mismatches"][0]["problem"], "missing in ledger");
    assert_eq!(document["mismatches"][0]["kind"], "transfer");
    // The business sees it on its own page too.
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let page = dashboard
        .get(&format!("/dashboard/reconciliation?date={date}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.contains("missing in ledger"), "{}", page.html);
    assert!(page.contains(&unrecorded), "{}", page.html);

    // The dispatcher's status query settles it; the day is clean again.
    settle(&app, &business, &unrecorded).await;
    let (code, stdout, stderr) = run_reconcile(&app, &bank.url, &["--date", &date]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("clean: 8 movements matched"), "{stdout}");
    let page = dashboard
        .get(&format!("/dashboard/reconciliation?date={date}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    // The business's own: funding, four payouts, the debit (not the stray inflow).
    assert!(page.contains("Clean: 6 movements matched"), "{}", page.html);
    assert!(!page.contains(&stray), "{}", page.html);

    // What cannot be reconciled is an error, exit 2.
    let (code, _, stderr) = run_reconcile(&app, &bank.url, &["--date", "2025-02-30"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("YYYY-MM-DD"), "{stderr}");
    let (code, _, stderr) = run_reconcile(&app, "http://127.0.0.1:9", &["--date", &date]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot reconcile"), "{stderr}");

    bank.assert_applied_once(
        &paid
            .iter()
            .chain([&unrecorded])
            .map(|r| (r.as_str(), "successful"))
            .collect::<Vec<_>>(),
    )
    .await;
    app.finish().await;
}

async fn test_mode_reconciles_with_the_sandbox_and_the_dashboard_shows_it(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    app.fund(&business, &business.ngn_account, "10000").await;
    let reference = pending_payout(&app, &business, GOOD_ACCOUNT, 5000).await;
    settle(&app, &business, &reference).await;
    // A payout the sandbox declines moved nothing and is on neither side.
    let declined = pending_payout(&app, &business, "0123456791", 300).await;
    app.services.dispatch_payouts().await.unwrap();
    assert_eq!(status(&app, &business, &declined).await, "failed");

    let day = Day::of_ms(app.clock_now());
    let report = app
        .services
        .reconcile(day, RailChoice::Test, None)
        .await
        .unwrap();
    assert!(report.outcome.is_clean(), "{:?}", report.outcome);
    assert_eq!(report.outcome.matched, 2);
    // The live bank (the sandbox too, by default) sees the same day.
    let live = app
        .services
        .reconcile(day, RailChoice::Live, None)
        .await
        .unwrap();
    assert!(live.outcome.is_clean(), "{:?}", live.outcome);
    // Not today: nothing to match.
    let other = app
        .services
        .reconcile(day.next().next().next(), RailChoice::Test, None)
        .await
        .unwrap();
    assert_eq!((other.outcome.matched, other.outcome.is_clean()), (0, true));

    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let page = dashboard
        .get(&format!("/dashboard/reconciliation?date={day}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.contains("Clean: 2 movements matched"), "{}", page.html);
    assert!(page.contains(&reference), "{}", page.html);
    let today = dashboard.get("/dashboard/reconciliation").await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.html);
    assert!(
        today.contains("Clean: 2 movements matched"),
        "{}",
        today.html
    );
    let bad = dashboard
        .get("/dashboard/reconciliation?date=2025-11-31")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
    assert!(bad.contains("YYYY-MM-DD"), "{}", bad.html);

    // The command line agrees (test mode needs no bank configured).
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ducat"))
        .args(["reconcile", "--mode", "test", "--date", &day.to_string()])
        .current_dir(dir.path())
        .env("DATABASE_URL", &app.database_url)
        .env("DUCAT_MASTER_KEY", &app.master_key_hex)
        .env("DUCAT_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("clean: 2 movements matched"), "{stdout}");
    app.finish().await;
}
