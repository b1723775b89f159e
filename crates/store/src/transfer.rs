//! Everything a gateway database holds, as plain records, for moving a
//! running shop from one backend to another (`jiufu-gateway migrate-data`).

use jiufu_protocol::MerchantId;

use crate::{Code, Device, Merchant, Notification, NotifyAttempt, Order, OrderEvent, UnmatchedPayment};

/// A whole database, read in one consistent pass.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    pub merchants: Vec<Merchant>,
    pub codes: Vec<DumpedCode>,
    pub orders: Vec<DumpedOrder>,
    /// In sequence order; the sequence numbers are kept.
    pub events: Vec<DumpedEvent>,
    pub notifications: Vec<Notification>,
    /// In the order they were made.
    pub attempts: Vec<NotifyAttempt>,
    pub pairing_tokens: Vec<PairingToken>,
    pub devices: Vec<Device>,
    pub nonces: Vec<Nonce>,
    pub unmatched: Vec<UnmatchedPayment>,
}

#[derive(Debug, Clone)]
pub struct DumpedCode {
    pub code: Code,
    /// Replaced by a collector's later sync; kept for the orders that name it.
    pub removed: bool,
}

#[derive(Debug, Clone)]
pub struct DumpedOrder {
    pub order: Order,
    pub slot_held: bool,
    pub evidence_json: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DumpedEvent {
    pub event: OrderEvent,
    pub merchant_id: MerchantId,
}

#[derive(Debug, Clone)]
pub struct PairingToken {
    pub token_hash: String,
    pub merchant_id: MerchantId,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub device_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Nonce {
    pub device_id: String,
    pub nonce: String,
    pub expires_at: i64,
}

/// How many rows of each kind a database holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub merchants: usize,
    pub codes: usize,
    pub orders: usize,
    pub events: usize,
    pub notifications: usize,
    pub attempts: usize,
    pub pairing_tokens: usize,
    pub devices: usize,
    pub nonces: usize,
    pub unmatched: usize,
}

impl Dump {
    pub fn counts(&self) -> Counts {
        Counts {
            merchants: self.merchants.len(),
            codes: self.codes.len(),
            orders: self.orders.len(),
            events: self.events.len(),
            notifications: self.notifications.len(),
            attempts: self.attempts.len(),
            pairing_tokens: self.pairing_tokens.len(),
            devices: self.devices.len(),
            nonces: self.nonces.len(),
            unmatched: self.unmatched.len(),
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} merchants, {} codes, {} orders, {} order events, {} notifications, {} notification attempts, {} pairing tokens, \
             {} devices, {} nonces, {} unmatched payments",
            self.merchants,
            self.codes,
            self.orders,
            self.events,
            self.notifications,
            self.attempts,
            self.pairing_tokens,
            self.devices,
            self.nonces,
            self.unmatched
        )
    }
}
