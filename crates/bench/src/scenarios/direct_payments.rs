//! Beqelal direct payments into one ETB wallet: request from a Kacha wallet, read the OTP the
//! institution texted to the customer from the sandbox outbox, authorize.

use super::Context;
use crate::client::{otp_in, text, Session};
use crate::load::Flow;
use crate::setup::Business;
use serde_json::{json, Value};
use std::sync::Arc;

/// Kacha DFS, an OTP-authorized Ethiopian wallet whose account number is the customer's phone.
const KACHA: u64 = 404050;

pub struct DirectPayments {
    business: Arc<Business>,
}

impl DirectPayments {
    pub fn new(context: &Context) -> DirectPayments {
        DirectPayments {
            business: context.business.clone(),
        }
    }
}

/// The two-digit endings the sandbox treats as ordinary (00 and 91-93 provoke failures).
const ORDINARY_ENDINGS: u64 = 96;

/// A distinct Kacha account (`2519` and eight digits) for flow `n`, so each flow's OTP is the
/// newest SMS to its own phone and never another flow's.
fn customer_account(n: u64) -> String {
    let ending = n % ORDINARY_ENDINGS;
    let ending = if ending < 90 { ending + 1 } else { ending + 4 };
    format!("2519{:06}{ending:02}", (n / ORDINARY_ENDINGS) % 1_000_000)
}

impl Flow for DirectPayments {
    async fn run(&self, session: &mut Session, n: u64) -> Result<(), String> {
        let business = &self.business;
        let account = customer_account(n);
        let requested = session
            .post(
                "POST /api/v1/payment/request",
                "/api/v1/payment/request",
                &business.beqelal,
                json!({ "bank": KACHA, "account": account, "amount": 100, "trace_number": format!("bench-{n}") }),
            )
            .await?;
        let reference = text(&requested, "/id", "direct payment")?.to_owned();
        let sms = session
            .get(
                "GET /sandbox/v1/sms",
                &format!("/sandbox/v1/sms?phone=%2B{account}&limit=1"),
                &business.duplo,
            )
            .await?;
        let otp: u32 = sms
            .pointer("/data/0/body")
            .and_then(Value::as_str)
            .and_then(otp_in)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("no OTP texted to +{account}: {sms}"))?;
        let authorized = session
            .post(
                "POST /api/v1/payment/authorize",
                "/api/v1/payment/authorize",
                &business.beqelal,
                json!({ "reference": reference, "otp": otp }),
            )
            .await?;
        match text(&authorized, "/status", "authorize")? {
            "PROCESSED" => Ok(()),
            other => Err(format!(
                "direct payment {reference} was {other}: {authorized}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_distinct_valid_and_never_magic() {
        let accounts: Vec<String> = (0..1000).map(customer_account).collect();
        let mut unique = accounts.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), accounts.len());
        for account in &accounts {
            assert_eq!(account.len(), 12, "{account}");
            assert!(account.starts_with("2519"));
            assert!(
                !["00", "91", "92", "93"]
                    .iter()
                    .any(|s| account.ends_with(s)),
                "{account}"
            );
        }
    }
}
