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
    every_nodes_deliverer_sends_each_attempt_once
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
