//! Direct debits at the customer's institution (docs/bank-adapter.md, "Institution OTP and push
//! approval for direct debits"): the port's types and the protocol's documents, shared by the
//! `http` rail that sends them and `ducat bank-sim` that answers them.
//!
//! The institution, not ducat, authorizes: it texts the customer its own OTP (which the business
//! relays to ducat, and ducat to the bank) or pushes a USSD/app prompt the customer approves.

use ducat_core::money::{Currency, MinorUnits};
use serde::{Deserialize, Serialize};

/// ducat asks the institution to debit a customer's account, under ducat's own reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebitRequest {
    pub reference: String,
    pub currency: Currency,
    /// The institution's code in ducat's directory.
    pub institution: String,
    pub account_number: String,
    pub amount: MinorUnits,
    pub reason: Option<String>,
}

/// How the institution authorizes a debit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DebitMethod {
    /// The institution texted the customer a six-digit code.
    Otp,
    /// The institution pushed a prompt the customer approves on the phone.
    Push,
}

impl DebitMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DebitMethod::Otp => "otp",
            DebitMethod::Push => "push",
        }
    }

    pub fn parse(text: &str) -> Option<DebitMethod> {
        match text {
            "otp" => Some(DebitMethod::Otp),
            "push" => Some(DebitMethod::Push),
            _ => None,
        }
    }
}

/// Why a debit failed at the institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DebitFailure {
    /// The institution (or the customer, on a push) declined.
    Declined,
    /// The customer's OTP was wrong too many times.
    OtpAttemptsExceeded,
    /// Not authorized within the institution's lifetime for it.
    Expired,
}

impl DebitFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            DebitFailure::Declined => "declined",
            DebitFailure::OtpAttemptsExceeded => "otp_attempts_exceeded",
            DebitFailure::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<DebitFailure> {
        [
            DebitFailure::Declined,
            DebitFailure::OtpAttemptsExceeded,
            DebitFailure::Expired,
        ]
        .into_iter()
        .find(|f| f.as_str() == text)
    }
}

/// Why a debit request was not accepted; nothing exists at the bank for it (or nothing that
/// can ever move money: an unanswered request is never authorized).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DebitRequestError {
    #[error("the institution has no account {0}")]
    UnknownAccount(String),
    /// The institution refused the request itself (`422`).
    #[error("the institution refused the debit: {0}")]
    Refused(String),
    /// No answer, a 5xx after the last try, an open circuit, or a rail without debits.
    #[error("the institution could not be reached: {0}")]
    Unavailable(String),
}

/// What the institution said about a debit, after an authorization or a status query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebitOutcome {
    /// The customer's account was debited.
    Processed,
    /// Nothing was debited and nothing will be.
    Failed {
        failure: DebitFailure,
        reason: String,
    },
    /// Still waiting for the customer: after a wrong OTP, `attempts_left` says how many remain.
    Awaiting { attempts_left: Option<u32> },
    /// No answer that settles it: only a status query can tell.
    Unknown { reason: String },
    /// The institution has never seen this reference (status query only).
    NotFound,
}

// ---- the protocol's documents ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebitRequestDocument {
    pub reference: String,
    pub currency: String,
    pub institution: String,
    pub account_number: String,
    /// Minor units (santim).
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeDocument {
    /// The six digits the institution texted the customer.
    pub otp: String,
}

/// Where a debit stands at the institution, as the protocol spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DebitWireStatus {
    AwaitingAuthorization,
    Processed,
    Failed,
}

impl DebitWireStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DebitWireStatus::AwaitingAuthorization => "awaiting_authorization",
            DebitWireStatus::Processed => "processed",
            DebitWireStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<DebitWireStatus> {
        [
            DebitWireStatus::AwaitingAuthorization,
            DebitWireStatus::Processed,
            DebitWireStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The answer to a debit request, an authorization and a status query: the same document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebitDocument {
    pub reference: String,
    pub method: DebitMethod,
    pub status: DebitWireStatus,
    /// Why it failed, machine-readable (only when `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<DebitFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// After a wrong OTP: how many tries remain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    pub created_at: i64,
}

/// Error codes of the debit endpoints (besides the protocol's common ones).
pub mod codes {
    pub const UNKNOWN_DEBIT: &str = "unknown_debit";
    pub const DECLINED: &str = "declined";
}

/// What a debit document says, as the port's outcome.
pub fn outcome_of(document: &DebitDocument) -> DebitOutcome {
    match document.status {
        DebitWireStatus::Processed => DebitOutcome::Processed,
        DebitWireStatus::AwaitingAuthorization => DebitOutcome::Awaiting {
            attempts_left: document.attempts_left,
        },
        DebitWireStatus::Failed => DebitOutcome::Failed {
            failure: document.failure.unwrap_or(DebitFailure::Declined),
            reason: document
                .reason
                .clone()
                .unwrap_or_else(|| "the institution declined the payment".to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_read_as_outcomes() {
        let mut document = DebitDocument {
            reference: "R".into(),
            method: DebitMethod::Otp,
            status: DebitWireStatus::AwaitingAuthorization,
            failure: None,
            reason: None,
            attempts_left: Some(3),
            created_at: 0,
        };
        assert_eq!(
            outcome_of(&document),
            DebitOutcome::Awaiting {
                attempts_left: Some(3)
            }
        );
        document.status = DebitWireStatus::Processed;
        assert_eq!(outcome_of(&document), DebitOutcome::Processed);
        document.status = DebitWireStatus::Failed;
        document.failure = Some(DebitFailure::OtpAttemptsExceeded);
        assert!(matches!(
            outcome_of(&document),
            DebitOutcome::Failed {
                failure: DebitFailure::OtpAttemptsExceeded,
                ..
            }
        ));
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["failure"], "otp_attempts_exceeded");
        assert_eq!(json["method"], "otp");
        for status in [
            DebitWireStatus::AwaitingAuthorization,
            DebitWireStatus::Processed,
            DebitWireStatus::Failed,
        ] {
            assert_eq!(DebitWireStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        for failure in [
            DebitFailure::Declined,
            DebitFailure::OtpAttemptsExceeded,
            DebitFailure::Expired,
        ] {
            assert_eq!(DebitFailure::parse(failure.as_str()), Some(failure));
        }
    }
}
