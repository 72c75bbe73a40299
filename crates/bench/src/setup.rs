//! The one business every scenario of an engine run works on: created with the CLI as an
//! operator would, then funded through the sandbox bank.

use crate::client::{Api, Auth};
use crate::server::Ducat;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

/// The phone the business's payout OTPs are texted to.
pub const OTP_PHONE: &str = "+2348030000001";

/// Enough naira that no run drains the wallet: ₦1 billion covers five million ₦200 payouts.
const FUNDING_NAIRA: &str = "1000000000";

pub struct Business {
    pub id: String,
    pub duplo: Auth,
    pub beqelal: Auth,
    pub ngn_account: String,
}

#[derive(Deserialize)]
struct Created {
    business_id: String,
    secret_key: String,
    app_id: String,
    api_key: String,
    wallets: Vec<Wallet>,
}

#[derive(Deserialize)]
struct Wallet {
    currency: String,
    account_number: String,
}

/// `ducat business create --name Bench --otp-phone … --json`.
pub async fn create_business(ducat: &Ducat) -> Result<Business, String> {
    let (code, stdout, stderr) = ducat
        .cli(&[
            "business",
            "create",
            "--name",
            "Bench",
            "--otp-phone",
            OTP_PHONE,
            "--json",
        ])
        .await?;
    if code != 0 {
        return Err(format!(
            "ducat business create exited {code}: {stderr}{stdout}"
        ));
    }
    let created: Created = serde_json::from_str(&stdout).map_err(|e| {
        format!("ducat business create --json printed something else ({e}): {stdout}")
    })?;
    let ngn_account = created
        .wallets
        .iter()
        .find(|w| w.currency == "NGN")
        .map(|w| w.account_number.clone())
        .ok_or("the new business has no NGN wallet")?;
    Ok(Business {
        id: created.business_id,
        duplo: Auth::Duplo(created.secret_key),
        beqelal: Auth::Beqelal {
            app_id: created.app_id,
            api_key: created.api_key,
        },
        ngn_account,
    })
}

/// Sends the funding to the NGN wallet's account through the sandbox bank.
pub async fn fund(api: &Api, business: &Business) -> Result<(), String> {
    let answer = api
        .exchange(
            "funding",
            Method::POST,
            "/sandbox/v1/bank/transfers",
            &business.duplo,
            Some(&json!({ "account_number": business.ngn_account, "amount": FUNDING_NAIRA })),
        )
        .await?;
    match answer.pointer("/data/status").and_then(|s| s.as_str()) {
        Some("successful") => Ok(()),
        _ => Err(format!("funding the wallet was not credited: {answer}")),
    }
}
