//! Faults `ducat bank-sim` injects: parsed from the `X-Bank-Sim-Fault` header or an armed
//! queue, or drawn by rate. Pure: the server decides what to do with the plan.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer only after this long.
    Latency(Duration),
    /// Answer with this 5xx (or any) status and an error document, doing nothing.
    Error(u16),
    /// Apply the transfer, then close the connection without a byte of answer.
    DropAfterApply,
    /// Close the connection without a byte of answer and without applying anything.
    DropBeforeApply,
    /// Apply the transfer, then wait this long before answering: the window in which a client
    /// that crashes has had its transfer applied without ever hearing so.
    HangAfterApply(Duration),
}

/// What one request suffers: an optional delay, then at most one way of going wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultPlan {
    pub latency: Option<Duration>,
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Error(u16),
    DropAfterApply,
    DropBeforeApply,
    HangAfterApply(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {0:?}: expected latency=<n>ms, error=<status>, hang-after-apply=<n>ms, drop-after-apply or drop-before-apply")]
pub struct FaultParseError(pub String);

/// One fault: `latency=2000ms` (or `latency=2000`), `error=503`, `drop-after-apply`,
/// `drop-before-apply`.
pub fn parse_fault(text: &str) -> Result<Fault, FaultParseError> {
    let text = text.trim();
    let bad = || FaultParseError(text.to_owned());
    match text.split_once('=') {
        Some(("latency", value)) => value
            .trim_end_matches("ms")
            .parse::<u64>()
            .map(|ms| Fault::Latency(Duration::from_millis(ms)))
            .map_err(|_| bad()),
        Some(("hang-after-apply", value)) => value
            .trim_end_matches("ms")
            .parse::<u64>()
            .map(|ms| Fault::HangAfterApply(Duration::from_millis(ms)))
            .map_err(|_| bad()),
        Some(("error", value)) => match value.parse::<u16>() {
            Ok(status) if (400..=599).contains(&status) => Ok(Fault::Error(status)),
            _ => Err(bad()),
        },
        Some(_) => Err(bad()),
        None => match text {
            "drop-after-apply" => Ok(Fault::DropAfterApply),
            "drop-before-apply" => Ok(Fault::DropBeforeApply),
            _ => Err(bad()),
        },
    }
}

/// A comma-separated list of faults, as the header carries them (`latency=500ms,error=503`).
pub fn parse_faults(text: &str) -> Result<Vec<Fault>, FaultParseError> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(parse_fault)
        .collect()
}

/// Fault rates, each a probability from 0 to 1, and a latency added to every request.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultRates {
    pub rate_5xx: f64,
    pub rate_drop_after_apply: f64,
    pub latency: Duration,
}

/// Folds explicit faults (header or armed) over what the rates drew: explicit ones win.
/// `draws` are two uniform numbers in [0, 1), one per rate.
pub fn plan(explicit: &[Fault], rates: &FaultRates, draws: (f64, f64)) -> FaultPlan {
    let mut plan = FaultPlan {
        latency: (!rates.latency.is_zero()).then_some(rates.latency),
        failure: if draws.0 < rates.rate_5xx {
            Some(Failure::Error(503))
        } else if draws.1 < rates.rate_drop_after_apply {
            Some(Failure::DropAfterApply)
        } else {
            None
        },
    };
    for fault in explicit {
        match fault {
            Fault::Latency(delay) => plan.latency = Some(*delay),
            Fault::Error(status) => plan.failure = Some(Failure::Error(*status)),
            Fault::DropAfterApply => plan.failure = Some(Failure::DropAfterApply),
            Fault::DropBeforeApply => plan.failure = Some(Failure::DropBeforeApply),
            Fault::HangAfterApply(delay) => plan.failure = Some(Failure::HangAfterApply(*delay)),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_as_documented() {
        assert_eq!(
            parse_fault("latency=2000ms"),
            Ok(Fault::Latency(Duration::from_millis(2000)))
        );
        assert_eq!(
            parse_fault("latency=15"),
            Ok(Fault::Latency(Duration::from_millis(15)))
        );
        assert_eq!(parse_fault("error=503"), Ok(Fault::Error(503)));
        assert_eq!(parse_fault("drop-after-apply"), Ok(Fault::DropAfterApply));
        assert_eq!(parse_fault("drop-before-apply"), Ok(Fault::DropBeforeApply));
        assert_eq!(
            parse_fault("hang-after-apply=3000ms"),
            Ok(Fault::HangAfterApply(Duration::from_millis(3000)))
        );
        assert!(parse_fault("error=200").is_err());
        assert!(parse_fault("explode").is_err());
        assert_eq!(
            parse_faults("latency=5ms, error=502"),
            Ok(vec![
                Fault::Latency(Duration::from_millis(5)),
                Fault::Error(502)
            ])
        );
    }

    #[test]
    fn explicit_faults_override_rates() {
        let rates = FaultRates {
            rate_5xx: 0.5,
            rate_drop_after_apply: 0.5,
            latency: Duration::from_millis(10),
        };
        assert_eq!(plan(&[], &rates, (0.9, 0.9)).failure, None);
        assert_eq!(
            plan(&[], &rates, (0.1, 0.9)).failure,
            Some(Failure::Error(503))
        );
        assert_eq!(
            plan(&[], &rates, (0.9, 0.1)).failure,
            Some(Failure::DropAfterApply)
        );
        let explicit = plan(&[Fault::DropBeforeApply], &rates, (0.1, 0.1));
        assert_eq!(explicit.failure, Some(Failure::DropBeforeApply));
        assert_eq!(explicit.latency, Some(Duration::from_millis(10)));
        assert_eq!(
            plan(&[], &FaultRates::default(), (0.0, 0.0)),
            FaultPlan::default()
        );
    }
}
