//! Businesses, their credentials, dashboard users and wallets.

use super::{int, opt_int, opt_text, text, Autocommit, Store, StoreError, Tx};
use crate::secrets::HashedApiKey;
use ducat_core::fees::FeeSchedule;
use ducat_core::ids::{BusinessId, WalletRef};
use ducat_core::money::{Currency, MinorUnits};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Test mode uses the sandbox bank whatever the configuration; live mode the configured rail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    fn parse(text: &str) -> Result<Mode, StoreError> {
        match text {
            "test" => Ok(Mode::Test),
            "live" => Ok(Mode::Live),
            other => Err(StoreError::Corrupt(format!("unknown mode {other:?}"))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BusinessRecord {
    pub id: BusinessId,
    pub name: String,
    pub email: Option<String>,
    pub mode: Mode,
    pub otp_phone: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret_enc: String,
    pub verify_hash: String,
    pub ip_allowlist: String,
    pub payout_fees: FeeSchedule,
    pub payout_otp_enabled: bool,
    pub collection_fees: FeeSchedule,
    pub created_at: i64,
    /// The secret replaced by the last rotation, still signing deliveries until
    /// `webhook_previous_secret_expires_at` so receivers can switch without a gap.
    pub webhook_previous_secret_enc: Option<String>,
    pub webhook_previous_secret_expires_at: Option<i64>,
    /// Set when the receiver at `webhook_disabled_url` answered 410 Gone; cleared when a webhook
    /// URL is registered again.
    pub webhook_disabled_at: Option<i64>,
    pub webhook_disabled_reason: Option<String>,
    pub webhook_disabled_url: Option<String>,
}

impl BusinessRecord {
    /// The previous webhook secret (encrypted) while its overlap lasts at `now_ms`.
    pub fn previous_webhook_secret_at(&self, now_ms: i64) -> Option<&str> {
        match (
            &self.webhook_previous_secret_enc,
            self.webhook_previous_secret_expires_at,
        ) {
            (Some(secret), Some(until)) if now_ms < until => Some(secret),
            _ => None,
        }
    }
}

const BUSINESS_COLUMNS: &str = "b.id, b.name, b.email, b.mode, b.otp_phone, b.webhook_url, \
     b.webhook_secret_enc, b.verify_hash, b.ip_allowlist, b.payout_fee_flat, b.payout_fee_bps, \
     b.payout_fee_cap, b.payout_otp_enabled, b.collection_fee_flat, b.collection_fee_bps, \
     b.collection_fee_cap, b.created_at, b.webhook_previous_secret_enc, \
     b.webhook_previous_secret_expires_at, b.webhook_disabled_at, b.webhook_disabled_reason, \
     b.webhook_disabled_url";

fn business_from_row(row: &AnyRow) -> Result<BusinessRecord, StoreError> {
    Ok(BusinessRecord {
        id: BusinessId::from_trusted(text(row, "id")),
        name: text(row, "name"),
        email: opt_text(row, "email"),
        mode: Mode::parse(&text(row, "mode"))?,
        otp_phone: opt_text(row, "otp_phone"),
        webhook_url: opt_text(row, "webhook_url"),
        webhook_secret_enc: text(row, "webhook_secret_enc"),
        verify_hash: text(row, "verify_hash"),
        ip_allowlist: text(row, "ip_allowlist"),
        payout_fees: FeeSchedule {
            flat: MinorUnits(int(row, "payout_fee_flat")),
            basis_points: u32::try_from(int(row, "payout_fee_bps"))
                .map_err(|_| StoreError::Corrupt("payout_fee_bps out of range".into()))?,
            cap: opt_int(row, "payout_fee_cap").map(MinorUnits),
        },
        payout_otp_enabled: int(row, "payout_otp_enabled") == 1,
        collection_fees: FeeSchedule {
            flat: MinorUnits(int(row, "collection_fee_flat")),
            basis_points: u32::try_from(int(row, "collection_fee_bps"))
                .map_err(|_| StoreError::Corrupt("collection_fee_bps out of range".into()))?,
            cap: opt_int(row, "collection_fee_cap").map(MinorUnits),
        },
        created_at: int(row, "created_at"),
        webhook_previous_secret_enc: opt_text(row, "webhook_previous_secret_enc"),
        webhook_previous_secret_expires_at: opt_int(row, "webhook_previous_secret_expires_at"),
        webhook_disabled_at: opt_int(row, "webhook_disabled_at"),
        webhook_disabled_reason: opt_text(row, "webhook_disabled_reason"),
        webhook_disabled_url: opt_text(row, "webhook_disabled_url"),
    })
}

pub async fn insert_business(tx: &mut Tx, business: &BusinessRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO businesses (id, name, email, mode, otp_phone, webhook_url, webhook_secret_enc,
                                 verify_hash, ip_allowlist, created_at, updated_at, payout_fee_flat,
                                 payout_fee_bps, payout_fee_cap, payout_otp_enabled,
                                 collection_fee_flat, collection_fee_bps, collection_fee_cap)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(business.id.as_str())
    .bind(&business.name)
    .bind(&business.email)
    .bind(business.mode.as_str())
    .bind(&business.otp_phone)
    .bind(&business.webhook_url)
    .bind(&business.webhook_secret_enc)
    .bind(&business.verify_hash)
    .bind(&business.ip_allowlist)
    .bind(business.created_at)
    .bind(business.payout_fees.flat.get())
    .bind(i64::from(business.payout_fees.basis_points))
    .bind(business.payout_fees.cap.map(MinorUnits::get))
    .bind(i64::from(business.payout_otp_enabled))
    .bind(business.collection_fees.flat.get())
    .bind(i64::from(business.collection_fees.basis_points))
    .bind(business.collection_fees.cap.map(MinorUnits::get))
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn get_business(
    store: &Store,
    id: &BusinessId,
) -> Result<Option<BusinessRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {BUSINESS_COLUMNS} FROM businesses b WHERE b.id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(business_from_row).transpose()
}

pub async fn count_businesses(store: &Store) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) FROM businesses")
        .fetch_one(store.reader())
        .await?;
    Ok(row.get::<i64, _>(0))
}

/// The preferences a business changes from the dashboard or `ducat business set`.
/// `None` leaves a preference as it is.
#[derive(Debug, Clone, Default)]
pub struct PreferenceChanges {
    pub otp_phone: Option<Option<String>>,
    pub ip_allowlist: Option<String>,
    pub webhook_url: Option<Option<String>>,
    pub verify_hash: Option<String>,
    pub payout_fees: Option<FeeSchedule>,
    pub payout_otp_enabled: Option<bool>,
}

pub async fn update_preferences(
    tx: &mut Tx,
    id: &BusinessId,
    changes: &PreferenceChanges,
    now_ms: i64,
) -> Result<bool, StoreError> {
    // Each column keeps its value unless its "change" flag is set, so one statement serves
    // every combination of changes.
    let result = sqlx::query(
        "UPDATE businesses SET
            otp_phone = CASE WHEN $2 = 1 THEN $3 ELSE otp_phone END,
            ip_allowlist = CASE WHEN $4 = 1 THEN $5 ELSE ip_allowlist END,
            webhook_url = CASE WHEN $6 = 1 THEN $7 ELSE webhook_url END,
            verify_hash = CASE WHEN $8 = 1 THEN $9 ELSE verify_hash END,
            updated_at = $10,
            payout_fee_flat = CASE WHEN $11 = 1 THEN $12 ELSE payout_fee_flat END,
            payout_fee_bps = CASE WHEN $11 = 1 THEN $13 ELSE payout_fee_bps END,
            payout_fee_cap = CASE WHEN $11 = 1 THEN $14 ELSE payout_fee_cap END,
            payout_otp_enabled = CASE WHEN $15 = 1 THEN $16 ELSE payout_otp_enabled END,
            -- Registering a webhook URL (even the same one) is the business saying its receiver
            -- is back: a 410's disabling ends.
            webhook_disabled_at = CASE WHEN $6 = 1 THEN NULL ELSE webhook_disabled_at END,
            webhook_disabled_reason = CASE WHEN $6 = 1 THEN NULL ELSE webhook_disabled_reason END,
            webhook_disabled_url = CASE WHEN $6 = 1 THEN NULL ELSE webhook_disabled_url END
         WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(i64::from(changes.otp_phone.is_some()))
    .bind(changes.otp_phone.clone().flatten())
    .bind(i64::from(changes.ip_allowlist.is_some()))
    .bind(changes.ip_allowlist.clone().unwrap_or_default())
    .bind(i64::from(changes.webhook_url.is_some()))
    .bind(changes.webhook_url.clone().flatten())
    .bind(i64::from(changes.verify_hash.is_some()))
    .bind(changes.verify_hash.clone().unwrap_or_default())
    .bind(now_ms)
    .bind(i64::from(changes.payout_fees.is_some()))
    .bind(changes.payout_fees.map(|f| f.flat.get()).unwrap_or(0))
    .bind(
        changes
            .payout_fees
            .map(|f| i64::from(f.basis_points))
            .unwrap_or(0),
    )
    .bind(changes.payout_fees.and_then(|f| f.cap).map(MinorUnits::get))
    .bind(i64::from(changes.payout_otp_enabled.is_some()))
    .bind(i64::from(changes.payout_otp_enabled.unwrap_or(true)))
    .execute(&mut **tx)
    .await?;
    if changes.ip_allowlist.is_some() {
        new_credentials_generation(tx, now_ms).await?;
    }
    Ok(result.rows_affected() == 1)
}

/// Replaces the webhook secret, keeping the one replaced (still encrypted) until
/// `previous_expires_at`. Returns whether the business exists.
pub async fn rotate_webhook_secret(
    tx: &mut Tx,
    id: &BusinessId,
    new_secret_enc: &str,
    previous_expires_at: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    // The right-hand sides read the row as it was, so the old secret moves to "previous".
    let result = sqlx::query(
        "UPDATE businesses SET
            webhook_previous_secret_enc = webhook_secret_enc,
            webhook_previous_secret_expires_at = $2,
            webhook_secret_enc = $3,
            updated_at = $4
         WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(previous_expires_at)
    .bind(new_secret_enc)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records that the receiver at `url` answered 410 Gone.
pub async fn disable_webhook_endpoint(
    tx: &mut Tx,
    id: &BusinessId,
    url: &str,
    reason: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE businesses SET webhook_disabled_at = $2, webhook_disabled_reason = $3,
                               webhook_disabled_url = $4, updated_at = $2
         WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(now_ms)
    .bind(reason)
    .bind(url)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// Duplo's `Authorization: Bearer dp_…` secret key.
    DuploSecret,
    /// Beqelal's `app-id` + `api-key` pair.
    Beqelal,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::DuploSecret => "duplo_secret",
            CredentialKind::Beqelal => "beqelal",
        }
    }

    fn parse(text: &str) -> Result<CredentialKind, StoreError> {
        match text {
            "duplo_secret" => Ok(CredentialKind::DuploSecret),
            "beqelal" => Ok(CredentialKind::Beqelal),
            other => Err(StoreError::Corrupt(format!(
                "unknown credential kind {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CredentialRecord {
    pub id: String,
    pub business_id: BusinessId,
    pub kind: CredentialKind,
    pub mode: Mode,
    pub app_id: Option<String>,
    pub key_prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn insert_credential(
    tx: &mut Tx,
    credential: &CredentialRecord,
    hash: &HashedApiKey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO api_credentials (id, business_id, kind, mode, app_id, key_prefix, key_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&credential.id)
    .bind(credential.business_id.as_str())
    .bind(credential.kind.as_str())
    .bind(credential.mode.as_str())
    .bind(&credential.app_id)
    .bind(&credential.key_prefix)
    .bind(&hash.0)
    .bind(credential.created_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

fn credential_from_row(row: &AnyRow) -> Result<CredentialRecord, StoreError> {
    Ok(CredentialRecord {
        id: text(row, "cred_id"),
        business_id: BusinessId::from_trusted(text(row, "cred_business_id")),
        kind: CredentialKind::parse(&text(row, "cred_kind"))?,
        mode: Mode::parse(&text(row, "cred_mode"))?,
        app_id: opt_text(row, "app_id"),
        key_prefix: text(row, "key_prefix"),
        created_at: int(row, "cred_created_at"),
        last_used_at: opt_int(row, "last_used_at"),
        revoked_at: opt_int(row, "revoked_at"),
    })
}

/// The credential with this hash and its business, revoked or not (the caller decides).
pub async fn find_credential(
    store: &Store,
    hash: &HashedApiKey,
) -> Result<Option<(CredentialRecord, BusinessRecord)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT c.id AS cred_id, c.business_id AS cred_business_id, c.kind AS cred_kind,
                c.mode AS cred_mode, c.app_id, c.key_prefix, c.created_at AS cred_created_at,
                c.last_used_at, c.revoked_at, {BUSINESS_COLUMNS}
         FROM api_credentials c JOIN businesses b ON b.id = c.business_id
         WHERE c.key_hash = $1"
    ))
    .bind(&hash.0)
    .fetch_optional(store.reader())
    .await?;
    match row {
        Some(row) => Ok(Some((credential_from_row(&row)?, business_from_row(&row)?))),
        None => Ok(None),
    }
}

pub async fn list_credentials(
    store: &Store,
    business: &BusinessId,
) -> Result<Vec<CredentialRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT id AS cred_id, business_id AS cred_business_id, kind AS cred_kind, mode AS cred_mode,
                app_id, key_prefix, created_at AS cred_created_at, last_used_at, revoked_at
         FROM api_credentials WHERE business_id = $1 ORDER BY created_at, id",
    )
    .bind(business.as_str())
    .fetch_all(store.reader())
    .await?;
    rows.iter().map(credential_from_row).collect()
}

pub async fn revoke_credential(
    tx: &mut Tx,
    business: &BusinessId,
    credential_id: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE api_credentials SET revoked_at = $3
         WHERE business_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(business.as_str())
    .bind(credential_id)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    new_credentials_generation(tx, now_ms).await?;
    Ok(result.rows_affected() == 1)
}

const CREDENTIALS_GENERATION: &str = "credentials_generation";

/// Marks every cached verification of a credential stale, on every node: written in the same
/// transaction as a revocation or an allowlist change, so no node can act on the old rules once
/// the change is committed.
async fn new_credentials_generation(tx: &mut Tx, now_ms: i64) -> Result<(), StoreError> {
    super::set_instance_setting(
        tx,
        CREDENTIALS_GENERATION,
        &super::time_ordered_id("gen_", now_ms),
    )
    .await
}

/// The current generation (empty before the first change); see [`new_credentials_generation`].
pub async fn credentials_generation(store: &Store) -> Result<String, StoreError> {
    Ok(store
        .instance_setting(CREDENTIALS_GENERATION)
        .await?
        .unwrap_or_default())
}

/// Records that a credential was used, at most once a minute per credential, so a busy
/// integration does not turn every read into a write.
pub async fn touch_credential(
    store: &Store,
    credential_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE api_credentials SET last_used_at = $2
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(credential_id)
    .bind(now_ms)
    .bind(now_ms - 60_000)
    .execute_in(store)
    .await?;
    Ok(())
}

pub async fn insert_dashboard_user(
    tx: &mut Tx,
    id: &str,
    business: &BusinessId,
    email: &str,
    password_hash: &str,
    role: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO dashboard_users (id, business_id, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(business.as_str())
    .bind(email)
    .bind(password_hash)
    .bind(role)
    .bind(now_ms)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct WalletRecord {
    pub wallet_ref: WalletRef,
    pub business_id: BusinessId,
    pub currency: Currency,
    pub bank_code: String,
    pub bank_name: String,
    pub account_number: String,
    pub account_name: String,
    pub created_at: i64,
}

fn wallet_from_row(row: &AnyRow) -> Result<WalletRecord, StoreError> {
    let currency_code = text(row, "currency");
    Ok(WalletRecord {
        wallet_ref: WalletRef::from_trusted(text(row, "wallet_ref")),
        business_id: BusinessId::from_trusted(text(row, "business_id")),
        currency: Currency::from_code(&currency_code)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown currency {currency_code:?}")))?,
        bank_code: text(row, "bank_code"),
        bank_name: text(row, "bank_name"),
        account_number: text(row, "account_number"),
        account_name: text(row, "account_name"),
        created_at: int(row, "created_at"),
    })
}

const WALLET_COLUMNS: &str =
    "wallet_ref, business_id, currency, bank_code, bank_name, account_number, account_name, created_at";

pub async fn insert_wallet(tx: &mut Tx, wallet: &WalletRecord) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO wallets ({WALLET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(wallet.wallet_ref.as_str())
    .bind(wallet.business_id.as_str())
    .bind(wallet.currency.code())
    .bind(&wallet.bank_code)
    .bind(&wallet.bank_name)
    .bind(&wallet.account_number)
    .bind(&wallet.account_name)
    .bind(wallet.created_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn list_wallets(
    store: &Store,
    business: &BusinessId,
) -> Result<Vec<WalletRecord>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {WALLET_COLUMNS} FROM wallets WHERE business_id = $1 ORDER BY currency"
    ))
    .bind(business.as_str())
    .fetch_all(store.reader())
    .await?;
    rows.iter().map(wallet_from_row).collect()
}

pub async fn wallet_of_business(
    store: &Store,
    business: &BusinessId,
    wallet: &WalletRef,
) -> Result<Option<WalletRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {WALLET_COLUMNS} FROM wallets WHERE business_id = $1 AND wallet_ref = $2"
    ))
    .bind(business.as_str())
    .bind(wallet.as_str())
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(wallet_from_row).transpose()
}

pub async fn wallet_by_account_number(
    tx: &mut Tx,
    account_number: &str,
) -> Result<Option<WalletRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {WALLET_COLUMNS} FROM wallets WHERE account_number = $1"
    ))
    .bind(account_number)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(wallet_from_row).transpose()
}
