//! The bank over the network: live-mode payouts through the `http` rail against a real
//! `ducat bank-sim` process on loopback, under every fault the bank-sim injects, on both engines.
//! Each test ends with the ledger check and with the bank having applied each reference once.

use crate::bank_support::{align_clock, assert_reconciled_clean};
use crate::both_engines;
use crate::helpers::{spawn_app_with, Answer, Engine, TestApp, TestBusiness};
use ducat::config::{Config, RailProvider};
use ducat::services::inflows::InboundTransfer;
use ducat::store::businesses::Mode;
use ducat_core::banks;
use ducat_core::ids::BusinessId;
use ducat_core::money::Currency;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::BufRead;
use std::time::Duration;

pub(crate) const PHONE: &str = "+2348031234567";
pub(crate) const GOOD_ACCOUNT: &str = "0123456789";
pub(crate) const TOKEN: &str = "bank_token_for_tests";

both_engines!(
    a_payout_crosses_the_network_once,
    server_errors_are_retried_with_the_same_reference,
    an_answer_lost_after_the_bank_applied_is_settled_by_a_status_query,
    an_answer_lost_before_the_bank_applied_is_sent_again_with_the_same_reference,
    a_declined_transfer_fails_and_releases_the_funds,
    a_processing_answer_is_settled_by_status_queries,
    payouts_wait_while_the_bank_is_down_and_drain_when_it_returns,
    the_circuit_breaker_fails_fast_and_recovers,
    an_answer_later_than_the_timeout_is_settled_once_by_a_status_query,
    payouts_under_random_5xx_and_lost_answers_are_each_paid_once,
);

/// A `ducat bank-sim` process on a free loopback port with its own temporary database; killed
/// when dropped.
pub(crate) struct BankSim {
    child: std::process::Child,
    pub(crate) url: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl BankSim {
    pub(crate) fn start() -> BankSim {
        BankSim::start_with(&[])
    }

    /// With extra command-line arguments (`--push-approve-after-ms 200`).
    pub(crate) fn start_with(extra: &[&str]) -> BankSim {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ducat"))
            .args(["bank-sim", "--listen", "127.0.0.1:0", "--token", TOKEN])
            .arg("--database")
            .arg(dir.path().join("bank-sim.db"))
            .args(extra)
            .current_dir(dir.path())
            .env("DUCAT_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("ducat bank-sim starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("bank-sim prints its address");
        let url = line
            .trim()
            .strip_prefix("bank-sim is serving on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        BankSim {
            child,
            url,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub(crate) async fn admin(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("bank-sim answers");
        assert!(response.status().is_success(), "{:?}", response.status());
        response.json().await.expect("JSON")
    }

    /// Faults for the next requests the gateway sends, one each.
    pub(crate) async fn arm(&self, faults: &[&str]) {
        self.admin(
            self.client
                .post(format!("{}/admin/faults", self.url))
                .json(&json!({ "faults": faults })),
        )
        .await;
    }

    pub(crate) async fn down_for(&self, seconds: u64) {
        self.admin(
            self.client
                .post(format!("{}/admin/down", self.url))
                .json(&json!({ "seconds": seconds })),
        )
        .await;
    }

    /// What the bank applied, oldest first.
    pub(crate) async fn transfers(&self) -> Vec<Value> {
        self.admin(self.client.get(format!("{}/admin/transfers", self.url)))
            .await["transfers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// How many `/v1` requests reached the bank.
    pub(crate) async fn requests(&self) -> u64 {
        self.admin(self.client.get(format!("{}/admin/stats", self.url)))
            .await["requests"]
            .as_u64()
            .unwrap()
    }

    /// Asserts that the bank applied exactly these references, each once, with this status.
    pub(crate) async fn assert_applied_once(&self, expected: &[(&str, &str)]) {
        let transfers = self.transfers().await;
        let mut applied: Vec<(String, String)> = transfers
            .iter()
            .map(|t| {
                (
                    t["reference"].as_str().unwrap().to_owned(),
                    t["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        applied.sort();
        let mut expected: Vec<(String, String)> = expected
            .iter()
            .map(|(r, s)| ((*r).to_owned(), (*s).to_owned()))
            .collect();
        expected.sort();
        assert_eq!(applied, expected, "{transfers:?}");
    }
}

impl Drop for BankSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gateway whose live mode banks with `bank` over HTTP, with small timeouts; its clock is
/// moved to the real time, the bank-sim's.
pub(crate) async fn gateway(
    engine: Engine,
    bank: &BankSim,
    tune: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    let url = bank.url.clone();
    let app = spawn_app_with(engine, move |config| {
        config.rail = RailProvider::Http;
        config.rail_http_url = Some(url);
        config.rail_http_token = Some(TOKEN.to_owned());
        config.rail_http_timeout_secs = 2;
        config.rail_http_max_attempts = 3;
        config.rail_http_retry_backoff_ms = 20;
        config.rail_http_breaker_failures = 5;
        config.rail_http_breaker_cooldown_secs = 30;
        tune(config);
    })
    .await?;
    align_clock(&app);
    Some(app)
}

/// A live business whose NGN wallet received `naira` from the bank: the bank-sim records the
/// inflow (it is on its statement) and ducat applies it by its session id (this bank-sim
/// notifies nobody).
pub(crate) async fn funded_live(app: &TestApp, bank: &BankSim, naira: &str) -> TestBusiness {
    let business = app.create_business_in(Mode::Live).await;
    let kobo: i64 = naira.parse::<i64>().expect("whole naira") * 100;
    let notification = bank
        .admin(bank.client.post(format!("{}/admin/inflows", bank.url)).json(
            &json!({"account_number": business.ngn_account, "amount": kobo, "currency": "NGN"}),
        ))
        .await;
    let outcome = app
        .services
        .bank_inbound_transfer(InboundTransfer {
            account_number: business.ngn_account.clone(),
            amount: naira.to_owned(),
            session_id: Some(notification["session_id"].as_str().unwrap().to_owned()),
            source_bank_name: None,
            source_account_number: None,
            source_account_name: None,
            narration: Some("funding".to_owned()),
        })
        .await
        .expect("the inflow applies");
    assert_eq!(outcome.status, "successful");
    business
}

pub(crate) async fn initiate(
    app: &TestApp,
    business: &TestBusiness,
    account: &str,
    naira: i64,
) -> Answer {
    app.post(
        "/v1/wallets/v2/transfer",
        &business.duplo(),
        json!({
            "business_id": business.id,
            "recipient_bank_code": "058",
            "recipient_account_number": account,
            "amount": naira,
            "description": "Supplier payment",
        }),
    )
    .await
}

/// The newest OTP texted to the business (live keys have no sandbox SMS API: read the outbox).
pub(crate) async fn latest_otp(app: &TestApp, business: &TestBusiness) -> String {
    let id = BusinessId::parse(&business.id).unwrap();
    let messages = ducat::store::sms::list(&app.services.store, &id, Some(PHONE), 1)
        .await
        .unwrap();
    let body = &messages.first().expect("an SMS").body;
    body.split_whitespace()
        .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("an OTP in {body:?}"))
        .to_owned()
}

/// Initiates and confirms a payout: it is `pending` with amount + fee held. Returns its reference.
pub(crate) async fn pending_payout(
    app: &TestApp,
    business: &TestBusiness,
    account: &str,
    naira: i64,
) -> String {
    let answer = initiate(app, business, account, naira).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let reference = answer.body["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let otp = latest_otp(app, business).await;
    let processed = app
        .post(
            "/v1/wallets/v2/process-transfer",
            &business.duplo(),
            json!({ "business_id": business.id, "transaction_ref": reference, "otp": otp }),
        )
        .await;
    assert_eq!(processed.status, StatusCode::OK, "{}", processed.text);
    assert_eq!(status(app, business, &reference).await, "pending");
    reference
}

pub(crate) async fn transaction(app: &TestApp, business: &TestBusiness, reference: &str) -> Value {
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
    answer.body["data"].clone()
}

pub(crate) async fn status(app: &TestApp, business: &TestBusiness, reference: &str) -> String {
    transaction(app, business, reference).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_payout_crosses_the_network_once(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    // Name enquiry over the network: unknown accounts are refused, names resolve.
    let unknown = initiate(&app, &business, "0123456700", 5000).await;
    assert!(unknown.status.is_client_error(), "{}", unknown.text);
    let reference = pending_payout(&app, &business, GOOD_ACCOUNT, 5000).await;
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(10000))
    );
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
    let document = transaction(&app, &business, &reference).await;
    assert_eq!(document["status"], "successful");
    assert_eq!(
        document["receiver_details"]["account_name"],
        banks::sandbox_account_name(Currency::Ngn, GOOD_ACCOUNT).as_str()
    );
    let transfers = bank.transfers().await;
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0]["reference"], reference.as_str());
    assert_eq!(transfers[0]["amount"], json!(500_000));
    assert_eq!(transfers[0]["account_number"], GOOD_ACCOUNT);
    assert_eq!(document["session_id"], transfers[0]["session_id"]);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(4985))
    );
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 0);
    bank.assert_applied_once(&[(&reference, "successful")])
        .await;
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn server_errors_are_retried_with_the_same_reference(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    let reference = pending_payout(&app, &business, GOOD_ACCOUNT, 5000).await;
    let before = bank.requests().await;
    bank.arm(&["error=503", "error=502"]).await;
    app.services.dispatch_payouts().await.unwrap();
    assert_eq!(status(&app, &business, &reference).await, "successful");
    // Two refused tries and the third that was applied.
    assert_eq!(bank.requests().await - before, 3);
    bank.assert_applied_once(&[(&reference, "successful")])
        .await;
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(4985))
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn an_answer_lost_after_the_bank_applied_is_settled_by_a_status_query(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    let reference = pending_payout(&app, &business, GOOD_ACCOUNT, 5000).await;
    // Every try (the first applies, the retries find it applied) loses its answer.
    bank.arm(&["drop-after-apply", "drop-after-apply", "drop-after-apply"])
        .await;
    app.services.dispatch_payouts().await.unwrap();
    // The bank paid, ducat does not know yet: pending, money held, never failed.
    assert_eq!(status(&app, &business, &reference).await, "pending");
    bank.assert_applied_once(&[(&reference, "successful")])
        .await;
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(10000))
    );
    // Not due yet; then the status query settles it.
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 0);
    app.clock.advance_secs(5);
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
    assert_eq!(status(&app, &business, &reference).await, "successful");
    bank.assert_applied_once(&[(&reference, "successful")])
        .await;
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(4985))
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn an_answer_lost_before_the_bank_applied_is_sent_again_with_the_same_reference(
    engine: Engine,
) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    let reference = pending_payout(&app, &business, GOOD_ACCOUNT, 5000).await;
    bank.arm(&[
        "drop-before-apply",
        "drop-before-apply",
        "drop-before-apply",
    ])
    .await;
    app.services.dispatch_payouts().await.unwrap();
    assert_eq!(status(&app, &business, &reference).await, "pending");
    assert!(bank.transfers().await.is_empty());
    // The status query: never seen. The payout goes back to the queue, still pending.
    app.clock.advance_secs(5);
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
    assert_eq!(status(&app, &business, &reference).await, "pending");
    assert!(bank.transfers().await.is_empty());
    // Sent again, with the same reference.
    app.clock.advance_secs(10);
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
    assert_eq!(status(&app, &business, &reference).await, "successful");
    bank.assert_applied_once(&[(&reference, "successful")])
        .await;
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(4985))
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn a_declined_transfer_fails_and_releases_the_funds(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    let reference = pending_payout(&app, &business, "0123456791", 2000).await;
    app.services.dispatch_payouts().await.unwrap();
    assert_eq!(status(&app, &business, &reference).await, "failed");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(10000), json!(10000))
    );
    bank.assert_applied_once(&[(&reference, "failed")]).await;
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn a_processing_answer_is_settled_by_status_queries(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    let paid = pending_payout(&app, &business, "0123456792", 2000).await;
    let declined = pending_payout(&app, &business, "0123456793", 2000).await;
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 2);
    assert_eq!(status(&app, &business, &paid).await, "pending");
    assert_eq!(status(&app, &business, &declined).await, "pending");
    app.clock.advance_secs(5);
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 2);
    assert_eq!(status(&app, &business, &paid).await, "successful");
    assert_eq!(status(&app, &business, &declined).await, "failed");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(7988), json!(7988))
    );
    bank.assert_applied_once(&[(&paid, "successful"), (&declined, "failed")])
        .await;
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn payouts_wait_while_the_bank_is_down_and_drain_when_it_returns(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |_| {}).await else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    let mut references = Vec::new();
    for _ in 0..3 {
        references.push(pending_payout(&app, &business, GOOD_ACCOUNT, 2000).await);
    }
    bank.down_for(2).await;
    let went_down = std::time::Instant::now();
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 3);
    for reference in &references {
        assert_eq!(status(&app, &business, reference).await, "pending");
    }
    // Held, not paid, not released.
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(3964), json!(10000))
    );
    assert!(bank.transfers().await.is_empty());
    // Still down: the status queries find nothing out, the payouts keep waiting.
    app.clock.advance_secs(5);
    app.services.dispatch_payouts().await.unwrap();
    for reference in &references {
        assert_eq!(status(&app, &business, reference).await, "pending");
    }
    // The bank is back; the circuit's cool-down passes; the backlog drains.
    tokio::time::sleep(Duration::from_millis(2_200).saturating_sub(went_down.elapsed())).await;
    for _ in 0..6 {
        app.clock.advance_secs(60);
        app.services.dispatch_payouts().await.unwrap();
    }
    for reference in &references {
        assert_eq!(status(&app, &business, reference).await, "successful");
    }
    let expected: Vec<(&str, &str)> = references
        .iter()
        .map(|r| (r.as_str(), "successful"))
        .collect();
    bank.assert_applied_once(&expected).await;
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(3964), json!(3964))
    );
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn the_circuit_breaker_fails_fast_and_recovers(engine: Engine) {
    let bank = BankSim::start();
    let Some(app) = gateway(engine, &bank, |config| {
        config.rail_http_breaker_failures = 2;
        config.rail_http_breaker_cooldown_secs = 30;
    })
    .await
    else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    let reference = pending_payout(&app, &business, GOOD_ACCOUNT, 2000).await;
    let before = bank.requests().await;
    bank.arm(&["error=503", "error=503"]).await;
    app.services.dispatch_payouts().await.unwrap();
    // Two failures opened the circuit: the third try was not sent.
    assert_eq!(bank.requests().await - before, 2);
    assert_eq!(status(&app, &business, &reference).await, "pending");
    // While open, nothing reaches the bank: name enquiries fail fast, status queries too.
    let refused = initiate(&app, &business, GOOD_ACCOUNT, 2000).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text
    );
    app.clock.advance_secs(5);
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
    assert_eq!(status(&app, &business, &reference).await, "pending");
    assert_eq!(bank.requests().await - before, 2);
    assert!(bank.transfers().await.is_empty());
    // After the cool-down one trial goes through, the circuit closes, the payout completes.
    app.clock.advance_secs(30);
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
    assert_eq!(status(&app, &business, &reference).await, "pending");
    app.clock.advance_secs(20);
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
    assert_eq!(status(&app, &business, &reference).await, "successful");
    bank.assert_applied_once(&[(&reference, "successful")])
        .await;
    let accepted = initiate(&app, &business, GOOD_ACCOUNT, 2000).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn an_answer_later_than_the_timeout_is_settled_once_by_a_status_query(engine: Engine) {
    let bank = BankSim::start();
    // One try, one second: the late answer is an unknown outcome, not a retry.
    let Some(app) = gateway(engine, &bank, |config| {
        config.rail_http_timeout_secs = 1;
        config.rail_http_max_attempts = 1;
    })
    .await
    else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    let reference = pending_payout(&app, &business, GOOD_ACCOUNT, 5000).await;
    bank.arm(&["latency=2000ms"]).await;
    let sent = std::time::Instant::now();
    assert_eq!(app.services.dispatch_payouts().await.unwrap(), 1);
    assert!(sent.elapsed() < Duration::from_millis(1_900), "timed out");
    // ducat gave up waiting: unknown, pending, money held, never failed.
    assert_eq!(status(&app, &business, &reference).await, "pending");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(10000))
    );
    // The slow request is applied (or not) at the bank; the status query finds out and the
    // payout is settled, once, whichever it was.
    tokio::time::sleep(Duration::from_millis(2_100).saturating_sub(sent.elapsed())).await;
    settle_all(&app, &business, &[reference.as_str()]).await;
    bank.assert_applied_once(&[(&reference, "successful")])
        .await;
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(4985))
    );
    assert_eq!(payout_events(&app, &business, &reference).await, 1);
    assert_reconciled_clean(&app).await;
    app.finish().await;
}

async fn payouts_under_random_5xx_and_lost_answers_are_each_paid_once(engine: Engine) {
    // Every /v1 request: 30 % answered 503, 20 % applied and its answer lost.
    let bank = BankSim::start_with(&[
        "--fault-rate-5xx",
        "0.3",
        "--fault-rate-drop-after-apply",
        "0.2",
    ]);
    // Enough tries that accounts and name enquiries get through; a breaker that stays shut.
    let Some(app) = gateway(engine, &bank, |config| {
        config.rail_http_max_attempts = 12;
        config.rail_http_retry_backoff_ms = 1;
        config.rail_http_breaker_failures = 1_000;
    })
    .await
    else {
        return;
    };
    let business = funded_live(&app, &bank, "10000").await;
    let mut references = Vec::new();
    for _ in 0..10 {
        references.push(pending_payout(&app, &business, GOOD_ACCOUNT, 500).await);
    }
    let references: Vec<&str> = references.iter().map(String::as_str).collect();
    settle_all(&app, &business, &references).await;
    let expected: Vec<(&str, &str)> = references.iter().map(|r| (*r, "successful")).collect();
    bank.assert_applied_once(&expected).await;
    // 10 000 less ten of 500 + 10.50 fee.
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4895), json!(4895))
    );
    for reference in &references {
        assert_eq!(payout_events(&app, &business, reference).await, 1);
    }
    let report = assert_reconciled_clean(&app).await;
    assert_eq!(report.outcome.matched, 11);
    app.finish().await;
}

/// Dispatches, moving ducat's clock past each wait, until every payout is `successful`.
pub(crate) async fn settle_all(app: &TestApp, business: &TestBusiness, references: &[&str]) {
    for _ in 0..40 {
        app.services.dispatch_payouts().await.unwrap();
        let mut open = Vec::new();
        for reference in references {
            let now = status(app, business, reference).await;
            assert_ne!(now, "failed", "{reference} failed");
            if now != "successful" {
                open.push(*reference);
            }
        }
        if open.is_empty() {
            return;
        }
        app.clock.advance_secs(30);
    }
    panic!("payouts never settled");
}

/// How many times the payout was announced `successful`.
async fn payout_events(app: &TestApp, business: &TestBusiness, reference: &str) -> usize {
    ducat::store::events::for_transaction(
        &app.services.store,
        &BusinessId::parse(&business.id).unwrap(),
        reference,
    )
    .await
    .unwrap()
    .iter()
    .filter(|e| e.event_type == "PAYOUT_SUCCESSFUL")
    .count()
}

/// The bank-sim itself, spoken to directly: authentication, per-request fault headers,
/// one application per reference, 409 for a reference reused with another body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bank_sim_speaks_the_protocol_and_injects_faults() {
    let bank = BankSim::start();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", bank.url);
    let transfer = json!({
        "reference": "tran_direct_1", "currency": "NGN", "bank_code": "058",
        "account_number": GOOD_ACCOUNT, "account_name": "Someone", "amount": 12_345,
        "narration": "test",
    });
    let unauthenticated = client
        .post(url("/v1/transfers"))
        .json(&transfer)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let body: Value = unauthenticated.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    let enquiry = client
        .post(url("/v1/name-enquiry"))
        .bearer_auth(TOKEN)
        .json(&json!({"currency": "NGN", "bank_code": "058", "account_number": "0123456700"}))
        .send()
        .await
        .unwrap();
    assert_eq!(enquiry.status(), StatusCode::NOT_FOUND);
    let resolved: Value = client
        .post(url("/v1/name-enquiry"))
        .bearer_auth(TOKEN)
        .json(&json!({"currency": "NGN", "bank_code": "058", "account_number": GOOD_ACCOUNT}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        resolved["account_name"],
        banks::sandbox_account_name(Currency::Ngn, GOOD_ACCOUNT).as_str()
    );

    let injected = client
        .post(url("/v1/transfers"))
        .bearer_auth(TOKEN)
        .header("X-Bank-Sim-Fault", "error=503")
        .json(&transfer)
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(bank.transfers().await.is_empty());

    let never_seen = client
        .get(url("/v1/transfers/tran_direct_1"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(never_seen.status(), StatusCode::NOT_FOUND);

    // A dropped answer is a transport error, not an HTTP status; the transfer was applied.
    let dropped = client
        .post(url("/v1/transfers"))
        .bearer_auth(TOKEN)
        .header("X-Bank-Sim-Fault", "latency=50ms,drop-after-apply")
        .json(&transfer)
        .send()
        .await;
    assert!(dropped.is_err(), "{dropped:?}");
    let status: Value = client
        .get(url("/v1/transfers/tran_direct_1"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "successful");
    // The same request again: the first result, nothing moves twice.
    let again: Value = client
        .post(url("/v1/transfers"))
        .bearer_auth(TOKEN)
        .json(&transfer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, status);
    let mut other = transfer.clone();
    other["amount"] = json!(99_999);
    let conflict = client
        .post(url("/v1/transfers"))
        .bearer_auth(TOKEN)
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    bank.assert_applied_once(&[("tran_direct_1", "successful")])
        .await;

    let bad_fault = client
        .get(url("/v1/transfers/tran_direct_1"))
        .bearer_auth(TOKEN)
        .header("X-Bank-Sim-Fault", "explode")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_fault.status(), StatusCode::BAD_REQUEST);
}
