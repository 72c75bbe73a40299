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

/// A UTC calendar day, as the protocol writes it (`2025-11-22`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    /// Days since 1970-01-01.
    days: i64,
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Day {
    /// Reads `YYYY-MM-DD` (a real date, years 1970 to 9999); anything else is `None`.
    pub fn parse(text: &str) -> Option<Day> {
        let bytes = text.as_bytes();
        let shape = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape {
            return None;
        }
        let year: i64 = text[0..4].parse().ok()?;
        let month: i64 = text[5..7].parse().ok()?;
        let day: i64 = text[8..10].parse().ok()?;
        if year < 1970 || !(1..=12).contains(&month) || day < 1 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        // 31 February and friends come back as another date.
        (civil_from_days(days) == (year, month, day)).then_some(Day { days })
    }

    /// The day an instant (milliseconds since the epoch) falls on, in UTC.
    pub fn of_ms(ms: i64) -> Day {
        Day {
            days: ms.div_euclid(MS_PER_DAY),
        }
    }

    /// The first millisecond of the day.
    pub fn start_ms(self) -> i64 {
        self.days * MS_PER_DAY
    }

    /// The first millisecond of the next day.
    pub fn end_ms(self) -> i64 {
        self.start_ms() + MS_PER_DAY
    }

    pub fn contains(self, ms: i64) -> bool {
        (self.start_ms()..self.end_ms()).contains(&ms)
    }

    pub fn previous(self) -> Day {
        Day {
            days: self.days - 1,
        }
    }

    pub fn next(self) -> Day {
        Day {
            days: self.days + 1,
        }
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (year, month, day) = civil_from_days(self.days);
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

/// Matches the two sides by reference. A reference seen twice on one side is a mismatch of its
/// own (the second occurrence has nothing to match), which is what paying twice looks like.
/// Within one reference, movements are paired in by direction first (money in, then out), so a
/// returned inflow (in and back out under its session id) matches whatever order each side
/// lists its two legs in.
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
        let mut banked = bank_by_reference
            .get(reference)
            .cloned()
            .unwrap_or_default();
        banked.sort_by_key(|m| m.direction);
        let mut recorded = ledger_by_reference
            .get(reference)
            .cloned()
            .unwrap_or_default();
        recorded.sort_by_key(|m| m.direction);
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

    #[test]
    fn a_returned_inflow_matches_in_and_out_whatever_the_order() {
        let bank = [
            movement("sess_back", Direction::Out, 900, true),
            movement("sess_back", Direction::In, 900, true),
        ];
        let ledger = [
            movement("sess_back", Direction::In, 900, true),
            movement("sess_back", Direction::Out, 900, true),
        ];
        let outcome = reconcile(&bank, &ledger);
        assert!(outcome.is_clean(), "{outcome:?}");
        assert_eq!(outcome.matched, 2);
        // A return ducat booked that the bank never sent is named.
        let outcome = reconcile(&bank[1..], &ledger);
        assert_eq!(outcome.matched, 1);
        assert!(matches!(
            outcome.mismatches.as_slice(),
            [Mismatch::MissingAtBank { ledger }] if ledger.direction == Direction::Out
        ));
    }

    #[test]
    fn days_are_read_written_and_bounded_in_utc() {
        let day = Day::parse("2025-11-22").unwrap();
        assert_eq!(day.to_string(), "2025-11-22");
        // 2025-11-22T08:00:00Z, the tests' starting instant.
        assert!(day.contains(1_763_798_400_000));
        assert_eq!(Day::of_ms(1_763_798_400_000), day);
        assert_eq!(day.start_ms(), 1_763_769_600_000);
        assert_eq!(day.end_ms() - day.start_ms(), 86_400_000);
        assert!(!day.contains(day.end_ms()));
        assert_eq!(day.previous().to_string(), "2025-11-21");
        assert_eq!(
            Day::parse("2024-12-31").unwrap().next().to_string(),
            "2025-01-01"
        );
        assert_eq!(
            Day::parse("2024-03-01").unwrap().previous().to_string(),
            "2024-02-29"
        );
        assert_eq!(Day::parse("1970-01-01").unwrap().start_ms(), 0);
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-11-31",
            "25-11-22",
            "2025/11/22",
            "2025-11-2x",
            "",
            "2025-11-220",
            "yesterday",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }
}
