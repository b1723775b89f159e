//! The merchant notifications' outbox: which are due, what each attempt
//! did, a resend. Composing and sending one is the notifier's
//! (`crate::notify`), in the order's own dialect.

use super::Domain;
use jiufu_protocol::OrderId;
use jiufu_store::{Merchant, Notification, NotifyAttempt, NotifyNext, Order, StoreError};

impl Domain {
    /// Notifications due now, oldest first, taken for this instance.
    pub async fn due_notifications(&self, limit: usize) -> Result<Vec<Notification>, StoreError> {
        self.store.due_notifications(self.now(), limit).await
    }

    /// The order and merchant a notification is about; `None` (logged)
    /// when either is missing.
    pub async fn notification_subject(&self, n: &Notification) -> Option<(Order, Merchant)> {
        match (self.store.order(&n.order_id).await, self.store.merchant(n.merchant_id).await) {
            (Ok(Some(o)), Ok(Some(m))) => Some((o, m)),
            (o, m) => {
                tracing::error!(order = %n.order_id, ?o, m = ?m.map(|m| m.map(|m| m.id)), "notification without its order or merchant");
                None
            }
        }
    }

    /// Records an attempt and what follows it.
    pub async fn record_attempt(&self, attempt: NotifyAttempt, next: NotifyNext) -> Result<(), StoreError> {
        self.store.record_attempt(attempt, next).await
    }

    /// An order's notification, if it has one.
    pub async fn notification(&self, order: &OrderId) -> Result<Option<Notification>, StoreError> {
        self.store.notification(order).await
    }

    /// Makes an order's notification due now again (the operator's resend).
    pub async fn resend_notification(&self, order: &OrderId) -> Result<(), StoreError> {
        self.store.resend_notification(order, self.now()).await
    }
}
