//! Configuration: environment variables, optionally over a TOML file (env wins).

use anyhow::{Context, bail};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: Database,
    pub public_url: String,
    pub timezone: chrono_tz::Tz,
    pub allow_private_notify: bool,
    pub notify_schedule: RetrySchedule,
    /// A collector counts as online this long after its last heartbeat.
    pub collector_online_secs: i64,
    /// What one client connection may hold (timeouts, connection cap).
    pub limits: jiufu_http_guard::Limits,
    /// Finished orders' history, notification attempts, events and
    /// spent nonces are kept this long, in seconds.
    pub retention_secs: i64,
    /// PostgreSQL: how long a notification taken by one instance stays
    /// its own before another may attempt it (an instance killed mid-attempt).
    pub notify_lease_secs: i64,
    /// Proxies whose `X-Forwarded-For` names the client (`JIUFU_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::net::client::TrustedProxies,
    /// Wrong signatures an address may send per minute before it is
    /// refused for the rest of that minute (`JIUFU_BAD_SIGN_LIMIT`; 0: off).
    pub bad_sign_limit: u32,
}

/// The shortest notification lease: a lease shorter than an attempt (up
/// to the 10 s notify timeout, and more with a slow database) lets another
/// instance send the same notification again meanwhile.
pub const MIN_NOTIFY_LEASE_SECS: u64 = 10;
/// The default of `JIUFU_BAD_SIGN_LIMIT`.
pub const DEFAULT_BAD_SIGN_LIMIT: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Delays between notification attempts, as data. After the last delay's
/// attempt fails the notification gives up (an operator can resend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl Default for RetrySchedule {
    /// 15 s, 1 m, 3 m, 10 m, 30 m, 1 h, 2 h, 6 h, 15 h: about 24 h 44 m in all.
    fn default() -> Self {
        RetrySchedule([15, 60, 180, 600, 1800, 3600, 7200, 21600, 54000].into_iter().map(Duration::from_secs).collect())
    }
}

impl RetrySchedule {
    pub fn parse(text: &str) -> anyhow::Result<RetrySchedule> {
        let delays = text
            .split(',')
            .map(|s| s.trim().parse::<u64>().map(Duration::from_secs))
            .collect::<Result<Vec<_>, _>>()
            .context("JIUFU_NOTIFY_RETRY_SECS must be comma-separated whole seconds")?;
        if delays.is_empty() {
            bail!("JIUFU_NOTIFY_RETRY_SECS is empty");
        }
        Ok(RetrySchedule(delays))
    }

    /// The delay after the `attempts`-th failed attempt, or None to give up.
    pub fn after(&self, attempts: usize) -> Option<Duration> {
        self.0.get(attempts.saturating_sub(1)).copied()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    timezone: Option<String>,
    allow_private_notify: Option<bool>,
    notify_retry_secs: Option<String>,
}

impl Config {
    /// Reads the configuration from `file` (if any) and the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let file_cfg: FileConfig = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("{} is not a valid configuration", path.display()))?
            }
            None => FileConfig::default(),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let bind_text = env("JIUFU_BIND").or(file_cfg.bind).unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr =
            bind_text.parse().with_context(|| format!("JIUFU_BIND {bind_text:?} is not an address like 127.0.0.1:8080"))?;
        let db_text = env("JIUFU_DATABASE_URL").or(file_cfg.database_url).unwrap_or_else(|| "sqlite://./data/gateway.db".into());
        let database = Database::parse(&db_text)?;
        let public_url = env("JIUFU_PUBLIC_URL").or(file_cfg.public_url).unwrap_or_else(|| format!("http://{bind_text}"));
        let public_url = public_url.trim_end_matches('/').to_owned();
        url::Url::parse(&public_url).with_context(|| format!("JIUFU_PUBLIC_URL {public_url:?} is not a URL"))?;
        let tz_text = env("JIUFU_TIMEZONE").or(file_cfg.timezone).unwrap_or_else(|| "Asia/Shanghai".into());
        let timezone: chrono_tz::Tz =
            tz_text.parse().map_err(|_| anyhow::anyhow!("JIUFU_TIMEZONE {tz_text:?} is not a known time zone"))?;
        let allow_private_notify = match env("JIUFU_ALLOW_PRIVATE_NOTIFY") {
            Some(v) => parse_bool(&v).context("JIUFU_ALLOW_PRIVATE_NOTIFY must be true or false")?,
            None => file_cfg.allow_private_notify.unwrap_or(false),
        };
        let notify_schedule = match env("JIUFU_NOTIFY_RETRY_SECS").or(file_cfg.notify_retry_secs) {
            Some(v) => RetrySchedule::parse(&v)?,
            None => RetrySchedule::default(),
        };
        let collector_online_secs = match env("JIUFU_COLLECTOR_ONLINE_SECS") {
            Some(v) => {
                v.parse().ok().filter(|s: &i64| *s > 0).context("JIUFU_COLLECTOR_ONLINE_SECS must be a positive number of seconds")?
            }
            None => 90,
        };
        let defaults = jiufu_http_guard::Limits::default();
        let limits = jiufu_http_guard::Limits {
            max_connections: positive(env("JIUFU_MAX_CONNECTIONS"), "JIUFU_MAX_CONNECTIONS", defaults.max_connections as u64)? as usize,
            header_timeout: Duration::from_secs(positive(
                env("JIUFU_HEADER_TIMEOUT_SECS"),
                "JIUFU_HEADER_TIMEOUT_SECS",
                defaults.header_timeout.as_secs(),
            )?),
            request_timeout: Duration::from_secs(positive(
                env("JIUFU_REQUEST_TIMEOUT_SECS"),
                "JIUFU_REQUEST_TIMEOUT_SECS",
                defaults.request_timeout.as_secs(),
            )?),
            idle_timeout: Duration::from_secs(positive(
                env("JIUFU_IDLE_TIMEOUT_SECS"),
                "JIUFU_IDLE_TIMEOUT_SECS",
                defaults.idle_timeout.as_secs(),
            )?),
        };
        if limits.request_timeout <= Duration::from_secs(30) {
            bail!("JIUFU_REQUEST_TIMEOUT_SECS must be more than 30: a collector's long poll waits up to 30 s");
        }
        let retention_days = positive(env("JIUFU_RETENTION_DAYS"), "JIUFU_RETENTION_DAYS", 90)?;
        let notify_lease_secs = notify_lease(env("JIUFU_NOTIFY_LEASE_SECS"))?;
        let trusted_proxies = crate::net::client::TrustedProxies::parse(&env("JIUFU_TRUSTED_PROXIES").unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("JIUFU_TRUSTED_PROXIES: {e}"))?;
        let bad_sign_limit = match env("JIUFU_BAD_SIGN_LIMIT") {
            Some(v) => {
                v.trim().parse::<u32>().ok().filter(|n| *n <= 1_000_000).context("JIUFU_BAD_SIGN_LIMIT must be a whole number (0: off)")?
            }
            None => DEFAULT_BAD_SIGN_LIMIT,
        };
        Ok(Config {
            bind,
            database,
            public_url,
            timezone,
            allow_private_notify,
            notify_schedule,
            collector_online_secs,
            limits,
            retention_secs: i64::try_from(retention_days.saturating_mul(86_400)).unwrap_or(i64::MAX),
            notify_lease_secs,
            trusted_proxies,
            bad_sign_limit,
        })
    }
}

/// A database URL fit for logs and screens: any password replaced by `***`.
pub fn redact_url(text: &str) -> String {
    let Ok(mut u) = url::Url::parse(text) else { return "(an unreadable URL)".to_owned() };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    // libpq also takes the password as a query parameter.
    if u.query_pairs().any(|(k, _)| k == "password") {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| if k == "password" { (k.into_owned(), "***".to_owned()) } else { (k.into_owned(), v.into_owned()) })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    u.to_string()
}

impl Database {
    pub fn parse(text: &str) -> anyhow::Result<Database> {
        if let Some(path) = text.strip_prefix("sqlite://") {
            if path.is_empty() {
                bail!("JIUFU_DATABASE_URL sqlite:// needs a path");
            }
            Ok(Database::Sqlite(PathBuf::from(path)))
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Database::Postgres(text.to_owned()))
        } else {
            bail!("JIUFU_DATABASE_URL must start with sqlite:// or postgres://")
        }
    }
}

/// `JIUFU_NOTIFY_LEASE_SECS`: 60 by default, never below [`MIN_NOTIFY_LEASE_SECS`].
fn notify_lease(value: Option<String>) -> anyhow::Result<i64> {
    let secs = positive(value, "JIUFU_NOTIFY_LEASE_SECS", 60)?;
    if secs < MIN_NOTIFY_LEASE_SECS {
        bail!(
            "JIUFU_NOTIFY_LEASE_SECS must be at least {MIN_NOTIFY_LEASE_SECS} (60 is the default; keep it above the 20 s one \
             attempt may take): a lease shorter than an attempt lets another instance send the same notification again meanwhile"
        );
    }
    Ok(secs as i64)
}

/// A positive whole number from the environment, or `default`.
fn positive(value: Option<String>, name: &str, default: u64) -> anyhow::Result<u64> {
    match value {
        Some(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n: &u64| *n > 0 && *n < 1_000_000_000)
            .with_context(|| format!("{name} must be a positive whole number")),
        None => Ok(default),
    }
}

fn parse_bool(v: &str) -> anyhow::Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("not a boolean: {v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_covers_a_day() {
        let total: u64 = RetrySchedule::default().0.iter().map(|d| d.as_secs()).sum();
        assert!(total >= 24 * 3600, "{total}");
        assert_eq!(RetrySchedule::default().after(1), Some(Duration::from_secs(15)));
        assert_eq!(RetrySchedule::default().after(10), None);
    }

    #[test]
    fn a_notification_lease_shorter_than_an_attempt_is_refused() {
        assert_eq!(notify_lease(None).unwrap(), 60);
        assert_eq!(notify_lease(Some("10".into())).unwrap(), 10);
        for short in ["1", "9"] {
            let e = notify_lease(Some(short.into())).unwrap_err().to_string();
            assert!(e.contains("at least 10"), "{e}");
        }
    }

    #[test]
    fn database_urls() {
        assert_eq!(Database::parse("sqlite://./data/g.db").unwrap(), Database::Sqlite("./data/g.db".into()));
        assert!(matches!(Database::parse("postgres://x/y").unwrap(), Database::Postgres(_)));
        assert_eq!(redact_url("postgres://jiufu:s3cret@db.example:5432/shop"), "postgres://jiufu:***@db.example:5432/shop");
        assert_eq!(redact_url("postgres://jiufu@db.example/shop"), "postgres://jiufu@db.example/shop");
        assert_eq!(redact_url("postgres://db.example/shop?user=j&password=s3cret"), "postgres://db.example/shop?user=j&password=***");
        assert!(Database::parse("mysql://x").is_err());
        assert!(Database::parse("sqlite://").is_err());
    }
}
