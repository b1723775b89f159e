//! The Jiufu collector core: it learns of incoming payments from
//! notifications (the payee's phone via forwarder apps, the computer's own
//! notification bus, the operator), matches each to the gateway's pending
//! order by channel and exact payable amount, and reports confirmations
//! through a durable queue. The headless `jiufu-collector` and the desktop
//! app run this same core.

pub mod cli;
pub mod events;
pub mod link;
pub mod matcher;
pub mod operator;
pub mod parser;
pub mod run;
pub mod sources;
pub mod store;

use anyhow::Context;
pub use events::CoreEvent;
use jiufu_protocol::ids::random_token;
use jiufu_protocol::{Channel, Fen, Secret};
use matcher::{Ingested, NewObservation};
use parser::{Notice, Parser};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use store::Db;
use tokio::sync::Notify;

/// Logs to stderr, filtered by `JIUFU_LOG` (default `info`), coloured only on a terminal.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JIUFU_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

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
    pub fn from_env() -> anyhow::Result<Config> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let db_path = match env("JIUFU_COLLECTOR_DB") {
            Some(p) => PathBuf::from(p),
            None => default_data_dir().join("collector.db"),
        };
        let listen_text = env("JIUFU_COLLECTOR_LISTEN").unwrap_or_else(|| "0.0.0.0:8687".into());
        let listen = listen_text.parse().with_context(|| format!("JIUFU_COLLECTOR_LISTEN {listen_text:?} is not an address"))?;
        let heartbeat = match env("JIUFU_COLLECTOR_HEARTBEAT_SECS") {
            Some(v) => Duration::from_secs(v.parse().context("JIUFU_COLLECTOR_HEARTBEAT_SECS must be whole seconds")?),
            None => Duration::from_secs(30),
        };
        let phone_online = match env("JIUFU_COLLECTOR_PHONE_ONLINE_SECS") {
            Some(v) => Duration::from_secs(v.parse().context("JIUFU_COLLECTOR_PHONE_ONLINE_SECS must be whole seconds")?),
            None => Duration::from_secs(60),
        };
        let retention_days: u64 = match env("JIUFU_COLLECTOR_RETENTION_DAYS") {
            Some(v) => v.parse().context("JIUFU_COLLECTOR_RETENTION_DAYS must be whole days (0: keep forever)")?,
            None => 90,
        };
        let smsf_unsigned = match env("JIUFU_COLLECTOR_SMSF_UNSIGNED") {
            Some(v) => opt_in(&v).with_context(|| format!("JIUFU_COLLECTOR_SMSF_UNSIGNED {v:?} is not true or false"))?,
            None => false,
        };
        let key = secret_from_env("JIUFU_COLLECTOR_KEY")?;
        let smsf_secret = secret_from_env("JIUFU_COLLECTOR_SMSF_SECRET")?;
        Ok(Config {
            phone_online,
            db_path,
            listen,
            pinned: Pinned {
                listen: env("JIUFU_COLLECTOR_LISTEN").is_some(),
                key: key.is_some(),
                smsf_secret: smsf_secret.is_some(),
                smsf_unsigned: env("JIUFU_COLLECTOR_SMSF_UNSIGNED").is_some(),
                dbus: env("JIUFU_COLLECTOR_DBUS").is_some(),
                lan: env("JIUFU_COLLECTOR_LAN").is_some(),
            },
            key,
            smsf_secret,
            smsf_unsigned,
            rules_path: env("JIUFU_COLLECTOR_RULES").map(PathBuf::from),
            heartbeat,
            dbus: env("JIUFU_COLLECTOR_DBUS").map(|v| flag(&v)).unwrap_or(true),
            lan: env("JIUFU_COLLECTOR_LAN").map(|v| flag(&v)).unwrap_or(true),
            retention: (retention_days > 0).then(|| Duration::from_secs(retention_days.saturating_mul(86_400))),
        })
    }

    /// The settings stored by the window (`settings` table), for whatever
    /// the environment did not fix.
    async fn apply_stored(&mut self, db: &Db) -> anyhow::Result<()> {
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

pub struct Collector {
    pub db: Db,
    pub parser: Parser,
    pub config: Config,
    /// The V免签 / generic push key.
    pub key: Secret,
    /// The SmsForwarder sign secret.
    pub smsf_secret: Secret,
    /// Secrets this start generated (shown once by the caller, never logged).
    pub generated: Vec<Generated>,
    /// Wakes the outbox sender.
    pub outbox_wake: Notify,
    /// Epoch ms of the phone app's last heartbeat.
    pub phone_seen: AtomicI64,
    /// Epoch ms up to which the orders mirror is known to be current.
    pub orders_synced_at: AtomicI64,
    /// A long poll for order changes is connected.
    pub orders_live: std::sync::atomic::AtomicBool,
    health: std::sync::Mutex<std::collections::HashMap<String, store::SourceHealth>>,
    events: tokio::sync::broadcast::Sender<CoreEvent>,
    /// Where the LAN listener is bound, once `run` has bound it.
    pub listening: std::sync::OnceLock<SocketAddr>,
    /// Sources `run` is running, and whether each is up (for the window).
    pub running: std::sync::Mutex<Vec<(String, bool)>>,
}

/// A secret the collector made itself on this start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generated {
    PushKey,
    SmsfSecret,
}

impl Collector {
    pub async fn open(mut config: Config) -> anyhow::Result<Arc<Collector>> {
        for (name, given) in [("JIUFU_COLLECTOR_KEY", &config.key), ("JIUFU_COLLECTOR_SMSF_SECRET", &config.smsf_secret)] {
            if let Some(why) = given.as_ref().and_then(|s| secret_problem(s.expose())) {
                anyhow::bail!("{name} {why}");
            }
        }
        let db = Db::open(&config.db_path)?;
        config.apply_stored(&db).await?;
        let rules = match &config.rules_path {
            Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("cannot read rules {}", p.display()))?),
            // Rules the operator wrote in the window.
            None => db.setting(setting::USER_RULES).await?.filter(|r| !r.trim().is_empty()),
        };
        let parser = Parser::new(rules.as_deref())?;
        let mut generated = Vec::new();
        let key = match &config.key {
            Some(k) => k.clone(),
            None => stored_secret(&db, setting::PUSH_KEY, Generated::PushKey, &mut generated).await?,
        };
        let smsf_secret = match &config.smsf_secret {
            Some(s) => s.clone(),
            None => stored_secret(&db, setting::SMSF_SECRET, Generated::SmsfSecret, &mut generated).await?,
        };
        Ok(Arc::new(Collector {
            db,
            parser,
            config,
            key,
            smsf_secret,
            generated,
            outbox_wake: Notify::new(),
            phone_seen: AtomicI64::new(0),
            orders_synced_at: AtomicI64::new(0),
            orders_live: Default::default(),
            health: Default::default(),
            events: tokio::sync::broadcast::channel(256).0,
            listening: Default::default(),
            running: Default::default(),
        }))
    }

    /// One line per secret this start generated, for the operator to copy
    /// (stdout only: never through the log).
    pub fn generated_notice(&self) -> Vec<String> {
        self.generated
            .iter()
            .map(|g| match g {
                Generated::PushKey => format!(
                    "jiufu-collector: generated the phone push key (V免签 app: host/key; generic push: HMAC key): {}",
                    self.key.expose()
                ),
                Generated::SmsfSecret => format!(
                    "jiufu-collector: generated the SmsForwarder secret (webhook http://COMPUTER:{}/forward/smsforwarder, \
                     \"secret\" 加签 field): {}",
                    self.config.listen.port(),
                    self.smsf_secret.expose()
                ),
            })
            .collect()
    }

    /// Core events, for a window to follow.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<CoreEvent> {
        self.events.subscribe()
    }

    pub fn emit(&self, event: CoreEvent) {
        // Nobody listening (the headless binary) is fine.
        let _ = self.events.send(event);
    }

    /// The gateway link, once paired.
    pub async fn link(&self) -> anyhow::Result<Option<link::Link>> {
        let (url, id, secret) =
            (self.db.setting("gateway_url").await?, self.db.setting("device_id").await?, self.db.setting("device_secret").await?);
        Ok(match (url, id, secret) {
            (Some(u), Some(i), Some(s)) => Some(link::Link::new(&u, &i, &s)),
            _ => None,
        })
    }

    /// A notification's text: parsed, and if it is a payment, observed.
    pub async fn observe_notice(
        &self,
        source: &str,
        notice: Notice,
        observed_at: i64,
        replay_key: Option<ReplayKey>,
    ) -> anyhow::Result<Observed> {
        self.observe_notice_as(source, notice, observed_at, replay_key, Trust::Authenticated).await
    }

    /// [`Collector::observe_notice`], for a source that may not have proved
    /// who it is: what it says is recorded but marks nothing online.
    pub async fn observe_notice_as(
        &self,
        source: &str,
        notice: Notice,
        observed_at: i64,
        replay_key: Option<ReplayKey>,
        trust: Trust,
    ) -> anyhow::Result<Observed> {
        match self.parser.parse(&notice) {
            Ok(p) => self.record(source, p.channel, p.amount, observed_at, notice, replay_key, trust).await,
            Err(why) => {
                tracing::debug!(source, ?notice, %why, "not a payment");
                Ok(Observed::NotPayment(why))
            }
        }
    }

    /// A payment seen by `source`: its replay key, the observation, dedup
    /// and matching are written in one transaction before anything else
    /// happens to it.
    pub async fn observe(
        &self,
        source: &str,
        channel: Channel,
        amount: Fen,
        observed_at: i64,
        notice: Notice,
        replay_key: Option<ReplayKey>,
    ) -> anyhow::Result<Observed> {
        self.record(source, channel, amount, observed_at, notice, replay_key, Trust::Authenticated).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        source: &str,
        channel: Channel,
        amount: Fen,
        observed_at: i64,
        notice: Notice,
        replay_key: Option<ReplayKey>,
        trust: Trust,
    ) -> anyhow::Result<Observed> {
        // At most STORED_TEXT_BYTES of text per payment, however much was sent.
        let app = clip(notice.app, 128);
        let title = clip(notice.title, 1024);
        let text = clip(notice.text, STORED_TEXT_BYTES - title.len() - app.len());
        let new = NewObservation {
            id: format!("obs_{}", random_token(12)),
            source: source.to_owned(),
            channel,
            amount,
            observed_at,
            app,
            title,
            text,
        };
        let now = now_ms();
        let outcome = self
            .db
            .write(move |tx| {
                if let Some(key) = replay_key
                    && !store::first_use(tx, &key.key, key.expires_at)?
                {
                    return Ok(None);
                }
                matcher::ingest(tx, &new, now).map(Some)
            })
            .await?;
        let Some(outcome) = outcome else {
            return Ok(Observed::Replayed);
        };
        tracing::info!(source, %channel, %amount, ?outcome, "payment observed");
        self.emit(match &outcome {
            Ingested::Matched { observation, order } => {
                CoreEvent::PaymentMatched { observation: observation.clone(), order_id: order.clone(), channel, amount }
            }
            _ => CoreEvent::PaymentsChanged,
        });
        self.outbox_wake.notify_one();
        if trust == Trust::Authenticated {
            self.touch(source, None);
        }
        Ok(Observed::Recorded(outcome))
    }

    /// Notes a source's sign of life (or an error) for the health display;
    /// kept in memory and saved every few seconds.
    pub fn touch(&self, source: &str, error: Option<String>) {
        let now = now_ms();
        if source == "vmq" && error.is_none() {
            self.phone_seen.store(now, Ordering::Relaxed);
        }
        if let Ok(mut health) = self.health.lock() {
            let kind = source.split(':').next().unwrap_or(source).to_owned();
            let h = health.entry(source.to_owned()).or_insert_with(|| store::SourceHealth {
                name: source.to_owned(),
                kind,
                last_seen: None,
                errors: 0,
                last_error: String::new(),
            });
            match error {
                None => h.last_seen = Some(now),
                Some(e) => {
                    h.errors += 1;
                    h.last_error = e;
                }
            }
        }
    }

    /// When each of `names` was last heard from (those heard from at all).
    pub fn heard_from(&self, names: &[&str]) -> Vec<(String, i64)> {
        let Ok(health) = self.health.lock() else { return Vec::new() };
        names.iter().filter_map(|n| health.get(*n).and_then(|h| h.last_seen).map(|t| (n.to_string(), t))).collect()
    }

    /// Writes the sources' health to the store (for `status` and the app).
    pub async fn save_health(&self) -> anyhow::Result<()> {
        let all: Vec<store::SourceHealth> = self.health.lock().map(|h| h.values().cloned().collect()).unwrap_or_default();
        self.db.save_sources(all).await
    }
}

/// The most text (app, title and text together, in bytes) kept of one notification.
pub const STORED_TEXT_BYTES: usize = 4096;

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn clip(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The stored secret named `name`, generated (and noted in `generated`)
/// when there is none or the stored one is too short to be safe.
async fn stored_secret(db: &Db, name: &'static str, what: Generated, generated: &mut Vec<Generated>) -> anyhow::Result<Secret> {
    let fresh = random_token(GENERATED_SECRET_CHARS * 3 / 4);
    // The first process to get here stores its secret; any other (the CLI
    // started at the same moment) reads that one back.
    let (value, replaced) = db.secret_or(name, &fresh, |old| secret_problem(old).is_some()).await?;
    if value == fresh {
        if replaced {
            eprintln!("jiufu-collector: WARNING: the stored {name} was too short to be safe; a new one was generated (set it up again)");
        }
        generated.push(what);
    }
    Ok(Secret::new(value))
}

/// A signed push's identity, remembered until `expires_at` (epoch ms) so the
/// same push is never counted twice.
#[derive(Debug, Clone)]
pub struct ReplayKey {
    pub key: String,
    pub expires_at: i64,
}

/// Whether a source proved who it is (a verified sign, the operator, the local bus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    Authenticated,
    /// Recorded, but marks nothing online (SmsForwarder's unsigned opt-in).
    Unauthenticated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    Recorded(Ingested),
    NotPayment(parser::NotPayment),
    Replayed,
}
