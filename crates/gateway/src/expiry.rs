//! The timers: once a second, open orders whose time is up become expired
//! and quarantined amounts whose window is over come free; once an hour,
//! history older than the retention period is deleted.

use crate::{Shared, clock};
use std::time::{Duration, Instant};

const RETENTION_EVERY: Duration = Duration::from_secs(3600);

pub async fn run_timer(app: Shared) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge: Option<Instant> = None;
    loop {
        tick.tick().await;
        let now = clock::now();
        match app.store.expire_due(now).await {
            Ok(expired) if !expired.is_empty() => {
                tracing::info!(count = expired.len(), "orders expired");
                app.orders_changed();
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "expiry pass failed"),
        }
        if last_purge.is_none_or(|t| t.elapsed() >= RETENTION_EVERY) {
            last_purge = Some(Instant::now());
            match app.store.purge(now.saturating_sub(app.config.retention_secs), now).await {
                Ok(p) if p.total() > 0 => tracing::info!(?p, "retention: old history deleted"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention pass failed"),
            }
        }
    }
}
