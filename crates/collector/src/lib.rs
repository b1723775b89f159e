//! The Jiufu collector core: it learns of incoming payments from
//! notifications (the payee's phone via forwarder apps, the computer's own
//! notification bus, the operator), matches each to the gateway's pending
//! order by channel and exact payable amount, and reports confirmations
//! through a durable queue. The headless `jiufu-collector` and the desktop
//! app run this same core.

pub mod cli;
mod config;
pub mod events;
pub mod link;
pub mod matcher;
pub mod model;
pub mod operator;
pub mod parser;
mod reads;
pub mod run;
pub mod sources;
mod store;
#[cfg(test)]
mod testing;

use anyhow::Context;
pub use config::{
    Config, GENERATED_SECRET_CHARS, MAX_SECRET_CHARS, MIN_SECRET_CHARS, Pinned, default_data_dir, options, secret_problem, setting,
};
pub use events::CoreEvent;
use jiufu_protocol::collector::SourceKind;
use jiufu_protocol::ids::random_token;
use jiufu_protocol::{Channel, Fen, ObservationId, Secret};
pub use matcher::Posted;
use matcher::{Ingested, NewObservation};
use model::{SeenBy, SourceHealth};
use parser::{Notice, Parser};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use store::Db;
use tokio::sync::{Notify, watch};

/// Logs to stderr, filtered by `JIUFU_LOG` (default `info`): the one
/// logging setup ([`jiufu_config::init_logging`]), for a caller that has no
/// [`Config`] yet (the desktop app). `jiufu-collector` starts it with its
/// configuration's `log` setting.
pub fn init_logging() {
    jiufu_config::init_logging(None);
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub struct Collector {
    /// The store: crate-private; everyone else reads and writes through
    /// `Collector`'s methods (this file, `reads`, `operator`).
    pub(crate) db: Db,
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
    pub(crate) phone_seen: AtomicI64,
    health: std::sync::Mutex<std::collections::HashMap<SourceKind, SourceHealth>>,
    events: tokio::sync::broadcast::Sender<CoreEvent>,
    /// The gateway link in force (one HTTP client for every caller), once paired.
    link: RwLock<Option<Arc<link::Link>>>,
    /// What the run is doing, for whoever watches (the window).
    status: watch::Sender<RunStatus>,
}

/// What a run is doing, published as one snapshot whenever it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStatus {
    /// Where the LAN listener is bound, once the run has bound it.
    pub listening: Option<SocketAddr>,
    /// A long poll for order changes is connected: new orders arrive at once.
    pub orders_live: bool,
    /// Epoch ms up to which the orders mirror is known to be current (0: not yet).
    pub orders_synced_at: i64,
    /// The sources the run runs (and the phone, once heard from), and whether each is up.
    pub sources: Vec<(String, bool)>,
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
        let c = Arc::new(Collector {
            db,
            parser,
            config,
            key,
            smsf_secret,
            generated,
            outbox_wake: Notify::new(),
            phone_seen: AtomicI64::new(0),
            health: Default::default(),
            events: tokio::sync::broadcast::channel(256).0,
            link: RwLock::new(None),
            status: watch::channel(RunStatus::default()).0,
        });
        c.refresh_link().await?;
        Ok(c)
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

    /// The run's status as last published.
    pub fn status(&self) -> RunStatus {
        self.status.borrow().clone()
    }

    /// Changes the run's status; watchers hear of it only if it changed.
    pub(crate) fn publish(&self, change: impl FnOnce(&mut RunStatus)) {
        self.status.send_if_modified(|s| {
            let before = s.clone();
            change(s);
            *s != before
        });
    }

    /// The gateway link in force, once paired.
    pub fn link(&self) -> Option<Arc<link::Link>> {
        self.link.read().ok().and_then(|l| l.clone())
    }

    /// Reads the pairing from the store and holds a new link if it changed
    /// (paired here, or by another process on the same store: the CLI
    /// while `run` runs). Returns the link in force.
    pub async fn refresh_link(&self) -> anyhow::Result<Option<Arc<link::Link>>> {
        let get = |k: &'static str| self.db.setting(k);
        let stored = match (get(setting::GATEWAY_URL).await?, get(setting::DEVICE_ID).await?, get(setting::DEVICE_SECRET).await?) {
            (Some(u), Some(i), Some(s)) => Some((u, i, s)),
            _ => None,
        };
        let mut held = self.link.write().map_err(|_| anyhow::anyhow!("the gateway link is poisoned"))?;
        let unchanged = match (&stored, held.as_deref()) {
            (Some((u, i, s)), Some(l)) => l.has_credentials(u, i, s),
            (None, None) => true,
            _ => false,
        };
        if !unchanged {
            *held = stored.map(|(u, i, s)| Arc::new(link::Link::new(&u, &i, &s)));
        }
        Ok(held.clone())
    }

    /// A notification's text: parsed, and if it is a payment, observed.
    pub async fn observe_notice(
        &self,
        source: SourceKind,
        notice: Notice,
        observed_at: i64,
        delivery: Delivery,
    ) -> anyhow::Result<Observed> {
        self.observe_notice_as(source, notice, observed_at, delivery, Trust::Authenticated).await
    }

    /// [`Collector::observe_notice`], for a source that may not have proved
    /// who it is: what it says is recorded but marks nothing online.
    ///
    /// The push's replay key is used up whatever the notice turns out to
    /// be: a push that is not a payment (a forwarded chat) must not leave
    /// its (timestamp, sign) free for someone who saw it to send again with
    /// a payment's text. For a payment it is used up in the transaction
    /// that records it, so a failed write leaves it free for the retry.
    pub async fn observe_notice_as(
        &self,
        source: SourceKind,
        notice: Notice,
        observed_at: i64,
        delivery: Delivery,
        trust: Trust,
    ) -> anyhow::Result<Observed> {
        match self.parser.parse(&notice) {
            Ok(p) => self.record(source, p.channel, p.amount, observed_at, notice, delivery, trust).await,
            Err(why) => {
                tracing::debug!(%source, ?notice, %why, "not a payment");
                if !self.use_up(delivery.replay).await? {
                    return Ok(Observed::Replayed);
                }
                Ok(Observed::NotPayment(why))
            }
        }
    }

    /// Uses up a verified push's replay key that records nothing; false
    /// when it was used before.
    pub async fn use_up(&self, replay: Option<ReplayKey>) -> anyhow::Result<bool> {
        match replay {
            Some(key) => self.db.write(move |tx| store::first_use(tx, &key.key, key.expires_at)).await,
            None => Ok(true),
        }
    }

    /// A payment seen by `source`: its replay key, the observation, dedup
    /// and matching are written in one transaction before anything else
    /// happens to it.
    pub async fn observe(
        &self,
        source: SourceKind,
        channel: Channel,
        amount: Fen,
        observed_at: i64,
        notice: Notice,
        delivery: Delivery,
    ) -> anyhow::Result<Observed> {
        self.record(source, channel, amount, observed_at, notice, delivery, Trust::Authenticated).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        source: SourceKind,
        channel: Channel,
        amount: Fen,
        observed_at: i64,
        notice: Notice,
        delivery: Delivery,
        trust: Trust,
    ) -> anyhow::Result<Observed> {
        let Delivery { replay: replay_key, posted } = delivery;
        // At most STORED_TEXT_BYTES of text per payment, however much was sent.
        let app = clip(notice.app, 128);
        let title = clip(notice.title, 1024);
        let text = clip(notice.text, STORED_TEXT_BYTES - title.len() - app.len());
        let new = NewObservation {
            id: ObservationId::generate(),
            source: SeenBy::new(source, trust),
            channel,
            amount,
            observed_at,
            app,
            title,
            text,
            posted,
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
        tracing::info!(source = %SeenBy::new(source, trust), %channel, %amount, ?outcome, "payment observed");
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
    pub fn touch(&self, source: SourceKind, error: Option<String>) {
        let now = now_ms();
        if source == SourceKind::Vmq && error.is_none() {
            self.phone_seen.store(now, Ordering::Relaxed);
        }
        if let Ok(mut health) = self.health.lock() {
            let h = health.entry(source).or_insert_with(|| SourceHealth {
                name: source.as_str().to_owned(),
                kind: source,
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

    /// When each of `sources` was last heard from (those heard from at all).
    pub fn heard_from(&self, sources: &[SourceKind]) -> Vec<(SourceKind, i64)> {
        let Ok(health) = self.health.lock() else { return Vec::new() };
        sources.iter().filter_map(|k| health.get(k).and_then(|h| h.last_seen).map(|t| (*k, t))).collect()
    }

    /// Writes the sources' health to the store (for `status` and the app).
    pub async fn save_health(&self) -> anyhow::Result<()> {
        let all: Vec<SourceHealth> = self.health.lock().map(|h| h.values().cloned().collect()).unwrap_or_default();
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
            eprintln!(
                "jiufu-collector: WARNING: the stored {name} was not a safe secret (16 to 256 characters, no spaces); a new one was generated (set it up again)"
            );
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

/// How a notice was delivered: the push's replay key (used up whatever the
/// notice is), and what tells the posted notification from another with
/// the same text.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    pub replay: Option<ReplayKey>,
    pub posted: Posted,
}

/// Whether a source proved who it is (a verified sign, the operator, the local bus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
