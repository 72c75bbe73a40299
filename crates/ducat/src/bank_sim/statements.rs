//! `GET /v1/statements/{date}`: every movement of one UTC day through ducat's settlement
//! account at the bank-sim, by the bank-sim's own clock: successful transfers out (by their
//! reference), inflows (by session id), inflows ducat answered `returned` sent back (by the same
//! session id, out), and processed debits (by their reference, in).

use super::debits::{self, Debit};
use super::{admit, error, Refusal, Shared};
use crate::rail::notifications::InflowNotification;
use crate::rail::protocol::{
    codes, LineDirection, LineKind, StatementDocument, StatementLine, WireStatus,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ducat_core::reconcile::Day;
use serde::Deserialize;
use sqlx::Row;

#[derive(Debug, Deserialize)]
pub(super) struct StatementQuery {
    currency: Option<String>,
}

pub(super) async fn statement(
    State(state): State<Shared>,
    Path(date): Path<String>,
    Query(query): Query<StatementQuery>,
    headers: HeaderMap,
) -> Response {
    let failure = match admit(&state, &headers).await {
        Ok(failure) => failure,
        Err(refusal) => return refusal.into_response(),
    };
    let answer = read(&state, &date, query.currency).await;
    super::after_apply(failure).await;
    match answer {
        Ok(document) => Json(document).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn read(
    state: &Shared,
    date: &str,
    currency: Option<String>,
) -> Result<StatementDocument, Refusal> {
    let day = Day::parse(date).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            format!("a statement date is YYYY-MM-DD, not {date:?}"),
        )
    })?;
    if let Some(code) = &currency {
        super::currency(code)?;
    }
    let lines = day_lines(state, day).await.map_err(super::internal)?;
    let lines = lines
        .into_iter()
        .filter(|line| currency.as_ref().is_none_or(|c| *c == line.currency))
        .collect();
    Ok(StatementDocument {
        date: day.to_string(),
        currency,
        lines,
    })
}

async fn day_lines(
    state: &Shared,
    day: Day,
) -> Result<Vec<StatementLine>, super::store::SimStoreError> {
    let mut lines: Vec<StatementLine> = state
        .store
        .all()
        .await?
        .into_iter()
        .filter(|t| day.contains(t.created_at))
        .filter_map(|t| match t.status {
            WireStatus::Successful => Some(StatementLine {
                reference: t.request.reference,
                direction: LineDirection::Out,
                currency: t.request.currency,
                amount: t.request.amount,
                kind: LineKind::Transfer,
                created_at: t.created_at,
            }),
            WireStatus::Failed | WireStatus::Processing => None,
        })
        .collect();
    let pool = state.store.pool();
    let inflows = sqlx::query("SELECT body, returned_at FROM inflows ORDER BY seq")
        .fetch_all(pool)
        .await?;
    for row in &inflows {
        let body: String = row.get("body");
        let Ok(inflow) = serde_json::from_str::<InflowNotification>(&body) else {
            continue;
        };
        let returned_at: Option<i64> = row.get("returned_at");
        lines.extend(inflow_lines(&inflow, returned_at, day));
    }
    let now = super::now_ms();
    for (debit, updated_at) in debits::all_with_update_times(pool).await? {
        lines.extend(debit_line(&debit, updated_at, now, day));
    }
    lines.sort_by(|a, b| (a.created_at, &a.reference).cmp(&(b.created_at, &b.reference)));
    Ok(lines)
}

/// An inflow's lines on `day`: the money in, and the return out when it was sent back then.
fn inflow_lines(
    inflow: &InflowNotification,
    returned_at: Option<i64>,
    day: Day,
) -> Vec<StatementLine> {
    let line = |direction, kind, created_at| StatementLine {
        reference: inflow.session_id.clone(),
        direction,
        currency: inflow.currency.clone(),
        amount: inflow.amount,
        kind,
        created_at,
    };
    let mut lines = Vec::new();
    if day.contains(inflow.created_at) {
        lines.push(line(LineDirection::In, LineKind::Inflow, inflow.created_at));
    }
    if let Some(at) = returned_at.filter(|at| day.contains(*at)) {
        lines.push(line(LineDirection::Out, LineKind::Return, at));
    }
    lines
}

/// A debit's line on `day`: money in once it is processed, at the time it was (a push prompt
/// approved but not yet asked about is processed at its approval time).
fn debit_line(debit: &Debit, updated_at: i64, now: i64, day: Day) -> Option<StatementLine> {
    let stored_processed = debits::is_processed(debit);
    let settled = debits::settle(debit, now);
    let at = match (stored_processed, debits::is_processed(&settled)) {
        (true, _) => updated_at,
        (false, true) => debit.approve_at.unwrap_or(updated_at),
        (false, false) => return None,
    };
    day.contains(at).then(|| StatementLine {
        reference: debit.request.reference.clone(),
        direction: LineDirection::In,
        currency: debit.request.currency.clone(),
        amount: debit.request.amount,
        kind: LineKind::Debit,
        created_at: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflow(created_at: i64) -> InflowNotification {
        InflowNotification {
            session_id: "s1".into(),
            account_number: "9912345678".into(),
            amount: 500,
            currency: "NGN".into(),
            source_bank_code: None,
            source_account_number: None,
            source_account_name: None,
            narration: None,
            created_at,
        }
    }

    #[test]
    fn an_inflow_and_its_return_fall_on_their_own_days() {
        let day = Day::parse("2025-11-22").unwrap();
        let late = day.end_ms() - 1;
        let lines = inflow_lines(&inflow(late), Some(late), day);
        assert_eq!(
            lines
                .iter()
                .map(|l| (l.direction, l.kind))
                .collect::<Vec<_>>(),
            vec![
                (LineDirection::In, LineKind::Inflow),
                (LineDirection::Out, LineKind::Return)
            ]
        );
        // Returned just after midnight: the return is on the next day's statement.
        let lines = inflow_lines(&inflow(late), Some(day.end_ms()), day);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            inflow_lines(&inflow(late), Some(day.end_ms()), day.next()).len(),
            1
        );
        assert!(inflow_lines(&inflow(late), None, day.next()).is_empty());
    }
}
