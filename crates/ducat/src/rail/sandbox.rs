//! The in-process sandbox bank: the directory and magic values of `ducat_core::banks`, answered
//! without leaving the machine. It remembers every transfer it was asked to make (in the
//! gateway's own database), so a reference is applied once and a status query has an answer.

use super::protocol::{LineDirection, LineKind, StatementLine};
use super::{BoxFuture, Rail, RailError, ResolvedAccount, TransferOut, TransferOutcome};
use crate::clock::Clock;
use crate::store::{int, text, Autocommit, Store, StoreError};
use ducat_core::banks::{self, SandboxBehaviour};
use ducat_core::money::Currency;
use ducat_core::reconcile::Day;
use rand::rngs::OsRng;
use rand::Rng;
use std::sync::Arc;

#[derive(Clone)]
pub struct SandboxRail {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Whether live-mode businesses bank here too (the configured rail is the sandbox), so
    /// their inflows are on its statement.
    serves_live: bool,
}

impl SandboxRail {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> SandboxRail {
        SandboxRail {
            store,
            clock,
            serves_live: false,
        }
    }

    pub fn serving_live(self, serves_live: bool) -> SandboxRail {
        SandboxRail {
            serves_live,
            ..self
        }
    }
}

/// The sandbox's statement line for one row of `sandbox_transfers`: a successful transfer out,
/// or (reference `debit:REF`) a processed direct debit, money in under the payment's reference.
fn transfer_line(
    reference: &str,
    currency: &str,
    amount: i64,
    outcome: &str,
    created_at: i64,
) -> Option<StatementLine> {
    if outcome != "successful" {
        return None;
    }
    let (reference, direction, kind) = match reference.strip_prefix("debit:") {
        Some(payment) => (payment, LineDirection::In, LineKind::Debit),
        None => (reference, LineDirection::Out, LineKind::Transfer),
    };
    Some(StatementLine {
        reference: reference.to_owned(),
        direction,
        currency: currency.to_owned(),
        amount,
        kind,
        created_at,
    })
}

/// The sandbox's lines for one inbound transfer it delivered: money in under the session id,
/// and when ducat returned it, the same amount back out under the same session id.
fn inflow_lines(
    session_id: &str,
    currency: &str,
    amount: i64,
    returned: bool,
    created_at: i64,
) -> Vec<StatementLine> {
    let line = |direction, kind| StatementLine {
        reference: session_id.to_owned(),
        direction,
        currency: currency.to_owned(),
        amount,
        kind,
        created_at,
    };
    let mut lines = vec![line(LineDirection::In, LineKind::Inflow)];
    if returned {
        lines.push(line(LineDirection::Out, LineKind::Return));
    }
    lines
}

/// Name enquiry against the sandbox directory; pure, so it is tested without a database.
pub fn resolve(
    currency: Currency,
    bank_code: &str,
    account_number: &str,
) -> Result<ResolvedAccount, RailError> {
    let institution = banks::find_institution(currency, bank_code)
        .ok_or_else(|| RailError::UnknownBank(bank_code.to_owned(), currency))?;
    institution
        .validate_account(account_number)
        .map_err(|e| RailError::MalformedAccount(e.to_string()))?;
    match banks::sandbox_behaviour(account_number) {
        SandboxBehaviour::UnknownAccount => {
            Err(RailError::UnknownAccount(account_number.to_owned()))
        }
        SandboxBehaviour::Normal
        | SandboxBehaviour::Decline
        | SandboxBehaviour::TimeoutThenSuccess
        | SandboxBehaviour::TimeoutThenFailure => Ok(ResolvedAccount {
            bank_code: institution.code.to_owned(),
            bank_name: institution.name.to_owned(),
            account_number: account_number.to_owned(),
            account_name: banks::sandbox_account_name(currency, account_number),
        }),
    }
}

/// What the sandbox bank does with a transfer to this account: its final outcome, and whether
/// the first answer is lost to a timeout.
pub(crate) fn transfer_behaviour(account_number: &str) -> (bool, bool) {
    match banks::sandbox_behaviour(account_number) {
        SandboxBehaviour::Normal => (true, false),
        SandboxBehaviour::Decline | SandboxBehaviour::UnknownAccount => (false, false),
        SandboxBehaviour::TimeoutThenSuccess => (true, true),
        SandboxBehaviour::TimeoutThenFailure => (false, true),
    }
}

pub(crate) fn nip_session_id(now_ms: i64) -> String {
    let stamp: String = crate::clock::iso_millis(now_ms)
        .chars()
        .filter(char::is_ascii_digit)
        .skip(2)
        .take(12)
        .collect();
    let tail: String = (0..12)
        .map(|_| char::from(b'0' + OsRng.gen_range(0..10u8)))
        .collect();
    format!("999035{stamp}{tail}")
}

impl SandboxRail {
    async fn record(&self, transfer: &TransferOut) -> Result<TransferOutcome, StoreError> {
        let (pays, times_out) = transfer_behaviour(&transfer.account_number);
        let now = self.clock.now_ms();
        let inserted = sqlx::query(
            "INSERT INTO sandbox_transfers (reference, currency, bank_code, account_number, amount, outcome, session_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&transfer.reference)
        .bind(transfer.currency.code())
        .bind(&transfer.bank_code)
        .bind(&transfer.account_number)
        .bind(transfer.amount.get())
        .bind(if pays { "successful" } else { "failed" })
        .bind(nip_session_id(now))
        .bind(now)
        .execute_in(&self.store)
        .await?
        .rows_affected()
            == 1;
        if inserted && times_out {
            // The bank did the work but its answer never arrived.
            return Ok(TransferOutcome::Unknown {
                reason: "the bank did not answer in time".to_owned(),
            });
        }
        self.lookup(&transfer.reference).await
    }

    /// What the sandbox bank did on `day`: its transfers out, the debits it processed, and the
    /// inflows it delivered (to test-mode businesses, and live ones when it is their rail).
    async fn day_lines(&self, day: Day) -> Result<Vec<StatementLine>, StoreError> {
        let transfers = sqlx::query(
            "SELECT reference, currency, amount, outcome, created_at FROM sandbox_transfers
             WHERE created_at >= $1 AND created_at < $2",
        )
        .bind(day.start_ms())
        .bind(day.end_ms())
        .fetch_all(self.store.reader())
        .await?;
        let mut lines: Vec<StatementLine> = transfers
            .iter()
            .filter_map(|row| {
                transfer_line(
                    &text(row, "reference"),
                    &text(row, "currency"),
                    int(row, "amount"),
                    &text(row, "outcome"),
                    int(row, "created_at"),
                )
            })
            .collect();
        let inflows = sqlx::query(
            "SELECT i.session_id, i.currency, i.amount, i.outcome, i.created_at
             FROM inbound_transfers i JOIN businesses b ON b.id = i.business_id
             WHERE i.created_at >= $1 AND i.created_at < $2 AND b.mode IN ('test', $3)",
        )
        .bind(day.start_ms())
        .bind(day.end_ms())
        .bind(if self.serves_live { "live" } else { "test" })
        .fetch_all(self.store.reader())
        .await?;
        for row in &inflows {
            lines.extend(inflow_lines(
                &text(row, "session_id"),
                &text(row, "currency"),
                int(row, "amount"),
                text(row, "outcome") == "returned",
                int(row, "created_at"),
            ));
        }
        lines.sort_by(|a, b| (a.created_at, &a.reference).cmp(&(b.created_at, &b.reference)));
        Ok(lines)
    }

    async fn lookup(&self, reference: &str) -> Result<TransferOutcome, StoreError> {
        let row =
            sqlx::query("SELECT outcome, session_id FROM sandbox_transfers WHERE reference = $1")
                .bind(reference)
                .fetch_optional(self.store.reader())
                .await?;
        Ok(match row {
            None => TransferOutcome::NotFound,
            Some(row) if text(&row, "outcome") == "successful" => TransferOutcome::Paid {
                session_id: text(&row, "session_id"),
            },
            Some(_) => TransferOutcome::Declined {
                reason: "the receiving bank declined the transfer".to_owned(),
            },
        })
    }
}

fn unknown(error: StoreError) -> TransferOutcome {
    TransferOutcome::Unknown {
        reason: format!("the sandbox bank could not record the transfer: {error}"),
    }
}

impl Rail for SandboxRail {
    fn name_enquiry<'a>(
        &'a self,
        currency: Currency,
        bank_code: &'a str,
        account_number: &'a str,
    ) -> BoxFuture<'a, Result<ResolvedAccount, RailError>> {
        Box::pin(async move { resolve(currency, bank_code, account_number) })
    }

    fn transfer_out<'a>(&'a self, transfer: &'a TransferOut) -> BoxFuture<'a, TransferOutcome> {
        Box::pin(async move { self.record(transfer).await.unwrap_or_else(unknown) })
    }

    fn transfer_status<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, TransferOutcome> {
        Box::pin(async move { self.lookup(reference).await.unwrap_or_else(unknown) })
    }

    fn statement<'a>(&'a self, day: Day) -> BoxFuture<'a, Result<Vec<StatementLine>, RailError>> {
        Box::pin(async move {
            self.day_lines(day).await.map_err(|e| {
                RailError::Unavailable(format!("the sandbox bank could not read its records: {e}"))
            })
        })
    }

    fn open_account<'a>(
        &'a self,
        opening: &'a super::notifications::AccountOpening,
    ) -> BoxFuture<'a, Result<super::notifications::OpenedAccount, RailError>> {
        Box::pin(super::notifications::open_sandbox_account(
            &self.store,
            opening,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_values_decide_name_enquiry() {
        let resolved = resolve(Currency::Ngn, "058", "0123456789").unwrap();
        assert_eq!(
            resolved.bank_name,
            banks::find_institution(Currency::Ngn, "058").unwrap().name
        );
        assert_eq!(
            resolved,
            resolve(Currency::Ngn, "058", "0123456789").unwrap()
        );
        assert_eq!(
            resolve(Currency::Ngn, "058", "0123456700"),
            Err(RailError::UnknownAccount("0123456700".into()))
        );
        assert!(resolve(Currency::Ngn, "058", "0123456791").is_ok());
        assert!(matches!(
            resolve(Currency::Ngn, "999", "0123456789"),
            Err(RailError::UnknownBank(..))
        ));
        assert!(matches!(
            resolve(Currency::Ngn, "058", "123"),
            Err(RailError::MalformedAccount(_))
        ));
    }

    #[test]
    fn statement_lines_come_from_the_sandbox_records() {
        assert_eq!(transfer_line("tran_1", "NGN", 500, "failed", 1), None);
        let paid = transfer_line("tran_1", "NGN", 500, "successful", 1).unwrap();
        assert_eq!(
            (paid.direction, paid.kind),
            (LineDirection::Out, LineKind::Transfer)
        );
        let debit = transfer_line("debit:dp_1", "ETB", 700, "successful", 2).unwrap();
        assert_eq!(debit.reference, "dp_1");
        assert_eq!(
            (debit.direction, debit.kind),
            (LineDirection::In, LineKind::Debit)
        );
        assert_eq!(inflow_lines("s1", "NGN", 9, false, 3).len(), 1);
        let returned = inflow_lines("s1", "NGN", 9, true, 3);
        assert_eq!(
            returned
                .iter()
                .map(|l| (l.direction, l.kind))
                .collect::<Vec<_>>(),
            vec![
                (LineDirection::In, LineKind::Inflow),
                (LineDirection::Out, LineKind::Return)
            ]
        );
    }

    #[test]
    fn magic_values_decide_transfers() {
        assert_eq!(transfer_behaviour("0123456789"), (true, false));
        assert_eq!(transfer_behaviour("0123456791"), (false, false));
        assert_eq!(transfer_behaviour("0123456792"), (true, true));
        assert_eq!(transfer_behaviour("0123456793"), (false, true));
    }
}
