//! Payouts from one wallet, as an integrator makes them: initiate (v2), read the OTP texted to
//! the business's OTP phone from the sandbox outbox, process, then poll the transaction until
//! the dispatcher has been paid by the bank.

use super::Context;
use crate::client::{otp_in, text, Session};
use crate::load::Flow;
use crate::setup::{Business, OTP_PHONE};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Polling for `successful`: starts fast, backs off to a ceiling so a slow dispatcher is not
/// drowned in reads, and gives up after the limit (an error: the payout never settled).
const POLL_FIRST: Duration = Duration::from_millis(20);
const POLL_MAX: Duration = Duration::from_millis(200);
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

/// A sandbox account that the bank pays normally (no magic suffix), at a known bank.
const RECIPIENT_ACCOUNT: &str = "0123456789";
const RECIPIENT_BANK: &str = "058";

pub struct Payouts {
    business: Arc<Business>,
    sms_path: String,
}

impl Payouts {
    pub fn new(context: &Context) -> Payouts {
        Payouts {
            business: context.business.clone(),
            sms_path: format!(
                "/sandbox/v1/sms?phone={}&limit={}",
                OTP_PHONE.replace('+', "%2B"),
                context.sms_window
            ),
        }
    }

    /// The OTP in the SMS that names `reference`, among the newest ones to the OTP phone.
    async fn otp_for(&self, session: &mut Session, reference: &str) -> Result<String, String> {
        let answer = session
            .get("GET /sandbox/v1/sms", &self.sms_path, &self.business.duplo)
            .await?;
        let messages = answer.pointer("/data").and_then(Value::as_array);
        messages
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("body").and_then(Value::as_str))
            .find(|body| body.contains(reference))
            .and_then(otp_in)
            .map(str::to_owned)
            .ok_or_else(|| {
                format!(
                    "no OTP for payout {reference} among the newest SMS ({})",
                    self.sms_path
                )
            })
    }
}

impl Flow for Payouts {
    async fn run(&self, session: &mut Session, _n: u64) -> Result<(), String> {
        let business = &self.business;
        let initiated = session
            .post(
                "POST /v1/wallets/v2/transfer",
                "/v1/wallets/v2/transfer",
                &business.duplo,
                json!({
                    "business_id": business.id,
                    "recipient_bank_code": RECIPIENT_BANK,
                    "recipient_account_number": RECIPIENT_ACCOUNT,
                    "amount": 200,
                    "description": "Bench payout",
                }),
            )
            .await?;
        let reference = text(&initiated, "/data/transaction_ref", "payout")?.to_owned();
        let otp = self.otp_for(session, &reference).await?;
        session
            .post(
                "POST /v1/wallets/v2/process-transfer",
                "/v1/wallets/v2/process-transfer",
                &business.duplo,
                json!({ "business_id": business.id, "transaction_ref": reference, "otp": otp }),
            )
            .await?;
        let path = format!(
            "/v1/wallets/transactions/{reference}?business_id={}",
            business.id
        );
        let deadline = Instant::now() + SETTLE_LIMIT;
        let mut wait = POLL_FIRST;
        loop {
            let answer = session
                .get(
                    "GET /v1/wallets/transactions/:transaction_ref",
                    &path,
                    &business.duplo,
                )
                .await?;
            match text(&answer, "/data/status", "payout")? {
                "successful" => return Ok(()),
                "pending" if Instant::now() < deadline => {}
                "pending" => {
                    return Err(format!(
                        "payout {reference} still pending after {SETTLE_LIMIT:?}"
                    ))
                }
                other => return Err(format!("payout {reference} ended {other}")),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(POLL_MAX);
        }
    }
}
