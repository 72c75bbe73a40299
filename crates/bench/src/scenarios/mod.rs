//! The scenarios: one file per flow, each with the setup it needs (outside the measurement)
//! and the calls of one flow (inside it).

mod direct_payments;
mod healthz;
mod inflows;
mod payouts;
mod reads;

use crate::client::{text, Api, Session};
use crate::load::{self, Mode};
use crate::metrics::Recorder;
use crate::setup::Business;
use clap::ValueEnum;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `GET /healthz`: the HTTP ceiling, the same server doing no work.
    Healthz,
    /// Sandbox bank transfers of the exact amount into checkouts and virtual accounts.
    Inflows,
    /// Duplo v2 payouts: initiate, OTP from the outbox, process, wait until successful.
    Payouts,
    /// Beqelal direct payments: request, OTP from the outbox, authorize.
    DirectPayments,
    /// verify-transaction and transaction detail of paid checkouts.
    Reads,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Healthz => "healthz",
            Kind::Inflows => "inflows",
            Kind::Payouts => "payouts",
            Kind::DirectPayments => "direct-payments",
            Kind::Reads => "reads",
        }
    }
}

/// What every scenario's setup and flows share.
pub struct Context {
    pub api: Arc<Api>,
    pub business: Arc<Business>,
    /// How many objects a setup pool holds (checkouts to read, virtual accounts to pay).
    pub pool_size: usize,
    /// How many newest SMS a payout flow reads to find its own OTP: other flows' OTPs go to the
    /// same phone, so it must cover every payout initiated while this one waits.
    pub sms_window: usize,
}

/// A scenario made ready to run: its setup is done, outside the measurement.
pub enum Prepared {
    Healthz(Arc<healthz::Healthz>),
    Inflows(Arc<inflows::Inflows>),
    Payouts(Arc<payouts::Payouts>),
    DirectPayments(Arc<direct_payments::DirectPayments>),
    Reads(Arc<reads::Reads>),
}

pub async fn prepare(kind: Kind, context: &Context) -> Result<Prepared, String> {
    Ok(match kind {
        Kind::Healthz => Prepared::Healthz(Arc::new(healthz::Healthz)),
        Kind::Inflows => Prepared::Inflows(Arc::new(inflows::Inflows::prepare(context).await?)),
        Kind::Payouts => Prepared::Payouts(Arc::new(payouts::Payouts::new(context))),
        Kind::DirectPayments => {
            Prepared::DirectPayments(Arc::new(direct_payments::DirectPayments::new(context)))
        }
        Kind::Reads => Prepared::Reads(Arc::new(reads::Reads::prepare(context).await?)),
    })
}

impl Prepared {
    /// Runs the scenario under `mode` for `duration`; the time the rates are computed over.
    pub async fn run(
        &self,
        api: Arc<Api>,
        recorder: Arc<Recorder>,
        mode: Mode,
        duration: Duration,
    ) -> Duration {
        match self {
            Prepared::Healthz(f) => load::run(f.clone(), api, recorder, mode, duration).await,
            Prepared::Inflows(f) => load::run(f.clone(), api, recorder, mode, duration).await,
            Prepared::Payouts(f) => load::run(f.clone(), api, recorder, mode, duration).await,
            Prepared::DirectPayments(f) => {
                load::run(f.clone(), api, recorder, mode, duration).await
            }
            Prepared::Reads(f) => load::run(f.clone(), api, recorder, mode, duration).await,
        }
    }
}

/// Pays `amount` (as the API gave it, so exactly) into `account_number` through the sandbox
/// bank; the inflow's transaction reference. Any outcome but credited is an error.
async fn pay_in(
    session: &mut Session,
    business: &Business,
    account_number: &str,
    amount: &serde_json::Value,
) -> Result<String, String> {
    let answer = session
        .post(
            "POST /sandbox/v1/bank/transfers",
            "/sandbox/v1/bank/transfers",
            &business.duplo,
            serde_json::json!({
                "account_number": account_number,
                "amount": amount,
                "source_bank_code": "058",
                "source_account_number": "0690000031",
                "source_account_name": "Bench Customer",
            }),
        )
        .await?;
    let status = text(&answer, "/data/status", "inflow")?;
    if status != "successful" {
        return Err(format!(
            "inflow into {account_number} was {status}: {answer}"
        ));
    }
    Ok(text(&answer, "/data/transaction_ref", "inflow")?.to_owned())
}

/// Creates a checkout for ₦1,000 (the customer bears the fee, so the amount to pay is not
/// round); its reference, account number and the exact amount to pay.
async fn create_checkout(
    session: &mut Session,
    business: &Business,
) -> Result<(String, String, serde_json::Value), String> {
    let answer = session
        .post(
            "POST /v1/checkout/",
            "/v1/checkout/",
            &business.duplo,
            serde_json::json!({
                "business_id": business.id,
                "amount": 1000,
                "fee_bearer": "customer",
                "customer_email": "customer@example.com",
            }),
        )
        .await?;
    let reference = text(&answer, "/data/checkout_reference", "checkout")?.to_owned();
    let account = text(&answer, "/data/account_number", "checkout")?.to_owned();
    let amount = answer
        .pointer("/data/amount")
        .cloned()
        .ok_or_else(|| format!("checkout: no amount in {answer}"))?;
    Ok((reference, account, amount))
}
