//! Money in over the network: account numbers assigned by the bank for live businesses, and
//! the bank's signed inflow notifications (docs/bank-adapter.md), applied once per session id.

use super::inflows::InboundTransfer;
use super::{AppError, Services};
use crate::rail::notifications::{
    AccountKind, AccountOpening, InflowAck, InflowNotification, InflowStatus, OpenedAccount,
};
use crate::rail::RailError;
use crate::store::businesses::{self, Mode};
use crate::store::ledger::{self as ledger_store, EntryKind};
use crate::store::{checkouts, virtual_accounts, StoreError, Tx};
use ducat_core::banks::{self, Institution};
use ducat_core::ledger::{self, Account, SystemAccount};
use ducat_core::money::{Currency, MinorUnits};
use rand::rngs::OsRng;
use sqlx::Row;

/// A fresh account number at the house bank that no wallet, checkout or virtual account has.
/// It is checked in the transaction that will take it rather than left to the unique indexes,
/// because a failed insert aborts the whole transaction on PostgreSQL.
pub(crate) async fn allocate_house_account(
    tx: &mut Tx,
    currency: Currency,
) -> Result<Option<(&'static Institution, String)>, StoreError> {
    let bank = banks::house_bank(currency);
    for _ in 0..16 {
        let candidate = banks::generate_account_number(bank, &mut OsRng);
        let taken = businesses::wallet_by_account_number(tx, &candidate)
            .await?
            .is_some()
            || checkouts::by_account_number(tx, &candidate)
                .await?
                .is_some()
            || virtual_accounts::by_account_number(tx, &candidate)
                .await?
                .is_some();
        if !taken {
            return Ok(Some((bank, candidate)));
        }
    }
    Ok(None)
}

/// A notification whose body is not what the protocol says.
fn malformed(field: &str, message: &str) -> AppError {
    AppError::invalid(field, message)
}

/// Checks a notification's fields; pure.
pub fn validate_notification(n: &InflowNotification) -> Result<(Currency, MinorUnits), AppError> {
    if n.session_id.is_empty()
        || n.session_id.len() > 64
        || !n.session_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(malformed("session_id", "must be 1 to 64 letters or digits"));
    }
    if n.account_number.is_empty()
        || n.account_number.len() > 32
        || !n.account_number.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(malformed("account_number", "must be 1 to 32 digits"));
    }
    let currency = Currency::from_code(&n.currency)
        .ok_or_else(|| malformed("currency", "must be NGN or ETB"))?;
    if n.amount <= 0 {
        return Err(malformed(
            "amount",
            "must be a positive whole number of minor units",
        ));
    }
    Ok((currency, MinorUnits(n.amount)))
}

impl Services {
    /// The account a live business's new wallet, virtual account or checkout gets from its
    /// bank, obtained before any database transaction opens; `None` in test mode, where the
    /// number is allocated at the sandbox's house bank inside the transaction as always.
    pub(crate) async fn account_from_bank(
        &self,
        mode: Mode,
        reference: &str,
        currency: Currency,
        account_name: &str,
        kind: AccountKind,
    ) -> Result<Option<OpenedAccount>, AppError> {
        match mode {
            Mode::Test => Ok(None),
            Mode::Live => {
                let opening = AccountOpening {
                    reference: reference.to_owned(),
                    currency,
                    account_name: account_name.to_owned(),
                    kind,
                };
                self.live_rail
                    .open_account(&opening)
                    .await
                    .map(Some)
                    .map_err(|e| match e {
                        RailError::Unavailable(reason) => AppError::Unavailable(format!(
                            "the bank could not open an account: {reason}"
                        )),
                        other @ (RailError::UnknownBank(..)
                        | RailError::MalformedAccount(_)
                        | RailError::UnknownAccount(_)) => AppError::Unavailable(format!(
                            "the bank could not open an account: {other}"
                        )),
                    })
            }
        }
    }

    /// The bank's account when it gave one (live mode), or else a number allocated at the
    /// sandbox's house bank inside `tx` (test mode, as always): `(bank_code, bank_name, number)`.
    pub(crate) async fn account_or_allocate(
        &self,
        tx: &mut Tx,
        currency: Currency,
        from_bank: Option<OpenedAccount>,
    ) -> Result<(String, String, String), AppError> {
        match from_bank {
            Some(opened) => Ok((opened.bank_code, opened.bank_name, opened.account_number)),
            None => {
                let (bank, number) =
                    allocate_house_account(tx, currency).await?.ok_or_else(|| {
                        AppError::Unavailable(
                            "could not allocate a free account number; retry".to_owned(),
                        )
                    })?;
                Ok((bank.code.to_owned(), bank.name.to_owned(), number))
            }
        }
    }

    /// Applies a verified inflow notification once per session id: credited, or recorded and
    /// returned through suspense (an unknown account, a wrong checkout amount).
    pub async fn bank_inflow_notification(
        &self,
        notification: &InflowNotification,
    ) -> Result<InflowAck, AppError> {
        let (currency, amount) = validate_notification(notification)?;
        let session_id = notification.session_id.clone();
        if self.returned_unknown(&session_id).await? {
            return Ok(InflowAck {
                session_id,
                status: InflowStatus::Duplicate,
                reason: None,
            });
        }
        let source_bank_name = notification
            .source_bank_code
            .as_deref()
            .and_then(|code| banks::find_institution(currency, code))
            .map(|bank| bank.name.to_owned());
        let transfer = InboundTransfer {
            account_number: notification.account_number.clone(),
            amount: amount.to_major_string(currency),
            session_id: Some(session_id.clone()),
            source_bank_name,
            source_account_number: notification.source_account_number.clone(),
            source_account_name: notification.source_account_name.clone(),
            narration: notification.narration.clone(),
        };
        match self.bank_inbound_transfer(transfer).await {
            Ok(outcome) => {
                let status = match (outcome.duplicate, outcome.status.as_str()) {
                    (true, _) => InflowStatus::Duplicate,
                    (false, "returned") => InflowStatus::Returned,
                    (false, _) => InflowStatus::Applied,
                };
                Ok(InflowAck {
                    session_id,
                    status,
                    reason: outcome.reason,
                })
            }
            Err(AppError::NotFound(_)) => self.return_unknown(&session_id, currency, amount).await,
            Err(other) => Err(other),
        }
    }

    /// Whether this session id was already returned as addressed to no account of ducat's.
    async fn returned_unknown(&self, session_id: &str) -> Result<bool, AppError> {
        let mut tx = self.store.begin().await?;
        let seen = unknown_seen(&mut tx, session_id).await?;
        tx.rollback().await?;
        Ok(seen)
    }

    /// Money for an account ducat does not have: it enters suspense and goes back, once. The
    /// suspense account's row is locked first, so two deliveries of one notification racing
    /// on PostgreSQL serialize and the second sees the first.
    async fn return_unknown(
        &self,
        session_id: &str,
        currency: Currency,
        amount: MinorUnits,
    ) -> Result<InflowAck, AppError> {
        let now = self.now_ms();
        let suspense = Account::system(currency, SystemAccount::Suspense).key();
        let mut tx = self.store.begin().await?;
        sqlx::query("UPDATE ledger_accounts SET balance = balance WHERE account_key = $1")
            .bind(&suspense)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let reason = "no account of ducat's has this number".to_owned();
        if unknown_seen(&mut tx, session_id).await? {
            tx.rollback().await?;
            return Ok(InflowAck {
                session_id: session_id.to_owned(),
                status: InflowStatus::Duplicate,
                reason: Some(reason),
            });
        }
        let internal = |e: ducat_core::ledger::LedgerError| AppError::Internal(Box::new(e));
        let received = ledger::receive_unmatched(currency, amount).map_err(internal)?;
        ledger_store::post(
            &mut tx,
            &received,
            EntryKind::UnmatchedInflow,
            session_id,
            now,
        )
        .await?;
        let returned = ledger::return_unmatched(currency, amount).map_err(internal)?;
        ledger_store::post(
            &mut tx,
            &returned,
            EntryKind::UnmatchedReturn,
            session_id,
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(session_id, "an inflow to an unknown account was returned");
        Ok(InflowAck {
            session_id: session_id.to_owned(),
            status: InflowStatus::Returned,
            reason: Some(reason),
        })
    }
}

/// An unmatched inflow booked under this session id with no inbound record: an unknown account.
async fn unknown_seen(tx: &mut Tx, session_id: &str) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM journal_entries j
         WHERE j.reference = $1 AND j.kind = $2
           AND NOT EXISTS (SELECT 1 FROM inbound_transfers i WHERE i.session_id = $1)",
    )
    .bind(session_id)
    .bind(EntryKind::UnmatchedInflow.as_str())
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get::<i64, _>("n").unwrap_or(0) > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification() -> InflowNotification {
        InflowNotification {
            session_id: "100004251122080000987654321098".into(),
            account_number: "9912345678".into(),
            amount: 5_000_000,
            currency: "NGN".into(),
            source_bank_code: None,
            source_account_number: None,
            source_account_name: None,
            narration: None,
            created_at: 0,
        }
    }

    #[test]
    fn notifications_are_validated() {
        assert_eq!(
            validate_notification(&notification()).unwrap(),
            (Currency::Ngn, MinorUnits(5_000_000))
        );
        let mut bad = notification();
        bad.amount = 0;
        assert!(validate_notification(&bad).is_err());
        let mut bad = notification();
        bad.currency = "USD".into();
        assert!(validate_notification(&bad).is_err());
        let mut bad = notification();
        bad.session_id = "a-b".into();
        assert!(validate_notification(&bad).is_err());
        let mut bad = notification();
        bad.account_number = String::new();
        assert!(validate_notification(&bad).is_err());
    }
}
