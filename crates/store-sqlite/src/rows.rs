//! Mapping between rows and records: every column of this backend is
//! read and written here (ids by their rules, see
//! [`jiufu_sqlite_writer::columns`]), never in the protocol crate.

use jiufu_protocol::{Actor, Dialect, Fen, MerchantId, OrderId, OrderState, Secret};
use jiufu_store::{
    Code, Device, Merchant, MerchantSettings, Notification, NotifyAttempt, NotifyStatus, Order, OrderEvent, Unique, UnmatchedPayment,
};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, Value, ValueRef};
use rusqlite::{Connection, Row, params_from_iter};

pub use jiufu_sqlite_writer::columns::{ChannelCol, MerchantIdCol, OrderIdCol, OrderNoCol, StateCol};

/// The open states ([`OrderState::OPEN`]) as a condition on `state`: a
/// range, because the open codes are exactly 1 to 8 (a test below checks
/// it). SQLite evaluates a partial index's `IN (…)` list through a
/// temporary table on every insert; a range costs nothing. The indexes
/// (`orders_open_by_expiry`, `orders_open_by_payer`) and the queries that
/// use them say it the same way.
pub const OPEN: &str = "state BETWEEN 1 AND 8";

/// A set of states as the codes of an SQL list, `-1, -2, 9`, for query
/// text (`state IN (…)`); the codes are integers, never user input.
pub fn state_list(states: &[OrderState]) -> String {
    states.iter().map(|s| s.code().to_string()).collect::<Vec<_>>().join(", ")
}

/// The uniqueness rule behind a failed write, by the columns SQLite names
/// in its message (`UNIQUE constraint failed: …`).
pub fn unique(columns: &str) -> Unique {
    match columns {
        "merchants.id" => Unique::Merchant,
        "orders.merchant_id, orders.order_no" => Unique::OrderNo,
        "orders.merchant_id, orders.channel, orders.payable_fen" => Unique::PayableAmount,
        "orders.merchant_id, orders.evidence_id" => Unique::Evidence,
        other => Unique::Other(other.to_owned()),
    }
}

pub fn merchant_id(row: &Row<'_>, i: usize) -> rusqlite::Result<MerchantId> {
    row.get::<_, MerchantIdCol>(i).map(|c| c.0)
}

pub fn order_id(row: &Row<'_>, i: usize) -> rusqlite::Result<OrderId> {
    row.get::<_, OrderIdCol>(i).map(|c| c.0)
}

/// An actor column: the words [`Actor`] writes.
pub struct ActorCol(pub Actor);

impl FromSql for ActorCol {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Actor::parse(value.as_str()?).map(ActorCol).map_err(|e| FromSqlError::Other(e.into()))
    }
}

pub struct DialectCol(pub Dialect);

impl FromSql for DialectCol {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        Dialect::parse(s).map(DialectCol).ok_or_else(|| FromSqlError::Other(format!("unknown dialect {s:?}").into()))
    }
}

/// A merchant's own columns; its settings follow ([`SETTINGS_COLUMNS`]).
pub const MERCHANT_COLUMNS: &str = "id, name, key, enabled, created_at, min_fen, max_fen, step_down, step_count, order_ttl_secs, \
     quarantine_secs, require_collector, max_offset_bp, max_open_per_payer, vmq_server_only, gmpay_md5, callback_hosts";

/// The settings' columns, in the order of [`settings_values`]; the last of [`MERCHANT_COLUMNS`].
pub const SETTINGS_COLUMNS: &str = "min_fen, max_fen, step_down, step_count, order_ttl_secs, quarantine_secs, require_collector, \
     max_offset_bp, max_open_per_payer, vmq_server_only, gmpay_md5, callback_hosts";

/// A merchant's settings as the values of [`SETTINGS_COLUMNS`].
pub fn settings_values(s: &MerchantSettings) -> [Value; 12] {
    [
        s.min_fen.into(),
        s.max_fen.into(),
        s.step_down.into(),
        s.step_count.into(),
        s.order_ttl_secs.into(),
        s.quarantine_secs.into(),
        s.require_collector.into(),
        s.max_offset_bp.into(),
        s.max_open_per_payer.into(),
        s.vmq_server_only.into(),
        s.gmpay_md5.into(),
        s.callback_hosts_text().into(),
    ]
}

/// A row of [`MERCHANT_COLUMNS`].
pub fn merchant(row: &Row<'_>) -> rusqlite::Result<Merchant> {
    Ok(Merchant {
        id: merchant_id(row, 0)?,
        name: row.get(1)?,
        key: Secret::new(row.get::<_, String>(2)?),
        enabled: row.get(3)?,
        created_at: row.get(4)?,
        settings: MerchantSettings {
            min_fen: row.get(5)?,
            max_fen: row.get(6)?,
            step_down: row.get(7)?,
            step_count: row.get(8)?,
            order_ttl_secs: row.get(9)?,
            quarantine_secs: row.get(10)?,
            require_collector: row.get(11)?,
            max_offset_bp: row.get(12)?,
            max_open_per_payer: row.get(13)?,
            vmq_server_only: row.get(14)?,
            gmpay_md5: row.get(15)?,
            callback_hosts: MerchantSettings::parse_callback_hosts(&row.get::<_, String>(16)?),
        },
    })
}

/// Inserts a merchant's row as it is (a new merchant, or one imported).
pub fn insert_merchant(conn: &Connection, m: &Merchant) -> rusqlite::Result<usize> {
    let own: [Value; 5] =
        [m.id.get().into(), m.name.clone().into(), m.key.expose().to_owned().into(), m.enabled.into(), m.created_at.into()];
    let placeholders = (1..=17).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    conn.prepare_cached(&format!("INSERT INTO merchants ({MERCHANT_COLUMNS}) VALUES ({placeholders})"))?
        .execute(params_from_iter(own.into_iter().chain(settings_values(&m.settings))))
}

/// Replaces a merchant's settings; the number of rows changed (0: no such merchant).
pub fn update_settings(conn: &Connection, id: MerchantId, s: &MerchantSettings) -> rusqlite::Result<usize> {
    let placeholders = (2..=13).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    conn.prepare_cached(&format!("UPDATE merchants SET ({SETTINGS_COLUMNS}) = ({placeholders}) WHERE id = ?1"))?
        .execute(params_from_iter(std::iter::once(Value::from(id.get())).chain(settings_values(s))))
}

pub const CODE_COLUMNS: &str = "id, merchant_id, channel, qr_text, amount_fen, name, enabled, origin, uid, created_at";

pub fn code(row: &Row<'_>) -> rusqlite::Result<Code> {
    Ok(Code {
        id: row.get(0)?,
        merchant_id: merchant_id(row, 1)?,
        channel: row.get::<_, ChannelCol>(2)?.0,
        qr_text: row.get(3)?,
        amount: row.get::<_, Option<i64>>(4)?.map(Fen),
        name: row.get(5)?,
        enabled: row.get(6)?,
        origin: row.get(7)?,
        uid: row.get(8)?,
        created_at: row.get(9)?,
    })
}

pub const ORDER_COLUMNS: &str = "id, merchant_id, order_no, subject, channel, state, order_fen, payable_fen, code_id, qr_text, \
     notify_url, return_url, ip, order_time, created_at, expire_at, quarantine_until, claimed_at, paid_at, paid_fen, \
     confirmed_by, evidence_id, notified, dialect, shop_data";

pub const ORDER_COLUMN_COUNT: usize = 25;

pub fn order(row: &Row<'_>) -> rusqlite::Result<Order> {
    Ok(Order {
        id: order_id(row, 0)?,
        merchant_id: merchant_id(row, 1)?,
        order_no: row.get::<_, OrderNoCol>(2)?.0,
        subject: row.get(3)?,
        channel: row.get::<_, ChannelCol>(4)?.0,
        state: row.get::<_, StateCol>(5)?.0,
        order_fen: Fen(row.get(6)?),
        payable_fen: Fen(row.get(7)?),
        code_id: row.get(8)?,
        qr_text: row.get(9)?,
        notify_url: row.get(10)?,
        return_url: row.get(11)?,
        ip: row.get(12)?,
        order_time: row.get(13)?,
        created_at: row.get(14)?,
        expire_at: row.get(15)?,
        quarantine_until: row.get(16)?,
        claimed_at: row.get(17)?,
        paid_at: row.get(18)?,
        paid_fen: row.get::<_, Option<i64>>(19)?.map(Fen),
        confirmed_by: row.get(20)?,
        evidence_id: row.get(21)?,
        notified: row.get(22)?,
        dialect: row.get::<_, DialectCol>(23)?.0,
        shop_data: row.get(24)?,
    })
}

pub const EVENT_COLUMNS: &str = "seq, order_id, from_state, to_state, actor, reason, at";

/// A row of [`EVENT_COLUMNS`].
pub fn event(row: &Row<'_>) -> rusqlite::Result<OrderEvent> {
    Ok(OrderEvent {
        seq: row.get(0)?,
        order_id: order_id(row, 1)?,
        from_state: row.get::<_, Option<StateCol>>(2)?.map(|s| s.0),
        to_state: row.get::<_, StateCol>(3)?.0,
        actor: row.get::<_, ActorCol>(4)?.0,
        reason: row.get(5)?,
        at: row.get(6)?,
    })
}

pub const NOTIFICATION_COLUMNS: &str = "order_id, merchant_id, url, status, attempts, next_at, created_at, delivered_at";

pub fn notification(row: &Row<'_>) -> rusqlite::Result<Notification> {
    let status: String = row.get(3)?;
    Ok(Notification {
        order_id: order_id(row, 0)?,
        merchant_id: merchant_id(row, 1)?,
        url: row.get(2)?,
        status: NotifyStatus::parse(&status).ok_or_else(|| rusqlite::Error::InvalidColumnName(status))?,
        attempts: row.get(4)?,
        next_at: row.get(5)?,
        created_at: row.get(6)?,
        delivered_at: row.get(7)?,
    })
}

pub fn attempt(row: &Row<'_>) -> rusqlite::Result<NotifyAttempt> {
    Ok(NotifyAttempt {
        order_id: order_id(row, 0)?,
        at: row.get(1)?,
        http_status: row.get(2)?,
        body_excerpt: row.get(3)?,
        error: row.get(4)?,
        delivered: row.get(5)?,
    })
}

pub const DEVICE_COLUMNS: &str = "id, merchant_id, name, secret, created_at, last_seen, sources_json, version";

pub fn device(row: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: row.get(0)?,
        merchant_id: merchant_id(row, 1)?,
        name: row.get(2)?,
        secret: Secret::new(row.get::<_, String>(3)?),
        created_at: row.get(4)?,
        last_seen: row.get(5)?,
        sources_json: row.get(6)?,
        version: row.get(7)?,
    })
}

pub fn unmatched(row: &Row<'_>) -> rusqlite::Result<UnmatchedPayment> {
    Ok(UnmatchedPayment {
        device_id: row.get(0)?,
        observation_id: row.get(1)?,
        merchant_id: merchant_id(row, 2)?,
        channel: row.get::<_, ChannelCol>(3)?.0,
        amount: Fen(row.get(4)?),
        observed_at: row.get(5)?,
        source: row.get(6)?,
        raw_text: row.get(7)?,
        reported_at: row.get(8)?,
    })
}

/// Records an unmatched payment once: idempotent on (device, observation id).
pub fn insert_unmatched(conn: &rusqlite::Connection, p: &UnmatchedPayment) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO unmatched_payments (device_id, observation_id, merchant_id, channel, amount_fen, observed_at, source, raw_text, \
         reported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
    )?
    .execute(rusqlite::params![
        p.device_id,
        p.observation_id,
        p.merchant_id.get(),
        p.channel.code(),
        p.amount.0,
        p.observed_at,
        p.source,
        p.raw_text,
        p.reported_at
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_range_holds_exactly_the_open_states() {
        assert_eq!(OPEN, "state BETWEEN 1 AND 8");
        for code in -10..=20 {
            let open = OrderState::from_code(code).is_some_and(OrderState::is_open);
            assert_eq!(open, (1..=8).contains(&code) && OrderState::from_code(code).is_some(), "{code}");
        }
        assert_eq!(state_list(OrderState::ENDED), "-1, -2, 9");
    }

    #[test]
    fn constraint_columns_name_the_rules() {
        assert_eq!(unique("merchants.id"), Unique::Merchant);
        assert_eq!(unique("orders.merchant_id, orders.order_no"), Unique::OrderNo);
        assert_eq!(unique("orders.merchant_id, orders.channel, orders.payable_fen"), Unique::PayableAmount);
        assert_eq!(unique("orders.merchant_id, orders.evidence_id"), Unique::Evidence);
        assert_eq!(unique("codes.x"), Unique::Other("codes.x".into()));
    }
}
