//! The command line: `serve`, `migrate`, `ledger check`,
//! `business create|set|keys|new-key|revoke-key|rotate-webhook-secret`,
//! `webhooks list|redeliver|test`, `reconcile`, `bank-sim`.

use crate::clock::{iso_millis, SystemClock};
use crate::config::Config;
use crate::services::audit::Actor;
use crate::services::businesses::{CreatedBusiness, NewBusiness, PreferenceInput};
use crate::services::AppError;
use crate::store::businesses::{self, CredentialKind, CredentialRecord, Mode};
use crate::{App, StartError};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ducat_core::ids::BusinessId;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "ducat",
    version,
    about = "A self-hosted payment gateway speaking the Duplo and Beqelal APIs"
)]
pub struct Cli {
    /// Configuration file (default: ducat.toml in the working directory, if present).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (SQLite ./ducat.db unless DATABASE_URL says otherwise).
    Serve,
    /// Create or bring the database schema up to date, then exit.
    Migrate,
    /// Inspect the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Create businesses and change their preferences.
    #[command(subcommand)]
    Business(BusinessCommand),
    /// See a business's webhook events and their deliveries; redeliver one; send a test event.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Match one day's bank statement with the ledger; exit 0 when clean, 1 on mismatches, 2
    /// when it cannot be done (a bad date, the bank unreachable).
    Reconcile(ReconcileArgs),
    /// Run the reference bank of the bank-adapter protocol (docs/bank-adapter.md), with faults
    /// on demand. It has its own SQLite file and never touches the gateway's database.
    BankSim(BankSimArgs),
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The UTC day, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// Which bank: `test` (the in-process sandbox) or `live` (the configured rail).
    #[arg(long, value_enum, default_value_t = ReconcileMode::Live)]
    pub mode: ReconcileMode,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReconcileMode {
    Test,
    Live,
}

#[derive(Debug, Args)]
pub struct BankSimArgs {
    /// Address to serve on (port 0 picks a free one; the address is printed).
    #[arg(long)]
    pub listen: std::net::SocketAddr,
    /// The bank-sim's own SQLite file.
    #[arg(long, default_value = "bank-sim.db")]
    pub database: PathBuf,
    /// Require `Authorization: Bearer TOKEN` on every request.
    #[arg(long, env = "DUCAT_BANK_SIM_TOKEN")]
    pub token: Option<String>,
    /// Probability (0 to 1) that a request is answered 503 without effect.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate_5xx: f64,
    /// Probability (0 to 1) that a request's answer is dropped after the transfer was applied.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate_drop_after_apply: f64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// How long the simulated customer takes to approve a direct debit's push prompt.
    #[arg(long, default_value_t = 3_000)]
    pub push_approve_after_ms: u64,
    /// ducat's base URL for inflow notifications (`{URL}/bank/v1/notifications/inflows`);
    /// without it inflows are recorded and never notified.
    #[arg(long)]
    pub notify_url: Option<String>,
    /// The secret inflow notifications are signed with (ducat's `rail_http_notification_secret`).
    #[arg(long, env = "DUCAT_BANK_SIM_NOTIFY_SECRET")]
    pub notify_secret: Option<String>,
    /// The wait after a notification's first failed delivery; doubled each time.
    #[arg(long, default_value_t = 200)]
    pub notify_backoff_ms: u64,
    /// The longest wait between deliveries of one notification.
    #[arg(long, default_value_t = 5_000)]
    pub notify_backoff_cap_ms: u64,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("a rate is a number from 0 to 1, not {text:?}")),
    }
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List a business's most recent events, newest first, with where each delivery stands.
    List(WebhooksListArgs),
    /// Put one event's delivery back to pending with a fresh schedule, due now.
    Redeliver(WebhooksEventArgs),
    /// Append a WEBHOOK_TEST event addressed to the business's webhook URL.
    Test(WebhooksBusinessArgs),
}

#[derive(Debug, Args)]
pub struct WebhooksListArgs {
    pub business_id: String,
    /// How many events to show, newest first (1 to 200).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=200))]
    pub limit: i64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WebhooksEventArgs {
    pub business_id: String,
    pub event_id: String,
}

#[derive(Debug, Args)]
pub struct WebhooksBusinessArgs {
    pub business_id: String,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Exit 0 when every ledger invariant holds; otherwise name each broken one and exit 1.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum BusinessCommand {
    /// Create a business with its keys, wallets and first dashboard user.
    Create(CreateArgs),
    /// Change a business's preferences.
    Set(SetArgs),
    /// List a business's API credentials (key prefixes only; full keys are never stored).
    Keys(KeysArgs),
    /// Issue a new API credential and print its key, this once.
    NewKey(NewKeyArgs),
    /// Revoke an API credential: calls with its key are refused from then on.
    RevokeKey(RevokeKeyArgs),
    /// Issue a new webhook secret and print it, this once; the old one keeps signing deliveries
    /// (next to the new one) for the overlap.
    RotateWebhookSecret(RotateArgs),
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    pub business_id: String,
    /// How long the old secret keeps signing too (default: webhook_secret_overlap_secs).
    #[arg(long)]
    pub overlap_secs: Option<u64>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    pub business_id: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyKind {
    /// A Duplo secret key (`Authorization: Bearer dp_…`).
    Duplo,
    /// A Beqelal `app-id` + `api-key` pair.
    Beqelal,
}

impl From<KeyKind> for CredentialKind {
    fn from(kind: KeyKind) -> CredentialKind {
        match kind {
            KeyKind::Duplo => CredentialKind::DuploSecret,
            KeyKind::Beqelal => CredentialKind::Beqelal,
        }
    }
}

#[derive(Debug, Args)]
pub struct NewKeyArgs {
    pub business_id: String,
    #[arg(long, value_enum)]
    pub kind: KeyKind,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RevokeKeyArgs {
    pub business_id: String,
    pub credential_id: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub name: String,
    /// The phone number payout OTPs are sent to, in E.164 form (+2348012345678).
    #[arg(long)]
    pub otp_phone: String,
    #[arg(long)]
    pub email: Option<String>,
    /// Create the business in live mode (real rail) instead of test mode (sandbox bank).
    #[arg(long)]
    pub live: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    pub business_id: String,
    #[arg(long)]
    pub otp_phone: Option<String>,
    /// Allow API calls only from these addresses (CIDR[,CIDR…]).
    #[arg(long, conflicts_with = "ip_allow_any")]
    pub ip_allow: Option<String>,
    /// Allow API calls from any address.
    #[arg(long)]
    pub ip_allow_any: bool,
    /// Where webhooks are delivered; an empty value removes it.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Payout fee: the flat part in naira (with --payout-fee-percent; --payout-fee-cap optional).
    #[arg(long, requires = "payout_fee_percent")]
    pub payout_fee_flat: Option<String>,
    /// Payout fee: the percentage part, e.g. 0.1 for 0.10 %.
    #[arg(long, requires = "payout_fee_flat")]
    pub payout_fee_percent: Option<String>,
    /// Payout fee: the most it can be, in naira; without it the fee has no cap.
    #[arg(long, requires = "payout_fee_flat")]
    pub payout_fee_cap: Option<String>,
    /// Whether v1 payouts must carry a payout OTP.
    #[arg(long, value_parser = ["on", "off"])]
    pub payout_otp: Option<String>,
}

/// `10` naira, `0.1` percent and an optional cap into a fee schedule.
fn parse_fee_schedule(
    flat: &str,
    percent: &str,
    cap: Option<&str>,
) -> Result<ducat_core::fees::FeeSchedule, String> {
    use ducat_core::money::{parse_major, Currency};
    let flat = parse_major(flat, Currency::Ngn).map_err(|e| format!("--payout-fee-flat {e}"))?;
    // A percentage with two decimals is a whole number of basis points.
    let basis_points = parse_major(percent, Currency::Ngn)
        .map_err(|e| format!("--payout-fee-percent {e}"))?
        .get();
    let basis_points = u32::try_from(basis_points)
        .ok()
        .filter(|bps| *bps <= 10_000)
        .ok_or("--payout-fee-percent must be at most 100")?;
    let cap = cap
        .map(|c| parse_major(c, Currency::Ngn).map_err(|e| format!("--payout-fee-cap {e}")))
        .transpose()?;
    Ok(ducat_core::fees::FeeSchedule {
        flat,
        basis_points,
        cap,
    })
}

/// Runs a parsed command. Returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32, StartError> {
    // The bank-sim is another party: the gateway's configuration is none of its business.
    if let Command::BankSim(args) = cli.command {
        return bank_sim(args).await;
    }
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let config = Config::load(cli.config.as_deref(), &env)?;
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let app = App::build(config, Arc::new(SystemClock)).await?;
            app.services().store.close().await;
            println!("database is up to date");
            Ok(0)
        }
        Command::Ledger(LedgerCommand::Check) => ledger_check(config).await,
        Command::Reconcile(args) => reconcile(config, args).await,
        Command::Business(BusinessCommand::Create(args)) => business_create(config, args).await,
        Command::Business(BusinessCommand::Set(args)) => business_set(config, args).await,
        Command::Business(BusinessCommand::Keys(args)) => business_keys(config, args).await,
        Command::Business(BusinessCommand::NewKey(args)) => business_new_key(config, args).await,
        Command::Business(BusinessCommand::RevokeKey(args)) => {
            business_revoke_key(config, args).await
        }
        Command::Business(BusinessCommand::RotateWebhookSecret(args)) => {
            business_rotate_webhook_secret(config, args).await
        }
        Command::Webhooks(WebhooksCommand::List(args)) => webhooks_list(config, args).await,
        Command::Webhooks(WebhooksCommand::Redeliver(args)) => {
            webhooks_redeliver(config, args).await
        }
        Command::Webhooks(WebhooksCommand::Test(args)) => webhooks_test(config, args).await,
        Command::BankSim(args) => bank_sim(args).await,
    }
}

async fn bank_sim(args: BankSimArgs) -> Result<i32, StartError> {
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let config = crate::bank_sim::BankSimConfig {
        database: args.database,
        token: args.token,
        rates: crate::bank_sim::faults::FaultRates {
            rate_5xx: args.fault_rate_5xx,
            rate_drop_after_apply: args.fault_rate_drop_after_apply,
            latency: std::time::Duration::from_millis(args.latency_ms),
        },
        push_approve_after: std::time::Duration::from_millis(args.push_approve_after_ms),
        notify: crate::bank_sim::inflows::NotifyConfig {
            url: args.notify_url,
            secret: args.notify_secret.unwrap_or_default(),
            backoff_base: std::time::Duration::from_millis(args.notify_backoff_ms),
            backoff_cap: std::time::Duration::from_millis(args.notify_backoff_cap_ms),
        },
    };
    println!("bank-sim is serving on http://{}", listener.local_addr()?);
    let _ = std::io::stdout().flush();
    crate::bank_sim::serve(config, listener, shutdown)
        .await
        .map_err(|e| StartError::Io(std::io::Error::other(e.to_string())))?;
    Ok(0)
}

async fn serve(config: Config) -> Result<i32, StartError> {
    let shutdown = shutdown_signal()?;
    let listen = config.listen;
    let base_url = config.base_url();
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let base_url = if base_url.ends_with(":0") {
        format!("http://{}", listener.local_addr()?)
    } else {
        base_url
    };
    if let Some(demo) = app.ensure_demo_business().await? {
        print_demo(&demo, &base_url);
    }
    tracing::info!(address = %listener.local_addr()?, "ducat is serving");
    println!("ducat is serving on {base_url}");
    let _ = std::io::stdout().flush();
    app.run(listener, shutdown).await?;
    Ok(0)
}

fn print_demo(demo: &CreatedBusiness, base_url: &str) {
    let ngn = demo.wallets.iter().find(|w| w.currency == "NGN");
    println!("A demo business was created in test mode. Its secrets are shown this once:");
    println!();
    println!("  business_id         {}", demo.business_id);
    println!("  Duplo secret key    {}", demo.secret_key);
    println!("  Beqelal app-id      {}", demo.app_id);
    println!("  Beqelal api-key     {}", demo.api_key);
    println!("  webhook secret      {}", demo.webhook_secret);
    println!("  dashboard           {base_url}/dashboard");
    println!(
        "  dashboard login     {} / {}",
        demo.dashboard_login, demo.dashboard_password
    );
    for wallet in &demo.wallets {
        println!(
            "  wallet {}          {} ({} account {})",
            wallet.currency, wallet.wallet_ref, wallet.bank_name, wallet.account_number
        );
    }
    println!();
    if let Some(ngn) = ngn {
        println!("Fund the NGN wallet through the sandbox bank, then read its balance:");
        println!(
            "  curl -s -X POST {base_url}/sandbox/v1/bank/transfers -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{\"account_number\":\"{}\",\"amount\":\"50000\"}}'",
            demo.secret_key, ngn.account_number
        );
        println!(
            "  curl -s '{base_url}/v1/wallets/balance/{}?business_id={}' -H 'Authorization: Bearer {}'",
            ngn.wallet_ref, demo.business_id, demo.secret_key
        );
    }
    println!();
}

/// Registers for SIGTERM and Ctrl-C now, so a signal that arrives while the server is still
/// starting is not lost (or, worse, fatal), and returns the future that resolves on one.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

async fn ledger_check(config: Config) -> Result<i32, StartError> {
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let violations = crate::store::ledger::check(&app.services().store).await?;
    app.services().store.close().await;
    if violations.is_empty() {
        println!("ledger check: every invariant holds");
        return Ok(0);
    }
    for violation in &violations {
        println!("BROKEN {}: {}", violation.invariant, violation.detail);
    }
    println!("ledger check: {} violation(s)", violations.len());
    Ok(1)
}

async fn reconcile(config: Config, args: ReconcileArgs) -> Result<i32, StartError> {
    use crate::services::reconcile::RailChoice;
    use ducat_core::reconcile::{Day, Mismatch, Movement};
    let Some(day) = Day::parse(&args.date) else {
        eprintln!(
            "error: --date must be a UTC day written YYYY-MM-DD, not {:?}",
            args.date
        );
        return Ok(2);
    };
    let choice = match args.mode {
        ReconcileMode::Test => RailChoice::Test,
        ReconcileMode::Live => RailChoice::Live,
    };
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let result = app.services().reconcile(day, choice, None).await;
    app.services().store.close().await;
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: cannot reconcile {day}: {error}");
            return Ok(2);
        }
    };
    let direction = |m: &Movement| match m.direction {
        ducat_core::reconcile::Direction::In => "in",
        ducat_core::reconcile::Direction::Out => "out",
    };
    let describe = |m: &Movement| {
        serde_json::json!({
            "direction": direction(m),
            "currency": m.currency.code(),
            "amount": m.amount.get(),
        })
    };
    let short = |m: &Movement| format!("{} {} {}", direction(m), m.currency.code(), m.amount.get());
    let mismatches: Vec<serde_json::Value> = report
        .outcome
        .mismatches
        .iter()
        .map(|mismatch| {
            let kind = report.kind_of(mismatch.reference());
            match mismatch {
                Mismatch::MissingInLedger { bank } => serde_json::json!({
                    "reference": bank.reference, "kind": kind, "problem": "missing in ledger",
                    "bank": describe(bank),
                }),
                Mismatch::MissingAtBank { ledger } => serde_json::json!({
                    "reference": ledger.reference, "kind": kind, "problem": "missing at bank",
                    "ledger": describe(ledger),
                }),
                Mismatch::Differs { bank, ledger } => serde_json::json!({
                    "reference": bank.reference, "kind": kind, "problem": "differs",
                    "bank": describe(bank), "ledger": describe(ledger),
                }),
            }
        })
        .collect();
    let clean = report.outcome.is_clean();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "date": day.to_string(),
                "mode": choice.as_str(),
                "clean": clean,
                "matched": report.outcome.matched,
                "mismatches": mismatches,
            })
        );
    } else {
        for mismatch in &report.outcome.mismatches {
            let reference = mismatch.reference();
            let kind = report.kind_of(reference);
            match mismatch {
                Mismatch::MissingInLedger { bank } => {
                    println!(
                        "missing in ledger: {reference} ({kind}, bank: {})",
                        short(bank)
                    )
                }
                Mismatch::MissingAtBank { ledger } => {
                    println!(
                        "missing at bank: {reference} ({kind}, ledger: {})",
                        short(ledger)
                    )
                }
                Mismatch::Differs { bank, ledger } => println!(
                    "differs: {reference} ({kind}, bank: {}, ledger: {})",
                    short(bank),
                    short(ledger)
                ),
            }
        }
        if clean {
            println!("clean: {} movements matched", report.outcome.matched);
        } else {
            println!(
                "{day}: {} mismatch(es), {} movements matched",
                report.outcome.mismatches.len(),
                report.outcome.matched
            );
        }
    }
    Ok(if clean { 0 } else { 1 })
}

async fn business_create(config: Config, args: CreateArgs) -> Result<i32, StartError> {
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let created = app
        .services()
        .create_business(NewBusiness {
            name: args.name,
            email: args.email,
            otp_phone: Some(args.otp_phone),
            mode: if args.live { Mode::Live } else { Mode::Test },
        })
        .await;
    app.services().store.close().await;
    let created = match created {
        Ok(created) => created,
        Err(error) => return Ok(fail(&error.to_string())),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&created).unwrap_or_default()
        );
    } else {
        println!("business_id         {}", created.business_id);
        println!("mode                {}", created.mode);
        println!("secret_key          {}", created.secret_key);
        println!("app_id              {}", created.app_id);
        println!("api_key             {}", created.api_key);
        println!("webhook_secret      {}", created.webhook_secret);
        println!("verify_hash         {}", created.verify_hash);
        println!("dashboard_login     {}", created.dashboard_login);
        println!("dashboard_password  {}", created.dashboard_password);
        for wallet in &created.wallets {
            println!(
                "wallet              {} {} at {} {}",
                wallet.currency, wallet.wallet_ref, wallet.bank_name, wallet.account_number
            );
        }
    }
    Ok(0)
}

async fn business_set(config: Config, args: SetArgs) -> Result<i32, StartError> {
    let Some(business_id) = BusinessId::parse(&args.business_id) else {
        return Ok(fail(&format!(
            "{:?} is not a business id (a UUID)",
            args.business_id
        )));
    };
    let payout_fees = match (&args.payout_fee_flat, &args.payout_fee_percent) {
        (Some(flat), Some(percent)) => {
            match parse_fee_schedule(flat, percent, args.payout_fee_cap.as_deref()) {
                Ok(schedule) => Some(schedule),
                Err(message) => return Ok(fail(&message)),
            }
        }
        _ => None,
    };
    let changes = PreferenceInput {
        otp_phone: args.otp_phone.map(Some),
        ip_allowlist: if args.ip_allow_any {
            Some(String::new())
        } else {
            args.ip_allow
        },
        webhook_url: args
            .webhook_url
            .map(|url| Some(url).filter(|u| !u.trim().is_empty())),
        verify_hash: None,
        payout_fees,
        payout_otp_enabled: args.payout_otp.as_deref().map(|v| v == "on"),
    };
    if changes.otp_phone.is_none()
        && changes.ip_allowlist.is_none()
        && changes.webhook_url.is_none()
        && changes.payout_fees.is_none()
        && changes.payout_otp_enabled.is_none()
    {
        return Ok(fail(
            "nothing to change: give --otp-phone, --ip-allow, --ip-allow-any, --webhook-url, --payout-fee-… or --payout-otp",
        ));
    }
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let result = app
        .services()
        .set_preferences(&business_id, &Actor::Cli, changes)
        .await;
    app.services().store.close().await;
    match result {
        Ok(()) => {
            println!("preferences of {business_id} updated");
            Ok(0)
        }
        Err(error) => Ok(fail(&error.to_string())),
    }
}

fn parse_business_id(text: &str) -> Result<BusinessId, i32> {
    BusinessId::parse(text).ok_or_else(|| fail(&format!("{text:?} is not a business id (a UUID)")))
}

/// One credential as `business keys --json` prints it.
#[derive(Debug, Serialize)]
struct CredentialSummary {
    id: String,
    kind: &'static str,
    mode: &'static str,
    app_id: Option<String>,
    key_prefix: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
    status: &'static str,
}

impl From<&CredentialRecord> for CredentialSummary {
    fn from(credential: &CredentialRecord) -> Self {
        CredentialSummary {
            id: credential.id.clone(),
            kind: credential.kind.as_str(),
            mode: credential.mode.as_str(),
            app_id: credential.app_id.clone(),
            key_prefix: credential.key_prefix.clone(),
            created_at: iso_millis(credential.created_at),
            last_used_at: credential.last_used_at.map(iso_millis),
            revoked_at: credential.revoked_at.map(iso_millis),
            status: if credential.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            },
        }
    }
}

async fn business_keys(config: Config, args: KeysArgs) -> Result<i32, StartError> {
    let business_id = match parse_business_id(&args.business_id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let services = app.services();
    let listed = match services.business(&business_id).await {
        Ok(_) => businesses::list_credentials(&services.store, &business_id)
            .await
            .map_err(AppError::from),
        Err(error) => Err(error),
    };
    services.store.close().await;
    let credentials: Vec<CredentialSummary> = match listed {
        Ok(records) => records.iter().map(CredentialSummary::from).collect(),
        Err(error) => return Ok(fail(&error.to_string())),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&credentials).unwrap_or_default()
        );
        return Ok(0);
    }
    // Every row has the same number of fields ("-" for an absent value) so the listing can
    // be cut and awked.
    println!(
        "{:<21}  {:<12}  {:<4}  {:<20}  {:<12}  {:<24}  {:<24}  revoked_at",
        "id", "kind", "mode", "app_id", "key_prefix", "created_at", "last_used_at"
    );
    for c in &credentials {
        println!(
            "{:<21}  {:<12}  {:<4}  {:<20}  {:<12}  {:<24}  {:<24}  {}",
            c.id,
            c.kind,
            c.mode,
            c.app_id.as_deref().unwrap_or("-"),
            c.key_prefix,
            c.created_at,
            c.last_used_at.as_deref().unwrap_or("-"),
            c.revoked_at.as_deref().unwrap_or("active"),
        );
    }
    Ok(0)
}

/// A freshly issued credential as `business new-key` prints it: the key is shown this once.
#[derive(Debug, Serialize)]
struct NewCredential {
    credential_id: String,
    business_id: String,
    kind: &'static str,
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
}

async fn business_new_key(config: Config, args: NewKeyArgs) -> Result<i32, StartError> {
    let business_id = match parse_business_id(&args.business_id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let kind = CredentialKind::from(args.kind);
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let services = app.services();
    // The foreign key would refuse an unknown business too, but only as an internal error;
    // checking first names the problem.
    let issued = match services.business(&business_id).await {
        Ok(_) => {
            services
                .issue_credential(&business_id, &Actor::Cli, kind)
                .await
        }
        Err(error) => Err(error),
    };
    services.store.close().await;
    let issued = match issued {
        Ok(issued) => issued,
        Err(error) => return Ok(fail(&error.to_string())),
    };
    let key = issued.key.expose().to_owned();
    let (secret_key, api_key) = match kind {
        CredentialKind::DuploSecret => (Some(key), None),
        CredentialKind::Beqelal => (None, Some(key)),
    };
    let printed = NewCredential {
        credential_id: issued.record.id,
        business_id: business_id.to_string(),
        kind: kind.as_str(),
        mode: issued.record.mode.as_str(),
        secret_key,
        app_id: issued.app_id,
        api_key,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&printed).unwrap_or_default()
        );
        return Ok(0);
    }
    println!("credential_id       {}", printed.credential_id);
    println!("business_id         {}", printed.business_id);
    println!("kind                {}", printed.kind);
    println!("mode                {}", printed.mode);
    if let Some(secret_key) = &printed.secret_key {
        println!("secret_key          {secret_key}");
    }
    if let Some(app_id) = &printed.app_id {
        println!("app_id              {app_id}");
    }
    if let Some(api_key) = &printed.api_key {
        println!("api_key             {api_key}");
    }
    Ok(0)
}

async fn business_revoke_key(config: Config, args: RevokeKeyArgs) -> Result<i32, StartError> {
    let business_id = match parse_business_id(&args.business_id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let services = app.services();
    let message = match services.business(&business_id).await {
        Err(error) => Some(error.to_string()),
        Ok(_) => match services
            .revoke_credential(&business_id, &Actor::Cli, &args.credential_id)
            .await
        {
            Ok(()) => None,
            Err(AppError::NotFound(_)) => {
                Some(why_not_revoked(services, &business_id, &args.credential_id).await)
            }
            Err(error) => Some(error.to_string()),
        },
    };
    services.store.close().await;
    match message {
        None => {
            println!("credential {} of {business_id} revoked", args.credential_id);
            Ok(0)
        }
        Some(message) => Ok(fail(&message)),
    }
}

/// The service answers "no active credential" both for an unknown id and for one already
/// revoked; the operator is better served by knowing which, and since when.
async fn why_not_revoked(
    services: &crate::services::Services,
    business_id: &BusinessId,
    credential_id: &str,
) -> String {
    let known = match businesses::list_credentials(&services.store, business_id).await {
        Ok(all) => all.into_iter().find(|c| c.id == credential_id),
        Err(error) => return error.to_string(),
    };
    match known.and_then(|c| c.revoked_at) {
        Some(at) => format!(
            "credential {credential_id} was already revoked at {}",
            iso_millis(at)
        ),
        None => format!("business {business_id} has no credential {credential_id}"),
    }
}

async fn business_rotate_webhook_secret(
    config: Config,
    args: RotateArgs,
) -> Result<i32, StartError> {
    let business_id = match parse_business_id(&args.business_id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let overlap = args
        .overlap_secs
        .unwrap_or(config.webhook_secret_overlap_secs);
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let rotated = app
        .services()
        .rotate_webhook_secret(&business_id, &Actor::Cli, overlap)
        .await;
    app.services().store.close().await;
    let rotated = match rotated {
        Ok(rotated) => rotated,
        Err(error) => return Ok(fail(&error.to_string())),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rotated).unwrap_or_default()
        );
        return Ok(0);
    }
    println!("business_id         {}", rotated.business_id);
    println!("webhook_secret      {}", rotated.webhook_secret);
    println!(
        "previous secret     still signs deliveries until {}",
        rotated.previous_secret_valid_until
    );
    Ok(0)
}

/// One event as `webhooks list --json` prints it.
#[derive(Debug, Serialize)]
struct EventLine {
    event_id: String,
    event_type: String,
    transaction_ref: Option<String>,
    created_at: String,
    delivery_status: String,
    attempts: i64,
    url: Option<String>,
}

async fn webhooks_list(config: Config, args: WebhooksListArgs) -> Result<i32, StartError> {
    let business_id = match parse_business_id(&args.business_id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let services = app.services();
    let listed = match services.business(&business_id).await {
        Ok(business) => {
            crate::store::webhooks::list_events(&services.store, &business_id, 1, args.limit)
                .await
                .map(|(events, _)| (business, events))
                .map_err(AppError::from)
        }
        Err(error) => Err(error),
    };
    services.store.close().await;
    let (business, events) = match listed {
        Ok(listed) => listed,
        Err(error) => return Ok(fail(&error.to_string())),
    };
    let lines: Vec<EventLine> = events
        .iter()
        .map(|e| EventLine {
            event_id: e.event_id.clone(),
            event_type: e.event_type.clone(),
            transaction_ref: e.transaction_ref.clone(),
            created_at: iso_millis(e.created_at),
            // No delivery row: the event had nowhere to go when it was raised.
            delivery_status: e.delivery_status.clone().unwrap_or_else(|| "none".into()),
            attempts: e.attempts,
            url: e.url.clone(),
        })
        .collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&lines).unwrap_or_default()
        );
        return Ok(0);
    }
    if let (Some(at), Some(url)) = (business.webhook_disabled_at, &business.webhook_disabled_url) {
        println!(
            "webhook endpoint {url} is DISABLED since {} ({}); set a webhook URL to re-enable it",
            iso_millis(at),
            business
                .webhook_disabled_reason
                .as_deref()
                .unwrap_or("410 Gone")
        );
    }
    // Every row has the same number of fields ("-" for an absent value), as `business keys`.
    println!(
        "{:<30}  {:<20}  {:<24}  {:<9}  {:>8}  url",
        "event_id", "event_type", "created_at", "status", "attempts"
    );
    for line in &lines {
        println!(
            "{:<30}  {:<20}  {:<24}  {:<9}  {:>8}  {}",
            line.event_id,
            line.event_type,
            line.created_at,
            line.delivery_status,
            line.attempts,
            line.url.as_deref().unwrap_or("-"),
        );
    }
    Ok(0)
}

async fn webhooks_redeliver(config: Config, args: WebhooksEventArgs) -> Result<i32, StartError> {
    let business_id = match parse_business_id(&args.business_id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let services = app.services();
    let result = match services.business(&business_id).await {
        Ok(_) => services.redeliver_event(&business_id, &args.event_id).await,
        Err(error) => Err(error),
    };
    services.store.close().await;
    match result {
        Ok(()) => {
            println!(
                "event {} queued for redelivery: the running server's webhook worker sends it",
                args.event_id
            );
            Ok(0)
        }
        Err(error) => Ok(fail(&error.to_string())),
    }
}

async fn webhooks_test(config: Config, args: WebhooksBusinessArgs) -> Result<i32, StartError> {
    let business_id = match parse_business_id(&args.business_id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let services = app.services();
    let result = services.append_test_event(&business_id).await;
    services.store.close().await;
    match result {
        // Only appended: the server's worker sends it like any other event, from where the
        // deployment's network and delivery settings apply, and retries it on the schedule.
        Ok(event_id) => {
            println!(
                "test event {event_id} appended: the running server's webhook worker delivers it \
                 (see `ducat webhooks list {business_id}`)"
            );
            Ok(0)
        }
        Err(error) => Ok(fail(&error.to_string())),
    }
}

fn fail(message: &str) -> i32 {
    eprintln!("error: {message}");
    1
}
