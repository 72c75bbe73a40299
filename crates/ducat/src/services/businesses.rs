//! Creating businesses with their credentials and wallets, and changing their preferences.

use super::audit::Actor;
use super::{AppError, Services};
use crate::secrets::{self, PlainApiKey};
use crate::store::businesses::{
    self, BusinessRecord, CredentialKind, CredentialRecord, Mode, PreferenceChanges, WalletRecord,
};
use crate::store::{ledger, StoreError};
use ducat_core::ids::{BusinessId, WalletRef};
use ducat_core::money::Currency;
use ducat_core::phone::PhoneNumber;
use rand::rngs::OsRng;
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct NewBusiness {
    pub name: String,
    pub email: Option<String>,
    pub otp_phone: Option<String>,
    pub mode: Mode,
}

#[derive(Debug, Clone, Serialize)]
pub struct WalletSummary {
    pub wallet_ref: String,
    pub currency: String,
    pub bank_name: String,
    pub account_number: String,
}

impl From<&WalletRecord> for WalletSummary {
    fn from(wallet: &WalletRecord) -> Self {
        WalletSummary {
            wallet_ref: wallet.wallet_ref.to_string(),
            currency: wallet.currency.code().to_owned(),
            bank_name: wallet.bank_name.clone(),
            account_number: wallet.account_number.clone(),
        }
    }
}

/// Everything a new business needs to start, shown exactly once: only hashes are kept.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedBusiness {
    pub business_id: String,
    pub name: String,
    pub mode: &'static str,
    pub secret_key: String,
    pub app_id: String,
    pub api_key: String,
    pub webhook_secret: String,
    pub verify_hash: String,
    pub dashboard_login: String,
    pub dashboard_password: String,
    pub wallets: Vec<WalletSummary>,
}

/// A Beqelal app-id and api-key pair, or a Duplo secret key, freshly issued.
pub struct IssuedCredential {
    pub record: CredentialRecord,
    pub app_id: Option<String>,
    pub key: PlainApiKey,
}

fn key_prefix(kind: CredentialKind, mode: Mode) -> &'static str {
    match (kind, mode) {
        (CredentialKind::DuploSecret, Mode::Test) => "dp_test_",
        (CredentialKind::DuploSecret, Mode::Live) => "dp_live_",
        (CredentialKind::Beqelal, Mode::Test) => "bq_test_",
        (CredentialKind::Beqelal, Mode::Live) => "bq_live_",
    }
}

pub fn validate_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(AppError::invalid(
            "name",
            "must be between 1 and 120 characters",
        ));
    }
    Ok(name.to_owned())
}

pub fn validate_email(email: &str) -> Result<String, AppError> {
    let email = email.trim();
    let well_formed = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if well_formed {
        Ok(email.to_ascii_lowercase())
    } else {
        Err(AppError::invalid(
            "email",
            "must be an email address like owner@example.com",
        ))
    }
}

pub fn validate_phone(field: &str, phone: &str) -> Result<PhoneNumber, AppError> {
    PhoneNumber::parse(phone.trim()).map_err(|e| AppError::invalid(field, e.to_string()))
}

pub fn validate_webhook_url(url: &str) -> Result<String, AppError> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| AppError::invalid("webhook_url", "must be an http:// or https:// URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || url.len() > 2048
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AppError::invalid(
            "webhook_url",
            "must be an http:// or https:// URL with a host",
        ));
    }
    Ok(url.to_owned())
}

impl Services {
    pub async fn create_business(&self, new: NewBusiness) -> Result<CreatedBusiness, AppError> {
        let name = validate_name(&new.name)?;
        let email = new.email.as_deref().map(validate_email).transpose()?;
        let otp_phone = new
            .otp_phone
            .as_deref()
            .map(|p| validate_phone("otp_phone", p))
            .transpose()?;
        let now = self.now_ms();
        let business_id = BusinessId::generate(&mut OsRng);
        let webhook_secret = secrets::generate_webhook_secret();
        let verify_hash = secrets::random_secret(32);
        let dashboard_login = email
            .clone()
            .unwrap_or_else(|| format!("owner+{}@ducat.local", &business_id.as_str()[..8]));
        let dashboard_password = secrets::random_secret(20);

        // Live wallets get their funding accounts from the bank, before the transaction opens.
        let mut from_bank = Vec::new();
        for currency in Currency::ALL {
            let wallet_ref = WalletRef::generate(&mut OsRng);
            let opened = self
                .account_from_bank(
                    new.mode,
                    wallet_ref.as_str(),
                    currency,
                    &name,
                    crate::rail::notifications::AccountKind::Wallet,
                )
                .await?;
            from_bank.push((currency, wallet_ref, opened));
        }
        let mut tx = self.store.begin().await?;
        businesses::insert_business(
            &mut tx,
            &BusinessRecord {
                id: business_id.clone(),
                name: name.clone(),
                email: email.clone(),
                mode: new.mode,
                otp_phone: otp_phone.map(|p| p.to_string()),
                webhook_url: None,
                webhook_secret_enc: self.keys.encrypt(&webhook_secret),
                verify_hash: verify_hash.clone(),
                ip_allowlist: String::new(),
                payout_fees: ducat_core::fees::DEFAULT_PAYOUT_FEES,
                payout_otp_enabled: true,
                collection_fees: ducat_core::fees::DEFAULT_COLLECTION_FEES,
                created_at: now,
                webhook_previous_secret_enc: None,
                webhook_previous_secret_expires_at: None,
                webhook_disabled_at: None,
                webhook_disabled_reason: None,
                webhook_disabled_url: None,
            },
        )
        .await?;
        let secret = self
            .issue_credential_in(&mut tx, &business_id, CredentialKind::DuploSecret, new.mode)
            .await?;
        let pair = self
            .issue_credential_in(&mut tx, &business_id, CredentialKind::Beqelal, new.mode)
            .await?;
        businesses::insert_dashboard_user(
            &mut tx,
            &format!("usr_{}", secrets::random_secret(16)),
            &business_id,
            &dashboard_login,
            &secrets::hash_password(&dashboard_password),
            "owner",
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::Duplicate { .. } => AppError::Conflict(format!(
                "a dashboard user with the email {dashboard_login} already exists"
            )),
            other => other.into(),
        })?;
        let mut wallets = Vec::new();
        for (currency, wallet_ref, opened) in from_bank {
            wallets.push(
                self.open_wallet(
                    &mut tx,
                    &business_id,
                    &name,
                    (currency, wallet_ref, opened),
                    now,
                )
                .await?,
            );
        }
        tx.commit().await?;

        Ok(CreatedBusiness {
            business_id: business_id.to_string(),
            name,
            mode: new.mode.as_str(),
            secret_key: secret.key.expose().to_owned(),
            app_id: pair.app_id.unwrap_or_default(),
            api_key: pair.key.expose().to_owned(),
            webhook_secret,
            verify_hash,
            dashboard_login,
            dashboard_password,
            wallets: wallets.iter().map(WalletSummary::from).collect(),
        })
    }

    /// Opens a wallet with its funding account at the house bank of its currency.
    async fn open_wallet(
        &self,
        tx: &mut crate::store::Tx,
        business_id: &BusinessId,
        business_name: &str,
        (currency, wallet_ref, from_bank): (
            Currency,
            WalletRef,
            Option<crate::rail::notifications::OpenedAccount>,
        ),
        now: i64,
    ) -> Result<WalletRecord, AppError> {
        let (bank_code, bank_name, account_number) =
            self.account_or_allocate(tx, currency, from_bank).await?;
        let wallet = WalletRecord {
            wallet_ref,
            business_id: business_id.clone(),
            currency,
            bank_code,
            bank_name,
            account_number,
            account_name: business_name.to_owned(),
            created_at: now,
        };
        businesses::insert_wallet(tx, &wallet).await?;
        ledger::create_wallet_accounts(tx, &wallet.wallet_ref, currency).await?;
        Ok(wallet)
    }

    /// Issues a new credential in the business's own mode: a test business has only test keys
    /// and a live one only live keys, so no key can reach across modes.
    pub async fn issue_credential(
        &self,
        business_id: &BusinessId,
        actor: &Actor,
        kind: CredentialKind,
    ) -> Result<IssuedCredential, AppError> {
        let business = self.business(business_id).await?;
        let mut tx = self.store.begin().await?;
        let issued = self
            .issue_credential_in(&mut tx, business_id, kind, business.mode)
            .await?;
        let detail = match &issued.app_id {
            Some(app_id) => format!(
                "{} app-id {app_id}, key {}…",
                kind.as_str(),
                issued.record.key_prefix
            ),
            None => format!("{} key {}…", kind.as_str(), issued.record.key_prefix),
        };
        self.audit(&mut tx, business_id, actor, "credential.created", detail)
            .await?;
        tx.commit().await?;
        Ok(issued)
    }

    async fn issue_credential_in(
        &self,
        tx: &mut crate::store::Tx,
        business_id: &BusinessId,
        kind: CredentialKind,
        mode: Mode,
    ) -> Result<IssuedCredential, AppError> {
        let key = PlainApiKey::generate(key_prefix(kind, mode));
        let app_id = match kind {
            CredentialKind::Beqelal => Some(format!("app_{}", secrets::random_secret(16))),
            CredentialKind::DuploSecret => None,
        };
        let record = CredentialRecord {
            id: format!("cred_{}", secrets::random_secret(16)),
            business_id: business_id.clone(),
            kind,
            mode,
            app_id: app_id.clone(),
            key_prefix: key.prefix(),
            created_at: self.now_ms(),
            last_used_at: None,
            revoked_at: None,
        };
        businesses::insert_credential(tx, &record, &self.keys.hash_credential(&key)).await?;
        Ok(IssuedCredential {
            record,
            app_id,
            key,
        })
    }

    pub async fn revoke_credential(
        &self,
        business_id: &BusinessId,
        actor: &Actor,
        credential_id: &str,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        let revoked =
            businesses::revoke_credential(&mut tx, business_id, credential_id, self.now_ms())
                .await?;
        if revoked {
            self.audit(
                &mut tx,
                business_id,
                actor,
                "credential.revoked",
                format!("credential {credential_id}"),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        } else {
            Err(AppError::NotFound(format!(
                "no active credential {credential_id}"
            )))
        }
    }

    /// Validates and applies preference changes; nothing changes unless all are valid.
    pub async fn set_preferences(
        &self,
        business_id: &BusinessId,
        actor: &Actor,
        changes: PreferenceInput,
    ) -> Result<(), AppError> {
        let mut stored = PreferenceChanges::default();
        if let Some(phone) = changes.otp_phone {
            stored.otp_phone = Some(match phone {
                Some(phone) => Some(validate_phone("otp_phone", &phone)?.to_string()),
                None => None,
            });
        }
        if let Some(list) = changes.ip_allowlist {
            let nets = crate::ip::parse_cidr_list(&list)
                .map_err(|e| AppError::invalid("ip_allowlist", e))?;
            stored.ip_allowlist = Some(crate::ip::format_cidr_list(&nets));
        }
        if let Some(url) = changes.webhook_url {
            stored.webhook_url = Some(url.as_deref().map(validate_webhook_url).transpose()?);
        }
        if let Some(hash) = changes.verify_hash {
            let hash = hash.trim();
            if hash.is_empty() || hash.len() > 256 {
                return Err(AppError::invalid(
                    "verify_hash",
                    "must be between 1 and 256 characters",
                ));
            }
            stored.verify_hash = Some(hash.to_owned());
        }
        if let Some(fees) = changes.payout_fees {
            let valid = fees.flat.get() >= 0
                && fees.basis_points <= 10_000
                && fees.cap.is_none_or(|cap| cap.get() >= 0);
            if !valid {
                return Err(AppError::invalid(
                    "payout_fees",
                    "must have a non-negative flat part and cap, and at most 100 %",
                ));
            }
            stored.payout_fees = Some(fees);
        }
        stored.payout_otp_enabled = changes.payout_otp_enabled;
        let mut tx = self.store.begin().await?;
        let found =
            businesses::update_preferences(&mut tx, business_id, &stored, self.now_ms()).await?;
        if !found {
            return Err(AppError::NotFound(format!("no business {business_id}")));
        }
        for (action, detail) in describe_preference_changes(&stored) {
            self.audit(&mut tx, business_id, actor, action, detail)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Issues a new `whsec_` webhook secret and returns it (shown this once). The old one keeps
    /// signing deliveries, next to the new one, for `overlap_secs`, so a receiver can switch to
    /// the new secret at its own pace without rejecting a single delivery.
    pub async fn rotate_webhook_secret(
        &self,
        business_id: &BusinessId,
        actor: &Actor,
        overlap_secs: u64,
    ) -> Result<RotatedSecret, AppError> {
        let overlap_ms = i64::try_from(overlap_secs)
            .ok()
            .and_then(|s| s.checked_mul(1000))
            .ok_or_else(|| AppError::invalid("overlap_secs", "is too large"))?;
        let now = self.now_ms();
        let previous_expires_at = now.saturating_add(overlap_ms);
        let secret = secrets::generate_webhook_secret();
        let mut tx = self.store.begin().await?;
        let found = businesses::rotate_webhook_secret(
            &mut tx,
            business_id,
            &self.keys.encrypt(&secret),
            previous_expires_at,
            now,
        )
        .await?;
        if !found {
            return Err(AppError::NotFound(format!("no business {business_id}")));
        }
        self.audit(
            &mut tx,
            business_id,
            actor,
            "webhook_secret.rotated",
            format!(
                "the previous secret signs too until {}",
                crate::clock::iso_millis(previous_expires_at)
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(RotatedSecret {
            business_id: business_id.to_string(),
            webhook_secret: secret,
            previous_secret_valid_until: crate::clock::iso_millis(previous_expires_at),
        })
    }

    pub async fn business(&self, business_id: &BusinessId) -> Result<BusinessRecord, AppError> {
        businesses::get_business(&self.store, business_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no business {business_id}")))
    }
}

/// One audit line per preference that changed, saying what it became.
fn describe_preference_changes(changes: &PreferenceChanges) -> Vec<(&'static str, String)> {
    let or_none = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".to_owned());
    let mut lines = Vec::new();
    if let Some(phone) = &changes.otp_phone {
        lines.push((
            "otp_phone.changed",
            format!("OTP phone set to {}", or_none(phone)),
        ));
    }
    if let Some(list) = &changes.ip_allowlist {
        let list = if list.is_empty() {
            "any address".to_owned()
        } else {
            list.clone()
        };
        lines.push((
            "ip_allowlist.changed",
            format!("IP allowlist set to {list}"),
        ));
    }
    if let Some(url) = &changes.webhook_url {
        lines.push((
            "webhook_url.changed",
            format!("webhook URL set to {}", or_none(url)),
        ));
    }
    if changes.verify_hash.is_some() {
        lines.push(("verify_hash.changed", "verify_hash replaced".to_owned()));
    }
    if let Some(fees) = &changes.payout_fees {
        lines.push((
            "payout_fees.changed",
            format!("payout fees set to {fees:?}"),
        ));
    }
    if let Some(enabled) = changes.payout_otp_enabled {
        lines.push((
            "payout_otp.changed",
            format!(
                "v1 payout OTP {}",
                if enabled { "required" } else { "not required" }
            ),
        ));
    }
    lines
}

/// A freshly rotated webhook secret, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct RotatedSecret {
    pub business_id: String,
    pub webhook_secret: String,
    /// Until then deliveries carry the previous secret's signature too.
    pub previous_secret_valid_until: String,
}

/// Preference changes as requested: `None` leaves a preference alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct PreferenceInput {
    pub otp_phone: Option<Option<String>>,
    pub ip_allowlist: Option<String>,
    pub webhook_url: Option<Option<String>>,
    pub verify_hash: Option<String>,
    pub payout_fees: Option<ducat_core::fees::FeeSchedule>,
    pub payout_otp_enabled: Option<bool>,
}
