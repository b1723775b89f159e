//! What a window or the command line reads of the collector, and the
//! orders mirror's one way in. Everything outside the crate goes through
//! these methods (and `operator`'s actions); the store stays private.

use crate::model::{Codes, Observation, OrderFilter, OutboxItem, Overview, Pairing, PaymentFilter, SourceHealth};
use crate::{Collector, CoreEvent, setting};
use jiufu_protocol::collector::OrderWire;
use jiufu_protocol::{DeviceId, ObservationId, OrderState};

/// The most orders a list holds.
pub const MAX_LISTED_ORDERS: i64 = 5000;

impl Collector {
    /// Orders `filter` shows, claimed first, then the newest; `search`
    /// matches the order id, merchant order number, subject or amount.
    pub async fn orders(&self, filter: OrderFilter, search: &str, limit: i64) -> anyhow::Result<Vec<OrderWire>> {
        self.db.find_orders(filter, search, limit.clamp(0, MAX_LISTED_ORDERS)).await
    }

    /// Every mirrored order, newest first (at most [`MAX_LISTED_ORDERS`]).
    pub async fn all_orders(&self) -> anyhow::Result<Vec<OrderWire>> {
        self.db.orders().await
    }

    /// The latest payments (at most 2000) `filter` shows, newest first.
    pub async fn observations(&self, filter: PaymentFilter) -> anyhow::Result<Vec<Observation>> {
        self.db.observations(filter).await
    }

    pub async fn observation(&self, id: &ObservationId) -> anyhow::Result<Option<Observation>> {
        self.db.observation(id).await
    }

    /// How many payments are stored.
    pub async fn observation_count(&self) -> anyhow::Result<i64> {
        self.db.observation_count().await
    }

    /// Items waiting for delivery to the gateway.
    pub async fn queued(&self) -> anyhow::Result<i64> {
        self.db.pending_outbox().await
    }

    /// The queue, delivered items included (the newest `limit`, oldest first).
    pub async fn outbox(&self, limit: i64) -> anyhow::Result<Vec<OutboxItem>> {
        self.db.outbox(limit).await
    }

    /// Each source's health as last saved.
    pub async fn sources_health(&self) -> anyhow::Result<Vec<SourceHealth>> {
        self.db.sources().await
    }

    /// The receiving codes, and whether every change has reached the gateway.
    pub async fn codes(&self) -> anyhow::Result<Codes> {
        let version = self.db.setting(setting::CODES_VERSION).await?;
        let synced = self.db.setting(setting::CODES_SYNCED).await?;
        Ok(Codes { codes: self.db.codes().await?, synced: version.is_none() || version == synced })
    }

    /// The gateway this collector is paired with, as stored.
    pub async fn pairing(&self) -> anyhow::Result<Pairing> {
        let get = |k: &'static str| self.db.setting(k);
        Ok(Pairing {
            gateway: get(setting::GATEWAY_URL).await?,
            device_id: get(setting::DEVICE_ID).await?.and_then(|d| DeviceId::parse(&d)),
            merchant_id: get(setting::MERCHANT_ID).await?,
            merchant_name: get(setting::MERCHANT_NAME).await?,
        })
    }

    /// The collector at a glance; takings count payments matched since
    /// `since` (epoch ms), each once.
    pub async fn overview(&self, since: i64) -> anyhow::Result<Overview> {
        let open = self.db.find_orders(OrderFilter::Open, "", MAX_LISTED_ORDERS).await?;
        let (takings_count, takings_total) = self.db.takings_since(since).await?;
        let mut recent = self.db.observations(PaymentFilter::All).await?;
        recent.truncate(8);
        Ok(Overview {
            claimed: open.iter().filter(|o| o.state == OrderState::Claimed).count(),
            open: open.len(),
            takings_count,
            takings_total,
            queued: self.db.pending_outbox().await?,
            recent,
            sources: self.db.sources().await?,
        })
    }

    /// Takes in the gateway's view of orders (a snapshot or a batch of
    /// changes): stored, unknown values and all, then announced (each
    /// newly claimed order this build knows, and that orders changed).
    pub async fn mirror_orders(&self, orders: Vec<OrderWire>) -> anyhow::Result<()> {
        let claimed = self.db.upsert_orders(orders).await?;
        for o in claimed {
            // The store hands back only orders this build knows.
            if let Some(t) = o.terms() {
                self.emit(CoreEvent::OrderClaimed {
                    order_id: o.order_id,
                    order_no: o.order_no,
                    channel: t.channel,
                    amount: t.payable_amount,
                });
            }
        }
        self.emit(CoreEvent::OrdersChanged);
        Ok(())
    }
}
