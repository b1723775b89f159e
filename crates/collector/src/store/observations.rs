//! Payments seen (observations): written first, then deduplicated,
//! matched, confirmed or given up on.

use super::kinds::{id, opt_id, sql_list};
use super::{Db, rows};
use crate::matcher::NewObservation;
use crate::model::{Observation, ObservationStatus, PaymentFilter};
use jiufu_protocol::{Channel, Fen, ObservationId, OrderId};
use rusqlite::{Connection, OptionalExtension, params};

const OBS_COLUMNS: &str = "id, source, channel, amount_fen, observed_at, app, title, text, status, order_id, duplicate_of, note";

fn observation(r: &rusqlite::Row<'_>) -> rusqlite::Result<Observation> {
    Ok(Observation {
        id: id(r, 0)?,
        source: r.get(1)?,
        channel: r.get::<_, super::ChannelCol>(2)?.0,
        amount: Fen(r.get(3)?),
        observed_at: r.get(4)?,
        app: r.get(5)?,
        title: r.get(6)?,
        text: r.get(7)?,
        status: r.get(8)?,
        order_id: opt_id(r, 9)?,
        duplicate_of: opt_id(r, 10)?,
        note: r.get(11)?,
    })
}

impl Db {
    /// The latest payments (at most 2000) that `filter` shows.
    pub async fn observations(&self, filter: PaymentFilter) -> anyhow::Result<Vec<Observation>> {
        let statuses: Vec<ObservationStatus> = ObservationStatus::ALL.iter().copied().filter(|s| filter.shows(*s)).collect();
        let shown = match filter {
            PaymentFilter::All => "1 = 1".to_owned(),
            _ => format!("status IN ({})", sql_list(&statuses)),
        };
        self.call(move |c| {
            let sql = format!("SELECT {OBS_COLUMNS} FROM observations WHERE {shown} ORDER BY observed_at DESC LIMIT 2000");
            rows(c, &sql, [], observation)
        })
        .await
    }

    pub async fn observation(&self, id: &ObservationId) -> anyhow::Result<Option<Observation>> {
        let id = id.as_str().to_owned();
        self.call(move |c| {
            Ok(c.query_row(&format!("SELECT {OBS_COLUMNS} FROM observations WHERE id = ?1"), [id], observation).optional()?)
        })
        .await
    }

    pub async fn observation_count(&self) -> anyhow::Result<i64> {
        self.call(|c| Ok(c.query_row("SELECT COUNT(*) FROM observations", [], |r| r.get(0))?)).await
    }

    /// Payments recognised since `since` (epoch ms): how many, and their
    /// total, counting each payment once (duplicates and unmatched
    /// payments excluded from the total, which is money matched to orders).
    pub async fn takings_since(&self, since: i64) -> anyhow::Result<(i64, Fen)> {
        self.call(move |c| {
            Ok(c.query_row(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(amount_fen), 0) FROM observations WHERE observed_at >= ?1 AND status IN ({})",
                    sql_list(ObservationStatus::TAKES_ORDER)
                ),
                [since],
                |r| Ok((r.get(0)?, Fen(r.get(1)?))),
            )?)
        })
        .await
    }

    /// Gives up on a waiting payment now, as the matcher does after the
    /// grace period: unmatched, logged and reported. False when it was not
    /// waiting.
    pub async fn give_up_on(&self, id: &ObservationId, why: &str, now: i64) -> anyhow::Result<bool> {
        let (id, why) = (id.clone(), why.to_owned());
        self.write(move |tx| {
            let waiting: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM observations WHERE id = ?1 AND status = ?2)",
                params![id.as_str(), ObservationStatus::Pending],
                |r| r.get(0),
            )?;
            if waiting {
                crate::matcher::mark_unmatched(tx, &id, &why, now)?;
            }
            Ok(waiting)
        })
        .await
    }
}

/// The earlier observation that `new` is the same payment as, if any: from
/// a *different* source, same channel and amount, within `window_ms`, not
/// itself a duplicate, and not yet holding a duplicate from `new`'s source
/// (each source reports each payment once, so an earlier one absorbs at
/// most one duplicate per source). The nearest in time wins.
pub(crate) fn same_payment_seen(tx: &Connection, new: &NewObservation, window_ms: i64) -> anyhow::Result<Option<ObservationId>> {
    let t = new.observed_at;
    Ok(tx
        .query_row(
            "SELECT o.id FROM observations o WHERE o.channel = ?1 AND o.amount_fen = ?2 AND o.observed_at BETWEEN ?3 AND ?4 \
             AND o.status != ?7 AND o.source != ?5 \
             AND NOT EXISTS (SELECT 1 FROM observations d WHERE d.duplicate_of = o.id AND d.source = ?5) \
             ORDER BY abs(o.observed_at - ?6) LIMIT 1",
            params![new.channel.code(), new.amount.0, t - window_ms, t + window_ms, new.source, t, ObservationStatus::Duplicate],
            |r| id(r, 0),
        )
        .optional()?)
}

pub(crate) fn insert_observation(
    tx: &Connection,
    new: &NewObservation,
    status: ObservationStatus,
    duplicate_of: Option<&ObservationId>,
    now_ms: i64,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO observations (id, source, channel, amount_fen, observed_at, app, title, text, status, duplicate_of, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            new.id.as_str(),
            new.source,
            new.channel.code(),
            new.amount.0,
            new.observed_at,
            new.app,
            new.title,
            new.text,
            status,
            duplicate_of.map(ObservationId::as_str),
            now_ms
        ],
    )?;
    Ok(())
}

/// The operator's own witness of an order's payment, already matched to it.
pub(crate) fn insert_confirmed_by_hand(
    tx: &Connection,
    id: &ObservationId,
    channel: Channel,
    amount: Fen,
    order_id: &OrderId,
    now_ms: i64,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO observations (id, source, channel, amount_fen, observed_at, app, title, text, status, order_id, created_at) \
         VALUES (?1, 'operator', ?2, ?3, ?4, 'operator', '', 'confirmed by hand', ?5, ?6, ?4)",
        params![id.as_str(), channel.code(), amount.0, now_ms, ObservationStatus::Matched, order_id.as_str()],
    )?;
    Ok(())
}

/// A payment waiting for its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingObservation {
    pub id: ObservationId,
    pub channel: Channel,
    pub amount: Fen,
    /// When the payment was seen (epoch ms).
    pub observed_at: i64,
    /// When it was stored (epoch ms).
    pub created_at: i64,
}

/// Up to `limit` payments waiting for their order.
pub(crate) fn pending_observations(tx: &Connection, limit: i64) -> anyhow::Result<Vec<PendingObservation>> {
    rows(
        tx,
        "SELECT id, channel, amount_fen, observed_at, created_at FROM observations WHERE status = ?1 LIMIT ?2",
        params![ObservationStatus::Pending, limit],
        |r| {
            Ok(PendingObservation {
                id: id(r, 0)?,
                channel: r.get::<_, super::ChannelCol>(1)?.0,
                amount: Fen(r.get(2)?),
                observed_at: r.get(3)?,
                created_at: r.get(4)?,
            })
        },
    )
}

/// Says why an observation is what it is (shown to the operator).
pub(crate) fn set_note(tx: &Connection, id: &ObservationId, note: &str) -> anyhow::Result<()> {
    tx.execute("UPDATE observations SET note = ?1 WHERE id = ?2", params![note, id.as_str()])?;
    Ok(())
}

pub(crate) fn set_matched(tx: &Connection, id: &ObservationId, order_id: &OrderId) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE observations SET status = ?1, order_id = ?2 WHERE id = ?3",
        params![ObservationStatus::Matched, order_id.as_str(), id.as_str()],
    )?;
    Ok(())
}

pub(crate) fn set_unmatched(tx: &Connection, id: &ObservationId, why: &str) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE observations SET status = ?1, order_id = NULL, note = ?2 WHERE id = ?3",
        params![ObservationStatus::Unmatched, why, id.as_str()],
    )?;
    Ok(())
}

/// The gateway acknowledged the payment's confirmation.
pub(crate) fn set_confirmed(tx: &Connection, id: &ObservationId) -> anyhow::Result<()> {
    tx.execute("UPDATE observations SET status = ?1 WHERE id = ?2", params![ObservationStatus::Confirmed, id.as_str()])?;
    Ok(())
}

/// Matches an unmatched payment (or one recorded as a duplicate, which the
/// operator knows to be a second payment) to `order_id` by hand; false when
/// it is no longer either.
pub(crate) fn attach_unmatched(tx: &Connection, id: &ObservationId, order_id: &OrderId) -> anyhow::Result<bool> {
    let n = tx.execute(
        "UPDATE observations SET status = ?1, order_id = ?2, duplicate_of = NULL, note = 'attached by hand' \
         WHERE id = ?3 AND status IN (?4, ?5)",
        params![ObservationStatus::Matched, order_id.as_str(), id.as_str(), ObservationStatus::Unmatched, ObservationStatus::Duplicate],
    )?;
    Ok(n == 1)
}
