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

impl Dialect {
    pub const ALL: [Dialect; 5] = [Dialect::Jiufu, Dialect::Epay, Dialect::Epusdt, Dialect::Gmpay, Dialect::Vmq];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Jiufu => "jiufu",
            Dialect::Epay => "epay",
            Dialect::Epusdt => "epusdt",
            Dialect::Gmpay => "gmpay",
            Dialect::Vmq => "vmq",
        }
    }

    pub fn parse(s: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Dialect::Jiufu => "就付接口",
            Dialect::Epay => "易支付 V1",
            Dialect::Epusdt => "epusdt",
            Dialect::Gmpay => "GMPay (epusdt v2)",
            Dialect::Vmq => "V免签",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Dialect::Jiufu => "Jiufu API",
            Dialect::Epay => "EPay V1 (易支付)",
            Dialect::Epusdt => "epusdt",
            Dialect::Gmpay => "GMPay (epusdt v2)",
            Dialect::Vmq => "V免签 (VMQ)",
        }
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
        assert_eq!(Dialect::default(), Dialect::Jiufu);
    }
}
