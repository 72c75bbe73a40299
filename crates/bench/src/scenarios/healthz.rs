//! The HTTP ceiling: `GET /healthz` answers without touching the database, so its rate is what
//! this server, client and machine can do with no gateway work at all.

use crate::client::{Auth, Session};
use crate::load::Flow;

pub struct Healthz;

impl Flow for Healthz {
    async fn run(&self, session: &mut Session, _n: u64) -> Result<(), String> {
        session.get("GET /healthz", "/healthz", &Auth::None).await?;
        Ok(())
    }
}
