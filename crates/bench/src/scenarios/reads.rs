//! Reads: the two documents an integrator fetches after a payment, verify-transaction of a
//! paid checkout and the inflow's transaction detail, over a pool of checkouts paid at setup.

use super::{create_checkout, pay_in, Context};
use crate::client::Session;
use crate::load::Flow;
use crate::metrics::Recorder;
use crate::setup::Business;
use std::sync::Arc;
use std::time::Instant;

pub struct Reads {
    business: Arc<Business>,
    /// (checkout reference, the paying inflow's transaction reference)
    paid: Vec<(String, String)>,
}

impl Reads {
    pub async fn prepare(context: &Context) -> Result<Reads, String> {
        let business = context.business.clone();
        let mut session = Session::new(
            context.api.clone(),
            Arc::new(Recorder::default()),
            Instant::now(),
        );
        let mut paid = Vec::with_capacity(context.pool_size);
        for _ in 0..context.pool_size {
            let (checkout, account, amount) = create_checkout(&mut session, &business).await?;
            let transaction = pay_in(&mut session, &business, &account, &amount).await?;
            paid.push((checkout, transaction));
        }
        Ok(Reads { business, paid })
    }
}

impl Flow for Reads {
    async fn run(&self, session: &mut Session, n: u64) -> Result<(), String> {
        let (checkout, transaction) = &self.paid[n as usize % self.paid.len()];
        let business = &self.business;
        let verified = session
            .get(
                "GET /v1/checkout/verify-transaction/:checkout_reference",
                &format!(
                    "/v1/checkout/verify-transaction/{checkout}?business_id={}",
                    business.id
                ),
                &business.duplo,
            )
            .await?;
        if verified
            .pointer("/data/checkout_transaction_details/status")
            .is_none()
        {
            return Err(format!(
                "verify-transaction {checkout}: unexpected document {verified}"
            ));
        }
        session
            .get(
                "GET /v1/wallets/transactions/:transaction_ref",
                &format!(
                    "/v1/wallets/transactions/{transaction}?business_id={}",
                    business.id
                ),
                &business.duplo,
            )
            .await?;
        Ok(())
    }
}
