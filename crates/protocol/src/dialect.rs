//! The merchant protocol an order was created through: the native 就付 API
//! or one of the shop protocols of `shop-compat.md`. An order remembers it
//! for its notification, its acknowledgement rule and its return redirect.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// The 就付 merchant API (`gateway-api.md`).
    #[default]
    Jiufu,
    /// 易支付 (EPay) V1: `/submit.php`, `/mapi.php`, `/api.php`.
    Epay,
    /// epusdt classic: `/api/v1/order/create-transaction`.
    Epusdt,
    /// GMPay (epusdt v2): `/payments/gmpay/v1/order/create-transaction`.
    Gmpay,
    /// The V免签 merchant API: `/createOrder` and friends.
    Vmq,
}

/// Each dialect's stored name and its names for people, in one table.
const NAMES: [(Dialect, &str, &str, &str); 5] = [
    (Dialect::Jiufu, "jiufu", "就付接口", "Jiufu API"),
    (Dialect::Epay, "epay", "易支付 V1", "EPay V1 (易支付)"),
    (Dialect::Epusdt, "epusdt", "epusdt", "epusdt"),
    (Dialect::Gmpay, "gmpay", "GMPay (epusdt v2)", "GMPay (epusdt v2)"),
    (Dialect::Vmq, "vmq", "V免签", "V免签 (VMQ)"),
];

impl Dialect {
    pub const ALL: [Dialect; 5] = [Dialect::Jiufu, Dialect::Epay, Dialect::Epusdt, Dialect::Gmpay, Dialect::Vmq];

    fn names(self) -> (&'static str, &'static str, &'static str) {
        // Every dialect is in the table (checked by a test).
        NAMES.iter().find(|n| n.0 == self).map_or(("", "", ""), |n| (n.1, n.2, n.3))
    }

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        self.names().0
    }

    pub fn parse(s: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn name_zh(self) -> &'static str {
        self.names().1
    }

    pub fn name_en(self) -> &'static str {
        self.names().2
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serialise_as_stored() {
        for d in Dialect::ALL {
            assert_eq!(Dialect::parse(d.as_str()), Some(d));
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{}\"", d.as_str()));
        }
        assert_eq!(Dialect::parse("EPAY"), None);
        for d in Dialect::ALL {
            assert!(!d.as_str().is_empty() && !d.name_zh().is_empty() && !d.name_en().is_empty(), "{d:?} is named");
        }
        assert_eq!(Dialect::default(), Dialect::Jiufu);
    }
}
