//! The PostgreSQL ceiling: pgbench's built-in TPC-B script at scale 1 (a single branch row
//! every transaction updates: the hot-account case) with the same client count as ducat's run,
//! on a scratch database of the same server.

use crate::database::PgDatabase;
use serde::Serialize;
use tokio::process::Command;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Ceiling {
    Measured { clients: usize, secs: u64, tps: f64 },
    Skipped { reason: String },
}

pub async fn measure(admin_url: &str, clients: usize, secs: f64) -> Ceiling {
    if !on_path("pgbench") {
        return Ceiling::Skipped {
            reason: "pgbench is not on PATH (Debian: apt-get install postgresql-contrib)"
                .to_owned(),
        };
    }
    let name = format!("ducat_bench_pgbench_{}", std::process::id());
    let database = match PgDatabase::create(admin_url, &name).await {
        Ok(database) => database,
        Err(reason) => return Ceiling::Skipped { reason },
    };
    let secs = secs.ceil().max(1.0) as u64;
    let outcome = run(&database.url, clients, secs).await;
    database.drop().await;
    match outcome {
        Ok(tps) => Ceiling::Measured { clients, secs, tps },
        Err(reason) => Ceiling::Skipped { reason },
    }
}

async fn run(url: &str, clients: usize, secs: u64) -> Result<f64, String> {
    pgbench(&["-i", "-s", "1", "-q", url]).await?;
    let clients = clients.max(1).to_string();
    let secs = secs.to_string();
    let output = pgbench(&["-c", &clients, "-j", "2", "-T", &secs, url]).await?;
    parse_tps(&output).ok_or_else(|| format!("no tps in pgbench's output: {output}"))
}

async fn pgbench(args: &[&str]) -> Result<String, String> {
    let output = Command::new("pgbench")
        .args(args)
        .output()
        .await
        .map_err(|e| format!("cannot run pgbench: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "pgbench {} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// `tps = 1234.567890 (without initial connection time)`; older pgbench also prints an
/// "including connections establishing" line, and the one without connections is the one kept.
fn parse_tps(output: &str) -> Option<f64> {
    let tps_of = |line: &str| {
        line.trim()
            .strip_prefix("tps = ")?
            .split_whitespace()
            .next()?
            .parse::<f64>()
            .ok()
    };
    let lines = || {
        output
            .lines()
            .filter(|l| l.trim_start().starts_with("tps = "))
    };
    lines()
        .find(|l| l.contains("without initial connection") || l.contains("excluding connections"))
        .or_else(|| lines().next())
        .and_then(tps_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tps_of_old_and_new_pgbench() {
        let new = "latency average = 9.1 ms\ninitial connection time = 12.3 ms\ntps = 1750.918273 (without initial connection time)\n";
        assert_eq!(parse_tps(new), Some(1750.918273));
        let old = "tps = 1500.1 (including connections establishing)\ntps = 1510.2 (excluding connections establishing)\n";
        assert_eq!(parse_tps(old), Some(1510.2));
        assert_eq!(parse_tps("nothing"), None);
    }
}
