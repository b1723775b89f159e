//! The expiry timer: once a second, open orders whose time is up become
//! expired and quarantined amounts whose window is over come free.

use crate::{Shared, clock};
use std::time::Duration;

pub async fn run_timer(app: Shared) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match app.store.expire_due(clock::now()).await {
            Ok(expired) if !expired.is_empty() => {
                tracing::info!(count = expired.len(), "orders expired");
                app.orders_changed();
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "expiry pass failed"),
        }
    }
}
