//! Version skew on the collector link: a value a newer gateway sends that
//! this build does not know (a state, a dialect, a channel, an amount that
//! is no valid [`crate::Fen`]) is read as [`Wire::Unknown`] instead of
//! failing the whole snapshot or event batch. Whoever uses such a value
//! must treat it as "cannot act on this": an order with any unknown part
//! is never payable at this collector (`docs/collector-protocol.md` §7).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The longest text kept of an unknown value, in characters.
pub const UNKNOWN_MAX_CHARS: usize = 40;

/// A value of the collector link as this build read it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Wire<T> {
    Known(T),
    /// What the gateway sent, as text: control characters dropped, at most
    /// [`UNKNOWN_MAX_CHARS`] characters (a longer one ends with `…`).
    Unknown(String),
}

impl<T> Wire<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Wire::Known(v) => Some(v),
            Wire::Unknown(_) => None,
        }
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Wire::Known(_))
    }

    /// The gateway's text of a value this build does not know.
    pub fn unknown(&self) -> Option<&str> {
        match self {
            Wire::Known(_) => None,
            Wire::Unknown(raw) => Some(raw),
        }
    }

    /// An unknown value from its raw text, made printable and short.
    pub fn unknown_from(raw: &str) -> Wire<T> {
        Wire::Unknown(printable(raw))
    }
}

impl<T: Copy> Wire<T> {
    pub fn get(&self) -> Option<T> {
        self.known().copied()
    }
}

impl<T> From<T> for Wire<T> {
    fn from(v: T) -> Wire<T> {
        Wire::Known(v)
    }
}

impl<T: Default> Default for Wire<T> {
    fn default() -> Wire<T> {
        Wire::Known(T::default())
    }
}

/// Equal to a known value only when known and equal: an unknown value
/// equals nothing this build can name.
impl<T: PartialEq> PartialEq<T> for Wire<T> {
    fn eq(&self, other: &T) -> bool {
        self.known().is_some_and(|v| v == other)
    }
}

/// A known value as itself; an unknown one as `unknown(<text>)`.
impl<T: fmt::Display> fmt::Display for Wire<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wire::Known(v) => v.fmt(f),
            Wire::Unknown(raw) => write!(f, "unknown({raw})"),
        }
    }
}

/// A known value is written as the value; an unknown one as its text.
impl<T: Serialize> Serialize for Wire<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Wire::Known(v) => v.serialize(s),
            Wire::Unknown(raw) => s.serialize_str(raw),
        }
    }
}

/// Never fails on a well-formed JSON value: what `T` refuses becomes
/// [`Wire::Unknown`]. (Malformed JSON still fails, as it should.)
impl<'de, T: DeserializeOwned> Deserialize<'de> for Wire<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Wire<T>, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(match T::deserialize(&value) {
            Ok(v) => Wire::Known(v),
            Err(_) => Wire::Unknown(match &value {
                serde_json::Value::String(s) => printable(s),
                other => printable(&other.to_string()),
            }),
        })
    }
}

/// `raw` without control characters, cut to [`UNKNOWN_MAX_CHARS`].
fn printable(raw: &str) -> String {
    let mut chars = raw.chars().filter(|c| !c.is_control());
    let mut out: String = chars.by_ref().take(UNKNOWN_MAX_CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, Dialect, Fen, OrderState};

    fn read<T: DeserializeOwned>(json: &str) -> Wire<T> {
        serde_json::from_str(json).expect("a well-formed value always reads")
    }

    #[test]
    fn known_values_read_as_before_and_everything_else_as_unknown() {
        assert_eq!(read::<OrderState>("5"), Wire::Known(OrderState::CodeIssued));
        assert_eq!(read::<Channel>("\"P902\""), Wire::Known(Channel::P902));
        assert_eq!(read::<Dialect>("\"vmq\""), Wire::Known(Dialect::Vmq));
        assert_eq!(read::<Fen>("\"8.88\""), Wire::Known(Fen(888)));
        for (json, raw) in [("7", "7"), ("\"refunded\"", "refunded"), ("5.0", "5.0"), ("4294967301", "4294967301"), ("null", "null")] {
            assert_eq!(read::<OrderState>(json), Wire::Unknown(raw.into()), "{json}");
        }
        assert_eq!(read::<Channel>("\"P905\""), Wire::Unknown("P905".into()));
        assert_eq!(read::<Channel>("905"), Wire::Unknown("905".into()));
        assert_eq!(read::<Dialect>("\"alipay_f2f\""), Wire::Unknown("alipay_f2f".into()));
        for bad in ["\"-1.00\"", "\"0.00\"", "\"1.005\"", "\"99999999999999999999999\"", "\"10000000.01\"", "8.88", "\"1e3\""] {
            assert!(!read::<Fen>(bad).is_known(), "{bad}");
        }
        assert_eq!(read::<Fen>("12.5"), Wire::Unknown("12.5".into()));
        assert!(serde_json::from_str::<Wire<Fen>>("\"8.8").is_err(), "malformed JSON is no value at all");
    }

    #[test]
    fn unknown_text_is_short_and_printable() {
        let long = format!("\"{}\\n\\u0007{}\"", "x".repeat(30), "y".repeat(100));
        let Wire::Unknown(raw) = read::<Channel>(&long) else { panic!("unknown") };
        assert_eq!(raw.chars().count(), UNKNOWN_MAX_CHARS + 1);
        assert!(raw.ends_with('…') && !raw.chars().any(char::is_control), "{raw}");
        let nested: Wire<OrderState> = read(r#"{"code":10,"name":"refunded"}"#);
        assert_eq!(nested.unknown(), Some(r#"{"code":10,"name":"refunded"}"#));
    }

    #[test]
    fn unknown_equals_nothing_and_shows_itself() {
        let s: Wire<OrderState> = Wire::Unknown("8".into());
        assert!(s != OrderState::Claimed && Wire::Known(OrderState::Claimed) == OrderState::Claimed);
        assert_eq!(s.to_string(), "unknown(8)");
        assert_eq!(Wire::Known(Channel::P901).to_string(), "P901");
        assert_eq!(serde_json::to_string(&Wire::<Channel>::Unknown("P905".into())).unwrap(), "\"P905\"");
        assert_eq!(serde_json::to_string(&Wire::Known(OrderState::Claimed)).unwrap(), "8");
        assert_eq!(Wire::<Dialect>::default(), Wire::Known(Dialect::Jiufu));
    }
}
