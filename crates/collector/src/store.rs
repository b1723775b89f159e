//! The collector's SQLite store (WAL, synchronous=FULL). One connection per
//! process behind a mutex; every write is one `BEGIN IMMEDIATE`
//! transaction, so the CLI and a running collector can share the file.

use anyhow::Context;
use jiufu_protocol::collector::OrderWire;
use jiufu_protocol::{Channel, Fen, OrderState};
use jiufu_sqlite_writer::Writer;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex};

const MIGRATIONS: &[(i64, &str)] =
    &[(1, include_str!("../migrations/0001_initial.sql")), (2, include_str!("../migrations/0002_reject.sql"))];

/// Writes go through one writer thread with group commit (many
/// observations per transaction, each answered after its COMMIT); reads
/// use their own connection.
#[derive(Clone)]
pub struct Db {
    writer: Writer,
    reader: Arc<Mutex<Connection>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Observation {
    pub id: String,
    pub source: String,
    pub channel: Channel,
    pub amount: Fen,
    /// Epoch milliseconds.
    pub observed_at: i64,
    pub app: String,
    pub title: String,
    pub text: String,
    pub status: String,
    pub order_id: Option<String>,
    pub duplicate_of: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Code {
    pub uid: String,
    pub channel: Channel,
    pub qr_text: String,
    pub amount: Option<Fen>,
    pub name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: i64,
    pub kind: String,
    pub observation_id: String,
    pub order_id: Option<String>,
    pub attempts: i64,
    /// Why the operator rejected a claim (`reject` items).
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceHealth {
    pub name: String,
    pub kind: String,
    pub last_seen: Option<i64>,
    pub errors: i64,
    pub last_error: String,
}

fn channel_of(s: String) -> rusqlite::Result<Channel> {
    s.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

const OBS_COLUMNS: &str = "id, source, channel, amount_fen, observed_at, app, title, text, status, order_id, duplicate_of, note";

fn observation(r: &rusqlite::Row<'_>) -> rusqlite::Result<Observation> {
    Ok(Observation {
        id: r.get(0)?,
        source: r.get(1)?,
        channel: channel_of(r.get(2)?)?,
        amount: Fen(r.get(3)?),
        observed_at: r.get(4)?,
        app: r.get(5)?,
        title: r.get(6)?,
        text: r.get(7)?,
        status: r.get(8)?,
        order_id: r.get(9)?,
        duplicate_of: r.get(10)?,
        note: r.get(11)?,
    })
}

const ORDER_COLUMNS: &str =
    "order_id, order_no, channel, state, order_fen, payable_fen, subject, created_at, expire_at, quarantine_until, claimed_at";

fn order(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderWire> {
    let state: i32 = r.get(3)?;
    Ok(OrderWire {
        order_id: r.get(0)?,
        order_no: r.get(1)?,
        channel: channel_of(r.get(2)?)?,
        state: OrderState::from_code(state).ok_or(rusqlite::Error::IntegralValueOutOfRange(3, state.into()))?,
        order_amount: Fen(r.get(4)?),
        payable_amount: Fen(r.get(5)?),
        subject: r.get(6)?,
        created_at: r.get(7)?,
        expire_at: r.get(8)?,
        quarantine_until: r.get(9)?,
        claimed_at: r.get(10)?,
    })
}

impl Db {
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        owner_only(path)?;
        let mut conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")?;
        let current: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.execute("INSERT INTO schema_migrations VALUES (?1, strftime('%s','now'))", [version])?;
            tx.commit()?;
        }
        let reader = Connection::open(path)?;
        reader.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Db { writer: Writer::start(conn), reader: Arc::new(Mutex::new(reader)) })
    }

    /// Runs `f` on the read connection in a blocking task.
    pub async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let conn = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| anyhow::anyhow!("collector store poisoned"))?;
            f(&mut guard)
        })
        .await?
    }

    /// Runs `f` in the writer's next transaction; answers after COMMIT.
    pub async fn write<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        self.writer.write(f).await
    }

    pub async fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
        let key = key.to_owned();
        self.call(move |c| Ok(c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)).await
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> anyhow::Result<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn add_code(&self, code: Code, now: i64) -> anyhow::Result<()> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO codes (uid, channel, qr_text, amount_fen, name, enabled, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![code.uid, code.channel.code(), code.qr_text, code.amount.map(|a| a.0), code.name, code.enabled, now],
            )?;
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('codes_version', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [now.to_string()],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn codes(&self) -> anyhow::Result<Vec<Code>> {
        self.call(|c| {
            let mut st = c.prepare("SELECT uid, channel, qr_text, amount_fen, name, enabled FROM codes ORDER BY created_at")?;
            let rows = st.query_map([], |r| {
                Ok(Code {
                    uid: r.get(0)?,
                    channel: channel_of(r.get(1)?)?,
                    qr_text: r.get(2)?,
                    amount: r.get::<_, Option<i64>>(3)?.map(Fen),
                    name: r.get(4)?,
                    enabled: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Stores the gateway's view of orders (open ones, and late-payable
    /// ones). Returns the orders that have just become claimed (state 8).
    pub async fn upsert_orders(&self, orders: Vec<OrderWire>) -> anyhow::Result<Vec<OrderWire>> {
        self.write(move |tx| {
            let mut claimed = Vec::new();
            for o in orders {
                let before: Option<i32> =
                    tx.query_row("SELECT state FROM orders WHERE order_id = ?1", [&o.order_id], |r| r.get(0)).optional()?;
                tx.execute(
                    &format!(
                        "INSERT INTO orders ({ORDER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                         ON CONFLICT (order_id) DO UPDATE SET state = excluded.state, quarantine_until = excluded.quarantine_until, \
                         claimed_at = excluded.claimed_at"
                    ),
                    params![
                        o.order_id,
                        o.order_no,
                        o.channel.code(),
                        o.state.code(),
                        o.order_amount.0,
                        o.payable_amount.0,
                        o.subject,
                        o.created_at,
                        o.expire_at,
                        o.quarantine_until,
                        o.claimed_at
                    ],
                )?;
                if o.state == OrderState::Claimed && before != Some(OrderState::Claimed.code()) {
                    claimed.push(o);
                }
            }
            Ok(claimed)
        })
        .await
    }

    pub async fn order(&self, order_id: &str) -> anyhow::Result<Option<OrderWire>> {
        let id = order_id.to_owned();
        self.call(move |c| Ok(c.query_row(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = ?1"), [id], order).optional()?))
            .await
    }

    /// Orders for the window: `filter` is `open` (waiting or claimed),
    /// `claimed`, or `all`; `search` matches the order id, merchant order
    /// number, subject or payable amount.
    pub async fn find_orders(&self, filter: &str, search: &str, limit: i64) -> anyhow::Result<Vec<OrderWire>> {
        let states = match filter {
            "open" => "state IN (1, 2, 5, 8)",
            "claimed" => "state = 8",
            "history" => "state NOT IN (1, 2, 5, 8)",
            _ => "1 = 1",
        };
        let search = search.trim().to_owned();
        let fen = Fen::parse_yuan(&search).ok().map(|f| f.0);
        let pattern = format!("%{}%", search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        self.call(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE {states} AND (?1 = '' OR order_id LIKE ?2 ESCAPE '\\' \
                 OR order_no LIKE ?2 ESCAPE '\\' OR subject LIKE ?2 ESCAPE '\\' OR payable_fen = ?3 OR order_fen = ?3) \
                 ORDER BY (state = 8) DESC, created_at DESC LIMIT ?4"
            ))?;
            Ok(st.query_map(params![search, pattern, fen, limit], order)?.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Payments recognised since `since` (epoch ms): how many, and their
    /// total, counting each payment once (duplicates and unmatched
    /// payments excluded from the total, which is money matched to orders).
    pub async fn takings_since(&self, since: i64) -> anyhow::Result<(i64, Fen)> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(amount_fen), 0) FROM observations \
                 WHERE observed_at >= ?1 AND status IN ('matched', 'confirmed')",
                [since],
                |r| Ok((r.get(0)?, Fen(r.get(1)?))),
            )?)
        })
        .await
    }

    pub async fn set_settings(&self, values: Vec<(String, String)>) -> anyhow::Result<()> {
        self.write(move |tx| {
            for (key, value) in values {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Turns a code on or off; false when there is no such code.
    pub async fn set_code_enabled(&self, uid: &str, enabled: bool, now: i64) -> anyhow::Result<bool> {
        let uid = uid.to_owned();
        self.write(move |tx| {
            let n = tx.execute("UPDATE codes SET enabled = ?1 WHERE uid = ?2", params![enabled, uid])?;
            if n == 1 {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES ('codes_version', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [now.to_string()],
                )?;
            }
            Ok(n == 1)
        })
        .await
    }

    pub async fn orders(&self) -> anyhow::Result<Vec<OrderWire>> {
        self.call(|c| {
            let mut st = c.prepare(&format!("SELECT {ORDER_COLUMNS} FROM orders ORDER BY created_at DESC LIMIT 5000"))?;
            Ok(st.query_map([], order)?.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn observations(&self, status: Option<&str>) -> anyhow::Result<Vec<Observation>> {
        let status = status.map(str::to_owned);
        self.call(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {OBS_COLUMNS} FROM observations WHERE (?1 IS NULL OR status = ?1) ORDER BY observed_at DESC LIMIT 2000"
            ))?;
            Ok(st.query_map([status], observation)?.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn observation(&self, id: &str) -> anyhow::Result<Option<Observation>> {
        let id = id.to_owned();
        self.call(move |c| {
            Ok(c.query_row(&format!("SELECT {OBS_COLUMNS} FROM observations WHERE id = ?1"), [id], observation).optional()?)
        })
        .await
    }

    pub async fn save_sources(&self, all: Vec<SourceHealth>) -> anyhow::Result<()> {
        self.write(move |tx| {
            for h in all {
                tx.execute(
                    "INSERT INTO sources (name, kind, last_seen, errors, last_error) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen, errors = excluded.errors, last_error = excluded.last_error",
                    params![h.name, h.kind, h.last_seen, h.errors, h.last_error],
                )?;
            }
            Ok(())
        })
        .await
    }

    pub async fn sources(&self) -> anyhow::Result<Vec<SourceHealth>> {
        self.call(|c| {
            let mut st = c.prepare("SELECT name, kind, last_seen, errors, last_error FROM sources ORDER BY name")?;
            let rows = st.query_map([], |r| {
                Ok(SourceHealth { name: r.get(0)?, kind: r.get(1)?, last_seen: r.get(2)?, errors: r.get(3)?, last_error: r.get(4)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn due_outbox(&self, now: i64) -> anyhow::Result<Vec<OutboxItem>> {
        self.call(move |c| {
            let mut st = c.prepare(
                "SELECT id, kind, observation_id, order_id, attempts, reason FROM outbox \
                 WHERE done_at IS NULL AND next_at <= ?1 ORDER BY id LIMIT 100",
            )?;
            let rows = st.query_map([now], |r| {
                Ok(OutboxItem {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    observation_id: r.get(2)?,
                    order_id: r.get(3)?,
                    attempts: r.get(4)?,
                    reason: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn observation_count(&self) -> anyhow::Result<i64> {
        self.call(|c| Ok(c.query_row("SELECT COUNT(*) FROM observations", [], |r| r.get(0))?)).await
    }

    /// The secret stored as `name`, or `fresh` stored in its place when
    /// there is none or `unusable` says the stored one must go. Returns the
    /// secret in force and whether an unusable one was replaced.
    pub async fn secret_or(&self, name: &str, fresh: &str, unusable: fn(&str) -> bool) -> anyhow::Result<(String, bool)> {
        let (name, fresh) = (name.to_owned(), fresh.to_owned());
        self.write(move |tx| {
            let old: Option<String> = tx.query_row("SELECT value FROM settings WHERE key = ?1", [&name], |r| r.get(0)).optional()?;
            match old {
                Some(old) if !unusable(&old) => Ok((old, false)),
                old => {
                    tx.execute(
                        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        params![name, fresh],
                    )?;
                    Ok((fresh, old.is_some_and(|o| !o.is_empty())))
                }
            }
        })
        .await
    }

    /// Forgets what is older than `cutoff` (epoch ms) and settled: payments
    /// that were confirmed, duplicates or never matched (none still queued),
    /// delivered queue items, the event log, and replay keys past their
    /// expiry. Returns how many rows went.
    pub async fn prune(&self, cutoff: i64, now: i64) -> anyhow::Result<usize> {
        self.write(move |tx| {
            let mut n = tx.execute(
                "DELETE FROM observations WHERE observed_at < ?1 AND status IN ('confirmed', 'duplicate', 'unmatched') \
                 AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.observation_id = observations.id AND done_at IS NULL)",
                [cutoff],
            )?;
            n += tx.execute("DELETE FROM outbox WHERE done_at IS NOT NULL AND done_at < ?1", [cutoff])?;
            n += tx.execute("DELETE FROM events WHERE at < ?1", [cutoff])?;
            n += tx.execute("DELETE FROM replay WHERE expires_at < ?1", [now])?;
            Ok(n)
        })
        .await
    }

    pub async fn pending_outbox(&self) -> anyhow::Result<i64> {
        self.call(|c| Ok(c.query_row("SELECT COUNT(*) FROM outbox WHERE done_at IS NULL", [], |r| r.get(0))?)).await
    }
}

/// Creates the store's directory (0700) and file (0600) for the owner
/// alone, and takes group and other access away from an existing file and
/// its `-wal` / `-shm` (SQLite gives those the main file's mode).
fn owner_only(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if let Ok(meta) = std::fs::metadata(&file)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("cannot make {} private", file.display()))?;
            }
        }
    }
    #[cfg(not(unix))]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

/// Records a signed push's replay key; false when it was seen before.
pub fn first_use(tx: &Connection, key: &str, expires_at: i64) -> anyhow::Result<bool> {
    tx.execute("DELETE FROM replay WHERE expires_at < ?1", [expires_at - 3_600_000])?;
    Ok(tx.execute("INSERT INTO replay (key, expires_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING", params![key, expires_at])? == 1)
}
