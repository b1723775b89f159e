//! Observations → orders (`collector.md` §3). Everything here runs inside
//! one store transaction: the observation is written, deduplicated,
//! matched, and its confirmation or unmatched report queued, together.

use jiufu_protocol::{Channel, Fen};
use rusqlite::Connection;
use rusqlite::{OptionalExtension, params};

/// The same payment seen by two sources arrives within this window.
pub const DEDUP_WINDOW_MS: i64 = 120_000;
/// A payment may be seen this long before its order was created (clock skew).
pub const ORDER_LEAD_MS: i64 = 60_000;
/// How long a payment waits for its order to reach this collector before it
/// counts as unmatched.
pub const PENDING_GRACE_MS: i64 = 10_000;

#[derive(Debug, Clone)]
pub struct NewObservation {
    pub id: String,
    pub source: String,
    pub channel: Channel,
    pub amount: Fen,
    /// Epoch milliseconds.
    pub observed_at: i64,
    pub app: String,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    Matched {
        observation: String,
        order: String,
    },
    /// Waiting for its order (or, after the grace period, unmatched).
    Pending {
        observation: String,
    },
    Duplicate {
        observation: String,
        of: String,
    },
}

/// Stores an observation and matches it.
///
/// Dedup: an observation is the same payment as an earlier one from a
/// *different* source with the same channel and amount within two minutes
/// (each source reports each payment once, so two from one source are two
/// payments); an earlier one absorbs at most one duplicate per source.
pub fn ingest(tx: &Connection, new: &NewObservation, now_ms: i64) -> anyhow::Result<Ingested> {
    let t = new.observed_at;
    let original: Option<String> = tx
        .query_row(
            "SELECT o.id FROM observations o WHERE o.channel = ?1 AND o.amount_fen = ?2 AND o.observed_at BETWEEN ?3 AND ?4 \
             AND o.status != 'duplicate' AND o.source != ?5 \
             AND NOT EXISTS (SELECT 1 FROM observations d WHERE d.duplicate_of = o.id AND d.source = ?5) \
             ORDER BY abs(o.observed_at - ?6) LIMIT 1",
            params![new.channel.code(), new.amount.0, t - DEDUP_WINDOW_MS, t + DEDUP_WINDOW_MS, new.source, t],
            |r| r.get(0),
        )
        .optional()?;
    let status = if original.is_some() { "duplicate" } else { "pending" };
    tx.execute(
        "INSERT INTO observations (id, source, channel, amount_fen, observed_at, app, title, text, status, duplicate_of, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![new.id, new.source, new.channel.code(), new.amount.0, t, new.app, new.title, new.text, status, original, now_ms],
    )?;
    let outcome = match original {
        Some(of) => Ingested::Duplicate { observation: new.id.clone(), of },
        None => match try_match(tx, &new.id, new.channel, new.amount, t, now_ms)? {
            Some(order) => Ingested::Matched { observation: new.id.clone(), order },
            None => Ingested::Pending { observation: new.id.clone() },
        },
    };
    let message = format!("{} {} {} from {}: {outcome:?}", new.id, new.channel, new.amount, new.source);
    log_event(tx, "observed", &message, now_ms)?;
    Ok(outcome)
}

/// The collector's event log, written in the same transaction as what it tells of.
pub fn log_event(tx: &Connection, kind: &str, message: &str, now_ms: i64) -> anyhow::Result<()> {
    tx.execute("INSERT INTO events (at, kind, message) VALUES (?1, ?2, ?3)", params![now_ms, kind, message])?;
    Ok(())
}

/// Matches a pending observation to the one order it can belong to and
/// queues the confirmation.
fn try_match(tx: &Connection, id: &str, channel: Channel, amount: Fen, t: i64, now_ms: i64) -> anyhow::Result<Option<String>> {
    let order: Option<String> = tx
        .query_row(
            "SELECT order_id FROM orders WHERE channel = ?1 AND payable_fen = ?2 AND state IN (1, 2, 5, 8, -1) \
             AND created_at * 1000 - ?3 <= ?4 AND ?4 <= quarantine_until * 1000 \
             AND NOT EXISTS (SELECT 1 FROM observations b WHERE b.order_id = orders.order_id AND b.status IN ('matched', 'confirmed')) \
             ORDER BY created_at DESC LIMIT 1",
            params![channel.code(), amount.0, ORDER_LEAD_MS, t],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(order_id) = &order {
        tx.execute("UPDATE observations SET status = 'matched', order_id = ?1 WHERE id = ?2", params![order_id, id])?;
        enqueue(tx, "confirm", id, Some(order_id), now_ms)?;
    }
    Ok(order)
}

/// A payment is already matched to (or confirmed for) this order.
pub fn order_taken(tx: &Connection, order_id: &str) -> rusqlite::Result<bool> {
    tx.query_row("SELECT EXISTS (SELECT 1 FROM observations WHERE order_id = ?1 AND status IN ('matched', 'confirmed'))", [order_id], |r| {
        r.get(0)
    })
}

pub fn enqueue(tx: &Connection, kind: &str, observation: &str, order: Option<&str>, now_ms: i64) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO outbox (kind, observation_id, order_id, next_at) VALUES (?1, ?2, ?3, ?4)",
        params![kind, observation, order, now_ms],
    )?;
    Ok(())
}

/// What a pass of [`rematch_pending`] settled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// (observation, order, channel, amount)
    pub matched: Vec<(String, String, Channel, Fen)>,
    /// (observation, channel, amount)
    pub unmatched: Vec<(String, Channel, Fen)>,
}

impl Settled {
    pub fn is_empty(&self) -> bool {
        self.matched.is_empty() && self.unmatched.is_empty()
    }
}

/// Retries pending observations (their order may have arrived since) and
/// gives up on those whose grace period passed *while the orders mirror was
/// current* (`synced_at`: the last time the gateway's orders were fetched),
/// so a payment seen while the gateway is unreachable waits for its order.
/// Those become unmatched and are reported.
pub fn rematch_pending(tx: &Connection, now_ms: i64, synced_at: i64) -> anyhow::Result<Settled> {
    let pending: Vec<(String, String, i64, i64, i64)> = {
        let mut st =
            tx.prepare("SELECT id, channel, amount_fen, observed_at, created_at FROM observations WHERE status = 'pending' LIMIT 1000")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?.collect::<rusqlite::Result<_>>()?
    };
    let mut settled = Settled::default();
    for (id, channel, fen, t, created) in pending {
        let channel: Channel = channel.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(order) = try_match(tx, &id, channel, Fen(fen), t, now_ms)? {
            settled.matched.push((id, order, channel, Fen(fen)));
        } else if synced_at - created >= PENDING_GRACE_MS {
            mark_unmatched(tx, &id, "no open order with this amount", now_ms)?;
            settled.unmatched.push((id, channel, Fen(fen)));
        }
    }
    Ok(settled)
}

/// An observation that belongs to no order: kept for the operator and reported.
pub fn mark_unmatched(tx: &Connection, id: &str, why: &str, now_ms: i64) -> anyhow::Result<()> {
    tx.execute("UPDATE observations SET status = 'unmatched', order_id = NULL, note = ?1 WHERE id = ?2", params![why, id])?;
    log_event(tx, "unmatched", &format!("{id}: {why}"), now_ms)?;
    enqueue(tx, "unmatched", id, None, now_ms)
}
