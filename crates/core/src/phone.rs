//! Phone numbers in E.164 form (`+2348012345678`): where payout OTPs are sent.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an E.164 phone number: a plus sign and 8 to 15 digits, like +2348012345678")]
pub struct PhoneError;

impl PhoneNumber {
    pub fn parse(text: &str) -> Result<PhoneNumber, PhoneError> {
        let digits = text.strip_prefix('+').ok_or(PhoneError)?;
        let well_formed = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if well_formed {
            Ok(PhoneNumber(text.to_owned()))
        } else {
            Err(PhoneError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_e164() {
        assert!(PhoneNumber::parse("+2348012345678").is_ok());
        assert!(PhoneNumber::parse("+251911234567").is_ok());
        assert!(PhoneNumber::parse("2348012345678").is_err());
        assert!(PhoneNumber::parse("+0348012345678").is_err());
        assert!(PhoneNumber::parse("+234 801 234").is_err());
        assert!(PhoneNumber::parse("+1234567").is_err());
        assert!(PhoneNumber::parse("+1234567890123456").is_err());
    }
}
