//! ducat: a self-hosted payment gateway speaking the Duplo and Beqelal APIs on one
//! double-entry ledger.
//!
//! The library exposes [`App::build`] and [`App::run`] so that `main` only wires configuration
//! and telemetry, and every test starts a real server on port 0.

pub mod bank_sim;
pub mod cli;
pub mod clock;
pub mod config;
pub mod documents;
pub mod http;
pub mod ip;
pub mod rail;
pub mod secrets;
pub mod services;
pub mod sms;
pub mod store;
pub mod webhooks;
pub mod workers;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::metrics::Metrics;
use crate::http::AppState;
use crate::rail::http::HttpRail;
use crate::rail::sandbox::SandboxRail;
use crate::secrets::MasterKey;
use crate::services::businesses::{CreatedBusiness, NewBusiness};
use crate::services::{AppError, Services};
use crate::store::businesses::Mode;
use crate::store::{Store, StoreError};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    App(#[from] AppError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A built gateway: configuration applied, database migrated, ready to serve.
pub struct App {
    services: Services,
    metrics: Arc<Metrics>,
}

impl App {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
        let master_key = match &config.master_key {
            Some(hex) => MasterKey::from_hex(hex)?,
            None => MasterKey::load_or_create(&config.master_key_file)?,
        };
        // Built once here, so a gateway that cannot be configured fails at start, not per message.
        let sms_sender = sms::sender_from_config(&config)?;
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let sandbox_rail: Arc<dyn rail::Rail> = Arc::new(
            SandboxRail::new(store.clone(), clock.clone())
                .serving_live(matches!(config.rail, config::RailProvider::Sandbox)),
        );
        let live_rail: Arc<dyn rail::Rail> = match config.rail {
            config::RailProvider::Sandbox => sandbox_rail.clone(),
            config::RailProvider::Http => Arc::new(
                HttpRail::new(config.http_rail_settings(), clock.clone())
                    .map_err(|e| config::ConfigError::Invalid(format!("rail \"http\": {e}")))?,
            ),
        };
        let mut metrics = Metrics::new();
        metrics.register_write_lane(store.write_lane_stats());
        let services = Services {
            store,
            clock,
            keys: master_key.keys(),
            config: Arc::new(config),
            // Test mode always banks with the sandbox; live mode with the configured rail.
            sandbox_rail,
            live_rail,
            sms_sender,
            metrics: Arc::new(metrics),
            payouts_due: Arc::new(tokio::sync::Notify::new()),
            credentials: Arc::default(),
            otp_guard: Arc::default(),
        };
        Ok(App {
            metrics: services.metrics.clone(),
            services,
        })
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    pub fn router(&self) -> axum::Router {
        let trusted = self
            .services
            .config
            .trusted_proxy_nets()
            .unwrap_or_default();
        http::router(AppState {
            services: self.services.clone(),
            metrics: self.metrics.clone(),
            trusted_proxies: Arc::new(trusted),
        })
    }

    /// On an empty database, creates the demo business and returns its credentials (shown
    /// once); otherwise returns nothing, so later starts never print secrets again.
    pub async fn ensure_demo_business(&self) -> Result<Option<CreatedBusiness>, StartError> {
        if store::businesses::count_businesses(&self.services.store).await? > 0 {
            return Ok(None);
        }
        let created = self
            .services
            .create_business(NewBusiness {
                name: "Demo Business".to_owned(),
                email: Some("demo@ducat.local".to_owned()),
                otp_phone: Some("+2348000000001".to_owned()),
                mode: Mode::Test,
            })
            .await?;
        Ok(Some(created))
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish and stops the
    /// workers at a safe point.
    pub async fn run<F>(self, listener: TcpListener, shutdown: F) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker_handles = workers::spawn_all(&self.services, stopped);
        let router = self.router();
        let served = http::serve::serve(
            listener,
            router,
            std::time::Duration::from_secs(self.services.config.header_read_timeout_secs),
            async move {
                shutdown.await;
                tracing::info!("shutting down: finishing in-flight requests");
            },
        )
        .await;
        let _ = stop.send(true);
        for handle in worker_handles {
            let _ = handle.await;
        }
        self.services.store.close().await;
        served
    }
}
