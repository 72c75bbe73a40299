//! Who is making a change, for the audit log. Every service that changes a business's
//! preferences, credentials or team takes an [`Actor`] and records it in the same transaction.

use super::Services;
use crate::store::audit::{self, AuditEntry};
use crate::store::{StoreError, Tx};
use ducat_core::ids::BusinessId;
use std::net::IpAddr;

#[derive(Debug, Clone)]
pub enum Actor {
    /// Someone with shell access to the server, through `ducat …`.
    Cli,
    /// An API call, named by the credential that made it.
    ApiKey { credential_id: String, ip: IpAddr },
    /// A signed-in dashboard user.
    User {
        user_id: String,
        email: String,
        ip: IpAddr,
    },
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Cli => "command line".to_owned(),
            Actor::ApiKey { credential_id, .. } => format!("API credential {credential_id}"),
            Actor::User { email, .. } => email.clone(),
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Actor::Cli => None,
            Actor::ApiKey { ip, .. } | Actor::User { ip, .. } => Some(*ip),
        }
    }
}

impl Services {
    pub(crate) async fn audit(
        &self,
        tx: &mut Tx,
        business: &BusinessId,
        actor: &Actor,
        action: &str,
        detail: impl Into<String>,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        audit::append(
            tx,
            business,
            &AuditEntry {
                id: crate::store::time_ordered_id("aud_", now),
                actor: actor.label(),
                action: action.to_owned(),
                detail: detail.into(),
                ip: actor.ip().map(|ip| ip.to_string()),
                created_at: now,
            },
        )
        .await
    }
}
