//! Rows to records. A value the schema cannot hold (an unknown channel,
//! state or dialect) is an error naming the column, never a guess.

use jiufu_protocol::{Channel, Dialect, Fen, OrderState, Secret};
use jiufu_store::{
    Code, Device, Merchant, MerchantSettings, Notification, NotifyAttempt, NotifyStatus, Order, OrderEvent, Result, StoreError,
    UnmatchedPayment,
};
use tokio_postgres::Row;

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

fn state(code: i32, col: &str) -> Result<OrderState> {
    OrderState::from_code(code).ok_or_else(|| bad(col, code))
}

pub const MERCHANT_COLUMNS: &str = "id, name, key, enabled, min_fen, max_fen, step_down, step_count, order_ttl_secs, quarantine_secs, \
     require_collector, max_offset_bp, max_open_per_payer, created_at, vmq_server_only, gmpay_md5, callback_hosts";

pub fn merchant(row: &Row) -> Result<Merchant> {
    Ok(Merchant {
        id: get(row, "id")?,
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
        merchant_id: get(row, "merchant_id")?,
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
        id: get(row, "id")?,
        merchant_id: get(row, "merchant_id")?,
        order_no: get(row, "order_no")?,
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
        order_id: get(row, "order_id")?,
        from_state: get::<Option<i32>>(row, "from_state")?.map(|s| state(s, "from_state")).transpose()?,
        to_state: state(get(row, "to_state")?, "to_state")?,
        actor: get(row, "actor")?,
        reason: get(row, "reason")?,
        at: get(row, "at")?,
    })
}

pub const NOTIFICATION_COLUMNS: &str = "order_id, merchant_id, url, status, attempts, next_at, created_at, delivered_at";

pub fn notification(row: &Row) -> Result<Notification> {
    let status: &str = get(row, "status")?;
    Ok(Notification {
        order_id: get(row, "order_id")?,
        merchant_id: get(row, "merchant_id")?,
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
        order_id: get(row, "order_id")?,
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
        merchant_id: get(row, "merchant_id")?,
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
        merchant_id: get(row, "merchant_id")?,
        channel: channel(row, "channel")?,
        amount: Fen(get(row, "amount_fen")?),
        observed_at: get(row, "observed_at")?,
        source: get(row, "source")?,
        raw_text: get(row, "raw_text")?,
        reported_at: get(row, "reported_at")?,
    })
}

/// Every row through `f`.
pub fn all<T>(rows: &[Row], f: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}
