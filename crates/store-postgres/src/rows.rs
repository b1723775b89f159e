//! Rows to records, and the columns this backend writes from them. A
//! value the schema cannot hold (an unknown channel, state, dialect or
//! actor, an id this program could never have written) is an error naming
//! the column, never a guess.

use jiufu_protocol::{Actor, Channel, Dialect, Fen, MerchantId, OrderId, OrderNo, OrderState, Secret};
use jiufu_store::{
    Code, Device, Merchant, MerchantSettings, Notification, NotifyAttempt, NotifyStatus, Order, OrderEvent, Result, StoreError, Unique,
    UnmatchedPayment,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// The open states ([`OrderState::OPEN`]) as a condition on `o.state`: a
/// range, as the partial indexes `orders_open_by_expiry` and
/// `orders_open_by_payer` say it (the open codes are exactly 1 to 8; a test
/// below checks it).
pub const OPEN: &str = "o.state BETWEEN 1 AND 8";

/// A set of states as the codes of an SQL list, `-1, -2, 9`, for query
/// text (`state IN (…)`); the codes are integers, never user input.
pub fn state_list(states: &[OrderState]) -> String {
    states.iter().map(|s| s.code().to_string()).collect::<Vec<_>>().join(", ")
}

/// States as the codes the order functions take (`INTEGER[]`).
pub fn state_codes(states: &[OrderState]) -> Vec<i32> {
    states.iter().map(|s| s.code()).collect()
}

/// The uniqueness rule behind a failed write, by the name of the
/// constraint (or unique index) that held.
pub fn unique(constraint: &str) -> Unique {
    match constraint {
        "merchants_pkey" => Unique::Merchant,
        "orders_by_merchant_no" => Unique::OrderNo,
        "orders_unique_payable" => Unique::PayableAmount,
        "orders_evidence_once" => Unique::Evidence,
        other => Unique::Other(other.to_owned()),
    }
}

pub fn merchant_id(row: &Row, col: &str) -> Result<MerchantId> {
    let v: i64 = get(row, col)?;
    MerchantId::new(v).ok_or_else(|| bad(col, v))
}

pub fn order_id(row: &Row, col: &str) -> Result<OrderId> {
    let v: &str = get(row, col)?;
    OrderId::parse(v).ok_or_else(|| bad(col, v))
}

fn order_no(row: &Row, col: &str) -> Result<OrderNo> {
    let v: &str = get(row, col)?;
    OrderNo::parse(v).map_err(|_| bad(col, v))
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, col: &str) -> Result<T> {
    row.try_get(col).map_err(|e| StoreError::context(format!("column {col}"), e))
}

fn bad(col: &str, value: impl std::fmt::Debug) -> StoreError {
    StoreError::failure(format!("column {col} holds {value:?}, which this program does not know"))
}

fn channel(row: &Row, col: &str) -> Result<Channel> {
    let text: &str = get(row, col)?;
    text.parse().map_err(|_| bad(col, text))
}

fn actor(row: &Row, col: &str) -> Result<Actor> {
    let text: &str = get(row, col)?;
    Actor::parse(text).map_err(|_| bad(col, text))
}

fn state(code: i32, col: &str) -> Result<OrderState> {
    OrderState::from_code(code).ok_or_else(|| bad(col, code))
}

/// A merchant's own columns; its settings follow ([`SETTINGS_COLUMNS`]).
pub const MERCHANT_COLUMNS: &str = "id, name, key, enabled, created_at, min_fen, max_fen, step_down, step_count, order_ttl_secs, \
     quarantine_secs, require_collector, max_offset_bp, max_open_per_payer, vmq_server_only, gmpay_md5, callback_hosts";

/// The settings' columns, in the order of [`SettingsRow::values`]; the last of [`MERCHANT_COLUMNS`].
pub const SETTINGS_COLUMNS: &str = "min_fen, max_fen, step_down, step_count, order_ttl_secs, quarantine_secs, require_collector, \
     max_offset_bp, max_open_per_payer, vmq_server_only, gmpay_md5, callback_hosts";

/// A merchant's row as statement parameters: its own columns, then its
/// settings, in the order of [`MERCHANT_COLUMNS`].
pub struct MerchantRow<'a> {
    m: &'a Merchant,
    id: i64,
    key: &'a str,
    settings: SettingsRow<'a>,
}

impl<'a> MerchantRow<'a> {
    pub fn new(m: &'a Merchant) -> Self {
        MerchantRow { m, id: m.id.get(), key: m.key.expose(), settings: SettingsRow::new(&m.settings) }
    }

    pub fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        let mut values: Vec<&(dyn ToSql + Sync)> = vec![&self.id, &self.m.name, &self.key, &self.m.enabled, &self.m.created_at];
        values.extend(self.settings.values());
        values
    }
}

/// A merchant's settings as statement parameters, in the order of [`SETTINGS_COLUMNS`].
pub struct SettingsRow<'a> {
    s: &'a MerchantSettings,
    hosts: String,
}

impl<'a> SettingsRow<'a> {
    pub fn new(s: &'a MerchantSettings) -> Self {
        SettingsRow { s, hosts: s.callback_hosts_text() }
    }

    pub fn values(&self) -> [&(dyn ToSql + Sync); 12] {
        let s = self.s;
        [
            &s.min_fen,
            &s.max_fen,
            &s.step_down,
            &s.step_count,
            &s.order_ttl_secs,
            &s.quarantine_secs,
            &s.require_collector,
            &s.max_offset_bp,
            &s.max_open_per_payer,
            &s.vmq_server_only,
            &s.gmpay_md5,
            &self.hosts,
        ]
    }
}

/// `$from, $from + 1, …` for `count` parameters.
pub fn placeholders(from: usize, count: usize) -> String {
    (from..from + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub fn merchant(row: &Row) -> Result<Merchant> {
    Ok(Merchant {
        id: merchant_id(row, "id")?,
        name: get(row, "name")?,
        key: Secret::new(get::<String>(row, "key")?),
        enabled: get(row, "enabled")?,
        settings: MerchantSettings {
            min_fen: get(row, "min_fen")?,
            max_fen: get(row, "max_fen")?,
            step_down: get(row, "step_down")?,
            step_count: get(row, "step_count")?,
            max_offset_bp: get(row, "max_offset_bp")?,
            max_open_per_payer: get(row, "max_open_per_payer")?,
            order_ttl_secs: get(row, "order_ttl_secs")?,
            quarantine_secs: get(row, "quarantine_secs")?,
            require_collector: get(row, "require_collector")?,
            vmq_server_only: get(row, "vmq_server_only")?,
            gmpay_md5: get(row, "gmpay_md5")?,
            callback_hosts: MerchantSettings::parse_callback_hosts(get(row, "callback_hosts")?),
        },
        created_at: get(row, "created_at")?,
    })
}

pub const CODE_COLUMNS: &str = "id, merchant_id, channel, qr_text, amount_fen, name, enabled, origin, uid, created_at";

pub fn code(row: &Row) -> Result<Code> {
    Ok(Code {
        id: get(row, "id")?,
        merchant_id: merchant_id(row, "merchant_id")?,
        channel: channel(row, "channel")?,
        qr_text: get(row, "qr_text")?,
        amount: get::<Option<i64>>(row, "amount_fen")?.map(Fen),
        name: get(row, "name")?,
        enabled: get(row, "enabled")?,
        origin: get(row, "origin")?,
        uid: get(row, "uid")?,
        created_at: get(row, "created_at")?,
    })
}

pub const ORDER_COLUMNS: &str = "o.id, o.merchant_id, o.order_no, o.subject, o.channel, o.state, o.order_fen, o.payable_fen, o.code_id, \
     o.qr_text, o.notify_url, o.return_url, o.ip, o.order_time, o.created_at, o.expire_at, o.quarantine_until, o.claimed_at, o.paid_at, \
     o.paid_fen, o.confirmed_by, o.evidence_id, o.notified, o.dialect, o.shop_data";

pub fn order(row: &Row) -> Result<Order> {
    let dialect: &str = get(row, "dialect")?;
    Ok(Order {
        id: order_id(row, "id")?,
        merchant_id: merchant_id(row, "merchant_id")?,
        order_no: order_no(row, "order_no")?,
        subject: get(row, "subject")?,
        channel: channel(row, "channel")?,
        state: state(get(row, "state")?, "state")?,
        order_fen: Fen(get(row, "order_fen")?),
        payable_fen: Fen(get(row, "payable_fen")?),
        code_id: get(row, "code_id")?,
        qr_text: get(row, "qr_text")?,
        notify_url: get(row, "notify_url")?,
        return_url: get(row, "return_url")?,
        ip: get(row, "ip")?,
        order_time: get(row, "order_time")?,
        created_at: get(row, "created_at")?,
        expire_at: get(row, "expire_at")?,
        quarantine_until: get(row, "quarantine_until")?,
        claimed_at: get(row, "claimed_at")?,
        paid_at: get(row, "paid_at")?,
        paid_fen: get::<Option<i64>>(row, "paid_fen")?.map(Fen),
        confirmed_by: get(row, "confirmed_by")?,
        evidence_id: get(row, "evidence_id")?,
        notified: get(row, "notified")?,
        dialect: Dialect::parse(dialect).ok_or_else(|| bad("dialect", dialect))?,
        shop_data: get(row, "shop_data")?,
    })
}

pub fn event(row: &Row) -> Result<OrderEvent> {
    Ok(OrderEvent {
        seq: get(row, "seq")?,
        order_id: order_id(row, "order_id")?,
        from_state: get::<Option<i32>>(row, "from_state")?.map(|s| state(s, "from_state")).transpose()?,
        to_state: state(get(row, "to_state")?, "to_state")?,
        actor: actor(row, "actor")?,
        reason: get(row, "reason")?,
        at: get(row, "at")?,
    })
}

pub const NOTIFICATION_COLUMNS: &str = "order_id, merchant_id, url, status, attempts, next_at, created_at, delivered_at";

pub fn notification(row: &Row) -> Result<Notification> {
    let status: &str = get(row, "status")?;
    Ok(Notification {
        order_id: order_id(row, "order_id")?,
        merchant_id: merchant_id(row, "merchant_id")?,
        url: get(row, "url")?,
        status: NotifyStatus::parse(status).ok_or_else(|| bad("status", status))?,
        attempts: get(row, "attempts")?,
        next_at: get(row, "next_at")?,
        created_at: get(row, "created_at")?,
        delivered_at: get(row, "delivered_at")?,
    })
}

pub fn attempt(row: &Row) -> Result<NotifyAttempt> {
    Ok(NotifyAttempt {
        order_id: order_id(row, "order_id")?,
        at: get(row, "at")?,
        http_status: get(row, "http_status")?,
        body_excerpt: get(row, "body_excerpt")?,
        error: get(row, "error")?,
        delivered: get(row, "delivered")?,
    })
}

pub const DEVICE_COLUMNS: &str = "id, merchant_id, name, secret, created_at, last_seen, sources_json, version";

pub fn device(row: &Row) -> Result<Device> {
    Ok(Device {
        id: get(row, "id")?,
        merchant_id: merchant_id(row, "merchant_id")?,
        name: get(row, "name")?,
        secret: Secret::new(get::<String>(row, "secret")?),
        created_at: get(row, "created_at")?,
        last_seen: get(row, "last_seen")?,
        sources_json: get(row, "sources_json")?,
        version: get(row, "version")?,
    })
}

pub const UNMATCHED_COLUMNS: &str =
    "device_id, observation_id, merchant_id, channel, amount_fen, observed_at, source, raw_text, reported_at";

pub fn unmatched(row: &Row) -> Result<UnmatchedPayment> {
    Ok(UnmatchedPayment {
        device_id: get(row, "device_id")?,
        observation_id: get(row, "observation_id")?,
        merchant_id: merchant_id(row, "merchant_id")?,
        channel: channel(row, "channel")?,
        amount: Fen(get(row, "amount_fen")?),
        observed_at: get(row, "observed_at")?,
        source: get(row, "source")?,
        raw_text: get(row, "raw_text")?,
        reported_at: get(row, "reported_at")?,
    })
}

pub const EVENT_COLUMNS: &str = "seq, order_id, from_state, to_state, actor, reason, at";

/// Every row through `f`.
pub fn all<T>(rows: &[Row], f: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_range_holds_exactly_the_open_states() {
        assert_eq!(OPEN, "o.state BETWEEN 1 AND 8");
        for code in -10..=20 {
            let open = OrderState::from_code(code).is_some_and(OrderState::is_open);
            assert_eq!(open, (1..=8).contains(&code) && OrderState::from_code(code).is_some(), "{code}");
        }
        assert_eq!(state_list(OrderState::ENDED), "-1, -2, 9");
        assert_eq!(state_codes(OrderState::OPEN), [1, 2, 5, 8]);
    }

    #[test]
    fn constraint_names_name_the_rules() {
        assert_eq!(unique("merchants_pkey"), Unique::Merchant);
        assert_eq!(unique("orders_by_merchant_no"), Unique::OrderNo);
        assert_eq!(unique("orders_unique_payable"), Unique::PayableAmount);
        assert_eq!(unique("orders_evidence_once"), Unique::Evidence);
        assert_eq!(unique("codes_pkey"), Unique::Other("codes_pkey".into()));
    }

    #[test]
    fn placeholders_count_on() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
    }
}
