//! Group commit: many requests' writes share one database transaction and one durable commit.
//!
//! Every mutation still looks like a transaction of its own ([`Tx`]: begin, statements, commit
//! or roll back), but it runs inside a savepoint of the lane's open batch transaction, so a
//! request that fails undoes only its own writes. A request that commits releases its savepoint
//! and waits; whoever finds nobody queued behind it (or fills the batch) commits the batch, and
//! only then is each member told its outcome. A reply therefore still waits for its own durable
//! commit (SQLite `synchronous=FULL`, PostgreSQL `synchronous_commit=on`), but a queue of N
//! requests pays one commit instead of N, and writes to a hot wallet row queue in memory rather
//! than convoying on the row's lock while each holder waits for its own fsync.
//!
//! The lane's own steps (opening the savepoint, releasing it, committing, recovering from a
//! request that was dropped halfway) run in spawned tasks, never in the request's future: a
//! client that hangs up cancels its handler, and a cancelled commit must not leave the other
//! members of its batch without an answer or the connection halfway through a statement.

use super::StoreError;
use prometheus_client::metrics::counter::Counter;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

/// A batch never grows past this many requests, so one busy stream cannot postpone a commit
/// (and every member's reply) indefinitely.
const MAX_MEMBERS: usize = 128;

/// Parity with the pools' acquire timeout: a request that cannot start writing within this gives
/// up with an error instead of hanging.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Lane {
    shared: Arc<Shared>,
}

struct Shared {
    pool: AnyPool,
    start: BatchStart,
    batch: Arc<Mutex<Batch>>,
    /// Requests waiting for the batch; while any wait, a committer leaves the commit to them.
    queued: AtomicUsize,
    stats: LaneStats,
}

/// Where the lane's time goes, for `/metrics` and the benchmark: the lane is the write path's
/// one queue, so its busy time is the profile of every mutating request.
#[derive(Clone, Default)]
pub struct LaneStats {
    /// Commits of a batch with at least one member.
    pub batches: Counter,
    /// Requests whose writes were committed in some batch.
    pub committed_requests: Counter,
    /// Seconds requests held the lane running their own statements.
    pub statement_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    /// Seconds the lane spent committing (the durable flush).
    pub commit_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
}

/// How each batch transaction starts, so that batches of different processes sharing the
/// database (other nodes, the CLI) take turns instead of failing each other.
#[derive(Debug, Clone, Copy)]
pub enum BatchStart {
    /// SQLite: `BEGIN IMMEDIATE` takes the write lock at once. A deferred transaction that read
    /// before another process committed cannot upgrade to writing: it fails with `SQLITE_BUSY`
    /// without waiting.
    SqliteImmediate,
    /// PostgreSQL: `BEGIN`, then one transaction-scoped advisory lock shared by every node. A
    /// batch gathers the row locks of many requests in no particular order, so two nodes'
    /// batches could each hold a row the other wants (a payout and a hot wallet) and deadlock;
    /// taking turns per batch rules that out and costs little, since a batch of one node
    /// already carries every request that node has.
    PostgresClusterTurn,
}

/// The advisory lock key of [`BatchStart::PostgresClusterTurn`] ("ducat" in ASCII).
const CLUSTER_TURN_KEY: i64 = 0x64_7563_6174;

#[derive(Default)]
struct Batch {
    open: Option<Transaction<'static, Any>>,
    /// Requests whose savepoint was released into `open`, waiting for its commit.
    members: Vec<oneshot::Sender<Result<(), String>>>,
    /// A request left without committing or rolling back: its savepoint must be undone before
    /// anything else runs on the connection.
    abandoned_savepoint: bool,
    /// When the request now holding the lane got it.
    held_since: Option<Instant>,
}

type Held = OwnedMutexGuard<Batch>;

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("queued", &self.shared.queued.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Lane {
    pub fn new(pool: AnyPool, start: BatchStart) -> Lane {
        Lane {
            shared: Arc::new(Shared {
                pool,
                start,
                batch: Arc::new(Mutex::new(Batch::default())),
                queued: AtomicUsize::new(0),
                stats: LaneStats::default(),
            }),
        }
    }

    pub fn stats(&self) -> LaneStats {
        self.shared.stats.clone()
    }

    /// Opens this request's savepoint in the current batch (starting one if none is open).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let lane = self.clone();
        let (reply, answer) = oneshot::channel();
        tokio::spawn(async move {
            let prepared = lane.acquire_prepared().await;
            if let Err(Ok(held)) = reply.send(prepared) {
                // The request went away while waiting: its savepoint is open and unused.
                lane.abandon(held).await;
            }
        });
        let held = answer.await.map_err(|_| lost())??;
        Ok(Tx {
            held: Some(held),
            lane: self.clone(),
        })
    }

    async fn acquire_prepared(&self) -> Result<Held, StoreError> {
        let mut held = {
            let _queued = Queued::enter(&self.shared.queued);
            tokio::time::timeout(ACQUIRE_TIMEOUT, self.shared.batch.clone().lock_owned())
                .await
                .map_err(|_| StoreError::Busy)?
        };
        if let Err(error) = open_savepoint(&self.shared, &mut held).await {
            fail_batch(&mut held, &error);
            return Err(error.into());
        }
        held.held_since = Some(Instant::now());
        Ok(held)
    }

    async fn commit(&self, mut held: Held) -> Result<(), StoreError> {
        if let Err(error) = run(&mut held, "RELEASE SAVEPOINT ducat_request").await {
            held.abandoned_savepoint = true;
            self.hand_on(held).await;
            return Err(error.into());
        }
        let (member, outcome) = oneshot::channel();
        held.members.push(member);
        self.hand_on(held).await;
        outcome
            .await
            .map_err(|_| lost())?
            .map_err(StoreError::Commit)
    }

    async fn rollback(&self, mut held: Held) -> Result<(), StoreError> {
        held.abandoned_savepoint = true;
        let recovered = recover(&mut held).await;
        if let Err(error) = &recovered {
            fail_batch(&mut held, error);
        }
        self.hand_on(held).await;
        Ok(recovered?)
    }

    async fn abandon(&self, mut held: Held) {
        held.abandoned_savepoint = true;
        self.hand_on(held).await;
    }

    /// Gives the batch to whoever is queued, or commits it when nobody is (or it is full).
    async fn hand_on(&self, mut held: Held) {
        let stats = &self.shared.stats;
        if let Some(since) = held.held_since.take() {
            stats
                .statement_seconds
                .inc_by(since.elapsed().as_secs_f64());
        }
        let nobody_waiting = self.shared.queued.load(Ordering::SeqCst) == 0;
        if nobody_waiting || held.members.len() >= MAX_MEMBERS {
            let members = held.members.len() as u64;
            let started = Instant::now();
            if flush(&mut held).await {
                stats.batches.inc();
                stats.committed_requests.inc_by(members);
            }
            stats.commit_seconds.inc_by(started.elapsed().as_secs_f64());
        }
    }
}

/// Counts a request as queued for exactly as long as it waits, even if the wait is cut short.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(counter: &'a AtomicUsize) -> Queued<'a> {
        counter.fetch_add(1, Ordering::SeqCst);
        Queued(counter)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn open_savepoint(shared: &Shared, held: &mut Held) -> Result<(), sqlx::Error> {
    recover(held).await?;
    if held.open.is_none() {
        let open = match shared.start {
            BatchStart::SqliteImmediate => shared.pool.begin_with("BEGIN IMMEDIATE").await?,
            BatchStart::PostgresClusterTurn => {
                let mut open = shared.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(CLUSTER_TURN_KEY)
                    .execute(&mut *open)
                    .await?;
                open
            }
        };
        held.open = Some(open);
    }
    run(held, "SAVEPOINT ducat_request").await
}

async fn recover(held: &mut Held) -> Result<(), sqlx::Error> {
    if held.abandoned_savepoint {
        run(held, "ROLLBACK TO SAVEPOINT ducat_request").await?;
        run(held, "RELEASE SAVEPOINT ducat_request").await?;
        held.abandoned_savepoint = false;
    }
    Ok(())
}

async fn run(held: &mut Held, statement: &'static str) -> Result<(), sqlx::Error> {
    match held.open.as_mut() {
        Some(open) => sqlx::query(statement)
            .execute(&mut **open)
            .await
            .map(|_| ()),
        None => Err(sqlx::Error::Protocol(format!(
            "group commit: `{statement}` with no batch open"
        ))),
    }
}

/// Commits the batch and tells every member; with no members it only ends the transaction.
/// Returns whether a batch with members was committed.
async fn flush(held: &mut Held) -> bool {
    let members = std::mem::take(&mut held.members);
    let outcome = match recover(held).await {
        Ok(()) => match held.open.take() {
            Some(open) if !members.is_empty() => open.commit().await.map_err(|e| e.to_string()),
            Some(open) => open.rollback().await.map_err(|e| e.to_string()),
            None => Ok(()),
        },
        Err(error) => Err(error.to_string()),
    };
    // Whatever happened, the next request starts a fresh transaction.
    held.open = None;
    held.abandoned_savepoint = false;
    let committed = outcome.is_ok() && !members.is_empty();
    for member in members {
        let _ = member.send(outcome.clone());
    }
    committed
}

/// The batch's connection failed: its transaction is rolled back (on drop) and every member
/// learns that its released work was not committed.
fn fail_batch(held: &mut Held, error: &sqlx::Error) {
    held.open = None;
    held.abandoned_savepoint = false;
    let message = format!("the batch was rolled back: {error}");
    for member in std::mem::take(&mut held.members) {
        let _ = member.send(Err(message.clone()));
    }
}

fn lost() -> StoreError {
    StoreError::Commit("the group-commit task ended without an answer".to_owned())
}

/// One request's transaction: statements run on the batch's connection inside the request's
/// savepoint. Dropping it without `commit` rolls the request's writes back.
pub struct Tx {
    held: Option<Held>,
    lane: Lane,
}

impl Tx {
    /// Returns once this request's writes are durable (or failed with the batch).
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let held = self.take_held()?;
        let lane = self.lane.clone();
        spawn_answered(async move { lane.commit(held).await }).await
    }

    pub async fn rollback(mut self) -> Result<(), StoreError> {
        let held = self.take_held()?;
        let lane = self.lane.clone();
        spawn_answered(async move { lane.rollback(held).await }).await
    }

    fn take_held(&mut self) -> Result<Held, StoreError> {
        self.held
            .take()
            .ok_or_else(|| StoreError::Commit("transaction already finished".to_owned()))
    }

    fn connection(&self) -> &Transaction<'static, Any> {
        match self.held.as_ref().and_then(|held| held.open.as_ref()) {
            Some(open) => open,
            None => unreachable!("a live Tx always holds the open batch"),
        }
    }
}

/// Runs a lane step in its own task so that cancelling the request cannot cut it short.
async fn spawn_answered(
    step: impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
) -> Result<(), StoreError> {
    tokio::spawn(step).await.map_err(|_| lost())?
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        self.connection()
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self.held.as_mut().and_then(|held| held.open.as_mut()) {
            Some(open) => open,
            None => unreachable!("a live Tx always holds the open batch"),
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            let lane = self.lane.clone();
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(async move { lane.abandon(held).await });
                }
                // Shutting down: the flag makes the next user (if any) undo the savepoint.
                Err(_) => {
                    let mut held = held;
                    held.abandoned_savepoint = true;
                }
            }
        }
    }
}
