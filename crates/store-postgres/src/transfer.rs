//! Moving a whole database out of, or into, PostgreSQL (`migrate-data`).

use crate::rows::{
    self, CODE_COLUMNS, DEVICE_COLUMNS, MERCHANT_COLUMNS, MerchantRow, NOTIFICATION_COLUMNS, ORDER_COLUMNS, UNMATCHED_COLUMNS,
};
use crate::{PgStore, backend};
use jiufu_store::*;
use tokio_postgres::{IsolationLevel, Row, Transaction};

async fn all<T>(tx: &Transaction<'_>, sql: &str, f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    tx.query(sql, &[]).await.map_err(backend)?.iter().map(f).collect()
}

fn col<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, name: &str) -> Result<T> {
    r.try_get(name).map_err(backend)
}

pub async fn export(store: &PgStore) -> Result<Dump> {
    let mut client = store.client().await?;
    // Events go out under the numbers collectors hold as their cursor.
    crate::store_impl::number_events(&mut client).await?;
    // One snapshot for every table, while the instances keep writing.
    let tx = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await.map_err(backend)?;
    let dump = Dump {
        merchants: all(&tx, &format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY id"), rows::merchant).await?,
        codes: all(&tx, &format!("SELECT {CODE_COLUMNS}, removed FROM codes ORDER BY id"), |r| {
            Ok(DumpedCode { code: rows::code(r)?, removed: col(r, "removed")? })
        })
        .await?,
        orders: all(&tx, &format!("SELECT {ORDER_COLUMNS}, o.slot_held, o.evidence_json FROM orders o ORDER BY o.created_at, o.id"), |r| {
            Ok(DumpedOrder { order: rows::order(r)?, slot_held: col(r, "slot_held")?, evidence_json: col(r, "evidence_json")? })
        })
        .await?,
        events: all(
            &tx,
            "SELECT commit_seq AS seq, order_id, from_state, to_state, actor, reason, at, merchant_id FROM order_events \
             ORDER BY commit_seq",
            |r| {
                let seq: Option<i64> = col(r, "seq")?;
                if seq.is_none() {
                    return Err(StoreError::Conflict(
                        "an order change is still being committed (a write transaction is open on the server): stop the gateways and try again"
                            .into(),
                    ));
                }
                Ok(DumpedEvent { event: rows::event(r)?, merchant_id: rows::merchant_id(r, "merchant_id")? })
            },
        )
        .await?,
        notifications: all(&tx, &format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications ORDER BY order_id"), rows::notification).await?,
        attempts: all(&tx, "SELECT order_id, at, http_status, body_excerpt, error, delivered FROM notify_attempts ORDER BY id", rows::attempt)
            .await?,
        pairing_tokens: all(
            &tx,
            "SELECT token_hash, merchant_id, created_at, expires_at, used_at, device_id FROM pairing_tokens ORDER BY created_at, token_hash",
            |r| {
                Ok(PairingToken {
                    token_hash: col(r, "token_hash")?,
                    merchant_id: rows::merchant_id(r, "merchant_id")?,
                    created_at: col(r, "created_at")?,
                    expires_at: col(r, "expires_at")?,
                    used_at: col(r, "used_at")?,
                    device_id: col(r, "device_id")?,
                })
            },
        )
        .await?,
        devices: all(&tx, &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY created_at, id"), rows::device).await?,
        nonces: all(&tx, "SELECT device_id, nonce, expires_at FROM device_nonces ORDER BY device_id, nonce", |r| {
            Ok(Nonce { device_id: col(r, "device_id")?, nonce: col(r, "nonce")?, expires_at: col(r, "expires_at")? })
        })
        .await?,
        unmatched: all(
            &tx,
            &format!("SELECT {UNMATCHED_COLUMNS} FROM unmatched_payments ORDER BY reported_at, device_id, observation_id"),
            rows::unmatched,
        )
        .await?,
    };
    tx.commit().await.map_err(backend)?;
    Ok(dump)
}

/// Writes a dump into an empty database in one transaction, keeping ids
/// and sequence numbers, and moves the sequences past them.
pub async fn import(store: &PgStore, d: &Dump) -> Result<()> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(backend)?;
    // No instance may write while the data moves in.
    tx.batch_execute("LOCK TABLE merchants, orders IN EXCLUSIVE MODE").await.map_err(backend)?;
    let merchants: i64 = tx.query_one("SELECT COUNT(*) FROM merchants", &[]).await.map_err(backend)?.get(0);
    if merchants > 0 {
        return Err(StoreError::Conflict("the target database is not empty".into()));
    }
    let st =
        tx.prepare(&format!("INSERT INTO merchants ({MERCHANT_COLUMNS}) VALUES ({})", rows::placeholders(1, 17))).await.map_err(backend)?;
    for m in &d.merchants {
        tx.execute(&st, &MerchantRow::new(m).values()).await.map_err(backend)?;
    }
    let st = tx
        .prepare("INSERT INTO codes (id, merchant_id, channel, qr_text, amount_fen, name, enabled, origin, uid, created_at, removed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .await
        .map_err(backend)?;
    for DumpedCode { code: k, removed } in &d.codes {
        let (amount, merchant_id) = (k.amount.map(|a| a.0), k.merchant_id.get());
        tx.execute(
            &st,
            &[&k.id, &merchant_id, &k.channel.code(), &k.qr_text, &amount, &k.name, &k.enabled, &k.origin, &k.uid, &k.created_at, removed],
        )
        .await
        .map_err(backend)?;
    }
    let st = tx
        .prepare(
            "INSERT INTO orders (id, merchant_id, order_no, subject, channel, state, order_fen, payable_fen, code_id, qr_text, notify_url, \
             return_url, ip, order_time, created_at, expire_at, quarantine_until, claimed_at, paid_at, paid_fen, confirmed_by, evidence_id, \
             notified, dialect, shop_data, slot_held, evidence_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)",
        )
        .await
        .map_err(backend)?;
    for DumpedOrder { order: o, slot_held, evidence_json } in &d.orders {
        let paid_fen = o.paid_fen.map(|f| f.0);
        let (id, merchant_id, order_no) = (o.id.as_str(), o.merchant_id.get(), o.order_no.as_str());
        tx.execute(
            &st,
            &[
                &id,
                &merchant_id,
                &order_no,
                &o.subject,
                &o.channel.code(),
                &o.state.code(),
                &o.order_fen.0,
                &o.payable_fen.0,
                &o.code_id,
                &o.qr_text,
                &o.notify_url,
                &o.return_url,
                &o.ip,
                &o.order_time,
                &o.created_at,
                &o.expire_at,
                &o.quarantine_until,
                &o.claimed_at,
                &o.paid_at,
                &paid_fen,
                &o.confirmed_by,
                &o.evidence_id,
                &o.notified,
                &o.dialect.as_str(),
                &o.shop_data,
                slot_held,
                evidence_json,
            ],
        )
        .await
        .map_err(backend)?;
    }
    let st = tx
        // A collector's cursor carried over from the source stays valid: the
        // imported events keep their numbers as their commit_seq.
        .prepare("INSERT INTO order_events (seq, order_id, merchant_id, from_state, to_state, actor, reason, at, commit_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $1)")
        .await
        .map_err(backend)?;
    for DumpedEvent { event: e, merchant_id } in &d.events {
        let from = e.from_state.map(|s| s.code());
        let (order_id, merchant_id, actor) = (e.order_id.as_str(), merchant_id.get(), e.actor.to_string());
        tx.execute(&st, &[&e.seq, &order_id, &merchant_id, &from, &e.to_state.code(), &actor, &e.reason, &e.at]).await.map_err(backend)?;
    }
    let st = tx
        .prepare(&format!("INSERT INTO notifications ({NOTIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
        .await
        .map_err(backend)?;
    for n in &d.notifications {
        tx.execute(
            &st,
            &[
                &n.order_id.as_str(),
                &n.merchant_id.get(),
                &n.url,
                &n.status.as_str(),
                &n.attempts,
                &n.next_at,
                &n.created_at,
                &n.delivered_at,
            ],
        )
        .await
        .map_err(backend)?;
    }
    let st = tx
        .prepare("INSERT INTO notify_attempts (order_id, at, http_status, body_excerpt, error, delivered) VALUES ($1, $2, $3, $4, $5, $6)")
        .await
        .map_err(backend)?;
    for a in &d.attempts {
        tx.execute(&st, &[&a.order_id.as_str(), &a.at, &a.http_status, &a.body_excerpt, &a.error, &a.delivered]).await.map_err(backend)?;
    }
    let st = tx
        .prepare("INSERT INTO pairing_tokens (token_hash, merchant_id, created_at, expires_at, used_at, device_id) VALUES ($1, $2, $3, $4, $5, $6)")
        .await
        .map_err(backend)?;
    for t in &d.pairing_tokens {
        tx.execute(&st, &[&t.token_hash, &t.merchant_id.get(), &t.created_at, &t.expires_at, &t.used_at, &t.device_id])
            .await
            .map_err(backend)?;
    }
    let st =
        tx.prepare(&format!("INSERT INTO devices ({DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")).await.map_err(backend)?;
    for v in &d.devices {
        tx.execute(
            &st,
            &[&v.id, &v.merchant_id.get(), &v.name, &v.secret.expose(), &v.created_at, &v.last_seen, &v.sources_json, &v.version],
        )
        .await
        .map_err(backend)?;
    }
    let st = tx.prepare("INSERT INTO device_nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3)").await.map_err(backend)?;
    for n in &d.nonces {
        tx.execute(&st, &[&n.device_id, &n.nonce, &n.expires_at]).await.map_err(backend)?;
    }
    let st = tx
        .prepare(&format!("INSERT INTO unmatched_payments ({UNMATCHED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
        .await
        .map_err(backend)?;
    for p in &d.unmatched {
        tx.execute(
            &st,
            &[
                &p.device_id,
                &p.observation_id,
                &p.merchant_id.get(),
                &p.channel.code(),
                &p.amount.0,
                &p.observed_at,
                &p.source,
                &p.raw_text,
                &p.reported_at,
            ],
        )
        .await
        .map_err(backend)?;
    }
    // The collectors' cursor continues after the imported numbers.
    tx.execute("UPDATE event_counter SET last = COALESCE((SELECT MAX(commit_seq) FROM order_events), 0)", &[]).await.map_err(backend)?;
    // New rows continue after the imported ids.
    for (table, column) in [("codes", "id"), ("order_events", "seq"), ("notify_attempts", "id")] {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
            ),
            &[],
        )
        .await
        .map_err(backend)?;
    }
    tx.commit().await.map_err(backend)
}
