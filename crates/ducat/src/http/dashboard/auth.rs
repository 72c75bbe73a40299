//! Signing in and out, and accepting an invitation.

use super::layout::{bare_page, Notice};
use super::{describe, html, is_local_path, served_over_tls, Form, PageResult, SESSION_COOKIE};
use crate::http::{client_ip, AppState};
use crate::services::dashboard::{SessionToken, MIN_PASSWORD_CHARS, SESSION_MAX_MS};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html as markup, Markup};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/sign-in", get(sign_in_page).post(sign_in))
        .route("/dashboard/sign-out", axum::routing::post(sign_out))
        .route(
            "/dashboard/invite/{token}",
            get(invite_page).post(accept_invite),
        )
}

#[derive(Debug, Deserialize)]
struct SignInQuery {
    next: Option<String>,
    done: Option<String>,
}

fn sign_in_form(email: &str, next: Option<&str>) -> Markup {
    markup! {
        h1 { "Sign in" }
        form.stack method="post" action="/dashboard/sign-in" {
            @if let Some(next) = next { input type="hidden" name="next" value=(next); }
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button.primary type="submit" { "Sign in" }
        }
        p.hint { "New here? The first login is printed by " code { "ducat business create" } "; others join by an owner's invitation." }
    }
}

async fn sign_in_page(Query(query): Query<SignInQuery>) -> Response {
    let notice = match query.done.as_deref() {
        Some("signed-out") => Some(Notice::success("You have signed out.")),
        Some("joined") => Some(Notice::success("Your account is ready; sign in with it.")),
        _ => None,
    };
    let next = query.next.as_deref().filter(|n| is_local_path(n));
    html(
        StatusCode::OK,
        bare_page("Sign in", notice.as_ref(), sign_in_form("", next)),
    )
}

/// Signing in needs no CSRF token (there is no session yet to ride on); SameSite=Strict and the
/// Origin check keep other sites from signing a browser into an account of theirs.
async fn sign_in(State(state): State<AppState>, request: Request) -> PageResult {
    let (parts, body) = request.into_parts();
    let ip = client_ip(&parts, &state).0;
    super::check_origin(&parts)?;
    let form = Form::read(&parts, body).await?;
    let email = form.get("email").trim().to_owned();
    let next = form
        .value("next")
        .filter(|n| is_local_path(n))
        .map(str::to_owned);
    match state
        .services
        .sign_in(&email, form.get("password"), ip)
        .await
    {
        Ok(signed_in) => {
            let secure = served_over_tls(&parts, &state);
            let mut response =
                Redirect::to(next.as_deref().unwrap_or("/dashboard")).into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&signed_in.token, secure));
            Ok(response)
        }
        Err(error) => {
            let (status, message) = describe(&error);
            Ok(html(
                status,
                bare_page(
                    "Sign in",
                    Some(&Notice::error(message)),
                    sign_in_form(&email, next.as_deref()),
                ),
            ))
        }
    }
}

fn session_cookie(token: &SessionToken, secure: bool) -> HeaderValue {
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/dashboard; Max-Age={}; HttpOnly; SameSite=Strict{}",
        token.expose(),
        SESSION_MAX_MS / 1000,
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).expect("a session token is letters and digits")
}

fn expired_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "ducat_session=; Path=/dashboard; Max-Age=0; HttpOnly; SameSite=Strict",
    )
}

/// Signing out needs no CSRF check: ending a session is never unsafe, and a person pressing
/// "Sign out" on a page whose token went stale must not be left signed in.
async fn sign_out(State(state): State<AppState>, request: Request) -> PageResult {
    let (parts, _) = request.into_parts();
    if let Some(token) = super::session_cookie(&parts) {
        state.services.sign_out(&token).await?;
    }
    let mut response = Redirect::to("/dashboard/sign-in?done=signed-out").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, expired_cookie());
    Ok(response)
}

fn invite_form(token: &str, email: &str, business_role: &str) -> Markup {
    markup! {
        h1 { "Join the dashboard" }
        p { "You were invited as " strong { (business_role) } " with the email " strong { (email) } "." }
        form.stack method="post" action=(format!("/dashboard/invite/{token}")) {
            label for="password" { "Choose a password (at least " (MIN_PASSWORD_CHARS) " characters)" }
            input #password type="password" name="password" autocomplete="new-password"
                minlength=(MIN_PASSWORD_CHARS) required autofocus;
            button.primary type="submit" { "Create my account" }
        }
    }
}

async fn invite_page(State(state): State<AppState>, Path(token): Path<String>) -> PageResult {
    let invite = state.services.open_invite(&token).await?;
    Ok(html(
        StatusCode::OK,
        bare_page(
            "Join",
            None,
            invite_form(&token, &invite.email, invite.role.as_str()),
        ),
    ))
}

/// The invitation's token in the URL is the credential here, as a sign-in's password is.
async fn accept_invite(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> PageResult {
    let (parts, body) = request.into_parts();
    super::check_origin(&parts)?;
    let ip = client_ip(&parts, &state).0;
    let form = Form::read(&parts, body).await?;
    let invite = state.services.open_invite(&token).await?;
    match state
        .services
        .accept_invite(&token, form.get("password"), ip)
        .await
    {
        Ok(_) => Ok(Redirect::to("/dashboard/sign-in?done=joined").into_response()),
        Err(error) => {
            let (status, message) = describe(&error);
            Ok(html(
                status,
                bare_page(
                    "Join",
                    Some(&Notice::error(message)),
                    invite_form(&token, &invite.email, invite.role.as_str()),
                ),
            ))
        }
    }
}
