//! The two ways of applying load. Closed loop: a fixed number of flows in flight, each worker
//! starting the next as soon as its last one ends (the server's answers pace the load). Open
//! loop: flows start on a fixed schedule whatever the server does, and each is timed from the
//! moment the schedule said to start it, so a server that stalls is charged for every flow
//! queued behind the stall (no coordinated omission).

use crate::client::{Api, Session};
use crate::metrics::Recorder;
use serde::Serialize;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The open loop's bound on flows in flight. Past it the scheduler waits, but every flow keeps
/// its intended start, so the wait shows in the latencies instead of being lost.
const OPEN_LOOP_IN_FLIGHT_MAX: usize = 4096;

/// Flow numbers are unique across every run of the process, so a scenario run twice on one
/// server (closed, then open) never repeats a trace number or a customer account.
static NEXT_FLOW: AtomicU64 = AtomicU64::new(0);

/// One kind of flow: the calls a client makes for one payout, one inflow, and so on.
pub trait Flow: Send + Sync + 'static {
    /// Runs flow number `n` (unique within the process), making every call through `session`.
    fn run(&self, session: &mut Session, n: u64)
        -> impl Future<Output = Result<(), String>> + Send;
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "loop", rename_all = "lowercase")]
pub enum Mode {
    Closed { concurrency: usize },
    Open { rate_per_sec: f64 },
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Closed { concurrency } => write!(f, "closed loop, {concurrency} in flight"),
            Mode::Open { rate_per_sec } => write!(f, "open loop, {rate_per_sec:.0} flows/s"),
        }
    }
}

/// Starts flows for `duration`, waits for the last one to end, and returns the wall-clock time
/// from the first start to the last end (the span the rates are computed over).
pub async fn run<F: Flow>(
    flow: Arc<F>,
    api: Arc<Api>,
    recorder: Arc<Recorder>,
    mode: Mode,
    duration: Duration,
) -> Duration {
    let started = Instant::now();
    let deadline = started + duration;
    match mode {
        Mode::Closed { concurrency } => {
            closed(flow, api, recorder.clone(), concurrency, deadline).await
        }
        Mode::Open { rate_per_sec } => {
            open(flow, api, recorder.clone(), rate_per_sec, started, deadline).await
        }
    }
    started.elapsed()
}

async fn closed<F: Flow>(
    flow: Arc<F>,
    api: Arc<Api>,
    recorder: Arc<Recorder>,
    concurrency: usize,
    deadline: Instant,
) {
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (flow, api, recorder) = (flow.clone(), api.clone(), recorder.clone());
        workers.spawn(async move {
            while Instant::now() < deadline {
                let n = NEXT_FLOW.fetch_add(1, Ordering::Relaxed);
                one_flow(&*flow, &api, &recorder, n, Instant::now()).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

async fn open<F: Flow>(
    flow: Arc<F>,
    api: Arc<Api>,
    recorder: Arc<Recorder>,
    rate_per_sec: f64,
    started: Instant,
    deadline: Instant,
) {
    let interval = Duration::from_secs_f64(1.0 / rate_per_sec);
    let in_flight = Arc::new(Semaphore::new(OPEN_LOOP_IN_FLIGHT_MAX));
    let mut flows = JoinSet::new();
    for scheduled in 0u64.. {
        // Computed from the start, not by adding to the previous one, so the schedule does not
        // drift with the time the loop itself takes.
        let intended = started + interval.mul_f64(scheduled as f64);
        if intended >= deadline {
            break;
        }
        tokio::time::sleep_until(intended).await;
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let (flow, api, recorder) = (flow.clone(), api.clone(), recorder.clone());
        let n = NEXT_FLOW.fetch_add(1, Ordering::Relaxed);
        flows.spawn(async move {
            one_flow(&*flow, &api, &recorder, n, intended).await;
            drop(permit);
        });
        // Reap finished flows as we go so the set does not grow with the run.
        while flows.try_join_next().is_some() {}
    }
    while flows.join_next().await.is_some() {}
}

async fn one_flow<F: Flow>(
    flow: &F,
    api: &Arc<Api>,
    recorder: &Arc<Recorder>,
    n: u64,
    intended_start: Instant,
) {
    let mut session = Session::new(api.clone(), recorder.clone(), intended_start.into_std());
    match flow.run(&mut session, n).await {
        Ok(()) => recorder.flow_completed(intended_start.elapsed()),
        Err(message) => recorder.error(message),
    }
}
