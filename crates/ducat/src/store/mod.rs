//! The store: SQLite or PostgreSQL behind one set of queries.
//!
//! Queries are written once in the SQL both engines understand (`$1` placeholders, BIGINT
//! milliseconds, TEXT ids) and run through sqlx's `Any` driver; the few places where the
//! engines differ (migrations, connection pragmas) branch on [`Engine`].
//!
//! SQLite allows one writer at a time, so its writes go through a single-connection pool and
//! never meet a `SQLITE_BUSY` halfway through a transaction; reads use their own pool and, in
//! WAL mode, never wait for the writer. PostgreSQL has a pool for each too, so a transaction
//! that reads outside itself cannot starve the pool it is holding a connection of.

pub mod audit;
pub mod bank_debits;
pub mod businesses;
pub mod checkouts;
pub mod dashboard;
pub mod dashboard_integration;
pub mod dashboard_money;
pub mod direct_payments;
pub mod events;
pub mod group_commit;
pub mod idempotency;
pub mod inbound;
pub mod ledger;
pub mod payment_links;
pub mod payouts;
pub mod sms;
pub mod transactions;
pub mod virtual_accounts;
pub mod webhooks;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

pub use group_commit::Tx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Engine {
        if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else {
            Engine::Postgres
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Ledger(#[from] ducat_core::ledger::LedgerError),
    #[error("a row with that {constraint} already exists")]
    Duplicate { constraint: String },
    #[error("stored data is not what this version expects: {0}")]
    Corrupt(String),
    #[error("the database is busy: no write slot became free in time")]
    Busy,
    #[error("the commit did not complete: {0}")]
    Commit(String),
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Duplicate`], leaving others as they are.
    pub fn from_insert(error: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                return StoreError::Duplicate {
                    constraint: db.constraint().unwrap_or(db.message()).to_owned(),
                };
            }
        }
        StoreError::Database(error)
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    engine: Engine,
    write: AnyPool,
    read: AnyPool,
    lane: group_commit::Lane,
}

impl Store {
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::from_url(url);
        match engine {
            Engine::Sqlite => {
                let url = sqlite_url_creating(url);
                let write = sqlite_pool(&url, 1).await?;
                let read = sqlite_pool(&url, 4).await?;
                Ok(Store {
                    engine,
                    lane: group_commit::Lane::new(
                        write.clone(),
                        group_commit::BatchStart::SqliteImmediate,
                    ),
                    write,
                    read,
                })
            }
            Engine::Postgres => {
                // Two pools, as on SQLite: a transaction that reads through `reader()` while it
                // holds a connection (and maybe a row lock) must never wait for a connection
                // that only another transaction, queued on that same lock, can give back.
                let pool = |connections| {
                    AnyPoolOptions::new()
                        .max_connections(connections)
                        .acquire_timeout(Duration::from_secs(10))
                        .connect(url)
                };
                let write = pool(16).await?;
                Ok(Store {
                    engine,
                    lane: group_commit::Lane::new(
                        write.clone(),
                        group_commit::BatchStart::PostgresClusterTurn,
                    ),
                    write,
                    read: pool(16).await?,
                })
            }
        }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.engine {
            Engine::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.write)
                    .await?
            }
            Engine::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.write)
                    .await?
            }
        }
        ledger::ensure_system_accounts(self).await
    }

    /// Starts the one kind of transaction every mutation runs in: a savepoint in the current
    /// group-commit batch (see [`group_commit`]).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        self.lane.begin().await
    }

    pub fn write_lane_stats(&self) -> group_commit::LaneStats {
        self.lane.stats()
    }

    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    pub async fn instance_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM instance_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }
}

pub async fn set_instance_setting(tx: &mut Tx, name: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO instance_settings (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `sqlite://ducat.db` opens only an existing file; the gateway creates it on first start.
fn sqlite_url_creating(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

async fn sqlite_pool(url: &str, connections: u32) -> Result<AnyPool, StoreError> {
    Ok(AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // FULL: a reply that says "successful" means the commit is on disk.
                for pragma in [
                    "PRAGMA journal_mode = WAL",
                    "PRAGMA synchronous = FULL",
                    "PRAGMA foreign_keys = ON",
                    "PRAGMA busy_timeout = 10000",
                ] {
                    sqlx::query(pragma).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?)
}

static ID_SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// An id that sorts in the order rows were written: the time, a per-process sequence (so rows
/// written in the same millisecond keep their order), and a random tail (so nodes never clash).
/// Timelines (SMS, events) read "newest" and "in order" from it.
pub fn time_ordered_id(prefix: &str, now_ms: i64) -> String {
    let sequence = ID_SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1_000_000;
    format!(
        "{prefix}{now_ms:013}{sequence:06}{}",
        ducat_core::ids::random_token(&mut rand::rngs::OsRng, 6)
    )
}

/// Reads a column that the schema declares NOT NULL as text.
pub fn text(row: &AnyRow, column: &str) -> String {
    row.get::<String, _>(column)
}

pub fn opt_text(row: &AnyRow, column: &str) -> Option<String> {
    row.get::<Option<String>, _>(column)
}

pub fn int(row: &AnyRow, column: &str) -> i64 {
    row.get::<i64, _>(column)
}

pub fn opt_int(row: &AnyRow, column: &str) -> Option<i64> {
    row.get::<Option<i64>, _>(column)
}

/// A single statement run as a transaction of its own, through the group-commit lane like every
/// other write, so it shares a batch's commit instead of paying one of its own.
pub trait Autocommit<'q>: Sized {
    fn execute_in<'s>(
        self,
        store: &'s Store,
    ) -> impl std::future::Future<Output = Result<sqlx::any::AnyQueryResult, StoreError>> + Send + 's
    where
        'q: 's;

    fn fetch_optional_in<'s>(
        self,
        store: &'s Store,
    ) -> impl std::future::Future<Output = Result<Option<AnyRow>, StoreError>> + Send + 's
    where
        'q: 's;
}

impl<'q> Autocommit<'q> for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    async fn execute_in<'s>(self, store: &'s Store) -> Result<sqlx::any::AnyQueryResult, StoreError>
    where
        'q: 's,
    {
        let mut tx = store.begin().await?;
        let result = self.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(result)
    }

    async fn fetch_optional_in<'s>(self, store: &'s Store) -> Result<Option<AnyRow>, StoreError>
    where
        'q: 's,
    {
        let mut tx = store.begin().await?;
        let row = self.fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    }
}
