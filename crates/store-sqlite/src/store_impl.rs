//! [`Store`] for [`SqliteStore`]: reads on the pool, writes through the writer.

use crate::backend;
use crate::rows::{self, CODE_COLUMNS, DEVICE_COLUMNS, EVENT_COLUMNS, MERCHANT_COLUMNS, NOTIFICATION_COLUMNS, ORDER_COLUMNS};
use crate::{SqliteStore, orders};
use async_trait::async_trait;
use jiufu_protocol::{MerchantId, OrderId, OrderNo, OrderState, Transition};
use jiufu_store::*;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl Store for SqliteStore {
    async fn create_merchant(&self, new: NewMerchant, now: i64) -> Result<Merchant> {
        self.write(move |conn| {
            let merchant = Merchant { id: new.id, name: new.name, key: new.key, enabled: true, settings: new.settings, created_at: now };
            rows::insert_merchant(conn, &merchant).map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StoreError::Duplicate(Unique::Merchant)
                }
                e => backend(e),
            })?;
            conn.query_row(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = ?1"), [merchant.id.get()], rows::merchant)
                .map_err(backend)
        })
        .await
    }

    async fn merchant(&self, id: MerchantId) -> Result<Option<Merchant>> {
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = ?1"))?
                .query_row([id.get()], rows::merchant)
                .optional()
        })
        .await
    }

    async fn merchants(&self) -> Result<Vec<Merchant>> {
        self.read(|c| c.prepare(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY id"))?.query_map([], rows::merchant)?.collect())
            .await
    }

    async fn set_merchant_settings(&self, id: MerchantId, settings: MerchantSettings) -> Result<Merchant> {
        self.write(move |conn| {
            if rows::update_settings(conn, id, &settings).map_err(backend)? == 0 {
                return Err(StoreError::NotFound);
            }
            conn.query_row(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = ?1"), [id.get()], rows::merchant).map_err(backend)
        })
        .await
    }

    async fn add_code(&self, new: NewCode, now: i64) -> Result<Code> {
        self.write(move |conn| insert_code(conn, &new, now)).await
    }

    async fn codes(&self, merchant_id: MerchantId) -> Result<Vec<Code>> {
        self.read(move |c| {
            c.prepare(&format!("SELECT {CODE_COLUMNS} FROM codes WHERE merchant_id = ?1 AND removed = 0 ORDER BY id"))?
                .query_map([merchant_id.get()], rows::code)?
                .collect()
        })
        .await
    }

    async fn replace_device_codes(&self, merchant_id: MerchantId, device_id: &str, codes: Vec<NewCode>, now: i64) -> Result<usize> {
        let device_id = device_id.to_owned();
        self.write(move |conn| {
            conn.execute("UPDATE codes SET removed = 1 WHERE merchant_id = ?1 AND origin = ?2", params![merchant_id.get(), device_id])
                .map_err(backend)?;
            for code in &codes {
                insert_code(conn, code, now)?;
            }
            Ok(codes.len())
        })
        .await
    }

    async fn create_order(&self, new: NewOrder, now: i64) -> Result<CreateOutcome> {
        self.write(move |conn| orders::create(conn, new, now)).await
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>> {
        let id = id.clone();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1"))?.query_row([id.as_str()], rows::order).optional()
        })
        .await
    }

    async fn order_by_no(&self, merchant_id: MerchantId, order_no: &OrderNo) -> Result<Option<Order>> {
        let order_no = order_no.clone();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE merchant_id = ?1 AND order_no = ?2"))?
                .query_row(params![merchant_id.get(), order_no.as_str()], rows::order)
                .optional()
        })
        .await
    }

    async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>> {
        self.read(move |c| {
            let limit = filter.limit.unwrap_or(1000) as i64;
            c.prepare(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE (?1 IS NULL OR merchant_id = ?1) AND (?2 IS NULL OR state = ?2) \
                 AND (?4 = 0 OR slot_held = 1) ORDER BY created_at DESC, id LIMIT ?3"
            ))?
            .query_map(
                params![filter.merchant_id.map(MerchantId::get), filter.state.map(|s| s.code()), limit, filter.holding_amount],
                rows::order,
            )?
            .collect()
        })
        .await
    }

    async fn transition(&self, id: &OrderId, change: StateChange, now: i64) -> Result<TransitionOutcome> {
        let id = id.clone();
        self.write(move |conn| orders::transition(conn, &id, &change, now)).await
    }

    async fn expire_due(&self, now: i64) -> Result<Vec<Order>> {
        self.write(move |conn| {
            let expired = orders::expire_open(conn, now)?;
            orders::release_slots(conn, now)?;
            conn.execute("DELETE FROM device_nonces WHERE expires_at <= ?1", [now]).map_err(backend)?;
            Ok(expired)
        })
        .await
    }

    async fn purge(&self, before: i64, now: i64) -> Result<Purged> {
        self.write(move |conn| {
            // Merchant by merchant, so the finished orders are found through
            // orders_by_state (merchant_id, state, created_at) and their
            // events through order_events_by_order.
            let merchants: Vec<i64> =
                conn.prepare("SELECT id FROM merchants").and_then(|mut st| st.query_map([], |r| r.get(0))?.collect()).map_err(backend)?;
            let mut order_events = 0;
            for merchant in merchants {
                order_events += conn
                    .execute(
                        &format!(
                            "DELETE FROM order_events WHERE at < ?1 AND order_id IN (SELECT id FROM orders WHERE merchant_id = ?2 \
                             AND state IN ({}) AND created_at < ?1 AND quarantine_until < ?1)",
                            rows::state_list(OrderState::ENDED)
                        ),
                        params![before, merchant],
                    )
                    .map_err(backend)?;
            }
            let notify_attempts = conn
                .execute(
                    "DELETE FROM notify_attempts WHERE at < ?1 AND order_id IN (SELECT order_id FROM notifications \
                     WHERE status != 'pending')",
                    [before],
                )
                .map_err(backend)?;
            let nonces = conn.execute("DELETE FROM device_nonces WHERE expires_at <= ?1", [now]).map_err(backend)?;
            let unmatched = conn.execute("DELETE FROM unmatched_payments WHERE reported_at < ?1", [before]).map_err(backend)?;
            Ok(Purged { order_events, notify_attempts, nonces, unmatched })
        })
        .await
    }

    async fn order_events(&self, merchant_id: MerchantId, after: i64, limit: usize) -> Result<Vec<(i64, Order)>> {
        self.read(move |c| {
            let cols = ORDER_COLUMNS.split(", ").map(|col| format!("o.{}", col.trim())).collect::<Vec<_>>().join(", ");
            c.prepare_cached(&format!(
                "SELECT {cols}, e.seq FROM order_events e JOIN orders o ON o.id = e.order_id \
                 WHERE e.merchant_id = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3"
            ))?
            .query_map(params![merchant_id.get(), after, limit as i64], |r| {
                // The sequence number follows the order's columns.
                let order = rows::order(r)?;
                Ok((r.get(rows::ORDER_COLUMN_COUNT)?, order))
            })?
            .collect()
        })
        .await
    }

    async fn last_event_seq(&self) -> Result<i64> {
        self.read(|c| c.query_row("SELECT COALESCE(MAX(seq), 0) FROM order_events", [], |r| r.get(0))).await
    }

    async fn order_history(&self, id: &OrderId) -> Result<Vec<OrderEvent>> {
        let id = id.clone();
        self.read(move |c| {
            c.prepare(&format!("SELECT {EVENT_COLUMNS} FROM order_events WHERE order_id = ?1 ORDER BY seq"))?
                .query_map([id.as_str()], rows::event)?
                .collect()
        })
        .await
    }

    async fn due_notifications(&self, now: i64, limit: usize) -> Result<Vec<Notification>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE status = 'pending' AND next_at <= ?1 ORDER BY next_at LIMIT ?2"
            ))?
            .query_map(params![now, limit as i64], rows::notification)?
            .collect()
        })
        .await
    }

    async fn record_attempt(&self, attempt: NotifyAttempt, next: NotifyNext) -> Result<()> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO notify_attempts (order_id, at, http_status, body_excerpt, error, delivered) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![attempt.order_id.as_str(), attempt.at, attempt.http_status, attempt.body_excerpt, attempt.error, attempt.delivered],
            )
            .map_err(backend)?;
            let (status, next_at, delivered_at) = match next {
                NotifyNext::Delivered => (NotifyStatus::Delivered, attempt.at, Some(attempt.at)),
                NotifyNext::RetryAt(t) => (NotifyStatus::Pending, t, None),
                NotifyNext::GiveUp => (NotifyStatus::GaveUp, attempt.at, None),
            };
            conn.execute(
                "UPDATE notifications SET attempts = attempts + 1, status = ?1, next_at = ?2, delivered_at = COALESCE(?3, delivered_at) \
                 WHERE order_id = ?4",
                params![status.as_str(), next_at, delivered_at, attempt.order_id.as_str()],
            )
            .map_err(backend)?;
            if next == NotifyNext::Delivered {
                conn.execute("UPDATE orders SET notified = 1 WHERE id = ?1", [attempt.order_id.as_str()]).map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn notification(&self, order_id: &OrderId) -> Result<Option<Notification>> {
        let id = order_id.clone();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE order_id = ?1"))?
                .query_row([id.as_str()], rows::notification)
                .optional()
        })
        .await
    }

    async fn notify_attempts(&self, order_id: &OrderId) -> Result<Vec<NotifyAttempt>> {
        let id = order_id.clone();
        self.read(move |c| {
            c.prepare(
                "SELECT order_id, at, http_status, body_excerpt, error, delivered FROM notify_attempts WHERE order_id = ?1 ORDER BY id",
            )?
            .query_map([id.as_str()], rows::attempt)?
            .collect()
        })
        .await
    }

    async fn resend_notification(&self, order_id: &OrderId, now: i64) -> Result<()> {
        let id = order_id.clone();
        self.write(move |conn| {
            let order = orders::load(conn, &id)?.ok_or(StoreError::NotFound)?;
            if order.state != OrderState::Confirmed {
                return Err(StoreError::Transition(jiufu_protocol::TransitionError { from: order.state, transition: Transition::Confirm }));
            }
            conn.execute(
                "INSERT INTO notifications (order_id, merchant_id, url, status, attempts, next_at, created_at) \
                 VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4) \
                 ON CONFLICT (order_id) DO UPDATE SET status = 'pending', next_at = excluded.next_at",
                params![order.id.as_str(), order.merchant_id.get(), order.notify_url, now],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn create_pairing_token(&self, token_hash: &str, merchant_id: MerchantId, expires_at: i64, now: i64) -> Result<()> {
        let hash = token_hash.to_owned();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO pairing_tokens (token_hash, merchant_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![hash, merchant_id.get(), now, expires_at],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn redeem_pairing_token(&self, token_hash: &str, device: NewDevice, now: i64) -> Result<Option<Device>> {
        let hash = token_hash.to_owned();
        self.write(move |conn| {
            let merchant: Option<i64> = conn
                .query_row(
                    "UPDATE pairing_tokens SET used_at = ?1, device_id = ?2 WHERE token_hash = ?3 AND used_at IS NULL AND expires_at > ?1 \
                     RETURNING merchant_id",
                    params![now, device.id, hash],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(merchant_id) = merchant else { return Ok(None) };
            conn.execute(
                "INSERT INTO devices (id, merchant_id, name, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device.id, merchant_id, device.name, device.secret.expose(), now],
            )
            .map_err(backend)?;
            conn.query_row(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"), [&device.id], rows::device)
                .map(Some)
                .map_err(backend)
        })
        .await
    }

    async fn device(&self, id: &str) -> Result<Option<Device>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"))?.query_row([id], rows::device).optional()
        })
        .await
    }

    async fn devices(&self, merchant_id: MerchantId) -> Result<Vec<Device>> {
        self.read(move |c| {
            c.prepare(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE merchant_id = ?1 ORDER BY created_at"))?
                .query_map([merchant_id.get()], rows::device)?
                .collect()
        })
        .await
    }

    async fn use_nonce(&self, device_id: &str, nonce: &str, expires_at: i64, _now: i64) -> Result<bool> {
        let (device_id, nonce) = (device_id.to_owned(), nonce.to_owned());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO device_nonces (device_id, nonce, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![device_id, nonce, expires_at],
            )
            .map(|n| n == 1)
            .map_err(backend)
        })
        .await
    }

    async fn heartbeat(&self, device_id: &str, sources_json: &str, version: &str, now: i64) -> Result<()> {
        let (device_id, sources, version) = (device_id.to_owned(), sources_json.to_owned(), version.to_owned());
        self.write(move |conn| {
            conn.execute(
                "UPDATE devices SET last_seen = ?1, sources_json = ?2, version = ?3 WHERE id = ?4",
                params![now, sources, version, device_id],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn record_unmatched(&self, p: UnmatchedPayment) -> Result<bool> {
        self.write(move |conn| rows::insert_unmatched(conn, &p).map(|n| n == 1).map_err(backend)).await
    }

    async fn unmatched(&self, merchant_id: MerchantId) -> Result<Vec<UnmatchedPayment>> {
        self.read(move |c| {
            c.prepare(
                "SELECT device_id, observation_id, merchant_id, channel, amount_fen, observed_at, source, raw_text, reported_at \
                 FROM unmatched_payments WHERE merchant_id = ?1 ORDER BY reported_at DESC",
            )?
            .query_map([merchant_id.get()], rows::unmatched)?
            .collect()
        })
        .await
    }

    async fn export(&self) -> Result<Dump> {
        self.read(crate::transfer::export).await
    }

    async fn import(&self, dump: Dump) -> Result<Counts> {
        self.write(move |conn| crate::transfer::import(conn, &dump)).await?;
        Ok(self.export().await?.counts())
    }
}

fn insert_code(conn: &rusqlite::Connection, new: &NewCode, now: i64) -> Result<Code> {
    conn.query_row(
        &format!(
            "INSERT INTO codes (merchant_id, channel, qr_text, amount_fen, name, enabled, origin, uid, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING {CODE_COLUMNS}"
        ),
        params![
            new.merchant_id.get(),
            new.channel.code(),
            new.qr_text,
            new.amount.map(|a| a.0),
            new.name,
            new.enabled,
            new.origin,
            new.uid,
            now
        ],
        rows::code,
    )
    .map_err(backend)
}
