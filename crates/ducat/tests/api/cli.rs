//! The `ducat` command line, run as a process against each engine's database.

use crate::both_engines;
use crate::helpers::{assert_duplo_error, spawn_app, spawn_app_with, Auth, Engine, TestApp};
use crate::webhooks::{business_id, secrets_of, step, verify, Receiver, ReceiverState};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

both_engines!(
    business_create_prints_working_credentials,
    business_set_changes_preferences_and_refuses_bad_values,
    business_keys_are_listed_issued_and_revoked,
    ledger_check_exits_zero_when_clean_and_names_what_is_broken,
    serve_prints_the_demo_business_once_and_stops_gracefully,
    json_logs_never_carry_a_key_or_an_otp,
    business_rotate_webhook_secret_prints_the_new_secret_and_keeps_the_old_one,
    webhooks_list_redeliver_and_test_from_the_command_line,
);

fn ducat(database_url: &str, master_key: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ducat"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("DUCAT_MASTER_KEY", master_key)
        .env("DUCAT_LOG", "warn")
        .output()
        .expect("ducat runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn business_create_prints_working_credentials(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let output = ducat(
        &app.database_url,
        &app.master_key_hex,
        &[
            "business",
            "create",
            "--name",
            "Chidi Stores",
            "--otp-phone",
            "+2348030000001",
            "--email",
            "ops@chidi.ng",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let created: Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
    for key in [
        "business_id",
        "secret_key",
        "app_id",
        "api_key",
        "webhook_secret",
        "dashboard_login",
        "dashboard_password",
        "wallets",
    ] {
        assert!(!created[key].is_null(), "{key} is printed");
    }
    assert!(created["secret_key"]
        .as_str()
        .unwrap()
        .starts_with("dp_test_"));
    assert!(created["webhook_secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    assert_eq!(created["dashboard_login"], "ops@chidi.ng");
    let wallets = created["wallets"].as_array().unwrap();
    assert_eq!(wallets.len(), 2);
    for wallet in wallets {
        for key in ["wallet_ref", "currency", "bank_name", "account_number"] {
            assert!(wallet[key].is_string(), "wallet {key}");
        }
    }
    // The printed key works against the running server.
    let ngn = wallets.iter().find(|w| w["currency"] == "NGN").unwrap();
    let answer = app
        .get(
            &format!(
                "/v1/wallets/balance/{}?business_id={}",
                ngn["wallet_ref"].as_str().unwrap(),
                created["business_id"].as_str().unwrap()
            ),
            &Auth::Bearer(created["secret_key"].as_str().unwrap().to_owned()),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let beqelal = Auth::Beqelal {
        app_id: created["app_id"].as_str().unwrap().to_owned(),
        api_key: created["api_key"].as_str().unwrap().to_owned(),
    };
    assert_eq!(
        app.get("/api/v1/list/banks", &beqelal).await.status,
        StatusCode::OK
    );

    // The same dashboard login twice is refused; a bad phone is refused; both exit non-zero.
    let again = ducat(
        &app.database_url,
        &app.master_key_hex,
        &[
            "business",
            "create",
            "--name",
            "Other",
            "--otp-phone",
            "+2348030000002",
            "--email",
            "ops@chidi.ng",
        ],
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("ops@chidi.ng"),
        "{}",
        stderr(&again)
    );
    let bad_phone = ducat(
        &app.database_url,
        &app.master_key_hex,
        &[
            "business",
            "create",
            "--name",
            "X",
            "--otp-phone",
            "08030000001",
        ],
    );
    assert!(!bad_phone.status.success());
    assert!(
        stderr(&bad_phone).contains("E.164"),
        "{}",
        stderr(&bad_phone)
    );
    let missing_name = ducat(
        &app.database_url,
        &app.master_key_hex,
        &["business", "create", "--otp-phone", "+2348030000001"],
    );
    assert!(!missing_name.status.success());
    assert!(stderr(&missing_name).contains("--name"));
    app.finish().await;
}

async fn business_set_changes_preferences_and_refuses_bad_values(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let set = |args: &[&str]| {
        let mut all = vec!["business", "set", business.id.as_str()];
        all.extend_from_slice(args);
        ducat(&app.database_url, &app.master_key_hex, &all)
    };
    let path = format!(
        "/v1/wallets/balance/{}?business_id={}",
        business.ngn_wallet, business.id
    );

    let denied = set(&["--ip-allow", "203.0.113.0/24"]);
    assert!(denied.status.success(), "{}", stderr(&denied));
    assert_duplo_error(&app.get(&path, &business.duplo()).await, 403);
    let any = set(&["--ip-allow-any"]);
    assert!(any.status.success());
    assert_eq!(
        app.get(&path, &business.duplo()).await.status,
        StatusCode::OK
    );

    assert!(set(&[
        "--otp-phone",
        "+2348099999999",
        "--webhook-url",
        "https://hooks.example.com/ducat"
    ])
    .status
    .success());
    let record = app
        .services
        .business(&ducat_core::ids::BusinessId::parse(&business.id).unwrap())
        .await
        .unwrap();
    assert_eq!(record.otp_phone.as_deref(), Some("+2348099999999"));
    assert_eq!(
        record.webhook_url.as_deref(),
        Some("https://hooks.example.com/ducat")
    );

    for (args, expected) in [
        (vec!["--ip-allow", "300.1.1.1/8"], "not an IP address"),
        (vec!["--otp-phone", "12345"], "E.164"),
        (vec!["--webhook-url", "ftp://example.com"], "http"),
        (vec![], "nothing to change"),
    ] {
        let output = set(&args);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let conflicting = set(&["--ip-allow", "10.0.0.0/8", "--ip-allow-any"]);
    assert!(!conflicting.status.success());
    let unknown = ducat(
        &app.database_url,
        &app.master_key_hex,
        &[
            "business",
            "set",
            "00000000-0000-4000-8000-000000000000",
            "--otp-phone",
            "+2348099999999",
        ],
    );
    assert!(!unknown.status.success());
    let malformed = ducat(
        &app.database_url,
        &app.master_key_hex,
        &[
            "business",
            "set",
            "not-a-uuid",
            "--otp-phone",
            "+2348099999999",
        ],
    );
    assert!(stderr(&malformed).contains("not a business id"));
    let record = app
        .services
        .business(&ducat_core::ids::BusinessId::parse(&business.id).unwrap())
        .await
        .unwrap();
    assert_eq!(
        record.otp_phone.as_deref(),
        Some("+2348099999999"),
        "failed calls changed nothing"
    );
    app.finish().await;
}

/// The value printed on a `name   value` line of the command's text output.
fn field<'a>(printed: &'a str, name: &str) -> &'a str {
    printed
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(char::is_whitespace)?;
            (key == name).then(|| value.trim())
        })
        .unwrap_or_else(|| panic!("a {name} line in {printed}"))
}

async fn business_keys_are_listed_issued_and_revoked(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let run = |args: &[&str]| ducat(&app.database_url, &app.master_key_hex, args);
    let list = || {
        let output = run(&["business", "keys", &business.id, "--json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let printed = stdout(&output);
        assert!(
            !printed.contains(&business.secret_key) && !printed.contains(&business.api_key),
            "full keys are never printed: {printed}"
        );
        let keys: Value = serde_json::from_str(&printed).expect("JSON on stdout");
        keys.as_array().expect("a JSON array").clone()
    };
    let balance_path = format!(
        "/v1/wallets/balance/{}?business_id={}",
        business.ngn_wallet, business.id
    );
    // The test server's clock stands still, so times it stamps are known exactly.
    let start = "2025-11-22T08:00:00.000Z";

    let keys = list();
    assert_eq!(keys.len(), 2, "{keys:#?}");
    let original_duplo = keys.iter().find(|k| k["kind"] == "duplo_secret").unwrap();
    let original_beqelal = keys.iter().find(|k| k["kind"] == "beqelal").unwrap();
    assert_eq!(original_duplo["key_prefix"], business.secret_key[..12]);
    assert_eq!(original_duplo["app_id"], Value::Null);
    assert_eq!(original_beqelal["key_prefix"], business.api_key[..12]);
    assert_eq!(original_beqelal["app_id"], business.app_id);
    for key in &keys {
        assert_eq!(key["mode"], "test");
        assert_eq!(key["status"], "active");
        assert_eq!(key["revoked_at"], Value::Null);
        assert_eq!(key["last_used_at"], Value::Null);
        assert_eq!(key["created_at"], start);
        assert!(key["id"].as_str().unwrap().starts_with("cred_"));
    }
    let original_duplo_id = original_duplo["id"].as_str().unwrap().to_owned();

    let text = run(&["business", "keys", &business.id]);
    assert!(text.status.success(), "{}", stderr(&text));
    let text = stdout(&text);
    assert!(text.starts_with("id "), "{text}");
    assert_eq!(text.lines().filter(|l| l.ends_with(" active")).count(), 2);
    assert!(text.contains(&original_duplo_id), "{text}");
    assert!(!text.contains(&business.secret_key), "{text}");

    let duplo = run(&[
        "business",
        "new-key",
        &business.id,
        "--kind",
        "duplo",
        "--json",
    ]);
    assert!(duplo.status.success(), "{}", stderr(&duplo));
    let duplo: Value = serde_json::from_str(&stdout(&duplo)).expect("JSON on stdout");
    let new_secret = duplo["secret_key"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("dp_test_"), "{duplo}");
    assert!(duplo["credential_id"]
        .as_str()
        .unwrap()
        .starts_with("cred_"));
    assert_eq!(duplo["kind"], "duplo_secret");
    assert!(duplo.get("api_key").is_none(), "{duplo}");
    let new_duplo = Auth::Bearer(new_secret.clone());
    let answer = app.get(&balance_path, &new_duplo).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);

    let beqelal = run(&["business", "new-key", &business.id, "--kind", "beqelal"]);
    assert!(beqelal.status.success(), "{}", stderr(&beqelal));
    let printed = stdout(&beqelal);
    assert!(field(&printed, "credential_id").starts_with("cred_"));
    assert_eq!(field(&printed, "kind"), "beqelal");
    let new_pair = Auth::Beqelal {
        app_id: field(&printed, "app_id").to_owned(),
        api_key: field(&printed, "api_key").to_owned(),
    };
    assert!(field(&printed, "api_key").starts_with("bq_test_"));
    let answer = app.get("/api/v1/list/banks", &new_pair).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);

    // The original key works until it is revoked, and its use is recorded.
    let answer = app.get(&balance_path, &business.duplo()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let revoke = run(&["business", "revoke-key", &business.id, &original_duplo_id]);
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    assert!(stdout(&revoke).contains("revoked"), "{}", stdout(&revoke));
    let message = assert_duplo_error(&app.get(&balance_path, &business.duplo()).await, 401);
    assert!(message.contains("revoked"), "{message}");
    let answer = app.get(&balance_path, &new_duplo).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let answer = app.get("/api/v1/list/banks", &business.beqelal()).await;
    assert_eq!(answer.status, StatusCode::OK, "only the revoked key stops");

    let keys = list();
    assert_eq!(keys.len(), 4, "{keys:#?}");
    for key in &keys {
        if key["id"] == original_duplo_id.as_str() {
            assert_eq!(key["status"], "revoked");
            assert!(key["revoked_at"].as_str().unwrap().ends_with('Z'), "{key}");
            assert_eq!(key["last_used_at"], start);
        } else {
            assert_eq!(key["status"], "active", "{key}");
            assert_eq!(key["revoked_at"], Value::Null);
        }
    }
    assert_eq!(
        keys.iter()
            .filter(|k| k["key_prefix"] == new_secret[..12])
            .count(),
        1
    );

    let again = run(&["business", "revoke-key", &business.id, &original_duplo_id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already revoked"),
        "{}",
        stderr(&again)
    );
    let unknown = run(&[
        "business",
        "revoke-key",
        &business.id,
        "cred_doesnotexist000",
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no credential cred_doesnotexist000"),
        "{}",
        stderr(&unknown)
    );

    let nobody = "00000000-0000-4000-8000-000000000000";
    for args in [
        vec!["business", "keys", nobody],
        vec!["business", "new-key", nobody, "--kind", "duplo"],
        vec!["business", "revoke-key", nobody, &original_duplo_id],
    ] {
        let output = run(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains("no business"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let malformed = run(&["business", "new-key", "not-a-uuid", "--kind", "duplo"]);
    assert_eq!(malformed.status.code(), Some(1));
    assert!(stderr(&malformed).contains("not a business id"));
    assert_eq!(list().len(), 4, "failed calls issued nothing");
    app.finish().await;
}

async fn ledger_check_exits_zero_when_clean_and_names_what_is_broken(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    app.fund(&business, &business.ngn_account, "250").await;
    let migrate = ducat(&app.database_url, &app.master_key_hex, &["migrate"]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    let clean = ducat(&app.database_url, &app.master_key_hex, &["ledger", "check"]);
    assert!(
        clean.status.success(),
        "{}{}",
        stdout(&clean),
        stderr(&clean)
    );
    assert!(stdout(&clean).contains("every invariant holds"));

    sqlx::query("UPDATE ledger_accounts SET balance = balance + 7 WHERE account_key = $1")
        .bind(format!("{}:available", business.ngn_wallet))
        .execute(app.services.store.writer())
        .await
        .unwrap();
    let broken = ducat(&app.database_url, &app.master_key_hex, &["ledger", "check"]);
    assert_eq!(broken.status.code(), Some(1));
    let report = stdout(&broken);
    assert!(
        report.contains("each account's balance equals the sum of its postings"),
        "{report}"
    );
    assert!(report.contains(&business.ngn_wallet), "{report}");
    sqlx::query("UPDATE ledger_accounts SET balance = balance - 7 WHERE account_key = $1")
        .bind(format!("{}:available", business.ngn_wallet))
        .execute(app.services.store.writer())
        .await
        .unwrap();
    app.finish().await;
}

/// Reads the server's stdout until it says it is serving; returns everything it printed.
fn read_until_serving(child: &mut std::process::Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut printed = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with("ducat is serving on ") {
                let _ = sender.send(printed.clone());
            }
        }
    });
    receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the server starts within a minute")
}

fn start_serve(dir: &std::path::Path, database_url: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_ducat"))
        .arg("serve")
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("DUCAT_LISTEN", "127.0.0.1:0")
        .env("DUCAT_LOG", "warn")
        .env_remove("DUCAT_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ducat serve starts")
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    child.wait().expect("the server exits")
}

async fn serve_prints_the_demo_business_once_and_stops_gracefully(engine: Engine) {
    let (database_url, postgres_database) = match engine {
        Engine::Sqlite => ("sqlite://ducat.db".to_owned(), None),
        Engine::Postgres => match crate::helpers::fresh_postgres_database().await {
            Some((url, name)) => (url, Some(name)),
            None => return,
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_serve(dir.path(), &database_url);
    let printed = read_until_serving(&mut server);
    assert!(
        printed.contains("Duplo secret key    dp_test_"),
        "{printed}"
    );
    assert!(
        printed.contains("Beqelal api-key     bq_test_"),
        "{printed}"
    );
    assert!(
        dir.path().join("ducat.key").exists(),
        "the master key file is generated"
    );

    // The printed curl lines work as printed.
    let curls: Vec<&str> = printed
        .lines()
        .filter(|l| l.trim_start().starts_with("curl "))
        .collect();
    assert_eq!(curls.len(), 2, "{printed}");
    for line in &curls {
        let output = Command::new("sh")
            .arg("-c")
            .arg(line.trim())
            .output()
            .expect("sh runs");
        let answer: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        assert_eq!(
            answer["errors"],
            json!({}),
            "{line}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    let balance: Value = serde_json::from_slice(
        &Command::new("sh")
            .arg("-c")
            .arg(curls[1].trim())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(balance["data"]["available_balance"], json!(50000));

    let status = terminate(&mut server);
    assert!(status.success(), "SIGTERM is a clean shutdown: {status:?}");

    let mut again = start_serve(dir.path(), &database_url);
    let printed_again = read_until_serving(&mut again);
    assert!(
        !printed_again.contains("dp_test_"),
        "secrets are never printed twice: {printed_again}"
    );
    assert!(terminate(&mut again).success());

    let check = Command::new(env!("CARGO_BIN_EXE_ducat"))
        .args(["ledger", "check"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &database_url)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    if let Some(name) = postgres_database {
        crate::helpers::drop_postgres_database(&name).await;
    }
}

/// `serve --log-format json` at the most verbose level, through a whole payout, a Beqelal
/// direct payment and a refused key: every log line is JSON, and no line carries a secret key,
/// an api-key, a webhook secret, either OTP, or the key a caller presented and got refused.
async fn json_logs_never_carry_a_key_or_an_otp(engine: Engine) {
    let (database_url, postgres_database) = match engine {
        Engine::Sqlite => ("sqlite://ducat.db".to_owned(), None),
        Engine::Postgres => match crate::helpers::fresh_postgres_database().await {
            Some((url, name)) => (url, Some(name)),
            None => return,
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("serve.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_ducat"))
        .args(["serve", "--log-format", "json"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &database_url)
        .env("DUCAT_LISTEN", "127.0.0.1:0")
        .env("DUCAT_LOG", "trace")
        .env_remove("DUCAT_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("ducat serve starts");
    let printed = read_until_serving(&mut server);
    let value = |label: &str| {
        printed
            .lines()
            .find_map(|line| line.trim_start().strip_prefix(label))
            .map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_else(|| panic!("{label} in {printed}"))
    };
    let (secret_key, app_id, api_key, webhook_secret) = (
        value("Duplo secret key"),
        value("Beqelal app-id"),
        value("Beqelal api-key"),
        value("webhook secret"),
    );
    let business_id = value("business_id");
    let base = printed
        .lines()
        .find_map(|l| l.strip_prefix("ducat is serving on "))
        .unwrap()
        .to_owned();
    let account = printed
        .lines()
        .find(|l| l.contains("wallet NGN"))
        .and_then(|l| l.split("account ").nth(1))
        .map(|rest| rest.trim_end_matches(')').to_owned())
        .unwrap();
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&secret_key)
            .json(&body)
            .send()
    };
    post(
        "/sandbox/v1/bank/transfers",
        json!({ "account_number": account, "amount": "5000" }),
    )
    .await
    .unwrap();
    let initiated: Value = post(
        "/v1/wallets/v2/transfer",
        json!({ "business_id": business_id, "recipient_bank_code": "058", "recipient_account_number": "0123456789", "amount": 1000 }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let reference = initiated["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    // The newest SMS to `query`'s recipients, as the sandbox outbox shows it: its OTP.
    let latest_otp = |query: &'static str| {
        let request = client
            .get(format!("{base}/sandbox/v1/sms?{query}limit=1"))
            .bearer_auth(&secret_key);
        async move {
            let sms: Value = request.send().await.unwrap().json().await.unwrap();
            sms["data"][0]["body"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
                .unwrap()
                .to_owned()
        }
    };
    let otp = latest_otp("").await;
    let processed = post(
        "/v1/wallets/v2/process-transfer",
        json!({ "business_id": business_id, "transaction_ref": reference, "otp": otp }),
    )
    .await
    .unwrap();
    assert_eq!(processed.status(), reqwest::StatusCode::OK);

    // A direct payment authorized with the institution's OTP.
    let customer = "251911234567";
    let requested: Value = client
        .post(format!("{base}/api/v1/payment/request"))
        .header("app-id", &app_id)
        .header("api-key", &api_key)
        .json(&json!({ "bank": 404050, "account": customer, "amount": 10, "trace_number": "LOG-1", "reason": "Deposit" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payment = requested["id"].as_str().unwrap().to_owned();
    let payment_otp = latest_otp("phone=%2B251911234567&").await;
    let authorized = client
        .post(format!("{base}/api/v1/payment/authorize"))
        .header("app-id", &app_id)
        .header("api-key", &api_key)
        .json(&json!({ "reference": payment, "otp": payment_otp.parse::<u32>().unwrap() }))
        .send()
        .await
        .unwrap();
    assert_eq!(authorized.status(), reqwest::StatusCode::OK);

    // A key that does not exist, refused: what the caller sent is not written down either.
    let presented = "dp_test_presentedbutunknownkey0042";
    let refused = client
        .get(format!("{base}/v1/wallets/balance/wal_000000000000"))
        .bearer_auth(presented)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(terminate(&mut server).success());

    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 5, "the server logged: {log}");
    for line in &lines {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not JSON: {line}"
        );
        for secret in [&secret_key, &api_key, &webhook_secret] {
            assert!(
                !line.contains(secret.as_str()),
                "a secret in the log: {line}"
            );
        }
        assert!(
            !line.contains(presented),
            "a presented key in the log: {line}"
        );
        assert!(!contains_number(line, &otp), "the OTP in the log: {line}");
        assert!(
            !contains_number(line, &payment_otp),
            "the payment OTP in the log: {line}"
        );
    }
    if let Some(name) = postgres_database {
        crate::helpers::drop_postgres_database(&name).await;
    }
}

/// Whether `digits` stands in `line` as a number of its own, not inside a longer one (a
/// timestamp's microseconds can hold any six digits).
fn contains_number(line: &str, digits: &str) -> bool {
    line.match_indices(digits).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + digits.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// Moves the test's clock to the wall clock: the command line stamps what it writes with the
/// system clock, and the worker step the test runs must see it as due.
fn catch_up_with_the_wall_clock(app: &TestApp) {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let behind = (wall - app.clock_now()) / 1000 + 1;
    if behind > 0 {
        app.clock.advance_secs(behind);
    }
}

async fn business_rotate_webhook_secret_prints_the_new_secret_and_keeps_the_old_one(
    engine: Engine,
) {
    let receiver = Receiver::start(ReceiverState::default()).await;
    let Some(app) = spawn_app_with(engine, |c| c.webhook_allow_private_targets = true).await else {
        return;
    };
    let business = app.create_business().await;
    let id = business_id(&business);
    let (old, _) = secrets_of(&app, &business).await;
    let output = ducat(
        &app.database_url,
        &app.master_key_hex,
        &[
            "business",
            "rotate-webhook-secret",
            &business.id,
            "--overlap-secs",
            "600",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let rotated: Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
    let new = rotated["webhook_secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_"));
    assert!(rotated["previous_secret_valid_until"].is_string());
    let record = app.services.business(&id).await.unwrap();
    assert_eq!(
        app.services
            .keys
            .decrypt(&record.webhook_secret_enc)
            .unwrap(),
        new
    );
    let previous = record.webhook_previous_secret_enc.clone().unwrap();
    assert_eq!(
        app.services.keys.decrypt(&previous).unwrap(),
        old,
        "kept, encrypted"
    );
    let until = record.webhook_previous_secret_expires_at.unwrap();

    // A delivery within the overlap carries both signatures.
    catch_up_with_the_wall_clock(&app);
    assert!(app.clock_now() < until);
    app.services
        .set_preferences(
            &id,
            &ducat::services::audit::Actor::Cli,
            ducat::services::businesses::PreferenceInput {
                webhook_url: Some(Some(receiver.url("/hook"))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.fund(&business, &business.ngn_account, "300").await;
    assert_eq!(step(&app).await, 1);
    let got = receiver.received()[0].clone();
    let now = app.clock_now() / 1000;
    assert_eq!(
        got.header("webhook-signature").unwrap().split(' ').count(),
        2
    );
    verify(&new, &got, now).unwrap();
    verify(&old, &got, now).unwrap();

    // The default overlap comes from the configuration (here the environment).
    let output = Command::new(env!("CARGO_BIN_EXE_ducat"))
        .args(["business", "rotate-webhook-secret", &business.id])
        .env("DATABASE_URL", &app.database_url)
        .env("DUCAT_MASTER_KEY", &app.master_key_hex)
        .env("DUCAT_LOG", "warn")
        .env("DUCAT_WEBHOOK_SECRET_OVERLAP_SECS", "0")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    let newest = printed
        .lines()
        .find_map(|l| l.strip_prefix("webhook_secret"))
        .unwrap()
        .trim()
        .to_owned();
    let record = app.services.business(&id).await.unwrap();
    assert_eq!(
        app.services
            .keys
            .decrypt(&record.webhook_secret_enc)
            .unwrap(),
        newest
    );
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let expires = record.webhook_previous_secret_expires_at.unwrap();
    assert!(expires <= wall && expires > wall - 60_000, "no overlap");

    for (args, expected) in [
        (
            vec!["business", "rotate-webhook-secret", "not-a-uuid"],
            "not a business id",
        ),
        (
            vec![
                "business",
                "rotate-webhook-secret",
                "00000000-0000-4000-8000-000000000000",
            ],
            "no business",
        ),
        (
            vec![
                "business",
                "rotate-webhook-secret",
                &business.id,
                "--overlap-secs",
                "soon",
            ],
            "overlap-secs",
        ),
    ] {
        let output = ducat(&app.database_url, &app.master_key_hex, &args);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    app.finish().await;
}

async fn webhooks_list_redeliver_and_test_from_the_command_line(engine: Engine) {
    let receiver = Receiver::start(ReceiverState::default()).await;
    let Some(app) = spawn_app_with(engine, |c| c.webhook_allow_private_targets = true).await else {
        return;
    };
    let business = app.create_business().await;
    let id = business_id(&business);
    let cli = |args: &[&str]| ducat(&app.database_url, &app.master_key_hex, args);

    // No URL: a test event has nowhere to go.
    let refused = cli(&["webhooks", "test", &business.id]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("webhook_url"),
        "{}",
        stderr(&refused)
    );

    let url = receiver.url("/hook");
    let set = cli(&["business", "set", &business.id, "--webhook-url", &url]);
    assert!(set.status.success(), "{}", stderr(&set));
    app.fund(&business, &business.ngn_account, "300").await;
    let listed = cli(&["webhooks", "list", &business.id, "--json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let events: Value = serde_json::from_str(&stdout(&listed)).expect("JSON on stdout");
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event_type"], "ACCOUNT_INFLOW");
    assert_eq!(events[0]["delivery_status"], "pending");
    assert_eq!(events[0]["url"], url.as_str());
    let event_id = events[0]["event_id"].as_str().unwrap().to_owned();
    assert_eq!(step(&app).await, 1);
    let table = stdout(&cli(&["webhooks", "list", &business.id]));
    assert!(
        table
            .lines()
            .any(|l| l.contains(&event_id) && l.contains("delivered")),
        "{table}"
    );

    // Redeliver: queued, then sent by the worker.
    let redelivered = cli(&["webhooks", "redeliver", &business.id, &event_id]);
    assert!(redelivered.status.success(), "{}", stderr(&redelivered));
    assert!(stdout(&redelivered).contains("worker"));
    catch_up_with_the_wall_clock(&app);
    assert_eq!(step(&app).await, 1);
    assert_eq!(receiver.received().len(), 2);
    assert_eq!(
        receiver.received()[1].header("webhook-id"),
        Some(event_id.as_str())
    );

    // Test: appended; the worker delivers it.
    let tested = cli(&["webhooks", "test", &business.id]);
    assert!(tested.status.success(), "{}", stderr(&tested));
    assert!(
        stdout(&tested).contains("worker delivers it"),
        "{}",
        stdout(&tested)
    );
    catch_up_with_the_wall_clock(&app);
    assert_eq!(step(&app).await, 1);
    let got = receiver.received()[2].clone();
    assert_eq!(got.json()["data"]["event_type"], "WEBHOOK_TEST");
    let (secret, _) = secrets_of(&app, &business).await;
    verify(&secret, &got, app.clock_now() / 1000).unwrap();

    // A disabled endpoint shows in the listing; `business set --webhook-url` re-enables it.
    ducat::store::webhooks::disable_endpoint(
        &app.services.store,
        &id,
        &url,
        "answered 410 Gone",
        app.clock_now(),
    )
    .await
    .unwrap();
    let table = stdout(&cli(&["webhooks", "list", &business.id]));
    assert!(table.contains("DISABLED"), "{table}");
    let set = cli(&["business", "set", &business.id, "--webhook-url", &url]);
    assert!(set.status.success(), "{}", stderr(&set));
    assert!(app
        .services
        .business(&id)
        .await
        .unwrap()
        .webhook_disabled_at
        .is_none());
    assert!(!stdout(&cli(&["webhooks", "list", &business.id])).contains("DISABLED"));

    // Another business's event, an unknown event, a malformed id: exit 1 with the reason.
    let other = app.create_business().await;
    for (args, expected) in [
        (
            vec![
                "webhooks",
                "redeliver",
                other.id.as_str(),
                event_id.as_str(),
            ],
            "no event",
        ),
        (
            vec!["webhooks", "redeliver", business.id.as_str(), "evt_nope"],
            "no event",
        ),
        (vec!["webhooks", "list", "nope"], "not a business id"),
        (
            vec!["webhooks", "list", "00000000-0000-4000-8000-000000000000"],
            "no business",
        ),
    ] {
        let output = cli(&args);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    app.finish().await;
}
