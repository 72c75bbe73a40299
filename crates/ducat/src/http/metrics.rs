//! Prometheus metrics: requests by route and status, and their latency; webhook deliveries by
//! outcome, and how long after its event a webhook arrived.

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Instant;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// What one webhook attempt came to, as counted in `ducat_webhook_deliveries_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Answered 2xx.
    Delivered,
    /// Any other answer, a timeout or a connection error (retried while the schedule lasts).
    FailedAttempt,
    /// Answered 410 Gone: the endpoint is disabled.
    Disabled,
    /// Never sent: the URL resolved to a private address, was not http(s), or the secret could
    /// not be used.
    RefusedTarget,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::FailedAttempt => "failed_attempt",
            DeliveryOutcome::Disabled => "disabled",
            DeliveryOutcome::RefusedTarget => "refused_target",
        }
    }
}

fn latency_histogram() -> Histogram {
    // 0.1 ms to about 3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    webhook_lag: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ducat");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        // 1 s to about 1.5 days: a first attempt arrives in seconds, the schedule's last
        // retries a day or more after the event.
        let webhook_lag = Histogram::new(exponential_buckets(1.0, 2.0, 18));
        registry.register(
            "webhook_deliveries",
            "Webhook attempts by outcome",
            webhook_deliveries.clone(),
        );
        registry.register(
            "webhook_delivery_lag_seconds",
            "Seconds from an event's creation to its successful delivery",
            webhook_lag.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            webhook_deliveries,
            webhook_lag,
        }
    }

    /// Counts one webhook attempt's outcome.
    pub fn webhook_attempt(&self, outcome: DeliveryOutcome) {
        self.webhook_deliveries
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Records how long after its event a webhook was delivered.
    pub fn webhook_delivered_after(&self, lag_ms: i64) {
        // Lossy only beyond 2^53 ms, far past any real lag.
        #[allow(clippy::cast_precision_loss)]
        self.webhook_lag.observe(lag_ms.max(0) as f64 / 1000.0);
    }

    /// The group-commit lane's counters (see [`crate::store::group_commit::LaneStats`]).
    pub fn register_write_lane(&mut self, stats: crate::store::group_commit::LaneStats) {
        let registry = &mut self.registry;
        registry.register(
            "write_batches",
            "Group-commit batches committed",
            stats.batches,
        );
        registry.register(
            "write_batched_requests",
            "Transactions committed in a group-commit batch",
            stats.committed_requests,
        );
        registry.register(
            "write_lane_statement_seconds",
            "Seconds transactions held the write lane running their statements",
            stats.statement_seconds,
        );
        registry.register(
            "write_lane_commit_seconds",
            "Seconds the write lane spent in durable commits",
            stats.commit_seconds,
        );
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Routes are labelled by their pattern (`/v1/wallets/balance/{wallet_ref}`), never by the
/// concrete path, so label cardinality stays bounded whatever clients send.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    let metrics = &state.metrics;
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status: response.status().as_u16(),
        })
        .inc();
    metrics
        .latency
        .get_or_create(&RouteLabels { method, route })
        .observe(elapsed);
    response
}
