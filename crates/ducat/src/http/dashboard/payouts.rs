//! The dashboard's payouts: an owner sends NGN to a bank account (the v2 flow: initiate, then
//! confirm with the OTP texted to the business's payout phone); everyone sees recent payouts.

use super::format::{money, when};
use super::layout::{badge, csrf, page, role_note, Notice, Section};
use super::overview::transaction_table;
use super::transactions::transaction_of;
use super::{describe, html, see_other, Form, PageError, PageResult, Post, Signed};
use crate::http::AppState;
use crate::services::payouts::{InitiatePayout, MINIMUM_PAYOUT};
use crate::store::businesses::{self, Mode};
use crate::store::dashboard_money::{self, MoneyFilter};
use crate::store::ledger;
use crate::store::transactions::TransactionRecord;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use ducat_core::banks;
use ducat_core::money::Currency;
use ducat_core::payout::PayoutStatus;
use ducat_core::roles::Action;
use maud::{html, Markup};

const RECENT: i64 = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/payouts", get(payouts).post(initiate))
        .route("/dashboard/payouts/{reference}", get(show))
        .route("/dashboard/payouts/{reference}/confirm", post(confirm))
        .route("/dashboard/payouts/{reference}/resend", post(resend))
}

/// What the payout form holds, as typed.
#[derive(Debug, Default)]
struct Entered {
    bank_code: String,
    account_number: String,
    amount: String,
    description: String,
}

impl Entered {
    fn from_form(form: &Form) -> Entered {
        Entered {
            bank_code: form.get("bank_code").trim().to_owned(),
            account_number: form.get("account_number").trim().to_owned(),
            amount: form.get("amount").trim().to_owned(),
            description: form.get("description").trim().to_owned(),
        }
    }
}

async fn payouts(State(state): State<AppState>, signed: Signed) -> PageResult {
    payouts_page(&state, &signed, None, StatusCode::OK, &Entered::default()).await
}

async fn payouts_page(
    state: &AppState,
    signed: &Signed,
    notice: Option<&Notice>,
    status: StatusCode,
    entered: &Entered,
) -> PageResult {
    let store = &state.services.store;
    let business = &signed.business;
    let filter = MoneyFilter {
        category: Some("bank_transfer".to_owned()),
        ..MoneyFilter::default()
    };
    let (recent, total) = dashboard_money::list(store, &business.id, &filter, RECENT, 0).await?;
    let mut available = None;
    for wallet in businesses::list_wallets(store, &business.id).await? {
        if wallet.currency == Currency::Ngn {
            available = Some(ledger::wallet_balances(store, &wallet.wallet_ref).await?.0);
        }
    }
    let may = signed.may(Action::InitiatePayout);
    let content = html! {
        h1 { "Payouts" }
        section.card aria-labelledby="new-payout" {
            h2 id="new-payout" { "Send a payout" }
            @if let Some(available) = available {
                p.muted { "Available in the NGN wallet: " strong { (money(available.get(), "NGN")) } }
            }
            @match &business.otp_phone {
                None => p.notice.error role="note" id="no-otp-phone" {
                    "No OTP phone number is set for payouts, so a payout cannot be confirmed. "
                    a href="/dashboard/settings/payout" { "Set the payout OTP phone" }
                    @if !signed.may(Action::ChangeOtpPhone) { " (an owner can)" }
                    "."
                },
                Some(phone) => p.hint { "Each payout is confirmed with a code texted to " (phone) "." },
            }
            @if !may {
                (role_note(signed, Action::InitiatePayout))
            } @else if business.otp_phone.is_some() {
                (payout_form(signed, entered))
            }
        }
        h2 { "Recent payouts" }
        (transaction_table(&recent))
        @if total > RECENT {
            p { a href="/dashboard/transactions?kind=bank_transfer" { "All " (total) " payouts →" } }
        }
    };
    Ok(html(
        status,
        page(signed, Section::Payouts, notice, content),
    ))
}

fn payout_form(signed: &Signed, entered: &Entered) -> Markup {
    let minimum = money(MINIMUM_PAYOUT.get(), "NGN");
    html! {
        form.stack method="post" action="/dashboard/payouts" {
            (csrf(signed))
            label for="bank_code" { "Bank" }
            select id="bank_code" name="bank_code" required {
                option value="" selected[entered.bank_code.is_empty()] { "Choose a bank" }
                @for institution in banks::institutions(Currency::Ngn) {
                    option value=(institution.code) selected[entered.bank_code == institution.code] {
                        (institution.name) " (" (institution.code) ")"
                    }
                }
            }
            label for="account_number" { "Account number" }
            input id="account_number" name="account_number" type="text" inputmode="numeric"
                autocomplete="off" required maxlength="20" value=(entered.account_number);
            label for="amount" { "Amount" }
            input id="amount" name="amount" type="text" inputmode="decimal" autocomplete="off"
                required aria-describedby="amount-hint" value=(entered.amount);
            p.hint id="amount-hint" { "In NGN, such as 5000 or 5000.50; at least " (minimum) ". The fee is added." }
            label for="description" { "Narration" }
            input id="description" name="description" type="text" maxlength="255"
                value=(entered.description);
            button.primary type="submit" { "Continue" }
        }
    }
}

async fn initiate(State(state): State<AppState>, post: Post) -> PageResult {
    post.signed.require(Action::InitiatePayout)?;
    let entered = Entered::from_form(&post.form);
    let input = InitiatePayout {
        bank_code: entered.bank_code.clone(),
        account_number: entered.account_number.clone(),
        amount: entered.amount.clone(),
        description: entered.description.clone(),
        transaction_id: None,
    };
    let signed = &post.signed;
    match state
        .services
        .initiate_payout_v2(&signed.business.id, input)
        .await
    {
        Ok(record) => see_other(&format!(
            "/dashboard/payouts/{}?done=initiated",
            record.transaction_ref
        )),
        Err(error) => {
            let (status, message) = describe(&error);
            let message = message
                .replace("The recipient bank code", "The bank")
                .replace("The recipient account number", "The account number");
            payouts_page(
                &state,
                signed,
                Some(&Notice::error(message)),
                status,
                &entered,
            )
            .await
        }
    }
}

/// The fixed sentence for a `done` code; anything else says nothing.
fn done_notice(raw: Option<&str>) -> Option<Notice> {
    let done = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "done")
        .map(|(_, value)| value.into_owned())?;
    let text = match done.as_str() {
        "initiated" => "The payout was created. Confirm it with the OTP sent by SMS.",
        "resent" => "A new OTP was sent by SMS; the earlier one no longer works.",
        "confirmed" => {
            "The payout was confirmed: the funds are held and the transfer is on its way."
        }
        _ => return None,
    };
    Some(Notice::success(text))
}

async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let notice = done_notice(raw.as_deref());
    payout_page(&state, &signed, &reference, notice.as_ref(), StatusCode::OK).await
}

/// The payout of this business with this reference, or a 404.
async fn payout_of(
    state: &AppState,
    signed: &Signed,
    reference: &str,
) -> Result<(TransactionRecord, dashboard_money::PayoutView), PageError> {
    let record = transaction_of(state, signed, reference).await?;
    let payout = dashboard_money::payout(
        &state.services.store,
        &signed.business.id,
        &record.transaction_ref,
    )
    .await?
    .ok_or_else(|| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "There is no such payout in this business.",
        )
    })?;
    Ok((record, payout))
}

async fn payout_page(
    state: &AppState,
    signed: &Signed,
    reference: &str,
    notice: Option<&Notice>,
    status: StatusCode,
) -> PageResult {
    let (record, payout) = payout_of(state, signed, reference).await?;
    let business = &signed.business;
    let currency = record.currency.code();
    let total = record.amount.get().saturating_add(record.fee_amount.get());
    let awaiting = record.status == PayoutStatus::AwaitingOtpVerification.as_str();
    let past_deadline = state.services.now_ms() >= payout.deadline_at;
    let receiver = &record.receiver;
    let reference = record.transaction_ref.as_str();
    let content = html! {
        p { a href="/dashboard/payouts" { "← Payouts" } }
        h1 { "Payout " code { (reference) } }
        section.card {
            dl.facts {
                dt { "To" }
                dd {
                    strong id="payout-receiver" { (receiver.account_name.as_deref().unwrap_or("—")) }
                    br;
                    span.muted {
                        (receiver.account_number.as_deref().unwrap_or_default()) " · "
                        (receiver.bank_name.as_deref().or(receiver.bank_code.as_deref()).unwrap_or_default())
                    }
                }
                dt { "Amount" } dd { (money(record.amount.get(), currency)) }
                dt { "Fee" } dd { (money(record.fee_amount.get(), currency)) }
                dt { "Total from the wallet" } dd { (money(total, currency)) }
                @if !record.description.is_empty() {
                    dt { "Narration" } dd { (record.description) }
                }
                dt { "Status" } dd id="payout-status" { (badge(&record.status)) }
                @if awaiting {
                    dt { "Confirm before" } dd id="payout-deadline" { (when(payout.deadline_at)) }
                }
                dt { "Created" } dd { (when(record.created_at)) }
            }
            p { a href=(format!("/dashboard/transactions/{reference}")) { "The transaction and its timeline →" } }
        }
        @if awaiting {
            section.card aria-labelledby="confirm-heading" {
                h2 id="confirm-heading" { "Confirm with the OTP" }
                @if past_deadline {
                    p.notice.error role="note" {
                        "The time to confirm this payout has passed; it will be abandoned and nothing will be sent."
                    }
                } @else {
                    p.hint {
                        "The code was sent by SMS to "
                        (business.otp_phone.as_deref().unwrap_or("the payout OTP phone")) "."
                        @if business.mode == Mode::Test {
                            " In test mode, read it in the "
                            a href="/dashboard/sandbox" { "Sandbox's SMS inbox" } "."
                        }
                    }
                    @if signed.may(Action::InitiatePayout) {
                        form.stack method="post" action=(format!("/dashboard/payouts/{reference}/confirm")) {
                            (csrf(signed))
                            label for="otp" { "OTP" }
                            input id="otp" name="otp" type="text" inputmode="numeric"
                                autocomplete="one-time-code" required maxlength="6" pattern="[0-9]{6}";
                            button.primary type="submit" { "Confirm payout" }
                        }
                        form.inline method="post" action=(format!("/dashboard/payouts/{reference}/resend")) {
                            (csrf(signed))
                            button type="submit" { "Resend OTP" }
                        }
                    } @else {
                        (role_note(signed, Action::InitiatePayout))
                    }
                }
            }
        }
    };
    Ok(html(
        status,
        page(signed, Section::Payouts, notice, content),
    ))
}

/// The reference from the path, checked to be one of the business's payouts before any
/// service is asked to act on it.
async fn checked_reference(
    state: &AppState,
    signed: &Signed,
    reference: &str,
) -> Result<String, PageError> {
    let (record, _) = payout_of(state, signed, reference).await?;
    Ok(record.transaction_ref.as_str().to_owned())
}

async fn confirm(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    post: Post,
) -> PageResult {
    post.signed.require(Action::InitiatePayout)?;
    let signed = &post.signed;
    let reference = checked_reference(&state, signed, &reference).await?;
    match state
        .services
        .process_payout_otp(&signed.business.id, &reference, post.form.get("otp"))
        .await
    {
        Ok(()) => see_other(&format!("/dashboard/payouts/{reference}?done=confirmed")),
        Err(error) => {
            let (status, message) = describe(&error);
            payout_page(
                &state,
                signed,
                &reference,
                Some(&Notice::error(message)),
                status,
            )
            .await
        }
    }
}

async fn resend(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    post: Post,
) -> PageResult {
    post.signed.require(Action::InitiatePayout)?;
    let signed = &post.signed;
    let reference = checked_reference(&state, signed, &reference).await?;
    match state
        .services
        .resend_payout_otp(&signed.business.id, &reference)
        .await
    {
        Ok(()) => see_other(&format!("/dashboard/payouts/{reference}?done=resent")),
        Err(error) => {
            let (status, message) = describe(&error);
            payout_page(
                &state,
                signed,
                &reference,
                Some(&Notice::error(message)),
                status,
            )
            .await
        }
    }
}
