//! The ledger as stored: random sequences of movements through the store on each engine,
//! checked after every step, and corruption that `check` must name.

use crate::both_engines;
use crate::helpers::{spawn_app, Engine};
use ducat::store::ledger::{self as ledger_store, EntryKind};
use ducat::store::StoreError;
use ducat_core::ids::WalletRef;
use ducat_core::ledger::{self, Account, Balances, LedgerError};
use ducat_core::money::{Currency, MinorUnits};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

both_engines!(
    random_movements_keep_every_invariant,
    check_names_each_broken_invariant
);

const CROSS_CHECKS: [&str; 2] = [
    "held money equals the payouts in flight",
    "suspense is empty: every unmatched transfer was returned",
];

async fn random_movements_keep_every_invariant(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let wallet = WalletRef::parse(&business.ngn_wallet).unwrap();
    let currency = Currency::Ngn;
    let store = &app.services.store;
    let mut model = Balances::default();
    let mut rng = StdRng::seed_from_u64(20261122);
    for step in 0..120 {
        let amount = MinorUnits(rng.gen_range(1..50_000));
        let (entry, kind) = match rng.gen_range(0..6) {
            0 => (
                ledger::inflow(&wallet, currency, amount, MinorUnits(amount.get() / 100)),
                EntryKind::Inflow,
            ),
            1 => (ledger::hold(&wallet, currency, amount), EntryKind::Hold),
            2 => (
                ledger::release(&wallet, currency, amount),
                EntryKind::Release,
            ),
            3 => (
                ledger::settle_hold(&wallet, currency, amount, MinorUnits(rng.gen_range(0..500))),
                EntryKind::Settlement,
            ),
            4 => (
                ledger::receive_unmatched(currency, amount),
                EntryKind::UnmatchedInflow,
            ),
            _ => (
                ledger::return_unmatched(currency, amount),
                EntryKind::UnmatchedReturn,
            ),
        };
        let entry = entry.unwrap();
        let expected = model.clone().apply(&entry);
        let mut tx = store.begin().await.unwrap();
        let stored = ledger_store::post(&mut tx, &entry, kind, &format!("step-{step}"), 0).await;
        match (&expected, &stored) {
            (Ok(()), Ok(_)) => {
                tx.commit().await.unwrap();
                model.apply(&entry).unwrap();
            }
            (
                Err(LedgerError::InsufficientFunds { .. }),
                Err(StoreError::Ledger(LedgerError::InsufficientFunds { .. })),
            ) => {
                tx.rollback().await.unwrap();
            }
            _ => panic!("step {step}: the model said {expected:?}, the store {stored:?}"),
        }
        // Holds and unmatched money here are raw movements with no payout or transfer behind
        // them, so the cross-checks against payouts in flight and returned transfers do not
        // apply mid-sequence; every other invariant must hold.
        let violations: Vec<_> = ledger_store::check(store)
            .await
            .unwrap()
            .into_iter()
            .filter(|v| !CROSS_CHECKS.contains(&v.invariant))
            .collect();
        assert!(violations.is_empty(), "step {step}: {violations:#?}");
    }
    let (available, held) = ledger_store::wallet_balances(store, &wallet).await.unwrap();
    assert_eq!(available, model.balance(&Account::available(&wallet)));
    assert_eq!(held, model.balance(&Account::held(&wallet)));
    // Give back what the raw holds reserved, so the closing check (which ties held money to
    // payouts in flight) sees none.
    if held.is_positive() {
        let mut tx = store.begin().await.unwrap();
        let entry = ledger::release(&wallet, currency, held).unwrap();
        ledger_store::post(&mut tx, &entry, EntryKind::Release, "closing", 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let suspense = model.balance(&Account::system(
        currency,
        ducat_core::ledger::SystemAccount::Suspense,
    ));
    if suspense.is_positive() {
        let mut tx = store.begin().await.unwrap();
        let entry = ledger::return_unmatched(currency, suspense).unwrap();
        ledger_store::post(&mut tx, &entry, EntryKind::UnmatchedReturn, "closing", 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    app.finish().await;
}

async fn check_names_each_broken_invariant(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    app.fund(&business, &business.ngn_account, "100").await;
    let store = &app.services.store;
    assert!(ledger_store::check(store).await.unwrap().is_empty());

    // A balance that no longer matches its postings.
    sqlx::query("UPDATE ledger_accounts SET balance = balance + 1 WHERE account_key = $1")
        .bind(format!("{}:available", business.ngn_wallet))
        .execute(store.writer())
        .await
        .unwrap();
    let violations = ledger_store::check(store).await.unwrap();
    let names: Vec<_> = violations.iter().map(|v| v.invariant).collect();
    assert_eq!(
        names,
        vec!["each account's balance equals the sum of its postings"],
        "{violations:#?}"
    );

    // A posting that unbalances its entry, and so the currency, and the inflow it belongs to.
    sqlx::query(
        "UPDATE postings SET amount = amount + 5 WHERE id = (SELECT MIN(p.id) FROM postings p
         JOIN ledger_accounts a ON a.account_key = p.account_key WHERE a.kind = 'available')",
    )
    .execute(store.writer())
    .await
    .unwrap();
    let violations = ledger_store::check(store).await.unwrap();
    let names: Vec<_> = violations.iter().map(|v| v.invariant).collect();
    for expected in [
        "postings sum to zero per currency",
        "every journal entry balances",
        "each account's balance equals the sum of its postings",
        "every successful inflow is credited exactly once",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {violations:#?}"
        );
    }
    // Put it back so the closing check passes.
    sqlx::query(
        "UPDATE postings SET amount = amount - 5 WHERE id = (SELECT MIN(p.id) FROM postings p
         JOIN ledger_accounts a ON a.account_key = p.account_key WHERE a.kind = 'available')",
    )
    .execute(store.writer())
    .await
    .unwrap();
    sqlx::query("UPDATE ledger_accounts SET balance = balance - 1 WHERE account_key = $1")
        .bind(format!("{}:available", business.ngn_wallet))
        .execute(store.writer())
        .await
        .unwrap();
    app.finish().await;
}
