//! Identifiers that must not be confused with each other. Each prefixed id is generated from a
//! caller-supplied random source and parsed strictly at the edge, so a `WalletRef` can never be
//! passed where a `TransactionRef` is expected.

use rand::Rng;
use serde::Serialize;
use std::fmt;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const DIGITS_AND_CAPITALS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn random_string<R: Rng + ?Sized>(rng: &mut R, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// Declares a Duplo-style identifier: a fixed prefix and twelve letters or digits (`tran_IwUsE63IwOIT`).
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> Self {
                Self(format!("{}{}", $prefix, random_string(rng, ALPHANUMERIC, 12)))
            }

            /// Accepts only the exact shape ducat issues; anything else cannot name one of ours.
            pub fn parse(text: &str) -> Option<Self> {
                let body = text.strip_prefix($prefix)?;
                (body.len() == 12 && body.bytes().all(|b| b.is_ascii_alphanumeric()))
                    .then(|| Self(text.to_owned()))
            }

            /// For values read back from our own store, which only ever holds ids we generated.
            pub fn from_trusted(text: String) -> Self {
                Self(text)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// A Duplo transaction (`tran_…`): payouts, inflows, checkout payments.
    TransactionRef,
    "tran_"
);
prefixed_id!(
    /// A business's wallet in one currency (`wal_…`).
    WalletRef,
    "wal_"
);
prefixed_id!(
    /// A pay-with-transfer checkout (`che_…`).
    CheckoutRef,
    "che_"
);
prefixed_id!(
    /// A virtual or funding bank account ducat issued (`act_…`).
    AccountRef,
    "act_"
);

/// A business, as Duplo names it: a UUID in its canonical lower-case text form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BusinessId(String);

impl BusinessId {
    pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        // RFC 9562 version 4 (random) and variant bits.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ))
    }

    pub fn parse(text: &str) -> Option<Self> {
        let groups: Vec<&str> = text.split('-').collect();
        let lengths = [8, 4, 4, 4, 12];
        let well_formed = groups.len() == 5
            && groups.iter().zip(lengths).all(|(group, len)| {
                group.len() == len
                    && group
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            });
        well_formed.then(|| Self(text.to_owned()))
    }

    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BusinessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Beqelal transaction id: ten digits and capitals (`4EA310DX85`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BeqelalRef(String);

impl BeqelalRef {
    pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self(random_string(rng, DIGITS_AND_CAPITALS, 10))
    }

    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 10 && text.bytes().all(|b| DIGITS_AND_CAPITALS.contains(&b)))
            .then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A random token of `bytes` bytes from the given source, as URL-safe letters and digits.
/// Used for key and secret material; callers pass the OS CSPRNG.
pub fn random_token<R: Rng + ?Sized>(rng: &mut R, len: usize) -> String {
    random_string(rng, ALPHANUMERIC, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn generated_ids_parse_back() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..100 {
            let tran = TransactionRef::generate(&mut rng);
            assert_eq!(TransactionRef::parse(tran.as_str()), Some(tran.clone()));
            assert!(WalletRef::parse(tran.as_str()).is_none());
            let business = BusinessId::generate(&mut rng);
            assert_eq!(BusinessId::parse(business.as_str()), Some(business.clone()));
            let beqelal = BeqelalRef::generate(&mut rng);
            assert_eq!(BeqelalRef::parse(beqelal.as_str()), Some(beqelal));
        }
    }

    #[test]
    fn malformed_ids_are_refused() {
        assert!(TransactionRef::parse("tran_short").is_none());
        assert!(TransactionRef::parse("tran_IwUsE63IwOI!").is_none());
        assert!(TransactionRef::parse("tran_IwUsE63IwOIT").is_some());
        assert!(BusinessId::parse("8ed1cc-1e1c-4ad1-9ed8-e870d6543349").is_none());
        assert!(BusinessId::parse("8ED1CC00-1e1c-4ad1-9ed8-e870d6543349").is_none());
        assert!(BeqelalRef::parse("4EA310DX8").is_none());
        assert!(BeqelalRef::parse("4ea310dx85").is_none());
    }
}
