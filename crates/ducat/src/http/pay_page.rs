//! The hosted page a Beqelal checkout link or payment link opens (`/pay/:reference`). Plain
//! HTML forms posting back to the same link, so it works without JavaScript; the few lines of
//! script from /static only add hints and the redirect back to the business.
//!
//! No cookies and no session: the unguessable reference in the URL is the customer's key, so
//! a cross-site form cannot do anything its author could not do by posting directly. Browsers
//! that say where a POST came from are still held to this host, as a second line.

use super::hosted::{escape, CONTENT_SECURITY_POLICY};
use super::{body, AppState};
use crate::services::payment_links::LinkView;
use crate::services::AppError;
use crate::store::direct_payments::DirectPaymentRecord;
use crate::store::payment_links::LinkStatus;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use ducat_core::banks::{AuthorizationMethod, InstitutionKind};
use ducat_core::money::MinorUnits;
use std::collections::HashMap;

const PAYLINK_CSS: &str = include_str!("../../static/paylink.css");
const PAYLINK_JS: &str = include_str!("../../static/paylink.js");
/// A form carries three short fields; anything near this is not from the page.
const FORM_LIMIT_BYTES: usize = 4096;
/// How often the page looks again while the customer approves a USSD push.
const PUSH_REFRESH_SECS: u32 = 3;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/{reference}", get(page).post(start))
        .route("/pay/{reference}/otp", axum::routing::post(authorize))
        .route(
            "/static/paylink.css",
            get(|| async { super::hosted::asset("text/css; charset=utf-8", PAYLINK_CSS) }),
        )
        .route(
            "/static/paylink.js",
            get(|| async { super::hosted::asset("text/javascript; charset=utf-8", PAYLINK_JS) }),
        )
}

fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not "no-referrer": that makes browsers send `Origin: null` on the page's own POSTs.
    // Same-origin still keeps the link out of the Referer the business's return_url sees.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `ETB 1,234.50`.
pub fn birr(amount: MinorUnits) -> String {
    let minor = amount.get().unsigned_abs();
    let whole = (minor / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount.get() < 0 { "-" } else { "" };
    format!("{sign}ETB {grouped}.{:02}", minor % 100)
}

/// Where the customer goes once paid: the business's return_url with the outcome appended.
fn return_url(view: &LinkView) -> Option<String> {
    let url = view.link.return_url.as_ref()?;
    let separator = if url.contains('?') { '&' } else { '?' };
    let mut out = format!("{url}{separator}reference={}", view.link.reference);
    if let Some(payment) = &view.link.payment_reference {
        out.push_str(&format!("&id={payment}&status=PROCESSED"));
    }
    Some(out)
}

/// What the customer typed, kept across a refused submission, and what went wrong.
#[derive(Debug, Default)]
struct Entered {
    bank: String,
    account: String,
    error: Option<String>,
}

/// The page's words for a refusal: the field it is about, in a sentence.
fn message(error: &AppError) -> String {
    match error {
        AppError::Invalid { field, message } => match field.as_str() {
            "bank" => "Choose your bank or wallet from the list.".to_owned(),
            "account" => format!("The account number {message}."),
            "otp" => format!("The code {message}."),
            other => format!("{other} {message}."),
        },
        AppError::Refused { detail, .. } => detail.clone(),
        AppError::Internal(_) => "Something went wrong on our side; try again.".to_owned(),
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
                None => text,
            }
        }
    }
}

fn status_for(error: &AppError) -> StatusCode {
    match error {
        AppError::Invalid { .. } | AppError::Refused { .. } => StatusCode::BAD_REQUEST,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        AppError::Forbidden(_) | AppError::IpNotAllowed(_) | AppError::Unauthenticated(_) => {
            StatusCode::FORBIDDEN
        }
        AppError::Unprocessable(_) | AppError::InsufficientFunds(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn account_hint(kind: InstitutionKind, regex: &str, length: u8) -> String {
    match kind {
        InstitutionKind::Wallet => {
            "your wallet's phone number, 12 digits like 251911234567".to_owned()
        }
        InstitutionKind::Bank => format!("{length} digits ({regex})"),
    }
}

fn choose_section(view: &LinkView, entered: &Entered) -> String {
    let mut options = String::new();
    for (label, kind) in [
        ("Mobile wallets", InstitutionKind::Wallet),
        ("Banks", InstitutionKind::Bank),
    ] {
        options.push_str(&format!(r#"<optgroup label="{label}">"#));
        for institution in view.institutions().into_iter().filter(|i| i.kind == kind) {
            let selected = if institution.code == entered.bank {
                " selected"
            } else {
                ""
            };
            options.push_str(&format!(
                r#"<option value="{code}" data-pattern="{pattern}" data-hint="{hint}"{selected}>{name}</option>"#,
                code = escape(institution.code),
                pattern = escape(institution.regex().trim_start_matches('^').trim_end_matches('$')),
                hint = escape(&account_hint(kind, &institution.regex(), institution.account_length)),
                name = escape(institution.name),
            ));
        }
        options.push_str("</optgroup>");
    }
    let failed = view
        .attempt
        .as_ref()
        .filter(|a| view.awaiting().is_none() && a.payment.status.is_final())
        .map(|a| {
            format!(
                r#"<p class="error" id="attempt-failed">The last attempt did not go through ({}). You can try again.</p>"#,
                escape(a.failure_reason.as_deref().unwrap_or("declined"))
            )
        })
        .unwrap_or_default();
    let error = entered
        .error
        .as_ref()
        .map(|e| {
            format!(
                r#"<p class="error" id="error" role="alert">{}</p>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<section id="choose">
    <h2>Pay from your bank or wallet</h2>
    {failed}{error}
    <form method="post" action="/pay/{reference}" novalidate>
      <label for="bank">Bank or wallet</label>
      <select id="bank" name="bank" required>
        <option value="">Choose…</option>
        {options}
      </select>
      <label for="account">Account number</label>
      <input id="account" name="account" type="text" inputmode="numeric" autocomplete="off" required value="{account}" aria-describedby="account-hint">
      <p class="note" id="account-hint">For a wallet, your phone number (like 251911234567); for a bank, your account number.</p>
      <button id="pay" type="submit">Pay {amount}</button>
    </form>
  </section>"#,
        reference = escape(&view.link.reference),
        account = escape(&entered.account),
        amount = escape(&birr(view.link.amount)),
    )
}

fn otp_section(view: &LinkView, attempt: &DirectPaymentRecord, error: Option<&str>) -> String {
    let error = error
        .map(|e| {
            format!(
                r#"<p class="error" id="error" role="alert">{}</p>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<section id="otp-step">
    <h2>Enter the code from {institution}</h2>
    <p>{institution} has texted a 6-digit code to the phone of account <strong>{account}</strong>. Enter it to approve the payment.</p>
    {error}
    <form method="post" action="/pay/{reference}/otp" novalidate>
      <label for="otp">6-digit code</label>
      <input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]{{6}}" required>
      <button id="confirm" type="submit">Approve payment</button>
    </form>
  </section>"#,
        institution = escape(&attempt.institution_name),
        account = escape(&attempt.account),
        reference = escape(&view.link.reference),
    )
}

fn push_section(attempt: &DirectPaymentRecord) -> String {
    format!(
        r#"<section id="push-step">
    <h2>Approve on your phone</h2>
    <p>{institution} has sent a prompt to the phone of account <strong>{account}</strong>. Approve it there; this page updates by itself.</p>
    <p class="note"><a href="">Check now</a></p>
  </section>"#,
        institution = escape(&attempt.institution_name),
        account = escape(&attempt.account),
    )
}

fn paid_section(view: &LinkView) -> String {
    let back = match return_url(view) {
        Some(url) => format!(
            r#"<p><a id="return-link" href="{}" data-redirect="3000">Return to {}</a></p>"#,
            escape(&url),
            escape(&view.business.name)
        ),
        None => "<p>You can close this page.</p>".to_owned(),
    };
    format!(
        r#"<section id="paid">
    <h2>Payment received</h2>
    <p>Thank you: {business} has your payment.</p>
    {back}
  </section>"#,
        business = escape(&view.business.name),
    )
}

fn expired_section(view: &LinkView) -> String {
    format!(
        r#"<section id="expired">
    <h2>This link has expired</h2>
    <p>Nothing was charged. Ask {} for a new link.</p>
  </section>"#,
        escape(&view.business.name)
    )
}

/// The page for the link as it stands. An attempt already started may finish after the link
/// expires: the customer is in the middle of approving it.
fn render(view: &LinkView, entered: &Entered) -> (StatusCode, String) {
    let mut refresh = false;
    let (status, section) = match (view.status, view.awaiting()) {
        (LinkStatus::Paid, _) => (StatusCode::OK, paid_section(view)),
        (LinkStatus::Open | LinkStatus::Expired, Some(attempt)) => {
            if attempt.authorization_method == AuthorizationMethod::Otp.as_str() {
                (
                    StatusCode::OK,
                    otp_section(view, attempt, entered.error.as_deref()),
                )
            } else {
                refresh = true;
                (StatusCode::OK, push_section(attempt))
            }
        }
        (LinkStatus::Expired, None) => (StatusCode::GONE, expired_section(view)),
        (LinkStatus::Open, None) => (StatusCode::OK, choose_section(view, entered)),
    };
    let link = &view.link;
    let item = match (&link.item_name, link.quantity) {
        (Some(name), Some(quantity)) => format!(
            r#"<p class="item" id="item">{quantity} × {}</p>"#,
            escape(name)
        ),
        (Some(name), None) => format!(r#"<p class="item" id="item">{}</p>"#, escape(name)),
        (None, _) => String::new(),
    };
    let reason = link
        .reason
        .as_ref()
        .map(|r| format!(r#"<p class="note" id="reason">{}</p>"#, escape(r)))
        .unwrap_or_default();
    // A meta refresh is not script, so the strict policy allows it and it works without JS.
    let refresh = if refresh {
        format!(r#"<meta http-equiv="refresh" content="{PUSH_REFRESH_SECS}">"#)
    } else {
        String::new()
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{refresh}
<title>Pay {business}</title>
<link rel="stylesheet" href="/static/checkout.css">
<link rel="stylesheet" href="/static/paylink.css">
</head>
<body>
<main class="card" data-reference="{reference}" data-status="{status}">
  <p class="merchant" id="merchant">{business}</p>
  <h1 class="amount" id="amount">{amount}</h1>
  {item}{reason}
  {section}
  <p class="note">Reference {reference}</p>
</main>
<script src="/static/paylink.js" defer></script>
</body>
</html>
"#,
        business = escape(&view.business.name),
        reference = escape(&link.reference),
        status = view.status.as_str(),
        amount = escape(&birr(link.amount)),
    );
    (status, html)
}

fn plain_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><link rel="stylesheet" href="/static/checkout.css"><link rel="stylesheet" href="/static/paylink.css"></head><body><main class="card"><h1>{title}</h1><p>{text}</p></main></body></html>"#,
        title = escape(title),
        text = escape(text),
    );
    with_security_headers((status, Html(body)).into_response())
}

fn error_page(error: &AppError) -> Response {
    match error {
        AppError::NotFound(_) => plain_page(
            StatusCode::NOT_FOUND,
            "Payment link not found",
            "Check the link you were given.",
        ),
        other => {
            if let AppError::Internal(_) = other {
                tracing::error!(error = %other, "the payment page failed");
            }
            plain_page(
                status_for(other),
                "This payment cannot go on",
                &message(other),
            )
        }
    }
}

fn page_response(view: &LinkView, entered: &Entered, error_status: Option<StatusCode>) -> Response {
    let (status, html) = render(view, entered);
    let status = match (status, error_status) {
        (StatusCode::OK, Some(error)) => error,
        (status, _) => status,
    };
    with_security_headers((status, Html(html)).into_response())
}

#[utoipa::path(
    get,
    path = "/pay/{reference}",
    tag = "hosted pages",
    params(("reference" = String, Path, description = "The link (`lnk_…`)")),
    responses(
        (status = 200, description = "The hosted payment page (HTML)", content_type = "text/html"),
        (status = 404, description = "No such link (HTML)", content_type = "text/html"),
        (status = 410, description = "The link has expired (HTML)", content_type = "text/html"),
    )
)]
pub async fn page(State(state): State<AppState>, Path(reference): Path<String>) -> Response {
    match state.services.public_payment_link(&reference).await {
        Ok(view) => page_response(&view, &Entered::default(), None),
        Err(error) => error_page(&error),
    }
}

/// A POST from a browser names its origin; one naming another site is refused.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|a| !host.is_empty() && a.eq_ignore_ascii_case(host))
}

async fn form(request: Request) -> Result<HashMap<String, String>, AppError> {
    let (parts, body) = request.into_parts();
    if !same_origin(&parts.headers) {
        return Err(AppError::Forbidden(
            "this form can only be sent from its own page".to_owned(),
        ));
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if content_type != "application/x-www-form-urlencoded" {
        return Err(AppError::UnsupportedMediaType(
            "send the form as application/x-www-form-urlencoded".to_owned(),
        ));
    }
    let bytes = body::read_limited(body, FORM_LIMIT_BYTES).await?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

/// The page's first form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PayStartForm {
    /// The institution's id.
    bank: String,
    /// The account number, or the phone number for a wallet.
    account: String,
}

/// The page's OTP form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PayOtpForm {
    /// The code the institution sent to the customer.
    otp: String,
}

#[utoipa::path(
    post,
    path = "/pay/{reference}",
    tag = "hosted pages",
    params(("reference" = String, Path, description = "The link (`lnk_…`)")),
    request_body(content = PayStartForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "The payment started; back to the page for the OTP or the USSD approval"),
        (status = 403, description = "The form came from another site (HTML)", content_type = "text/html"),
        (status = 404, description = "No such link (HTML)", content_type = "text/html"),
        (status = 409, description = "The link is already paid or being paid (HTML)", content_type = "text/html"),
        (status = 413, description = "The form is larger than the limit (HTML)", content_type = "text/html"),
        (status = 415, description = "The form is not application/x-www-form-urlencoded (HTML)", content_type = "text/html"),
        (status = 422, description = "The payment cannot go on (HTML)", content_type = "text/html"),
        (status = 429, description = "Too many wrong OTPs (HTML)", content_type = "text/html"),
        (status = 503, description = "The institution or the database is unavailable (HTML)", content_type = "text/html"),
        (status = 400, description = "The page again with the refused field's message (HTML)", content_type = "text/html"),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    request: Request,
) -> Response {
    let fields = match form(request).await {
        Ok(fields) => fields,
        Err(error) => return error_page(&error),
    };
    let field = |name: &str| {
        fields
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let services = &state.services;
    match services
        .start_link_payment(&reference, &field("bank"), &field("account"))
        .await
    {
        Ok(_) => Redirect::to(&format!("/pay/{}", reference.trim())).into_response(),
        Err(error @ AppError::NotFound(_)) => error_page(&error),
        Err(error) => match services.public_payment_link(&reference).await {
            Ok(view) => page_response(
                &view,
                &Entered {
                    bank: field("bank"),
                    account: field("account"),
                    error: Some(message(&error)),
                },
                Some(status_for(&error)),
            ),
            Err(error) => error_page(&error),
        },
    }
}

#[utoipa::path(
    post,
    path = "/pay/{reference}/otp",
    tag = "hosted pages",
    params(("reference" = String, Path, description = "The link (`lnk_…`)")),
    request_body(content = PayOtpForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Authorized (or failed); back to the page"),
        (status = 403, description = "The form came from another site (HTML)", content_type = "text/html"),
        (status = 404, description = "No such link (HTML)", content_type = "text/html"),
        (status = 409, description = "The link is already paid or being paid (HTML)", content_type = "text/html"),
        (status = 413, description = "The form is larger than the limit (HTML)", content_type = "text/html"),
        (status = 415, description = "The form is not application/x-www-form-urlencoded (HTML)", content_type = "text/html"),
        (status = 422, description = "The payment cannot go on (HTML)", content_type = "text/html"),
        (status = 429, description = "Too many wrong OTPs (HTML)", content_type = "text/html"),
        (status = 503, description = "The institution or the database is unavailable (HTML)", content_type = "text/html"),
        (status = 400, description = "The page again with the OTP's error (HTML)", content_type = "text/html"),
    )
)]
pub async fn authorize(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    request: Request,
) -> Response {
    let fields = match form(request).await {
        Ok(fields) => fields,
        Err(error) => return error_page(&error),
    };
    let otp = fields.get("otp").cloned().unwrap_or_default();
    let services = &state.services;
    match services.authorize_link_payment(&reference, &otp).await {
        Ok(_) => Redirect::to(&format!("/pay/{}", reference.trim())).into_response(),
        Err(error @ AppError::NotFound(_)) => error_page(&error),
        Err(error) => match services.public_payment_link(&reference).await {
            Ok(view) => page_response(
                &view,
                &Entered {
                    error: Some(message(&error)),
                    ..Entered::default()
                },
                Some(status_for(&error)),
            ),
            Err(error) => error_page(&error),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birr_is_grouped_with_two_decimals() {
        assert_eq!(birr(MinorUnits(123_450)), "ETB 1,234.50");
        assert_eq!(birr(MinorUnits(100_000_000)), "ETB 1,000,000.00");
        assert_eq!(birr(MinorUnits(5)), "ETB 0.05");
    }

    #[test]
    fn only_this_host_may_post() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers));
        headers.insert(header::HOST, HeaderValue::from_static("pay.example:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://pay.example:8080"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&headers));
    }
}
