//! `ducat-bench`: measures a built ducat through its public HTTP API on SQLite and PostgreSQL,
//! beside the ceilings of the same machine (`/healthz`, and pgbench on PostgreSQL).
//! It builds nothing: it runs the ducat binary it is given (or the one beside it).

mod args;
mod client;
mod database;
mod engine;
mod lane;
mod load;
mod metrics;
mod pgbench;
mod report;
mod scenarios;
mod server;
mod setup;
mod system;

use args::{Args, EngineChoice};
use clap::Parser;
use database::Engine;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let binary = match args.ducat_binary() {
        Ok(binary) => binary,
        Err(message) => {
            eprintln!("ducat-bench: {message}");
            return ExitCode::from(2);
        }
    };
    let engines = match args.engine {
        EngineChoice::Sqlite => vec![Engine::Sqlite],
        EngineChoice::Postgres => vec![Engine::Postgres],
        EngineChoice::Both => vec![Engine::Sqlite, Engine::Postgres],
    };
    println!(
        "ducat-bench: {} · {} s per scenario · {}",
        binary.display(),
        args.duration_secs(),
        match args.rate {
            None => format!("closed loop, {} in flight", args.concurrency),
            Some(rate) => format!("open loop ({rate:?})"),
        }
    );
    let mut runs = Vec::new();
    for engine in engines {
        let run = engine::run(engine, &args, &binary).await;
        report::print_engine_summary(&run);
        runs.push(run);
    }
    let passed = runs.iter().all(|r| r.passed());
    let result = report::Run {
        ducat: binary.display().to_string(),
        command: std::env::args().collect(),
        engines: runs,
        passed,
    };
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&result)
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(path, text).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("ducat-bench: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    println!(
        "\n{}",
        if passed {
            "ducat-bench: every scenario ran without errors and every ledger check is clean"
        } else {
            "ducat-bench: FAILED (errors above, or a ledger check not clean)"
        }
    );
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
