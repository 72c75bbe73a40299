//! The hosted checkout page a customer opens from `checkout_url`: server-rendered, correct on
//! every refresh without JavaScript, and kept live by a small script from this same host.

use super::AppState;
use crate::services::AppError;
use crate::store::checkouts::CheckoutRecord;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ducat_core::checkout::CheckoutStatus;
use ducat_core::money::MinorUnits;
use serde_json::json;

const CHECKOUT_CSS: &str = include_str!("../../static/checkout.css");
const CHECKOUT_JS: &str = include_str!("../../static/checkout.js");

/// Only this host's own script, style and API; nothing inline, no frames.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/checkout/{reference}", get(page))
        .route("/checkout/{reference}/status", get(status))
        .route(
            "/static/checkout.css",
            get(|| async { asset("text/css; charset=utf-8", CHECKOUT_CSS) }),
        )
        .route(
            "/static/checkout.js",
            get(|| async { asset("text/javascript; charset=utf-8", CHECKOUT_JS) }),
        )
}

pub fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
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
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// `₦6,627.72`: naira with thousands separators and always two decimals.
pub fn naira(amount: MinorUnits) -> String {
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
    format!("{sign}₦{grouped}.{:02}", minor % 100)
}

/// Where the customer goes once paid: the business's callback with the outcome appended.
fn return_url(checkout: &CheckoutRecord) -> Option<String> {
    checkout.callback_url.as_ref().map(|url| {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!(
            "{url}{separator}checkout_reference={}&status=successful",
            checkout.checkout_reference
        )
    })
}

fn minutes_left(checkout: &CheckoutRecord, now_ms: i64) -> String {
    let seconds = ((checkout.expires_at - now_ms).max(0)) / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

fn render(checkout: &CheckoutRecord, business_name: &str, now_ms: i64) -> String {
    let status = checkout.status_at(now_ms);
    let hidden = |shown: CheckoutStatus| if status == shown { "" } else { " hidden" };
    let return_link = match return_url(checkout) {
        Some(url) => format!(
            r#"<p><a id="return-link" href="{}">Return to {}</a></p>"#,
            escape(&url),
            escape(business_name)
        ),
        None => "<p>You can close this page.</p>".to_owned(),
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay {business} by bank transfer</title>
<link rel="stylesheet" href="/static/checkout.css">
</head>
<body>
<main class="card" data-reference="{reference}" data-status="{status}" data-expires-at="{expires_at}" data-now="{now}">
  <p class="merchant">{business}</p>
  <h1 class="amount" id="amount">{amount}</h1>
  <p id="live" class="state" role="status" aria-live="polite"></p>
  <section id="pending"{pending_hidden} aria-labelledby="pay-heading">
    <h2 id="pay-heading" class="state">Pay by bank transfer</h2>
    <p>Transfer exactly <strong>{amount}</strong> to this account:</p>
    <dl>
      <dt>Bank</dt><dd id="bank-name">{bank}</dd>
      <dt>Account number</dt>
      <dd class="account"><span id="account-number">{account_number}</span>
        <button id="copy" type="button" data-copy="{account_number}" hidden>Copy</button></dd>
      <dt>Account name</dt><dd id="account-name">{account_name}</dd>
    </dl>
    <p class="countdown">This account expires in <span id="countdown">{left}</span>.</p>
    <p class="note">Send the exact amount in one transfer: any other amount is returned to you.</p>
    <noscript><p class="note">After paying, refresh this page to see your payment.</p></noscript>
  </section>
  <section id="paid"{paid_hidden}>
    <h2>Payment received</h2>
    <p>Thank you: {business} has your payment.</p>
    {return_link}
  </section>
  <section id="expired"{expired_hidden}>
    <h2>This checkout has expired</h2>
    <p>Money sent to this account now is returned to the sender. Ask {business} for a new link.</p>
  </section>
  <p class="note">Reference {reference}</p>
</main>
<script src="/static/checkout.js" defer></script>
</body>
</html>
"#,
        business = escape(business_name),
        reference = escape(checkout.checkout_reference.as_str()),
        status = status.as_str(),
        expires_at = checkout.expires_at,
        now = now_ms,
        amount = escape(&naira(checkout.amount_to_pay)),
        pending_hidden = hidden(CheckoutStatus::Pending),
        paid_hidden = hidden(CheckoutStatus::Successful),
        expired_hidden = hidden(CheckoutStatus::Expired),
        bank = escape(&checkout.bank_name),
        account_number = escape(&checkout.account_number),
        account_name = escape(&checkout.account_name),
        left = minutes_left(checkout, now_ms),
    )
}

fn not_found_page() -> Response {
    let body = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Checkout not found</title><link rel="stylesheet" href="/static/checkout.css"></head><body><main class="card"><h1>Checkout not found</h1><p>Check the link you were given.</p></main></body></html>"#;
    with_security_headers((StatusCode::NOT_FOUND, Html(body)).into_response())
}

#[utoipa::path(
    get,
    path = "/checkout/{reference}",
    tag = "hosted pages",
    params(("reference" = String, Path, description = "The checkout (`che_…`)")),
    responses(
        (status = 200, description = "The hosted checkout page (HTML)", content_type = "text/html"),
        (status = 404, description = "No such checkout (HTML)", content_type = "text/html"),
    )
)]
pub async fn page(State(state): State<AppState>, Path(reference): Path<String>) -> Response {
    let services = &state.services;
    let checkout = match services.public_checkout(&reference).await {
        Ok(checkout) => checkout,
        Err(AppError::NotFound(_)) => return not_found_page(),
        Err(error) => return super::face::Face::Duplo.render(&error),
    };
    let business = match services.business(&checkout.business_id).await {
        Ok(business) => business,
        Err(error) => return super::face::Face::Duplo.render(&error),
    };
    with_security_headers(
        Html(render(&checkout, &business.name, services.now_ms())).into_response(),
    )
}

#[utoipa::path(
    get,
    path = "/checkout/{reference}/status",
    tag = "hosted pages",
    params(("reference" = String, Path, description = "The checkout (`che_…`)")),
    responses(
        (status = 200, description = "{status, expires_at, seconds_left, return_url}: what the page polls"),
        (status = 404, description = "No such checkout"),
    )
)]
pub async fn status(State(state): State<AppState>, Path(reference): Path<String>) -> Response {
    let services = &state.services;
    match services.public_checkout(&reference).await {
        Ok(checkout) => {
            let now = services.now_ms();
            let status = checkout.status_at(now);
            let body = json!({
                "status": status.as_str(),
                "expires_at": crate::clock::iso_millis(checkout.expires_at),
                "seconds_left": ((checkout.expires_at - now).max(0)) / 1000,
                "return_url": match status {
                    CheckoutStatus::Successful => return_url(&checkout),
                    CheckoutStatus::Pending | CheckoutStatus::Expired => None,
                },
            });
            with_security_headers(Json(body).into_response())
        }
        Err(error) => super::face::Face::Duplo.render(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naira_is_grouped_with_two_decimals() {
        assert_eq!(naira(MinorUnits(662_772)), "₦6,627.72");
        assert_eq!(naira(MinorUnits(100_000_000)), "₦1,000,000.00");
        assert_eq!(naira(MinorUnits(5)), "₦0.05");
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
