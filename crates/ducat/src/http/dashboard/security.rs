//! Security: the IP allowlist the API checks, and the audit log of who changed what.

use super::format::when_precise;
use super::layout::{csrf, page, pager, role_note, Notice, Section};
use super::{describe, html, see_other, PageResult, Post, Signed};
use crate::http::AppState;
use crate::services::businesses::PreferenceInput;
use crate::store::audit;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use ducat_core::roles::Action;
use maud::html as markup;
use serde::Deserialize;

const PATH: &str = "/dashboard/security";
const AUDIT_PER_PAGE: i64 = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(security_page))
        .route("/dashboard/security/ip-allowlist", post(save_allowlist))
}

#[derive(Debug, Deserialize)]
struct SecurityQuery {
    done: Option<String>,
    page: Option<String>,
}

async fn security_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<SecurityQuery>,
) -> PageResult {
    let notice = match query.done.as_deref() {
        Some("saved") => Some(Notice::success(
            "The allowlist is saved; the API applies it to the next request.",
        )),
        _ => None,
    };
    let page_number = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let entered = display_list(&signed.business.ip_allowlist);
    render(
        &state,
        &signed,
        notice,
        StatusCode::OK,
        &entered,
        page_number,
    )
    .await
}

/// One CIDR per line, as the form shows it.
fn display_list(stored: &str) -> String {
    stored
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn render(
    state: &AppState,
    signed: &Signed,
    notice: Option<Notice>,
    status: StatusCode,
    entered: &str,
    page_number: i64,
) -> PageResult {
    let (entries, total) = audit::list(
        &state.services.store,
        &signed.business.id,
        AUDIT_PER_PAGE,
        (page_number - 1) * AUDIT_PER_PAGE,
    )
    .await?;
    let current = display_list(&signed.business.ip_allowlist);
    let content = markup! {
        h1 { "Security" }
        section.card {
            h2 { "IP allowlist" }
            p {
                "When the list is not empty, API calls with this business's keys (both the Duplo and the Beqelal endpoints) "
                "are answered only from these addresses; any other address gets 403 (Beqelal: 479). "
                "The dashboard itself is not restricted by it."
            }
            p {
                "In effect now: "
                @if current.is_empty() { strong { "any address" } }
                @else { @for net in current.lines() { code { (net) } " " } }
                "."
            }
            @if signed.may(Action::ChangeIpAllowlist) {
                form.stack method="post" action="/dashboard/security/ip-allowlist" {
                    (csrf(signed))
                    label for="ip_allowlist" { "Allowed IP addresses" }
                    textarea #ip_allowlist name="ip_allowlist" rows="4" spellcheck="false"
                        aria-describedby="ip_allowlist_hint" { (entered) }
                    p.hint id="ip_allowlist_hint" {
                        "One address or CIDR range per line (or separated by commas), IPv4 or IPv6, e.g. "
                        code { "203.0.113.7" } " or " code { "198.51.100.0/24" } ". Empty allows every address."
                    }
                    button.primary type="submit" { "Save allowlist" }
                }
            } @else {
                (role_note(signed, Action::ChangeIpAllowlist))
            }
        }
        section.card {
            h2 { "Audit log" }
            @if entries.is_empty() {
                p.muted { "Nothing has been changed yet." }
            } @else {
                div.table-wrap {
                    table id="audit-log" {
                        thead { tr { th { "When" } th { "Who" } th { "What" } th { "Detail" } th { "From" } } }
                        tbody {
                            @for entry in &entries {
                                tr {
                                    td { (when_precise(entry.created_at)) }
                                    td { (entry.actor) }
                                    td { code { (entry.action) } }
                                    td { (entry.detail) }
                                    td { (entry.ip.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
                (pager("", page_number, AUDIT_PER_PAGE, total, PATH))
            }
        }
    };
    Ok(html(
        status,
        page(signed, Section::Security, notice.as_ref(), content),
    ))
}

async fn save_allowlist(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ChangeIpAllowlist)?;
    let entered = post.form.get("ip_allowlist");
    let list = entered
        .split([',', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",");
    match state
        .services
        .set_preferences(
            &signed.business.id,
            &signed.actor(),
            PreferenceInput {
                ip_allowlist: Some(list),
                ..Default::default()
            },
        )
        .await
    {
        Ok(()) => see_other(&format!("{PATH}?done=saved")),
        Err(error) => {
            let (status, message) = describe(&error);
            render(
                &state,
                signed,
                Some(Notice::error(message)),
                status,
                entered,
                1,
            )
            .await
        }
    }
}
