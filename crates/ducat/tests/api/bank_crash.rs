//! The worst moment to die: `ducat serve` is killed after the bank applied a payout's transfer
//! but before ducat heard the answer. Restarted on the same database, it must find out what
//! happened and end the payout `successful` exactly once, the bank having paid it once.

use crate::bank_network::{
    funded_live, gateway, pending_payout, status, BankSim, GOOD_ACCOUNT, TOKEN,
};
use crate::both_engines;
use crate::helpers::{Engine, TestApp};
use ducat::clock::{Clock, SystemClock};
use ducat_core::ids::BusinessId;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

both_engines!(a_payout_survives_a_crash_between_the_bank_applying_it_and_ducat_hearing_so);

/// `ducat serve` as its own process on the test's database and master key, banking live
/// payouts with `bank`; killed (SIGKILL, no goodbye) when dropped.
struct Gateway(Child);

impl Gateway {
    fn start(app: &TestApp, bank: &BankSim, dir: &std::path::Path) -> Gateway {
        let child = Command::new(env!("CARGO_BIN_EXE_ducat"))
            .arg("serve")
            .current_dir(dir)
            .env("DATABASE_URL", &app.database_url)
            .env("DUCAT_MASTER_KEY", &app.master_key_hex)
            .env("DUCAT_LISTEN", "127.0.0.1:0")
            .env("DUCAT_RAIL", "http")
            .env("DUCAT_RAIL_HTTP_URL", &bank.url)
            .env("DUCAT_RAIL_HTTP_TOKEN", TOKEN)
            .env("DUCAT_RAIL_HTTP_TIMEOUT_SECS", "2")
            .env("DUCAT_RAIL_HTTP_MAX_ATTEMPTS", "3")
            .env("DUCAT_RAIL_HTTP_RETRY_BACKOFF_MS", "20")
            .env("DUCAT_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ducat serve starts");
        Gateway(child)
    }

    fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn a_payout_survives_a_crash_between_the_bank_applying_it_and_ducat_hearing_so(
    engine: Engine,
) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let business = funded_live(&app, &bank, "10000").await;
    let reference = pending_payout(&app, &business, GOOD_ACCOUNT, 5000).await;

    // The bank will apply the next transfer and then sit on its answer for half a minute.
    bank.arm(&["hang-after-apply=30000ms"]).await;
    let first = Gateway::start(&app, &bank, dir.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let applied = bank.transfers().await;
        if applied.iter().any(|t| t["reference"] == reference.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway never sent the payout"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();

    // The bank paid; ducat never heard it, and says so: still pending, the money still held.
    assert_eq!(status(&app, &business, &reference).await, "pending");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(10000))
    );
    bank.assert_applied_once(&[(&reference, "successful")])
        .await;

    // Restarted, it takes the payout up again once the dead node's claim has lapsed, sends the
    // same reference (the bank answers with what it did the first time) and settles it.
    let second = Gateway::start(&app, &bank, dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    while status(&app, &business, &reference).await != "successful" {
        assert!(
            Instant::now() < deadline,
            "the restarted gateway did not settle the payout"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    second.kill();

    bank.assert_applied_once(&[(&reference, "successful")])
        .await;
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(4985))
    );
    let events = ducat::store::events::for_transaction(
        &app.services.store,
        &BusinessId::parse(&business.id).unwrap(),
        &reference,
    )
    .await
    .unwrap();
    let successful = events
        .iter()
        .filter(|e| e.event_type == "PAYOUT_SUCCESSFUL")
        .count();
    assert_eq!(successful, 1, "{events:?}");
    // The bank's statement of the day and the ledger agree: the funding in, the payout out once.
    let day = ducat_core::reconcile::Day::of_ms(SystemClock.now_ms());
    let report = app
        .services
        .reconcile(day, ducat::services::reconcile::RailChoice::Live, None)
        .await
        .expect("the bank's statement is read");
    assert!(report.outcome.is_clean(), "{:?}", report.outcome);
    assert_eq!(report.outcome.matched, 2);
    app.finish().await;
}
