//! The server's group-commit lane, read from its `/metrics` before and after a scenario: how
//! many batches, how full, and what share of the time the lane (every write's one queue) was
//! busy running statements or committing. It is the profile of the mutating figures.

use crate::client::Api;
use serde::Serialize;

/// Counter values at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LaneCounters {
    batches: f64,
    transactions: f64,
    statement_secs: f64,
    commit_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LaneProfile {
    pub batches: f64,
    pub transactions: f64,
    /// Shares of the scenario's wall time.
    pub statement_share: f64,
    pub commit_share: f64,
}

impl LaneProfile {
    pub fn between(before: &LaneCounters, after: &LaneCounters, wall_secs: f64) -> LaneProfile {
        LaneProfile {
            batches: after.batches - before.batches,
            transactions: after.transactions - before.transactions,
            statement_share: (after.statement_secs - before.statement_secs) / wall_secs,
            commit_share: (after.commit_secs - before.commit_secs) / wall_secs,
        }
    }

    pub fn transactions_per_batch(&self) -> f64 {
        self.transactions / self.batches.max(1.0)
    }

    pub fn busy_share(&self) -> f64 {
        self.statement_share + self.commit_share
    }
}

pub async fn scrape(api: &Api) -> Option<LaneCounters> {
    parse(&api.text("/metrics").await?)
}

/// Reads the four counters from OpenMetrics text; `None` if any is missing.
fn parse(metrics: &str) -> Option<LaneCounters> {
    let value = |name: &str| {
        metrics.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(' ')?;
            rest.trim().parse::<f64>().ok()
        })
    };
    Some(LaneCounters {
        batches: value("ducat_write_batches_total")?,
        transactions: value("ducat_write_batched_requests_total")?,
        statement_secs: value("ducat_write_lane_statement_seconds_total")?,
        commit_secs: value("ducat_write_lane_commit_seconds_total")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lane_counters_and_their_shares() {
        let text = "# TYPE ducat_write_batches counter\n\
            ducat_write_batches_total 10\n\
            ducat_write_batched_requests_total 250\n\
            ducat_write_lane_statement_seconds_total 1.5\n\
            ducat_write_lane_commit_seconds_total 0.5\n# EOF\n";
        let after = parse(text).unwrap();
        let profile = LaneProfile::between(&LaneCounters::default(), &after, 4.0);
        assert_eq!(profile.transactions_per_batch(), 25.0);
        assert_eq!(profile.statement_share, 0.375);
        assert_eq!(profile.busy_share(), 0.5);
        assert_eq!(parse("ducat_write_batches_total 1\n"), None);
    }
}
