//! ducat's functional core: plain data and pure functions, no IO, no async, no database types.
//!
//! Everything that decides what happens to money lives here, so it can be tested exhaustively
//! without a server: amounts, identifiers, the ledger's postings and invariants, the sandbox
//! bank directory, and the state machines of each transaction kind.

pub mod banks;
pub mod checkout;
pub mod direct_payment;
pub mod fees;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod otp;
pub mod payout;
pub mod phone;
pub mod reconcile;
pub mod roles;
pub mod sign_in;
pub mod throttle;
