//! Settings, Payout API: the phone that receives payout OTPs. A new number takes effect only
//! when the code sent to it is typed back, so a mistyped number cannot strand payouts.

use super::format::when;
use super::layout::{csrf, page, role_note, Notice, Section};
use super::{describe, html, see_other, PageResult, Post, Signed};
use crate::http::AppState;
use crate::store::businesses::Mode;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use ducat_core::roles::Action;
use maud::html as markup;
use serde::Deserialize;

const PATH: &str = "/dashboard/settings/payout";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(settings_page))
        .route("/dashboard/settings/payout/phone", post(request_change))
        .route(
            "/dashboard/settings/payout/phone/confirm",
            post(confirm_change),
        )
        .route(
            "/dashboard/settings/payout/phone/cancel",
            post(cancel_change),
        )
}

#[derive(Debug, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn settings_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let notice = match query.done.as_deref() {
        Some("code-sent") => Some(Notice::success(
            "A confirmation code was sent to the new number. Type it below to make the change.",
        )),
        Some("confirmed") => Some(Notice::success(
            "The new OTP phone number is in effect: payout OTPs go to it from now on.",
        )),
        Some("cancelled") => Some(Notice::success("The change was cancelled.")),
        _ => None,
    };
    render(&state, &signed, notice, StatusCode::OK, "").await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    notice: Option<Notice>,
    status: StatusCode,
    entered_phone: &str,
) -> PageResult {
    let pending = state
        .services
        .pending_otp_phone_change(&signed.business.id)
        .await?;
    let may_change = signed.may(Action::ChangeOtpPhone);
    let test_mode = signed.business.mode == Mode::Test;
    let content = markup! {
        h1 { "Payout API" }
        section.card {
            h2 { "OTP phone number" }
            p {
                "Every payout started through the API (v2) or this dashboard waits for a one-time code sent by SMS to this number, "
                "and is abandoned if the code does not come back within the hour."
            }
            p {
                "Current number: "
                strong id="current-otp-phone" {
                    @match &signed.business.otp_phone {
                        Some(phone) => (phone),
                        None => "none set: payouts cannot be started",
                    }
                }
            }
            @if let Some(change) = &pending {
                div.card {
                    p {
                        "Waiting for the code sent to " strong { (change.phone) }
                        " (requested by " (change.requested_by) ", valid until " (when(change.expires_at)) ")."
                    }
                    @if test_mode {
                        p.hint { "In test mode the code is in the " a href="/dashboard/sandbox" { "Sandbox's SMS inbox" } "." }
                    }
                    @if may_change {
                        form.stack method="post" action="/dashboard/settings/payout/phone/confirm" {
                            (csrf(signed))
                            label for="otp" { "Confirmation code" }
                            input #otp name="otp" inputmode="numeric" autocomplete="one-time-code"
                                pattern="[0-9]{6}" maxlength="6" required;
                            button.primary type="submit" { "Confirm number" }
                        }
                        form.inline method="post" action="/dashboard/settings/payout/phone/cancel" {
                            (csrf(signed))
                            button type="submit" { "Cancel the change" }
                        }
                    }
                }
            }
            @if may_change {
                form.stack method="post" action="/dashboard/settings/payout/phone" {
                    (csrf(signed))
                    label for="otp_phone" { "New OTP phone number" }
                    input #otp_phone name="otp_phone" type="tel" autocomplete="tel"
                        placeholder="+2348031234567" value=(entered_phone) required
                        aria-describedby="otp_phone_hint";
                    p.hint id="otp_phone_hint" { "In international (E.164) form: a plus sign, the country code and the number." }
                    button type="submit" { "Send confirmation code" }
                }
            } @else {
                (role_note(signed, Action::ChangeOtpPhone))
            }
        }
    };
    Ok(html(
        status,
        page(signed, Section::PayoutSettings, notice.as_ref(), content),
    ))
}

async fn request_change(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ChangeOtpPhone)?;
    let phone = post.form.get("otp_phone");
    match state
        .services
        .request_otp_phone_change(&signed.business.id, &signed.actor(), phone)
        .await
    {
        Ok(_) => see_other(&format!("{PATH}?done=code-sent")),
        Err(error) => {
            let (status, message) = describe(&error);
            render(
                &state,
                signed,
                Some(Notice::error(message)),
                status,
                phone.trim(),
            )
            .await
        }
    }
}

async fn confirm_change(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ChangeOtpPhone)?;
    match state
        .services
        .confirm_otp_phone_change(&signed.business.id, &signed.actor(), post.form.get("otp"))
        .await
    {
        Ok(_) => see_other(&format!("{PATH}?done=confirmed")),
        Err(error) => {
            let (status, message) = describe(&error);
            // The business row may have changed (a cancelled change): read it afresh.
            let mut fresh = signed.clone();
            fresh.business = state.services.business(&signed.business.id).await?;
            render(&state, &fresh, Some(Notice::error(message)), status, "").await
        }
    }
}

async fn cancel_change(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ChangeOtpPhone)?;
    state
        .services
        .cancel_otp_phone_change(&signed.business.id, &signed.actor())
        .await?;
    see_other(&format!("{PATH}?done=cancelled"))
}
