//! The command line: what to run, against which engine, under which load.

use crate::scenarios::Kind;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

/// Drives every ducat flow through the public HTTP API against a ducat server it starts
/// itself, and prints throughput, per-endpoint latency, errors, peak memory and the ceilings
/// (`/healthz`, and pgbench on PostgreSQL) the figures are compared with.
#[derive(Debug, Clone, Parser)]
#[command(name = "ducat-bench", version)]
pub struct Args {
    /// The ducat binary to benchmark. Default: `ducat` in the directory of this binary, so
    /// `target/release/ducat-bench` measures `target/release/ducat`.
    #[arg(long)]
    pub ducat: Option<PathBuf>,

    /// Which storage engines to run every scenario on.
    #[arg(long, value_enum, default_value_t = EngineChoice::Both)]
    pub engine: EngineChoice,

    /// The PostgreSQL server: a fresh database is created on it for the run and dropped after.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_url: String,

    /// The scenarios to run, comma-separated, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "healthz,inflows,payouts,direct-payments,reads"
    )]
    pub scenarios: Vec<Kind>,

    /// Closed loop: this many flows in flight at all times (also pgbench's client count).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,

    /// Open loop instead: start flows at this fixed rate per second, whatever the server does.
    /// `half` runs each scenario closed first, then open at half the flows/s it reached.
    #[arg(long)]
    pub rate: Option<RateChoice>,

    /// Seconds each scenario (and pgbench) runs. Default 10, or 3 with --quick.
    #[arg(long)]
    pub duration: Option<f64>,

    /// A smoke run for CI: 3-second scenarios and small setup pools, well under a minute.
    #[arg(long)]
    pub quick: bool,

    /// Also write every figure to this file as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    Sqlite,
    Postgres,
    Both,
}

/// `--rate`: a number of flows per second, or `half`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateChoice {
    PerSecond(f64),
    HalfOfClosed,
}

impl std::str::FromStr for RateChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "half" {
            return Ok(RateChoice::HalfOfClosed);
        }
        match text.parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(RateChoice::PerSecond(rate)),
            _ => Err(format!(
                "{text:?} is neither a positive number of flows per second nor `half`"
            )),
        }
    }
}

impl Args {
    pub fn duration_secs(&self) -> f64 {
        self.duration
            .unwrap_or(if self.quick { 3.0 } else { 10.0 })
            .max(0.5)
    }

    /// The ducat binary: as given, or beside this executable.
    pub fn ducat_binary(&self) -> Result<PathBuf, String> {
        let path = match &self.ducat {
            Some(path) => path.clone(),
            None => std::env::current_exe()
                .map_err(|e| format!("cannot locate this executable: {e}"))?
                .with_file_name("ducat"),
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "no ducat binary at {} (build it with `cargo build --release -p ducat`, or pass --ducat PATH)",
                path.display()
            ))
        }
    }
}
