//! The ledger's persistence: accounts, journal entries and postings, written in the caller's
//! transaction, and the queries behind `ducat ledger check`.

use super::{int, text, Store, StoreError, Tx};
use ducat_core::ids::WalletRef;
use ducat_core::ledger::{Account, AccountKind, JournalEntry, LedgerError, SystemAccount};
use ducat_core::money::{Currency, MinorUnits};
use ducat_core::payout::{ExpectedEntries, PayoutStatus};
use rand::rngs::OsRng;
use sqlx::Row;
use std::collections::BTreeMap;

/// What a journal entry is for; stored beside it so an auditor can read the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Inflow,
    UnmatchedInflow,
    UnmatchedReturn,
    Hold,
    Release,
    Settlement,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Inflow => "inflow",
            EntryKind::UnmatchedInflow => "unmatched_inflow",
            EntryKind::UnmatchedReturn => "unmatched_return",
            EntryKind::Hold => "hold",
            EntryKind::Release => "release",
            EntryKind::Settlement => "settlement",
        }
    }

    pub fn parse(text: &str) -> Option<EntryKind> {
        [
            EntryKind::Inflow,
            EntryKind::UnmatchedInflow,
            EntryKind::UnmatchedReturn,
            EntryKind::Hold,
            EntryKind::Release,
            EntryKind::Settlement,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

pub(super) async fn ensure_system_accounts(store: &Store) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for currency in Currency::ALL {
        for kind in [
            SystemAccount::BankSettlement,
            SystemAccount::Fees,
            SystemAccount::Suspense,
        ] {
            insert_account(&mut tx, &Account::system(currency, kind), None, currency).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_account(
    tx: &mut Tx,
    account: &Account,
    wallet: Option<&WalletRef>,
    currency: Currency,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ledger_accounts (account_key, wallet_ref, currency, kind, may_go_negative, balance)
         VALUES ($1, $2, $3, $4, $5, 0)
         ON CONFLICT (account_key) DO NOTHING",
    )
    .bind(account.key())
    .bind(wallet.map(|w| w.as_str().to_owned()))
    .bind(currency.code())
    .bind(account.kind().as_str())
    .bind(i64::from(account.kind().may_go_negative()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn create_wallet_accounts(
    tx: &mut Tx,
    wallet: &WalletRef,
    currency: Currency,
) -> Result<(), StoreError> {
    insert_account(tx, &Account::available(wallet), Some(wallet), currency).await?;
    insert_account(tx, &Account::held(wallet), Some(wallet), currency).await
}

/// Writes an entry and moves the balances it touches, refusing (and so rolling back the whole
/// transaction) if a constrained account would go below zero. Returns each touched account's
/// new balance.
pub async fn post(
    tx: &mut Tx,
    entry: &JournalEntry,
    kind: EntryKind,
    reference: &str,
    now_ms: i64,
) -> Result<BTreeMap<Account, MinorUnits>, StoreError> {
    let entry_id = format!("je_{}", ducat_core::ids::random_token(&mut OsRng, 20));
    sqlx::query(
        "INSERT INTO journal_entries (id, currency, kind, reference, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&entry_id)
    .bind(entry.currency().code())
    .bind(kind.as_str())
    .bind(reference)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    let mut balances = BTreeMap::new();
    for posting in entry.postings() {
        let key = posting.account.key();
        sqlx::query("INSERT INTO postings (entry_id, account_key, amount) VALUES ($1, $2, $3)")
            .bind(&entry_id)
            .bind(&key)
            .bind(posting.amount.get())
            .execute(&mut **tx)
            .await?;
        // The guard in the WHERE clause makes "would go negative" an ordinary zero-row answer
        // instead of a CHECK violation, which PostgreSQL would turn into an aborted transaction.
        let row = sqlx::query(
            "UPDATE ledger_accounts SET balance = balance + $1
             WHERE account_key = $2 AND (may_go_negative = 1 OR balance + $1 >= 0)
             RETURNING balance",
        )
        .bind(posting.amount.get())
        .bind(&key)
        .fetch_optional(&mut **tx)
        .await?;
        match row {
            Some(row) => {
                balances.insert(posting.account.clone(), MinorUnits(row.get::<i64, _>(0)));
            }
            None => {
                let balance = account_balance(tx, &posting.account).await?;
                return Err(StoreError::Ledger(LedgerError::InsufficientFunds {
                    account: key,
                    balance: balance.get(),
                    change: posting.amount.get(),
                }));
            }
        }
    }
    Ok(balances)
}

pub async fn account_balance(tx: &mut Tx, account: &Account) -> Result<MinorUnits, StoreError> {
    let row = sqlx::query("SELECT balance FROM ledger_accounts WHERE account_key = $1")
        .bind(account.key())
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| MinorUnits(r.get::<i64, _>(0)))
        .ok_or_else(|| StoreError::Corrupt(format!("ledger account {account} does not exist")))
}

/// Available and held balances of a wallet, read outside any transaction.
pub async fn wallet_balances(
    store: &Store,
    wallet: &WalletRef,
) -> Result<(MinorUnits, MinorUnits), StoreError> {
    let rows = sqlx::query("SELECT kind, balance FROM ledger_accounts WHERE wallet_ref = $1")
        .bind(wallet.as_str())
        .fetch_all(store.reader())
        .await?;
    let mut available = MinorUnits::ZERO;
    let mut held = MinorUnits::ZERO;
    for row in rows {
        match AccountKind::parse(&text(&row, "kind")) {
            Some(AccountKind::Available) => available = MinorUnits(int(&row, "balance")),
            Some(AccountKind::Held) => held = MinorUnits(int(&row, "balance")),
            Some(AccountKind::BankSettlement | AccountKind::Fees | AccountKind::Suspense)
            | None => {
                return Err(StoreError::Corrupt(format!(
                    "wallet {wallet} owns a non-wallet ledger account"
                )))
            }
        }
    }
    Ok((available, held))
}

/// One broken invariant, named so an operator knows where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

/// Checks every invariant of the ledger and returns what is broken (nothing, when healthy).
/// Reads run in one transaction so the picture is consistent while the gateway keeps running.
pub async fn check(store: &Store) -> Result<Vec<Violation>, StoreError> {
    let mut tx = store.reader().begin().await?;
    let mut violations = Vec::new();

    let rows = sqlx::query(
        "SELECT a.currency, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS total
         FROM postings p JOIN ledger_accounts a ON a.account_key = p.account_key
         GROUP BY a.currency",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        let total = int(&row, "total");
        if total != 0 {
            violations.push(Violation {
                invariant: "postings sum to zero per currency",
                detail: format!("{} postings sum to {total}", text(&row, "currency")),
            });
        }
    }

    let rows = sqlx::query(
        "SELECT e.id, e.kind, e.reference, CAST(SUM(p.amount) AS BIGINT) AS total, COUNT(p.id) AS lines
         FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
         GROUP BY e.id, e.kind, e.reference
         HAVING COALESCE(SUM(p.amount), 0) <> 0 OR COUNT(p.id) < 2",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        violations.push(Violation {
            invariant: "every journal entry balances",
            detail: format!(
                "entry {} ({} for {}) has {} postings summing to {}",
                text(&row, "id"),
                text(&row, "kind"),
                text(&row, "reference"),
                int(&row, "lines"),
                row.get::<Option<i64>, _>("total").unwrap_or(0)
            ),
        });
    }

    let rows = sqlx::query(
        "SELECT p.entry_id FROM postings p
         JOIN journal_entries e ON e.id = p.entry_id
         JOIN ledger_accounts a ON a.account_key = p.account_key
         WHERE a.currency <> e.currency",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        violations.push(Violation {
            invariant: "an entry posts in its own currency only",
            detail: format!(
                "entry {} touches an account in another currency",
                text(&row, "entry_id")
            ),
        });
    }

    let rows = sqlx::query(
        "SELECT a.account_key, a.balance, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS posted
         FROM ledger_accounts a LEFT JOIN postings p ON p.account_key = a.account_key
         GROUP BY a.account_key, a.balance
         HAVING a.balance <> COALESCE(SUM(p.amount), 0)",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        violations.push(Violation {
            invariant: "each account's balance equals the sum of its postings",
            detail: format!(
                "{} shows {} but its postings sum to {}",
                text(&row, "account_key"),
                int(&row, "balance"),
                int(&row, "posted")
            ),
        });
    }

    let rows = sqlx::query(
        "SELECT account_key, balance FROM ledger_accounts WHERE may_go_negative = 0 AND balance < 0",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        violations.push(Violation {
            invariant: "available, held, fees and suspense are never negative",
            detail: format!("{} is {}", text(&row, "account_key"), int(&row, "balance")),
        });
    }

    let rows = sqlx::query(
        "SELECT t.transaction_ref, t.amount,
                CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS credited
         FROM transactions t
         LEFT JOIN journal_entries e ON e.reference = t.transaction_ref AND e.kind = 'inflow'
         LEFT JOIN postings p ON p.entry_id = e.id
              AND p.account_key IN (t.wallet_ref || ':available', 'system:' || t.currency || ':fees')
         WHERE t.type = 'credit' AND t.status = 'successful'
         GROUP BY t.transaction_ref, t.amount
         HAVING COALESCE(SUM(p.amount), 0) <> t.amount",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        violations.push(Violation {
            invariant: "every successful inflow is credited exactly once",
            detail: format!(
                "{} is for {} but the wallet and fees received {}",
                text(&row, "transaction_ref"),
                int(&row, "amount"),
                int(&row, "credited")
            ),
        });
    }

    let rows = sqlx::query(
        "SELECT t.transaction_ref, t.status,
                CAST(SUM(CASE WHEN e.kind = 'hold' THEN 1 ELSE 0 END) AS BIGINT) AS holds,
                CAST(SUM(CASE WHEN e.kind = 'settlement' THEN 1 ELSE 0 END) AS BIGINT) AS settlements,
                CAST(SUM(CASE WHEN e.kind = 'release' THEN 1 ELSE 0 END) AS BIGINT) AS releases
         FROM payouts p JOIN transactions t ON t.transaction_ref = p.transaction_ref
         LEFT JOIN journal_entries e ON e.reference = t.transaction_ref
         GROUP BY t.transaction_ref, t.status",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        let status = text(&row, "status");
        let found = ExpectedEntries {
            holds: int(&row, "holds"),
            settlements: int(&row, "settlements"),
            releases: int(&row, "releases"),
        };
        let expected = PayoutStatus::parse(&status).map(PayoutStatus::expected_entries);
        if expected != Some(found) {
            violations.push(Violation {
                invariant: "every payout has exactly the entries its status implies",
                detail: format!(
                    "{} is {status} with {} hold(s), {} settlement(s), {} release(s)",
                    text(&row, "transaction_ref"),
                    found.holds,
                    found.settlements,
                    found.releases
                ),
            });
        }
    }

    let rows = sqlx::query(
        "SELECT a.wallet_ref, a.balance,
                CAST(COALESCE((SELECT SUM(t.amount + t.fee_amount) FROM transactions t
                               JOIN payouts p ON p.transaction_ref = t.transaction_ref
                               WHERE t.wallet_ref = a.wallet_ref AND t.status = 'pending'), 0) AS BIGINT) AS in_flight
         FROM ledger_accounts a WHERE a.kind = 'held'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        if int(&row, "balance") != int(&row, "in_flight") {
            violations.push(Violation {
                invariant: "held money equals the payouts in flight",
                detail: format!(
                    "{} holds {} but its pending payouts total {}",
                    text(&row, "wallet_ref"),
                    int(&row, "balance"),
                    int(&row, "in_flight")
                ),
            });
        }
    }

    let rows = sqlx::query(
        "SELECT account_key, balance FROM ledger_accounts WHERE kind = 'suspense' AND balance <> 0",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        violations.push(Violation {
            invariant: "suspense is empty: every unmatched transfer was returned",
            detail: format!(
                "{} holds {}",
                text(&row, "account_key"),
                int(&row, "balance")
            ),
        });
    }

    let rows = sqlx::query(
        "SELECT c.checkout_reference, c.amount_to_pay, t.amount AS paid
         FROM checkouts c LEFT JOIN transactions t ON t.transaction_ref = c.paid_transaction_ref
         WHERE c.status = 'successful' AND (t.transaction_ref IS NULL OR t.amount <> c.amount_to_pay OR t.status <> 'successful')",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        violations.push(Violation {
            invariant: "every paid checkout was paid exactly its amount",
            detail: format!(
                "{} expected {} but its payment is {:?}",
                text(&row, "checkout_reference"),
                int(&row, "amount_to_pay"),
                row.get::<Option<i64>, _>("paid")
            ),
        });
    }

    tx.rollback().await?;
    Ok(violations)
}
