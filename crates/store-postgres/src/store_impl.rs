//! [`Store`] for [`PgStore`]: reads on a pooled connection, writes in a
//! transaction each.

use crate::rows::{
    self, CODE_COLUMNS, DEVICE_COLUMNS, EVENT_COLUMNS, MERCHANT_COLUMNS, MerchantRow, NOTIFICATION_COLUMNS, ORDER_COLUMNS,
    SETTINGS_COLUMNS, SettingsRow, UNMATCHED_COLUMNS,
};
use crate::{PgStore, backend, orders};
use async_trait::async_trait;
use jiufu_protocol::{MerchantId, OrderId, OrderNo, OrderState, Transition, TransitionError};
use jiufu_store::*;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Transaction};

#[async_trait]
impl Store for PgStore {
    async fn create_merchant(&self, new: NewMerchant, now: i64) -> Result<Merchant> {
        let client = self.client().await?;
        let merchant = Merchant { id: new.id, name: new.name, key: new.key, enabled: true, settings: new.settings, created_at: now };
        let row = MerchantRow::new(&merchant);
        let sql = format!("INSERT INTO merchants ({MERCHANT_COLUMNS}) VALUES ({}) RETURNING {MERCHANT_COLUMNS}", rows::placeholders(1, 17));
        rows::merchant(&client.query_one(&sql, &row.values()).await.map_err(backend)?)
    }

    async fn set_merchant_settings(&self, id: MerchantId, settings: MerchantSettings) -> Result<Merchant> {
        let client = self.client().await?;
        let row = SettingsRow::new(&settings);
        let sql = format!(
            "UPDATE merchants SET ({SETTINGS_COLUMNS}) = ({}) WHERE id = $1 RETURNING {MERCHANT_COLUMNS}",
            rows::placeholders(2, 12)
        );
        let id = id.get();
        let mut values: Vec<&(dyn ToSql + Sync)> = vec![&id];
        values.extend(row.values());
        let row = client.query_opt(&sql, &values).await.map_err(backend)?;
        row.as_ref().map(rows::merchant).transpose()?.ok_or(StoreError::NotFound)
    }

    async fn merchant(&self, id: MerchantId) -> Result<Option<Merchant>> {
        let client = self.client().await?;
        let row =
            client.query_opt(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = $1"), &[&id.get()]).await.map_err(backend)?;
        row.as_ref().map(rows::merchant).transpose()
    }

    async fn merchants(&self) -> Result<Vec<Merchant>> {
        let client = self.client().await?;
        rows::all(
            &client.query(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY id"), &[]).await.map_err(backend)?,
            rows::merchant,
        )
    }

    async fn add_code(&self, new: NewCode, now: i64) -> Result<Code> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let code = insert_code(&tx, &new, now).await?;
        tx.commit().await.map_err(backend)?;
        Ok(code)
    }

    async fn codes(&self, merchant_id: MerchantId) -> Result<Vec<Code>> {
        let client = self.client().await?;
        let sql = format!("SELECT {CODE_COLUMNS} FROM codes WHERE merchant_id = $1 AND NOT removed ORDER BY id");
        rows::all(&client.query(&sql, &[&merchant_id.get()]).await.map_err(backend)?, rows::code)
    }

    async fn replace_device_codes(&self, merchant_id: MerchantId, device_id: &str, codes: Vec<NewCode>, now: i64) -> Result<usize> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute("UPDATE codes SET removed = TRUE WHERE merchant_id = $1 AND origin = $2", &[&merchant_id.get(), &device_id])
            .await
            .map_err(backend)?;
        for code in &codes {
            insert_code(&tx, code, now).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(codes.len())
    }

    async fn create_order(&self, new: NewOrder, now: i64) -> Result<CreateOutcome> {
        let client = self.client().await?;
        let outcome = orders::create(&client, new, now).await?;
        if matches!(outcome, CreateOutcome::Created(_)) {
            self.announce();
        }
        Ok(outcome)
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>> {
        let client = self.client().await?;
        let st = client.prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1")).await.map_err(backend)?;
        let row = client.query_opt(&st, &[&id.as_str()]).await.map_err(backend)?;
        row.as_ref().map(rows::order).transpose()
    }

    async fn order_by_no(&self, merchant_id: MerchantId, order_no: &OrderNo) -> Result<Option<Order>> {
        let client = self.client().await?;
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.merchant_id = $1 AND o.order_no = $2");
        let row = client.query_opt(&sql, &[&merchant_id.get(), &order_no.as_str()]).await.map_err(backend)?;
        row.as_ref().map(rows::order).transpose()
    }

    async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>> {
        let client = self.client().await?;
        let limit = filter.limit.unwrap_or(1000) as i64;
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders o WHERE ($1::BIGINT IS NULL OR o.merchant_id = $1) AND ($2::INTEGER IS NULL OR o.state = $2) \
             AND (NOT $4 OR o.slot_held) ORDER BY o.created_at DESC, o.id LIMIT $3"
        );
        let rows = client
            .query(&sql, &[&filter.merchant_id.map(MerchantId::get), &filter.state.map(|s| s.code()), &limit, &filter.holding_amount])
            .await
            .map_err(backend)?;
        rows::all(&rows, rows::order)
    }

    async fn transition(&self, id: &OrderId, change: StateChange, now: i64) -> Result<TransitionOutcome> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let outcome = orders::transition(&tx, id, &change, now).await?;
        tx.commit().await.map_err(backend)?;
        if matches!(outcome, TransitionOutcome::Applied(_)) {
            self.announce();
        }
        Ok(outcome)
    }

    async fn expire_due(&self, now: i64) -> Result<Vec<Order>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let expired = orders::expire_open(&tx, now).await?;
        orders::release_slots(&tx, now).await?;
        tx.execute("DELETE FROM device_nonces WHERE expires_at <= $1", &[&now]).await.map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        if !expired.is_empty() {
            self.announce();
        }
        Ok(expired)
    }

    async fn purge(&self, before: i64, now: i64) -> Result<Purged> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let order_events = tx
            .execute(
                &format!(
                    "DELETE FROM order_events WHERE at < $1 AND order_id IN (SELECT id FROM orders WHERE state IN ({}) \
                     AND created_at < $1 AND quarantine_until < $1)",
                    rows::state_list(OrderState::ENDED)
                ),
                &[&before],
            )
            .await
            .map_err(backend)? as usize;
        let notify_attempts = tx
            .execute(
                "DELETE FROM notify_attempts WHERE at < $1 AND order_id IN (SELECT order_id FROM notifications WHERE status <> 'pending')",
                &[&before],
            )
            .await
            .map_err(backend)? as usize;
        let nonces = tx.execute("DELETE FROM device_nonces WHERE expires_at <= $1", &[&now]).await.map_err(backend)? as usize;
        let unmatched = tx.execute("DELETE FROM unmatched_payments WHERE reported_at < $1", &[&before]).await.map_err(backend)? as usize;
        tx.commit().await.map_err(backend)?;
        Ok(Purged { order_events, notify_attempts, nonces, unmatched })
    }

    /// The cursor is `commit_seq` (see the migration): events are numbered
    /// first, then read.
    async fn order_events(&self, merchant_id: MerchantId, after: i64, limit: usize) -> Result<Vec<(i64, Order)>> {
        let mut client = self.client().await?;
        number_events(&mut client).await?;
        let sql = format!(
            "SELECT {ORDER_COLUMNS}, e.commit_seq FROM order_events e JOIN orders o ON o.id = e.order_id \
             WHERE e.merchant_id = $1 AND e.commit_seq > $2 ORDER BY e.commit_seq LIMIT $3"
        );
        let rows = client.query(&sql, &[&merchant_id.get(), &after, &(limit as i64)]).await.map_err(backend)?;
        rows.iter().map(|r| Ok((r.try_get("commit_seq").map_err(backend)?, rows::order(r)?))).collect()
    }

    async fn last_event_seq(&self) -> Result<i64> {
        let mut client = self.client().await?;
        number_events(&mut client).await?;
        Ok(client.query_one("SELECT last FROM event_counter", &[]).await.map_err(backend)?.get(0))
    }

    async fn order_history(&self, id: &OrderId) -> Result<Vec<OrderEvent>> {
        let client = self.client().await?;
        let sql = format!("SELECT {EVENT_COLUMNS} FROM order_events WHERE order_id = $1 ORDER BY seq");
        rows::all(&client.query(&sql, &[&id.as_str()]).await.map_err(backend)?, rows::event)
    }

    /// Leases the due rows to this caller: with several instances, each due
    /// notification goes to one of them until its attempt is recorded or
    /// the lease ([`crate::LEASE_SECS`] by default) runs out.
    async fn due_notifications(&self, now: i64, limit: usize) -> Result<Vec<Notification>> {
        let client = self.client().await?;
        let sql = format!(
            "UPDATE notifications SET lease_until = $1 + $3 WHERE order_id IN (SELECT order_id FROM notifications \
             WHERE status = 'pending' AND next_at <= $1 AND lease_until <= $1 ORDER BY next_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING {NOTIFICATION_COLUMNS}"
        );
        let mut due =
            rows::all(&client.query(&sql, &[&now, &(limit as i64), &self.lease_secs]).await.map_err(backend)?, rows::notification)?;
        due.sort_by_key(|n| n.next_at);
        Ok(due)
    }

    async fn record_attempt(&self, attempt: NotifyAttempt, next: NotifyNext) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "INSERT INTO notify_attempts (order_id, at, http_status, body_excerpt, error, delivered) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&attempt.order_id.as_str(), &attempt.at, &attempt.http_status, &attempt.body_excerpt, &attempt.error, &attempt.delivered],
        )
        .await
        .map_err(backend)?;
        let (status, next_at, delivered_at) = match next {
            NotifyNext::Delivered => (NotifyStatus::Delivered, attempt.at, Some(attempt.at)),
            NotifyNext::RetryAt(t) => (NotifyStatus::Pending, t, None),
            NotifyNext::GiveUp => (NotifyStatus::GaveUp, attempt.at, None),
        };
        tx.execute(
            // Only while still pending: an instance whose lease ran out during
            // a slow attempt never undoes another's delivery.
            "UPDATE notifications SET attempts = attempts + 1, status = $1, next_at = $2, delivered_at = COALESCE($3, delivered_at), \
             lease_until = 0 WHERE order_id = $4 AND status = 'pending'",
            &[&status.as_str(), &next_at, &delivered_at, &attempt.order_id.as_str()],
        )
        .await
        .map_err(backend)?;
        if next == NotifyNext::Delivered {
            tx.execute("UPDATE orders SET notified = TRUE WHERE id = $1", &[&attempt.order_id.as_str()]).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn notification(&self, order_id: &OrderId) -> Result<Option<Notification>> {
        let client = self.client().await?;
        let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE order_id = $1");
        client.query_opt(&sql, &[&order_id.as_str()]).await.map_err(backend)?.as_ref().map(rows::notification).transpose()
    }

    async fn notify_attempts(&self, order_id: &OrderId) -> Result<Vec<NotifyAttempt>> {
        let client = self.client().await?;
        let sql = "SELECT order_id, at, http_status, body_excerpt, error, delivered FROM notify_attempts WHERE order_id = $1 ORDER BY id";
        rows::all(&client.query(sql, &[&order_id.as_str()]).await.map_err(backend)?, rows::attempt)
    }

    async fn resend_notification(&self, order_id: &OrderId, now: i64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let order = orders::load(&tx, order_id, true).await?.ok_or(StoreError::NotFound)?;
        if order.state != OrderState::Confirmed {
            return Err(StoreError::Transition(TransitionError { from: order.state, transition: Transition::Confirm }));
        }
        tx.execute(
            "INSERT INTO notifications (order_id, merchant_id, url, status, attempts, next_at, created_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4) \
             ON CONFLICT (order_id) DO UPDATE SET status = 'pending', next_at = excluded.next_at, lease_until = 0",
            &[&order.id.as_str(), &order.merchant_id.get(), &order.notify_url, &now],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn create_pairing_token(&self, token_hash: &str, merchant_id: MerchantId, expires_at: i64, now: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO pairing_tokens (token_hash, merchant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&token_hash, &merchant_id.get(), &now, &expires_at],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn redeem_pairing_token(&self, token_hash: &str, device: NewDevice, now: i64) -> Result<Option<Device>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let merchant = tx
            .query_opt(
                "UPDATE pairing_tokens SET used_at = $1, device_id = $2 WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1 \
                 RETURNING merchant_id",
                &[&now, &device.id, &token_hash],
            )
            .await
            .map_err(backend)?;
        let Some(merchant) = merchant else { return Ok(None) };
        let merchant_id: i64 = merchant.try_get(0).map_err(backend)?;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO devices (id, merchant_id, name, secret, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {DEVICE_COLUMNS}"
                ),
                &[&device.id, &merchant_id, &device.name, &device.secret.expose(), &now],
            )
            .await
            .map_err(backend)?;
        let device = rows::device(&row)?;
        tx.commit().await.map_err(backend)?;
        Ok(Some(device))
    }

    async fn device(&self, id: &str) -> Result<Option<Device>> {
        let client = self.client().await?;
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1");
        client.query_opt(&sql, &[&id]).await.map_err(backend)?.as_ref().map(rows::device).transpose()
    }

    async fn devices(&self, merchant_id: MerchantId) -> Result<Vec<Device>> {
        let client = self.client().await?;
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE merchant_id = $1 ORDER BY created_at");
        rows::all(&client.query(&sql, &[&merchant_id.get()]).await.map_err(backend)?, rows::device)
    }

    async fn use_nonce(&self, device_id: &str, nonce: &str, expires_at: i64, _now: i64) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "INSERT INTO device_nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&device_id, &nonce, &expires_at],
            )
            .await
            .map_err(backend)?;
        Ok(n == 1)
    }

    async fn heartbeat(&self, device_id: &str, sources_json: &str, version: &str, now: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE devices SET last_seen = $1, sources_json = $2, version = $3 WHERE id = $4",
                &[&now, &sources_json, &version, &device_id],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn record_unmatched(&self, p: UnmatchedPayment) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                &format!("INSERT INTO unmatched_payments ({UNMATCHED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"),
                &[&p.device_id, &p.observation_id, &p.merchant_id.get(), &p.channel.code(), &p.amount.0, &p.observed_at, &p.source, &p.raw_text, &p.reported_at],
            )
            .await
            .map_err(backend)?;
        Ok(n == 1)
    }

    async fn unmatched(&self, merchant_id: MerchantId) -> Result<Vec<UnmatchedPayment>> {
        let client = self.client().await?;
        let sql = format!("SELECT {UNMATCHED_COLUMNS} FROM unmatched_payments WHERE merchant_id = $1 ORDER BY reported_at DESC");
        rows::all(&client.query(&sql, &[&merchant_id.get()]).await.map_err(backend)?, rows::unmatched)
    }

    async fn export(&self) -> Result<Dump> {
        crate::transfer::export(self).await
    }

    async fn import(&self, dump: Dump) -> Result<Counts> {
        crate::transfer::import(self, &dump).await?;
        Ok(self.export().await?.counts())
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.changes.get_or_init(|| crate::listen::start(self.config.clone(), self.tls.clone())).clone())
    }
}

/// Gives `commit_seq` to the events of every transaction older than all
/// still running (on the whole server), in (txid, seq) order, continuing
/// from `event_counter`. One instance numbers at a time (a transaction-
/// scoped advisory lock, READ COMMITTED so the numbering sees what the
/// previous one committed); a call that finds nothing to number costs one
/// index probe.
pub(crate) async fn number_events(client: &mut tokio_postgres::Client) -> Result<()> {
    let pending = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM order_events WHERE commit_seq IS NULL AND txid < pg_snapshot_xmin(pg_current_snapshot()))",
            &[],
        )
        .await
        .map_err(backend)?;
    if !pending.get::<_, bool>(0) {
        return Ok(());
    }
    let tx = client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start().await.map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('jiufu:number-events', 0))", &[]).await.map_err(backend)?;
    tx.execute(
        "WITH ready AS (SELECT seq, row_number() OVER (ORDER BY txid, seq) AS n FROM order_events \
                        WHERE commit_seq IS NULL AND txid < pg_snapshot_xmin(pg_current_snapshot())), \
              numbered AS (UPDATE order_events e SET commit_seq = c.last + ready.n FROM ready, event_counter c \
                           WHERE e.seq = ready.seq RETURNING 1) \
         UPDATE event_counter SET last = last + (SELECT COUNT(*) FROM numbered)",
        &[],
    )
    .await
    .map_err(backend)?;
    tx.commit().await.map_err(backend)
}

async fn insert_code(tx: &Transaction<'_>, new: &NewCode, now: i64) -> Result<Code> {
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO codes (merchant_id, channel, qr_text, amount_fen, name, enabled, origin, uid, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {CODE_COLUMNS}"
            ),
            &[
                &new.merchant_id.get(),
                &new.channel.code(),
                &new.qr_text,
                &new.amount.map(|a| a.0),
                &new.name,
                &new.enabled,
                &new.origin,
                &new.uid,
                &now,
            ],
        )
        .await
        .map_err(backend)?;
    rows::code(&row)
}
