//! The timers: once a second, open orders whose time is up become expired
//! and quarantined amounts whose window is over come free; once an hour,
//! history older than the retention period is deleted.

use super::Domain;
use jiufu_store::{Order, Purged, StoreError};
use std::time::{Duration, Instant};

const RETENTION_EVERY: Duration = Duration::from_secs(3600);

impl Domain {
    /// Expires every open order whose time is up and frees the amounts whose
    /// quarantine is over; returns the orders it expired.
    pub async fn expire_due(&self) -> Result<Vec<Order>, StoreError> {
        let expired = self.store.expire_due(self.now()).await?;
        if !expired.is_empty() {
            tracing::info!(count = expired.len(), "orders expired");
            self.events.orders_changed();
        }
        Ok(expired)
    }

    /// Deletes history older than `retention_secs`.
    pub async fn purge_history(&self, retention_secs: i64) -> Result<Purged, StoreError> {
        let now = self.now();
        self.store.purge(now.saturating_sub(retention_secs), now).await
    }

    /// Runs the timers for ever.
    pub async fn run_timer(&self, retention_secs: i64) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_purge: Option<Instant> = None;
        loop {
            tick.tick().await;
            if let Err(e) = self.expire_due().await {
                tracing::error!(error = %e, "expiry pass failed");
            }
            if last_purge.is_none_or(|t| t.elapsed() >= RETENTION_EVERY) {
                last_purge = Some(Instant::now());
                match self.purge_history(retention_secs).await {
                    Ok(p) if p.total() > 0 => tracing::info!(?p, "retention: old history deleted"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "retention pass failed"),
                }
            }
        }
    }
}
