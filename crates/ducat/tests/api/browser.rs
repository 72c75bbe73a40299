//! The hosted pages in a real browser: headless Chromium driven by `tests/browser/checkout.mjs`
//! (Duplo checkout) and `tests/browser/paylink.mjs` (Beqelal payment link), with Playwright,
//! against a test server. SQLite only: the page reads
//! through the same services the other tests run on both engines.
//!
//! Needs `node`, `npm ci` in `tests/browser` and Chromium (`/usr/bin/chromium`, or `CHROMIUM`).
//! Where one is missing the tests print `SKIPPED: …` and pass, except when `CI` is set, where
//! they fail; `.ci/run` installs all three.

use crate::both_engines;
use crate::helpers::{spawn_app, Engine, TestApp, TestBusiness};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest one browser run may take, browser start included.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

both_engines!(
    the_page_turns_to_paid_by_itself_and_returns_to_the_business,
    the_page_turns_to_expired_by_itself_when_the_time_is_up,
    the_page_works_without_javascript,
    a_payment_link_is_paid_with_the_institutions_otp,
);

pub(crate) fn browser_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/browser"))
}

pub(crate) fn screenshot_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../artifacts/screenshots"
    ))
}

pub(crate) fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Whether node, Playwright and Chromium are all there. Outside CI a missing one skips the test
/// (with the reason printed); in CI it fails it.
pub(crate) fn browser_available() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let missing = if !node.is_ok_and(|status| status.success()) {
        Some("`node` is not on PATH (install Node.js 20 or newer)".to_owned())
    } else if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        Some(format!(
            "playwright-core is not installed (run `npm ci` in {})",
            browser_dir().display()
        ))
    } else if !chromium().is_file() {
        Some(format!(
            "Chromium is not at {} (install the Debian package `chromium`, or set CHROMIUM)",
            chromium().display()
        ))
    } else {
        None
    };
    match missing {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("the browser tests are required in CI: {why}")
        }
        Some(why) => {
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

/// A checkout for ₦1,000 (₦1,005 to pay with the customer bearing the fee) whose callback is
/// this same server's `/healthz`, so the page's redirect lands somewhere that answers.
async fn create_checkout(app: &TestApp, business: &TestBusiness) -> Value {
    let answer = app
        .post(
            "/v1/checkout/",
            &business.duplo(),
            json!({
                "business_id": business.id,
                "amount": 1000,
                "fee_bearer": "customer",
                "customer_email": "ngozi@example.com",
                "callback_url": format!("{}/healthz", app.address),
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let data = answer.body["data"].clone();
    let url = data["checkout_url"].as_str().expect("a checkout_url");
    assert!(
        url.starts_with(&format!("{}/checkout/che_", app.address)),
        "{url}"
    );
    data
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Kills the script if the test panics or gives up on it.
struct Script(Child);

impl Drop for Script {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs the browser script in `mode` against the checkout, calling `on_line` with each line it
/// prints as it prints it, and asserts it succeeds within the timeout.
async fn run_script(
    app: &TestApp,
    business: &TestBusiness,
    checkout: &Value,
    mode: &str,
    on_line: impl FnMut(&str),
) {
    let env = [
        ("MODE", mode.to_owned()),
        ("CHECKOUT_URL", text(&checkout["checkout_url"])),
        ("API_BASE", app.address.clone()),
        ("SECRET_KEY", business.secret_key.clone()),
        ("ACCOUNT_NUMBER", text(&checkout["account_number"])),
        ("AMOUNT", text(&checkout["amount"])),
        ("BANK_NAME", text(&checkout["bank_name"])),
        ("ACCOUNT_NAME", text(&checkout["account_name"])),
        ("CALLBACK_URL", text(&checkout["callback_url"])),
    ];
    run_node("checkout.mjs", mode, &env, on_line).await;
}

/// Runs `script` from tests/browser with `env`, printing and passing on each line as it comes,
/// and asserts it exits successfully, having printed `PASS: {mode}`, within the timeout.
pub(crate) async fn run_node(
    file: &str,
    mode: &str,
    env: &[(&str, String)],
    mut on_line: impl FnMut(&str),
) {
    let started = Instant::now();
    let mut command = Command::new("node");
    command
        .arg(file)
        .current_dir(browser_dir())
        .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
        .env("SCREENSHOT_DIR", screenshot_dir())
        .env("CHROMIUM", chromium())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("node starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let mut script = Script(child);

    // Lines arrive on a thread (std pipes block) and reach this task through a channel.
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let deadline = tokio::time::Instant::now() + SCRIPT_TIMEOUT;
    let mut transcript = Vec::new();
    let mut timed_out = false;
    loop {
        match tokio::time::timeout_at(deadline, lines.recv()).await {
            Ok(Some(line)) => {
                println!("[{mode}] {line}");
                on_line(&line);
                transcript.push(line);
            }
            Ok(None) => break,
            Err(_) => {
                timed_out = true;
                break;
            }
        }
    }
    let status = loop {
        if timed_out {
            let _ = script.0.kill();
        }
        match script.0.try_wait().expect("the script's status") {
            Some(status) => break status,
            None if tokio::time::Instant::now() >= deadline => timed_out = true,
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let stderr = errors.join().unwrap_or_default();
    let elapsed = started.elapsed();
    println!("[{mode}] finished in {:.1} s", elapsed.as_secs_f64());
    let report = format!(
        "the browser check `{mode}` {} after {:.1} s\n--- stdout\n{}\n--- stderr\n{stderr}",
        if timed_out {
            "timed out".to_owned()
        } else {
            format!("exited with {status}")
        },
        elapsed.as_secs_f64(),
        transcript.join("\n"),
    );
    assert!(!timed_out && status.success(), "{report}");
    assert!(
        transcript
            .iter()
            .any(|line| line == &format!("PASS: {mode}")),
        "{report}"
    );
}

async fn the_page_turns_to_paid_by_itself_and_returns_to_the_business(engine: Engine) {
    if !browser_available() {
        return;
    }
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let checkout = create_checkout(&app, &business).await;
    run_script(&app, &business, &checkout, "pay", |_| {}).await;

    let reference = text(&checkout["checkout_reference"]);
    let verified = app
        .get(
            &format!("/checkout/{reference}/status"),
            &crate::helpers::Auth::None,
        )
        .await;
    assert_eq!(verified.body["status"], "successful", "{}", verified.text);
    app.finish().await;
}

async fn the_page_turns_to_expired_by_itself_when_the_time_is_up(engine: Engine) {
    if !browser_available() {
        return;
    }
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let checkout = create_checkout(&app, &business).await;
    let expires_after =
        i64::try_from(app.services.config.checkout_expires_after_secs).expect("a sane expiry");
    let clock = app.clock.clone();
    let mut advanced = false;
    run_script(&app, &business, &checkout, "expire", |line| {
        if line == "PAGE_OPEN" && !advanced {
            clock.advance_secs(expires_after + 1);
            advanced = true;
        }
    })
    .await;
    assert!(advanced, "the script never said PAGE_OPEN");
    app.finish().await;
}

async fn the_page_works_without_javascript(engine: Engine) {
    if !browser_available() {
        return;
    }
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let checkout = create_checkout(&app, &business).await;
    run_script(&app, &business, &checkout, "nojs", |_| {}).await;
    app.finish().await;
}

/// A Beqelal checkout link for 100 birr whose return_url is this same server's `/healthz`, paid
/// on the hosted page from a Kacha DFS wallet with the OTP the sandbox institution texted.
async fn a_payment_link_is_paid_with_the_institutions_otp(engine: Engine) {
    if !browser_available() {
        return;
    }
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let return_url = format!("{}/healthz", app.address);
    let link = app
        .post(
            "/api/v1/create/checkout",
            &business.beqelal(),
            json!({
                "phone": "+251911234567",
                "amount": 100,
                "trace_number": "BROWSER-1",
                "return_url": return_url,
            }),
        )
        .await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.text);
    let env = [
        ("PAY_URL", text(&link.body["checkout_url"])),
        ("API_BASE", app.address.clone()),
        ("APP_ID", business.app_id.clone()),
        ("API_KEY", business.api_key.clone()),
        ("ACCOUNT", "251911234567".to_owned()),
        ("AMOUNT_TEXT", "ETB 100.00".to_owned()),
        ("RETURN_URL", return_url),
    ];
    run_node("paylink.mjs", "paylink", &env, |_| {}).await;

    let read = app
        .get(
            &format!("/api/v1/payment-link/{}", text(&link.body["reference"])),
            &business.beqelal(),
        )
        .await;
    assert_eq!(read.body["status"], "PAID", "{}", read.text);
    app.finish().await;
}
