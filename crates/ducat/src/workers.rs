//! Background workers. Each exposes one step that tests call directly; the loop around it only
//! paces the step and stops at a safe point (between steps) when told to.

use crate::services::Services;
use crate::store::{idempotency, StoreError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub fn spawn_all(services: &Services, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    vec![spawn_periodic(
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
    )]
}

fn spawn_periodic<F, Fut>(
    name: &'static str,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    step: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), StoreError>> + Send,
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
