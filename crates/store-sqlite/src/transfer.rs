//! Moving a whole database out of, or into, SQLite (`migrate-data`).

use crate::backend;
use crate::rows::{self, CODE_COLUMNS, DEVICE_COLUMNS, EVENT_COLUMNS, MERCHANT_COLUMNS, NOTIFICATION_COLUMNS, ORDER_COLUMNS};
use jiufu_store::*;
use rusqlite::{Connection, Row, params};

fn all<T>(c: &Connection, sql: &str, f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>) -> rusqlite::Result<Vec<T>> {
    c.prepare(sql)?.query_map([], f)?.collect()
}

/// Every row, inside one read transaction: a consistent snapshot while the
/// gateway keeps writing.
pub fn export(c: &Connection) -> rusqlite::Result<Dump> {
    c.execute_batch("BEGIN")?;
    let dump = read_all(c);
    c.execute_batch("COMMIT")?;
    dump
}

fn read_all(c: &Connection) -> rusqlite::Result<Dump> {
    let n = rows::ORDER_COLUMN_COUNT;
    Ok(Dump {
        merchants: all(c, &format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY id"), rows::merchant)?,
        codes: all(c, &format!("SELECT {CODE_COLUMNS}, removed FROM codes ORDER BY id"), |r| {
            Ok(DumpedCode { code: rows::code(r)?, removed: r.get(10)? })
        })?,
        orders: all(c, &format!("SELECT {ORDER_COLUMNS}, slot_held, evidence_json FROM orders ORDER BY created_at, id"), |r| {
            Ok(DumpedOrder { order: rows::order(r)?, slot_held: r.get(n)?, evidence_json: r.get(n + 1)? })
        })?,
        events: all(c, &format!("SELECT {EVENT_COLUMNS}, merchant_id FROM order_events ORDER BY seq"), |r| {
            Ok(DumpedEvent { event: rows::event(r)?, merchant_id: rows::merchant_id(r, 7)? })
        })?,
        notifications: all(c, &format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications ORDER BY order_id"), rows::notification)?,
        attempts: all(
            c,
            "SELECT order_id, at, http_status, body_excerpt, error, delivered FROM notify_attempts ORDER BY id",
            rows::attempt,
        )?,
        pairing_tokens: all(
            c,
            "SELECT token_hash, merchant_id, created_at, expires_at, used_at, device_id FROM pairing_tokens ORDER BY created_at, token_hash",
            |r| {
                Ok(PairingToken {
                    token_hash: r.get(0)?,
                    merchant_id: rows::merchant_id(r, 1)?,
                    created_at: r.get(2)?,
                    expires_at: r.get(3)?,
                    used_at: r.get(4)?,
                    device_id: r.get(5)?,
                })
            },
        )?,
        devices: all(c, &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY created_at, id"), rows::device)?,
        nonces: all(c, "SELECT device_id, nonce, expires_at FROM device_nonces ORDER BY device_id, nonce", |r| {
            Ok(Nonce { device_id: r.get(0)?, nonce: r.get(1)?, expires_at: r.get(2)? })
        })?,
        unmatched: all(
            c,
            "SELECT device_id, observation_id, merchant_id, channel, amount_fen, observed_at, source, raw_text, reported_at \
             FROM unmatched_payments ORDER BY reported_at, device_id, observation_id",
            rows::unmatched,
        )?,
    })
}

/// Writes a dump into an empty database (inside the writer's transaction).
pub fn import(c: &Connection, d: &Dump) -> Result<()> {
    let merchants: i64 = c.query_row("SELECT COUNT(*) FROM merchants", [], |r| r.get(0)).map_err(backend)?;
    if merchants > 0 {
        return Err(StoreError::Conflict("the target database is not empty".into()));
    }
    write_all(c, d).map_err(backend)
}

fn write_all(c: &Connection, d: &Dump) -> rusqlite::Result<()> {
    for m in &d.merchants {
        rows::insert_merchant(c, m)?;
    }
    for DumpedCode { code: k, removed } in &d.codes {
        c.execute(
            &format!("INSERT INTO codes ({CODE_COLUMNS}, removed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
            params![
                k.id,
                k.merchant_id.get(),
                k.channel.code(),
                k.qr_text,
                k.amount.map(|a| a.0),
                k.name,
                k.enabled,
                k.origin,
                k.uid,
                k.created_at,
                removed
            ],
        )?;
    }
    for DumpedOrder { order: o, slot_held, evidence_json } in &d.orders {
        c.execute(
            &format!(
                "INSERT INTO orders ({ORDER_COLUMNS}, slot_held, evidence_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
                 ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)"
            ),
            params![
                o.id.as_str(),
                o.merchant_id.get(),
                o.order_no.as_str(),
                o.subject,
                o.channel.code(),
                o.state.code(),
                o.order_fen.0,
                o.payable_fen.0,
                o.code_id,
                o.qr_text,
                o.notify_url,
                o.return_url,
                o.ip,
                o.order_time,
                o.created_at,
                o.expire_at,
                o.quarantine_until,
                o.claimed_at,
                o.paid_at,
                o.paid_fen.map(|f| f.0),
                o.confirmed_by,
                o.evidence_id,
                o.notified,
                o.dialect.as_str(),
                o.shop_data,
                slot_held,
                evidence_json
            ],
        )?;
    }
    for DumpedEvent { event: e, merchant_id } in &d.events {
        c.execute(
            "INSERT INTO order_events (seq, order_id, merchant_id, from_state, to_state, actor, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![e.seq, e.order_id.as_str(), merchant_id.get(), e.from_state.map(|s| s.code()), e.to_state.code(), e.actor.to_string(), e.reason, e.at],
        )?;
    }
    for n in &d.notifications {
        c.execute(
            &format!("INSERT INTO notifications ({NOTIFICATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                n.order_id.as_str(),
                n.merchant_id.get(),
                n.url,
                n.status.as_str(),
                n.attempts,
                n.next_at,
                n.created_at,
                n.delivered_at
            ],
        )?;
    }
    for a in &d.attempts {
        c.execute(
            "INSERT INTO notify_attempts (order_id, at, http_status, body_excerpt, error, delivered) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![a.order_id.as_str(), a.at, a.http_status, a.body_excerpt, a.error, a.delivered],
        )?;
    }
    for t in &d.pairing_tokens {
        c.execute(
            "INSERT INTO pairing_tokens (token_hash, merchant_id, created_at, expires_at, used_at, device_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![t.token_hash, t.merchant_id.get(), t.created_at, t.expires_at, t.used_at, t.device_id],
        )?;
    }
    for v in &d.devices {
        c.execute(
            &format!("INSERT INTO devices ({DEVICE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![v.id, v.merchant_id.get(), v.name, v.secret.expose(), v.created_at, v.last_seen, v.sources_json, v.version],
        )?;
    }
    for n in &d.nonces {
        c.execute(
            "INSERT INTO device_nonces (device_id, nonce, expires_at) VALUES (?1, ?2, ?3)",
            params![n.device_id, n.nonce, n.expires_at],
        )?;
    }
    for p in &d.unmatched {
        crate::rows::insert_unmatched(c, p)?;
    }
    Ok(())
}
