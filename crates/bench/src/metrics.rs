//! What one scenario run records: a latency histogram per endpoint (named by its route
//! pattern), one for whole flows, the flows completed and every error.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// How many distinct error messages are kept to print; every error is counted.
const ERRORS_KEPT: usize = 5;

/// The longest latency a histogram holds exactly (one minute); longer ones are clamped to it.
const LATENCY_US_MAX: u64 = 60_000_000;

#[derive(Default)]
pub struct Recorder {
    tally: Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    endpoints: BTreeMap<&'static str, Endpoint>,
    flows: Option<Histogram<u64>>,
    errors: u64,
    first_errors: Vec<String>,
}

struct Endpoint {
    latency_us: Histogram<u64>,
    mutating: bool,
}

fn histogram() -> Histogram<u64> {
    // Three significant digits: p99.9 of a 2 ms call is told apart from 2.01 ms.
    Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("static histogram bounds are valid")
}

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, LATENCY_US_MAX)
}

impl Recorder {
    pub fn call(&self, route: &'static str, mutating: bool, latency: Duration) {
        let mut tally = self.lock();
        tally
            .endpoints
            .entry(route)
            .or_insert_with(|| Endpoint {
                latency_us: histogram(),
                mutating,
            })
            .latency_us
            .saturating_record(micros(latency));
    }

    pub fn flow_completed(&self, latency: Duration) {
        self.lock()
            .flows
            .get_or_insert_with(histogram)
            .saturating_record(micros(latency));
    }

    pub fn error(&self, message: String) {
        let mut tally = self.lock();
        tally.errors += 1;
        if tally.first_errors.len() < ERRORS_KEPT && !tally.first_errors.contains(&message) {
            tally.first_errors.push(message);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        // A panic while holding the lock cannot leave a histogram half-written in a way that
        // matters for reading percentiles, so a poisoned lock is still used.
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The figures, over `elapsed` of wall-clock time.
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let tally = self.lock();
        let secs = elapsed.as_secs_f64().max(f64::EPSILON);
        let endpoints: Vec<EndpointSummary> = tally
            .endpoints
            .iter()
            .map(|(route, endpoint)| EndpointSummary::new(route, &endpoint.latency_us))
            .collect();
        let calls: u64 = tally.endpoints.values().map(|e| e.latency_us.len()).sum();
        let mutating: u64 = tally
            .endpoints
            .values()
            .filter(|e| e.mutating)
            .map(|e| e.latency_us.len())
            .sum();
        let flow = tally
            .flows
            .as_ref()
            .map(|h| EndpointSummary::new("flow (whole, from its intended start)", h));
        let flows = flow.as_ref().map_or(0, |f| f.calls);
        Summary {
            elapsed_secs: secs,
            flows,
            flows_per_sec: flows as f64 / secs,
            calls,
            calls_per_sec: calls as f64 / secs,
            mutating_calls_per_sec: mutating as f64 / secs,
            endpoints,
            flow,
            errors: tally.errors,
            first_errors: tally.first_errors.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub elapsed_secs: f64,
    pub flows: u64,
    pub flows_per_sec: f64,
    pub calls: u64,
    pub calls_per_sec: f64,
    /// Calls that change state (every method but GET).
    pub mutating_calls_per_sec: f64,
    pub endpoints: Vec<EndpointSummary>,
    pub flow: Option<EndpointSummary>,
    pub errors: u64,
    pub first_errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointSummary {
    pub route: String,
    pub calls: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl EndpointSummary {
    fn new(route: &str, latency_us: &Histogram<u64>) -> Self {
        let ms = |quantile: f64| latency_us.value_at_quantile(quantile) as f64 / 1000.0;
        EndpointSummary {
            route: route.to_owned(),
            calls: latency_us.len(),
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: latency_us.max() as f64 / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_mutations_flows_and_distinct_errors() {
        let recorder = Recorder::default();
        recorder.call("GET /a", false, Duration::from_millis(1));
        recorder.call("POST /b", true, Duration::from_millis(3));
        recorder.call("POST /b", true, Duration::from_millis(5));
        recorder.flow_completed(Duration::from_millis(9));
        for _ in 0..3 {
            recorder.error("same".to_owned());
        }
        for n in 0..10 {
            recorder.error(format!("other {n}"));
        }
        let summary = recorder.summary(Duration::from_secs(2));
        assert_eq!(summary.calls, 3);
        assert_eq!(summary.calls_per_sec, 1.5);
        assert_eq!(summary.mutating_calls_per_sec, 1.0);
        assert_eq!(summary.flows, 1);
        assert_eq!(summary.errors, 13);
        assert_eq!(summary.first_errors.len(), ERRORS_KEPT);
        assert_eq!(summary.first_errors[0], "same");
        let b = &summary.endpoints[1];
        assert_eq!((b.route.as_str(), b.calls), ("POST /b", 2));
        assert!((b.p99_ms - 5.0).abs() < 0.01, "{}", b.p99_ms);
    }
}
