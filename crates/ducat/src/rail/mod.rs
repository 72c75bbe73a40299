//! The bank rail as a port: name enquiry now; transfers, status queries and institution OTPs
//! join it with the flows that need them.

pub mod sandbox;

use ducat_core::money::Currency;
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

pub trait Rail: Send + Sync + 'static {
    /// Asks the account's bank whose account it is.
    fn name_enquiry<'a>(
        &'a self,
        currency: Currency,
        bank_code: &'a str,
        account_number: &'a str,
    ) -> BoxFuture<'a, Result<ResolvedAccount, RailError>>;
}
