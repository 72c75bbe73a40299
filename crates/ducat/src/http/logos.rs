//! Institution logos at `/static/banks/{code}.svg`, the URLs `GET /api/v1/list/banks`
//! advertises: a monogram drawn here, so no page or client ever loads a third-party image.

use super::hosted::escape;
use super::AppState;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ducat_core::banks;
use ducat_core::money::Currency;

pub fn router() -> Router<AppState> {
    Router::new().route("/static/banks/{file}", get(logo))
}

/// Up to two initials: "Commercial Bank of Ethiopia" is "CB", "telebirr" is "T".
fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter(|word| word.chars().next().is_some_and(char::is_alphanumeric))
        .filter(|word| !matches!(*word, "of" | "and" | "the"))
        .take(2)
        .filter_map(|word| word.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A colour of the institution's own, stable across releases.
fn hue(code: &str) -> u32 {
    code.bytes().fold(7u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    }) % 360
}

pub fn svg(code: &str, name: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64" role="img" aria-label="{name}"><rect width="64" height="64" rx="12" fill="hsl({hue}, 55%, 38%)"/><text x="32" y="41" text-anchor="middle" font-family="system-ui, sans-serif" font-size="24" font-weight="700" fill="#ffffff">{initials}</text></svg>"##,
        name = escape(name),
        hue = hue(code),
        initials = escape(&initials(name)),
    )
}

async fn logo(Path(file): Path<String>) -> Response {
    let institution = file.strip_suffix(".svg").and_then(|code| {
        banks::find_institution(Currency::Etb, code)
            .or_else(|| banks::find_institution(Currency::Ngn, code))
    });
    match institution {
        Some(institution) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
            ],
            svg(institution.code, institution.name),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "no such logo",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monograms() {
        assert_eq!(initials("Commercial Bank of Ethiopia"), "CB");
        assert_eq!(initials("telebirr"), "T");
        assert_eq!(initials("M-Pesa Ethiopia"), "ME");
        assert!(svg("404050", "Kacha DFS").contains(">KD</text>"));
        assert!(svg("1", "A & <B>").contains("A &amp; &lt;B&gt;"));
    }
}
