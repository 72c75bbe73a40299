//! How the dashboard writes money, times and statuses for people.

use ducat_core::money::Currency;

/// `₦1,234.50`, `ETB 12.00`: grouped thousands and every decimal place of the currency.
pub fn money(amount: i64, currency: &str) -> String {
    let (symbol, exponent) = match Currency::from_code(currency) {
        Some(c) => (
            match c.code() {
                "NGN" => "₦".to_owned(),
                code => format!("{code} "),
            },
            c.exponent(),
        ),
        None => (format!("{currency} "), 2),
    };
    let scale = 10u64.pow(exponent);
    let abs = amount.unsigned_abs();
    let whole = (abs / scale).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    if exponent == 0 {
        format!("{sign}{symbol}{grouped}")
    } else {
        format!(
            "{sign}{symbol}{grouped}.{:0width$}",
            abs % scale,
            width = exponent as usize
        )
    }
}

/// `2026-11-22 07:05 UTC`.
pub fn when(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `2026-11-22 07:05:09 UTC`, for timelines where seconds matter.
pub fn when_precise(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `2026-11-22`, the UTC day of an instant.
pub fn day(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// The start of a `YYYY-MM-DD` UTC day in unix milliseconds.
pub fn parse_day(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text.trim(), &format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// The CSS class of a status badge: green for done, red for failed, amber for waiting.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "successful" | "paid" | "processed" | "PROCESSED" | "delivered" | "active" => "ok",
        "failed" | "abandoned" | "returned" | "expired" | "FAILED" | "revoked" | "disabled" => {
            "bad"
        }
        _ => "wait",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_with_every_decimal() {
        assert_eq!(money(123_456_789, "NGN"), "₦1,234,567.89");
        assert_eq!(money(5, "NGN"), "₦0.05");
        assert_eq!(money(100_000, "ETB"), "ETB 1,000.00");
        assert_eq!(money(-250, "NGN"), "-₦2.50");
        assert_eq!(money(0, "NGN"), "₦0.00");
    }

    #[test]
    fn days_parse_and_print_in_utc() {
        let start = parse_day("2026-11-22").unwrap();
        assert_eq!(day(start), "2026-11-22");
        assert_eq!(when(start + 65_000), "2026-11-22 00:01 UTC");
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("yesterday"), None);
    }
}
