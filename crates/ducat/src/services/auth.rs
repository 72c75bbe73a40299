//! Who is calling: credentials of either face resolved to a business, its mode, and whether the
//! caller's address is allowed.

use super::{AppError, Services};
use crate::secrets::PlainApiKey;
use crate::store::businesses::{self, BusinessRecord, CredentialKind, Mode};
use ducat_core::ids::BusinessId;
use std::net::IpAddr;

/// A request's verified identity. Every query a handler makes is scoped by `business_id`.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub business_id: BusinessId,
    pub business_name: String,
    pub mode: Mode,
    pub credential_id: String,
}

impl Authenticated {
    /// The `business_id` a Duplo request names must be the key's own.
    pub fn require_business(&self, claimed: &str) -> Result<(), AppError> {
        if claimed == self.business_id.as_str() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "business_id does not belong to the API key used".to_owned(),
            ))
        }
    }
}

impl Services {
    pub async fn authenticate_duplo(
        &self,
        secret_key: &str,
        client: IpAddr,
    ) -> Result<Authenticated, AppError> {
        if !(secret_key.starts_with("dp_test_") || secret_key.starts_with("dp_live_")) {
            return Err(AppError::Unauthenticated(
                "the secret key is malformed: expected dp_test_… or dp_live_…".to_owned(),
            ));
        }
        self.authenticate(CredentialKind::DuploSecret, None, secret_key, client)
            .await
    }

    pub async fn authenticate_beqelal(
        &self,
        app_id: &str,
        api_key: &str,
        client: IpAddr,
    ) -> Result<Authenticated, AppError> {
        self.authenticate(CredentialKind::Beqelal, Some(app_id), api_key, client)
            .await
    }

    async fn authenticate(
        &self,
        kind: CredentialKind,
        app_id: Option<&str>,
        presented: &str,
        client: IpAddr,
    ) -> Result<Authenticated, AppError> {
        let unknown = || AppError::Unauthenticated("invalid API credentials".to_owned());
        let hash = self
            .keys
            .hash_credential(&PlainApiKey::from_presented(presented));
        let generation = businesses::credentials_generation(&self.store).await?;
        let (credential, business) = match self.credentials.get(&hash, &generation) {
            Some(cached) => cached,
            None => {
                let found = businesses::find_credential(&self.store, &hash)
                    .await?
                    .ok_or_else(unknown)?;
                self.credentials
                    .put(&hash, generation, found.0.clone(), found.1.clone());
                found
            }
        };
        if credential.kind != kind || credential.app_id.as_deref() != app_id {
            return Err(unknown());
        }
        if credential.revoked_at.is_some() {
            return Err(AppError::Unauthenticated(
                "this API key has been revoked".to_owned(),
            ));
        }
        check_ip(&business, client)?;
        let now = self.now_ms();
        if credential.last_used_at.is_none_or(|at| at < now - 60_000) {
            businesses::touch_credential(&self.store, &credential.id, now).await?;
            self.credentials.touched(&hash, now);
        }
        Ok(Authenticated {
            business_id: business.id,
            business_name: business.name,
            mode: credential.mode,
            credential_id: credential.id,
        })
    }
}

fn check_ip(business: &BusinessRecord, client: IpAddr) -> Result<(), AppError> {
    // Stored lists were validated when set; an unparsable one fails closed.
    let allowlist = crate::ip::parse_cidr_list(&business.ip_allowlist)
        .map_err(|_| AppError::IpNotAllowed(client))?;
    if crate::ip::allowed(&allowlist, client) {
        Ok(())
    } else {
        Err(AppError::IpNotAllowed(client))
    }
}
