//! How a collector is set up: defaults, then an optional TOML file
//! (`--config`), then the environment (`JIUFU_COLLECTOR_*`, a variable
//! wins); then what the window stored for whatever those did not fix.
//! Every setting is in [`options::ALL`] under one file key and one variable.

use crate::store::Db;
use anyhow::Context;
use jiufu_config::{Layers, Setting, parse_bool};
use jiufu_protocol::Secret;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
    /// The log filter (`JIUFU_LOG`, tracing's `EnvFilter` syntax).
    pub log: String,
    /// Settings the file or the environment fixed; the stored settings do not override them.
    pub pinned: Pinned,
}

/// Which settings the configuration fixed (the file or the environment).
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

/// Every setting of the collector: its key in the `--config` file, its
/// variable, its default (README "The collector" lists them once).
pub mod options {
    use jiufu_config::Setting;
    /// Default: `collector.db` in [`super::default_data_dir`].
    pub const DB: Setting = Setting::new("db", "JIUFU_COLLECTOR_DB", None);
    pub const LISTEN: Setting = Setting::new("listen", "JIUFU_COLLECTOR_LISTEN", Some("0.0.0.0:8687"));
    pub const KEY: Setting = Setting::new("key", "JIUFU_COLLECTOR_KEY", None);
    pub const KEY_FILE: Setting = Setting::new("key_file", "JIUFU_COLLECTOR_KEY_FILE", None);
    pub const SMSF_SECRET: Setting = Setting::new("smsf_secret", "JIUFU_COLLECTOR_SMSF_SECRET", None);
    pub const SMSF_SECRET_FILE: Setting = Setting::new("smsf_secret_file", "JIUFU_COLLECTOR_SMSF_SECRET_FILE", None);
    pub const SMSF_UNSIGNED: Setting = Setting::new("smsf_unsigned", "JIUFU_COLLECTOR_SMSF_UNSIGNED", Some("false"));
    pub const RETENTION_DAYS: Setting = Setting::new("retention_days", "JIUFU_COLLECTOR_RETENTION_DAYS", Some("90"));
    pub const RULES: Setting = Setting::new("rules", "JIUFU_COLLECTOR_RULES", None);
    pub const DBUS: Setting = Setting::new("dbus", "JIUFU_COLLECTOR_DBUS", Some("true"));
    pub const LAN: Setting = Setting::new("lan", "JIUFU_COLLECTOR_LAN", Some("true"));
    pub const HEARTBEAT_SECS: Setting = Setting::new("heartbeat_secs", "JIUFU_COLLECTOR_HEARTBEAT_SECS", Some("30"));
    pub const PHONE_ONLINE_SECS: Setting = Setting::new("phone_online_secs", "JIUFU_COLLECTOR_PHONE_ONLINE_SECS", Some("60"));
    pub const LOG: Setting = Setting::new("log", "JIUFU_LOG", Some("info"));

    pub const ALL: &[Setting] = &[
        DB,
        LISTEN,
        KEY,
        KEY_FILE,
        SMSF_SECRET,
        SMSF_SECRET_FILE,
        SMSF_UNSIGNED,
        RETENTION_DAYS,
        RULES,
        DBUS,
        LAN,
        HEARTBEAT_SECS,
        PHONE_ONLINE_SECS,
        LOG,
    ];
}

/// A secret given as `value` or read from the file `file` (one line; not both).
fn secret(l: &Layers, value: &Setting, file: &Setting) -> anyhow::Result<Option<Secret>> {
    let (name, file_name) = (l.name(value), l.name(file));
    let value = match (l.text(value)?, l.text(file)?) {
        (Some(_), Some(_)) => anyhow::bail!("set {name} or {file_name}, not both"),
        (Some(v), None) => v,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .with_context(|| format!("{file_name}: cannot read {path}"))?
            .trim_end_matches(['\n', '\r'])
            .to_owned(),
        (None, None) => return Ok(None),
    };
    if let Some(why) = secret_problem(&value) {
        anyhow::bail!("{name} {why}");
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
            log: "info".to_owned(),
            pinned: Pinned::default(),
        }
    }

    /// [`Config::load`] without a file: the defaults and the
    /// `JIUFU_COLLECTOR_*` variables (the desktop app).
    pub fn from_env() -> anyhow::Result<Config> {
        Config::load(None)
    }

    /// The collector's one configuration: defaults, then `file` (if any),
    /// then the `JIUFU_COLLECTOR_*` environment (a variable wins). What the
    /// file or a variable sets is pinned: the window's stored settings do
    /// not override it.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        Config::from_layers(&Layers::load(options::ALL, file)?)
    }

    fn from_layers(l: &Layers) -> anyhow::Result<Config> {
        use options::*;
        let text = |s: &Setting| -> anyhow::Result<String> { Ok(l.text(s)?.unwrap_or_default()) };
        let secs = |s: &Setting| -> anyhow::Result<Duration> {
            text(s)?.parse().map(Duration::from_secs).with_context(|| format!("{} must be whole seconds", l.name(s)))
        };
        let flag = |s: &Setting| -> anyhow::Result<bool> { Ok(l.flag(s)?.unwrap_or_default()) };
        let mut c = Config::new(match l.text(&DB)? {
            Some(p) => PathBuf::from(p),
            None => default_data_dir().join("collector.db"),
        });
        let listen = text(&LISTEN)?;
        c.listen = listen.parse().with_context(|| format!("{} {listen:?} is not an address", l.name(&LISTEN)))?;
        c.heartbeat = secs(&HEARTBEAT_SECS)?;
        c.phone_online = secs(&PHONE_ONLINE_SECS)?;
        let days: u64 =
            text(&RETENTION_DAYS)?.parse().with_context(|| format!("{} must be whole days (0: keep forever)", l.name(&RETENTION_DAYS)))?;
        c.retention = (days > 0).then(|| Duration::from_secs(days.saturating_mul(86_400)));
        c.smsf_unsigned = flag(&SMSF_UNSIGNED)?;
        c.key = secret(l, &KEY, &KEY_FILE)?;
        c.smsf_secret = secret(l, &SMSF_SECRET, &SMSF_SECRET_FILE)?;
        c.rules_path = l.text(&RULES)?.map(PathBuf::from);
        c.dbus = flag(&DBUS)?;
        c.lan = flag(&LAN)?;
        c.log = text(&LOG)?;
        c.pinned = Pinned {
            listen: l.is_set(&LISTEN),
            key: c.key.is_some(),
            smsf_secret: c.smsf_secret.is_some(),
            smsf_unsigned: l.is_set(&SMSF_UNSIGNED),
            dbus: l.is_set(&DBUS),
            lan: l.is_set(&LAN),
        };
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
            self.dbus = parse_bool(&v).unwrap_or(true);
        }
        if !self.pinned.lan
            && let Some(v) = db.setting(setting::LAN).await?
        {
            self.lan = parse_bool(&v).unwrap_or(true);
        }
        if !self.pinned.smsf_unsigned {
            self.smsf_unsigned = db.setting(setting::SMSF_UNSIGNED).await?.is_some_and(|v| parse_bool(&v) == Some(true));
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with(file: Option<&str>, env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let f = tempfile::NamedTempFile::new().unwrap();
        if let Some(text) = file {
            std::fs::write(f.path(), text).unwrap();
        }
        let env: std::collections::HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_layers(&Layers::load_with(options::ALL, file.map(|_| f.path()), |k| env.get(k).cloned())?)
    }

    const KEY: &str = "a-push-key-of-20-chars";
    const SMSF: &str = "an-smsf-secret-of-24-chr";

    /// One value for every setting that differs from its default, as a
    /// file key and as a variable (the `_FILE` forms are tried apart).
    const EVERY_SETTING: &[(&str, &str, &str)] = &[
        ("db", "JIUFU_COLLECTOR_DB", "/tmp/jiufu-test/c.db"),
        ("listen", "JIUFU_COLLECTOR_LISTEN", "127.0.0.1:9687"),
        ("key", "JIUFU_COLLECTOR_KEY", KEY),
        ("smsf_secret", "JIUFU_COLLECTOR_SMSF_SECRET", SMSF),
        ("smsf_unsigned", "JIUFU_COLLECTOR_SMSF_UNSIGNED", "on"),
        ("retention_days", "JIUFU_COLLECTOR_RETENTION_DAYS", "0"),
        ("rules", "JIUFU_COLLECTOR_RULES", "/tmp/jiufu-test/rules.toml"),
        ("dbus", "JIUFU_COLLECTOR_DBUS", "false"),
        ("lan", "JIUFU_COLLECTOR_LAN", "NO"),
        ("heartbeat_secs", "JIUFU_COLLECTOR_HEARTBEAT_SECS", "5"),
        ("phone_online_secs", "JIUFU_COLLECTOR_PHONE_ONLINE_SECS", "6"),
        ("log", "JIUFU_LOG", "warn"),
    ];

    fn check_every_setting(c: &Config) {
        assert_eq!(c.db_path, PathBuf::from("/tmp/jiufu-test/c.db"));
        assert_eq!(c.listen, "127.0.0.1:9687".parse().unwrap());
        assert_eq!(c.key.as_ref().unwrap().expose(), KEY);
        assert_eq!(c.smsf_secret.as_ref().unwrap().expose(), SMSF);
        assert!(c.smsf_unsigned);
        assert_eq!(c.retention, None);
        assert_eq!(c.rules_path, Some(PathBuf::from("/tmp/jiufu-test/rules.toml")));
        assert!(!c.dbus && !c.lan);
        assert_eq!((c.heartbeat, c.phone_online), (Duration::from_secs(5), Duration::from_secs(6)));
        assert_eq!(c.log, "warn");
        let p = &c.pinned;
        assert!(p.listen && p.key && p.smsf_secret && p.smsf_unsigned && p.dbus && p.lan, "{p:?}");
    }

    #[test]
    fn every_setting_is_reachable_from_the_file_and_from_the_environment() {
        for s in options::ALL {
            let tried = EVERY_SETTING.iter().any(|(k, v, _)| *k == s.key && *v == s.var) || s.key.ends_with("_file");
            assert!(tried, "{} is tried", s.key);
        }
        let file: String = EVERY_SETTING.iter().map(|(k, _, v)| format!("{k} = {v:?}\n")).collect();
        check_every_setting(&with(Some(&file), &[]).unwrap());
        let env: Vec<(&str, &str)> = EVERY_SETTING.iter().map(|(_, k, v)| (*k, *v)).collect();
        check_every_setting(&with(None, &env).unwrap());

        let dir = tempfile::tempdir().unwrap();
        let (kf, sf) = (dir.path().join("key"), dir.path().join("smsf"));
        std::fs::write(&kf, format!("{KEY}\n")).unwrap();
        std::fs::write(&sf, SMSF).unwrap();
        let file = format!("key_file = {:?}\nsmsf_secret_file = {:?}\n", kf.display().to_string(), sf.display().to_string());
        let c = with(Some(&file), &[]).unwrap();
        assert_eq!((c.key.unwrap().expose(), c.smsf_secret.unwrap().expose()), (KEY, SMSF));
        let c = with(None, &[("JIUFU_COLLECTOR_KEY_FILE", kf.to_str().unwrap())]).unwrap();
        assert!(c.pinned.key && !c.pinned.smsf_secret);
    }

    #[test]
    fn defaults_pin_nothing() {
        let c = with(None, &[("JIUFU_COLLECTOR_DB", "/tmp/x.db"), ("JIUFU_COLLECTOR_KEY", "")]).unwrap();
        let d = Config::new(PathBuf::from("/tmp/x.db"));
        assert_eq!((c.listen, c.heartbeat, c.phone_online, c.retention), (d.listen, d.heartbeat, d.phone_online, d.retention));
        assert_eq!((c.dbus, c.lan, c.smsf_unsigned, c.log.as_str()), (true, true, false, "info"));
        assert!(c.key.is_none() && c.smsf_secret.is_none() && c.rules_path.is_none());
        let p = &c.pinned;
        assert!(!(p.listen || p.key || p.smsf_secret || p.smsf_unsigned || p.dbus || p.lan), "{p:?}");
        assert!(with(None, &[]).unwrap().db_path.ends_with("collector.db"));
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let c = with(Some("listen = \"127.0.0.1:1\"\ndbus = false\n"), &[("JIUFU_COLLECTOR_LISTEN", "127.0.0.1:2")]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:2".parse().unwrap());
        assert!(!c.dbus && c.pinned.dbus && c.pinned.listen);
    }

    #[test]
    fn bad_values_are_refused_by_name_without_the_secret() {
        let e = with(None, &[("JIUFU_COLLECTOR_DBUS", "maybe")]).unwrap_err().to_string();
        assert!(e.contains("JIUFU_COLLECTOR_DBUS"), "{e}");
        let e = with(None, &[("JIUFU_COLLECTOR_SMSF_UNSIGNED", "si")]).unwrap_err().to_string();
        assert!(e.contains("JIUFU_COLLECTOR_SMSF_UNSIGNED") && e.contains("is not true or false"), "{e}");
        let e = with(None, &[("JIUFU_COLLECTOR_KEY", "short-s3cret")]).unwrap_err().to_string();
        assert!(e.contains("JIUFU_COLLECTOR_KEY") && e.contains("at least 16") && !e.contains("s3cret"), "{e}");
        let e = with(Some(&format!("key = {KEY:?}\n")), &[("JIUFU_COLLECTOR_KEY_FILE", "/x")]).unwrap_err().to_string();
        assert!(e.contains("`key` in ") && e.contains("JIUFU_COLLECTOR_KEY_FILE") && e.contains("not both"), "{e}");
        let e = with(Some("heartbeat_secs = \"soon\"\n"), &[]).unwrap_err().to_string();
        assert!(e.starts_with("`heartbeat_secs` in ") && e.contains("whole seconds"), "{e}");
        let e = with(Some("listen_on = \"x\"\n"), &[]).unwrap_err().to_string();
        assert!(e.contains("unknown setting `listen_on`"), "{e}");
    }

    #[test]
    fn the_readme_lists_every_setting_once() {
        let readme = include_str!("../../../README.md");
        let section = readme.split("\n## ").find(|s| s.starts_with("The collector")).expect("the section");
        for s in options::ALL {
            let row = format!("| `{}` | `{}` |", s.key, s.var);
            assert_eq!(section.matches(&row).count(), 1, "README The collector has one row starting {row}");
        }
    }
}
