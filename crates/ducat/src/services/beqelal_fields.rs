//! The fields every Beqelal request shares (institution, amount in birr, trace number,
//! callback URL), validated one way for direct payments, withdrawals and links alike.

use super::AppError;
use ducat_core::banks::{self, Institution};
use ducat_core::money::{parse_major, Currency, MinorUnits};

/// The most one Beqelal transaction may move: 1,000,000 birr.
pub const MAXIMUM_AMOUNT: MinorUnits = MinorUnits(100_000_000);

pub fn institution(bank: &str) -> Result<&'static Institution, AppError> {
    banks::find_institution(Currency::Etb, bank.trim()).ok_or_else(|| {
        AppError::invalid(
            "bank",
            format!("{bank:?} is not an institution of GET /api/v1/list/banks"),
        )
    })
}

/// Birr: positive, two decimals at most, at most 1,000,000.
pub fn amount(text: &str) -> Result<MinorUnits, AppError> {
    let amount = parse_major(text.trim(), Currency::Etb)
        .map_err(|e| AppError::invalid("amount", e.to_string()))?;
    if !amount.is_positive() {
        return Err(AppError::invalid("amount", "must be greater than zero"));
    }
    if amount > MAXIMUM_AMOUNT {
        return Err(AppError::invalid(
            "amount",
            "must be at most 1,000,000 birr",
        ));
    }
    Ok(amount)
}

pub fn trace_number(text: &str) -> Result<String, AppError> {
    let trace_number = text.trim();
    if trace_number.is_empty()
        || trace_number.len() > 64
        || trace_number.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            "trace_number",
            "must be 1 to 64 printable characters",
        ));
    }
    Ok(trace_number.to_owned())
}

pub fn callback_url(url: Option<&str>) -> Result<Option<String>, AppError> {
    url.map(|url| {
        super::businesses::validate_webhook_url(url)
            .map_err(|_| AppError::invalid("callback_url", "must be an http:// or https:// URL"))
    })
    .transpose()
}
