//! The gateway's one configuration: defaults, then an optional TOML file
//! (`--config`), then the `JIUFU_*` environment (a variable wins). Every
//! setting is in [`setting::ALL`] under one file key and one variable.

use anyhow::{Context, bail};
use jiufu_config::{Layers, Setting};
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
    /// The log filter (`JIUFU_LOG`, tracing's `EnvFilter` syntax).
    pub log: String,
}

/// The shortest notification lease: a lease shorter than an attempt (up
/// to the 10 s notify timeout, and more with a slow database) lets another
/// instance send the same notification again meanwhile.
pub const MIN_NOTIFY_LEASE_SECS: u64 = 10;
/// The default of `JIUFU_BAD_SIGN_LIMIT`.
pub const DEFAULT_BAD_SIGN_LIMIT: u32 = 30;

/// `Debug` shows a PostgreSQL URL without its password ([`redact_url`]).
#[derive(Clone, PartialEq, Eq)]
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
        RetrySchedule::parse_named(text, setting::NOTIFY_RETRY_SECS.var)
    }

    /// [`RetrySchedule::parse`], naming the setting `name` in errors.
    fn parse_named(text: &str, name: &str) -> anyhow::Result<RetrySchedule> {
        let delays = text
            .split(',')
            .map(|s| s.trim().parse::<u64>().map(Duration::from_secs))
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{name} must be comma-separated whole seconds"))?;
        if delays.is_empty() {
            bail!("{name} is empty");
        }
        Ok(RetrySchedule(delays))
    }

    /// The delay after the `attempts`-th failed attempt, or None to give up.
    pub fn after(&self, attempts: usize) -> Option<Duration> {
        self.0.get(attempts.saturating_sub(1)).copied()
    }
}

/// Every setting of the gateway: its key in the `--config` file, its
/// variable, its default (README "Configuration" lists them once).
pub mod setting {
    use jiufu_config::Setting;
    pub const BIND: Setting = Setting::new("bind", "JIUFU_BIND", Some("127.0.0.1:8080"));
    pub const DATABASE_URL: Setting = Setting::new("database_url", "JIUFU_DATABASE_URL", Some("sqlite://./data/gateway.db"));
    /// Default: `http://` + the bind address.
    pub const PUBLIC_URL: Setting = Setting::new("public_url", "JIUFU_PUBLIC_URL", None);
    pub const TIMEZONE: Setting = Setting::new("timezone", "JIUFU_TIMEZONE", Some("Asia/Shanghai"));
    pub const ALLOW_PRIVATE_NOTIFY: Setting = Setting::new("allow_private_notify", "JIUFU_ALLOW_PRIVATE_NOTIFY", Some("false"));
    /// Default: [`super::RetrySchedule::default`].
    pub const NOTIFY_RETRY_SECS: Setting = Setting::new("notify_retry_secs", "JIUFU_NOTIFY_RETRY_SECS", None);
    pub const COLLECTOR_ONLINE_SECS: Setting = Setting::new("collector_online_secs", "JIUFU_COLLECTOR_ONLINE_SECS", Some("90"));
    /// Defaults of the connection limits: `jiufu_http_guard::Limits::default()`.
    pub const MAX_CONNECTIONS: Setting = Setting::new("max_connections", "JIUFU_MAX_CONNECTIONS", None);
    pub const HEADER_TIMEOUT_SECS: Setting = Setting::new("header_timeout_secs", "JIUFU_HEADER_TIMEOUT_SECS", None);
    pub const REQUEST_TIMEOUT_SECS: Setting = Setting::new("request_timeout_secs", "JIUFU_REQUEST_TIMEOUT_SECS", None);
    pub const IDLE_TIMEOUT_SECS: Setting = Setting::new("idle_timeout_secs", "JIUFU_IDLE_TIMEOUT_SECS", None);
    pub const RETENTION_DAYS: Setting = Setting::new("retention_days", "JIUFU_RETENTION_DAYS", Some("90"));
    pub const NOTIFY_LEASE_SECS: Setting = Setting::new("notify_lease_secs", "JIUFU_NOTIFY_LEASE_SECS", Some("60"));
    pub const TRUSTED_PROXIES: Setting = Setting::new("trusted_proxies", "JIUFU_TRUSTED_PROXIES", Some(""));
    pub const BAD_SIGN_LIMIT: Setting = Setting::new("bad_sign_limit", "JIUFU_BAD_SIGN_LIMIT", Some("30"));
    pub const LOG: Setting = Setting::new("log", "JIUFU_LOG", Some("info"));

    pub const ALL: &[Setting] = &[
        BIND,
        DATABASE_URL,
        PUBLIC_URL,
        TIMEZONE,
        ALLOW_PRIVATE_NOTIFY,
        NOTIFY_RETRY_SECS,
        COLLECTOR_ONLINE_SECS,
        MAX_CONNECTIONS,
        HEADER_TIMEOUT_SECS,
        REQUEST_TIMEOUT_SECS,
        IDLE_TIMEOUT_SECS,
        RETENTION_DAYS,
        NOTIFY_LEASE_SECS,
        TRUSTED_PROXIES,
        BAD_SIGN_LIMIT,
        LOG,
    ];
}

impl Config {
    /// Reads the configuration: defaults, then `file` (if any), then the
    /// `JIUFU_*` environment (a variable wins over the file).
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        Config::from_layers(&Layers::load(setting::ALL, file)?)
    }

    fn from_layers(l: &Layers) -> anyhow::Result<Config> {
        use setting::*;
        let text = |s: &Setting| l.text(s);
        let required = |s: &Setting| -> anyhow::Result<String> { Ok(l.text(s)?.unwrap_or_default()) };
        let bind_text = required(&BIND)?;
        let bind: SocketAddr =
            bind_text.parse().with_context(|| format!("{} {bind_text:?} is not an address like 127.0.0.1:8080", l.name(&BIND)))?;
        let database = Database::parse(&required(&DATABASE_URL)?)?;
        let public_url = text(&PUBLIC_URL)?.unwrap_or_else(|| format!("http://{bind_text}"));
        let public_url = public_url.trim_end_matches('/').to_owned();
        url::Url::parse(&public_url).with_context(|| format!("{} {public_url:?} is not a URL", l.name(&PUBLIC_URL)))?;
        let tz_text = required(&TIMEZONE)?;
        let timezone: chrono_tz::Tz =
            tz_text.parse().map_err(|_| anyhow::anyhow!("{} {tz_text:?} is not a known time zone", l.name(&TIMEZONE)))?;
        let allow_private_notify = l.flag(&ALLOW_PRIVATE_NOTIFY)?.unwrap_or(false);
        let notify_schedule = match text(&NOTIFY_RETRY_SECS)? {
            Some(v) => RetrySchedule::parse_named(&v, &l.name(&NOTIFY_RETRY_SECS))?,
            None => RetrySchedule::default(),
        };
        let collector_online_secs = required(&COLLECTOR_ONLINE_SECS)?
            .parse()
            .ok()
            .filter(|s: &i64| *s > 0)
            .with_context(|| format!("{} must be a positive number of seconds", l.name(&COLLECTOR_ONLINE_SECS)))?;
        let number = |s: &Setting, default: u64| -> anyhow::Result<u64> { positive(text(s)?, &l.name(s), default) };
        let defaults = jiufu_http_guard::Limits::default();
        let limits = jiufu_http_guard::Limits {
            max_connections: number(&MAX_CONNECTIONS, defaults.max_connections as u64)? as usize,
            header_timeout: Duration::from_secs(number(&HEADER_TIMEOUT_SECS, defaults.header_timeout.as_secs())?),
            request_timeout: Duration::from_secs(number(&REQUEST_TIMEOUT_SECS, defaults.request_timeout.as_secs())?),
            idle_timeout: Duration::from_secs(number(&IDLE_TIMEOUT_SECS, defaults.idle_timeout.as_secs())?),
        };
        if limits.request_timeout <= Duration::from_secs(30) {
            bail!("{} must be more than 30: a collector's long poll waits up to 30 s", l.name(&REQUEST_TIMEOUT_SECS));
        }
        let retention_days = number(&RETENTION_DAYS, 90)?;
        let notify_lease_secs = notify_lease(text(&NOTIFY_LEASE_SECS)?, &l.name(&NOTIFY_LEASE_SECS))?;
        let trusted_proxies = crate::net::client::TrustedProxies::parse(&text(&TRUSTED_PROXIES)?.unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("{}: {e}", l.name(&TRUSTED_PROXIES)))?;
        let bad_sign_limit = match text(&BAD_SIGN_LIMIT)? {
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 1_000_000)
                .with_context(|| format!("{} must be a whole number (0: off)", l.name(&BAD_SIGN_LIMIT)))?,
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
            log: required(&LOG)?,
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

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Database::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
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

/// `JIUFU_NOTIFY_LEASE_SECS` (named `name` in errors): 60 by default,
/// never below [`MIN_NOTIFY_LEASE_SECS`].
fn notify_lease(value: Option<String>, name: &str) -> anyhow::Result<i64> {
    let secs = positive(value, name, 60)?;
    if secs < MIN_NOTIFY_LEASE_SECS {
        bail!(
            "{name} must be at least {MIN_NOTIFY_LEASE_SECS} (60 is the default; keep it above the 20 s one \
             attempt may take): a lease shorter than an attempt lets another instance send the same notification again meanwhile"
        );
    }
    Ok(secs as i64)
}

/// A positive whole number (the setting named `name`), or `default`.
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
        assert_eq!(notify_lease(None, "JIUFU_NOTIFY_LEASE_SECS").unwrap(), 60);
        assert_eq!(notify_lease(Some("10".into()), "JIUFU_NOTIFY_LEASE_SECS").unwrap(), 10);
        for short in ["1", "9"] {
            let e = notify_lease(Some(short.into()), "JIUFU_NOTIFY_LEASE_SECS").unwrap_err().to_string();
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

    fn with(file: Option<&str>, env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let f = tempfile::NamedTempFile::new().unwrap();
        if let Some(text) = file {
            std::fs::write(f.path(), text).unwrap();
        }
        let env: std::collections::HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_layers(&Layers::load_with(setting::ALL, file.map(|_| f.path()), |k| env.get(k).cloned())?)
    }

    /// One value for every setting that differs from its default, as a
    /// file key and as a variable: each must arrive in `Config` both ways.
    const EVERY_SETTING: &[(&str, &str, &str)] = &[
        ("bind", "JIUFU_BIND", "127.0.0.1:9001"),
        ("database_url", "JIUFU_DATABASE_URL", "postgres://jiufu:s3cret@db.example/shop"),
        ("public_url", "JIUFU_PUBLIC_URL", "https://pay.example/"),
        ("timezone", "JIUFU_TIMEZONE", "Europe/Berlin"),
        ("allow_private_notify", "JIUFU_ALLOW_PRIVATE_NOTIFY", "yes"),
        ("notify_retry_secs", "JIUFU_NOTIFY_RETRY_SECS", "5,10"),
        ("collector_online_secs", "JIUFU_COLLECTOR_ONLINE_SECS", "7"),
        ("max_connections", "JIUFU_MAX_CONNECTIONS", "11"),
        ("header_timeout_secs", "JIUFU_HEADER_TIMEOUT_SECS", "3"),
        ("request_timeout_secs", "JIUFU_REQUEST_TIMEOUT_SECS", "45"),
        ("idle_timeout_secs", "JIUFU_IDLE_TIMEOUT_SECS", "12"),
        ("retention_days", "JIUFU_RETENTION_DAYS", "2"),
        ("notify_lease_secs", "JIUFU_NOTIFY_LEASE_SECS", "20"),
        ("trusted_proxies", "JIUFU_TRUSTED_PROXIES", "10.0.0.0/8"),
        ("bad_sign_limit", "JIUFU_BAD_SIGN_LIMIT", "0"),
        ("log", "JIUFU_LOG", "debug"),
    ];

    fn check_every_setting(c: &Config) {
        assert_eq!(c.bind, "127.0.0.1:9001".parse().unwrap());
        assert_eq!(c.database, Database::Postgres("postgres://jiufu:s3cret@db.example/shop".into()));
        assert_eq!(c.public_url, "https://pay.example");
        assert_eq!(c.timezone, chrono_tz::Europe::Berlin);
        assert!(c.allow_private_notify);
        assert_eq!(c.notify_schedule, RetrySchedule(vec![Duration::from_secs(5), Duration::from_secs(10)]));
        assert_eq!(c.collector_online_secs, 7);
        assert_eq!(c.limits.max_connections, 11);
        assert_eq!(c.limits.header_timeout, Duration::from_secs(3));
        assert_eq!(c.limits.request_timeout, Duration::from_secs(45));
        assert_eq!(c.limits.idle_timeout, Duration::from_secs(12));
        assert_eq!(c.retention_secs, 2 * 86_400);
        assert_eq!(c.notify_lease_secs, 20);
        assert!(c.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert_eq!(c.bad_sign_limit, 0);
        assert_eq!(c.log, "debug");
    }

    #[test]
    fn every_setting_is_reachable_from_the_file_and_from_the_environment() {
        assert_eq!(EVERY_SETTING.len(), setting::ALL.len());
        for s in setting::ALL {
            assert!(EVERY_SETTING.iter().any(|(k, v, _)| *k == s.key && *v == s.var), "{} is tried", s.key);
        }
        let file: String = EVERY_SETTING.iter().map(|(k, _, v)| format!("{k} = {v:?}\n")).collect();
        check_every_setting(&with(Some(&file), &[]).unwrap());
        let env: Vec<(&str, &str)> = EVERY_SETTING.iter().map(|(_, k, v)| (*k, *v)).collect();
        check_every_setting(&with(None, &env).unwrap());
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let c = with(None, &[]).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.database, Database::Sqlite("./data/gateway.db".into()));
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.timezone, chrono_tz::Asia::Shanghai);
        assert!(!c.allow_private_notify);
        assert_eq!(c.notify_schedule, RetrySchedule::default());
        assert_eq!((c.collector_online_secs, c.retention_secs, c.notify_lease_secs), (90, 90 * 86_400, 60));
        assert_eq!(c.limits.max_connections, jiufu_http_guard::Limits::default().max_connections);
        assert_eq!((c.bad_sign_limit, c.log.as_str()), (DEFAULT_BAD_SIGN_LIMIT, "info"));

        let file = "bind = \"127.0.0.1:9002\"\nallow_private_notify = true\nnotify_retry_secs = [1, 2]\nmax_connections = 5\n";
        let c = with(Some(file), &[("JIUFU_BIND", "127.0.0.1:9003"), ("JIUFU_ALLOW_PRIVATE_NOTIFY", "")]).unwrap();
        assert_eq!(c.bind, "127.0.0.1:9003".parse().unwrap(), "the variable wins");
        assert_eq!(c.public_url, "http://127.0.0.1:9003");
        assert!(c.allow_private_notify, "an empty variable leaves the file's value");
        assert_eq!(c.notify_schedule, RetrySchedule(vec![Duration::from_secs(1), Duration::from_secs(2)]));
        assert_eq!(c.limits.max_connections, 5);
    }

    #[test]
    fn errors_name_the_variable_or_the_file_key_and_never_a_password() {
        let e = with(None, &[("JIUFU_ALLOW_PRIVATE_NOTIFY", "maybe")]).unwrap_err().to_string();
        assert!(e.contains("JIUFU_ALLOW_PRIVATE_NOTIFY"), "{e}");
        let e = with(None, &[("JIUFU_NOTIFY_LEASE_SECS", "5")]).unwrap_err().to_string();
        assert!(e.starts_with("JIUFU_NOTIFY_LEASE_SECS must be at least 10"), "{e}");
        let e = with(None, &[("JIUFU_REQUEST_TIMEOUT_SECS", "30")]).unwrap_err().to_string();
        assert!(e.starts_with("JIUFU_REQUEST_TIMEOUT_SECS must be more than 30"), "{e}");
        let e = with(Some("bind = \"nowhere\"\n"), &[]).unwrap_err().to_string();
        assert!(e.starts_with("`bind` in ") && e.contains("is not an address"), "{e}");
        let e = with(Some("bind = \"127.0.0.1:1\"\nport = 1\n"), &[]).unwrap_err().to_string();
        assert!(e.contains("unknown setting `port`"), "{e}");
        let e = format!("{:#}", with(None, &[("JIUFU_DATABASE_URL", "mysql://u:s3cret@h/d")]).unwrap_err());
        assert!(!e.contains("s3cret"), "{e}");
        let c = with(None, &[("JIUFU_DATABASE_URL", "postgres://u:s3cret@h/d")]).unwrap();
        assert!(!format!("{c:?}").contains("s3cret"), "Debug of the config hides the password");
    }

    #[test]
    fn the_readme_lists_every_setting_once() {
        let readme = include_str!("../../../README.md");
        let section = readme.split("\n## ").find(|s| s.starts_with("Configuration")).expect("the section");
        for s in setting::ALL {
            let row = format!("| `{}` | `{}` |", s.key, s.var);
            assert_eq!(section.matches(&row).count(), 1, "README Configuration has one row starting {row}");
        }
    }
}
