//! The results: what is kept (and written as JSON) and how it is printed.

use crate::database::Engine;
use crate::load::Mode;
use crate::metrics::{EndpointSummary, Summary};
use crate::pgbench::Ceiling;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Run {
    pub ducat: String,
    pub command: Vec<String>,
    pub engines: Vec<EngineRun>,
    /// Every scenario error-free and every ledger check clean.
    pub passed: bool,
}

#[derive(Debug, Serialize)]
pub struct EngineRun {
    pub engine: Engine,
    pub concurrency: usize,
    /// PostgreSQL only.
    pub pgbench: Option<Ceiling>,
    pub scenarios: Vec<ScenarioRun>,
    pub ledger_check: Option<LedgerCheck>,
    /// Why the engine run stopped before its scenarios (the database or server did not start).
    pub failure: Option<String>,
    /// When any call failed: the server's last warnings and errors, which say why.
    pub server_log_tail: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ScenarioRun {
    pub scenario: &'static str,
    pub mode: Mode,
    pub duration_secs: f64,
    #[serde(flatten)]
    pub summary: Summary,
    pub server_peak_rss_kb: Option<u64>,
    /// False when the kernel would not reset the peak: it then covers the server's whole life.
    pub peak_rss_is_this_scenarios: bool,
    pub server_cpu_cores: Option<f64>,
    pub bench_cpu_cores: Option<f64>,
    /// The server's group-commit lane over the scenario, from its `/metrics`.
    pub write_lane: Option<crate::lane::LaneProfile>,
}

#[derive(Debug, Serialize)]
pub struct LedgerCheck {
    pub clean: bool,
    pub output: String,
}

impl EngineRun {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
            && self.scenarios.iter().all(|s| s.summary.errors == 0)
            && self.ledger_check.as_ref().is_some_and(|l| l.clean)
    }

    /// The `/healthz` closed-loop calls/s of this engine run: the HTTP ceiling.
    fn healthz_calls_per_sec(&self) -> Option<f64> {
        self.scenarios
            .iter()
            .find(|s| s.scenario == "healthz" && matches!(s.mode, Mode::Closed { .. }))
            .map(|s| s.summary.calls_per_sec)
    }

    fn pgbench_tps(&self) -> Option<f64> {
        match self.pgbench {
            Some(Ceiling::Measured { tps, .. }) => Some(tps),
            _ => None,
        }
    }
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or("?".to_owned(), |kb| format!("{:.1} MB", kb as f64 / 1024.0))
}

fn cores(value: Option<f64>) -> String {
    value.map_or("?".to_owned(), |c| format!("{c:.2}"))
}

fn endpoint_line(e: &EndpointSummary) -> String {
    format!(
        "  {:<58} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        e.route, e.calls, e.p50_ms, e.p99_ms, e.p999_ms, e.max_ms
    )
}

pub fn print_scenario(engine: Engine, run: &ScenarioRun) {
    let s = &run.summary;
    println!();
    println!(
        "── {engine} · {} · {} · {:.1} s (drained in {:.1} s)",
        run.scenario, run.mode, run.duration_secs, s.elapsed_secs
    );
    println!(
        "  flows {} ({:.1}/s)   API calls {} ({:.1}/s, {:.1} mutating/s)   errors {}",
        s.flows, s.flows_per_sec, s.calls, s.calls_per_sec, s.mutating_calls_per_sec, s.errors
    );
    println!(
        "  server: peak RSS {}{}, CPU {} cores   bench: CPU {} cores",
        mb(run.server_peak_rss_kb),
        if run.peak_rss_is_this_scenarios {
            ""
        } else {
            " (since start)"
        },
        cores(run.server_cpu_cores),
        cores(run.bench_cpu_cores)
    );
    if let Some(lane) = run.write_lane.as_ref().filter(|lane| lane.batches > 0.0) {
        println!(
            "  write lane: {:.0} batches, {:.1} transactions per batch, busy {:.0} % of the time \
             (statements {:.0} %, commits {:.0} %)",
            lane.batches,
            lane.transactions_per_batch(),
            lane.busy_share() * 100.0,
            lane.statement_share * 100.0,
            lane.commit_share * 100.0
        );
    }
    println!(
        "  {:<58} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "endpoint (latency in ms)", "calls", "p50", "p99", "p99.9", "max"
    );
    for endpoint in &s.endpoints {
        println!("{}", endpoint_line(endpoint));
    }
    if let Some(flow) = &s.flow {
        println!("{}", endpoint_line(flow));
    }
    for message in &s.first_errors {
        println!("  ERROR {message}");
    }
}

pub fn print_engine_summary(run: &EngineRun) {
    println!();
    println!("══ {} summary ({} clients) ══", run.engine, run.concurrency);
    if let Some(failure) = &run.failure {
        println!("  FAILED: {failure}");
    }
    let healthz = run.healthz_calls_per_sec();
    let pgbench = run.pgbench_tps();
    println!(
        "  {:<16} {:<22} {:>10} {:>10} {:>11} {:>11} {:>11} {:>10} {:>7}",
        "scenario",
        "loop",
        "flows/s",
        "calls/s",
        "mutating/s",
        "÷ healthz",
        "÷ pgbench",
        "peak RSS",
        "errors"
    );
    for s in &run.scenarios {
        let ratio = |value: f64, ceiling: Option<f64>| {
            ceiling
                .filter(|c| *c > 0.0)
                .map_or("-".to_owned(), |c| format!("{:.3}", value / c))
        };
        let mutating = s.summary.mutating_calls_per_sec;
        println!(
            "  {:<16} {:<22} {:>10.1} {:>10.1} {:>11.1} {:>11} {:>11} {:>10} {:>7}",
            s.scenario,
            s.mode.to_string(),
            s.summary.flows_per_sec,
            s.summary.calls_per_sec,
            mutating,
            ratio(s.summary.calls_per_sec, healthz),
            if mutating > 0.0 {
                ratio(mutating, pgbench)
            } else {
                "-".to_owned()
            },
            mb(s.server_peak_rss_kb),
            s.summary.errors
        );
    }
    match &run.pgbench {
        Some(Ceiling::Measured { clients, secs, tps }) => println!(
            "  pgbench TPC-B, scale 1, {clients} clients, -j 2, {secs} s: {tps:.1} tps (÷ pgbench = mutating calls/s ÷ this)"
        ),
        Some(Ceiling::Skipped { reason }) => println!("  pgbench ceiling skipped: {reason}"),
        None => {}
    }
    if let Some(healthz) = healthz {
        println!("  healthz ceiling: {healthz:.1} calls/s (÷ healthz = calls/s ÷ this)");
    }
    if !run.server_log_tail.is_empty() {
        println!("  the server's last warnings and errors:");
        for line in &run.server_log_tail {
            println!("    {line}");
        }
    }
    match &run.ledger_check {
        Some(check) => println!(
            "  ducat ledger check: {}",
            if check.clean {
                check.output.trim().to_owned()
            } else {
                format!("NOT CLEAN\n{}", check.output)
            }
        ),
        None => println!("  ducat ledger check: not run"),
    }
}
