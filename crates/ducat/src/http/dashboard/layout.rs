//! The frame every dashboard page shares: the mode banner, the navigation, the signed-in user
//! and a notice; and the small pieces pages are built from.

use super::{Signed, CSRF_FIELD};
use crate::store::businesses::Mode;
use axum::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Transactions,
    Payouts,
    PayoutSettings,
    Developers,
    Webhooks,
    Security,
    Reconciliation,
    Team,
    Sandbox,
}

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::Overview => "Overview",
            Section::Transactions => "Transactions",
            Section::Payouts => "Payouts",
            Section::PayoutSettings => "Payout API",
            Section::Developers => "Developers",
            Section::Webhooks => "Webhooks",
            Section::Security => "Security",
            Section::Reconciliation => "Reconciliation",
            Section::Team => "Team",
            Section::Sandbox => "Sandbox",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Section::Overview => "/dashboard",
            Section::Transactions => "/dashboard/transactions",
            Section::Payouts => "/dashboard/payouts",
            Section::PayoutSettings => "/dashboard/settings/payout",
            Section::Developers => "/dashboard/developers",
            Section::Webhooks => "/dashboard/webhooks",
            Section::Security => "/dashboard/security",
            Section::Reconciliation => "/dashboard/reconciliation",
            Section::Team => "/dashboard/team",
            Section::Sandbox => "/dashboard/sandbox",
        }
    }
}

/// A sentence shown above a page's content after something happened.
#[derive(Debug, Clone)]
pub enum Notice {
    Success(String),
    Error(String),
}

impl Notice {
    pub fn success(text: impl Into<String>) -> Notice {
        Notice::Success(text.into())
    }

    pub fn error(text: impl Into<String>) -> Notice {
        Notice::Error(text.into())
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="same-origin";
            title { (title) " · ducat" }
            link rel="stylesheet" href="/static/dashboard.css";
            script src="/static/dashboard.js" defer {}
        }
    }
}

/// A whole signed-in page.
pub fn page(signed: &Signed, active: Section, notice: Option<&Notice>, content: Markup) -> Markup {
    let business = &signed.business;
    let test_mode = business.mode == Mode::Test;
    let mut sections = vec![
        Section::Overview,
        Section::Transactions,
        Section::Payouts,
        Section::PayoutSettings,
        Section::Developers,
        Section::Webhooks,
        Section::Security,
        Section::Reconciliation,
        Section::Team,
    ];
    if test_mode {
        sections.push(Section::Sandbox);
    }
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(active.title()))
            body class=(if test_mode { "mode-test" } else { "mode-live" }) {
                a.skip href="#main" { "Skip to content" }
                @if test_mode {
                    p.mode-banner.test role="note" id="mode-banner" {
                        strong { "Test mode" } ": test keys, the sandbox bank; no real money moves."
                    }
                } @else {
                    p.mode-banner.live role="note" id="mode-banner" {
                        strong { "Live mode" } ": real money."
                    }
                }
                header.top {
                    a.brand href="/dashboard" { "ducat" }
                    span.business { (business.name) }
                    span.user {
                        span.email { (signed.session.user.email) }
                        " "
                        span.role { (signed.role().as_str()) }
                    }
                    form.sign-out method="post" action="/dashboard/sign-out" {
                        (csrf(signed))
                        button type="submit" { "Sign out" }
                    }
                }
                nav aria-label="Dashboard" {
                    ul {
                        @for section in &sections {
                            li {
                                @if *section == active {
                                    a href=(section.path()) aria-current="page" { (section.title()) }
                                } @else {
                                    a href=(section.path()) { (section.title()) }
                                }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    @if let Some(notice) = notice { (notice_box(notice)) }
                    (content)
                }
            }
        }
    }
}

pub fn notice_box(notice: &Notice) -> Markup {
    match notice {
        Notice::Success(text) => html! { p.notice.success role="status" { (text) } },
        Notice::Error(text) => html! { p.notice.error role="alert" { (text) } },
    }
}

/// A page for someone who is not signed in (sign-in, invitation, errors).
pub fn bare_page(title: &str, notice: Option<&Notice>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main id="main" {
                    p.brand-line { "ducat" }
                    @if let Some(notice) = notice { (notice_box(notice)) }
                    (content)
                }
            }
        }
    }
}

pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    bare_page(
        title,
        None,
        html! {
            h1 { (title) }
            p.notice.error role="alert" { (message) }
            p { a href="/dashboard" { "Back to the dashboard" } }
        },
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf(signed: &Signed) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(signed.csrf()); }
}

/// A one-button form posting to `action`, with an optional confirmation question that the
/// script asks before submitting (without JavaScript it submits straight away).
pub fn button_form(signed: &Signed, action: &str, label: &str, confirm: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action=(action) data-confirm=[confirm] {
            (csrf(signed))
            button type="submit" { (label) }
        }
    }
}

/// A secret shown once, with a copy button the script enables.
pub fn secret_once(label: &str, id: &str, value: &str) -> Markup {
    html! {
        div.secret-once role="group" aria-labelledby=(format!("{id}-label")) {
            p id=(format!("{id}-label")) { strong { (label) } " (shown only this once; copy it now)" }
            p.secret {
                code id=(id) { (value) }
                " "
                button type="button" data-copy=(id) hidden { "Copy" }
            }
        }
    }
}

pub fn badge(status: &str) -> Markup {
    html! { span class=(format!("badge {}", super::format::status_class(status))) { (status) } }
}

/// A read-only hint that the user's role cannot use the form next to it.
pub fn role_note(signed: &Signed, action: ducat_core::roles::Action) -> Markup {
    html! {
        p.role-note { "Your role (" (signed.role().as_str()) ") cannot " (action.describe()) "." }
    }
}

/// People read field names, not JSON keys.
pub fn field_label(field: &str) -> String {
    let label = match field {
        "otp_phone" => "The phone number",
        "ip_allowlist" => "The IP allowlist",
        "webhook_url" => "The webhook URL",
        "verify_hash" => "The verify hash",
        "account_number" => "The account number",
        "bank_code" => "The bank",
        "amount" => "The amount",
        "password" => "The password",
        "email" => "The email address",
        "otp" => "The code",
        other => return format!("The {}", other.replace('_', " ")),
    };
    label.to_owned()
}

/// A pager for a list: previous and next links keeping the other query parameters.
pub fn pager(base_query: &str, page: i64, per_page: i64, total: i64, path: &str) -> Markup {
    let pages = ((total + per_page - 1) / per_page).max(1);
    let link = |p: i64| {
        let separator = if base_query.is_empty() { "" } else { "&" };
        format!("{path}?{base_query}{separator}page={p}")
    };
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 { a href=(link(page - 1)) rel="prev" { "← Newer" } }
            span { "Page " (page) " of " (pages) " · " (total) " in all" }
            @if page < pages { a href=(link(page + 1)) rel="next" { "Older →" } }
        }
    }
}
