//! The sandbox page, for test-mode businesses only: the SMS inbox (what the sandbox "sent" to
//! phones, payout OTPs included) and a bank that sends an inbound transfer on request.

use super::format::{money, when, when_precise};
use super::layout::{csrf, page, role_note, Notice, Section};
use super::{describe, html, PageError, PageResult, Post, Signed};
use crate::http::AppState;
use crate::services::inflows::InboundTransfer;
use crate::services::AppError;
use crate::store::businesses::{self, Mode};
use crate::store::dashboard_integration::{account_of_business, open_checkouts, AccountOwner};
use crate::store::{sms, virtual_accounts};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use ducat_core::money::Currency;
use ducat_core::roles::Action;
use maud::{html as markup, Markup};

const PATH: &str = "/dashboard/sandbox";
const SMS_SHOWN: i64 = 50;
const ACCOUNTS_SHOWN: i64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(sandbox_page))
        .route("/dashboard/sandbox/transfers", post(send_transfer))
}

/// Live businesses have no sandbox: the page does not exist for them.
fn test_mode_only(signed: &Signed) -> Result<(), PageError> {
    match signed.business.mode {
        Mode::Test => Ok(()),
        Mode::Live => Err(PageError::new(
            StatusCode::NOT_FOUND,
            "The sandbox is for test mode: this business is live, and real banks send its transfers.",
        )),
    }
}

/// What was typed into the transfer form, kept when it failed.
#[derive(Default)]
struct Typed {
    account_number: String,
    amount: String,
    sender: String,
}

async fn sandbox_page(State(state): State<AppState>, signed: Signed) -> PageResult {
    test_mode_only(&signed)?;
    render(&state, &signed, StatusCode::OK, None, &Typed::default()).await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice: Option<Notice>,
    typed: &Typed,
) -> PageResult {
    let content = content(state, signed, typed).await?;
    Ok(html(
        status,
        page(signed, Section::Sandbox, notice.as_ref(), content),
    ))
}

async fn content(state: &AppState, signed: &Signed, typed: &Typed) -> Result<Markup, PageError> {
    let services = &state.services;
    let store = &services.store;
    let business = &signed.business.id;
    let messages = sms::list(store, business, None, SMS_SHOWN).await?;
    let wallets = businesses::list_wallets(store, business).await?;
    let (accounts, _) = virtual_accounts::list(store, business, ACCOUNTS_SHOWN, 0).await?;
    let checkouts = open_checkouts(store, business, services.now_ms(), ACCOUNTS_SHOWN).await?;
    let selected = |number: &str| typed.account_number == number;
    Ok(markup! {
        h1 { "Sandbox" }
        p.hint { "Test mode only: nothing here reaches a real bank or phone." }
        h2 { "Simulate a bank transfer" }
        @if signed.may(Action::UseSandbox) {
            form.stack method="post" action="/dashboard/sandbox/transfers" {
                (csrf(signed))
                label for="account_number" { "Into account" }
                select #account_number name="account_number" required {
                    optgroup label="Wallet funding accounts" {
                        @for wallet in &wallets {
                            option value=(wallet.account_number) selected[selected(&wallet.account_number)] {
                                (wallet.currency.code()) " wallet · " (wallet.bank_name) " " (wallet.account_number)
                            }
                        }
                    }
                    @if !accounts.is_empty() {
                        optgroup label="Virtual accounts" {
                            @for account in &accounts {
                                option value=(account.account_number) selected[selected(&account.account_number)] {
                                    (account.account_name) " · " (account.bank_name) " " (account.account_number)
                                    @if account.status != "active" { " (" (account.status) ")" }
                                    @if let Some(amount) = account.amount { " · expects " (money(amount.get(), "NGN")) }
                                }
                            }
                        }
                    }
                    @if !checkouts.is_empty() {
                        optgroup label="Open checkouts" {
                            @for checkout in &checkouts {
                                option value=(checkout.account_number) selected[selected(&checkout.account_number)] {
                                    "Checkout " (checkout.checkout_reference) " · " (checkout.account_number)
                                    " · " (money(checkout.amount_to_pay, &checkout.currency))
                                    " until " (when(checkout.expires_at))
                                }
                            }
                        }
                    }
                }
                label for="amount" { "Amount" }
                input #amount type="text" name="amount" value=(typed.amount) inputmode="decimal" placeholder="5000.00" required autocomplete="off";
                p.hint { "In major units of the account's currency, e.g. 5000 or 5000.50." }
                label for="source_account_name" { "Sender name" }
                input #source_account_name type="text" name="source_account_name" value=(typed.sender) maxlength="100" autocomplete="off";
                p.hint { "Optional: the name the bank reports for the sender." }
                button.primary type="submit" { "Send transfer" }
            }
        } @else {
            (role_note(signed, Action::UseSandbox))
        }
        h2 { "SMS inbox" }
        p.hint { "The text messages ducat sent for this business (payout OTPs, for example), newest first." }
        @if messages.is_empty() {
            p.muted { "No messages yet." }
        } @else {
            div.table-wrap {
                table id="sms-inbox" {
                    thead { tr { th { "To" } th { "When" } th { "Message" } } }
                    tbody {
                        @for message in &messages {
                            tr {
                                td { (message.to) }
                                td { (when_precise(message.created_at)) }
                                td.sms-body { (message.body) }
                            }
                        }
                    }
                }
            }
        }
    })
}

async fn send_transfer(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::UseSandbox)?;
    test_mode_only(signed)?;
    let typed = Typed {
        account_number: post.form.get("account_number").trim().to_owned(),
        amount: post.form.get("amount").trim().to_owned(),
        sender: post.form.get("source_account_name").trim().to_owned(),
    };
    let refuse = |error: AppError| {
        let (status, message) = describe(&error);
        (status, Notice::error(message))
    };
    let services = &state.services;
    let outcome = async {
        if typed.amount.is_empty() {
            return Err(refuse(AppError::invalid("amount", "is required")));
        }
        if typed.sender.chars().count() > 100 {
            return Err(refuse(AppError::invalid(
                "source_account_name",
                "must be at most 100 characters",
            )));
        }
        let Some((owner, reference, currency)) =
            account_of_business(&services.store, &signed.business.id, &typed.account_number)
                .await
                .map_err(|e| refuse(e.into()))?
        else {
            return Err(refuse(AppError::invalid(
                "account_number",
                "is not one of this business's accounts",
            )));
        };
        let result = services
            .sandbox_inbound_transfer(
                &signed.business.id,
                signed.business.mode,
                InboundTransfer {
                    account_number: typed.account_number.clone(),
                    amount: typed.amount.clone(),
                    session_id: None,
                    source_bank_name: None,
                    source_account_number: None,
                    source_account_name: Some(typed.sender.clone()).filter(|s| !s.is_empty()),
                    narration: None,
                },
            )
            .await
            .map_err(refuse)?;
        Ok((owner, reference, currency, result))
    }
    .await;
    match outcome {
        Ok((owner, reference, currency, result)) => {
            let amount = Currency::from_code(&currency)
                .and_then(|c| ducat_core::money::parse_major(&typed.amount, c).ok())
                .map(|a| money(a.get(), &currency))
                .unwrap_or_else(|| format!("{currency} {}", typed.amount));
            let transaction = result
                .transaction_ref
                .as_deref()
                .map(|r| format!(" (transaction {r})"))
                .unwrap_or_default();
            let what = match (result.status.as_str(), owner) {
                ("successful", AccountOwner::Wallet) => {
                    format!("{amount} was credited to the {currency} wallet{transaction}.")
                }
                ("successful", AccountOwner::Checkout) => {
                    format!("{amount} paid checkout {reference}{transaction}.")
                }
                ("successful", AccountOwner::VirtualAccount) => format!(
                    "{amount} arrived at virtual account {reference} and was credited to the NGN wallet, less the collection fee{transaction}."
                ),
                (_, _) => format!(
                    "{amount} was returned to the sender through suspense: {}.",
                    result.reason.as_deref().unwrap_or("the account could not accept it")
                ),
            };
            let notice = Notice::success(format!("{what} Session id: {}.", result.session_id));
            render(
                &state,
                signed,
                StatusCode::OK,
                Some(notice),
                &Typed::default(),
            )
            .await
        }
        Err((status, notice)) => render(&state, signed, status, Some(notice), &typed).await,
    }
}
