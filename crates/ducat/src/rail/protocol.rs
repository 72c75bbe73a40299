//! The bank-adapter protocol's documents (docs/bank-adapter.md), shared by the `http` rail that
//! sends them and `ducat bank-sim` that answers them, so the two cannot drift apart.

use serde::{Deserialize, Serialize};

/// The header `ducat bank-sim` reads per-request faults from.
pub const FAULT_HEADER: &str = "x-bank-sim-fault";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameEnquiryRequest {
    pub currency: String,
    pub bank_code: String,
    pub account_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameEnquiryAnswer {
    pub currency: String,
    pub bank_code: String,
    pub bank_name: String,
    pub account_number: String,
    pub account_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub reference: String,
    pub currency: String,
    pub bank_code: String,
    pub account_number: String,
    pub account_name: String,
    /// Minor units (kobo, santim).
    pub amount: i64,
    pub narration: String,
}

/// Where a transfer stands at the bank, as the protocol spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireStatus {
    Successful,
    Failed,
    Processing,
}

impl WireStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WireStatus::Successful => "successful",
            WireStatus::Failed => "failed",
            WireStatus::Processing => "processing",
        }
    }

    pub fn parse(text: &str) -> Option<WireStatus> {
        match text {
            "successful" => Some(WireStatus::Successful),
            "failed" => Some(WireStatus::Failed),
            "processing" => Some(WireStatus::Processing),
            _ => None,
        }
    }
}

/// The answer to a transfer and to a status query: the same document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferDocument {
    pub reference: String,
    pub status: WireStatus,
    pub currency: String,
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Milliseconds since the Unix epoch, when the bank first applied the reference.
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// `{"error": {"code", "message"}}`, for every refusal in either direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDocument {
    pub error: ErrorBody,
}

/// Error codes with a meaning the client acts on.
pub mod codes {
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const UNKNOWN_BANK: &str = "unknown_bank";
    pub const MALFORMED_ACCOUNT: &str = "malformed_account";
    pub const UNKNOWN_ACCOUNT: &str = "unknown_account";
    pub const UNKNOWN_TRANSFER: &str = "unknown_transfer";
    pub const REFERENCE_CONFLICT: &str = "reference_conflict";
    pub const UNAVAILABLE: &str = "unavailable";
    pub const INTERNAL: &str = "internal";
}

/// Which way money moved through ducat's settlement account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineDirection {
    In,
    Out,
}

/// What a statement line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    /// A transfer out ducat sent, by its reference (successful ones only).
    Transfer,
    /// Money a customer sent to one of ducat's accounts, by its session id.
    Inflow,
    /// An inflow ducat answered `returned`, sent back to the sender, under its session id.
    Return,
    /// A processed direct debit, by its reference (money in).
    Debit,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Transfer => "transfer",
            LineKind::Inflow => "inflow",
            LineKind::Return => "return",
            LineKind::Debit => "debit",
        }
    }
}

/// One movement of a day at the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub reference: String,
    pub direction: LineDirection,
    pub currency: String,
    /// Minor units, always positive; `direction` says which way.
    pub amount: i64,
    pub kind: LineKind,
    /// Milliseconds since the Unix epoch, when the money moved (inside the statement's day).
    pub created_at: i64,
}

/// `GET /v1/statements/{date}`: every movement of one UTC day, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementDocument {
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub lines: Vec<StatementLine>,
}
