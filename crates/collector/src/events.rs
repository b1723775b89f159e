//! What the core tells a window about: the desktop app turns these into
//! screen refreshes and desktop notifications; the headless binary ignores
//! them. They are hints, not records: the store stays the truth.

use jiufu_protocol::{Channel, Fen, ObservationId, OrderId};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CoreEvent {
    /// New or changed orders arrived from the gateway.
    OrdersChanged,
    /// A customer pressed "I have paid" (5 → 8): the operator may need to confirm.
    OrderClaimed {
        order_id: OrderId,
        order_no: String,
        channel: Channel,
        amount: Fen,
    },
    PaymentMatched {
        observation: ObservationId,
        order_id: OrderId,
        channel: Channel,
        amount: Fen,
    },
    PaymentUnmatched {
        observation: ObservationId,
        channel: Channel,
        amount: Fen,
    },
    /// A payment was recorded but is still waiting (or a duplicate).
    PaymentsChanged,
    /// Something queued reached the gateway.
    Delivered,
    /// The gateway refused something queued (`code` is its error code).
    Refused {
        what: String,
        order_id: Option<OrderId>,
        code: String,
    },
    CodesChanged,
    SourceOffline {
        source: String,
    },
    SourceOnline {
        source: String,
    },
    /// Settings or pairing changed.
    SettingsChanged,
}
