//! The durable queue (`outbox`) of what must reach the gateway:
//! confirmations, rejections of false claims, unmatched payments.

use super::kinds::opt_id;
use super::{Db, rows};
use crate::model::{OutboxItem, OutboxKind};
use jiufu_protocol::{ObservationId, OrderId};
use rusqlite::{Connection, params};

const OUTBOX_COLUMNS: &str = "id, kind, observation_id, order_id, attempts, reason, done_at, last_error";

fn item(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        id: r.get(0)?,
        kind: r.get(1)?,
        observation_id: r.get(2)?,
        order_id: opt_id(r, 3)?,
        attempts: r.get(4)?,
        reason: r.get(5)?,
        done_at: r.get(6)?,
        last_error: r.get(7)?,
    })
}

impl Db {
    /// Queued items whose next attempt is due at `now` (epoch ms), oldest first.
    pub async fn due_outbox(&self, now: i64) -> anyhow::Result<Vec<OutboxItem>> {
        self.call(move |c| {
            let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE done_at IS NULL AND next_at <= ?1 ORDER BY id LIMIT 100");
            rows(c, &sql, [now], item)
        })
        .await
    }

    /// The queue, delivered items included (the newest `limit`, oldest first).
    pub async fn outbox(&self, limit: i64) -> anyhow::Result<Vec<OutboxItem>> {
        self.call(move |c| {
            let sql = format!("SELECT * FROM (SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?1) ORDER BY id");
            rows(c, &sql, [limit], item)
        })
        .await
    }

    /// How many items wait for delivery.
    pub async fn pending_outbox(&self) -> anyhow::Result<i64> {
        self.call(|c| Ok(c.query_row("SELECT COUNT(*) FROM outbox WHERE done_at IS NULL", [], |r| r.get(0))?)).await
    }
}

/// Queues a confirmation or an unmatched report about `observation`, due now.
pub(crate) fn enqueue(
    tx: &Connection,
    kind: OutboxKind,
    observation: &ObservationId,
    order: Option<&OrderId>,
    now_ms: i64,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO outbox (kind, observation_id, order_id, next_at) VALUES (?1, ?2, ?3, ?4)",
        params![kind, observation.as_str(), order.map(OrderId::as_str), now_ms],
    )?;
    Ok(())
}

/// Queues the rejection of a claim on `order_id`, due now.
pub(crate) fn enqueue_reject(tx: &Connection, order_id: &OrderId, reason: &str, now_ms: i64) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO outbox (kind, observation_id, order_id, next_at, reason) VALUES (?1, '', ?2, ?3, ?4)",
        params![OutboxKind::Reject, order_id.as_str(), now_ms, reason],
    )?;
    Ok(())
}

/// A rejection of the claim on `order_id` is still on its way.
pub(crate) fn rejection_queued(tx: &Connection, order_id: &OrderId) -> anyhow::Result<bool> {
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE kind = ?1 AND order_id = ?2 AND done_at IS NULL)",
        params![OutboxKind::Reject, order_id.as_str()],
        |r| r.get(0),
    )?)
}

/// The gateway took item `id` on attempt number `attempts`.
pub(crate) fn outbox_delivered(tx: &Connection, id: i64, attempts: i64, now_ms: i64) -> anyhow::Result<()> {
    tx.execute("UPDATE outbox SET done_at = ?1, attempts = ?2 WHERE id = ?3", params![now_ms, attempts, id])?;
    Ok(())
}

/// Attempt number `attempts` failed for now: try again at `next_at`.
pub(crate) fn outbox_retry(tx: &Connection, id: i64, attempts: i64, next_at: i64, error: &str) -> anyhow::Result<()> {
    tx.execute("UPDATE outbox SET attempts = ?1, next_at = ?2, last_error = ?3 WHERE id = ?4", params![attempts, next_at, error, id])?;
    Ok(())
}

/// The gateway refused item `id` for good.
pub(crate) fn outbox_refused(tx: &Connection, id: i64, attempts: i64, now_ms: i64, error: &str) -> anyhow::Result<()> {
    tx.execute("UPDATE outbox SET done_at = ?1, attempts = ?2, last_error = ?3 WHERE id = ?4", params![now_ms, attempts, error, id])?;
    Ok(())
}
