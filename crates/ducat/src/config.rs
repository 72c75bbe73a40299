//! Configuration: defaults, then `ducat.toml` (or `--config`), then `DUCAT_…` environment
//! variables and `DATABASE_URL`. A key nobody knows is an error that names it, because a
//! misspelt setting silently ignored is how a gateway ends up with the wrong deadline in production.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Where `serve` generates and then reads the master key when none is given directly.
    pub master_key_file: PathBuf,
    /// The master key itself (64 hex characters); every node sharing one database needs the same.
    #[serde(skip_serializing)]
    pub master_key: Option<String>,
    /// The address businesses and customers reach this gateway at, for printed and returned links.
    pub public_url: Option<String>,
    pub payout_abandon_after_secs: u64,
    pub payout_max_otp_resends: u32,
    pub otp_max_attempts: u32,
    pub checkout_expires_after_secs: u64,
    pub direct_payment_otp_ttl_secs: u64,
    pub webhook_schedule_secs: String,
    pub webhook_allow_private_targets: bool,
    /// How long one webhook POST may take (answer included) before it counts as failed.
    pub webhook_timeout_secs: u64,
    /// How long, after `ducat business rotate-webhook-secret`, deliveries are also signed with
    /// the previous secret (the command's `--overlap-secs` overrides it).
    pub webhook_secret_overlap_secs: u64,
    /// Peers whose `X-Forwarded-For` is believed (CIDRs, comma-separated); empty trusts none.
    pub trusted_proxies: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a single request may take before it is answered with a timeout.
    pub request_timeout_secs: u64,
    /// How long a client may take to send a request's headers before its connection is closed.
    pub header_read_timeout_secs: u64,
    /// How long an idempotency key is remembered.
    pub idempotency_retention_secs: u64,
    /// Whether this process runs the background workers (dispatcher, sweeper, deliverers).
    /// Nodes that only answer API calls, and tests that drive each worker step themselves,
    /// turn them off.
    pub run_workers: bool,
    /// Where SMS go: `outbox` (stored only, read through the sandbox API and the dashboard) or
    /// `http` (POSTed as JSON to `sms_http_url`).
    pub sms_provider: String,
    pub sms_http_url: Option<String>,
    /// Sent as `Authorization: Bearer <token>` to the SMS gateway. Never serialized, so a dump
    /// of the configuration cannot leak it.
    #[serde(skip_serializing)]
    pub sms_http_token: Option<String>,
    /// How long one send to the SMS gateway may take before it counts as failed and is retried.
    pub sms_http_timeout_secs: u64,
    /// Sends tried per message before it is left `failed`.
    pub sms_max_attempts: u32,
    /// The bank live-mode businesses use: `sandbox` (in process) or `http` (the bank-adapter
    /// protocol at `rail_http_url`). Test-mode businesses always use the sandbox.
    pub rail: RailProvider,
    /// The bank adapter's base URL (without `/v1`).
    pub rail_http_url: Option<String>,
    /// Sent as `Authorization: Bearer <token>` to the bank adapter. Never serialized.
    #[serde(skip_serializing)]
    pub rail_http_token: Option<String>,
    /// How long one request to the bank may take, answer included; past it the outcome is unknown.
    pub rail_http_timeout_secs: u64,
    /// Tries per call to the bank (a transfer is retried with its same reference).
    pub rail_http_max_attempts: u32,
    /// The wait before the second try, in milliseconds; doubled for each later one.
    pub rail_http_retry_backoff_ms: u64,
    /// Consecutive failed calls (no answer or 5xx) that open the circuit to the bank.
    pub rail_http_breaker_failures: u32,
    /// How long an open circuit fails fast before one trial request is let through.
    pub rail_http_breaker_cooldown_secs: u64,
    /// The secret the bank signs inflow notifications with (`POST /bank/v1/notifications/inflows`);
    /// during a rotation, two comma-separated secrets. Unset: notifications are refused (503).
    /// Never serialized.
    #[serde(skip_serializing)]
    pub rail_http_notification_secret: Option<String>,
}

/// Which bank adapter live mode uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RailProvider {
    Sandbox,
    Http,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://ducat.db".to_owned(),
            master_key_file: PathBuf::from("ducat.key"),
            master_key: None,
            public_url: None,
            payout_abandon_after_secs: 3600,
            payout_max_otp_resends: 3,
            otp_max_attempts: 5,
            checkout_expires_after_secs: 3600,
            direct_payment_otp_ttl_secs: 600,
            webhook_schedule_secs: "0,5,300,1800,7200,18000,36000,50400,72000,86400".to_owned(),
            webhook_allow_private_targets: false,
            webhook_timeout_secs: 15,
            webhook_secret_overlap_secs: 86_400,
            trusted_proxies: String::new(),
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            idempotency_retention_secs: 24 * 3600,
            run_workers: true,
            sms_provider: "outbox".to_owned(),
            sms_http_url: None,
            sms_http_token: None,
            sms_http_timeout_secs: 10,
            sms_max_attempts: 8,
            rail: RailProvider::Sandbox,
            rail_http_url: None,
            rail_http_token: None,
            rail_http_timeout_secs: 10,
            rail_http_max_attempts: 3,
            rail_http_retry_backoff_ms: 200,
            rail_http_breaker_failures: 5,
            rail_http_breaker_cooldown_secs: 30,
            rail_http_notification_secret: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// Every setting that may come from the environment, with the name it has there.
const ENV_KEYS: &[(&str, &str)] = &[
    ("DUCAT_LISTEN", "listen"),
    ("DATABASE_URL", "database_url"),
    ("DUCAT_DATABASE_URL", "database_url"),
    ("DUCAT_MASTER_KEY_FILE", "master_key_file"),
    ("DUCAT_MASTER_KEY", "master_key"),
    ("DUCAT_PUBLIC_URL", "public_url"),
    (
        "DUCAT_PAYOUT_ABANDON_AFTER_SECS",
        "payout_abandon_after_secs",
    ),
    ("DUCAT_PAYOUT_MAX_OTP_RESENDS", "payout_max_otp_resends"),
    ("DUCAT_OTP_MAX_ATTEMPTS", "otp_max_attempts"),
    (
        "DUCAT_CHECKOUT_EXPIRES_AFTER_SECS",
        "checkout_expires_after_secs",
    ),
    (
        "DUCAT_DIRECT_PAYMENT_OTP_TTL_SECS",
        "direct_payment_otp_ttl_secs",
    ),
    ("DUCAT_WEBHOOK_SCHEDULE_SECS", "webhook_schedule_secs"),
    (
        "DUCAT_WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "webhook_allow_private_targets",
    ),
    ("DUCAT_WEBHOOK_TIMEOUT_SECS", "webhook_timeout_secs"),
    (
        "DUCAT_WEBHOOK_SECRET_OVERLAP_SECS",
        "webhook_secret_overlap_secs",
    ),
    ("DUCAT_TRUSTED_PROXIES", "trusted_proxies"),
    ("DUCAT_MAX_BODY_BYTES", "max_body_bytes"),
    ("DUCAT_REQUEST_TIMEOUT_SECS", "request_timeout_secs"),
    ("DUCAT_HEADER_READ_TIMEOUT_SECS", "header_read_timeout_secs"),
    (
        "DUCAT_IDEMPOTENCY_RETENTION_SECS",
        "idempotency_retention_secs",
    ),
    ("DUCAT_RUN_WORKERS", "run_workers"),
    ("DUCAT_SMS_PROVIDER", "sms_provider"),
    ("DUCAT_SMS_HTTP_URL", "sms_http_url"),
    ("DUCAT_SMS_HTTP_TOKEN", "sms_http_token"),
    ("DUCAT_SMS_HTTP_TIMEOUT_SECS", "sms_http_timeout_secs"),
    ("DUCAT_SMS_MAX_ATTEMPTS", "sms_max_attempts"),
    ("DUCAT_RAIL", "rail"),
    ("DUCAT_RAIL_HTTP_URL", "rail_http_url"),
    ("DUCAT_RAIL_HTTP_TOKEN", "rail_http_token"),
    ("DUCAT_RAIL_HTTP_TIMEOUT_SECS", "rail_http_timeout_secs"),
    ("DUCAT_RAIL_HTTP_MAX_ATTEMPTS", "rail_http_max_attempts"),
    (
        "DUCAT_RAIL_HTTP_RETRY_BACKOFF_MS",
        "rail_http_retry_backoff_ms",
    ),
    (
        "DUCAT_RAIL_HTTP_BREAKER_FAILURES",
        "rail_http_breaker_failures",
    ),
    (
        "DUCAT_RAIL_HTTP_BREAKER_COOLDOWN_SECS",
        "rail_http_breaker_cooldown_secs",
    ),
    (
        "DUCAT_RAIL_HTTP_NOTIFICATION_SECRET",
        "rail_http_notification_secret",
    ),
];

impl Config {
    /// Loads the file (an explicit path must exist; the default `ducat.toml` is optional),
    /// then applies the environment given.
    pub fn load(
        explicit_file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let (path, must_exist) = match explicit_file {
            Some(path) => (path.to_path_buf(), true),
            None => (PathBuf::from("ducat.toml"), false),
        };
        let mut table = match std::fs::read_to_string(&path) {
            Ok(text) => text.parse::<toml::Table>().map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                message: e.message().to_owned(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => toml::Table::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        for (name, key) in ENV_KEYS {
            if let Some(value) = env.get(*name) {
                let parsed = env_value(key, value).map_err(|message| ConfigError::Env {
                    name: (*name).to_owned(),
                    message,
                })?;
                table.insert((*key).to_owned(), parsed);
            }
        }
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::File {
                    path: path.display().to_string(),
                    message: e.message().to_owned(),
                })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.webhook_schedule().map_err(ConfigError::Invalid)?;
        self.trusted_proxy_nets().map_err(ConfigError::Invalid)?;
        self.validate_sms()?;
        self.validate_rail()?;
        if self.webhook_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "webhook_timeout_secs must be at least 1".into(),
            ));
        }
        if self.header_read_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "header_read_timeout_secs must be at least 1".into(),
            ));
        }
        if self.otp_max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "otp_max_attempts must be at least 1".into(),
            ));
        }
        if !self.database_url.starts_with("sqlite:") && !self.database_url.starts_with("postgres") {
            return Err(ConfigError::Invalid(format!(
                "database_url must start with sqlite: or postgres://, not {:?}",
                self.database_url.split(':').next().unwrap_or_default()
            )));
        }
        Ok(())
    }

    fn validate_sms(&self) -> Result<(), ConfigError> {
        match self.sms_provider.as_str() {
            "outbox" => {}
            "http" => {
                let url = self.sms_http_url.as_deref().unwrap_or_default();
                if !url.starts_with("http://") && !url.starts_with("https://") {
                    return Err(ConfigError::Invalid(
                        "sms_provider \"http\" needs sms_http_url starting with http:// or https://"
                            .into(),
                    ));
                }
            }
            other => {
                return Err(ConfigError::Invalid(format!(
                    "sms_provider must be \"outbox\" or \"http\", not {other:?}"
                )))
            }
        }
        // Zero would make every send time out at once, or never try at all: both lose messages.
        if self.sms_http_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "sms_http_timeout_secs must be at least 1".into(),
            ));
        }
        if self.sms_max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "sms_max_attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }

    fn validate_rail(&self) -> Result<(), ConfigError> {
        match self.rail {
            RailProvider::Sandbox => {}
            RailProvider::Http => {
                let url = self.rail_http_url.as_deref().unwrap_or_default();
                if !url.starts_with("http://") && !url.starts_with("https://") {
                    return Err(ConfigError::Invalid(
                        "rail \"http\" needs rail_http_url starting with http:// or https://"
                            .into(),
                    ));
                }
            }
        }
        for (name, value) in [
            ("rail_http_timeout_secs", self.rail_http_timeout_secs),
            (
                "rail_http_max_attempts",
                u64::from(self.rail_http_max_attempts),
            ),
            (
                "rail_http_breaker_failures",
                u64::from(self.rail_http_breaker_failures),
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
            }
        }
        Ok(())
    }

    /// The `http` rail's settings, read from this configuration.
    pub fn http_rail_settings(&self) -> crate::rail::http::HttpRailSettings {
        crate::rail::http::HttpRailSettings {
            base_url: self.rail_http_url.clone().unwrap_or_default(),
            token: self.rail_http_token.clone(),
            timeout: std::time::Duration::from_secs(self.rail_http_timeout_secs),
            max_attempts: self.rail_http_max_attempts,
            retry_backoff: std::time::Duration::from_millis(self.rail_http_retry_backoff_ms),
            breaker_failures: self.rail_http_breaker_failures,
            breaker_cooldown_ms: i64::try_from(self.rail_http_breaker_cooldown_secs)
                .unwrap_or(i64::MAX / 2)
                .saturating_mul(1000),
        }
    }

    pub fn webhook_schedule(&self) -> Result<Vec<u64>, String> {
        let delays: Result<Vec<u64>, _> = self
            .webhook_schedule_secs
            .split(',')
            .map(|part| part.trim().parse::<u64>())
            .collect();
        match delays {
            Ok(delays) if !delays.is_empty() => Ok(delays),
            _ => Err(format!(
                "webhook_schedule_secs must be comma-separated whole seconds, not {:?}",
                self.webhook_schedule_secs
            )),
        }
    }

    pub fn trusted_proxy_nets(&self) -> Result<Vec<ipnet::IpNet>, String> {
        crate::ip::parse_cidr_list(&self.trusted_proxies)
            .map_err(|e| format!("trusted_proxies: {e}"))
    }

    /// The base URL printed in links: the configured public URL, else the listen address.
    /// How long the payout dispatcher holds a payout it is sending: longer than the longest
    /// exchange with the bank (every attempt timing out, and the backoff between them), so no
    /// other node sends it meanwhile; short enough that a payout whose node died mid-send is
    /// taken up again soon after. A second send would be harmless anyway (the bank applies a
    /// reference once); the lease only keeps it from being the rule.
    pub fn payout_dispatch_lease_ms(&self) -> i64 {
        let attempts = u64::from(self.rail_http_max_attempts.max(1));
        let waiting = self
            .rail_http_timeout_secs
            .saturating_mul(1000)
            .saturating_mul(attempts);
        let backoff = (0..attempts.saturating_sub(1)).fold(0u64, |total, retry| {
            total.saturating_add(
                self.rail_http_retry_backoff_ms
                    .saturating_mul(1 << retry.min(20)),
            )
        });
        let margin = 5_000;
        i64::try_from(waiting.saturating_add(backoff).saturating_add(margin))
            .unwrap_or(i64::MAX)
            .max(10_000)
    }

    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }
}

/// Environment values are text; the file's types are recovered from the key's default.
fn env_value(key: &str, value: &str) -> Result<toml::Value, String> {
    let defaults = toml::Value::try_from(Config::default()).map_err(|e| e.to_string())?;
    let is_number = matches!(defaults.get(key), Some(toml::Value::Integer(_)));
    let is_bool = matches!(defaults.get(key), Some(toml::Value::Boolean(_)));
    if is_number {
        value
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("expected a whole number, got {value:?}"))
    } else if is_bool {
        match value.trim() {
            "1" | "true" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "0" | "false" | "no" | "off" | "" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("expected true or false, got {value:?}")),
        }
    } else {
        Ok(toml::Value::String(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_dispatch_lease_outlives_the_longest_exchange_with_the_bank() {
        let config = Config::default();
        // 3 attempts of 10 s, 200 + 400 ms between them, 5 s to spare.
        assert_eq!(config.payout_dispatch_lease_ms(), 35_600);
        let quick = Config {
            rail_http_timeout_secs: 1,
            rail_http_max_attempts: 1,
            ..Config::default()
        };
        assert_eq!(quick.payout_dispatch_lease_ms(), 10_000);
    }

    #[test]
    fn defaults_match_the_design() {
        let config = Config::load(Some(Path::new("/dev/null")), &env(&[])).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://ducat.db");
        assert_eq!(config.payout_abandon_after_secs, 3600);
        assert_eq!(config.payout_max_otp_resends, 3);
        assert_eq!(config.otp_max_attempts, 5);
        assert_eq!(config.webhook_schedule().unwrap().len(), 10);
    }

    #[test]
    fn environment_overrides_and_is_typed() {
        let config = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[
                ("DUCAT_PAYOUT_ABANDON_AFTER_SECS", "60"),
                ("DUCAT_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
                ("DATABASE_URL", "postgres://localhost/x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.payout_abandon_after_secs, 60);
        assert!(config.webhook_allow_private_targets);
        assert_eq!(config.webhook_timeout_secs, 15);
        let short = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_WEBHOOK_TIMEOUT_SECS", "3")]),
        )
        .unwrap();
        assert_eq!(short.webhook_timeout_secs, 3);
        assert!(Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_WEBHOOK_TIMEOUT_SECS", "0")]),
        )
        .is_err());
        let api_only = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_RUN_WORKERS", "false")]),
        )
        .unwrap();
        assert!(!api_only.run_workers);
        assert_eq!(config.database_url, "postgres://localhost/x");
        let bad = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_OTP_MAX_ATTEMPTS", "five")]),
        );
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("DUCAT_OTP_MAX_ATTEMPTS"));
    }

    #[test]
    fn sms_settings_default_to_the_outbox_and_are_validated() {
        let config = Config::load(Some(Path::new("/dev/null")), &env(&[])).unwrap();
        assert_eq!(config.sms_provider, "outbox");
        assert_eq!(config.sms_http_url, None);
        assert_eq!(config.sms_http_timeout_secs, 10);
        assert_eq!(config.sms_max_attempts, 8);
        let http = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[
                ("DUCAT_SMS_PROVIDER", "http"),
                ("DUCAT_SMS_HTTP_URL", "https://sms.example/send"),
                ("DUCAT_SMS_HTTP_TOKEN", "sk_sms"),
                ("DUCAT_SMS_HTTP_TIMEOUT_SECS", "3"),
                ("DUCAT_SMS_MAX_ATTEMPTS", "4"),
            ]),
        )
        .unwrap();
        assert_eq!(http.sms_provider, "http");
        assert_eq!(
            http.sms_http_url.as_deref(),
            Some("https://sms.example/send")
        );
        assert_eq!(http.sms_http_token.as_deref(), Some("sk_sms"));
        assert_eq!(http.sms_http_timeout_secs, 3);
        assert_eq!(http.sms_max_attempts, 4);
        let dumped = toml::to_string(&http).unwrap();
        assert!(!dumped.contains("sk_sms"), "{dumped}");
        let no_url = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_SMS_PROVIDER", "http")]),
        );
        assert!(no_url.unwrap_err().to_string().contains("sms_http_url"));
        let bad_url = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[
                ("DUCAT_SMS_PROVIDER", "http"),
                ("DUCAT_SMS_HTTP_URL", "ftp://sms.example"),
            ]),
        );
        assert!(bad_url.unwrap_err().to_string().contains("http://"));
        let unknown = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_SMS_PROVIDER", "twilio")]),
        );
        assert!(unknown.unwrap_err().to_string().contains("\"twilio\""));
        let zero = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_SMS_MAX_ATTEMPTS", "0")]),
        );
        assert!(zero.unwrap_err().to_string().contains("sms_max_attempts"));
    }

    #[test]
    fn rail_settings_default_to_the_sandbox_and_are_validated() {
        let config = Config::load(Some(Path::new("/dev/null")), &env(&[])).unwrap();
        assert_eq!(config.rail, RailProvider::Sandbox);
        assert_eq!(config.rail_http_timeout_secs, 10);
        let http = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[
                ("DUCAT_RAIL", "http"),
                ("DUCAT_RAIL_HTTP_URL", "http://127.0.0.1:9090"),
                ("DUCAT_RAIL_HTTP_TOKEN", "bank_secret"),
                ("DUCAT_RAIL_HTTP_TIMEOUT_SECS", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(http.rail, RailProvider::Http);
        assert_eq!(http.rail_http_url.as_deref(), Some("http://127.0.0.1:9090"));
        assert_eq!(http.rail_http_timeout_secs, 2);
        assert!(!toml::to_string(&http).unwrap().contains("bank_secret"));
        let no_url = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_RAIL", "http")]),
        );
        assert!(no_url.unwrap_err().to_string().contains("rail_http_url"));
        let unknown = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_RAIL", "swift")]),
        );
        assert!(unknown.unwrap_err().to_string().contains("swift"));
        let zero = Config::load(
            Some(Path::new("/dev/null")),
            &env(&[("DUCAT_RAIL_HTTP_TIMEOUT_SECS", "0")]),
        );
        assert!(zero
            .unwrap_err()
            .to_string()
            .contains("rail_http_timeout_secs"));
    }

    #[test]
    fn an_unknown_file_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ducat.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\npayout_abandon_after_sec = 5\n",
        )
        .unwrap();
        let err = Config::load(Some(&path), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("payout_abandon_after_sec"), "{err}");
    }
}
