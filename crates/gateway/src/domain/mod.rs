//! The gateway's domain: the money rules and every operation on orders,
//! merchants and devices. The command line and every HTTP handler (the
//! native API, the shop dialects, the checkout page, the collector link)
//! parse their input, call these, and render the answer; none of them
//! reaches the store itself.
//!
//! Nothing here knows HTTP, a dialect's wire shape or a storage backend:
//! refusals are the domain's own enums, which each edge maps into its own
//! error shape, and the time comes from an injected [`Clock`].

pub mod actors;
pub mod amount;
mod clock;
pub mod devices;
pub mod expiry;
mod merchant_cache;
pub mod merchants;
pub mod notifications;
pub mod order;

#[cfg(test)]
mod tests;

pub use clock::Clock;
pub use devices::{DeviceHealth, DeviceRefused, MonitorState};
pub use merchants::{MerchantAdded, NewMerchantRequest, SettingRefused, SettingsChange};
pub use order::{ClaimRefused, CreateRefused, NewOrderRequest, PaymentRefused, SeenPayment, ValidOrder};

use jiufu_store::Store;
use std::sync::Arc;
use tokio::sync::{Notify, watch};

/// The operator's settings the domain's rules read.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Callbacks may name private addresses (`JIUFU_ALLOW_PRIVATE_NOTIFY`).
    pub allow_private_notify: bool,
    /// How long after its last heartbeat a collector counts as online.
    pub collector_online_secs: i64,
}

/// Who hears of committed changes: collectors' long polls and the notifier.
#[derive(Default)]
pub struct Events {
    /// Bumped after every committed change of any order, so long polls wake.
    pub order_changes: watch::Sender<u64>,
    /// Wakes the notification worker when a new notification is due now.
    pub notify_wake: Notify,
}

impl Events {
    /// Tells waiting collectors and the notifier that orders changed.
    pub fn orders_changed(&self) {
        self.order_changes.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// The domain as a sub-state of the gateway's `App`.
pub struct Domain {
    store: Arc<dyn Store>,
    pub clock: Clock,
    pub events: Events,
    pub policy: Policy,
    merchants: merchant_cache::MerchantCache,
}

impl Domain {
    pub fn new(store: Arc<dyn Store>, clock: Clock, policy: Policy) -> Domain {
        Domain { store, clock, events: Events::default(), policy, merchants: merchant_cache::MerchantCache::default() }
    }

    /// Now, by the domain's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A counter that moves when another process sharing the store commits
    /// a change of an order (see `Store::changes`).
    pub fn other_writers(&self) -> Option<watch::Receiver<u64>> {
        self.store.changes()
    }
}
