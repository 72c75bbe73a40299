//! Configuration: defaults, then `ducat.toml` (or `--config`), then `DUCAT_…` environment
//! variables and `DATABASE_URL`. A key nobody knows is an error that names it, because a
//! misspelt setting silently ignored is how a gateway ends up with the wrong deadline in production.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Where `serve` generates and then reads the master key when none is given directly.
    pub master_key_file: PathBuf,
    /// The master key itself (64 hex characters); every node sharing one database needs the same.
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
    /// Peers whose `X-Forwarded-For` is believed (CIDRs, comma-separated); empty trusts none.
    pub trusted_proxies: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a single request may take before it is answered with a timeout.
    pub request_timeout_secs: u64,
    /// How long an idempotency key is remembered.
    pub idempotency_retention_secs: u64,
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
            trusted_proxies: String::new(),
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 30,
            idempotency_retention_secs: 24 * 3600,
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
    ("DUCAT_TRUSTED_PROXIES", "trusted_proxies"),
    ("DUCAT_MAX_BODY_BYTES", "max_body_bytes"),
    ("DUCAT_REQUEST_TIMEOUT_SECS", "request_timeout_secs"),
    (
        "DUCAT_IDEMPOTENCY_RETENTION_SECS",
        "idempotency_retention_secs",
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

impl serde::Serialize for Config {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("listen", &self.listen.to_string())?;
        map.serialize_entry("database_url", &self.database_url)?;
        map.serialize_entry("master_key_file", &self.master_key_file)?;
        map.serialize_entry("payout_abandon_after_secs", &self.payout_abandon_after_secs)?;
        map.serialize_entry("payout_max_otp_resends", &self.payout_max_otp_resends)?;
        map.serialize_entry("otp_max_attempts", &self.otp_max_attempts)?;
        map.serialize_entry(
            "checkout_expires_after_secs",
            &self.checkout_expires_after_secs,
        )?;
        map.serialize_entry(
            "direct_payment_otp_ttl_secs",
            &self.direct_payment_otp_ttl_secs,
        )?;
        map.serialize_entry("webhook_schedule_secs", &self.webhook_schedule_secs)?;
        map.serialize_entry(
            "webhook_allow_private_targets",
            &self.webhook_allow_private_targets,
        )?;
        map.serialize_entry("trusted_proxies", &self.trusted_proxies)?;
        map.serialize_entry("max_body_bytes", &self.max_body_bytes)?;
        map.serialize_entry("request_timeout_secs", &self.request_timeout_secs)?;
        map.serialize_entry(
            "idempotency_retention_secs",
            &self.idempotency_retention_secs,
        )?;
        map.end()
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
