//! One-time passwords: six digits from a cryptographically secure source. The type never
//! prints its digits through `Debug`, so it cannot leak into a log line by accident.

use rand::{CryptoRng, Rng};
use std::fmt;

pub const OTP_DIGITS: usize = 6;

#[derive(Clone, PartialEq, Eq)]
pub struct Otp(String);

impl fmt::Debug for Otp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Otp(******)")
    }
}

impl Otp {
    /// Requires a CSPRNG by type: a predictable OTP is no OTP.
    pub fn generate<R: Rng + CryptoRng + ?Sized>(rng: &mut R) -> Otp {
        let value: u32 = rng.gen_range(0..1_000_000);
        Otp(format!("{value:06}"))
    }

    /// Exactly six ASCII digits; anything else is not an OTP we could have issued.
    pub fn parse(text: &str) -> Option<Otp> {
        (text.len() == OTP_DIGITS && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Otp(text.to_owned()))
    }

    /// The digits, for the one place that must see them: the message to the phone.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    #[test]
    fn generated_codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200)
            .map(|_| Otp::generate(&mut OsRng).expose().to_owned())
            .collect();
        assert!(codes.iter().all(|c| Otp::parse(c).is_some()));
        assert!(codes.len() > 190);
    }

    #[test]
    fn parsing_is_strict_and_debug_hides_the_code() {
        assert!(Otp::parse("012345").is_some());
        assert!(Otp::parse("12345").is_none());
        assert!(Otp::parse("1234567").is_none());
        assert!(Otp::parse("12345a").is_none());
        assert!(Otp::parse("１２３４５６").is_none());
        assert_eq!(
            format!("{:?}", Otp::parse("123456").unwrap()),
            "Otp(******)"
        );
    }
}
