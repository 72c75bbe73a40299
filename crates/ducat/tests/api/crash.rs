//! Crash safety under load: `ducat serve` runs as its own process while eight clients drive
//! wallet inflows, OTP-confirmed payouts and Beqelal direct payments through HTTP; it is
//! SIGKILLed at random moments and restarted each time on the same database and port. Whatever
//! it acknowledged must be there once, settled, with its events; nothing may be applied twice;
//! the ledger must balance.
//!
//! `DUCAT_CRASH_KILLS` sets the number of kills (default 4, the full run uses 50);
//! `DUCAT_CRASH_SEED` replays the kill timings of a printed seed.

use crate::both_engines;
use crate::helpers::{drop_postgres_database, fresh_postgres_database, Engine};
use crate::webhooks::{Receiver, ReceiverState};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

both_engines!(serve_killed_at_random_under_load_loses_nothing_and_repeats_nothing);

const OTP_PHONE: &str = "+2348030000001";
/// A sandbox account the bank pays normally (no magic ending), at a known bank.
const RECIPIENT_ACCOUNT: &str = "0123456789";
const RECIPIENT_BANK: &str = "058";
/// Kacha DFS: an OTP-authorized Ethiopian wallet whose account number is the customer's phone.
const KACHA: u64 = 404050;
const FUNDING_NAIRA: i64 = 10_000_000;
const CLIENTS: usize = 8;

/// `ducat serve` as a child process on a fixed port, restartable on the same database.
pub(crate) struct Serve {
    dir: PathBuf,
    database_url: String,
    master_key: String,
    port: u16,
    pub(crate) base: String,
    child: Option<Child>,
    starts: u32,
    /// Settings beyond the ones every start sets.
    pub(crate) env: Vec<(&'static str, String)>,
}

impl Serve {
    pub(crate) fn new(dir: &Path, database_url: &str, master_key: &str) -> Serve {
        // A free port, chosen once: every restart listens where the clients already point.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        Serve {
            dir: dir.to_path_buf(),
            database_url: database_url.to_owned(),
            master_key: master_key.to_owned(),
            port,
            base: format!("http://127.0.0.1:{port}"),
            child: None,
            starts: 0,
            env: Vec::new(),
        }
    }

    fn log(&self, name: &str) -> std::fs::File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(name))
            .expect("a log file")
    }

    /// Starts the server and waits until `/healthz` answers 200.
    pub(crate) async fn start(&mut self, client: &reqwest::Client) {
        assert!(self.child.is_none(), "already running");
        self.starts += 1;
        let child = Command::new(env!("CARGO_BIN_EXE_ducat"))
            .arg("serve")
            .current_dir(&self.dir)
            .env("DATABASE_URL", &self.database_url)
            .env("DUCAT_MASTER_KEY", &self.master_key)
            .env("DUCAT_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("DUCAT_RUN_WORKERS", "true")
            .env("DUCAT_LOG", "warn")
            // The test's webhook receiver listens on loopback.
            .env("DUCAT_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
            // The payout dispatcher's lease is derived from the bank-adapter timeouts (unused by
            // the in-process sandbox rail): these make it the 10 s floor rather than 35.6 s, so
            // a payout leased by a killed process is taken up again soon.
            .env("DUCAT_RAIL_HTTP_TIMEOUT_SECS", "1")
            .env("DUCAT_RAIL_HTTP_MAX_ATTEMPTS", "1")
            .envs(self.env.iter().map(|(name, value)| (*name, value.as_str())))
            .stdin(Stdio::null())
            .stdout(self.log("serve.stdout.log"))
            .stderr(self.log("serve.stderr.log"))
            .spawn()
            .expect("ducat serve starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(answer) = client.get(format!("{}/healthz", self.base)).send().await {
                if answer.status() == reqwest::StatusCode::OK {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                self.fail(&format!(
                    "ducat serve (start {}) exited with {status} before serving",
                    self.starts
                ));
            }
            if Instant::now() > deadline {
                self.fail(&format!(
                    "ducat serve (start {}) did not answer /healthz within 60 s",
                    self.starts
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL: no goodbye, no drain, nothing flushed.
    fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL is sent");
        child.wait().expect("the killed server is reaped");
    }

    /// SIGTERM, as an operator stops it; it must exit cleanly.
    pub(crate) fn terminate(&mut self) {
        let mut child = self.child.take().expect("running");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                if !status.success() {
                    self.fail(&format!("ducat serve exited with {status} after SIGTERM"));
                }
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.fail("ducat serve did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn tails(&self) -> String {
        ["serve.stdout.log", "serve.stderr.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "--- {name} (last 30 lines)\n{}",
                    lines[lines.len().saturating_sub(30)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The warning and error lines every start logged (each cut to 300 characters).
    pub(crate) fn warnings(&self) -> Vec<String> {
        ["serve.stdout.log", "serve.stderr.log"]
            .iter()
            .flat_map(|name| {
                std::fs::read_to_string(self.dir.join(name))
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                    .map(|l| l.chars().take(300).collect())
                    .collect::<Vec<String>>()
            })
            .collect()
    }

    fn fail(&self, message: &str) -> ! {
        panic!("{message}\n{}", self.tails())
    }

    /// `ducat ARGS…` against the same database and master key.
    pub(crate) fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ducat"))
            .args(args)
            .current_dir(&self.dir)
            .env("DATABASE_URL", &self.database_url)
            .env("DUCAT_MASTER_KEY", &self.master_key)
            .env("DUCAT_LOG", "warn")
            .output()
            .expect("ducat runs")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[derive(Debug, Clone)]
struct Business {
    id: String,
    secret_key: String,
    app_id: String,
    api_key: String,
    ngn_wallet: String,
    ngn_account: String,
}

/// What the server answered with success: only these are promised.
#[derive(Default)]
struct Acknowledged {
    /// (transaction_ref, session_id, amount in kobo)
    inflows: Vec<(String, String, i64)>,
    /// (transaction_ref, amount in kobo): process-transfer answered 200.
    payouts: Vec<(String, i64)>,
    /// (reference, trace_number, amount in santim): authorize answered PROCESSED.
    direct_payments: Vec<(String, String, i64)>,
}

#[derive(Default)]
struct Counters {
    attempts: [AtomicU64; 3],
    failures: [AtomicU64; 3],
    /// Failures that were answers (not a refused, reset or timed-out connection), with the
    /// first few for the report: with the server up, a flow should not fail.
    answered: [AtomicU64; 3],
    samples: Mutex<Vec<String>>,
}

/// The prefix of a failure that never got an answer (the server was down or died mid-call).
const TRANSPORT: &str = "transport: ";

struct Load {
    base: String,
    client: reqwest::Client,
    business: Business,
    stop: AtomicBool,
    next: AtomicU64,
    acknowledged: Mutex<Acknowledged>,
    counters: Counters,
}

const KINDS: [&str; 3] = ["inflows", "payouts", "direct payments"];

impl Load {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        beqelal: bool,
        body: Option<Value>,
    ) -> Result<(reqwest::StatusCode, Value), String> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        request = if beqelal {
            request
                .header("app-id", &self.business.app_id)
                .header("api-key", &self.business.api_key)
        } else {
            request.bearer_auth(&self.business.secret_key)
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| format!("{TRANSPORT}{path}: {e}"))?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|e| format!("{TRANSPORT}{path}: {e}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    async fn post(&self, path: &str, beqelal: bool, body: Value) -> Result<(u16, Value), String> {
        self.send(reqwest::Method::POST, path, beqelal, Some(body))
            .await
            .map(|(s, b)| (s.as_u16(), b))
    }

    async fn get(&self, path: &str) -> Result<(u16, Value), String> {
        self.send(reqwest::Method::GET, path, false, None)
            .await
            .map(|(s, b)| (s.as_u16(), b))
    }

    /// A transfer into the wallet's funding account through the sandbox bank.
    async fn inflow(&self, n: u64) -> Result<(), String> {
        // Distinct amounts: a second application of one transfer would show as a repeat.
        let naira = 1_000 + n as i64;
        let (status, body) = self
            .post(
                "/sandbox/v1/bank/transfers",
                false,
                json!({ "account_number": self.business.ngn_account, "amount": naira }),
            )
            .await?;
        if status != 200 || body["data"]["status"] != "successful" {
            return Err(format!("inflow answered {status}: {body}"));
        }
        let transaction_ref = body["data"]["transaction_ref"]
            .as_str()
            .ok_or_else(|| format!("inflow without transaction_ref: {body}"))?;
        let session_id = body["data"]["session_id"]
            .as_str()
            .ok_or_else(|| format!("inflow without session_id: {body}"))?;
        self.acknowledged.lock().unwrap().inflows.push((
            transaction_ref.to_owned(),
            session_id.to_owned(),
            naira * 100,
        ));
        Ok(())
    }

    /// Initiate (v2), read the OTP texted to the business's OTP phone, process.
    async fn payout(&self, n: u64) -> Result<(), String> {
        let naira = 200 + n as i64;
        let (status, initiated) = self
            .post(
                "/v1/wallets/v2/transfer",
                false,
                json!({
                    "business_id": self.business.id,
                    "recipient_bank_code": RECIPIENT_BANK,
                    "recipient_account_number": RECIPIENT_ACCOUNT,
                    "amount": naira,
                    "description": "Crash payout",
                }),
            )
            .await?;
        let reference = initiated["data"]["transaction_ref"]
            .as_str()
            .filter(|_| status == 200)
            .ok_or_else(|| format!("initiate answered {status}: {initiated}"))?
            .to_owned();
        let sms_path = format!(
            "/sandbox/v1/sms?phone={}&limit=20",
            OTP_PHONE.replace('+', "%2B")
        );
        let (_, sms) = self.get(&sms_path).await?;
        let otp = sms["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["body"].as_str())
            .find(|body| body.contains(&reference))
            .and_then(otp_in)
            .ok_or_else(|| format!("no OTP for {reference} among the newest SMS: {sms}"))?
            .to_owned();
        let (status, processed) = self
            .post(
                "/v1/wallets/v2/process-transfer",
                false,
                json!({ "business_id": self.business.id, "transaction_ref": reference, "otp": otp }),
            )
            .await?;
        if status != 200 {
            return Err(format!(
                "process {reference} answered {status}: {processed}"
            ));
        }
        self.acknowledged
            .lock()
            .unwrap()
            .payouts
            .push((reference, naira * 100));
        Ok(())
    }

    /// Request from a Kacha wallet, read the institution's OTP to the customer, authorize.
    async fn direct_payment(&self, n: u64) -> Result<(), String> {
        let account = customer_account(n);
        let birr = 100 + n as i64;
        let trace = format!("crash-{n}");
        let (status, requested) = self
            .post(
                "/api/v1/payment/request",
                true,
                json!({ "bank": KACHA, "account": account, "amount": birr, "trace_number": trace, "reason": "Crash deposit" }),
            )
            .await?;
        let reference = requested["id"]
            .as_str()
            .filter(|_| status == 200)
            .ok_or_else(|| format!("request answered {status}: {requested}"))?
            .to_owned();
        let (_, sms) = self
            .get(&format!("/sandbox/v1/sms?phone=%2B{account}&limit=1"))
            .await?;
        let otp: u32 = sms["data"][0]["body"]
            .as_str()
            .and_then(otp_in)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("no OTP texted to +{account}: {sms}"))?;
        let (status, authorized) = self
            .post(
                "/api/v1/payment/authorize",
                true,
                json!({ "reference": reference, "otp": otp }),
            )
            .await?;
        if status != 200 || authorized["status"] != "PROCESSED" {
            return Err(format!(
                "authorize {reference} answered {status}: {authorized}"
            ));
        }
        self.acknowledged
            .lock()
            .unwrap()
            .direct_payments
            .push((reference, trace, birr * 100));
        Ok(())
    }

    /// One client: flows one after another until told to stop; a failure (the server is down,
    /// or died mid-flow) is expected and followed by the next flow after a short pause.
    async fn client(self: Arc<Self>) {
        while !self.stop.load(Ordering::SeqCst) {
            let n = self.next.fetch_add(1, Ordering::SeqCst);
            let kind = (n % 3) as usize;
            self.counters.attempts[kind].fetch_add(1, Ordering::Relaxed);
            let outcome = match kind {
                0 => self.inflow(n).await,
                1 => self.payout(n).await,
                _ => self.direct_payment(n).await,
            };
            if let Err(error) = outcome {
                self.counters.failures[kind].fetch_add(1, Ordering::Relaxed);
                if !error.starts_with(TRANSPORT) {
                    self.counters.answered[kind].fetch_add(1, Ordering::Relaxed);
                    let mut samples = self.counters.samples.lock().unwrap();
                    if samples.len() < 5 {
                        samples.push(error.chars().take(400).collect());
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn otp_in(message: &str) -> Option<&str> {
    message
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_digit()))
        .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
}

/// A distinct Kacha account (`2519` and eight digits) for flow `n`, never ending in one of the
/// sandbox's magic endings (00 and 91-93 provoke failures).
fn customer_account(n: u64) -> String {
    let ending = n % 96;
    let ending = if ending < 90 { ending + 1 } else { ending + 4 };
    format!("2519{:06}{ending:02}", (n / 96) % 1_000_000)
}

async fn serve_killed_at_random_under_load_loses_nothing_and_repeats_nothing(engine: Engine) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (database_url, postgres_database) = match engine {
        Engine::Sqlite => (
            format!("sqlite://{}", dir.path().join("ducat.db").display()),
            None,
        ),
        Engine::Postgres => match fresh_postgres_database().await {
            Some((url, name)) => (url, Some(name)),
            None => {
                println!("crash test on PostgreSQL skipped: no server to create a database on");
                return;
            }
        },
    };
    let kills: u32 = std::env::var("DUCAT_CRASH_KILLS")
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .expect("DUCAT_CRASH_KILLS is a whole number")
        })
        .unwrap_or(4);
    let seed: u64 = std::env::var("DUCAT_CRASH_SEED")
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .expect("DUCAT_CRASH_SEED is a whole number")
        })
        .unwrap_or_else(rand::random);
    println!(
        "crash test ({engine:?}): {kills} kills, seed {seed} (DUCAT_CRASH_SEED={seed} replays it)"
    );
    let started = Instant::now();
    let master_key = hex::encode(rand::random::<[u8; 32]>());
    let mut serve = Serve::new(dir.path(), &database_url, &master_key);

    // 1. The business, made with the command line before anything serves.
    let created = serve.cli(&[
        "business",
        "create",
        "--name",
        "Crash",
        "--otp-phone",
        OTP_PHONE,
        "--json",
    ]);
    assert!(
        created.status.success(),
        "business create: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: Value = serde_json::from_slice(&created.stdout).expect("JSON on stdout");
    let ngn = created["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["currency"] == "NGN")
        .expect("an NGN wallet")
        .clone();
    let field = |value: &Value, key: &str| value[key].as_str().unwrap().to_owned();
    let business = Business {
        id: field(&created, "business_id"),
        secret_key: field(&created, "secret_key"),
        app_id: field(&created, "app_id"),
        api_key: field(&created, "api_key"),
        ngn_wallet: field(&ngn, "wallet_ref"),
        ngn_account: field(&ngn, "account_number"),
    };
    // Every event goes to a receiver in this process, so deliveries are killed mid-way too.
    let receiver = Receiver::start(ReceiverState::default()).await;
    let hook = receiver.url("/hook");
    let set = serve.cli(&["business", "set", &business.id, "--webhook-url", &hook]);
    assert!(
        set.status.success(),
        "business set --webhook-url: {}",
        String::from_utf8_lossy(&set.stderr)
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    serve.start(&client).await;

    let load = Arc::new(Load {
        base: serve.base.clone(),
        client: client.clone(),
        business: business.clone(),
        stop: AtomicBool::new(false),
        next: AtomicU64::new(0),
        acknowledged: Mutex::new(Acknowledged::default()),
        counters: Counters::default(),
    });
    let (status, funded) = load
        .post(
            "/sandbox/v1/bank/transfers",
            false,
            json!({ "account_number": business.ngn_account, "amount": FUNDING_NAIRA }),
        )
        .await
        .expect("the funding is answered");
    assert_eq!(status, 200, "{funded}");
    assert_eq!(funded["data"]["status"], "successful", "{funded}");
    load.acknowledged.lock().unwrap().inflows.push((
        funded["data"]["transaction_ref"]
            .as_str()
            .unwrap()
            .to_owned(),
        funded["data"]["session_id"].as_str().unwrap().to_owned(),
        FUNDING_NAIRA * 100,
    ));

    // 2. The load.
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(load.clone().client()))
        .collect();

    // 3. The killer.
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..kills {
        let pause = rng.gen_range(150..=900);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        serve.kill();
        serve.start(&client).await;
    }
    // A last stretch of load on the final process, so its own work is checked too.
    tokio::time::sleep(Duration::from_millis(rng.gen_range(150..=900))).await;

    // 4. Stop the load, let the dispatcher send every queued payout, stop the server.
    load.stop.store(true, Ordering::SeqCst);
    for task in clients {
        task.await.expect("a client task ends cleanly");
    }
    let load_ended = started.elapsed();
    let pending_path = format!(
        "/v1/wallets/transactions?business_id={}&status=pending&limit=1",
        business.id
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, page) = load.get(&pending_path).await.unwrap_or_else(|e| {
            serve.fail(&format!("listing pending payouts: {e}"));
        });
        assert_eq!(status, 200, "{page}");
        let pending = page["data"]["pagination"]["total"]
            .as_i64()
            .unwrap_or_else(|| serve.fail(&format!("no pagination.total in {page}")));
        if pending == 0 {
            break;
        }
        if Instant::now() > deadline {
            serve.fail(&format!(
                "{pending} payouts still pending 60 s after the load stopped: {page}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let settled_after = started.elapsed() - load_ended;
    // Each acknowledged payout, as the API shows it.
    let acknowledged = std::mem::take(&mut *load.acknowledged.lock().unwrap());
    for (reference, _) in &acknowledged.payouts {
        let (status, answer) = load
            .get(&format!(
                "/v1/wallets/transactions/{reference}?business_id={}",
                business.id
            ))
            .await
            .unwrap();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["data"]["status"], "successful",
            "acknowledged payout {reference}: {answer}"
        );
    }
    serve.terminate();

    // 5. The database, read directly now that nothing writes.
    sqlx::any::install_default_drivers();
    let db = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .expect("the database opens");
    let mut broken: Vec<String> = Vec::new();

    // Every transaction of the business, by reference.
    let rows = sqlx::query(
        "SELECT transaction_ref, type, category, status, amount, fee_amount, settled_amount, session_id, provider_ref_id
         FROM transactions WHERE business_id = $1",
    )
    .bind(&business.id)
    .fetch_all(&db)
    .await
    .unwrap();
    struct Tx {
        kind: String,
        category: String,
        status: String,
        amount: i64,
        fee: i64,
        settled: i64,
        session_id: Option<String>,
        provider_ref: Option<String>,
    }
    let transactions: HashMap<String, Tx> = rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("transaction_ref"),
                Tx {
                    kind: r.get("type"),
                    category: r.get("category"),
                    status: r.get("status"),
                    amount: r.get("amount"),
                    fee: r.get("fee_amount"),
                    settled: r.get("settled_amount"),
                    session_id: r.get("session_id"),
                    provider_ref: r.get("provider_ref_id"),
                },
            )
        })
        .collect();

    // Inflows: each acknowledged one once, successful, its amount; no amount applied twice.
    let inbound: HashMap<String, (String, i64, Option<String>)> = sqlx::query(
        "SELECT session_id, outcome, amount, transaction_ref FROM inbound_transfers WHERE business_id = $1",
    )
    .bind(&business.id)
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get::<String, _>("session_id"),
            (r.get("outcome"), r.get("amount"), r.get("transaction_ref")),
        )
    })
    .collect();
    for (reference, session_id, amount) in &acknowledged.inflows {
        match transactions.get(reference) {
            Some(tx)
                if tx.status == "successful"
                    && tx.kind == "credit"
                    && tx.amount == *amount
                    && tx.session_id.as_deref() == Some(session_id.as_str()) => {}
            Some(tx) => broken.push(format!(
                "inflow {reference}: {} {} {} {} session {:?}, acknowledged {amount} session {session_id}",
                tx.kind, tx.category, tx.status, tx.amount, tx.session_id
            )),
            None => broken.push(format!("acknowledged inflow {reference} ({amount}) is lost")),
        }
        match inbound.get(session_id) {
            Some((outcome, got, Some(tx)))
                if outcome == "credited" && got == amount && tx == reference => {}
            other => broken.push(format!(
                "inbound transfer {session_id} of {reference}: {other:?}"
            )),
        }
    }
    let inflow_rows: Vec<&Tx> = transactions
        .values()
        .filter(|t| t.category == "wallet_funding")
        .collect();
    let mut by_amount: HashMap<i64, usize> = HashMap::new();
    for tx in &inflow_rows {
        *by_amount.entry(tx.amount).or_default() += 1;
    }
    for (amount, count) in &by_amount {
        if *count > 1 {
            broken.push(format!(
                "an inflow of {amount} kobo was applied {count} times"
            ));
        }
    }
    if inflow_rows.len() != inbound.len() {
        broken.push(format!(
            "{} wallet-funding transactions but {} inbound transfers",
            inflow_rows.len(),
            inbound.len()
        ));
    }

    // Payouts: each acknowledged one successful, once; the sandbox bank paid each once.
    let bank: HashMap<String, (String, i64)> = sqlx::query(
        "SELECT reference, outcome, amount FROM sandbox_transfers WHERE reference NOT LIKE 'debit:%'",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get::<String, _>("reference"),
            (r.get("outcome"), r.get("amount")),
        )
    })
    .collect();
    let payout_rows: HashMap<&String, &Tx> = transactions
        .iter()
        .filter(|(_, t)| t.category == "bank_transfer")
        .collect();
    for (reference, amount) in &acknowledged.payouts {
        match payout_rows.get(reference) {
            Some(tx) if tx.status == "successful" && tx.amount == *amount => {}
            Some(tx) => broken.push(format!(
                "acknowledged payout {reference} of {amount}: {} {}",
                tx.status, tx.amount
            )),
            None => broken.push(format!("acknowledged payout {reference} is lost")),
        }
        match bank.get(reference) {
            Some((outcome, got)) if outcome == "successful" && got == amount => {}
            other => broken.push(format!(
                "the bank's record of acknowledged payout {reference}: {other:?}"
            )),
        }
    }
    let mut payout_amounts: HashMap<i64, usize> = HashMap::new();
    let mut status_counts: HashMap<&str, usize> = HashMap::new();
    for (reference, tx) in &payout_rows {
        *payout_amounts.entry(tx.amount).or_default() += 1;
        *status_counts.entry(tx.status.as_str()).or_default() += 1;
        let sent = bank.get(*reference);
        match (tx.status.as_str(), sent) {
            ("successful", Some((outcome, got)))
                if outcome == "successful" && *got == tx.amount => {}
            ("awaiting_otp_verification", None) => {}
            (status, sent) => broken.push(format!(
                "payout {reference} ({} kobo) is {status} and the bank has {sent:?}",
                tx.amount
            )),
        }
    }
    for (amount, count) in &payout_amounts {
        if *count > 1 {
            broken.push(format!("a payout of {amount} kobo exists {count} times"));
        }
    }
    for reference in bank.keys() {
        if !payout_rows.contains_key(reference) {
            broken.push(format!("the bank paid {reference}, which is no payout"));
        }
    }

    // Direct payments: each acknowledged one PROCESSED once, credited once.
    let direct: HashMap<String, (String, String, i64, Option<String>)> = sqlx::query(
        "SELECT reference, trace_number, status, amount, transaction_ref FROM direct_payments WHERE business_id = $1",
    )
    .bind(&business.id)
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get::<String, _>("reference"),
            (
                r.get("trace_number"),
                r.get("status"),
                r.get("amount"),
                r.get("transaction_ref"),
            ),
        )
    })
    .collect();
    let debits: HashSet<String> =
        sqlx::query("SELECT reference FROM sandbox_transfers WHERE reference LIKE 'debit:%'")
            .fetch_all(&db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("reference"))
            .collect();
    for (reference, trace, amount) in &acknowledged.direct_payments {
        match direct.get(reference) {
            Some((t, status, got, Some(_)))
                if t == trace && status == "PROCESSED" && got == amount => {}
            other => broken.push(format!(
                "acknowledged direct payment {reference} ({trace}, {amount}): {other:?}"
            )),
        }
    }
    let mut credits_by_payment: HashMap<&str, usize> = HashMap::new();
    for tx in transactions
        .values()
        .filter(|t| t.category == "direct_payment")
    {
        *credits_by_payment
            .entry(tx.provider_ref.as_deref().unwrap_or("?"))
            .or_default() += 1;
    }
    for (reference, (trace, status, amount, credit)) in &direct {
        let credits = credits_by_payment
            .get(reference.as_str())
            .copied()
            .unwrap_or(0);
        let debited = debits.contains(&format!("debit:{reference}"));
        let expected = usize::from(status == "PROCESSED");
        let credit_ok = match credit {
            Some(credit) => transactions
                .get(credit)
                .is_some_and(|t| t.status == "successful" && t.amount == *amount),
            None => status != "PROCESSED",
        };
        if credits != expected || debited != (status == "PROCESSED") || !credit_ok {
            broken.push(format!(
                "direct payment {reference} ({trace}) is {status}: {credits} credits, debited {debited}, credit {credit:?}"
            ));
        }
    }

    // Events: well-formed, one of each kind per transaction, none missing.
    let event_rows = sqlx::query(
        "SELECT event_type, transaction_ref, payload FROM events WHERE business_id = $1",
    )
    .bind(&business.id)
    .fetch_all(&db)
    .await
    .unwrap();
    let mut events: HashMap<(String, String), usize> = HashMap::new();
    for row in &event_rows {
        let event_type: String = row.get("event_type");
        let reference: Option<String> = row.get("transaction_ref");
        let payload: String = row.get("payload");
        if !serde_json::from_str::<Value>(&payload).is_ok_and(|v| v.is_object()) {
            broken.push(format!(
                "event {event_type} of {reference:?} is not a JSON object: {payload}"
            ));
        }
        *events
            .entry((event_type, reference.unwrap_or_default()))
            .or_default() += 1;
    }
    for ((event_type, reference), count) in &events {
        if *count != 1 {
            broken.push(format!(
                "{event_type} for {reference} appended {count} times"
            ));
        }
    }
    let has = |event_type: &str, reference: &str| {
        events.contains_key(&(event_type.to_owned(), reference.to_owned()))
    };
    for (reference, tx) in &transactions {
        let needed: &[&str] = match (tx.category.as_str(), tx.status.as_str()) {
            ("wallet_funding", _) => &["ACCOUNT_INFLOW"],
            ("bank_transfer", "successful") => &["PAYOUT_PENDING", "PAYOUT_SUCCESSFUL"],
            _ => &[],
        };
        for event_type in needed {
            if !has(event_type, reference) {
                broken.push(format!("{event_type} for {reference} is missing"));
            }
        }
    }
    for (reference, (_, status, _, _)) in &direct {
        if status == "PROCESSED" && !has("DIRECT_PAYMENT_PROCESSED", reference) {
            broken.push(format!(
                "DIRECT_PAYMENT_PROCESSED for {reference} is missing"
            ));
        }
    }
    // Every event is delivered or still pending delivery (at least once: a kill between the
    // receiver's 200 and the record of it sends that event again).
    let undelivered: Vec<(String, Option<String>)> = sqlx::query(
        "SELECT e.id, d.status FROM events e LEFT JOIN webhook_deliveries d ON d.event_id = e.id
         WHERE e.business_id = $1 AND (d.status IS NULL OR d.status NOT IN ('delivered', 'pending'))",
    )
    .bind(&business.id)
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get::<String, _>(0), row.get::<Option<String>, _>(1)))
    .collect();
    for (event, status) in &undelivered {
        broken.push(format!(
            "event {event} is neither delivered nor pending: {status:?}"
        ));
    }
    let delivered: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
         WHERE e.business_id = $1 AND d.status = 'delivered'",
    )
    .bind(&business.id)
    .fetch_one(&db)
    .await
    .unwrap()
    .get("n");
    let received = receiver.received();
    let mut distinct: Vec<String> = received
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_owned))
        .collect();
    distinct.sort();
    distinct.dedup();
    if usize::try_from(delivered).unwrap_or(usize::MAX) > distinct.len() {
        broken.push(format!(
            "{delivered} events are recorded delivered but the receiver saw only {}",
            distinct.len()
        ));
    }
    println!(
        "  webhooks: {delivered} events delivered, {} received ({} distinct)",
        received.len(),
        distinct.len()
    );

    // The NGN wallet holds exactly what its settled transactions say; nothing is still held.
    let balance = |key: String| {
        let db = db.clone();
        async move {
            sqlx::query("SELECT balance FROM ledger_accounts WHERE account_key = $1")
                .bind(key)
                .fetch_optional(&db)
                .await
                .unwrap()
                .map(|r| r.get::<i64, _>("balance"))
                .unwrap_or(0)
        }
    };
    let available = balance(format!("{}:available", business.ngn_wallet)).await;
    let held = balance(format!("{}:held", business.ngn_wallet)).await;
    let expected: i64 = transactions
        .values()
        .filter(|t| t.status == "successful" && t.category != "direct_payment")
        .map(|t| match t.kind.as_str() {
            "credit" => t.settled,
            _ => -(t.amount + t.fee),
        })
        .sum();
    if available != expected || held != 0 {
        broken.push(format!(
            "NGN wallet: available {available}, held {held}; its successful transactions add up to {expected}"
        ));
    }
    db.close().await;

    let check = serve.cli(&["ledger", "check"]);
    if !check.status.success() {
        broken.push(format!(
            "ducat ledger check exited {:?}: {}{}",
            check.status.code(),
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        ));
    }

    let attempted = |k: usize| load.counters.attempts[k].load(Ordering::Relaxed);
    let failed = |k: usize| load.counters.failures[k].load(Ordering::Relaxed);
    let acked = [
        acknowledged.inflows.len() - 1,
        acknowledged.payouts.len(),
        acknowledged.direct_payments.len(),
    ];
    println!(
        "crash test ({engine:?}): {kills} kills survived ({} starts) in {:.1} s of load, settled {:.1} s later; {:.1} s in all",
        serve.starts,
        load_ended.as_secs_f64(),
        settled_after.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    for (k, kind) in KINDS.iter().enumerate() {
        println!(
            "  {kind}: {} acknowledged of {} attempted ({} failed or cut off, {} of them with an answer)",
            acked[k],
            attempted(k),
            failed(k),
            load.counters.answered[k].load(Ordering::Relaxed)
        );
    }
    let mut statuses: Vec<_> = status_counts.into_iter().collect();
    statuses.sort();
    let processed = direct
        .values()
        .filter(|(_, status, _, _)| status == "PROCESSED")
        .count();
    println!(
        "  in the database: {} wallet inflows (funding included), payouts by status {statuses:?}, {processed} of {} direct payments PROCESSED, {} events",
        inbound.len(),
        direct.len(),
        event_rows.len()
    );
    for sample in load.counters.samples.lock().unwrap().iter() {
        println!("    a failure with an answer: {sample}");
    }
    let logged = serve.warnings();
    println!(
        "  serve logged {} warning or error lines{}",
        logged.len(),
        if logged.is_empty() {
            ""
        } else {
            "; the first ones:"
        }
    );
    for line in logged.iter().take(5) {
        println!("    {line}");
    }
    if !broken.is_empty() {
        panic!(
            "{} broken after {kills} kills (seed {seed}):\n{}\n{}",
            broken.len(),
            broken.join("\n"),
            serve.tails()
        );
    }
    assert!(
        acked.iter().all(|n| *n > 0),
        "every kind of flow was acknowledged at least once: {acked:?}"
    );
    drop(serve);
    if let Some(name) = postgres_database {
        drop_postgres_database(&name).await;
    }
}
