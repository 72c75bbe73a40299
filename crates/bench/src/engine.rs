//! One engine's run: its database, the pgbench ceiling (PostgreSQL), the business, the ducat
//! server, every scenario, and the ledger check at the end.

use crate::args::{Args, RateChoice};
use crate::client::Api;
use crate::database::{self, Engine, PgDatabase};
use crate::lane;
use crate::load::Mode;
use crate::metrics::Recorder;
use crate::pgbench;
use crate::report::{self, EngineRun, LedgerCheck, ScenarioRun};
use crate::scenarios::{self, Context, Kind};
use crate::server::{Ducat, Server};
use crate::setup;
use crate::system;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most SMS one read may return (the sandbox API's own limit).
const SMS_WINDOW_MAX: usize = 200;

/// How many of the server's warnings and errors a failed run quotes.
const SERVER_LOG_LINES: usize = 12;

pub async fn run(engine: Engine, args: &Args, binary: &Path) -> EngineRun {
    let mut run = EngineRun {
        engine,
        concurrency: args.concurrency,
        pgbench: None,
        scenarios: Vec::new(),
        ledger_check: None,
        failure: None,
        server_log_tail: Vec::new(),
    };
    let dir = match tempfile::Builder::new().prefix("ducat-bench-").tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            run.failure = Some(format!("cannot create a temporary directory: {e}"));
            return run;
        }
    };
    let mut postgres = None;
    let database_url = match engine {
        Engine::Sqlite => database::sqlite_url(dir.path()),
        Engine::Postgres => {
            // Measured first, while no ducat runs, so the two figures do not share the machine.
            println!(
                "\nmeasuring the PostgreSQL ceiling with pgbench ({:.0} s)…",
                args.duration_secs()
            );
            run.pgbench = Some(
                pgbench::measure(&args.postgres_url, args.concurrency, args.duration_secs()).await,
            );
            let name = format!("ducat_bench_{}", std::process::id());
            match PgDatabase::create(&args.postgres_url, &name).await {
                Ok(database) => {
                    let url = database.url.clone();
                    postgres = Some(database);
                    url
                }
                Err(e) => {
                    run.failure = Some(e);
                    return run;
                }
            }
        }
    };
    match Ducat::new(binary, dir.path(), &database_url) {
        Ok(ducat) => {
            if let Err(e) = drive(&ducat, args, &mut run).await {
                run.failure = Some(e);
            }
            if run.scenarios.iter().any(|s| s.summary.errors > 0) {
                run.server_log_tail = ducat.log_tail(SERVER_LOG_LINES);
            }
            run.ledger_check = Some(ledger_check(&ducat).await);
        }
        Err(e) => run.failure = Some(e),
    }
    if let Some(database) = postgres {
        database.drop().await;
    }
    run
}

async fn drive(ducat: &Ducat, args: &Args, run: &mut EngineRun) -> Result<(), String> {
    let business = setup::create_business(ducat).await?;
    let server = ducat.serve().await?;
    println!(
        "\n{} : ducat serving on {} (pid {})",
        run.engine, server.base_url, server.pid
    );
    let outcome = scenarios_on(&server, business, args, run).await;
    server.stop().await;
    outcome
}

async fn scenarios_on(
    server: &Server,
    business: setup::Business,
    args: &Args,
    run: &mut EngineRun,
) -> Result<(), String> {
    let api = Arc::new(Api::new(&server.base_url)?);
    setup::fund(&api, &business).await?;
    let context = Context {
        api,
        business: Arc::new(business),
        pool_size: if args.quick { 8 } else { 32 },
        sms_window: match args.rate {
            None => (args.concurrency * 2 + 16).min(SMS_WINDOW_MAX),
            Some(_) => SMS_WINDOW_MAX,
        },
    };
    let duration = Duration::from_secs_f64(args.duration_secs());
    let closed = Mode::Closed {
        concurrency: args.concurrency,
    };
    for &kind in &args.scenarios {
        match args.rate {
            None => measure(run, kind, &context, closed, duration, server).await,
            Some(RateChoice::PerSecond(rate_per_sec)) => {
                measure(
                    run,
                    kind,
                    &context,
                    Mode::Open { rate_per_sec },
                    duration,
                    server,
                )
                .await
            }
            Some(RateChoice::HalfOfClosed) => {
                measure(run, kind, &context, closed, duration, server).await;
                let reached = run
                    .scenarios
                    .last()
                    .map_or(0.0, |s| s.summary.flows_per_sec);
                if reached > 0.0 {
                    let open = Mode::Open {
                        rate_per_sec: reached / 2.0,
                    };
                    measure(run, kind, &context, open, duration, server).await;
                }
            }
        }
    }
    Ok(())
}

/// Prepares and runs one scenario, and records it with the server's memory and CPU over it.
async fn measure(
    run: &mut EngineRun,
    kind: Kind,
    context: &Context,
    mode: Mode,
    duration: Duration,
    server: &Server,
) {
    let recorder = Arc::new(Recorder::default());
    let prepared = scenarios::prepare(kind, context).await;
    let reset = system::reset_peak_rss(server.pid);
    let lane_before = lane::scrape(&context.api).await;
    let cpu_before = (system::cpu_secs(Some(server.pid)), system::cpu_secs(None));
    let wall = Instant::now();
    let elapsed = match prepared {
        Ok(prepared) => {
            prepared
                .run(context.api.clone(), recorder.clone(), mode, duration)
                .await
        }
        Err(e) => {
            recorder.error(format!("setup of {}: {e}", kind.name()));
            Duration::ZERO
        }
    };
    let wall_secs = wall.elapsed().as_secs_f64().max(f64::EPSILON);
    let cpu_after = (system::cpu_secs(Some(server.pid)), system::cpu_secs(None));
    let cores = |before: Option<f64>, after: Option<f64>| Some((after? - before?) / wall_secs);
    let write_lane = match (lane_before, lane::scrape(&context.api).await) {
        (Some(before), Some(after)) => Some(lane::LaneProfile::between(&before, &after, wall_secs)),
        _ => None,
    };
    let scenario = ScenarioRun {
        scenario: kind.name(),
        mode,
        duration_secs: duration.as_secs_f64(),
        summary: recorder.summary(elapsed),
        server_peak_rss_kb: system::peak_rss_kb(server.pid),
        peak_rss_is_this_scenarios: reset,
        server_cpu_cores: cores(cpu_before.0, cpu_after.0),
        bench_cpu_cores: cores(cpu_before.1, cpu_after.1),
        write_lane,
    };
    report::print_scenario(run.engine, &scenario);
    run.scenarios.push(scenario);
}

/// `ducat ledger check` on the run's database, after the server stopped.
async fn ledger_check(ducat: &Ducat) -> LedgerCheck {
    match ducat.cli(&["ledger", "check"]).await {
        Ok((code, stdout, stderr)) => LedgerCheck {
            clean: code == 0,
            output: format!("{stdout}{stderr}"),
        },
        Err(e) => LedgerCheck {
            clean: false,
            output: e,
        },
    }
}
