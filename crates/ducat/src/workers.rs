//! Background workers. Each exposes one step that tests call directly; the loop around it only
//! paces the step and stops at a safe point (between steps) when told to.

use crate::services::Services;
use crate::store::{idempotency, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub fn spawn_all(services: &Services, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    if !services.config.run_workers {
        return Vec::new();
    }
    let payouts = spawn_payout_workers(services, &stop);
    let sms = spawn_sms_worker(services, stop.clone());
    let webhook_stop = stop.clone();
    let dashboard_stop = stop.clone();
    let mut handles = vec![spawn_periodic(
        "idempotency-purge",
        Duration::from_secs(600),
        stop,
        {
            let services = services.clone();
            move || {
                let services = services.clone();
                async move { purge_idempotency_keys(&services).await.map(|_| ()) }
            }
        },
    )];
    handles.push(spawn_periodic(
        "dashboard-purge",
        Duration::from_secs(600),
        dashboard_stop,
        {
            let services = services.clone();
            move || {
                let services = services.clone();
                async move { services.purge_dashboard_rows().await.map(|_| ()) }
            }
        },
    ));
    handles.push(spawn_periodic(
        "webhook-delivery",
        Duration::from_secs(1),
        webhook_stop,
        {
            let services = services.clone();
            move || {
                let services = services.clone();
                async move {
                    crate::webhooks::deliver_due_webhooks(&services)
                        .await
                        .map(|_| ())
                }
            }
        },
    ));
    handles.extend(sms);
    handles.extend(payouts);
    handles
}

/// The payout sweeper (abandons payouts at their OTP deadline) and dispatcher (sends pending
/// payouts to the bank and asks about unknown outcomes).
fn spawn_payout_workers(services: &Services, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let sweeper = {
        let services = services.clone();
        spawn_periodic(
            "payout-sweeper",
            Duration::from_secs(5),
            stop.clone(),
            move || {
                let services = services.clone();
                async move { services.abandon_expired_payouts().await.map(|_| ()) }
            },
        )
    };
    let dispatcher = {
        let services = services.clone();
        spawn_periodic_or_woken(
            "payout-dispatcher",
            Duration::from_millis(500),
            stop.clone(),
            services.payouts_due.clone(),
            move || {
                let services = services.clone();
                async move { services.dispatch_payouts().await.map(|_| ()) }
            },
        )
    };
    let checkout_expiry = {
        let services = services.clone();
        spawn_periodic(
            "checkout-expiry",
            Duration::from_secs(5),
            stop.clone(),
            move || {
                let services = services.clone();
                async move { services.expire_checkouts().await.map(|_| ()) }
            },
        )
    };
    let direct_payments = {
        let services = services.clone();
        spawn_periodic(
            "direct-payments",
            Duration::from_secs(1),
            stop.clone(),
            move || {
                let services = services.clone();
                async move { services.settle_due_direct_payments().await.map(|_| ()) }
            },
        )
    };
    vec![sweeper, dispatcher, checkout_expiry, direct_payments]
}

/// The SMS port's worker, on nodes that run workers: with a gateway configured it sends what is
/// due (every second, so an OTP is not kept waiting); with the outbox it settles new messages as
/// `not_required` (see [`crate::sms::settle_outbox_sms`] for why they are not left pending).
fn spawn_sms_worker(services: &Services, stop: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    if !services.config.run_workers {
        return None;
    }
    let services = services.clone();
    let every = Duration::from_secs(1);
    Some(match services.sms_sender.clone() {
        Some(sender) => spawn_periodic("sms-delivery", every, stop, move || {
            let services = services.clone();
            let sender = sender.clone();
            async move {
                crate::sms::deliver_pending_sms(&services, sender.as_ref())
                    .await
                    .map(|_| ())
            }
        }),
        None => spawn_periodic("sms-outbox", every, stop, move || {
            let services = services.clone();
            async move { crate::sms::settle_outbox_sms(&services).await.map(|_| ()) }
        }),
    })
}

fn spawn_periodic<F, Fut, E>(
    name: &'static str,
    every: Duration,
    stop: watch::Receiver<bool>,
    step: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    spawn_periodic_or_woken(name, every, stop, Arc::new(Notify::new()), step)
}

/// As [`spawn_periodic`], and also at once whenever `wake` is notified (a notification during a
/// step is kept, so the next step follows without waiting).
fn spawn_periodic_or_woken<F, Fut, E>(
    name: &'static str,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    wake: Arc<Notify>,
    step: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(error) = step().await {
                tracing::warn!(worker = name, error = %error, "worker step failed; will retry");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
        tracing::debug!(worker = name, "stopped");
    })
}

/// Forgets idempotency keys older than the retention period. Returns how many went.
pub async fn purge_idempotency_keys(services: &Services) -> Result<u64, StoreError> {
    let retention_ms = i64::try_from(services.config.idempotency_retention_secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    idempotency::purge_expired(&services.store, services.now_ms(), retention_ms).await
}
