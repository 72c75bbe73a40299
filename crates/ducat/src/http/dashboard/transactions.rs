//! The dashboard's transactions: a filtered, paged list (a plain GET form, so it works without
//! JavaScript and every filtered view has its own address) and one transaction with its whole
//! timeline: its events and, for each, the webhook delivery and every attempt.

use super::format::{money, parse_day, when, when_precise};
use super::layout::{badge, page, pager, Notice, Section};
use super::overview::{counterparty, transaction_table};
use super::{html, ok, PageError, PageResult, Signed};
use crate::http::AppState;
use crate::store::dashboard_money::{self, MoneyFilter, PayoutView};
use crate::store::transactions::{self, Party, TransactionRecord};
use crate::store::webhooks::{self, WebhookAttempt, WebhookDelivery};
use crate::store::{events, events::StoredEvent};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use ducat_core::ids::TransactionRef;
use ducat_core::money::{parse_major, Currency};
use ducat_core::payout::PayoutStatus;
use maud::{html, Markup};

pub const PER_PAGE: i64 = 25;
const DAY_MS: i64 = 86_400_000;
/// Far beyond any real list; keeps the offset arithmetic small.
const MAX_PAGE: i64 = 1_000_000;

/// The kinds of transaction, as the services write `category`, and how people call them.
pub const KINDS: [(&str, &str); 6] = [
    ("wallet_funding", "Wallet funding"),
    ("pay-with-transfer", "Pay with transfer (checkout)"),
    ("virtual-account", "Virtual account"),
    ("bank_transfer", "Payout (bank transfer)"),
    ("withdrawal", "Withdrawal"),
    ("direct_payment", "Direct payment"),
];

/// Every status a transaction can have: a credit is `successful` when written; a payout or a
/// withdrawal goes through the payout state machine.
fn statuses() -> impl Iterator<Item = (&'static str, &'static str)> {
    PayoutStatus::ALL.into_iter().map(|status| {
        let label = match status {
            PayoutStatus::AwaitingOtpVerification => "Awaiting OTP",
            PayoutStatus::Pending => "Pending",
            PayoutStatus::Successful => "Successful",
            PayoutStatus::Failed => "Failed",
            PayoutStatus::Abandoned => "Abandoned",
        };
        (status.as_str(), label)
    })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/transactions", get(list))
        .route("/dashboard/transactions/{reference}", get(detail))
}

/// The list's query as typed (every value kept as text so a bad one is reported, not
/// rejected by the extractor).
#[derive(Debug, Default)]
struct ListQuery {
    kind: String,
    status: String,
    from: String,
    to: String,
    reference: String,
    amount: String,
    page: i64,
}

impl ListQuery {
    fn parse(raw: Option<&str>) -> ListQuery {
        let mut query = ListQuery {
            page: 1,
            ..ListQuery::default()
        };
        for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let value = value.trim().to_owned();
            match name.as_ref() {
                "kind" => query.kind = value,
                "status" => query.status = value,
                "from" => query.from = value,
                "to" => query.to = value,
                "reference" => query.reference = value,
                "amount" => query.amount = value,
                "page" => {
                    query.page = value.parse::<i64>().unwrap_or(1).clamp(1, MAX_PAGE);
                }
                _ => {}
            }
        }
        query
    }

    /// The filter, or every reason it is not one.
    fn filter(&self) -> Result<MoneyFilter, String> {
        let mut problems = Vec::new();
        let mut filter = MoneyFilter::default();
        match self.kind.as_str() {
            "" | "any" => {}
            kind if KINDS.iter().any(|(k, _)| *k == kind) => filter.category = Some(kind.into()),
            _ => problems.push("The kind is not one of the listed kinds.".to_owned()),
        }
        match self.status.as_str() {
            "" | "any" => {}
            status if statuses().any(|(s, _)| s == status) => {
                filter.status = Some(status.into());
            }
            _ => problems.push("The status is not one of the listed statuses.".to_owned()),
        }
        let day = |text: &str, label: &str, problems: &mut Vec<String>| {
            if text.is_empty() {
                return None;
            }
            let parsed = parse_day(text);
            if parsed.is_none() {
                problems.push(format!(
                    "The {label} date must be a day written YYYY-MM-DD, such as 2026-11-22."
                ));
            }
            parsed
        };
        filter.start_ms = day(&self.from, "start", &mut problems);
        filter.end_ms = day(&self.to, "end", &mut problems).map(|start| start + DAY_MS);
        if let (Some(start), Some(end)) = (filter.start_ms, filter.end_ms) {
            if start >= end {
                problems.push("The start date is after the end date.".to_owned());
            }
        }
        if !self.amount.is_empty() {
            // Every currency the gateway holds has two decimal places.
            match parse_major(&self.amount, Currency::Ngn) {
                Ok(amount) if amount.get() >= 0 => filter.amount = Some(amount.get()),
                Ok(_) => problems.push("The amount must not be negative.".to_owned()),
                Err(error) => problems.push(format!(
                    "The amount {error}; write it in major units, such as 5000 or 5000.50."
                )),
            }
        }
        if !self.reference.is_empty() {
            if self.reference.chars().count() > 100 || self.reference.chars().any(char::is_control)
            {
                problems.push("The reference must be at most 100 printable characters.".to_owned());
            } else {
                filter.reference = Some(self.reference.clone());
            }
        }
        if problems.is_empty() {
            Ok(filter)
        } else {
            Err(problems.join(" "))
        }
    }

    /// The filters as a query string, for the pager's links.
    fn base_query(&self) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("kind", &self.kind),
            ("status", &self.status),
            ("from", &self.from),
            ("to", &self.to),
            ("reference", &self.reference),
            ("amount", &self.amount),
        ] {
            if !value.is_empty() && value != "any" {
                serializer.append_pair(name, value);
            }
        }
        serializer.finish()
    }
}

async fn list(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let query = ListQuery::parse(raw.as_deref());
    let filter = match query.filter() {
        Ok(filter) => filter,
        Err(problem) => {
            let content = html! {
                h1 { "Transactions" }
                (filters(&query))
                p.muted { "Nothing is listed until the filters are corrected." }
            };
            return Ok(html(
                StatusCode::BAD_REQUEST,
                page(
                    &signed,
                    Section::Transactions,
                    Some(&Notice::error(problem)),
                    content,
                ),
            ));
        }
    };
    let offset = (query.page - 1) * PER_PAGE;
    let (rows, total) = dashboard_money::list(
        &state.services.store,
        &signed.business.id,
        &filter,
        PER_PAGE,
        offset,
    )
    .await?;
    let filtered = !query.base_query().is_empty();
    let content = html! {
        h1 { "Transactions" }
        (filters(&query))
        @if rows.is_empty() && filtered {
            p.muted { "No transactions match these filters." }
        } @else {
            (transaction_table(&rows))
        }
        @if total > 0 {
            (pager(&query.base_query(), query.page, PER_PAGE, total, "/dashboard/transactions"))
        }
    };
    ok(page(&signed, Section::Transactions, None, content))
}

fn filters(query: &ListQuery) -> Markup {
    html! {
        form.filters method="get" action="/dashboard/transactions" aria-label="Filter transactions" {
            label for="f-kind" {
                "Kind"
                select id="f-kind" name="kind" {
                    option value="any" selected[query.kind.is_empty() || query.kind == "any"] { "Any kind" }
                    @for (kind, label) in KINDS {
                        option value=(kind) selected[query.kind == kind] { (label) }
                    }
                }
            }
            label for="f-status" {
                "Status"
                select id="f-status" name="status" {
                    option value="any" selected[query.status.is_empty() || query.status == "any"] { "Any status" }
                    @for (status, label) in statuses() {
                        option value=(status) selected[query.status == status] { (label) }
                    }
                }
            }
            label for="f-from" {
                "From (UTC)"
                input id="f-from" name="from" type="date" value=(query.from) placeholder="YYYY-MM-DD";
            }
            label for="f-to" {
                "To (UTC)"
                input id="f-to" name="to" type="date" value=(query.to) placeholder="YYYY-MM-DD";
            }
            label for="f-reference" {
                "Reference"
                input id="f-reference" name="reference" type="search" value=(query.reference)
                    placeholder="tran_…, your id, session id" maxlength="100";
            }
            label for="f-amount" {
                "Amount"
                input id="f-amount" name="amount" type="text" inputmode="decimal" value=(query.amount)
                    placeholder="5000.00";
            }
            div {
                button.primary type="submit" { "Filter" }
                " "
                a href="/dashboard/transactions" { "Clear" }
            }
        }
    }
}

/// A business's transaction, or the 404 a stranger's or a made-up reference gets.
pub(super) async fn transaction_of(
    state: &AppState,
    signed: &Signed,
    reference: &str,
) -> Result<TransactionRecord, PageError> {
    let not_found = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            "There is no such transaction in this business.",
        )
    };
    let reference = TransactionRef::parse(reference.trim()).ok_or_else(not_found)?;
    transactions::of_business(&state.services.store, &signed.business.id, &reference)
        .await?
        .ok_or_else(not_found)
}

/// One event of the timeline with its webhook delivery and that delivery's attempts.
struct TimelineEntry {
    event: StoredEvent,
    delivery: Option<WebhookDelivery>,
    attempts: Vec<WebhookAttempt>,
}

async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
) -> PageResult {
    let record = transaction_of(&state, &signed, &reference).await?;
    let store = &state.services.store;
    let business = &signed.business.id;
    let mut timeline = Vec::new();
    for event in events::for_transaction(store, business, record.transaction_ref.as_str()).await? {
        let delivery = webhooks::delivery(store, &event.id)
            .await?
            .filter(|d| d.business_id == business.as_str());
        let attempts = match &delivery {
            Some(_) => webhooks::attempts(store, &event.id).await?,
            None => Vec::new(),
        };
        timeline.push(TimelineEntry {
            event,
            delivery,
            attempts,
        });
    }
    let payout = dashboard_money::payout(store, business, &record.transaction_ref).await?;
    let awaiting_otp = record.status == PayoutStatus::AwaitingOtpVerification.as_str();
    let currency = record.currency.code();
    let content = html! {
        p { a href="/dashboard/transactions" { "← All transactions" } }
        h1 { "Transaction " code { (record.transaction_ref) } }
        @if awaiting_otp && payout.is_some() {
            p.notice.success role="status" {
                "This payout awaits its OTP. "
                a href=(format!("/dashboard/payouts/{}", record.transaction_ref)) { "Confirm the payout" }
            }
        }
        section.card {
            dl.facts id="transaction-facts" {
                dt { "Status" } dd { (badge(&record.status)) }
                dt { "Amount" } dd { (money(record.amount.get(), currency)) }
                dt { "Fee" } dd { (money(record.fee_amount.get(), currency)) }
                dt { "Settled" } dd { (money(record.settled_amount.get(), currency)) }
                @if let Some(balance) = record.new_balance {
                    dt { "Balance after" } dd { (money(balance.get(), currency)) }
                }
                dt { "Currency" } dd { (currency) }
                dt { "Direction" } dd { (if record.direction == "debit" { "Debit (money out)" } else { "Credit (money in)" }) }
                dt { "Kind" } dd { (kind_label(&record.category)) " " span.muted { "(" (record.category) ")" } }
                dt { "Channel" } dd { (record.channel) }
                dt { "Description" } dd { (or_dash(Some(record.description.as_str()))) }
                dt { "Your transaction id" } dd { (or_dash(record.external_transaction_id.as_deref())) }
                dt { "Session id" } dd { (or_dash(record.session_id.as_deref())) }
                @if let Some(provider) = &record.provider_ref_id {
                    dt { "Provider reference" } dd { code { (provider) } }
                }
                @if let Some(account_ref) = &record.account_ref {
                    dt { "Received through" } dd { code { (account_ref) } }
                }
                dt { "Counterparty" } dd { (or_dash(Some(counterparty(&record).as_str()))) }
                dt { "Source" } dd { (party(&record.source)) }
                dt { "Receiver" } dd { (party(&record.receiver)) }
                dt { "Wallet" } dd { code { (record.wallet_ref) } }
                dt { "Created" } dd { (when_precise(record.created_at)) }
                dt { "Updated" } dd { (when_precise(record.updated_at)) }
            }
        }
        @if let Some(payout) = &payout {
            h2 { "Payout" }
            (payout_facts(payout, &record))
        }
        h2 { "Timeline" }
        ol.timeline id="timeline" {
            li {
                strong { "Created" } " · " (when_precise(record.created_at))
                @if record.direction == "debit" {
                    " · " (money(record.amount.get(), currency)) " out"
                } @else {
                    " · " (money(record.amount.get(), currency)) " in"
                }
            }
            @for entry in &timeline {
                (timeline_entry(entry))
            }
        }
        @if timeline.is_empty() {
            p.muted { "No events were recorded for this transaction." }
        }
    };
    ok(page(&signed, Section::Transactions, None, content))
}

pub(super) fn kind_label(category: &str) -> &str {
    KINDS
        .iter()
        .find(|(k, _)| *k == category)
        .map(|(_, label)| *label)
        .unwrap_or(category)
}

fn or_dash(value: Option<&str>) -> Markup {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(value) => html! { (value) },
        None => html! { span.muted { "—" } },
    }
}

fn party(party: &Party) -> Markup {
    let parts: Vec<&str> = [
        party.account_name.as_deref(),
        party.account_number.as_deref(),
        party.bank_name.as_deref().or(party.bank_code.as_deref()),
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.is_empty())
    .collect();
    if parts.is_empty() {
        or_dash(None)
    } else {
        html! { (parts.join(" · ")) }
    }
}

fn payout_facts(payout: &PayoutView, record: &TransactionRecord) -> Markup {
    let api = match payout.api_version.as_str() {
        "v2" => "Payout v2 (OTP per payout)",
        "v1" => "Payout v1",
        "withdraw" => "Beqelal withdrawal",
        other => other,
    };
    let bank = match payout.rail_state.as_str() {
        "not_sent" => "Not sent to the bank",
        "queued" => "Queued for the bank",
        "unknown" => "Sent; the outcome is being asked of the bank",
        "done" => "The bank answered",
        other => other,
    };
    html! {
        section.card {
            dl.facts id="payout-facts" {
                dt { "Kind" } dd { (api) }
                @if record.status == PayoutStatus::AwaitingOtpVerification.as_str() {
                    dt { "OTP deadline" } dd { (when(payout.deadline_at)) }
                }
                dt { "Wrong OTPs" } dd { (payout.wrong_otps) }
                dt { "OTP resends" } dd { (payout.resends) }
                dt { "Bank transfer" } dd { (bank) }
                @if payout.rail_attempts > 0 {
                    dt { "Status queries" } dd { (payout.rail_attempts) }
                }
                @if let Some(next) = payout.rail_next_at.filter(|_| payout.rail_state != "done") {
                    dt { "Next try" } dd { (when_precise(next)) }
                }
                @if let Some(error) = &payout.rail_last_error {
                    dt { "Last bank answer" } dd { (error) }
                }
            }
        }
    }
}

fn timeline_entry(entry: &TimelineEntry) -> Markup {
    let event = &entry.event;
    html! {
        li.event data-event-type=(event.event_type) {
            strong { (event.event_type) } " · " (when_precise(event.created_at))
            " " span.muted { "event " code { (event.id) } }
            @match &entry.delivery {
                None => p.muted { "No webhook: no URL was set when this happened." },
                Some(delivery) => {
                    p {
                        "Webhook to " code { (delivery.url) } " · " (badge(&delivery.status))
                        " · " (delivery.attempts) " attempt(s)"
                        @if let Some(at) = delivery.delivered_at {
                            " · delivered " (when_precise(at))
                        } @else if delivery.status == "pending" {
                            " · next attempt " (when_precise(delivery.next_attempt_at))
                        }
                    }
                    @if !entry.attempts.is_empty() {
                        div.table-wrap {
                            table.attempts {
                                thead {
                                    tr { th { "Attempt at" } th { "Result" } th.num { "Took" } }
                                }
                                tbody {
                                    @for attempt in &entry.attempts {
                                        tr {
                                            td { (when_precise(attempt.attempted_at)) }
                                            td {
                                                @if let Some(code) = attempt.status_code {
                                                    "HTTP " (code)
                                                }
                                                @if let Some(error) = &attempt.error {
                                                    @if attempt.status_code.is_some() { " · " }
                                                    (error)
                                                }
                                            }
                                            td.num { (attempt.latency_ms) " ms" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
