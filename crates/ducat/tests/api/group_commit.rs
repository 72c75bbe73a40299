//! Group commit through the store: many transactions share a batch, yet each one's outcome is
//! its own. Committed writes are durable when `commit` returns; rolled back, dropped, failed and
//! cancelled transactions leave nothing behind and never take a neighbour's writes with them.

use crate::both_engines;
use crate::helpers::{spawn_app, Engine};
use ducat::store::{self, Store};
use sqlx::Row;
use std::collections::BTreeSet;

both_engines!(
    each_transaction_in_a_batch_keeps_its_own_outcome,
    a_failing_statement_spoils_only_its_own_transaction,
    a_cancelled_commit_neither_hangs_nor_spoils_its_batch
);

const PREFIX: &str = "group-commit-test-";

async fn settings_written(store: &Store) -> BTreeSet<String> {
    sqlx::query("SELECT name FROM instance_settings WHERE name LIKE $1")
        .bind(format!("{PREFIX}%"))
        .fetch_all(store.reader())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect()
}

async fn write(store: &Store, name: &str) -> store::Tx {
    let mut tx = store.begin().await.unwrap();
    store::set_instance_setting(&mut tx, name, "v")
        .await
        .unwrap();
    tx
}

async fn assert_a_later_transaction_commits(store: &Store) {
    write(store, &format!("{PREFIX}after"))
        .await
        .commit()
        .await
        .unwrap();
    assert!(settings_written(store)
        .await
        .contains(&format!("{PREFIX}after")));
}

async fn each_transaction_in_a_batch_keeps_its_own_outcome(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let store = app.services.store.clone();
    // 90 at once, so they queue and share batches: a third commit, a third roll back, a third
    // are dropped without either (an error path that returns early).
    let tasks: Vec<_> = (0..90)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let name = format!("{PREFIX}{i:03}");
                let tx = write(&store, &name).await;
                match i % 3 {
                    0 => {
                        tx.commit().await.unwrap();
                        // Durable and visible to every other connection once commit returns.
                        let seen = sqlx::query("SELECT 1 FROM instance_settings WHERE name = $1")
                            .bind(&name)
                            .fetch_optional(store.reader())
                            .await
                            .unwrap();
                        assert!(seen.is_some(), "{name} committed but not visible");
                    }
                    1 => tx.rollback().await.unwrap(),
                    _ => drop(tx),
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let expected: BTreeSet<String> = (0..90)
        .filter(|i| i % 3 == 0)
        .map(|i| format!("{PREFIX}{i:03}"))
        .collect();
    assert_eq!(settings_written(&store).await, expected);
    // The lane is healthy afterwards: a later transaction commits normally.
    assert_a_later_transaction_commits(&store).await;
    app.finish().await;
}

async fn a_failing_statement_spoils_only_its_own_transaction(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let store = app.services.store.clone();
    write(&store, &format!("{PREFIX}taken"))
        .await
        .commit()
        .await
        .unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                if i % 2 == 0 {
                    // A unique violation: on PostgreSQL it aborts the whole transaction, so only
                    // rolling back to this request's savepoint keeps the batch usable.
                    let refused = sqlx::query(
                        "INSERT INTO instance_settings (name, value) VALUES ($1, 'again')",
                    )
                    .bind(format!("{PREFIX}taken"))
                    .execute(&mut *tx)
                    .await;
                    assert!(refused.is_err(), "a duplicate name must be refused");
                    drop(tx);
                } else {
                    store::set_instance_setting(&mut tx, &format!("{PREFIX}{i:03}"), "v")
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let mut expected: BTreeSet<String> = (0..40)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("{PREFIX}{i:03}"))
        .collect();
    expected.insert(format!("{PREFIX}taken"));
    assert_eq!(settings_written(&store).await, expected);
    let value: String = sqlx::query("SELECT value FROM instance_settings WHERE name = $1")
        .bind(format!("{PREFIX}taken"))
        .fetch_one(store.reader())
        .await
        .unwrap()
        .get(0);
    assert_eq!(value, "v", "the refused insert changed nothing");
    app.finish().await;
}

async fn a_cancelled_commit_neither_hangs_nor_spoils_its_batch(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let store = app.services.store.clone();
    let mut handles = Vec::new();
    for i in 0..60 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let tx = write(&store, &format!("{PREFIX}{i:03}")).await;
            tx.commit().await.unwrap();
        }));
    }
    // Cancel every third caller wherever it is: waiting for the batch, inside it, or waiting
    // for its commit (a client that hung up).
    for (i, handle) in handles.iter().enumerate() {
        if i % 3 == 0 {
            handle.abort();
        }
    }
    let mut finished = 0;
    for handle in handles {
        match handle.await {
            Ok(()) => finished += 1,
            Err(error) => assert!(error.is_cancelled(), "{error}"),
        }
    }
    assert!(finished >= 40, "every caller not cancelled got its answer");
    let written = settings_written(&store).await;
    for i in (0..60).filter(|i| i % 3 != 0) {
        assert!(written.contains(&format!("{PREFIX}{i:03}")), "{i} lost");
    }
    // Whatever a cancelled caller had reached, the lane still works.
    assert_a_later_transaction_commits(&store).await;
    app.finish().await;
}
