//! The collector's SQLite store (WAL, synchronous=FULL), and the only place
//! in the collector that speaks SQL. Reads go through [`Db`]'s methods;
//! writes are one `BEGIN IMMEDIATE` transaction each (group-committed by
//! one writer thread), so the CLI and a running collector can share the
//! file. Work that must commit together (an observation, its match and its
//! queued confirmation) runs in one [`Db::write`] and calls the functions
//! here that take that transaction.

mod kinds;
mod observations;
mod orders;
mod outbox;
#[cfg(test)]
mod safety;
#[cfg(test)]
mod tests;

pub(crate) use kinds::sql_list;
pub(crate) use observations::{
    attach_unmatched, insert_confirmed_by_hand, insert_observation, pending_observations, same_payment_seen, set_confirmed, set_matched,
    set_note, set_unmatched,
};
pub(crate) use orders::{forget_orders, order_taken, payable_order};
pub(crate) use outbox::{enqueue, enqueue_reject, outbox_delivered, outbox_refused, outbox_retry, rejection_queued};

use crate::model::{Code, ObservationStatus, SourceHealth};
use anyhow::Context;
use jiufu_protocol::{Fen, ObservationId};
use jiufu_sqlite_writer::Writer;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_initial.sql")),
    (2, include_str!("../../migrations/0002_reject.sql")),
    (3, include_str!("../../migrations/0003_dialect.sql")),
    (4, include_str!("../../migrations/0004_notices.sql")),
    (5, include_str!("../../migrations/0005_wire_unknown.sql")),
];

/// Writes go through one writer thread with group commit (many
/// observations per transaction, each answered after its COMMIT); reads
/// use their own connection.
#[derive(Clone)]
pub struct Db {
    writer: Writer,
    reader: Arc<Mutex<Connection>>,
}

pub(crate) use jiufu_sqlite_writer::columns::ChannelCol;

/// Every row `sql` selects with `params`, read by `row`.
fn rows<T, P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    params: P,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let mut st = c.prepare(sql)?;
    Ok(st.query_map(params, row)?.collect::<rusqlite::Result<Vec<_>>>()?)
}

impl Db {
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        owner_only(path)?;
        let mut conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        jiufu_sqlite_writer::migrate::run(&mut conn, MIGRATIONS).with_context(|| format!("cannot migrate {}", path.display()))?;
        let reader = Connection::open(path)?;
        reader.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Db { writer: Writer::start(conn), reader: Arc::new(Mutex::new(reader)) })
    }

    /// Runs `f` on the read connection in a blocking task.
    pub(crate) async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
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
    pub(crate) async fn write<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        self.writer.write(f).await
    }

    pub async fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
        let key = key.to_owned();
        self.call(move |c| setting_in(c, &key)).await
    }

    #[cfg(test)]
    pub async fn set_setting(&self, key: &str, value: &str) -> anyhow::Result<()> {
        self.set_settings(vec![(key.to_owned(), value.to_owned())]).await
    }

    pub async fn set_settings(&self, values: Vec<(String, String)>) -> anyhow::Result<()> {
        self.write(move |tx| values.iter().try_for_each(|(key, value)| put_setting(tx, key, value))).await
    }

    pub async fn add_code(&self, code: Code, now: i64) -> anyhow::Result<()> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO codes (uid, channel, qr_text, amount_fen, name, enabled, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![code.uid, code.channel.code(), code.qr_text, code.amount.map(|a| a.0), code.name, code.enabled, now],
            )?;
            put_setting(tx, crate::setting::CODES_VERSION, &now.to_string())
        })
        .await
    }

    pub async fn codes(&self) -> anyhow::Result<Vec<Code>> {
        self.call(|c| {
            rows(c, "SELECT uid, channel, qr_text, amount_fen, name, enabled FROM codes ORDER BY created_at", [], |r| {
                Ok(Code {
                    uid: r.get(0)?,
                    channel: r.get::<_, ChannelCol>(1)?.0,
                    qr_text: r.get(2)?,
                    amount: r.get::<_, Option<i64>>(3)?.map(Fen),
                    name: r.get(4)?,
                    enabled: r.get(5)?,
                })
            })
        })
        .await
    }

    /// Turns a code on or off; false when there is no such code.
    pub async fn set_code_enabled(&self, uid: &str, enabled: bool, now: i64) -> anyhow::Result<bool> {
        let uid = uid.to_owned();
        self.write(move |tx| {
            let n = tx.execute("UPDATE codes SET enabled = ?1 WHERE uid = ?2", params![enabled, uid])?;
            if n == 1 {
                put_setting(tx, crate::setting::CODES_VERSION, &now.to_string())?;
            }
            Ok(n == 1)
        })
        .await
    }

    pub async fn save_sources(&self, all: Vec<SourceHealth>) -> anyhow::Result<()> {
        self.write(move |tx| {
            for h in all {
                tx.execute(
                    "INSERT INTO sources (name, kind, last_seen, errors, last_error) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen, errors = excluded.errors, last_error = excluded.last_error",
                    params![h.name, h.kind.as_str(), h.last_seen, h.errors, h.last_error],
                )?;
            }
            Ok(())
        })
        .await
    }

    pub async fn sources(&self) -> anyhow::Result<Vec<SourceHealth>> {
        self.call(|c| {
            rows(c, "SELECT name, kind, last_seen, errors, last_error FROM sources ORDER BY name", [], |r| {
                Ok(SourceHealth {
                    name: r.get(0)?,
                    kind: kinds::word(r, 1)?,
                    last_seen: r.get(2)?,
                    errors: r.get(3)?,
                    last_error: r.get(4)?,
                })
            })
        })
        .await
    }

    /// The secret stored as `name`, or `fresh` stored in its place when
    /// there is none or `unusable` says the stored one must go. Returns the
    /// secret in force and whether an unusable one was replaced.
    pub async fn secret_or(&self, name: &str, fresh: &str, unusable: fn(&str) -> bool) -> anyhow::Result<(String, bool)> {
        let (name, fresh) = (name.to_owned(), fresh.to_owned());
        self.write(move |tx| match setting_in(tx, &name)? {
            Some(old) if !unusable(&old) => Ok((old, false)),
            old => {
                put_setting(tx, &name, &fresh)?;
                Ok((fresh, old.is_some_and(|o| !o.is_empty())))
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
                &format!(
                    "DELETE FROM observations WHERE observed_at < ?1 AND status IN ({}) \
                     AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.observation_id = observations.id AND done_at IS NULL)",
                    sql_list(ObservationStatus::SETTLED)
                ),
                [cutoff],
            )?;
            n += tx.execute("DELETE FROM outbox WHERE done_at IS NOT NULL AND done_at < ?1", [cutoff])?;
            n += tx.execute("DELETE FROM events WHERE at < ?1", [cutoff])?;
            n += tx.execute("DELETE FROM replay WHERE expires_at < ?1", [now])?;
            n += tx.execute("DELETE FROM notices WHERE expires_at < ?1", [now])?;
            Ok(n)
        })
        .await
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

/// A setting, read in a transaction.
pub(crate) fn setting_in(tx: &Connection, key: &str) -> anyhow::Result<Option<String>> {
    Ok(tx.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// Stores a setting, in a transaction.
pub(crate) fn put_setting(tx: &Connection, key: &str, value: &str) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The collector's event log, written in the same transaction as what it tells of.
pub(crate) fn log_event(tx: &Connection, kind: &str, message: &str, now_ms: i64) -> anyhow::Result<()> {
    tx.execute("INSERT INTO events (at, kind, message) VALUES (?1, ?2, ?3)", params![now_ms, kind, message])?;
    Ok(())
}

/// How long a posted notification is remembered (issue 16, M4).
pub const NOTICE_MEMORY_MS: i64 = 24 * 3_600_000;

/// The observation an unexpired notice key was first recorded with, if any.
pub(crate) fn notice_seen(tx: &Connection, key: &str, now_ms: i64) -> anyhow::Result<Option<ObservationId>> {
    Ok(tx
        .query_row("SELECT observation_id FROM notices WHERE key = ?1 AND expires_at >= ?2", params![key, now_ms], |r| kinds::id(r, 0))
        .optional()?)
}

/// Remembers a notice key for [`NOTICE_MEMORY_MS`] from `now_ms`; an
/// expired one is replaced, a live one kept with its first observation and
/// its memory extended.
pub(crate) fn remember_notice(tx: &Connection, key: &str, observation_id: &ObservationId, now_ms: i64) -> anyhow::Result<()> {
    // Expired keys are deleted by the hourly prune; one met here is taken over.
    tx.execute(
        "INSERT INTO notices (key, observation_id, expires_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, \
         observation_id = CASE WHEN notices.expires_at < ?4 THEN excluded.observation_id ELSE notices.observation_id END",
        params![key, observation_id.as_str(), now_ms + NOTICE_MEMORY_MS, now_ms],
    )?;
    Ok(())
}

/// Records a signed push's replay key; false when it was seen before.
pub(crate) fn first_use(tx: &Connection, key: &str, expires_at: i64) -> anyhow::Result<bool> {
    tx.execute("DELETE FROM replay WHERE expires_at < ?1", [expires_at - 3_600_000])?;
    Ok(tx.execute("INSERT INTO replay (key, expires_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING", params![key, expires_at])? == 1)
}
