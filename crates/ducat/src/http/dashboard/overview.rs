//! The overview: balances per currency, money in and out today and over 30 days, and the
//! latest transactions.

use super::format::{day, money, when};
use super::layout::{badge, page, Section};
use super::{ok, PageResult, Signed};
use crate::http::AppState;
use crate::store::dashboard::{daily_flows, DailyFlow};
use crate::store::transactions::{self, TransactionFilter, TransactionRecord};
use crate::store::{businesses, ledger};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;

const DAY_MS: i64 = 86_400_000;
const CHART_DAYS: i64 = 30;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(overview))
}

#[derive(Debug, Deserialize)]
struct OverviewQuery {
    currency: Option<String>,
}

async fn overview(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<OverviewQuery>,
) -> PageResult {
    let services = &state.services;
    let store = &services.store;
    let business = &signed.business.id;
    let wallets = businesses::list_wallets(store, business).await?;
    let mut balances = Vec::new();
    for wallet in &wallets {
        let (available, held) = ledger::wallet_balances(store, &wallet.wallet_ref).await?;
        balances.push((wallet, available.get(), held.get()));
    }
    let currency = query
        .currency
        .filter(|c| wallets.iter().any(|w| w.currency.code() == c))
        // Naira first: most businesses here bank in it; then whatever wallet exists.
        .or_else(|| {
            wallets
                .iter()
                .find(|w| w.currency.code() == "NGN")
                .or(wallets.first())
                .map(|w| w.currency.code().to_owned())
        })
        .unwrap_or_else(|| "NGN".to_owned());
    let today = services.now_ms().div_euclid(DAY_MS);
    let since = (today - (CHART_DAYS - 1)) * DAY_MS;
    let flows = daily_flows(store, business, &currency, since).await?;
    let today_flow = flows
        .iter()
        .find(|f| f.day == today)
        .copied()
        .unwrap_or(DailyFlow {
            day: today,
            inflow: 0,
            outflow: 0,
        });
    let (inflow_30, outflow_30) = flows
        .iter()
        .fold((0i64, 0i64), |(i, o), f| (i + f.inflow, o + f.outflow));
    let (latest, _) =
        transactions::list(store, business, &TransactionFilter::default(), 10, 0).await?;

    let content = html! {
        h1 { "Overview" }
        h2 { "Balances" }
        div.grid {
            @for (wallet, available, held) in &balances {
                section.card aria-label=(format!("{} balance", wallet.currency.code())) {
                    p.muted { (wallet.currency.code()) " wallet · " (wallet.bank_name) " " (wallet.account_number) }
                    p.figure data-balance=(wallet.currency.code()) { (money(*available, wallet.currency.code())) }
                    p.muted { "available · " (money(*held, wallet.currency.code())) " held for payouts in flight" }
                }
            }
        }
        h2 { "Money in and out, " (currency) }
        @if wallets.len() > 1 {
            p.muted {
                "Currency: "
                @for wallet in &wallets {
                    @let code = wallet.currency.code();
                    @if code == currency { strong { (code) } " " }
                    @else { a href=(format!("/dashboard?currency={code}")) { (code) } " " }
                }
            }
        }
        div.grid {
            section.card {
                p.muted { "Today (UTC)" }
                p { "In " strong { (money(today_flow.inflow, &currency)) } " · Out " strong { (money(today_flow.outflow, &currency)) } }
            }
            section.card {
                p.muted { "Last 30 days" }
                p { "In " strong { (money(inflow_30, &currency)) } " · Out " strong { (money(outflow_30, &currency)) } }
            }
        }
        section.card.chart {
            (chart(&flows, today, &currency))
        }
        h2 { "Latest transactions" }
        (transaction_table(&latest))
        p { a href="/dashboard/transactions" { "All transactions →" } }
    };
    ok(page(&signed, Section::Overview, None, content))
}

/// A bar chart as inline SVG (no script, no style attribute: the CSP allows neither), with
/// the same figures as a table for screen readers and anyone without images.
fn chart(flows: &[DailyFlow], today: i64, currency: &str) -> Markup {
    let days: Vec<DailyFlow> = (today - (CHART_DAYS - 1)..=today)
        .map(|d| {
            flows
                .iter()
                .find(|f| f.day == d)
                .copied()
                .unwrap_or(DailyFlow {
                    day: d,
                    inflow: 0,
                    outflow: 0,
                })
        })
        .collect();
    let peak = days
        .iter()
        .map(|d| d.inflow.max(d.outflow))
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, slot) = (600i64, 160i64, 20i64);
    let bar = |value: i64| (value as i128 * (height - 10) as i128 / peak as i128) as i64;
    html! {
        figure {
            svg viewBox=(format!("0 0 {width} {}", height + 4)) role="img"
                aria-label=(format!("Daily money in and out over the last {CHART_DAYS} days, in {currency}")) {
                line.axis x1="0" y1=(height) x2=(width) y2=(height) {}
                @for (i, d) in days.iter().enumerate() {
                    @let x = i as i64 * slot;
                    @let h_in = bar(d.inflow);
                    @let h_out = bar(d.outflow);
                    rect.in x=(x + 2) y=(height - h_in) width="7" height=(h_in) {
                        title { (day(d.day * DAY_MS)) ": in " (money(d.inflow, currency)) }
                    }
                    rect.out x=(x + 10) y=(height - h_out) width="7" height=(h_out) {
                        title { (day(d.day * DAY_MS)) ": out " (money(d.outflow, currency)) }
                    }
                }
            }
            figcaption.legend {
                span { span.swatch.in {} " In" }
                span { span.swatch.out {} " Out" }
                span { (day(days[0].day * DAY_MS)) " to " (day(today * DAY_MS)) }
            }
            details {
                summary { "The figures" }
                table {
                    thead { tr { th { "Day" } th.num { "In" } th.num { "Out" } } }
                    tbody {
                        @for d in days.iter().filter(|d| d.inflow != 0 || d.outflow != 0) {
                            tr { td { (day(d.day * DAY_MS)) } td.num { (money(d.inflow, currency)) } td.num { (money(d.outflow, currency)) } }
                        }
                    }
                }
            }
        }
    }
}

/// The compact transaction table the overview and the list share.
pub fn transaction_table(rows: &[TransactionRecord]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { "No transactions yet." }
        } @else {
            div.table-wrap {
                table {
                    thead {
                        tr {
                            th { "When" } th { "Reference" } th { "Kind" } th { "Counterparty" }
                            th { "Status" } th.num { "Amount" }
                        }
                    }
                    tbody {
                        @for t in rows {
                            tr {
                                td { (when(t.created_at)) }
                                td { a href=(format!("/dashboard/transactions/{}", t.transaction_ref)) { code { (t.transaction_ref) } } }
                                td { (t.category) }
                                td { (counterparty(t)) }
                                td { (badge(&t.status)) }
                                td.num {
                                    @if t.direction == "debit" { "−" } @else { "+" }
                                    (money(t.amount.get(), t.currency.code()))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn counterparty(t: &TransactionRecord) -> String {
    let describe = |party: &crate::store::transactions::Party| {
        let name = party.account_name.as_deref().unwrap_or_default();
        let number = party.account_number.as_deref().unwrap_or_default();
        match (name.is_empty(), number.is_empty()) {
            (true, true) => None,
            (false, true) => Some(name.to_owned()),
            (true, false) => Some(number.to_owned()),
            (false, false) => Some(format!("{name} · {number}")),
        }
    };
    let first = if t.direction == "debit" {
        &t.receiver
    } else {
        &t.source
    };
    describe(first)
        .or_else(|| describe(&t.receiver))
        .or_else(|| describe(&t.source))
        .unwrap_or_default()
}
