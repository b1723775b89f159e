//! Identifiers: the merchant's number, the merchant's order number (both
//! parsed) and the gateway's unguessable order id. Each is only ever made
//! by parsing (or generating), so a value of one of these types has passed
//! its rules; reading one back from storage or JSON parses it again.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `count` random bytes from the OS generator, as URL-safe base64.
pub fn random_token(count: usize) -> String {
    let mut bytes = vec![0u8; count];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A merchant's number (the 就付 API's `userid`, 易支付's `pid`): a
/// positive whole number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct MerchantId(i64);

impl MerchantId {
    /// Decimal digits only (no sign, no spaces), at most 18 of them, not 0.
    pub fn parse(text: &str) -> Option<MerchantId> {
        if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<i64>().ok().and_then(MerchantId::new)
    }

    pub fn new(value: i64) -> Option<MerchantId> {
        (value > 0).then_some(MerchantId(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for MerchantId {
    type Error = &'static str;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        MerchantId::new(value).ok_or("a merchant id is a positive whole number")
    }
}

/// For the operator's command line: any positive 64-bit number, as the
/// CLI took before ids were typed (the merchant API's `userid` is
/// stricter: [`MerchantId::parse`]).
impl std::str::FromStr for MerchantId {
    type Err = &'static str;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<i64>().ok().and_then(MerchantId::new).ok_or("a merchant id is a positive whole number")
    }
}

impl From<MerchantId> for i64 {
    fn from(id: MerchantId) -> i64 {
        id.0
    }
}

impl fmt::Display for MerchantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The merchant's own order number: 1–64 characters of `[A-Za-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderNo(String);

impl OrderNo {
    pub fn parse(text: &str) -> Result<OrderNo, &'static str> {
        if text.is_empty() || text.len() > 64 {
            return Err("order_no must be 1-64 characters");
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err("order_no may contain only A-Z a-z 0-9 _ -");
        }
        Ok(OrderNo(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderNo {
    type Error = &'static str;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        OrderNo::parse(&text)
    }
}

impl From<OrderNo> for String {
    fn from(no: OrderNo) -> String {
        no.0
    }
}

impl PartialEq<str> for OrderNo {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl fmt::Display for OrderNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The gateway's order id: 22 URL-safe characters of 4 bytes of creation
/// time (seconds) then 96 random bits. The time prefix keeps ids of one
/// second together in the database's index (cheap inserts); the random part
/// keeps them unguessable.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(String);

impl OrderId {
    pub fn generate() -> OrderId {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as u32;
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&secs.to_be_bytes());
        rand::rng().fill_bytes(&mut bytes[4..]);
        // The first character is that of the time's top bits: a letter for
        // centuries, never `-`, so an id is never mistaken for a flag.
        OrderId(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts only what [`OrderId::generate`] can produce, so a lookup
    /// with anything else never reaches storage.
    pub fn parse(text: &str) -> Option<OrderId> {
        (text.len() == 22 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')).then(|| OrderId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderId {
    type Error = &'static str;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        OrderId::parse(&text).ok_or("an order id is 22 characters of A-Z a-z 0-9 _ -")
    }
}

impl From<OrderId> for String {
    fn from(id: OrderId) -> String {
        id.0
    }
}

impl PartialEq<str> for OrderId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<String> for OrderId {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

/// `text` is 1 to `max` characters of `[A-Za-z0-9_-]`.
fn url_safe(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Declares a collector-side string id: made by parsing (or generating),
/// written and read as its plain text.
macro_rules! text_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = &'static str;
            fn try_from(text: String) -> Result<Self, Self::Error> {
                $name::parse(&text).ok_or($what)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id! {
    /// A paired collector device, as the gateway named it at pairing
    /// (`dev_` and 16 random characters): 1 to 64 characters of `[A-Za-z0-9_-]`.
    DeviceId, "a device id is 1-64 characters of A-Z a-z 0-9 _ -"
}

impl DeviceId {
    pub fn generate() -> DeviceId {
        DeviceId(format!("dev_{}", random_token(12)))
    }

    pub fn parse(text: &str) -> Option<DeviceId> {
        url_safe(text, 64).then(|| DeviceId(text.to_owned()))
    }
}

text_id! {
    /// A payment a collector saw (an observation): `obs_` and 16 random
    /// characters when this collector made it; read back, `obs_` and 1 to
    /// 64 characters of `[A-Za-z0-9_-]`. Stable across retries: the gateway
    /// takes one confirmation per observation.
    ObservationId, "an observation id is obs_ and 1-64 characters of A-Z a-z 0-9 _ -"
}

impl ObservationId {
    pub fn generate() -> ObservationId {
        ObservationId(format!("obs_{}", random_token(12)))
    }

    pub fn parse(text: &str) -> Option<ObservationId> {
        text.strip_prefix("obs_").is_some_and(|rest| url_safe(rest, 64)).then(|| ObservationId(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_no_rules() {
        assert!(OrderNo::parse("20191118123424").is_ok());
        assert!(OrderNo::parse("A-77_b").is_ok());
        assert!(OrderNo::parse(&"x".repeat(64)).is_ok());
        for bad in ["", "a b", "a'b", "<x>", "订单", &"x".repeat(65)] {
            assert!(OrderNo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn merchant_id_rules() {
        assert_eq!(MerchantId::parse("10001").map(MerchantId::get), Some(10001));
        for bad in ["", "0", "-1", "+1", " 1", "1.0", "１", &"9".repeat(19)] {
            assert!(MerchantId::parse(bad).is_none(), "{bad}");
        }
        assert!(MerchantId::new(0).is_none());
    }

    #[test]
    fn ids_read_back_from_json_are_parsed_again() {
        let no: OrderNo = serde_json::from_str(r#""A-1""#).unwrap();
        assert_eq!(serde_json::to_string(&no).unwrap(), r#""A-1""#);
        assert!(serde_json::from_str::<OrderNo>(r#""a b""#).is_err());
        assert!(serde_json::from_str::<OrderId>(r#""short""#).is_err());
        assert!(serde_json::from_str::<MerchantId>("0").is_err());
        assert_eq!(serde_json::to_string(&MerchantId::new(7).unwrap()).unwrap(), "7");
    }

    #[test]
    fn order_ids_are_long_and_distinct() {
        let a = OrderId::generate();
        let b = OrderId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22);
        assert!(OrderId::parse(a.as_str()).is_some());
        assert!(OrderId::parse("1").is_none());
        // a leading '-' would read as a flag in `jiufu-gateway order show ID`
        assert!((0..20_000).all(|_| !OrderId::generate().as_str().starts_with('-')));
    }

    #[test]
    fn collector_ids_are_parsed_and_generated_in_their_own_shape() {
        let dev = DeviceId::generate();
        assert!(dev.as_str().starts_with("dev_") && dev.as_str().len() == 20);
        assert_eq!(DeviceId::parse(dev.as_str()), Some(dev));
        for bad in ["", "dev 1", "dev/1", "设备", &"d".repeat(65)] {
            assert!(DeviceId::parse(bad).is_none(), "{bad}");
        }
        let obs = ObservationId::generate();
        assert!(obs.as_str().starts_with("obs_") && obs.as_str().len() == 20);
        assert_eq!(serde_json::from_value::<ObservationId>(serde_json::to_value(&obs).unwrap()).unwrap(), obs);
        for bad in ["", "obs_", "x", "obs-1", "obs_a b", "obs_'; --"] {
            assert!(ObservationId::parse(bad).is_none(), "{bad}");
        }
        assert!(serde_json::from_str::<ObservationId>(r#""nope""#).is_err());
        let id = OrderId::generate();
        let text: String = id.to_string();
        assert!(id == text, "an order id equals its text");
    }
}
