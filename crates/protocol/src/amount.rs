//! Money as an integer number of fen (0.01 yuan). Parsed from decimal text
//! exactly; never a binary float.

use serde::{Serialize, Serializer};
use std::fmt;

/// An amount of money in fen (1 yuan = 100 fen).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(pub i64);

/// Largest amount any order may carry: 10 million yuan.
pub const MAX_FEN: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error("amount must be a plain decimal number like 12.34")]
    Format,
    #[error("amount has more than 2 decimal places")]
    TooPrecise,
    #[error("amount must be greater than 0")]
    NotPositive,
    #[error("amount is too large")]
    TooLarge,
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Parses decimal yuan text such as `12`, `12.3`, `12.34`.
    ///
    /// Only ASCII digits with an optional `.` and at most two fractional
    /// digits are accepted: no sign, exponent, spaces, separators or
    /// full-width digits. The result is strictly positive.
    pub fn parse_yuan(text: &str) -> Result<Fen, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if text.starts_with('-') && text.len() > 1 && text[1..].bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(AmountError::NotPositive);
        }
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Format);
        }
        let frac = match frac_part {
            None => 0,
            Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(AmountError::Format);
            }
            Some(f) if f.len() > 2 => {
                // "1.000" is still two decimals' worth of value, but the
                // contract says at most two digits are written.
                return Err(AmountError::TooPrecise);
            }
            Some(f) => {
                let v: i64 = f.parse().map_err(|_| AmountError::Format)?;
                if f.len() == 1 { v * 10 } else { v }
            }
        };
        let digits = int_part.trim_start_matches('0');
        if digits.len() > 12 {
            return Err(AmountError::TooLarge);
        }
        let yuan: i64 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| AmountError::Format)? };
        let fen = yuan.checked_mul(100).and_then(|v| v.checked_add(frac)).ok_or(AmountError::TooLarge)?;
        if fen <= 0 {
            return Err(AmountError::NotPositive);
        }
        if fen > MAX_FEN {
            return Err(AmountError::TooLarge);
        }
        Ok(Fen(fen))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// A JSON number with exactly two decimals (`12.30`).
    pub fn json(self) -> YuanNumber {
        YuanNumber(self)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Serializes as a JSON *number* written with two decimals, e.g. `300.00`,
/// exactly as the seed document shows amounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YuanNumber(pub Fen);

impl Serialize for YuanNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.0.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// Serializes as the string `12.30`, for wire formats that carry amounts as text.
impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Fen {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Fen::parse_yuan(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(Fen::parse_yuan("300.00"), Ok(Fen(30000)));
        assert_eq!(Fen::parse_yuan("0.01"), Ok(Fen(1)));
        assert_eq!(Fen::parse_yuan("1.1"), Ok(Fen(110)));
        assert_eq!(Fen::parse_yuan("7"), Ok(Fen(700)));
        assert_eq!(Fen::parse_yuan("007.50"), Ok(Fen(750)));
        assert_eq!(Fen::parse_yuan("10000000"), Ok(Fen(MAX_FEN)));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in ["1.001", "1e3", "NaN", "inf", "１.００", " 1", "1 ", "1,000", ".5", "5.", "+1", "0x10", "1.-1", "¥1"] {
            assert!(Fen::parse_yuan(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(Fen::parse_yuan("1.001"), Err(AmountError::TooPrecise));
        assert_eq!(Fen::parse_yuan("-1"), Err(AmountError::NotPositive));
        assert_eq!(Fen::parse_yuan("0"), Err(AmountError::NotPositive));
        assert_eq!(Fen::parse_yuan("0.00"), Err(AmountError::NotPositive));
        assert_eq!(Fen::parse_yuan(""), Err(AmountError::Empty));
        assert_eq!(Fen::parse_yuan("10000000.01"), Err(AmountError::TooLarge));
        assert_eq!(Fen::parse_yuan("99999999999999999999999"), Err(AmountError::TooLarge));
    }

    #[test]
    fn formats_two_decimals() {
        assert_eq!(Fen(30000).to_string(), "300.00");
        assert_eq!(Fen(1).to_string(), "0.01");
        assert_eq!(Fen(-250).to_string(), "-2.50");
        assert_eq!(serde_json::to_string(&Fen(999).json()).unwrap(), "9.99");
        assert_eq!(serde_json::to_string(&Fen(999)).unwrap(), "\"9.99\"");
    }
}
