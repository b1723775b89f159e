//! Observations → orders (`collector.md` §3). Everything here runs inside
//! one store transaction: the observation is written, deduplicated,
//! matched, and its confirmation or unmatched report queued, together.

use crate::model::{ObservationStatus, OutboxKind, SeenBy};
use crate::store;
use jiufu_protocol::{Channel, Fen, ObservationId, OrderId};
use rusqlite::Connection;

/// The same payment seen by two sources arrives within this window.
pub const DEDUP_WINDOW_MS: i64 = 120_000;
/// A payment may be seen this long before its order was created (clock skew).
pub const ORDER_LEAD_MS: i64 = 60_000;
/// How long a payment waits for its order to reach this collector before it
/// counts as unmatched.
pub const PENDING_GRACE_MS: i64 = 10_000;

#[derive(Debug, Clone)]
pub struct NewObservation {
    pub id: ObservationId,
    pub source: SeenBy,
    pub channel: Channel,
    pub amount: Fen,
    /// Epoch milliseconds.
    pub observed_at: i64,
    pub app: String,
    pub title: String,
    pub text: String,
    /// What tells this posted notification from another with the same text.
    pub posted: Posted,
}

/// What a source knows of a notification beyond its text (issue 16, M4):
/// two real payments of one amount can have identical texts, so the text
/// alone never says "the same notice again".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Posted {
    /// A fingerprint of this posting (a forwarder's receive time with the
    /// app, title and text; a mirror's notification key and content; a
    /// push's own signed fields). Seen again within 24 h: the same notice
    /// re-posted, re-forwarded or replayed, recorded as a duplicate.
    pub exact: Option<String>,
    /// A fingerprint of the text alone, for layouts that carry nothing
    /// more (KDE Connect's `Notify`). Seen again within 24 h: a replay or a
    /// second payment, which cannot be told apart, so it is recorded
    /// unmatched for the operator to attach by hand, never confirmed.
    pub alike: Option<String>,
}

impl Posted {
    /// A posting identified by `parts` (digested; the parts are joined unambiguously).
    pub fn exact(parts: &[&str]) -> Posted {
        Posted { exact: Some(digest(parts)), alike: None }
    }

    /// A layout that carries only the text: `parts` name it.
    pub fn alike(parts: &[&str]) -> Posted {
        Posted { exact: None, alike: Some(digest(parts)) }
    }
}

/// SHA-256 of the parts, each length-prefixed (no two lists join alike).
fn digest(parts: &[&str]) -> String {
    let mut joined = Vec::new();
    for p in parts {
        joined.extend_from_slice(format!("{}:", p.len()).as_bytes());
        joined.extend_from_slice(p.as_bytes());
    }
    jiufu_protocol::sign::sha256_hex(&joined)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    Matched {
        observation: ObservationId,
        order: OrderId,
    },
    /// Waiting for its order (or, after the grace period, unmatched).
    Pending {
        observation: ObservationId,
    },
    Duplicate {
        observation: ObservationId,
        of: ObservationId,
    },
    /// The same text as `like` within 24 h, from a layout that cannot tell
    /// a replay from a second payment: recorded unmatched, for the operator.
    Ambiguous {
        observation: ObservationId,
        like: ObservationId,
    },
}

/// Stores an observation and matches it.
///
/// Dedup: an observation is the same payment as an earlier one from a
/// *different* source with the same channel and amount within two minutes
/// (each source reports each payment once, so two from one source are two
/// payments); an earlier one absorbs at most one duplicate per source.
///
/// Before that, the notice itself ([`Posted`]): the same posting again is a
/// duplicate of the first; the same text again from a layout that carries
/// nothing more is recorded unmatched (never confirmed automatically).
pub(crate) fn ingest(tx: &Connection, new: &NewObservation, now_ms: i64) -> anyhow::Result<Ingested> {
    let exact = new.posted.exact.as_ref().map(|k| format!("exact:{k}"));
    let alike = new.posted.alike.as_ref().map(|k| format!("alike:{k}"));
    let reposted = match &exact {
        Some(k) => store::notice_seen(tx, k, now_ms)?,
        None => None,
    };
    let original = match &reposted {
        Some(first) => Some(first.clone()),
        None => store::same_payment_seen(tx, new, DEDUP_WINDOW_MS)?,
    };
    let like = match (&original, &alike) {
        (None, Some(k)) => store::notice_seen(tx, k, now_ms)?,
        _ => None,
    };
    let status = if original.is_some() { ObservationStatus::Duplicate } else { ObservationStatus::Pending };
    store::insert_observation(tx, new, status, original.as_ref(), now_ms)?;
    if let Some(first) = &reposted {
        store::set_note(
            tx,
            &new.id,
            &format!(
                "the same notification as {first} again (re-posted, re-forwarded or re-mirrored); if it is a second payment, attach it by hand"
            ),
        )?;
    }
    // Every sighting renews the memory (a notice that stays in the shade and
    // is re-mirrored each day stays known); a known key keeps its first observation.
    for key in exact.iter().chain(alike.iter()) {
        store::remember_notice(tx, key, &new.id, now_ms)?;
    }
    let outcome = match (original, like) {
        (Some(of), _) => Ingested::Duplicate { observation: new.id.clone(), of },
        (None, Some(like)) => {
            let why = format!(
                "the same notification text as {like} within 24 h: a replay or a second payment, which this source cannot tell apart; \
                 attach it to its order by hand if it is a real payment"
            );
            mark_unmatched(tx, &new.id, &why, now_ms)?;
            Ingested::Ambiguous { observation: new.id.clone(), like }
        }
        (None, None) => match try_match(tx, &new.id, new.channel, new.amount, new.observed_at, now_ms)? {
            Some(order) => Ingested::Matched { observation: new.id.clone(), order },
            None => Ingested::Pending { observation: new.id.clone() },
        },
    };
    let message = format!("{} {} {} from {}: {outcome:?}", new.id, new.channel, new.amount, new.source);
    store::log_event(tx, "observed", &message, now_ms)?;
    Ok(outcome)
}

/// Matches a pending observation to the one order it can belong to and
/// queues the confirmation.
fn try_match(tx: &Connection, id: &ObservationId, channel: Channel, amount: Fen, t: i64, now_ms: i64) -> anyhow::Result<Option<OrderId>> {
    let order = store::payable_order(tx, channel, amount, t, ORDER_LEAD_MS)?;
    if let Some(order_id) = &order {
        store::set_matched(tx, id, order_id)?;
        store::enqueue(tx, OutboxKind::Confirm, id, Some(order_id), now_ms)?;
    }
    Ok(order)
}

/// What a pass of [`rematch_pending`] settled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// (observation, order, channel, amount)
    pub matched: Vec<(ObservationId, OrderId, Channel, Fen)>,
    /// (observation, channel, amount)
    pub unmatched: Vec<(ObservationId, Channel, Fen)>,
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
pub(crate) fn rematch_pending(tx: &Connection, now_ms: i64, synced_at: i64) -> anyhow::Result<Settled> {
    let mut settled = Settled::default();
    for p in store::pending_observations(tx, 1000)? {
        if let Some(order) = try_match(tx, &p.id, p.channel, p.amount, p.observed_at, now_ms)? {
            settled.matched.push((p.id, order, p.channel, p.amount));
        } else if synced_at - p.created_at >= PENDING_GRACE_MS {
            mark_unmatched(tx, &p.id, "no open order with this amount", now_ms)?;
            settled.unmatched.push((p.id, p.channel, p.amount));
        }
    }
    Ok(settled)
}

/// An observation that belongs to no order: kept for the operator and reported.
pub(crate) fn mark_unmatched(tx: &Connection, id: &ObservationId, why: &str, now_ms: i64) -> anyhow::Result<()> {
    store::set_unmatched(tx, id, why)?;
    store::log_event(tx, "unmatched", &format!("{id}: {why}"), now_ms)?;
    store::enqueue(tx, OutboxKind::Unmatched, id, None, now_ms)
}

#[cfg(test)]
mod tests;
