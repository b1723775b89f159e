//! The collector's records: what the store keeps and the window, the
//! command line and the gateway link read. Plain data with serde shapes
//! the window relies on; the store (crate-private) maps them to columns.

use crate::Trust;
use jiufu_protocol::collector::SourceKind;
use jiufu_protocol::{Channel, DeviceId, Fen, ObservationId, OrderId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A word that names no variant of the enum it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{word:?} is not a known {what}")]
pub struct UnknownWord {
    pub what: &'static str,
    pub word: String,
}

/// An enum of fixed lowercase words: `as_str`, `FromStr`, `Display` and
/// serde all use the same word (the store maps it to the same column text).
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident ($what:literal) { $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<$name, UnknownWord> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| UnknownWord { what: $what, word: s.to_owned() })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let word = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                word.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

word_enum! {
    /// Where an observation is: `pending → matched → confirmed`, or
    /// `unmatched`, or a `duplicate` of an earlier one.
    ObservationStatus ("payment status") {
        /// Waiting for its order (or, after the grace period, unmatched).
        Pending = "pending",
        /// Matched to an order; its confirmation is queued.
        Matched = "matched",
        /// No order takes it: kept for the operator and reported.
        Unmatched = "unmatched",
        /// The gateway acknowledged its confirmation.
        Confirmed = "confirmed",
        /// The same payment as an earlier observation from another source.
        Duplicate = "duplicate",
    }
}

impl ObservationStatus {
    /// The payment is its order's: matched (being confirmed) or confirmed.
    pub const TAKES_ORDER: &'static [ObservationStatus] = &[ObservationStatus::Matched, ObservationStatus::Confirmed];
    /// Nothing more happens to it: retention may forget it once nothing is queued for it.
    pub const SETTLED: &'static [ObservationStatus] =
        &[ObservationStatus::Confirmed, ObservationStatus::Duplicate, ObservationStatus::Unmatched];

    pub fn takes_order(self) -> bool {
        ObservationStatus::TAKES_ORDER.contains(&self)
    }
}

word_enum! {
    /// What a queued item tells the gateway.
    OutboxKind ("queue item kind") {
        /// This payment is that order's.
        Confirm = "confirm",
        /// The customer's claim of payment was false (8 → 5), with the operator's reason.
        Reject = "reject",
        /// A payment no order takes.
        Unmatched = "unmatched",
    }
}

word_enum! {
    /// Which orders a list shows.
    OrderFilter ("order filter") {
        /// Waiting for money or claimed.
        Open = "open",
        /// Claimed by the customer, and known to this build in every value: claims to act on.
        Claimed = "claimed",
        /// No longer open, or in a state this build does not know.
        History = "history",
        All = "all",
    }
}

word_enum! {
    /// Which payments a list shows.
    PaymentFilter ("payment filter") {
        All = "all",
        /// Matched or confirmed: the payment is its order's.
        Matched = "matched",
        Unmatched = "unmatched",
        Pending = "pending",
        Duplicate = "duplicate",
    }
}

impl PaymentFilter {
    /// Whether a payment in `status` is listed.
    pub fn shows(self, status: ObservationStatus) -> bool {
        match self {
            PaymentFilter::All => true,
            PaymentFilter::Matched => status.takes_order(),
            PaymentFilter::Unmatched => status == ObservationStatus::Unmatched,
            PaymentFilter::Pending => status == ObservationStatus::Pending,
            PaymentFilter::Duplicate => status == ObservationStatus::Duplicate,
        }
    }
}

/// Who saw a payment: the kind of source, and whether it proved who it is
/// (`smsforwarder:unsigned` when it did not). Written as that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeenBy {
    pub kind: SourceKind,
    pub trust: Trust,
}

const UNSIGNED: &str = ":unsigned";

impl SeenBy {
    pub fn new(kind: SourceKind, trust: Trust) -> SeenBy {
        SeenBy { kind, trust }
    }
}

impl From<SourceKind> for SeenBy {
    fn from(kind: SourceKind) -> SeenBy {
        SeenBy { kind, trust: Trust::Authenticated }
    }
}

impl fmt::Display for SeenBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if self.trust == Trust::Unauthenticated {
            f.write_str(UNSIGNED)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for SeenBy {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<SeenBy, UnknownWord> {
        let (word, trust) = match s.strip_suffix(UNSIGNED) {
            Some(word) => (word, Trust::Unauthenticated),
            None => (s, Trust::Authenticated),
        };
        let kind = word.parse().map_err(|_| UnknownWord { what: "source", word: s.to_owned() })?;
        Ok(SeenBy { kind, trust })
    }
}

impl Serialize for SeenBy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SeenBy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SeenBy, D::Error> {
        let word = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        word.parse().map_err(serde::de::Error::custom)
    }
}

/// A payment seen (an observation).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Observation {
    pub id: ObservationId,
    pub source: SeenBy,
    pub channel: Channel,
    pub amount: Fen,
    /// Epoch milliseconds.
    pub observed_at: i64,
    pub app: String,
    pub title: String,
    pub text: String,
    pub status: ObservationStatus,
    pub order_id: Option<OrderId>,
    pub duplicate_of: Option<ObservationId>,
    pub note: String,
}

/// A receiving code the operator added.
#[derive(Debug, Clone, Serialize)]
pub struct Code {
    pub uid: String,
    pub channel: Channel,
    pub qr_text: String,
    pub amount: Option<Fen>,
    pub name: String,
    pub enabled: bool,
}

/// A source's sign of life, by its name (its kind's word).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceHealth {
    pub name: String,
    pub kind: SourceKind,
    pub last_seen: Option<i64>,
    pub errors: i64,
    pub last_error: String,
}

/// An item of the durable queue to the gateway.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub kind: OutboxKind,
    /// The payment it is about (empty for a rejection).
    pub observation_id: String,
    pub order_id: Option<OrderId>,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Why the operator rejected a claim (`reject` items).
    pub reason: String,
    /// When the gateway answered for good (epoch ms); `None` while queued.
    pub done_at: Option<i64>,
    /// The last failure, if any attempt failed.
    pub last_error: String,
}

/// The gateway this collector is paired with, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairing {
    pub gateway: Option<String>,
    pub device_id: Option<DeviceId>,
    pub merchant_id: Option<String>,
    pub merchant_name: Option<String>,
}

impl Pairing {
    pub fn paired(&self) -> bool {
        self.gateway.is_some() && self.device_id.is_some()
    }
}

/// The receiving codes, and whether every change reached the gateway.
#[derive(Debug, Clone)]
pub struct Codes {
    pub codes: Vec<Code>,
    pub synced: bool,
}

/// The collector at a glance: what waits, what came in, what is queued.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Orders waiting for money (claimed ones included).
    pub open: usize,
    /// Orders whose customer says they paid.
    pub claimed: usize,
    /// Payments matched to orders since the time asked about: how many, and their total.
    pub takings_count: i64,
    pub takings_total: Fen,
    /// Items waiting for delivery to the gateway.
    pub queued: i64,
    /// The latest payments, newest first.
    pub recent: Vec<Observation>,
    /// Each source's stored health.
    pub sources: Vec<SourceHealth>,
}

/// The window's own preferences, kept with the collector's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiPrefs {
    /// `zh-CN` or `en`.
    pub language: String,
    pub start_minimised: bool,
    pub autostart: bool,
}

impl UiPrefs {
    pub const LANGUAGES: [&'static str; 2] = ["zh-CN", "en"];
}

impl Default for UiPrefs {
    fn default() -> UiPrefs {
        UiPrefs { language: "zh-CN".into(), start_minimised: false, autostart: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_text_and_serde() {
        for s in ObservationStatus::ALL.iter().copied() {
            assert_eq!(s.as_str().parse::<ObservationStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
            assert_eq!(serde_json::from_value::<ObservationStatus>(serde_json::json!(s.as_str())).unwrap(), s);
        }
        for k in OutboxKind::ALL.iter().copied() {
            assert_eq!(k.to_string().parse::<OutboxKind>(), Ok(k));
        }
        assert!("Matched".parse::<ObservationStatus>().is_err());
        assert!(serde_json::from_value::<OutboxKind>(serde_json::json!("nope")).is_err());
        assert!("confirmed".parse::<PaymentFilter>().is_err() && "bogus".parse::<OrderFilter>().is_err());
        assert!(PaymentFilter::Matched.shows(ObservationStatus::Confirmed) && !PaymentFilter::Matched.shows(ObservationStatus::Pending));
    }

    #[test]
    fn who_saw_a_payment_reads_and_writes_as_before() {
        for text in ["vmq", "smsforwarder", "smsforwarder:unsigned", "generic", "dbus", "operator"] {
            let seen: SeenBy = text.parse().unwrap();
            assert_eq!(seen.to_string(), text);
            assert_eq!(serde_json::to_value(seen).unwrap(), serde_json::json!(text));
        }
        assert_eq!("smsforwarder:unsigned".parse::<SeenBy>().unwrap().trust, Trust::Unauthenticated);
        assert!("kdeconnect".parse::<SeenBy>().is_err() && "vmq:signed".parse::<SeenBy>().is_err());
    }
}
