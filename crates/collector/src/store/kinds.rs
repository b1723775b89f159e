//! The words the store keeps as text: an observation's status and a queue
//! item's kind. Each is an enum here, stored, printed and sent to the
//! window as the same lowercase word it always was.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use std::fmt;

/// A word that names no variant of the enum it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{word:?} is not a known {what}")]
pub struct UnknownWord {
    pub what: &'static str,
    pub word: String,
}

/// An enum of fixed lowercase words: `as_str`, `FromStr`, `Display`, serde
/// and SQLite all use the same word.
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

            /// The words of `items` as an SQL list of literals, `'a', 'b'`,
            /// for query text (fixed words, never user input).
            pub fn sql_list(items: &[$name]) -> String {
                items.iter().map(|i| format!("'{}'", i.as_str())).collect::<Vec<_>>().join(", ")
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

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<$name> {
                value.as_str()?.parse().map_err(|e| FromSqlError::Other(Box::new(e)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_text_serde_and_sql() {
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
        assert_eq!(ObservationStatus::sql_list(ObservationStatus::TAKES_ORDER), "'matched', 'confirmed'");
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let back: ObservationStatus = conn.query_row("SELECT ?1", [ObservationStatus::Duplicate], |r| r.get(0)).unwrap();
        assert_eq!(back, ObservationStatus::Duplicate);
        assert!(conn.query_row("SELECT 'weird'", [], |r| r.get::<_, OutboxKind>(0)).is_err());
    }
}
