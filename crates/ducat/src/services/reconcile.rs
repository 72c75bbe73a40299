//! Reconciliation of one day: the bank's statements of the day and its two neighbours against
//! the ledger's own record of every movement through the bank settlement account, matched by
//! reference with `ducat_core::reconcile`.
//!
//! How each movement is named on both sides:
//! - a payout or withdrawal the bank paid: out, by ducat's transaction reference (the
//!   transfer's idempotent reference), for the amount sent (the fee stays with ducat);
//! - an inflow credited to a wallet, checkout or virtual account: in, by the bank's session id;
//! - an inflow ducat returned through suspense: in *and* out, both by its session id (the bank
//!   sends it back when ducat answers `returned`; the sandbox does the same on its statement);
//! - a processed direct debit: in, by the payment's reference.

use super::{AppError, Services};
use crate::config::RailProvider;
use crate::rail::protocol::{LineDirection, StatementLine};
use crate::store::ledger::EntryKind;
use crate::store::{int, opt_text, text};
use ducat_core::ids::BusinessId;
use ducat_core::money::{Currency, MinorUnits};
use ducat_core::reconcile::{reconcile, Day, Direction, Movement, Reconciliation};
use std::collections::{BTreeMap, BTreeSet};

/// Which bank to reconcile with: the sandbox test mode banks with, or live mode's rail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RailChoice {
    Test,
    Live,
}

impl RailChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            RailChoice::Test => "test",
            RailChoice::Live => "live",
        }
    }
}

/// One day reconciled.
#[derive(Debug, Clone)]
pub struct DayReconciliation {
    pub day: Day,
    pub outcome: Reconciliation,
    /// What each reference is (`transfer`, `inflow`, `return`, `debit`), from either side.
    pub kinds: BTreeMap<String, &'static str>,
    /// The ledger's movements of the day, oldest first.
    pub ledger_of_the_day: Vec<Movement>,
}

impl DayReconciliation {
    pub fn kind_of(&self, reference: &str) -> &'static str {
        self.kinds.get(reference).copied().unwrap_or("movement")
    }

    pub fn is_matched(&self, movement: &Movement) -> bool {
        !self
            .outcome
            .mismatches
            .iter()
            .any(|m| m.reference() == movement.reference)
    }
}

/// One bank-settlement posting with what it belongs to, as the store reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub entry_kind: String,
    pub reference: String,
    pub currency: String,
    /// The posting on the bank settlement account: negative is money in.
    pub amount: i64,
    pub created_at: i64,
    pub inflow_session: Option<String>,
    pub debit_reference: Option<String>,
    pub business_id: Option<String>,
    pub mode: Option<String>,
}

/// Which of the ledger's movements went through the rail being reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub test: bool,
    pub live: bool,
    /// Inflows to no account of ducat's, returned (they came over the bank network).
    pub unattributed: bool,
}

impl Scope {
    /// Test mode always banks with the sandbox; live mode with the configured rail, which may
    /// be the sandbox too (then both modes are on its statement).
    pub fn of(choice: RailChoice, provider: RailProvider) -> Scope {
        match (choice, provider) {
            (RailChoice::Test | RailChoice::Live, RailProvider::Sandbox) => Scope {
                test: true,
                live: true,
                unattributed: false,
            },
            (RailChoice::Test, RailProvider::Http) => Scope {
                test: true,
                live: false,
                unattributed: false,
            },
            (RailChoice::Live, RailProvider::Http) => Scope {
                test: false,
                live: true,
                unattributed: true,
            },
        }
    }

    fn includes(self, mode: Option<&str>) -> bool {
        match mode {
            Some("test") => self.test,
            Some("live") => self.live,
            Some(_) => false,
            None => self.unattributed,
        }
    }
}

/// The ledger's movement for one bank-settlement posting, named as the bank names it, with its
/// kind; `None` for what is not a movement at the bank.
pub fn ledger_movement(row: &LedgerRow, day: Day) -> Option<(Movement, &'static str)> {
    let currency = Currency::from_code(&row.currency)?;
    let (reference, kind) = match EntryKind::parse(&row.entry_kind)? {
        EntryKind::Settlement => (row.reference.clone(), "transfer"),
        EntryKind::Inflow => match (&row.inflow_session, &row.debit_reference) {
            (Some(session), _) => (session.clone(), "inflow"),
            (None, Some(debit)) => (debit.clone(), "debit"),
            (None, None) => (row.reference.clone(), "inflow"),
        },
        EntryKind::UnmatchedInflow => (row.reference.clone(), "inflow"),
        EntryKind::UnmatchedReturn => (row.reference.clone(), "return"),
        EntryKind::Hold | EntryKind::Release => return None,
    };
    let direction = if row.amount < 0 {
        Direction::In
    } else {
        Direction::Out
    };
    Some((
        Movement {
            reference,
            direction,
            currency,
            amount: MinorUnits(row.amount.abs()),
            on_the_day: day.contains(row.created_at),
        },
        kind,
    ))
}

/// The bank's movement for one statement line.
pub fn bank_movement(line: &StatementLine, day: Day) -> Option<Movement> {
    Some(Movement {
        reference: line.reference.clone(),
        direction: match line.direction {
            LineDirection::In => Direction::In,
            LineDirection::Out => Direction::Out,
        },
        currency: Currency::from_code(&line.currency)?,
        amount: MinorUnits(line.amount),
        on_the_day: day.contains(line.created_at),
    })
}

/// Both sides put together: pure.
pub fn reconcile_day(
    day: Day,
    scope: Scope,
    only_for: Option<&str>,
    ledger_rows: &[LedgerRow],
    statement: &[StatementLine],
    business_references: Option<&BTreeSet<String>>,
) -> DayReconciliation {
    let mut kinds = BTreeMap::new();
    let mut ledger = Vec::new();
    for row in ledger_rows {
        if !scope.includes(row.mode.as_deref()) {
            continue;
        }
        if only_for.is_some_and(|business| row.business_id.as_deref() != Some(business)) {
            continue;
        }
        if let Some((movement, kind)) = ledger_movement(row, day) {
            kinds.entry(movement.reference.clone()).or_insert(kind);
            ledger.push((row.created_at, movement));
        }
    }
    let mut bank = Vec::new();
    for line in statement {
        if business_references.is_some_and(|mine| !mine.contains(&line.reference)) {
            continue;
        }
        if let Some(movement) = bank_movement(line, day) {
            kinds
                .entry(movement.reference.clone())
                .or_insert(line.kind.as_str());
            bank.push(movement);
        }
    }
    ledger.sort_by(|a, b| (a.0, &a.1.reference).cmp(&(b.0, &b.1.reference)));
    let ledger: Vec<Movement> = ledger.into_iter().map(|(_, m)| m).collect();
    let outcome = reconcile(&bank, &ledger);
    DayReconciliation {
        day,
        outcome,
        kinds,
        ledger_of_the_day: ledger.into_iter().filter(|m| m.on_the_day).collect(),
    }
}

impl Services {
    /// Reconciles `day` with the bank `choice` names; with `only_for`, a business's own
    /// movements only (the dashboard). An unreachable bank is `Unavailable`.
    pub async fn reconcile(
        &self,
        day: Day,
        choice: RailChoice,
        only_for: Option<&BusinessId>,
    ) -> Result<DayReconciliation, AppError> {
        let rail = match choice {
            RailChoice::Test => self.sandbox_rail.as_ref(),
            RailChoice::Live => self.live_rail.as_ref(),
        };
        let mut statement = Vec::new();
        for each in [day.previous(), day, day.next()] {
            let lines = rail.statement(each).await.map_err(|e| {
                AppError::Unavailable(format!("the bank's statement of {each}: {e}"))
            })?;
            statement.extend(lines);
        }
        let rows = self.ledger_rows(day).await?;
        let scope = Scope::of(choice, self.config.rail);
        let business_references = match only_for {
            Some(business) => Some(self.business_references(business, &statement).await?),
            None => None,
        };
        Ok(reconcile_day(
            day,
            scope,
            only_for.map(BusinessId::as_str),
            &rows,
            &statement,
            business_references.as_ref(),
        ))
    }

    /// Every posting on a bank settlement account from the day before to the day after.
    async fn ledger_rows(&self, day: Day) -> Result<Vec<LedgerRow>, AppError> {
        let rows = sqlx::query(
            "SELECT j.kind AS entry_kind, j.reference, j.currency, p.amount, j.created_at,
                    i.session_id AS inflow_session, d.reference AS debit_reference,
                    b.id AS business_id, b.mode AS mode
             FROM postings p
             JOIN ledger_accounts a ON a.account_key = p.account_key
             JOIN journal_entries j ON j.id = p.entry_id
             LEFT JOIN transactions t ON t.transaction_ref = j.reference
             LEFT JOIN inbound_transfers i ON i.transaction_ref = j.reference
             LEFT JOIN direct_payments d ON d.transaction_ref = j.reference
             LEFT JOIN inbound_transfers u ON u.session_id = j.reference
             LEFT JOIN businesses b ON b.id = COALESCE(t.business_id, u.business_id)
             WHERE a.kind = 'bank_settlement' AND j.created_at >= $1 AND j.created_at < $2
             ORDER BY j.created_at, j.reference",
        )
        .bind(day.previous().start_ms())
        .bind(day.next().end_ms())
        .fetch_all(self.store.reader())
        .await
        .map_err(crate::store::StoreError::from)?;
        Ok(rows
            .iter()
            .map(|row| LedgerRow {
                entry_kind: text(row, "entry_kind"),
                reference: text(row, "reference"),
                currency: text(row, "currency"),
                amount: int(row, "amount"),
                created_at: int(row, "created_at"),
                inflow_session: opt_text(row, "inflow_session"),
                debit_reference: opt_text(row, "debit_reference"),
                business_id: opt_text(row, "business_id"),
                mode: opt_text(row, "mode"),
            })
            .collect())
    }

    /// Which of the statement's references are this business's: its transactions, the inflows
    /// to its accounts, its direct payments.
    async fn business_references(
        &self,
        business: &BusinessId,
        statement: &[StatementLine],
    ) -> Result<BTreeSet<String>, AppError> {
        let mut mine = BTreeSet::new();
        let references: BTreeSet<&str> = statement.iter().map(|l| l.reference.as_str()).collect();
        for reference in references {
            let found = sqlx::query(
                "SELECT 1 AS found FROM transactions WHERE transaction_ref = $1 AND business_id = $2
                 UNION ALL SELECT 1 AS found FROM inbound_transfers WHERE session_id = $1 AND business_id = $2
                 UNION ALL SELECT 1 AS found FROM direct_payments WHERE reference = $1 AND business_id = $2",
            )
            .bind(reference)
            .bind(business.as_str())
            .fetch_optional(self.store.reader())
            .await
            .map_err(crate::store::StoreError::from)?;
            if found.is_some() {
                mine.insert(reference.to_owned());
            }
        }
        Ok(mine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rail::protocol::LineKind;

    fn row(kind: &str, reference: &str, amount: i64, mode: &str) -> LedgerRow {
        LedgerRow {
            entry_kind: kind.to_owned(),
            reference: reference.to_owned(),
            currency: "NGN".to_owned(),
            amount,
            created_at: DAY_MS,
            inflow_session: None,
            debit_reference: None,
            business_id: Some("biz_1".to_owned()),
            mode: Some(mode.to_owned()),
        }
    }

    fn line(
        reference: &str,
        direction: LineDirection,
        amount: i64,
        kind: LineKind,
    ) -> StatementLine {
        StatementLine {
            reference: reference.to_owned(),
            direction,
            currency: "NGN".to_owned(),
            amount,
            kind,
            created_at: DAY_MS,
        }
    }

    const DAY_MS: i64 = 1_763_798_400_000;

    #[test]
    fn the_ledger_names_movements_as_the_bank_does() {
        let day = Day::of_ms(DAY_MS);
        let credited = LedgerRow {
            reference: "tran_credit".into(),
            inflow_session: Some("sess_1".into()),
            ..row("inflow", "tran_credit", -100_000, "live")
        };
        let debit = LedgerRow {
            debit_reference: Some("dp_1".into()),
            ..row("inflow", "tran_debit", -70_000, "live")
        };
        let rows = [
            row("settlement", "tran_out", 500_000, "live"),
            credited,
            debit,
            row("unmatched_inflow", "sess_back", -900, "live"),
            row("unmatched_return", "sess_back", 900, "live"),
            row("settlement", "tran_test", 1, "test"),
        ];
        let statement = [
            line("tran_out", LineDirection::Out, 500_000, LineKind::Transfer),
            line("sess_1", LineDirection::In, 100_000, LineKind::Inflow),
            line("dp_1", LineDirection::In, 70_000, LineKind::Debit),
            line("sess_back", LineDirection::In, 900, LineKind::Inflow),
            line("sess_back", LineDirection::Out, 900, LineKind::Return),
        ];
        let scope = Scope::of(RailChoice::Live, RailProvider::Http);
        let day_result = reconcile_day(day, scope, None, &rows, &statement, None);
        assert!(day_result.outcome.is_clean(), "{:?}", day_result.outcome);
        assert_eq!(day_result.outcome.matched, 5);
        assert_eq!(day_result.kind_of("dp_1"), "debit");
        assert_eq!(day_result.kind_of("sess_back"), "inflow");
        // Test mode's ledger is not on the live bank's statement, and the other way round.
        let test = reconcile_day(
            day,
            Scope::of(RailChoice::Test, RailProvider::Http),
            None,
            &rows,
            &[],
            None,
        );
        assert_eq!(test.outcome.mismatches.len(), 1);
        assert_eq!(test.outcome.mismatches[0].reference(), "tran_test");
        // A business sees its own references only.
        let mine: BTreeSet<String> = ["tran_out".to_owned()].into();
        let other = reconcile_day(
            day,
            scope,
            Some("biz_2"),
            &rows,
            &statement,
            Some(&BTreeSet::new()),
        );
        assert!(other.outcome.is_clean());
        assert_eq!(other.outcome.matched, 0);
        let own = reconcile_day(
            day,
            scope,
            Some("biz_1"),
            &rows[..1],
            &statement,
            Some(&mine),
        );
        assert!(own.outcome.is_clean(), "{:?}", own.outcome);
        assert_eq!(own.outcome.matched, 1);
    }

    #[test]
    fn holds_and_releases_are_not_movements_at_the_bank() {
        let day = Day::of_ms(DAY_MS);
        assert!(ledger_movement(&row("hold", "t", 5, "live"), day).is_none());
        assert!(ledger_movement(&row("release", "t", 5, "live"), day).is_none());
        let (paid, kind) = ledger_movement(&row("settlement", "t", 5, "live"), day).unwrap();
        assert_eq!(
            (paid.direction, kind, paid.on_the_day),
            (Direction::Out, "transfer", true)
        );
    }
}
