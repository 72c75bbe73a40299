//! `spawn_app()`: a real server on port 0 over a fresh database (a SQLite file in a temporary
//! directory, or a new PostgreSQL database), an injected clock, and a client with one method
//! per kind of call.

use ducat::clock::ManualClock;
use ducat::config::Config;
use ducat::services::businesses::NewBusiness;
use ducat::services::Services;
use ducat::store::businesses::Mode;
use ducat::App;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Runs a scenario once per engine, as two tests named `<scenario>::sqlite` and `::postgres`.
#[macro_export]
macro_rules! both_engines {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario($crate::helpers::Engine::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$scenario($crate::helpers::Engine::Postgres).await
                }
            }
        )+
    };
}

/// The PostgreSQL server tests create their databases on.
fn postgres_admin_url() -> String {
    std::env::var("DUCAT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let prefix = base
        .rsplit_once('/')
        .map(|(prefix, _)| prefix)
        .unwrap_or(base);
    format!("{prefix}/{database}{query}")
}

/// A fresh database on the test server, or `None` (with the reason printed) when no server is
/// reachable outside CI. In CI an unreachable server fails the test.
pub async fn fresh_postgres_database() -> Option<(String, String)> {
    let admin_url = postgres_admin_url();
    let mut admin = match sqlx::postgres::PgConnection::connect(&admin_url).await {
        Ok(connection) => connection,
        Err(error) => {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL at {admin_url} is required in CI: {error}");
            }
            eprintln!("SKIPPED: PostgreSQL at {admin_url} is not reachable ({error}); set DUCAT_TEST_DATABASE_URL");
            return None;
        }
    };
    // Named after the run's own database when CI gave one, so the run can remove every
    // database it made (even those a failed test left) without touching anyone else's.
    let base = admin_url
        .split('?')
        .next()
        .and_then(|url| url.rsplit('/').next())
        .filter(|name| name.starts_with("ducat_ci_"))
        .unwrap_or("ducat");
    let name = format!(
        "{base}_t_{}",
        ducat::secrets::random_secret(12).to_ascii_lowercase()
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    admin.close().await.ok();
    Some((with_database(&admin_url, &name), name))
}

pub async fn drop_postgres_database(name: &str) {
    if let Ok(mut admin) = sqlx::postgres::PgConnection::connect(&postgres_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await;
        admin.close().await.ok();
    }
}

/// 2025-11-22T08:00:00Z: tests start from a fixed instant and move the clock themselves.
pub const START_MS: i64 = 1_763_798_400_000;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub services: Services,
    pub database_url: String,
    pub master_key_hex: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    postgres_database: Option<String>,
    _dir: tempfile::TempDir,
}

/// A business created for a test, with its secrets.
#[derive(Debug, Clone)]
pub struct TestBusiness {
    pub id: String,
    pub secret_key: String,
    pub app_id: String,
    pub api_key: String,
    pub ngn_wallet: String,
    pub ngn_account: String,
    pub etb_wallet: String,
    pub etb_account: String,
    pub dashboard_login: String,
    pub dashboard_password: String,
}

/// A second server on the same database, clock and master key: another node of one deployment.
pub async fn spawn_node(first: &TestApp) -> TestApp {
    spawn_node_with(first, |_| {}).await
}

pub async fn spawn_node_with(first: &TestApp, configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config {
        database_url: first.database_url.clone(),
        master_key: Some(first.master_key_hex.clone()),
        master_key_file: dir.path().join("ducat.key"),
        listen: "127.0.0.1:0".parse().unwrap(),
        run_workers: false,
        ..Config::default()
    };
    configure(&mut config);
    let app = App::build(config, Arc::new(first.clock.clone()))
        .await
        .expect("the second node builds");
    let services = app.services().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run(listener, async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        clock: first.clock.clone(),
        services,
        database_url: first.database_url.clone(),
        master_key_hex: first.master_key_hex.clone(),
        shutdown: Some(shutdown),
        server: Some(server),
        // The first node owns the database and drops it.
        postgres_database: None,
        _dir: dir,
    }
}

pub async fn spawn_app(engine: Engine) -> Option<TestApp> {
    spawn_app_with(engine, |_| {}).await
}

pub async fn spawn_app_with(
    engine: Engine,
    configure: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (database_url, postgres_database) = match engine {
        Engine::Sqlite => (
            format!("sqlite://{}", dir.path().join("ducat.db").display()),
            None,
        ),
        Engine::Postgres => {
            let (url, name) = fresh_postgres_database().await?;
            (url, Some(name))
        }
    };
    let master_key_hex = hex::encode(rand::random::<[u8; 32]>());
    let mut config = Config {
        database_url: database_url.clone(),
        master_key: Some(master_key_hex.clone()),
        master_key_file: dir.path().join("ducat.key"),
        listen: "127.0.0.1:0".parse().unwrap(),
        // Tests drive each worker step themselves, so nothing moves behind their back.
        run_workers: false,
        ..Config::default()
    };
    configure(&mut config);
    let clock = ManualClock::starting_at(START_MS);
    let app = App::build(config, Arc::new(clock.clone()))
        .await
        .expect("the app builds");
    let services = app.services().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run(listener, async move {
        let _ = stopped.await;
    }));
    Some(TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        services,
        database_url,
        master_key_hex,
        shutdown: Some(shutdown),
        server: Some(server),
        postgres_database,
        _dir: dir,
    })
}

/// An answer: status, headers and parsed JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Beqelal { app_id: String, api_key: String },
}

impl TestBusiness {
    pub fn duplo(&self) -> Auth {
        Auth::Bearer(self.secret_key.clone())
    }

    pub fn beqelal(&self) -> Auth {
        Auth::Beqelal {
            app_id: self.app_id.clone(),
            api_key: self.api_key.clone(),
        }
    }
}

impl TestApp {
    pub async fn create_business(&self) -> TestBusiness {
        self.create_business_in(Mode::Test).await
    }

    pub async fn create_business_in(&self, mode: Mode) -> TestBusiness {
        let created = self
            .services
            .create_business(NewBusiness {
                name: "Ada's Kitchen".to_owned(),
                email: None,
                otp_phone: Some("+2348031234567".to_owned()),
                mode,
            })
            .await
            .expect("business created");
        let wallet = |currency: &str| {
            created
                .wallets
                .iter()
                .find(|w| w.currency == currency)
                .expect("a wallet per currency")
                .clone()
        };
        TestBusiness {
            id: created.business_id.clone(),
            secret_key: created.secret_key.clone(),
            app_id: created.app_id.clone(),
            api_key: created.api_key.clone(),
            ngn_wallet: wallet("NGN").wallet_ref,
            ngn_account: wallet("NGN").account_number,
            etb_wallet: wallet("ETB").wallet_ref,
            etb_account: wallet("ETB").account_number,
            dashboard_login: created.dashboard_login.clone(),
            dashboard_password: created.dashboard_password.clone(),
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> Answer {
        self.request_with(method, path, auth, body, &[]).await
    }

    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        request = match auth {
            Auth::None => request,
            Auth::Bearer(key) => request.bearer_auth(key),
            Auth::Beqelal { app_id, api_key } => {
                request.header("app-id", app_id).header("api-key", api_key)
            }
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.expect("the server answers")).await
    }

    pub async fn raw(&self, request: reqwest::RequestBuilder) -> Answer {
        answer(request.send().await.expect("the server answers")).await
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Answer {
        self.request(Method::GET, path, auth, None).await
    }

    pub async fn post(&self, path: &str, auth: &Auth, body: Value) -> Answer {
        self.request(Method::POST, path, auth, Some(body)).await
    }

    /// Sends money to one of the business's accounts through the sandbox bank.
    pub async fn fund(
        &self,
        business: &TestBusiness,
        account_number: &str,
        amount: &str,
    ) -> Answer {
        let answer = self
            .post(
                "/sandbox/v1/bank/transfers",
                &business.duplo(),
                json!({ "account_number": account_number, "amount": amount }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer
    }

    /// The wallet's `(available, ledger)` balances as the Duplo face reports them.
    pub async fn balance(&self, business: &TestBusiness, wallet: &str) -> (Value, Value) {
        let answer = self
            .get(
                &format!("/v1/wallets/balance/{wallet}?business_id={}", business.id),
                &business.duplo(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        (
            answer.body["data"]["available_balance"].clone(),
            answer.body["data"]["legder_balance"].clone(),
        )
    }

    /// The newest OTP texted to `phone`, read from the sandbox SMS outbox as an integrator would.
    pub async fn latest_otp(&self, business: &TestBusiness, phone: &str) -> String {
        let answer = self
            .get(
                &format!(
                    "/sandbox/v1/sms?phone={}&limit=1",
                    phone.replace('+', "%2B")
                ),
                &business.duplo(),
            )
            .await;
        let body = answer.body["data"][0]["body"]
            .as_str()
            .unwrap_or_else(|| panic!("an SMS to {phone}: {}", answer.text));
        body.split_whitespace()
            .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or_else(|| panic!("an OTP in {body:?}"))
            .to_owned()
    }

    pub fn clock_now(&self) -> i64 {
        use ducat::clock::Clock;
        self.clock.now_ms()
    }

    pub async fn assert_ledger_clean(&self) {
        let violations = ducat::store::ledger::check(&self.services.store)
            .await
            .expect("ledger check runs");
        assert!(
            violations.is_empty(),
            "ledger invariants broken: {violations:#?}"
        );
    }

    /// Checks the ledger, stops the server gracefully and removes the database.
    pub async fn finish(mut self) {
        self.assert_ledger_clean().await;
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
        if let Some(name) = self.postgres_database.take() {
            drop_postgres_database(&name).await;
        }
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// Asserts a Duplo error envelope with this status, returning its message.
pub fn assert_duplo_error(answer: &Answer, status: u16) -> String {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.text);
    assert!(answer.body["data"].is_null(), "{}", answer.text);
    assert!(answer.body["errors"].is_object(), "{}", answer.text);
    let message = answer.body["message"]
        .as_str()
        .expect("a message")
        .to_owned();
    assert!(!message.is_empty());
    message
}

/// Asserts a Beqelal `{error: {...}}` body with this HTTP status and code.
pub fn assert_beqelal_error(answer: &Answer, status: u16, code: &str, message: &str) {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.text);
    let error = &answer.body["error"];
    assert_eq!(error["status"], "FAILED", "{}", answer.text);
    assert_eq!(error["status_code"], code, "{}", answer.text);
    assert_eq!(error["message"], message, "{}", answer.text);
    assert!(
        error["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{}",
        answer.text
    );
}

/// The fixture documents from the specification.
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}
