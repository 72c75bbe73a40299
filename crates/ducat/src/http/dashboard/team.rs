//! Team: the business's dashboard users, their roles, and invitations.

use super::format::when;
use super::layout::{button_form, csrf, page, role_note, secret_once, Notice, Section};
use super::{describe, html, see_other, PageResult, Post, Signed};
use crate::http::AppState;
use crate::store::dashboard;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use ducat_core::roles::{Action, Role};
use maud::{html as markup, Markup};
use serde::Deserialize;

const PATH: &str = "/dashboard/team";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(team_page))
        .route("/dashboard/team/invites", post(invite))
        .route(
            "/dashboard/team/invites/{id}/withdraw",
            post(withdraw_invite),
        )
        .route("/dashboard/team/users/{id}/role", post(change_role))
        .route("/dashboard/team/users/{id}/remove", post(remove))
}

#[derive(Debug, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn team_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let notice = match query.done.as_deref() {
        Some("withdrawn") => Some(Notice::success("The invitation was withdrawn.")),
        Some("role-changed") => Some(Notice::success("The role was changed.")),
        Some("removed") => Some(Notice::success(
            "The user was removed and signed out everywhere.",
        )),
        _ => None,
    };
    render(&state, &signed, notice, StatusCode::OK, None).await
}

fn role_options(selected: Role) -> Markup {
    markup! {
        @for role in Role::ALL {
            option value=(role.as_str()) selected[role == selected] { (role.as_str()) }
        }
    }
}

async fn render(
    state: &AppState,
    signed: &Signed,
    notice: Option<Notice>,
    status: StatusCode,
    invite_link: Option<&str>,
) -> PageResult {
    let services = &state.services;
    let business = &signed.business.id;
    let users = dashboard::users_of_business(&services.store, business).await?;
    let invites = dashboard::open_invites(&services.store, business, services.now_ms()).await?;
    let manage = signed.may(Action::ManageTeam);
    let content = markup! {
        h1 { "Team" }
        @if let Some(link) = invite_link {
            (secret_once("Invitation link", "invite-link", link))
            p.hint { "Send this link to the person you invited; it works once, for 7 days." }
        }
        section.card {
            h2 { "Users" }
            p.hint {
                "Owners can do everything. Developers manage API keys, webhooks and the sandbox. "
                "Viewers see everything except secrets and change nothing."
            }
            div.table-wrap {
                table id="team" {
                    thead { tr { th { "Email" } th { "Role" } th { "Joined" } th { "Last sign-in" } @if manage { th { "Change" } } } }
                    tbody {
                        @for user in &users {
                            tr {
                                td { (user.email) @if user.id == signed.session.user.id { " (you)" } }
                                td { (user.role.as_str()) }
                                td { (when(user.created_at)) }
                                td { (user.last_sign_in_at.map(when).unwrap_or_else(|| "never".to_owned())) }
                                @if manage {
                                    td {
                                        form.inline method="post" action=(format!("/dashboard/team/users/{}/role", user.id)) {
                                            (csrf(signed))
                                            label.visually-hidden for=(format!("role-{}", user.id)) { "Role of " (user.email) }
                                            select id=(format!("role-{}", user.id)) name="role" { (role_options(user.role)) }
                                            " "
                                            button type="submit" { "Change role" }
                                        }
                                        " "
                                        (button_form(
                                            signed,
                                            &format!("/dashboard/team/users/{}/remove", user.id),
                                            "Remove",
                                            Some(&format!("Remove {} from the dashboard?", user.email)),
                                        ))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Invitations" }
            @if invites.is_empty() {
                p.muted { "No open invitations." }
            } @else {
                ul {
                    @for invite in &invites {
                        li {
                            (invite.email) " as " strong { (invite.role.as_str()) }
                            ", by " (invite.invited_by) ", valid until " (when(invite.expires_at)) " "
                            @if manage {
                                (button_form(signed, &format!("/dashboard/team/invites/{}/withdraw", invite.token_hash), "Withdraw", None))
                            }
                        }
                    }
                }
            }
            @if manage {
                form.stack method="post" action="/dashboard/team/invites" {
                    (csrf(signed))
                    label for="email" { "Email" }
                    input #email name="email" type="email" autocomplete="off" required;
                    label for="role" { "Role" }
                    select #role name="role" { (role_options(Role::Developer)) }
                    button.primary type="submit" { "Send invitation" }
                }
            } @else {
                (role_note(signed, Action::ManageTeam))
            }
        }
    };
    Ok(html(
        status,
        page(signed, Section::Team, notice.as_ref(), content),
    ))
}

fn parse_role(text: &str) -> Result<Role, crate::services::AppError> {
    Role::parse(text.trim()).ok_or_else(|| {
        crate::services::AppError::invalid("role", "must be owner, developer or viewer")
    })
}

async fn invite(State(state): State<AppState>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageTeam)?;
    let result = match parse_role(post.form.get("role")) {
        Ok(role) => {
            state
                .services
                .invite_user(
                    &signed.business.id,
                    &signed.actor(),
                    post.form.get("email"),
                    role,
                )
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(issued) => {
            let link = format!("{}/dashboard/invite/{}", signed.site_url, issued.token);
            let notice = Notice::success(format!(
                "{} is invited as {}.",
                issued.invite.email, issued.invite.role
            ));
            render(&state, signed, Some(notice), StatusCode::OK, Some(&link)).await
        }
        Err(error) => {
            let (status, message) = describe(&error);
            render(&state, signed, Some(Notice::error(message)), status, None).await
        }
    }
}

async fn withdraw_invite(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: Post,
) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageTeam)?;
    state
        .services
        .revoke_invite(&signed.business.id, &signed.actor(), &id)
        .await?;
    see_other(&format!("{PATH}?done=withdrawn"))
}

async fn change_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    post: Post,
) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageTeam)?;
    let result = match parse_role(post.form.get("role")) {
        Ok(role) => {
            state
                .services
                .change_user_role(&signed.business.id, &signed.actor(), &id, role)
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => see_other(&format!("{PATH}?done=role-changed")),
        Err(error) => {
            let (status, message) = describe(&error);
            render(&state, signed, Some(Notice::error(message)), status, None).await
        }
    }
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> PageResult {
    let signed = &post.signed;
    signed.require(Action::ManageTeam)?;
    match state
        .services
        .remove_user(&signed.business.id, &signed.actor(), &id)
        .await
    {
        Ok(()) => see_other(&format!("{PATH}?done=removed")),
        Err(error) => {
            let (status, message) = describe(&error);
            render(&state, signed, Some(Notice::error(message)), status, None).await
        }
    }
}
