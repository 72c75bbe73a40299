//! Money in over the network (docs/bank-adapter.md): accounts the bank assigns to ducat
//! (`POST /v1/accounts`) and the inflow notifications the bank sends to ducat
//! (`POST {ducat}/bank/v1/notifications/inflows`), signed with a shared secret.
//!
//! The documents are shared by ducat and `ducat bank-sim`; signing, verification and the
//! bank's delivery schedule are pure functions, tested here.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The path ducat serves inflow notifications on.
pub const INFLOWS_PATH: &str = "/bank/v1/notifications/inflows";
pub const TIMESTAMP_HEADER: &str = "x-ducat-timestamp";
pub const SIGNATURE_HEADER: &str = "x-ducat-signature";
/// How far a notification's timestamp may be from ducat's clock.
pub const TOLERANCE_SECS: i64 = 300;

/// What an account the bank opens for ducat is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Wallet,
    Virtual,
    Checkout,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Wallet => "wallet",
            AccountKind::Virtual => "virtual",
            AccountKind::Checkout => "checkout",
        }
    }

    pub fn parse(text: &str) -> Option<AccountKind> {
        match text {
            "wallet" => Some(AccountKind::Wallet),
            "virtual" => Some(AccountKind::Virtual),
            "checkout" => Some(AccountKind::Checkout),
            _ => None,
        }
    }
}

/// An account ducat asks its bank to open: for a wallet's funding, a virtual account or a
/// checkout. `reference` is ducat's own and makes the request idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountOpening {
    pub reference: String,
    pub currency: ducat_core::money::Currency,
    pub account_name: String,
    pub kind: AccountKind,
}

impl AccountOpening {
    pub fn request(&self) -> AccountRequest {
        AccountRequest {
            reference: self.reference.clone(),
            currency: self.currency.code().to_owned(),
            account_name: self.account_name.clone(),
            kind: self.kind,
        }
    }
}

/// The account the bank opened.
pub type OpenedAccount = AccountAnswer;

/// `POST /v1/accounts`: idempotent on `reference` (ducat's wallet, virtual-account or checkout
/// reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    pub reference: String,
    pub currency: String,
    pub account_name: String,
    pub kind: AccountKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAnswer {
    pub account_number: String,
    pub bank_code: String,
    pub bank_name: String,
}

/// The body of an inflow notification. Unknown fields are ignored (the bank may say more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InflowNotification {
    pub session_id: String,
    pub account_number: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_bank_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_account_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narration: Option<String>,
    /// Milliseconds since the Unix epoch, when the money arrived at the bank.
    pub created_at: i64,
}

/// What ducat did with a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InflowStatus {
    /// Credited to a wallet, a checkout or a virtual account.
    Applied,
    /// This session id was recorded before: nothing happened again.
    Duplicate,
    /// Recorded and sent back to the sender through suspense (unknown account, wrong amount).
    Returned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InflowAck {
    pub session_id: String,
    pub status: InflowStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Reads the bank's answer to `POST /v1/accounts`.
pub fn opened_account(body: &[u8]) -> Result<OpenedAccount, super::RailError> {
    serde_json::from_slice::<AccountAnswer>(body)
        .ok()
        .filter(|a| !a.account_number.is_empty())
        .ok_or_else(|| {
            super::RailError::Unavailable("the bank's answer is not an account document".to_owned())
        })
}

/// The in-process sandbox bank opens an account: a fresh number at the house bank of the
/// currency that nothing of ducat's has (the same allocation test mode uses in its own
/// transactions). Not idempotent on the reference: the caller asks once per new record.
pub async fn open_sandbox_account(
    store: &crate::store::Store,
    opening: &AccountOpening,
) -> Result<OpenedAccount, super::RailError> {
    let unavailable = |e: crate::store::StoreError| super::RailError::Unavailable(e.to_string());
    let mut tx = store.begin().await.map_err(unavailable)?;
    let allocated = crate::services::bank::allocate_house_account(&mut tx, opening.currency)
        .await
        .map_err(unavailable)?;
    tx.rollback()
        .await
        .map_err(|e| super::RailError::Unavailable(e.to_string()))?;
    let (bank, account_number) = allocated.ok_or_else(|| {
        super::RailError::Unavailable("could not allocate a free account number".to_owned())
    })?;
    Ok(AccountAnswer {
        account_number,
        bank_code: bank.code.to_owned(),
        bank_name: bank.name.to_owned(),
    })
}

/// `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
pub fn sign(secret: &str, timestamp_secs: i64, body: &[u8]) -> String {
    format!("v1={}", hex::encode(mac(secret, timestamp_secs, body)))
}

fn mac(secret: &str, timestamp_secs: i64, body: &[u8]) -> Vec<u8> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Why a notification's signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Ducat-Timestamp header is missing or not a whole number of seconds")]
    MissingTimestamp,
    #[error("the timestamp is more than 5 minutes away from ducat's clock")]
    Stale,
    #[error("the X-Ducat-Signature header is missing")]
    MissingSignature,
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a notification's headers against the body as received, with any of `secrets` (two
/// during a rotation). Pure: `now_secs` is ducat's clock. Compares in constant time.
pub fn verify(
    secrets: &[&str],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let timestamp: i64 = timestamp
        .and_then(|t| t.trim().parse().ok())
        .ok_or(SignatureError::MissingTimestamp)?;
    if now_secs.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let signature = signature
        .filter(|s| !s.trim().is_empty())
        .ok_or(SignatureError::MissingSignature)?;
    let presented: Vec<Vec<u8>> = signature
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|value| hex::decode(value).ok())
        .collect();
    let mut matched = false;
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let expected = mac(secret, timestamp, body);
        for candidate in &presented {
            matched |= bool::from(candidate.as_slice().ct_eq(expected.as_slice()));
        }
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The bank's wait before the next delivery of a notification after `failures` unacknowledged
/// tries: `base`, doubling, at most `cap`. The bank retries for as long as it takes.
pub fn delivery_delay(failures: u32, base: Duration, cap: Duration) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => base.saturating_mul(1u32 << (n - 1).min(20)).min(cap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_798_400;

    #[test]
    fn a_signed_body_verifies_and_anything_else_is_refused() {
        let body = br#"{"session_id":"1"}"#;
        let signature = sign("secret", NOW, body);
        let ts = NOW.to_string();
        assert_eq!(
            verify(&["secret"], Some(&ts), Some(&signature), body, NOW),
            Ok(())
        );
        // Either secret of a rotation, and several values in one header.
        assert_eq!(
            verify(&["old", "secret"], Some(&ts), Some(&signature), body, NOW),
            Ok(())
        );
        let both = format!("{},{signature}", sign("other", NOW, body));
        assert_eq!(
            verify(&["secret"], Some(&ts), Some(&both), body, NOW + 299),
            Ok(())
        );
        assert_eq!(
            verify(&["wrong"], Some(&ts), Some(&signature), body, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&["secret"], Some(&ts), Some(&signature), b"{}", NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&["secret"], Some(&ts), Some("v1=zz"), body, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[""], Some(&ts), Some(&sign("", NOW, body)), body, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&["secret"], Some(&ts), Some(&signature), body, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&["secret"], Some(&ts), Some(&signature), body, NOW - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&["secret"], None, Some(&signature), body, NOW),
            Err(SignatureError::MissingTimestamp)
        );
        assert_eq!(
            verify(&["secret"], Some("soon"), Some(&signature), body, NOW),
            Err(SignatureError::MissingTimestamp)
        );
        assert_eq!(
            verify(&["secret"], Some(&ts), None, body, NOW),
            Err(SignatureError::MissingSignature)
        );
        // The timestamp is signed: another one with the same signature fails.
        let later = (NOW + 1).to_string();
        assert_eq!(
            verify(&["secret"], Some(&later), Some(&signature), body, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn deliveries_back_off_exponentially_up_to_a_cap() {
        let base = Duration::from_millis(200);
        let cap = Duration::from_secs(5);
        assert_eq!(delivery_delay(0, base, cap), Duration::ZERO);
        assert_eq!(delivery_delay(1, base, cap), Duration::from_millis(200));
        assert_eq!(delivery_delay(2, base, cap), Duration::from_millis(400));
        assert_eq!(delivery_delay(4, base, cap), Duration::from_millis(1600));
        assert_eq!(delivery_delay(6, base, cap), cap);
        assert_eq!(delivery_delay(u32::MAX, base, cap), cap);
    }

    #[test]
    fn documents_read_as_the_protocol_spells_them() {
        let ack: InflowAck =
            serde_json::from_str(r#"{"session_id":"1","status":"duplicate"}"#).unwrap();
        assert_eq!(ack.status, InflowStatus::Duplicate);
        let request: AccountRequest = serde_json::from_str(
            r#"{"reference":"w1","currency":"NGN","account_name":"A","kind":"checkout"}"#,
        )
        .unwrap();
        assert_eq!(request.kind, AccountKind::Checkout);
        let notification: InflowNotification = serde_json::from_str(
            r#"{"session_id":"1","account_number":"9","amount":5,"currency":"NGN","created_at":0,"extra":1}"#,
        )
        .unwrap();
        assert_eq!(notification.source_account_name, None);
    }
}
