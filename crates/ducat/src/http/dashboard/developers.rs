//! The developers page: the business's API credentials (created here and shown once, revoked
//! here), its id and the API base URLs of both dialects, and its mode.

use super::format::when;
use super::layout::{badge, button_form, csrf, page, role_note, secret_once, Notice, Section};
use super::{describe, html, see_other, PageResult, Post, Signed};
use crate::http::AppState;
use crate::services::AppError;
use crate::store::businesses::{self, CredentialKind, CredentialRecord, Mode};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use ducat_core::roles::Action;
use maud::{html as markup, Markup};
use serde::Deserialize;

const PATH: &str = "/dashboard/developers";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(developers))
        .route("/dashboard/developers/keys", post(create_key))
        .route("/dashboard/developers/keys/{id}/revoke", post(revoke_key))
}

#[derive(Debug, Deserialize)]
struct DevelopersQuery {
    done: Option<String>,
}

/// A key just issued, shown this once.
struct NewKey {
    kind: CredentialKind,
    app_id: Option<String>,
    key: String,
}

async fn developers(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<DevelopersQuery>,
) -> PageResult {
    let notice = match query.done.as_deref() {
        Some("revoked") => Some(Notice::success(
            "The key was revoked: the API refuses it from now on.",
        )),
        _ => None,
    };
    render(&state, &signed, StatusCode::OK, notice, None).await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice: Option<Notice>,
    new_key: Option<&NewKey>,
) -> PageResult {
    let services = &state.services;
    let credentials = businesses::list_credentials(&services.store, &signed.business.id).await?;
    let content = content(signed, &credentials, new_key);
    Ok(html(
        status,
        page(signed, Section::Developers, notice.as_ref(), content),
    ))
}

pub fn mode_badge(mode: Mode) -> Markup {
    match mode {
        Mode::Test => markup! { span.badge.wait.mode-test-badge { "Test" } },
        Mode::Live => markup! { span.badge.ok.mode-live-badge { "Live" } },
    }
}

fn kind_label(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::DuploSecret => "Duplo secret key",
        CredentialKind::Beqelal => "Beqelal app-id + api-key",
    }
}

fn content(signed: &Signed, credentials: &[CredentialRecord], new_key: Option<&NewKey>) -> Markup {
    let business = &signed.business;
    let base = signed.site_url.clone();
    let may_manage = signed.may(Action::ManageKeys);
    markup! {
        h1 { "Developers" }
        @if let Some(new_key) = new_key {
            section.card aria-label="New key" {
                h2 { "Your new " (kind_label(new_key.kind)) }
                @if let Some(app_id) = &new_key.app_id {
                    p { "App-id: " code id="new-app-id" { (app_id) } }
                }
                (secret_once(
                    match new_key.kind {
                        CredentialKind::DuploSecret => "Secret key",
                        CredentialKind::Beqelal => "Api-key",
                    },
                    "new-secret",
                    &new_key.key,
                ))
                p.hint { "ducat keeps only a hash of it: after you leave this page, only its first characters are shown." }
            }
        }
        section.card aria-label="Integration" {
            h2 { "Integration" }
            dl.facts {
                dt { "Mode" }
                dd id="business-mode" {
                    (mode_badge(business.mode))
                    " "
                    @match business.mode {
                        Mode::Test => "Test keys talk to the sandbox bank; no real money moves.",
                        Mode::Live => "Live keys move real money.",
                    }
                }
                dt { "Business id" }
                dd { code id="business-id" { (business.id) } " " button type="button" data-copy="business-id" hidden { "Copy" } }
                dt { "Duplo API base URL" }
                dd { code id="duplo-base-url" { (base) "/v1" } }
                dt { "Beqelal API base URL" }
                dd { code id="beqelal-base-url" { (base) "/api/v1" } }
                @if business.mode == Mode::Test {
                    dt { "Sandbox API" }
                    dd { code { (base) "/sandbox/v1" } }
                }
            }
            p.hint {
                "Duplo calls send " code { "Authorization: Bearer <secret key>" } " and the business id; "
                "Beqelal calls send the " code { "app-id" } " and " code { "api-key" } " headers."
            }
        }
        h2 { "API keys" }
        @if credentials.is_empty() {
            p.muted { "This business has no keys." }
        } @else {
            div.table-wrap {
                table id="keys" {
                    thead {
                        tr {
                            th { "Kind" } th { "App-id" } th { "Key" } th { "Mode" }
                            th { "Created" } th { "Last used" } th { "Status" }
                            @if may_manage { th { span.visually-hidden { "Actions" } } }
                        }
                    }
                    tbody {
                        @for credential in credentials {
                            tr {
                                td { (kind_label(credential.kind)) }
                                td {
                                    @if let Some(app_id) = &credential.app_id { code { (app_id) } }
                                    @else { span.muted { "—" } }
                                }
                                td { code { (credential.key_prefix) "…" } }
                                td { (mode_badge(credential.mode)) }
                                td { (when(credential.created_at)) }
                                td {
                                    @match credential.last_used_at {
                                        Some(at) => (when(at)),
                                        None => span.muted { "never" },
                                    }
                                }
                                td {
                                    @match credential.revoked_at {
                                        Some(at) => { (badge("revoked")) " " span.muted { (when(at)) } }
                                        None => (badge("active")),
                                    }
                                }
                                @if may_manage {
                                    td {
                                        @if credential.revoked_at.is_none() {
                                            (button_form(
                                                signed,
                                                &format!("/dashboard/developers/keys/{}/revoke", credential.id),
                                                "Revoke",
                                                Some("Revoke this key? Every integration using it stops working at once."),
                                            ))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Create a key" }
        @if may_manage {
            p.hint { "A new key is in this business's mode (" (business.mode.as_str()) ") and is shown once. Old keys keep working until you revoke them." }
            div.grid {
                form.stack method="post" action="/dashboard/developers/keys" {
                    (csrf(signed))
                    input type="hidden" name="kind" value="duplo_secret";
                    p.muted { "For Duplo integrations (Nigeria, NGN)." }
                    button.primary type="submit" { "Create secret key" }
                }
                form.stack method="post" action="/dashboard/developers/keys" {
                    (csrf(signed))
                    input type="hidden" name="kind" value="beqelal";
                    p.muted { "For Beqelal integrations (Ethiopia, ETB)." }
                    button.primary type="submit" { "Create app-id and api-key" }
                }
            }
        } @else {
            (role_note(signed, Action::ManageKeys))
        }
    }
}

async fn create_key(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageKeys)?;
    let kind = match post.form.get("kind") {
        "duplo_secret" => CredentialKind::DuploSecret,
        "beqelal" => CredentialKind::Beqelal,
        _ => {
            let (status, message) = describe(&AppError::invalid(
                "kind",
                "must be a Duplo secret key or a Beqelal app-id and api-key",
            ));
            return render(&state, signed, status, Some(Notice::error(message)), None).await;
        }
    };
    match state
        .services
        .issue_credential(&signed.business.id, &signed.actor(), kind)
        .await
    {
        Ok(issued) => {
            let new_key = NewKey {
                kind,
                app_id: issued.app_id.clone(),
                key: issued.key.expose().to_owned(),
            };
            let notice = Notice::success(match kind {
                CredentialKind::DuploSecret => "A new secret key was created. Copy it now: it is not shown again.",
                CredentialKind::Beqelal => "A new app-id and api-key were created. Copy the api-key now: it is not shown again.",
            });
            render(&state, signed, StatusCode::OK, Some(notice), Some(&new_key)).await
        }
        Err(error) => {
            let (status, message) = describe(&error);
            render(&state, signed, status, Some(Notice::error(message)), None).await
        }
    }
}

async fn revoke_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: Post,
) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageKeys)?;
    match state
        .services
        .revoke_credential(&signed.business.id, &signed.actor(), &id)
        .await
    {
        Ok(()) => see_other("/dashboard/developers?done=revoked"),
        Err(AppError::NotFound(_)) => {
            let message = "This key does not exist or is already revoked.";
            render(
                &state,
                signed,
                StatusCode::NOT_FOUND,
                Some(Notice::error(message)),
                None,
            )
            .await
        }
        Err(error) => {
            let (status, message) = describe(&error);
            render(&state, signed, status, Some(Notice::error(message)), None).await
        }
    }
}
