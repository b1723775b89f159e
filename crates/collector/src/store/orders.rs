//! The mirror of the gateway's orders: what the long poll brings in, what
//! the window lists, and the one payable order a payment can belong to.

use super::kinds::{id, sql_list};
use super::{Db, rows};
use crate::model::{ObservationStatus, OrderFilter};
use jiufu_protocol::collector::OrderWire;
use jiufu_protocol::{Channel, Dialect, Fen, OrderId, OrderState, Wire};
use rusqlite::{Connection, OptionalExtension, params};

const ORDER_COLUMNS: &str = "order_id, order_no, channel, state, order_fen, payable_fen, subject, created_at, expire_at, quarantine_until, claimed_at, dialect, unknown";

/// A typed column, or the gateway's text when the field was unknown (`raw`).
fn column<T>(raw: Option<&serde_json::Value>, parsed: Option<T>, stored: impl std::fmt::Display) -> Wire<T> {
    match (raw, parsed) {
        (Some(raw), _) => Wire::unknown_from(raw.as_str().unwrap_or_default()),
        (None, Some(v)) => Wire::Known(v),
        (None, None) => Wire::unknown_from(&stored.to_string()),
    }
}

fn order(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderWire> {
    let unknown: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or_default();
    let (channel, state, dialect): (String, i64, String) = (r.get(2)?, r.get(3)?, r.get(11)?);
    let (order_fen, payable_fen): (i64, i64) = (r.get(4)?, r.get(5)?);
    Ok(OrderWire {
        order_id: id(r, 0)?,
        order_no: r.get(1)?,
        channel: column(unknown.get("channel"), channel.parse::<Channel>().ok(), &channel),
        state: column(unknown.get("state"), i32::try_from(state).ok().and_then(OrderState::from_code), state),
        order_amount: column(unknown.get("order_amount"), Some(Fen(order_fen)), order_fen),
        payable_amount: column(unknown.get("payable_amount"), Some(Fen(payable_fen)), payable_fen),
        subject: r.get(6)?,
        created_at: r.get(7)?,
        expire_at: r.get(8)?,
        quarantine_until: r.get(9)?,
        claimed_at: r.get(10)?,
        dialect: column(unknown.get("dialect"), Dialect::parse(&dialect), &dialect),
    })
}

/// What is stored of an order: its typed columns (a placeholder that
/// matches nothing for an unknown value) and the gateway's text of its
/// unknown values as a JSON object ('' when there is none).
struct Stored {
    channel: &'static str,
    state: i32,
    order_fen: i64,
    payable_fen: i64,
    dialect: &'static str,
    unknown: String,
}

fn stored(o: &OrderWire) -> Stored {
    let mut unknown = serde_json::Map::new();
    let mut note = |name: &str, raw: Option<&str>| {
        if let Some(raw) = raw {
            unknown.insert(name.to_owned(), raw.into());
        }
    };
    note("channel", o.channel.unknown());
    note("state", o.state.unknown());
    note("order_amount", o.order_amount.unknown());
    note("payable_amount", o.payable_amount.unknown());
    note("dialect", o.dialect.unknown());
    Stored {
        channel: o.channel.get().map_or("", Channel::code),
        state: o.state.get().map_or(0, OrderState::code),
        order_fen: o.order_amount.get().map_or(0, Fen::get),
        payable_fen: o.payable_amount.get().map_or(0, Fen::get),
        dialect: o.dialect.get().map_or("", Dialect::as_str),
        unknown: if unknown.is_empty() { String::new() } else { serde_json::Value::Object(unknown).to_string() },
    }
}

impl Db {
    /// Stores the gateway's view of orders (open ones, and late-payable
    /// ones), unknown values and all. Returns the orders this build knows
    /// that have just become claimed (state 8).
    pub async fn upsert_orders(&self, orders: Vec<OrderWire>) -> anyhow::Result<Vec<OrderWire>> {
        self.write(move |tx| {
            let mut claimed = Vec::new();
            for o in orders {
                let before: Option<(i32, String)> = tx
                    .query_row("SELECT state, unknown FROM orders WHERE order_id = ?1", [o.order_id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                let s = stored(&o);
                if !s.unknown.is_empty() && before.as_ref().is_none_or(|(_, was)| *was != s.unknown) {
                    tracing::warn!(
                        order = %o.order_id, unknown = %s.unknown,
                        "the gateway sent an order with values this collector version does not know: kept, never matched; update the collector"
                    );
                }
                let before = before.map(|(state, _)| state);
                tx.execute(
                    &format!(
                        "INSERT INTO orders ({ORDER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                         ON CONFLICT (order_id) DO UPDATE SET state = excluded.state, quarantine_until = excluded.quarantine_until, \
                         claimed_at = excluded.claimed_at, channel = excluded.channel, order_fen = excluded.order_fen, \
                         payable_fen = excluded.payable_fen, dialect = excluded.dialect, unknown = excluded.unknown"
                    ),
                    params![
                        o.order_id.as_str(),
                        o.order_no,
                        s.channel,
                        s.state,
                        s.order_fen,
                        s.payable_fen,
                        o.subject,
                        o.created_at,
                        o.expire_at,
                        o.quarantine_until,
                        o.claimed_at,
                        s.dialect,
                        s.unknown
                    ],
                )?;
                if o.terms().is_some_and(|t| t.state == OrderState::Claimed) && before != Some(OrderState::Claimed.code()) {
                    claimed.push(o);
                }
            }
            Ok(claimed)
        })
        .await
    }

    pub async fn order(&self, order_id: &OrderId) -> anyhow::Result<Option<OrderWire>> {
        let id = order_id.as_str().to_owned();
        self.call(move |c| Ok(c.query_row(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = ?1"), [id], order).optional()?))
            .await
    }

    /// Orders for the window, those `filter` shows; `search` matches the
    /// order id, merchant order number, subject or payable amount.
    pub async fn find_orders(&self, filter: OrderFilter, search: &str, limit: i64) -> anyhow::Result<Vec<OrderWire>> {
        let open = OrderState::sql_list(OrderState::OPEN);
        let states = match filter {
            OrderFilter::Open => format!("state IN ({open})"),
            // Claims to act on: an order with an unknown value cannot be acted on here.
            OrderFilter::Claimed => format!("state = {} AND unknown = ''", OrderState::Claimed.code()),
            OrderFilter::History => format!("state NOT IN ({open})"),
            OrderFilter::All => "1 = 1".to_owned(),
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
/// at `t` (epoch ms): known to this build in every value, payable, created no more than `lead_ms` after the
/// payment, still within its quarantine, and not already another
/// payment's. The gateway guarantees at most one such order per amount.
pub(crate) fn payable_order(tx: &Connection, channel: Channel, amount: Fen, t: i64, lead_ms: i64) -> anyhow::Result<Option<OrderId>> {
    Ok(tx
        .query_row(
            &format!(
                "SELECT order_id FROM orders WHERE channel = ?1 AND payable_fen = ?2 AND state IN ({payable}) AND unknown = '' \
                 AND created_at * 1000 - ?3 <= ?4 AND ?4 <= quarantine_until * 1000 \
                 AND NOT EXISTS (SELECT 1 FROM observations b WHERE b.order_id = orders.order_id AND b.status IN ({taken})) \
                 ORDER BY created_at DESC LIMIT 1",
                payable = OrderState::sql_list(OrderState::PAYABLE),
                taken = sql_list(ObservationStatus::TAKES_ORDER),
            ),
            params![channel.code(), amount.0, lead_ms, t],
            |r| id(r, 0),
        )
        .optional()?)
}

/// A payment is already matched to (or confirmed for) this order.
pub(crate) fn order_taken(tx: &Connection, order_id: &OrderId) -> anyhow::Result<bool> {
    Ok(tx.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM observations WHERE order_id = ?1 AND status IN ({}))",
            sql_list(ObservationStatus::TAKES_ORDER)
        ),
        [order_id.as_str()],
        |r| r.get(0),
    )?)
}

/// Forgets the whole mirror (paired with another gateway or merchant).
pub(crate) fn forget_orders(tx: &Connection) -> anyhow::Result<()> {
    tx.execute("DELETE FROM orders", [])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{order, order_id, temp_db};

    const NOW_S: i64 = 1_800_000_000;

    /// Orders a newer gateway sent: one of each kind of value this build does not know.
    fn skewed() -> Vec<OrderWire> {
        let base = |name: &str, fen: i64| order(name, OrderState::CodeIssued, fen, NOW_S - 10);
        let mut dialect = base("d", 333);
        dialect.dialect = Wire::Unknown("alipay_f2f".into());
        let mut state = base("s", 444);
        state.state = Wire::Unknown("10".into());
        let mut channel = base("c", 555);
        channel.channel = Wire::Unknown("P905".into());
        let mut amount = base("a", 666);
        amount.payable_amount = Wire::Unknown("-6.66".into());
        amount.order_amount = Wire::Unknown("99999999999999999999.00".into());
        let mut claimed = base("claimed", 777);
        claimed.state = Wire::Known(OrderState::Claimed);
        claimed.dialect = Wire::Unknown("usdt".into());
        vec![base("k", 500), dialect, state, channel, amount, claimed]
    }

    async fn payable(db: &Db, channel: Channel, fen: i64) -> Option<OrderId> {
        db.write(move |tx| payable_order(tx, channel, Fen(fen), NOW_S * 1000, 60_000)).await.unwrap()
    }

    #[tokio::test]
    async fn unknown_values_are_kept_as_sent_and_never_payable() {
        let (_dir, db) = temp_db();
        let claimed = db.upsert_orders(skewed()).await.unwrap();
        assert!(claimed.is_empty(), "a claimed order of an unknown dialect is not announced as one to act on");
        for o in skewed() {
            assert_eq!(db.order(&o.order_id).await.unwrap().as_ref(), Some(&o), "{} reads back as the gateway sent it", o.order_id);
        }
        assert_eq!(payable(&db, Channel::P901, 500).await, Some(order_id("k")));
        for fen in [333, 444, 555, 666, 777, 0] {
            assert_eq!(payable(&db, Channel::P901, fen).await, None, "{fen}");
        }
        // An unknown state is not open: the history lists it, the open orders do not.
        let ids = |v: Vec<OrderWire>| v.into_iter().map(|o| o.order_id).collect::<Vec<_>>();
        assert!(!ids(db.find_orders(OrderFilter::Open, "", 100).await.unwrap()).contains(&order_id("s")));
        assert!(ids(db.find_orders(OrderFilter::History, "", 100).await.unwrap()).contains(&order_id("s")));
        // A claim this build cannot act on is listed, but not among the claims to act on.
        assert!(ids(db.find_orders(OrderFilter::Open, "", 100).await.unwrap()).contains(&order_id("claimed")));
        assert!(ids(db.find_orders(OrderFilter::Claimed, "", 100).await.unwrap()).is_empty());

        // A later event with values this build knows settles the order, and the other way round.
        let mut now_known = skewed().remove(1);
        now_known.dialect = Wire::Known(Dialect::Vmq);
        let mut now_unknown = skewed().remove(0);
        now_unknown.state = Wire::Unknown("partially_refunded".into());
        db.upsert_orders(vec![now_known.clone(), now_unknown.clone()]).await.unwrap();
        assert_eq!(payable(&db, Channel::P901, 333).await, Some(order_id("d")));
        assert_eq!(payable(&db, Channel::P901, 500).await, None, "k's state is no longer known");
        assert_eq!(db.order(&order_id("k")).await.unwrap(), Some(now_unknown));
        assert_eq!(db.order(&order_id("d")).await.unwrap().and_then(|o| o.terms()).map(|t| t.dialect), Some(Dialect::Vmq));
    }
}
