//! The merchant dashboard (`/dashboard`): server-rendered pages for a business's people.
//!
//! Every page is HTML built by `maud` (escaped by construction) under a strict
//! Content-Security-Policy, usable without JavaScript. A signed-in request carries a session
//! cookie (HttpOnly, SameSite=Strict, Secure over TLS); every form posts a CSRF token that
//! [`Post`] checks before a handler runs, so no handler can forget it.

mod auth;
mod developers;
mod format;
mod layout;
mod overview;
mod payouts;
mod reconciliation;
mod sandbox;
mod security;
mod settings;
mod team;
mod transactions;
mod webhooks;

use super::{client_ip, AppState};
use crate::services::audit::Actor;
use crate::services::dashboard::SessionToken;
use crate::services::AppError;
use crate::store::businesses::BusinessRecord;
use crate::store::dashboard::Session;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use ducat_core::roles::{Action, Role};
use http_body_util::BodyExt;
use maud::Markup;
use std::collections::HashMap;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

pub use layout::Section;

pub const SESSION_COOKIE: &str = "ducat_session";
pub const CSRF_FIELD: &str = "_csrf";
const DASHBOARD_CSS: &str = include_str!("../../../static/dashboard.css");
const DASHBOARD_JS: &str = include_str!("../../../static/dashboard.js");
/// Forms are small; anything bigger is not from our pages.
const MAX_FORM_BYTES: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::routes())
        .merge(overview::routes())
        .merge(transactions::routes())
        .merge(payouts::routes())
        .merge(settings::routes())
        .merge(developers::routes())
        .merge(webhooks::routes())
        .merge(security::routes())
        .merge(reconciliation::routes())
        .merge(team::routes())
        .merge(sandbox::routes())
        .route("/dashboard/{*rest}", axum::routing::any(not_found))
        .route(
            "/static/dashboard.css",
            get(|| async { super::hosted::asset("text/css; charset=utf-8", DASHBOARD_CSS) }),
        )
        .route(
            "/static/dashboard.js",
            get(|| async { super::hosted::asset("text/javascript; charset=utf-8", DASHBOARD_JS) }),
        )
}

async fn not_found() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "There is no such page in the dashboard.",
    )
}

/// A request from a signed-in user, with their session and business.
#[derive(Debug, Clone)]
pub struct Signed {
    pub session: Session,
    pub business: BusinessRecord,
    pub ip: IpAddr,
    /// Where this person reaches the gateway, for links they will copy (invitations, API base
    /// URLs): the configured public URL, else the host their browser asked for.
    pub site_url: String,
}

impl Signed {
    pub fn role(&self) -> Role {
        self.session.user.role
    }

    pub fn may(&self, action: Action) -> bool {
        self.role().may(action)
    }

    /// Refuses with 403 unless the user's role allows the action.
    pub fn require(&self, action: Action) -> Result<(), PageError> {
        if self.may(action) {
            Ok(())
        } else {
            Err(PageError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "Your role ({}) does not allow you to {}. Ask an owner of {}.",
                    self.role(),
                    action.describe(),
                    self.business.name
                ),
            ))
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::User {
            user_id: self.session.user.id.clone(),
            email: self.session.user.email.clone(),
            ip: self.ip,
        }
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }
}

fn session_cookie(parts: &Parts) -> Option<SessionToken> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| SessionToken::from_cookie(value))
}

async fn signed_from_parts(parts: &Parts, state: &AppState) -> Result<Signed, PageError> {
    let to_sign_in = || PageError::SignIn {
        next: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .filter(|_| parts.method == axum::http::Method::GET),
    };
    let Some(token) = session_cookie(parts) else {
        return Err(to_sign_in());
    };
    let services = &state.services;
    let Some(session) = services.dashboard_session(&token).await? else {
        return Err(to_sign_in());
    };
    let business = services.business(&session.user.business_id).await?;
    Ok(Signed {
        session,
        business,
        ip: client_ip(parts, state).0,
        site_url: site_url(parts, state),
    })
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        signed_from_parts(parts, state).await
    }
}

/// A form posted by a signed-in user from one of our own pages: the session is valid, the
/// CSRF token matches the session's, and the browser (when it says) posted from this origin.
#[derive(Debug)]
pub struct Post {
    pub signed: Signed,
    pub form: Form,
}

impl FromRequest<AppState> for Post {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let (parts, body) = request.into_parts();
        let signed = signed_from_parts(&parts, state).await?;
        check_origin(&parts)?;
        let form = Form::read(&parts, body).await?;
        let presented = form.get(CSRF_FIELD);
        let expected = signed.session.csrf_token.as_bytes();
        if !bool::from(presented.as_bytes().ct_eq(expected)) || presented.is_empty() {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This form could not be verified (its security token is missing or stale). \
                 Reload the page and try again.",
            ));
        }
        Ok(Post { signed, form })
    }
}

/// A browser that names the origin of a form post must name ours.
fn check_origin(parts: &Parts) -> Result<(), PageError> {
    let Some(origin) = parts.headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://").map(|(_, rest)| rest.to_owned()))
        .unwrap_or_default();
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(PageError::new(
            StatusCode::FORBIDDEN,
            "This form was posted from another site and was refused.",
        ))
    }
}

/// The fields of a posted `application/x-www-form-urlencoded` form.
#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    pub async fn read(parts: &Parts, body: axum::body::Body) -> Result<Form, PageError> {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(PageError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Forms must be sent as application/x-www-form-urlencoded.",
            ));
        }
        let limited = http_body_util::Limited::new(body, MAX_FORM_BYTES);
        let bytes = limited
            .collect()
            .await
            .map_err(|_| PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?
            .to_bytes();
        Ok(Form(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }

    /// The field's value, or empty when the form has no such field.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or_default()
    }

    /// The field's value trimmed, `None` when absent or blank.
    pub fn value(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|v| !v.is_empty())
    }
}

/// What a dashboard request can fail with: a redirect to sign in, or a page saying why.
#[derive(Debug)]
pub enum PageError {
    SignIn { next: Option<String> },
    Page { status: StatusCode, message: String },
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> PageError {
        PageError::Page {
            status,
            message: message.into(),
        }
    }
}

/// The status and the sentence a person reads for an application error.
pub fn describe(error: &AppError) -> (StatusCode, String) {
    let status = super::face::plain_status(error);
    let message = match error {
        AppError::Internal(_) => {
            super::face::log_internal(error);
            "Something went wrong on our side; it has been logged. Please try again.".to_owned()
        }
        AppError::Invalid { field, message } => {
            format!("{} {message}.", layout::field_label(field))
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => {
                    format!("{}{}.", first.to_uppercase(), chars.as_str()).replace("..", ".")
                }
                None => text,
            }
        }
    };
    (status, message)
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> PageError {
        let (status, message) = describe(&error);
        PageError::Page { status, message }
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> PageError {
        PageError::from(AppError::from(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                let target = match next.filter(|n| is_local_path(n)) {
                    Some(next) => format!(
                        "/dashboard/sign-in?next={}",
                        form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                    ),
                    None => "/dashboard/sign-in".to_owned(),
                };
                Redirect::to(&target).into_response()
            }
            PageError::Page { status, message } => {
                html(status, layout::error_page(status, &message))
            }
        }
    }
}

/// Only paths inside the dashboard are followed after sign-in, never another site.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with("/dashboard")
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

pub type PageResult = Result<Response, PageError>;

/// A page with the dashboard's security headers: nothing cached, nothing framed, only this
/// host's own script and style.
pub fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(super::hosted::CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn ok(markup: Markup) -> PageResult {
    Ok(html(StatusCode::OK, markup))
}

/// After a successful form: back to a page (303, so a refresh does not post again), with a
/// `done` code that page turns into its own fixed sentence.
pub fn see_other(path: &str) -> PageResult {
    Ok(Redirect::to(path).into_response())
}

fn site_url(parts: &Parts, state: &AppState) -> String {
    if state.services.config.public_url.is_some() {
        return state.services.config.base_url();
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
    match host {
        Some(host) => {
            let scheme = if served_over_tls(parts, state) {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        }
        None => state.services.config.base_url(),
    }
}

/// Whether the browser reached us over TLS: a public URL with https, or a trusted proxy
/// saying so. Decides the cookie's `Secure` attribute.
pub fn served_over_tls(parts: &Parts, state: &AppState) -> bool {
    let configured = state
        .services
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let via_trusted_proxy =
        peer.is_some_and(|ip| state.trusted_proxies.iter().any(|n| n.contains(&ip)));
    let forwarded_https = parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    configured || (via_trusted_proxy && forwarded_https)
}
