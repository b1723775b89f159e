//! Wire types of the collector ↔ gateway link (see
//! `docs/collector-protocol.md`). The collector only dials out; every
//! request after pairing is signed per device.

use crate::{Channel, CollectorErrorCode, Dialect, Fen, OrderId, OrderState, Wire, sign};
use serde::{Deserialize, Serialize};
use std::fmt;

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
///
/// The values a newer gateway may grow (channel, state, amounts, dialect)
/// are [`Wire`]: one this build does not know reads as unknown instead of
/// failing the snapshot or batch, and such an order is never payable here
/// ([`OrderWire::terms`]). The other fields are the order's fixed skeleton:
/// a gateway never drops them or changes their type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderWire {
    pub order_id: OrderId,
    pub order_no: String,
    pub channel: Wire<Channel>,
    pub state: Wire<OrderState>,
    pub order_amount: Wire<Fen>,
    pub payable_amount: Wire<Fen>,
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
    pub dialect: Wire<Dialect>,
}

/// Everything of an order a collector acts on, all known to this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderTerms {
    pub channel: Channel,
    pub state: OrderState,
    pub order_amount: Fen,
    pub payable_amount: Fen,
    pub dialect: Dialect,
}

impl OrderWire {
    /// The order's terms when this build knows every one of them; `None`
    /// (not payable, not confirmable, not rejectable here) otherwise.
    pub fn terms(&self) -> Option<OrderTerms> {
        Some(OrderTerms {
            channel: self.channel.get()?,
            state: self.state.get()?,
            order_amount: self.order_amount.get()?,
            payable_amount: self.payable_amount.get()?,
            dialect: self.dialect.get()?,
        })
    }

    /// The fields whose value this build does not know, by wire name.
    pub fn unknown_fields(&self) -> Vec<&'static str> {
        [
            ("channel", self.channel.is_known()),
            ("state", self.state.is_known()),
            ("order_amount", self.order_amount.is_known()),
            ("payable_amount", self.payable_amount.is_known()),
            ("dialect", self.dialect.is_known()),
        ]
        .into_iter()
        .filter_map(|(name, known)| (!known).then_some(name))
        .collect()
    }
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
    /// The order's state now (a newer gateway's state reads as unknown).
    pub state: Wire<OrderState>,
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

/// What kind of source saw a payment (an observation's `source`, the
/// evidence's `source`) or reports its health (a heartbeat's `kind`),
/// written as the same word as always.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The V免签 phone app's pushes (over the LAN listener).
    Vmq,
    /// SmsForwarder's webhook (over the LAN listener).
    #[serde(rename = "smsforwarder")]
    SmsForwarder,
    /// The generic signed push (over the LAN listener).
    Generic,
    /// The computer's own notification bus.
    Dbus,
    /// The LAN listener itself (it carries the others' traffic).
    Lan,
    /// The operator, by hand (the window or the command line).
    Operator,
}

/// A word that names no [`SourceKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a known source")]
pub struct UnknownSource(pub String);

impl SourceKind {
    pub const ALL: &'static [SourceKind] =
        &[SourceKind::Vmq, SourceKind::SmsForwarder, SourceKind::Generic, SourceKind::Dbus, SourceKind::Lan, SourceKind::Operator];

    /// The name the phone (the V免签 app) goes by in health reports and the window.
    pub const PHONE: &'static str = "phone";

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Vmq => "vmq",
            SourceKind::SmsForwarder => "smsforwarder",
            SourceKind::Generic => "generic",
            SourceKind::Dbus => "dbus",
            SourceKind::Lan => "lan",
            SourceKind::Operator => "operator",
        }
    }

    /// The kind a source's name in health reports stands for: its word,
    /// the word with a qualifier (`smsforwarder:unsigned`), or
    /// [`SourceKind::PHONE`] for the V免签 app.
    pub fn from_name(name: &str) -> Option<SourceKind> {
        let word = name.split(':').next().unwrap_or(name);
        if word == SourceKind::PHONE {
            return Some(SourceKind::Vmq);
        }
        word.parse().ok()
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            SourceKind::Vmq => "手机监控 (V免签)",
            SourceKind::SmsForwarder => "短信转发器 (SmsForwarder)",
            SourceKind::Generic => "通用推送",
            SourceKind::Dbus => "本机通知 (D-Bus)",
            SourceKind::Lan => "局域网监听",
            SourceKind::Operator => "手工录入",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            SourceKind::Vmq => "Phone app (V免签)",
            SourceKind::SmsForwarder => "SmsForwarder",
            SourceKind::Generic => "Generic push",
            SourceKind::Dbus => "Desktop notifications (D-Bus)",
            SourceKind::Lan => "LAN listener",
            SourceKind::Operator => "Entered by hand",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SourceKind {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<SourceKind, UnknownSource> {
        SourceKind::ALL.iter().copied().find(|k| k.as_str() == s).ok_or_else(|| UnknownSource(s.to_owned()))
    }
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
    /// A newer gateway's code this build does not know reads as unknown.
    pub code: Wire<CollectorErrorCode>,
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

    /// `name` as an order id (22 characters).
    fn padded(name: &str) -> String {
        format!("{name:_<22}")
    }

    /// One order of `json`'s fields over a plain known order.
    fn order_json(id: &str, over: serde_json::Value) -> serde_json::Value {
        let mut o = serde_json::json!({"order_id": padded(id), "order_no": format!("no-{id}"), "channel": "P902", "state": 5,
            "order_amount": "8.88", "payable_amount": "8.88", "subject": "VIP", "created_at": 1_700_000_000,
            "expire_at": 1_700_000_300, "quarantine_until": 1_700_001_200, "claimed_at": null, "dialect": "epay"});
        for (k, v) in over.as_object().unwrap() {
            o[k] = v.clone();
        }
        o
    }

    #[test]
    fn a_batch_with_every_unknown_kind_decodes_and_only_the_known_order_has_terms() {
        use serde_json::json;
        let cases = [
            ("known", json!({})),
            ("dialect", json!({"dialect": "alipay_f2f"})),
            ("state", json!({"state": 10})),
            ("state_text", json!({"state": "refunded"})),
            ("channel", json!({"channel": "P905"})),
            ("negative", json!({"payable_amount": "-8.88"})),
            ("zero", json!({"payable_amount": "0.00"})),
            ("overflow", json!({"payable_amount": "99999999999999999999999.00", "order_amount": "10000000.01"})),
            ("fraction", json!({"order_amount": "8.885"})),
            ("number", json!({"payable_amount": 8.88})),
            ("no_dialect", json!({"dialect": null})),
        ];
        let events: Vec<_> =
            cases.iter().enumerate().map(|(i, (id, over))| json!({"seq": i + 1, "order": order_json(id, over.clone())})).collect();
        let batch: EventBatch =
            serde_json::from_value(json!({"events": events, "cursor": cases.len()})).expect("one batch, whatever it holds");
        assert_eq!(batch.events.len(), cases.len());
        let by_id = |id: &str| batch.events.iter().find(|e| e.order.order_id == padded(id)).map(|e| e.order.clone()).unwrap();
        let known = by_id("known");
        assert_eq!(
            known.terms(),
            Some(OrderTerms {
                channel: Channel::P902,
                state: OrderState::CodeIssued,
                order_amount: Fen(888),
                payable_amount: Fen(888),
                dialect: crate::Dialect::Epay
            })
        );
        assert!(known.unknown_fields().is_empty());
        let expect: [(&str, &[&str]); 10] = [
            ("dialect", &["dialect"]),
            ("state", &["state"]),
            ("state_text", &["state"]),
            ("channel", &["channel"]),
            ("negative", &["payable_amount"]),
            ("zero", &["payable_amount"]),
            ("overflow", &["order_amount", "payable_amount"]),
            ("fraction", &["order_amount"]),
            ("number", &["payable_amount"]),
            ("no_dialect", &["dialect"]),
        ];
        for (id, fields) in expect {
            let o = by_id(id);
            assert_eq!(o.terms(), None, "{id} is not payable here");
            assert_eq!(o.unknown_fields(), fields, "{id}");
        }
        assert_eq!(by_id("state").state, Wire::Unknown("10".into()));
        assert_eq!(by_id("channel").channel.unknown(), Some("P905"));
        assert_eq!(by_id("negative").payable_amount.unknown(), Some("-8.88"));
        // An older gateway's order without a dialect is the native API's.
        let mut old = order_json("old", json!({}));
        old.as_object_mut().unwrap().remove("dialect");
        let snap: OrdersSnapshot = serde_json::from_value(json!({"cursor": 1, "orders": [old]})).unwrap();
        assert_eq!(snap.orders[0].terms().map(|t| t.dialect), Some(crate::Dialect::Jiufu));
        // A newer gateway's answer to a confirmation with a state this build does not know.
        let r: ConfirmResponse = serde_json::from_value(json!({"order_id": "x", "state": 11, "duplicate": false})).unwrap();
        assert_eq!(r.state.unknown(), Some("11"));
    }

    #[test]
    fn source_kinds_and_error_codes_are_the_words_on_the_wire() {
        use serde_json::json;
        for k in SourceKind::ALL.iter().copied() {
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
            assert_eq!(k.as_str().parse::<SourceKind>(), Ok(k));
            assert_eq!(SourceKind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(SourceKind::from_name("smsforwarder:unsigned"), Some(SourceKind::SmsForwarder));
        assert_eq!(SourceKind::from_name(SourceKind::PHONE), Some(SourceKind::Vmq));
        assert!("SmsForwarder".parse::<SourceKind>().is_err() && SourceKind::from_name("kdeconnect").is_none());
        let known: ErrorBody = serde_json::from_value(json!({"error": {"code": "already_paid", "message": "m"}})).unwrap();
        assert_eq!(known.error.code, CollectorErrorCode::AlreadyPaid);
        let newer: ErrorBody = serde_json::from_value(json!({"error": {"code": "rate_limited", "message": "m"}})).unwrap();
        assert_eq!(newer.error.code.unknown(), Some("rate_limited"));
        let body = ErrorBody { error: ApiError { code: CollectorErrorCode::WrongState.into(), message: "m".into() } };
        assert_eq!(serde_json::to_value(body).unwrap(), json!({"error": {"code": "wrong_state", "message": "m"}}));
    }
}
