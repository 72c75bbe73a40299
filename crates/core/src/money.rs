//! Money as integer minor units with an ISO 4217 currency. No floats anywhere: amounts arrive
//! as decimal text (a JSON number's literal or a string) and are parsed exactly.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The currencies ducat settles. Both have two decimal places (kobo, santim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "NGN")]
    Ngn,
    #[serde(rename = "ETB")]
    Etb,
}

impl Currency {
    pub const ALL: [Currency; 2] = [Currency::Ngn, Currency::Etb];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Ngn => "NGN",
            Currency::Etb => "ETB",
        }
    }

    /// Decimal places of the currency's minor unit.
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Ngn | Currency::Etb => 2,
        }
    }

    pub fn from_code(code: &str) -> Option<Currency> {
        match code {
            "NGN" => Some(Currency::Ngn),
            "ETB" => Some(Currency::Etb),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in a currency's minor unit (kobo, santim). Signed, because ledger postings are.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MinorUnits(pub i64);

impl MinorUnits {
    pub const ZERO: MinorUnits = MinorUnits(0);

    pub fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: MinorUnits) -> Option<MinorUnits> {
        self.0.checked_add(other.0).map(MinorUnits)
    }

    pub fn checked_sub(self, other: MinorUnits) -> Option<MinorUnits> {
        self.0.checked_sub(other.0).map(MinorUnits)
    }

    pub fn checked_neg(self) -> Option<MinorUnits> {
        self.0.checked_neg().map(MinorUnits)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// The amount in major units as the shortest exact decimal text: `1200`, `1200.5`, `0.07`.
    pub fn to_major_string(self, currency: Currency) -> String {
        let scale = 10i64.pow(currency.exponent());
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / scale as u64;
        let fraction = abs % scale as u64;
        if fraction == 0 {
            return format!("{sign}{whole}");
        }
        let digits = format!("{:0width$}", fraction, width = currency.exponent() as usize);
        format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// Why a piece of decimal text is not an acceptable amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must be a number")]
    NotANumber,
    #[error("must not be negative")]
    Negative,
    #[error("has more than {0} decimal places")]
    TooManyDecimals(u32),
    #[error("is too large")]
    TooLarge,
}

/// Parses a major-unit decimal (`"1200"`, `"1200.5"`, `"0.07"`) into minor units exactly.
///
/// Accepts only plain decimal notation: exponents, signs other than a leading minus, spaces,
/// and more decimals than the currency has are refused rather than rounded, because a
/// gateway that silently rounds someone's money is wrong in a way nobody notices until audit.
pub fn parse_major(text: &str, currency: Currency) -> Result<MinorUnits, AmountError> {
    let exponent = currency.exponent();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (unsigned, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(AmountError::NotANumber);
    }
    if unsigned.contains('.') && fraction.is_empty() {
        return Err(AmountError::NotANumber);
    }
    let significant_fraction = fraction.trim_end_matches('0');
    if significant_fraction.len() > exponent as usize {
        return Err(AmountError::TooManyDecimals(exponent));
    }
    let scale = 10i64.pow(exponent);
    let whole_value: i64 = whole
        .trim_start_matches('0')
        .parse::<i64>()
        .or_else(|_| {
            if whole.bytes().all(|b| b == b'0') {
                Ok(0)
            } else {
                Err(())
            }
        })
        .map_err(|_| AmountError::TooLarge)?;
    let mut fraction_value: i64 = 0;
    for (i, digit) in significant_fraction.bytes().enumerate() {
        fraction_value += i64::from(digit - b'0') * 10i64.pow(exponent - 1 - i as u32);
    }
    let minor = whole_value
        .checked_mul(scale)
        .and_then(|v| v.checked_add(fraction_value))
        .filter(|v| *v <= MAX_AMOUNT_MINOR)
        .ok_or(AmountError::TooLarge)?;
    if negative && minor != 0 {
        return Err(AmountError::Negative);
    }
    Ok(MinorUnits(minor))
}

/// The largest single amount ducat accepts: a trillion major units. Far above any real payment,
/// far below where sums of many of them could overflow an i64.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_decimals() {
        let ngn = Currency::Ngn;
        assert_eq!(parse_major("1200", ngn), Ok(MinorUnits(120_000)));
        assert_eq!(parse_major("1200.5", ngn), Ok(MinorUnits(120_050)));
        assert_eq!(parse_major("0.07", ngn), Ok(MinorUnits(7)));
        assert_eq!(parse_major("0.070", ngn), Ok(MinorUnits(7)));
        assert_eq!(parse_major("007", ngn), Ok(MinorUnits(700)));
        assert_eq!(parse_major("0", ngn), Ok(MinorUnits(0)));
        assert_eq!(parse_major("-0", ngn), Ok(MinorUnits(0)));
    }

    #[test]
    fn refuses_what_is_not_exact() {
        let ngn = Currency::Ngn;
        assert_eq!(
            parse_major("0.001", ngn),
            Err(AmountError::TooManyDecimals(2))
        );
        assert_eq!(parse_major("-5", ngn), Err(AmountError::Negative));
        assert_eq!(parse_major("1e3", ngn), Err(AmountError::NotANumber));
        assert_eq!(parse_major("", ngn), Err(AmountError::NotANumber));
        assert_eq!(parse_major(".5", ngn), Err(AmountError::NotANumber));
        assert_eq!(parse_major("5.", ngn), Err(AmountError::NotANumber));
        assert_eq!(parse_major(" 5", ngn), Err(AmountError::NotANumber));
        assert_eq!(parse_major("+5", ngn), Err(AmountError::NotANumber));
        assert_eq!(
            parse_major("99999999999999999999999", ngn),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            parse_major("1000000000001", ngn),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn formats_shortest_major_text() {
        let ngn = Currency::Ngn;
        assert_eq!(MinorUnits(120_000).to_major_string(ngn), "1200");
        assert_eq!(MinorUnits(120_050).to_major_string(ngn), "1200.5");
        assert_eq!(MinorUnits(7).to_major_string(ngn), "0.07");
        assert_eq!(MinorUnits(-7).to_major_string(ngn), "-0.07");
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in 0i64..MAX_AMOUNT_MINOR) {
            let text = MinorUnits(minor).to_major_string(Currency::Etb);
            proptest::prop_assert_eq!(parse_major(&text, Currency::Etb), Ok(MinorUnits(minor)));
        }
    }
}
