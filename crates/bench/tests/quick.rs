//! The instrument works: a `--quick` run of every scenario on SQLite against the debug ducat
//! binary finishes with zero errors, a clean ledger check, and a figure for every scenario.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The ducat binary of the same build: `cargo test --workspace` builds it before any test runs,
/// because ducat is a workspace member with integration tests of its own.
fn ducat_binary() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ducat-bench")).with_file_name("ducat")
}

#[test]
fn a_quick_sqlite_run_is_error_free_and_the_ledger_is_clean() {
    let ducat = ducat_binary();
    if !ducat.is_file() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "{} is required in CI: run `cargo test --workspace`",
                ducat.display()
            );
        }
        eprintln!(
            "SKIPPED: no ducat binary at {} (run `cargo test --workspace`, or `cargo build -p ducat` first)",
            ducat.display()
        );
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json = dir.path().join("bench.json");
    let output = Command::new(env!("CARGO_BIN_EXE_ducat-bench"))
        .arg("--ducat")
        .arg(&ducat)
        .args([
            "--quick",
            "--engine",
            "sqlite",
            "--duration",
            "2",
            "--concurrency",
            "4",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .expect("ducat-bench runs");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "ducat-bench failed:\n{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON was written"))
            .expect("the JSON parses");
    assert_eq!(result["passed"], true, "{printed}");
    let engines = result["engines"].as_array().expect("engines");
    assert_eq!(engines.len(), 1);
    let sqlite = &engines[0];
    assert_eq!(sqlite["engine"], "sqlite");
    assert_eq!(sqlite["ledger_check"]["clean"], true, "{printed}");
    let scenarios: Vec<&str> = sqlite["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            assert_eq!(s["errors"], 0, "{printed}");
            assert!(s["flows"].as_u64().is_some_and(|n| n > 0), "{s}");
            assert!(
                s["server_peak_rss_kb"].as_u64().is_some_and(|kb| kb > 0),
                "{s}"
            );
            let endpoints = s["endpoints"].as_array().expect("endpoints");
            assert!(
                endpoints.iter().all(|e| e["p99_ms"].as_f64().is_some()),
                "{s}"
            );
            s["scenario"].as_str().expect("a name")
        })
        .collect();
    assert_eq!(
        scenarios,
        ["healthz", "inflows", "payouts", "direct-payments", "reads"]
    );
}
