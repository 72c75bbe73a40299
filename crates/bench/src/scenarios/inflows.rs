//! Inflows into one wallet: even flows create a checkout and pay its exact amount; odd flows
//! pay a permanent virtual account (from a pool made at setup). Both credit the NGN wallet.

use super::{create_checkout, pay_in, Context};
use crate::client::{text, Session};
use crate::load::Flow;
use crate::metrics::Recorder;
use crate::setup::Business;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

pub struct Inflows {
    business: Arc<Business>,
    virtual_accounts: Vec<String>,
}

impl Inflows {
    pub async fn prepare(context: &Context) -> Result<Inflows, String> {
        let business = context.business.clone();
        let mut session = Session::new(
            context.api.clone(),
            Arc::new(Recorder::default()),
            Instant::now(),
        );
        let mut virtual_accounts = Vec::with_capacity(context.pool_size);
        for n in 0..context.pool_size {
            let answer = session
                .post(
                    "POST /v1/virtual-accounts",
                    "/v1/virtual-accounts",
                    &business.duplo,
                    json!({
                        "business_id": business.id,
                        "first_name": "Bench",
                        "last_name": format!("Customer{n}"),
                    }),
                )
                .await?;
            virtual_accounts
                .push(text(&answer, "/data/account_number", "virtual account")?.to_owned());
        }
        Ok(Inflows {
            business,
            virtual_accounts,
        })
    }
}

impl Flow for Inflows {
    async fn run(&self, session: &mut Session, n: u64) -> Result<(), String> {
        if n % 2 == 0 {
            let (_, account, amount) = create_checkout(session, &self.business).await?;
            pay_in(session, &self.business, &account, &amount).await?;
        } else {
            let index = (n / 2) as usize % self.virtual_accounts.len();
            let account = &self.virtual_accounts[index];
            pay_in(session, &self.business, account, &Value::from(2500)).await?;
        }
        Ok(())
    }
}
