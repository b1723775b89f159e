//! Mapping between rows and records.

use jiufu_protocol::{Dialect, Fen, Secret};
use jiufu_store::{Code, Device, Merchant, MerchantSettings, Notification, NotifyAttempt, NotifyStatus, Order, UnmatchedPayment};
use rusqlite::Row;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};

pub use jiufu_sqlite_writer::columns::{ChannelCol, StateCol};

pub struct DialectCol(pub Dialect);

impl FromSql for DialectCol {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        Dialect::parse(s).map(DialectCol).ok_or_else(|| FromSqlError::Other(format!("unknown dialect {s:?}").into()))
    }
}

pub const MERCHANT_COLUMNS: &str = "id, name, key, enabled, min_fen, max_fen, step_down, step_count, order_ttl_secs, quarantine_secs, require_collector, created_at, \
     max_offset_bp, max_open_per_payer, vmq_server_only, gmpay_md5, callback_hosts";

pub fn merchant(row: &Row<'_>) -> rusqlite::Result<Merchant> {
    Ok(Merchant {
        id: row.get(0)?,
        name: row.get(1)?,
        key: Secret::new(row.get::<_, String>(2)?),
        enabled: row.get(3)?,
        settings: MerchantSettings {
            min_fen: row.get(4)?,
            max_fen: row.get(5)?,
            step_down: row.get(6)?,
            step_count: row.get(7)?,
            order_ttl_secs: row.get(8)?,
            quarantine_secs: row.get(9)?,
            require_collector: row.get(10)?,
            max_offset_bp: row.get(12)?,
            max_open_per_payer: row.get(13)?,
            vmq_server_only: row.get(14)?,
            gmpay_md5: row.get(15)?,
            callback_hosts: MerchantSettings::parse_callback_hosts(&row.get::<_, String>(16)?),
        },
        created_at: row.get(11)?,
    })
}

pub const CODE_COLUMNS: &str = "id, merchant_id, channel, qr_text, amount_fen, name, enabled, origin, uid, created_at";

pub fn code(row: &Row<'_>) -> rusqlite::Result<Code> {
    Ok(Code {
        id: row.get(0)?,
        merchant_id: row.get(1)?,
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
        id: row.get(0)?,
        merchant_id: row.get(1)?,
        order_no: row.get(2)?,
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

pub const NOTIFICATION_COLUMNS: &str = "order_id, merchant_id, url, status, attempts, next_at, created_at, delivered_at";

pub fn notification(row: &Row<'_>) -> rusqlite::Result<Notification> {
    let status: String = row.get(3)?;
    Ok(Notification {
        order_id: row.get(0)?,
        merchant_id: row.get(1)?,
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
        order_id: row.get(0)?,
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
        merchant_id: row.get(1)?,
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
        merchant_id: row.get(2)?,
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
        p.merchant_id,
        p.channel.code(),
        p.amount.0,
        p.observed_at,
        p.source,
        p.raw_text,
        p.reported_at
    ])
}
