//! Three nodes of one deployment on one database (each its own pools, write lane, workers'
//! steps), driven round-robin: the same OTP to every node at once, the sweeper of every node
//! racing a late OTP, the dispatchers and the webhook deliverers of every node running at once.
//! Each transaction moves once, holds once, is sent to the bank once, and each webhook attempt
//! is made once.

use crate::both_engines;
use crate::helpers::{spawn_app_with, spawn_node_with, Answer, Engine, TestApp, TestBusiness};
use crate::webhooks::{set_webhook_url, Receiver, ReceiverState};
use ducat::config::Config;
use ducat_core::ids::BusinessId;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

both_engines!(
    the_same_otp_on_three_nodes_moves_each_payout_once,
    every_nodes_sweeper_racing_a_late_otp_leaves_one_outcome,
    every_nodes_deliverer_sends_each_attempt_once,
    three_serve_processes_with_their_workers_behind_a_round_robin_client
);

const PHONE: &str = "+2348031234567";

async fn three_nodes(engine: Engine) -> Option<[TestApp; 3]> {
    // The webhook receiver listens on loopback.
    let configure = |config: &mut Config| {
        config.webhook_allow_private_targets = true;
        config.webhook_timeout_secs = 5;
    };
    let first = spawn_app_with(engine, configure).await?;
    let second = spawn_node_with(&first, configure).await;
    let third = spawn_node_with(&first, configure).await;
    Some([first, second, third])
}

async fn finish(nodes: [TestApp; 3]) {
    let [first, second, third] = nodes;
    second.finish().await;
    third.finish().await;
    first.finish().await;
}

async fn initiated(node: &TestApp, business: &TestBusiness) -> String {
    let answer = node
        .post(
            "/v1/wallets/v2/transfer",
            &business.duplo(),
            json!({
                "business_id": business.id,
                "recipient_bank_code": "058",
                "recipient_account_number": "0123456789",
                "amount": 1000,
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn process(node: &TestApp, business: &TestBusiness, reference: &str, otp: &str) -> Answer {
    node.post(
        "/v1/wallets/v2/process-transfer",
        &business.duplo(),
        json!({ "business_id": business.id, "transaction_ref": reference, "otp": otp }),
    )
    .await
}

async fn event_types(node: &TestApp, business: &TestBusiness, reference: &str) -> Vec<String> {
    let id = BusinessId::parse(&business.id).unwrap();
    ducat::store::events::for_transaction(&node.services.store, &id, reference)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

async fn count(node: &TestApp, sql: &str, reference: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(reference)
        .fetch_one(node.services.store.reader())
        .await
        .unwrap()
}

async fn entries(node: &TestApp, reference: &str, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM journal_entries WHERE reference = $1 AND kind = $2")
        .bind(reference)
        .bind(kind)
        .fetch_one(node.services.store.reader())
        .await
        .unwrap()
}

async fn the_same_otp_on_three_nodes_moves_each_payout_once(engine: Engine) {
    let Some(nodes) = three_nodes(engine).await else {
        return;
    };
    let business = nodes[0].create_business().await;
    nodes[0]
        .fund(&business, &business.ngn_account, "100000")
        .await;
    let mut references = Vec::new();
    for i in 0..8 {
        let reference = initiated(&nodes[i % 3], &business).await;
        let otp = nodes[0].latest_otp(&business, PHONE).await;
        // Every node twice, all at once.
        let answers =
            join_all((0..6).map(|k| process(&nodes[k % 3], &business, &reference, &otp))).await;
        let accepted = answers
            .iter()
            .filter(|a| a.status == StatusCode::OK)
            .count();
        assert_eq!(
            accepted,
            1,
            "{:?}",
            answers.iter().map(|a| &a.text).collect::<Vec<_>>()
        );
        for refused in answers.iter().filter(|a| a.status != StatusCode::OK) {
            assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
        }
        assert_eq!(entries(&nodes[0], &reference, "hold").await, 1);
        references.push(reference);
    }
    // Every node's dispatcher at once, twice over.
    let dispatched = join_all((0..6).map(|k| nodes[k % 3].services.dispatch_payouts())).await;
    assert!(dispatched.iter().all(Result::is_ok), "{dispatched:?}");
    for reference in &references {
        assert_eq!(
            count(
                &nodes[0],
                "SELECT COUNT(*) FROM sandbox_transfers WHERE reference = $1",
                reference
            )
            .await,
            1,
            "sent to the bank once"
        );
        assert_eq!(entries(&nodes[0], reference, "settlement").await, 1);
        assert_eq!(
            event_types(&nodes[0], &business, reference).await,
            vec!["PAYOUT_PENDING", "PAYOUT_SUCCESSFUL"]
        );
    }
    finish(nodes).await;
}

async fn every_nodes_sweeper_racing_a_late_otp_leaves_one_outcome(engine: Engine) {
    let Some(nodes) = three_nodes(engine).await else {
        return;
    };
    let business = nodes[0].create_business().await;
    nodes[0]
        .fund(&business, &business.ngn_account, "100000")
        .await;
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..9 {
        let reference = initiated(&nodes[i % 3], &business).await;
        let otp = nodes[0].latest_otp(&business, PHONE).await;
        // One second before the one-hour deadline; the clock is shared by the nodes.
        nodes[0].clock.advance_secs(3599);
        let (answers, swept) = tokio::join!(
            join_all((0..3).map(|k| process(&nodes[k], &business, &reference, &otp))),
            async {
                nodes[0].clock.advance_secs(1);
                join_all(
                    nodes
                        .iter()
                        .map(|node| node.services.abandon_expired_payouts()),
                )
                .await
            }
        );
        let swept: usize = swept.into_iter().map(Result::unwrap).sum();
        let accepted = answers
            .iter()
            .filter(|a| a.status == StatusCode::OK)
            .count();
        let events = event_types(&nodes[0], &business, &reference).await;
        let outcome = match events.as_slice() {
            [only] if only == "PAYOUT_PENDING" => {
                assert_eq!((accepted, swept), (1, 0), "{events:?}");
                assert_eq!(entries(&nodes[0], &reference, "hold").await, 1);
                "pending"
            }
            [only] if only == "PAYOUT_ABANDONED" => {
                // Abandoned by one sweeper, or by a late OTP itself (which is then refused).
                assert_eq!(accepted, 0, "{events:?}");
                assert!(swept <= 1, "{swept} sweepers abandoned one payout");
                assert_eq!(entries(&nodes[0], &reference, "hold").await, 0);
                "abandoned"
            }
            other => panic!("one transition expected, got {other:?}"),
        };
        *outcomes.entry(outcome.to_owned()).or_default() += 1;
        nodes[0].assert_ledger_clean().await;
    }
    assert_eq!(outcomes.values().sum::<usize>(), 9, "{outcomes:?}");
    finish(nodes).await;
}

async fn every_nodes_deliverer_sends_each_attempt_once(engine: Engine) {
    let receiver = Receiver::start(ReceiverState {
        // Slow enough that the deliverers overlap.
        accept_after: Duration::from_millis(100),
        ..ReceiverState::default()
    })
    .await;
    let Some(nodes) = three_nodes(engine).await else {
        return;
    };
    let business = nodes[0].create_business().await;
    set_webhook_url(&nodes[0], &business, &receiver.url("/hook")).await;
    for i in 0..12 {
        nodes[i % 3]
            .fund(&business, &business.ngn_account, &format!("{}", 100 + i))
            .await;
    }
    for _ in 0..2 {
        let delivered = join_all(
            nodes
                .iter()
                .map(|node| ducat::webhooks::deliver_due_webhooks(&node.services)),
        )
        .await;
        assert!(delivered.iter().all(Result::is_ok), "{delivered:?}");
    }
    let received = receiver.received();
    let mut ids: Vec<String> = received
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(received.len(), 12, "one request per event");
    assert_eq!(ids.len(), 12, "each event once");
    for id in &ids {
        let attempts = ducat::store::webhooks::attempts(&nodes[0].services.store, id)
            .await
            .unwrap();
        assert_eq!(attempts.len(), 1, "{id}");
        let state = ducat::store::webhooks::delivery(&nodes[0].services.store, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.status, "delivered");
    }
    finish(nodes).await;
}

/// Three `ducat serve` processes with their workers running (sweeper, dispatcher, webhook
/// deliverer, every node) on one database, the client going round-robin: every OTP is sent to
/// all three at once; half the payouts get their OTP at the deadline, while the sweepers run.
async fn three_serve_processes_with_their_workers_behind_a_round_robin_client(engine: Engine) {
    use crate::crash::Serve;
    let dir = tempfile::tempdir().unwrap();
    let (database_url, postgres) = match engine {
        Engine::Sqlite => (
            format!("sqlite://{}", dir.path().join("ducat.db").display()),
            None,
        ),
        Engine::Postgres => match crate::helpers::fresh_postgres_database().await {
            Some((url, name)) => (url, Some(name)),
            None => return,
        },
    };
    let master_key = hex::encode(rand::random::<[u8; 32]>());
    let mut nodes: Vec<Serve> = (0..3)
        .map(|i| {
            let node_dir = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&node_dir).unwrap();
            let mut node = Serve::new(&node_dir, &database_url, &master_key);
            node.env = vec![
                // A short OTP window, so the late OTPs meet the sweepers (every 5 s) in real time.
                ("DUCAT_PAYOUT_ABANDON_AFTER_SECS", "6".to_owned()),
                ("DUCAT_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
            ];
            node
        })
        .collect();
    let created = nodes[0].cli(&[
        "business",
        "create",
        "--name",
        "Nodes",
        "--otp-phone",
        PHONE,
        "--json",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let business_id = created["business_id"].as_str().unwrap().to_owned();
    let secret_key = created["secret_key"].as_str().unwrap().to_owned();
    let account = created["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["currency"] == "NGN")
        .unwrap()["account_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let receiver = Receiver::start(ReceiverState::default()).await;
    let set = nodes[0].cli(&[
        "business",
        "set",
        &business_id,
        "--webhook-url",
        &receiver.url("/hook"),
    ]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for node in &mut nodes {
        node.start(&client).await;
    }
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let post = |node: usize, path: &str, body: serde_json::Value| {
        client
            .post(format!("{}{path}", bases[node % 3]))
            .bearer_auth(&secret_key)
            .json(&body)
            .send()
    };
    let funded = post(
        0,
        "/sandbox/v1/bank/transfers",
        json!({ "account_number": account, "amount": 1_000_000 }),
    )
    .await
    .unwrap();
    assert_eq!(funded.status(), StatusCode::OK);

    // Twelve payouts, initiated round-robin; each OTP read from the sandbox's outbox.
    let mut payouts = Vec::new();
    for i in 0..12 {
        let answer: serde_json::Value = post(
            i,
            "/v1/wallets/v2/transfer",
            json!({ "business_id": business_id, "recipient_bank_code": "058", "recipient_account_number": "0123456789", "amount": 1000 + i }),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let reference = answer["data"]["transaction_ref"]
            .as_str()
            .unwrap()
            .to_owned();
        let sms: serde_json::Value = client
            .get(format!(
                "{}/sandbox/v1/sms?phone=%2B{}&limit=50",
                bases[i % 3],
                &PHONE[1..]
            ))
            .bearer_auth(&secret_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let otp = sms["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["body"].as_str())
            .find(|body| body.contains(&reference))
            .and_then(|body| {
                body.split_whitespace()
                    .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            })
            .unwrap()
            .to_owned();
        payouts.push((reference, otp, std::time::Instant::now()));
    }
    // The first six get their OTP at once on every node; the other six at their deadline.
    let submit_everywhere = |reference: String, otp: String| {
        let post = &post;
        let business_id = &business_id;
        async move {
            join_all((0..6).map(|node| {
                let body =
                    json!({ "business_id": business_id, "transaction_ref": reference, "otp": otp });
                async move {
                    post(node, "/v1/wallets/v2/process-transfer", body)
                        .await
                        .unwrap()
                        .status()
                }
            }))
            .await
        }
    };
    let mut accepted_by_reference = std::collections::BTreeMap::new();
    for (reference, otp, _) in &payouts[..6] {
        let statuses = submit_everywhere(reference.clone(), otp.clone()).await;
        let accepted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(accepted, 1, "{reference}: {statuses:?}");
        accepted_by_reference.insert(reference.clone(), accepted);
    }
    // Around the deadline: a little before, at, and a little after it (the client's clock
    // started after the server's, so "at" is already a little late).
    let offsets_ms: [i64; 6] = [-400, -150, 0, 150, 400, 800];
    let late = join_all(payouts[6..].iter().zip(offsets_ms).map(
        |((reference, otp, initiated), offset)| {
            let submit = &submit_everywhere;
            async move {
                let deadline = *initiated + Duration::from_secs(6);
                let at = if offset < 0 {
                    deadline - Duration::from_millis(offset.unsigned_abs())
                } else {
                    deadline + Duration::from_millis(offset.unsigned_abs())
                };
                tokio::time::sleep_until(at.into()).await;
                let statuses = submit(reference.clone(), otp.clone()).await;
                (
                    reference.clone(),
                    statuses.iter().filter(|s| **s == StatusCode::OK).count(),
                )
            }
        },
    ))
    .await;
    for (reference, accepted) in late {
        assert!(accepted <= 1, "{reference} accepted {accepted} times");
        accepted_by_reference.insert(reference, accepted);
    }

    // Let the dispatchers send, the sweepers sweep and the deliverers deliver.
    let db = {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&database_url)
            .await
            .unwrap()
    };
    let settled = |db: sqlx::AnyPool| async move {
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM transactions t JOIN payouts p ON p.transaction_ref = t.transaction_ref
             WHERE t.status IN ('awaiting_otp_verification', 'pending')",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        let undelivered: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE status <> 'delivered'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        open == 0 && undelivered == 0
    };
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while !settled(db.clone()).await {
        assert!(
            std::time::Instant::now() < give_up,
            "payouts or webhooks still open after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for (reference, accepted) in &accepted_by_reference {
        let events: Vec<String> = sqlx::query_scalar(
            "SELECT event_type FROM events WHERE transaction_ref = $1 ORDER BY created_at, id",
        )
        .bind(reference)
        .fetch_all(&db)
        .await
        .unwrap();
        let holds: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM journal_entries WHERE reference = $1 AND kind = 'hold'",
        )
        .bind(reference)
        .fetch_one(&db)
        .await
        .unwrap();
        let sent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_transfers WHERE reference = $1")
                .bind(reference)
                .fetch_one(&db)
                .await
                .unwrap();
        if *accepted == 1 {
            assert_eq!(
                events,
                vec!["PAYOUT_PENDING", "PAYOUT_SUCCESSFUL"],
                "{reference}"
            );
            assert_eq!((holds, sent), (1, 1), "{reference}");
        } else {
            assert_eq!(events, vec!["PAYOUT_ABANDONED"], "{reference}");
            assert_eq!((holds, sent), (0, 0), "{reference}");
        }
    }
    // Every event was delivered once: one request per event, whichever node sent it.
    let event_count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&db)
        .await
        .unwrap();
    let received = receiver.received();
    let mut ids: Vec<String> = received
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(received.len(), ids.len(), "an event was delivered twice");
    assert_eq!(i64::try_from(ids.len()).unwrap(), event_count);
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_attempts")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(attempts, event_count, "one attempt per event");
    db.close().await;
    for node in &mut nodes {
        node.terminate();
        assert!(node.warnings().is_empty(), "{:?}", node.warnings());
    }
    let check = nodes[0].cli(&["ledger", "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    println!(
        "three serve processes ({engine:?}): {} payouts, {} accepted once, {} abandoned, {event_count} events delivered once each",
        accepted_by_reference.len(),
        accepted_by_reference.values().filter(|a| **a == 1).count(),
        accepted_by_reference.values().filter(|a| **a == 0).count(),
    );
    if let Some(name) = postgres {
        crate::helpers::drop_postgres_database(&name).await;
    }
}
