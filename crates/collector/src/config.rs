//! How a collector is set up: the environment (`JIUFU_COLLECTOR_*`), then
//! what the window stored for whatever the environment did not fix.

use crate::store::Db;
use anyhow::Context;
use jiufu_protocol::Secret;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub db_path: PathBuf,
    pub listen: SocketAddr,
    /// The V免签 / generic push key; generated and stored when not given.
    pub key: Option<Secret>,
    /// The SmsForwarder sign secret; generated and stored when not given.
    pub smsf_secret: Option<Secret>,
    /// SmsForwarder pushes without a sign are accepted (explicit, unsafe opt-in).
    pub smsf_unsigned: bool,
    /// A user rules file (same shape as the shipped `rules.toml`).
    pub rules_path: Option<PathBuf>,
    pub heartbeat: Duration,
    /// The phone app counts as online this long after its last heartbeat.
    pub phone_online: Duration,
    pub dbus: bool,
    /// The LAN listener (phone app, forwarders) is on.
    pub lan: bool,
    /// Settled payments, the event log and spent replay keys are kept this
    /// long (`None`: forever).
    pub retention: Option<Duration>,
    /// Settings the environment fixed; the stored settings do not override them.
    pub pinned: Pinned,
}

/// Which settings came from the environment.
#[derive(Debug, Clone, Default)]
pub struct Pinned {
    pub listen: bool,
    pub key: bool,
    pub smsf_secret: bool,
    pub smsf_unsigned: bool,
    pub dbus: bool,
    pub lan: bool,
}

/// Push keys and forwarder secrets are at least this long (generated ones: [`GENERATED_SECRET_CHARS`]).
pub const MIN_SECRET_CHARS: usize = 16;
pub const MAX_SECRET_CHARS: usize = 256;
pub const GENERATED_SECRET_CHARS: usize = 32;

/// Why a push key or forwarder secret cannot be used, if it cannot.
pub fn secret_problem(value: &str) -> Option<String> {
    let n = value.chars().count();
    if n < MIN_SECRET_CHARS {
        return Some(format!("is {n} characters; at least {MIN_SECRET_CHARS} are needed (a generated one has {GENERATED_SECRET_CHARS})"));
    }
    if n > MAX_SECRET_CHARS {
        return Some(format!("is {n} characters; at most {MAX_SECRET_CHARS} are allowed"));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Some("contains spaces or control characters".into());
    }
    None
}

/// A secret from `VAR` or from the file `VAR_FILE` (one line; not both).
fn secret_from_env(var: &str) -> anyhow::Result<Option<Secret>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let file_var = format!("{var}_FILE");
    let value = match (env(var), env(&file_var)) {
        (Some(_), Some(_)) => anyhow::bail!("set {var} or {file_var}, not both"),
        (Some(v), None) => v,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .with_context(|| format!("{file_var}: cannot read {path}"))?
            .trim_end_matches(['\n', '\r'])
            .to_owned(),
        (None, None) => return Ok(None),
    };
    if let Some(why) = secret_problem(&value) {
        anyhow::bail!("{var} {why}");
    }
    Ok(Some(Secret::new(value)))
}

impl Config {
    /// The defaults, on the store at `db_path`: listening on 0.0.0.0:8687
    /// with every source on, heartbeats every 30 s, the phone online for
    /// 60 s after its last one, records kept 90 days, keys generated and
    /// stored, nothing pinned.
    pub fn new(db_path: PathBuf) -> Config {
        Config {
            db_path,
            listen: SocketAddr::from(([0, 0, 0, 0], 8687)),
            key: None,
            smsf_secret: None,
            smsf_unsigned: false,
            rules_path: None,
            heartbeat: Duration::from_secs(30),
            phone_online: Duration::from_secs(60),
            dbus: true,
            lan: true,
            retention: Some(Duration::from_secs(90 * 86_400)),
            pinned: Pinned::default(),
        }
    }

    /// [`Config::new`] with what the `JIUFU_COLLECTOR_*` variables say.
    pub fn from_env() -> anyhow::Result<Config> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let secs = |k: &str| -> anyhow::Result<Option<Duration>> {
            env(k).map(|v| v.parse().map(Duration::from_secs).with_context(|| format!("{k} must be whole seconds"))).transpose()
        };
        let mut c = Config::new(match env("JIUFU_COLLECTOR_DB") {
            Some(p) => PathBuf::from(p),
            None => default_data_dir().join("collector.db"),
        });
        if let Some(v) = env("JIUFU_COLLECTOR_LISTEN") {
            c.listen = v.parse().with_context(|| format!("JIUFU_COLLECTOR_LISTEN {v:?} is not an address"))?;
            c.pinned.listen = true;
        }
        c.heartbeat = secs("JIUFU_COLLECTOR_HEARTBEAT_SECS")?.unwrap_or(c.heartbeat);
        c.phone_online = secs("JIUFU_COLLECTOR_PHONE_ONLINE_SECS")?.unwrap_or(c.phone_online);
        if let Some(v) = env("JIUFU_COLLECTOR_RETENTION_DAYS") {
            let days: u64 = v.parse().context("JIUFU_COLLECTOR_RETENTION_DAYS must be whole days (0: keep forever)")?;
            c.retention = (days > 0).then(|| Duration::from_secs(days.saturating_mul(86_400)));
        }
        if let Some(v) = env("JIUFU_COLLECTOR_SMSF_UNSIGNED") {
            c.smsf_unsigned = opt_in(&v).with_context(|| format!("JIUFU_COLLECTOR_SMSF_UNSIGNED {v:?} is not true or false"))?;
            c.pinned.smsf_unsigned = true;
        }
        c.key = secret_from_env("JIUFU_COLLECTOR_KEY")?;
        c.pinned.key = c.key.is_some();
        c.smsf_secret = secret_from_env("JIUFU_COLLECTOR_SMSF_SECRET")?;
        c.pinned.smsf_secret = c.smsf_secret.is_some();
        c.rules_path = env("JIUFU_COLLECTOR_RULES").map(PathBuf::from);
        if let Some(v) = env("JIUFU_COLLECTOR_DBUS") {
            (c.dbus, c.pinned.dbus) = (flag(&v), true);
        }
        if let Some(v) = env("JIUFU_COLLECTOR_LAN") {
            (c.lan, c.pinned.lan) = (flag(&v), true);
        }
        Ok(c)
    }

    /// The settings stored by the window (`settings` table), for whatever
    /// the environment did not fix.
    pub(crate) async fn apply_stored(&mut self, db: &Db) -> anyhow::Result<()> {
        if !self.pinned.listen
            && let Some(v) = db.setting(setting::LISTEN).await?
        {
            self.listen = v.parse().with_context(|| format!("stored listen address {v:?} is not an address"))?;
        }
        if !self.pinned.dbus
            && let Some(v) = db.setting(setting::DBUS).await?
        {
            self.dbus = flag(&v);
        }
        if !self.pinned.lan
            && let Some(v) = db.setting(setting::LAN).await?
        {
            self.lan = flag(&v);
        }
        if !self.pinned.smsf_unsigned {
            self.smsf_unsigned = db.setting(setting::SMSF_UNSIGNED).await?.is_some_and(|v| opt_in(&v) == Some(true));
        }
        Ok(())
    }
}

/// An explicit yes or no (for switches that are off unless turned on).
fn opt_in(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn flag(v: &str) -> bool {
    !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "0" | "no" | "off")
}

/// Keys of the `settings` table.
pub mod setting {
    pub const LISTEN: &str = "listen";
    pub const DBUS: &str = "dbus_enabled";
    pub const LAN: &str = "lan_enabled";
    pub const SMSF_SECRET: &str = "smsf_secret";
    pub const SMSF_UNSIGNED: &str = "smsf_unsigned";
    pub const PUSH_KEY: &str = "push_key";
    pub const GATEWAY_URL: &str = "gateway_url";
    pub const DEVICE_ID: &str = "device_id";
    pub const DEVICE_SECRET: &str = "device_secret";
    pub const MERCHANT_ID: &str = "merchant_id";
    pub const MERCHANT_NAME: &str = "merchant_name";
    pub const CODES_VERSION: &str = "codes_version";
    pub const CODES_SYNCED: &str = "codes_synced";
    pub const USER_RULES: &str = "user_rules";
}

pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(d).join("jiufu");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/jiufu"),
        None => PathBuf::from("./data"),
    }
}
