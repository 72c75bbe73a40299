//! Application services: each loads state, runs the pure core, and persists the result, its
//! ledger postings and its outbox rows in one database transaction. Handlers of every face call
//! these; none of them knows which face it is serving.

pub mod audit;
pub mod auth;
pub mod bank;
pub mod beqelal_fields;
pub mod businesses;
pub mod checkouts;
pub mod credential_cache;
pub mod dashboard;
pub mod direct_debits;
pub mod direct_payments;
pub mod inflows;
pub mod otp_guard;
pub mod payment_links;
pub mod payouts;
pub mod reconcile;
pub mod withdrawals;

use crate::clock::Clock;
use crate::config::Config;
use crate::rail::Rail;
use crate::secrets::ServerKeys;
use crate::store::{Store, StoreError};
use ducat_core::ledger::LedgerError;
use std::net::IpAddr;
use std::sync::Arc;

/// Everything a service needs, cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub keys: ServerKeys,
    pub config: Arc<Config>,
    pub sandbox_rail: Arc<dyn Rail>,
    pub live_rail: Arc<dyn Rail>,
    /// The SMS gateway the delivery worker sends through; `None` with the `outbox` provider,
    /// whose stored rows are the destination.
    pub sms_sender: Option<Arc<dyn crate::sms::SmsSender>>,
    /// The registry `/metrics` renders; the workers count what they do in it too.
    pub metrics: Arc<crate::http::metrics::Metrics>,
    /// Rung when a payout becomes due for the bank, so this node's dispatcher sends it now
    /// rather than at its next tick.
    pub payouts_due: Arc<tokio::sync::Notify>,
    pub credentials: Arc<credential_cache::CredentialCache>,
    pub otp_guard: Arc<otp_guard::OtpGuard>,
}

impl Services {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Test-mode businesses always bank with the sandbox, whatever the configuration.
    pub fn rail_for(&self, mode: crate::store::businesses::Mode) -> &dyn Rail {
        match mode {
            crate::store::businesses::Mode::Test => self.sandbox_rail.as_ref(),
            crate::store::businesses::Mode::Live => self.live_rail.as_ref(),
        }
    }
}

/// The application's one error type; each face maps it once to its own error shape.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A field of the request is missing or wrong.
    #[error("{field} {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("requests from {0} are not allowed for this business")]
    IpNotAllowed(IpAddr),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InsufficientFunds(String),
    #[error("{0}")]
    Unavailable(String),
    /// Refused for a reason a face has its own code for (Beqelal's `450 INVALID_OTP` and the
    /// like); faces without such codes answer 409 with the detail.
    #[error("{detail}")]
    Refused {
        code: &'static str,
        name: &'static str,
        detail: String,
    },
    /// Well-formed but refused as a whole (an idempotency key reused for another request).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts from this caller; try again after the given seconds.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::Ledger(LedgerError::InsufficientFunds { .. }) => {
                AppError::InsufficientFunds("insufficient balance in the wallet".to_owned())
            }
            StoreError::Busy => AppError::Unavailable(
                "the database is busy; nothing was changed, try again shortly".to_owned(),
            ),
            other => AppError::Internal(Box::new(other)),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> AppError {
        AppError::from(StoreError::Database(error))
    }
}
