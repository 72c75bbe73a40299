//! What every test against a real `ducat bank-sim` ends with: the day reconciled with the
//! bank, clean. ducat's manual clock is moved to the real time when the gateway starts (see
//! `bank_network::gateway`), so the ledger's dates and the bank-sim's agree.

use crate::helpers::TestApp;
use ducat::clock::{Clock, SystemClock};
use ducat::services::reconcile::{DayReconciliation, RailChoice};
use ducat_core::reconcile::Day;

/// Moves ducat's manual clock to the real time (the bank-sim dates everything by it).
pub(crate) fn align_clock(app: &TestApp) {
    let behind = SystemClock.now_ms() - app.clock_now();
    if behind > 0 {
        app.clock.advance_secs(behind / 1000);
    }
}

/// Reconciles the live rail's day (today, and ducat's own day when its clock has moved past
/// midnight) and asserts it is clean. Returns today's reconciliation.
pub(crate) async fn assert_reconciled_clean(app: &TestApp) -> DayReconciliation {
    let today = Day::of_ms(SystemClock.now_ms());
    let ours = Day::of_ms(app.clock_now());
    let mut days = vec![today];
    if ours != today {
        days.push(ours);
    }
    let mut first = None;
    for day in days {
        let report = app
            .services
            .reconcile(day, RailChoice::Live, None)
            .await
            .expect("the bank's statement is read");
        assert!(
            report.outcome.is_clean(),
            "{day}: {:#?}",
            report.outcome.mismatches
        );
        first.get_or_insert(report);
    }
    first.expect("today was reconciled")
}
