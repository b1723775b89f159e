//! The mirror of the gateway's orders: what the long poll brings in, what
//! the window lists, and the one payable order a payment can belong to.

use super::{Db, ObservationStatus, rows};
use jiufu_protocol::collector::OrderWire;
use jiufu_protocol::{Channel, Dialect, Fen, OrderState};
use rusqlite::{Connection, OptionalExtension, params};

const ORDER_COLUMNS: &str =
    "order_id, order_no, channel, state, order_fen, payable_fen, subject, created_at, expire_at, quarantine_until, claimed_at, dialect";

fn order(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderWire> {
    Ok(OrderWire {
        order_id: r.get(0)?,
        order_no: r.get(1)?,
        channel: r.get::<_, super::ChannelCol>(2)?.0,
        state: r.get::<_, super::StateCol>(3)?.0,
        order_amount: Fen(r.get(4)?),
        payable_amount: Fen(r.get(5)?),
        subject: r.get(6)?,
        created_at: r.get(7)?,
        expire_at: r.get(8)?,
        quarantine_until: r.get(9)?,
        claimed_at: r.get(10)?,
        // An unknown name from a newer gateway reads as the native API.
        dialect: Dialect::parse(&r.get::<_, String>(11)?).unwrap_or_default(),
    })
}

impl Db {
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
                        "INSERT INTO orders ({ORDER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
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
                        o.claimed_at,
                        o.dialect.as_str()
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
    /// `claimed`, `history` (no longer open) or `all`; `search` matches the
    /// order id, merchant order number, subject or payable amount.
    pub async fn find_orders(&self, filter: &str, search: &str, limit: i64) -> anyhow::Result<Vec<OrderWire>> {
        let open = OrderState::sql_list(OrderState::OPEN);
        let states = match filter {
            "open" => format!("state IN ({open})"),
            "claimed" => format!("state = {}", OrderState::Claimed.code()),
            "history" => format!("state NOT IN ({open})"),
            _ => "1 = 1".to_owned(),
        };
        let search = search.trim().to_owned();
        let fen = Fen::parse_yuan(&search).ok().map(|f| f.0);
        let pattern = format!("%{}%", search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        self.call(move |c| {
            let sql = format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE {states} AND (?1 = '' OR order_id LIKE ?2 ESCAPE '\\' \
                 OR order_no LIKE ?2 ESCAPE '\\' OR subject LIKE ?2 ESCAPE '\\' OR payable_fen = ?3 OR order_fen = ?3) \
                 ORDER BY (state = {claimed}) DESC, created_at DESC LIMIT ?4",
                claimed = OrderState::Claimed.code()
            );
            rows(c, &sql, params![search, pattern, fen, limit], order)
        })
        .await
    }

    pub async fn orders(&self) -> anyhow::Result<Vec<OrderWire>> {
        self.call(|c| rows(c, &format!("SELECT {ORDER_COLUMNS} FROM orders ORDER BY created_at DESC LIMIT 5000"), [], order)).await
    }
}

/// The newest order that can take a payment of `amount` by `channel` seen
/// at `t` (epoch ms): payable, created no more than `lead_ms` after the
/// payment, still within its quarantine, and not already another
/// payment's. The gateway guarantees at most one such order per amount.
pub(crate) fn payable_order(tx: &Connection, channel: Channel, amount: Fen, t: i64, lead_ms: i64) -> anyhow::Result<Option<String>> {
    Ok(tx
        .query_row(
            &format!(
                "SELECT order_id FROM orders WHERE channel = ?1 AND payable_fen = ?2 AND state IN ({payable}) \
                 AND created_at * 1000 - ?3 <= ?4 AND ?4 <= quarantine_until * 1000 \
                 AND NOT EXISTS (SELECT 1 FROM observations b WHERE b.order_id = orders.order_id AND b.status IN ({taken})) \
                 ORDER BY created_at DESC LIMIT 1",
                payable = OrderState::sql_list(OrderState::PAYABLE),
                taken = ObservationStatus::sql_list(ObservationStatus::TAKES_ORDER),
            ),
            params![channel.code(), amount.0, lead_ms, t],
            |r| r.get(0),
        )
        .optional()?)
}

/// A payment is already matched to (or confirmed for) this order.
pub(crate) fn order_taken(tx: &Connection, order_id: &str) -> anyhow::Result<bool> {
    Ok(tx.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM observations WHERE order_id = ?1 AND status IN ({}))",
            ObservationStatus::sql_list(ObservationStatus::TAKES_ORDER)
        ),
        [order_id],
        |r| r.get(0),
    )?)
}

/// Forgets the whole mirror (paired with another gateway or merchant).
pub(crate) fn forget_orders(tx: &Connection) -> anyhow::Result<()> {
    tx.execute("DELETE FROM orders", [])?;
    Ok(())
}
