//! Wire types of the collector ↔ gateway link (see
//! `docs/collector-protocol.md`). The collector only dials out; every
//! request after pairing is signed per device.

use crate::{Channel, Fen, OrderState, sign};
use serde::{Deserialize, Serialize};

pub const HEADER_DEVICE: &str = "x-jiufu-device";
pub const HEADER_TIMESTAMP: &str = "x-jiufu-timestamp";
pub const HEADER_NONCE: &str = "x-jiufu-nonce";
pub const HEADER_SIGNATURE: &str = "x-jiufu-signature";

/// How far a signed request's timestamp may be from the gateway's clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// The signature over one request:
/// `hex(HMAC_SHA256(secret, METHOD "\n" path_and_query "\n" timestamp "\n" nonce "\n" hex(sha256(body))))`.
pub fn request_signature(secret: &str, method: &str, path_and_query: &str, timestamp: i64, nonce: &str, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let body_hash = sign::sha256_hex(body);
    sign::hmac_sha256_hex(
        secret.as_bytes(),
        &[method.as_bytes(), b"\n", path_and_query.as_bytes(), b"\n", ts.as_bytes(), b"\n", nonce.as_bytes(), b"\n", body_hash.as_bytes()],
    )
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairRequest {
    pub token: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairResponse {
    pub device_id: String,
    pub secret: String,
    pub merchant_id: i64,
    pub merchant_name: String,
}

/// A receiving code as the collector holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeWire {
    /// The collector's stable id for this code.
    pub uid: String,
    pub channel: Channel,
    /// The text the QR code encodes (usually a URL).
    pub qr_text: String,
    /// A fixed-amount code carries its own amount.
    #[serde(default)]
    pub amount: Option<Fen>,
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// The full set of a device's codes; the gateway replaces what it had from that device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeSync {
    pub codes: Vec<CodeWire>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeSyncResponse {
    pub accepted: usize,
}

/// An order as the collector needs to see it to match payments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderWire {
    pub order_id: String,
    pub order_no: String,
    pub channel: Channel,
    pub state: OrderState,
    pub order_amount: Fen,
    pub payable_amount: Fen,
    pub subject: String,
    /// Epoch seconds.
    pub created_at: i64,
    pub expire_at: i64,
    /// Until when a late payment of this amount still belongs to this order.
    pub quarantine_until: i64,
    #[serde(default)]
    pub claimed_at: Option<i64>,
    /// The merchant protocol the order came through (absent from older gateways).
    #[serde(default)]
    pub dialect: crate::Dialect,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrdersSnapshot {
    /// Pass as `after` to `/events` to receive every change since this snapshot.
    pub cursor: i64,
    pub orders: Vec<OrderWire>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderEvent {
    pub seq: i64,
    pub order: OrderWire,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventBatch {
    pub events: Vec<OrderEvent>,
    /// The cursor to use for the next poll.
    pub cursor: i64,
}

/// What the collector saw that proves a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The collector's id of the observation (stable across retries).
    pub observation_id: String,
    pub source: String,
    /// Epoch milliseconds.
    pub observed_at: i64,
    #[serde(default)]
    pub raw_text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmRequest {
    pub order_id: String,
    pub channel: Channel,
    /// The amount actually paid (must equal the order's payable amount).
    pub amount: Fen,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmResponse {
    pub order_id: String,
    pub state: OrderState,
    /// True when this confirmation had already been accepted before.
    pub duplicate: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RejectRequest {
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnmatchedReport {
    pub channel: Channel,
    pub amount: Fen,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: String,
    pub online: bool,
    /// Epoch milliseconds of the last sign of life, if any.
    #[serde(default)]
    pub last_seen: Option<i64>,
    /// Channels this source can see payments for.
    #[serde(default)]
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// Epoch seconds on the gateway, so a collector can notice clock skew.
    pub server_time: i64,
}

/// Error body of every collector endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_every_part() {
        let base = request_signature("s", "POST", "/x", 1, "n", b"{}");
        assert_eq!(base.len(), 64);
        assert_ne!(base, request_signature("s", "GET", "/x", 1, "n", b"{}"));
        assert_ne!(base, request_signature("s", "POST", "/y", 1, "n", b"{}"));
        assert_ne!(base, request_signature("s", "POST", "/x", 2, "n", b"{}"));
        assert_ne!(base, request_signature("s", "POST", "/x", 1, "m", b"{}"));
        assert_ne!(base, request_signature("s", "POST", "/x", 1, "n", b"[]"));
        assert_ne!(base, request_signature("t", "POST", "/x", 1, "n", b"{}"));
    }
}
