//! Reconciliation: the bank's statement of a day against what ducat recorded.
//!
//! Both sides name each movement by the same reference: a transfer out by ducat's transaction
//! reference (the idempotent reference the bank was sent), money in by the bank's session id.
//! A movement near midnight can land on one side's day and the other side's next day, so the
//! caller passes the bank's lines of the day before and after too, and ducat's records found
//! by reference whatever their day; only movements *of the day* can be reported missing.

use crate::money::{Currency, MinorUnits};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// Money into ducat's settlement account.
    In,
    /// Money out of it.
    Out,
}

/// One movement as either side tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub reference: String,
    pub direction: Direction,
    pub currency: Currency,
    pub amount: MinorUnits,
    /// Whether it falls on the day being reconciled (by that side's own clock).
    pub on_the_day: bool,
}

/// Why one reference does not reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The bank moved money that ducat has no completed record of.
    MissingInLedger { bank: Movement },
    /// ducat recorded a completed movement the bank has no record of.
    MissingAtBank { ledger: Movement },
    /// Both know the reference, and disagree on how much, which way or in what currency.
    Differs { bank: Movement, ledger: Movement },
}

impl Mismatch {
    pub fn reference(&self) -> &str {
        match self {
            Mismatch::MissingInLedger { bank } => &bank.reference,
            Mismatch::MissingAtBank { ledger } => &ledger.reference,
            Mismatch::Differs { bank, .. } => &bank.reference,
        }
    }
}

/// The outcome of a day: how many movements matched, and every mismatch, by reference.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reconciliation {
    pub matched: usize,
    pub mismatches: Vec<Mismatch>,
}

impl Reconciliation {
    pub fn is_clean(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Matches the two sides by reference. A reference seen twice on one side is a mismatch of its
/// own (the second occurrence has nothing to match), which is what paying twice looks like.
pub fn reconcile(bank: &[Movement], ledger: &[Movement]) -> Reconciliation {
    let mut ledger_by_reference: BTreeMap<&str, Vec<&Movement>> = BTreeMap::new();
    for movement in ledger {
        ledger_by_reference
            .entry(movement.reference.as_str())
            .or_default()
            .push(movement);
    }
    let mut bank_by_reference: BTreeMap<&str, Vec<&Movement>> = BTreeMap::new();
    for movement in bank {
        bank_by_reference
            .entry(movement.reference.as_str())
            .or_default()
            .push(movement);
    }
    let mut result = Reconciliation::default();
    let references: std::collections::BTreeSet<&str> = bank_by_reference
        .keys()
        .chain(ledger_by_reference.keys())
        .copied()
        .collect();
    for reference in references {
        let banked = bank_by_reference
            .get(reference)
            .cloned()
            .unwrap_or_default();
        let recorded = ledger_by_reference
            .get(reference)
            .cloned()
            .unwrap_or_default();
        let pairs = banked.len().max(recorded.len());
        for i in 0..pairs {
            match (banked.get(i), recorded.get(i)) {
                (Some(bank), Some(ledger)) => {
                    if !(bank.on_the_day || ledger.on_the_day) {
                        continue;
                    }
                    let same = bank.direction == ledger.direction
                        && bank.currency == ledger.currency
                        && bank.amount == ledger.amount;
                    if same {
                        result.matched += 1;
                    } else {
                        result.mismatches.push(Mismatch::Differs {
                            bank: (*bank).clone(),
                            ledger: (*ledger).clone(),
                        });
                    }
                }
                (Some(bank), None) => {
                    if bank.on_the_day {
                        result.mismatches.push(Mismatch::MissingInLedger {
                            bank: (*bank).clone(),
                        });
                    }
                }
                (None, Some(ledger)) => {
                    if ledger.on_the_day {
                        result.mismatches.push(Mismatch::MissingAtBank {
                            ledger: (*ledger).clone(),
                        });
                    }
                }
                (None, None) => {}
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movement(reference: &str, direction: Direction, amount: i64, on_the_day: bool) -> Movement {
        Movement {
            reference: reference.to_owned(),
            direction,
            currency: Currency::Ngn,
            amount: MinorUnits(amount),
            on_the_day,
        }
    }

    #[test]
    fn a_day_where_both_sides_agree_is_clean() {
        let bank = [
            movement("tran_a", Direction::Out, 500_000, true),
            movement("sess_1", Direction::In, 100_000, true),
        ];
        let ledger = [
            movement("sess_1", Direction::In, 100_000, true),
            movement("tran_a", Direction::Out, 500_000, true),
        ];
        let outcome = reconcile(&bank, &ledger);
        assert!(outcome.is_clean(), "{outcome:?}");
        assert_eq!(outcome.matched, 2);
    }

    #[test]
    fn each_kind_of_mismatch_is_named_by_its_reference() {
        let bank = [
            movement("tran_paid_unrecorded", Direction::Out, 500_000, true),
            movement("tran_wrong_amount", Direction::Out, 400_000, true),
            movement("tran_twice", Direction::Out, 100, true),
            movement("tran_twice", Direction::Out, 100, true),
        ];
        let ledger = [
            movement("tran_recorded_unpaid", Direction::Out, 300_000, true),
            movement("tran_wrong_amount", Direction::Out, 450_000, true),
            movement("tran_twice", Direction::Out, 100, true),
        ];
        let outcome = reconcile(&bank, &ledger);
        let mut named: Vec<(&str, &str)> = outcome
            .mismatches
            .iter()
            .map(|m| {
                let kind = match m {
                    Mismatch::MissingInLedger { .. } => "missing in ledger",
                    Mismatch::MissingAtBank { .. } => "missing at bank",
                    Mismatch::Differs { .. } => "differs",
                };
                (m.reference(), kind)
            })
            .collect();
        named.sort();
        assert_eq!(
            named,
            vec![
                ("tran_paid_unrecorded", "missing in ledger"),
                ("tran_recorded_unpaid", "missing at bank"),
                ("tran_twice", "missing in ledger"),
                ("tran_wrong_amount", "differs"),
            ]
        );
        assert_eq!(outcome.matched, 1);
    }

    #[test]
    fn movements_across_midnight_match_and_other_days_are_not_reported() {
        // The bank applied it at 23:59:59 on the day; ducat heard at 00:00:01 the next day.
        let bank = [
            movement("tran_midnight", Direction::Out, 500, true),
            movement("tran_yesterday", Direction::Out, 700, false),
        ];
        let ledger = [movement("tran_midnight", Direction::Out, 500, false)];
        let outcome = reconcile(&bank, &ledger);
        assert!(outcome.is_clean(), "{outcome:?}");
        assert_eq!(outcome.matched, 1);
    }
}
