//! The bank rail as a port: name enquiry, transfers out and status queries; institution OTPs
//! join it with the flows that need them. Two adapters: the in-process sandbox and `http`, the
//! bank-adapter protocol (docs/bank-adapter.md) over the network.

pub mod debits;
pub mod http;
pub mod notifications;
pub mod protocol;
pub mod sandbox;

use ducat_core::money::{Currency, MinorUnits};
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedAccount {
    pub bank_code: String,
    pub bank_name: String,
    pub account_number: String,
    pub account_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RailError {
    #[error("no bank with code {0} in {1}")]
    UnknownBank(String, Currency),
    #[error("account number {0}")]
    MalformedAccount(String),
    #[error("the bank has no account {0}")]
    UnknownAccount(String),
    #[error("the bank could not be reached: {0}")]
    Unavailable(String),
}

/// A transfer out of ducat's settlement account, identified by ducat's own reference: the bank
/// applies one reference once, however often it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOut {
    pub reference: String,
    pub currency: Currency,
    pub bank_code: String,
    pub account_number: String,
    pub account_name: String,
    pub amount: MinorUnits,
    pub narration: String,
}

/// What the bank said about a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    /// The money reached the recipient's bank.
    Paid { session_id: String },
    /// Nothing left: the bank refused or reversed it.
    Declined { reason: String },
    /// No answer that settles it (a timeout, a dropped connection, "processing"): the money
    /// may or may not have moved, so only asking again can tell.
    Unknown { reason: String },
    /// The bank has never seen this reference (only from a status query).
    NotFound,
}

pub trait Rail: Send + Sync + 'static {
    /// Asks the account's bank whose account it is.
    fn name_enquiry<'a>(
        &'a self,
        currency: Currency,
        bank_code: &'a str,
        account_number: &'a str,
    ) -> BoxFuture<'a, Result<ResolvedAccount, RailError>>;

    /// Sends a transfer. Safe to repeat with the same reference.
    fn transfer_out<'a>(&'a self, transfer: &'a TransferOut) -> BoxFuture<'a, TransferOutcome>;

    /// Asks what became of a transfer sent earlier.
    fn transfer_status<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, TransferOutcome>;

    /// Opens an account for ducat at the bank (a wallet's funding account, a virtual account,
    /// a checkout account); the same reference always gets the same account.
    fn open_account<'a>(
        &'a self,
        opening: &'a notifications::AccountOpening,
    ) -> BoxFuture<'a, Result<notifications::OpenedAccount, RailError>>;

    /// The bank's statement of one UTC day: every movement through ducat's settlement account,
    /// oldest first (docs/bank-adapter.md, "Daily statement").
    fn statement<'a>(
        &'a self,
        day: ducat_core::reconcile::Day,
    ) -> BoxFuture<'a, Result<Vec<protocol::StatementLine>, RailError>>;

    /// Whether the customer's institution authorizes direct debits itself over this rail (its
    /// own OTP or push). When false (the in-process sandbox), ducat plays the institution.
    fn authorizes_debits(&self) -> bool {
        false
    }

    /// Asks the institution to debit a customer; it texts its OTP or pushes a prompt. Safe to
    /// repeat with the same reference.
    fn debit_request<'a>(
        &'a self,
        debit: &'a debits::DebitRequest,
    ) -> BoxFuture<'a, Result<debits::DebitMethod, debits::DebitRequestError>> {
        let _ = debit;
        Box::pin(async {
            Err(debits::DebitRequestError::Unavailable(
                "this rail does not take direct debits".to_owned(),
            ))
        })
    }

    /// Relays the customer's OTP to the institution.
    fn debit_authorize<'a>(
        &'a self,
        reference: &'a str,
        otp: &'a str,
    ) -> BoxFuture<'a, debits::DebitOutcome> {
        let _ = (reference, otp);
        Box::pin(async {
            debits::DebitOutcome::Unknown {
                reason: "this rail does not take direct debits".to_owned(),
            }
        })
    }

    /// Asks what became of a debit (push approvals, unknown outcomes).
    fn debit_status<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, debits::DebitOutcome> {
        let _ = reference;
        Box::pin(async {
            debits::DebitOutcome::Unknown {
                reason: "this rail does not take direct debits".to_owned(),
            }
        })
    }
}
