//! Reconciliation: the business's own movements of a day matched against the bank's statement
//! (the bank its mode banks with). Every role may read it.

use super::format::{money, when_precise};
use super::layout::{page, Section};
use super::{html, PageError, PageResult, Signed};
use crate::http::AppState;
use crate::services::reconcile::RailChoice;
use crate::store::businesses::Mode;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use ducat_core::reconcile::{Day, Direction, Mismatch, Movement};
use maud::html as markup;
use serde::Deserialize;

const PATH: &str = "/dashboard/reconciliation";

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(reconciliation_page))
}

#[derive(Debug, Deserialize)]
struct ReconciliationQuery {
    date: Option<String>,
}

fn direction(movement: &Movement) -> &'static str {
    match movement.direction {
        Direction::In => "in",
        Direction::Out => "out",
    }
}

fn problem(mismatch: &Mismatch) -> &'static str {
    match mismatch {
        Mismatch::MissingInLedger { .. } => "missing in ledger",
        Mismatch::MissingAtBank { .. } => "missing at bank",
        Mismatch::Differs { .. } => "differs",
    }
}

fn amount(movement: &Movement) -> String {
    money(movement.amount.get(), movement.currency.code())
}

async fn reconciliation_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ReconciliationQuery>,
) -> PageResult {
    let day = match query.date.as_deref().filter(|d| !d.is_empty()) {
        None => Day::of_ms(state.services.now_ms()),
        Some(text) => Day::parse(text).ok_or_else(|| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                format!("The date must be a day written YYYY-MM-DD, not \"{text}\"."),
            )
        })?,
    };
    let choice = match signed.business.mode {
        Mode::Test => RailChoice::Test,
        Mode::Live => RailChoice::Live,
    };
    let report = state
        .services
        .reconcile(day, choice, Some(&signed.business.id))
        .await?;
    let outcome = &report.outcome;
    let content = markup! {
        h1 { "Reconciliation" }
        section.card {
            form.inline method="get" action=(PATH) {
                label for="date" { "Day (UTC)" }
                input #date type="date" name="date" value=(day.to_string());
                button type="submit" { "Show" }
            }
            p #reconciliation-summary {
                @if outcome.is_clean() {
                    strong { "Clean: " (outcome.matched) " movements matched" }
                    " with the bank's statement of " (day.to_string()) "."
                } @else {
                    strong { (outcome.mismatches.len()) " mismatch(es)" }
                    ", " (outcome.matched) " movements matched with the bank's statement of "
                    (day.to_string()) "."
                }
            }
        }
        @if !outcome.mismatches.is_empty() {
            section.card {
                h2 { "Mismatches" }
                div.table-wrap {
                    table #mismatches {
                        thead { tr { th { "Reference" } th { "Kind" } th { "Problem" } th { "Bank" } th { "Ledger" } } }
                        tbody {
                            @for mismatch in &outcome.mismatches {
                                @let (bank, ledger) = match mismatch {
                                    Mismatch::MissingInLedger { bank } => (Some(bank), None),
                                    Mismatch::MissingAtBank { ledger } => (None, Some(ledger)),
                                    Mismatch::Differs { bank, ledger } => (Some(bank), Some(ledger)),
                                };
                                tr {
                                    td { code { (mismatch.reference()) } }
                                    td { (report.kind_of(mismatch.reference())) }
                                    td { strong { (problem(mismatch)) } }
                                    td { @if let Some(m) = bank { (direction(m)) " " (amount(m)) } }
                                    td { @if let Some(m) = ledger { (direction(m)) " " (amount(m)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Movements of the day" }
            @if report.ledger_of_the_day.is_empty() {
                p.muted { "No money moved through the bank on this day." }
            } @else {
                div.table-wrap {
                    table #movements {
                        thead { tr { th { "Reference" } th { "Kind" } th { "Direction" } th { "Amount" } th { "At the bank" } } }
                        tbody {
                            @for movement in &report.ledger_of_the_day {
                                tr {
                                    td { code { (movement.reference) } }
                                    td { (report.kind_of(&movement.reference)) }
                                    td { (direction(movement)) }
                                    td { (amount(movement)) }
                                    td { @if report.is_matched(movement) { "matched" } @else { strong { "mismatch" } } }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { "Read " (when_precise(state.services.now_ms())) "." }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(&signed, Section::Reconciliation, None, content),
    ))
}
