//! Signatures of every protocol Jiufu speaks. Verification is always
//! constant-time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Lowercase hex md5 of the plain concatenation of `parts`.
pub fn md5_hex(parts: &[&str]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// `md5(userid + order_no + order_type + amount + return_url + key)`.
pub fn create_order_sign(userid: &str, order_no: &str, order_type: &str, amount: &str, return_url: &str, key: &str) -> String {
    md5_hex(&[userid, order_no, order_type, amount, return_url, key])
}

/// `md5(userid + order_no + key)`: merchant lookups and payment notifications.
pub fn order_sign(userid: &str, order_no: &str, key: &str) -> String {
    md5_hex(&[userid, order_no, key])
}

/// V免签 heartbeat: `md5(t + key)`.
pub fn vmq_heart_sign(t: &str, key: &str) -> String {
    md5_hex(&[t, key])
}

/// V免签 payment push: `md5(type + price + t + key)`, price as sent.
pub fn vmq_push_sign(kind: &str, price: &str, t: &str, key: &str) -> String {
    md5_hex(&[kind, price, t, key])
}

/// SmsForwarder: `base64(HMAC_SHA256(secret, timestamp + "\n" + secret))`.
pub fn smsforwarder_sign(timestamp: &str, secret: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b"\n");
    mac.update(secret.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Lowercase hex HMAC-SHA256 of the concatenation of `parts`.
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// `t={t},v1={hex(HMAC_SHA256(key, t + "." + payload))}`: the
/// `X-Jiufu-Signature` header of merchant notifications and generic pushes.
pub fn jiufu_signature(key: &[u8], t: i64, payload: &[u8]) -> String {
    let t = t.to_string();
    format!("t={t},v1={}", hmac_sha256_hex(key, &[t.as_bytes(), b".", payload]))
}

/// Lowercase hex sha256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Constant-time comparison of two hex digests, ignoring ASCII case.
pub fn hex_digest_eq(expected: &str, given: &str) -> bool {
    if expected.len() != given.len() {
        return false;
    }
    let a: Vec<u8> = expected.bytes().map(|b| b.to_ascii_lowercase()).collect();
    let b: Vec<u8> = given.bytes().map(|b| b.to_ascii_lowercase()).collect();
    a.ct_eq(&b).into()
}

/// Constant-time comparison of two byte strings, case-sensitive.
pub fn bytes_eq(expected: &[u8], given: &[u8]) -> bool {
    expected.len() == given.len() && bool::from(expected.ct_eq(given))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> toml::Table {
        // The contract's vectors (docs/spec/vectors.toml), built into the test.
        include_str!("../../../docs/spec/vectors.toml").parse().expect("docs/spec/vectors.toml parses")
    }

    fn s<'a>(t: &'a toml::Table, section: &str, key: &str) -> &'a str {
        let mut cur = t;
        for part in section.split('.') {
            cur = cur[part].as_table().unwrap();
        }
        cur[key].as_str().unwrap()
    }

    #[test]
    fn gateway_vectors() {
        let v = vectors();
        for section in ["gateway.create", "gateway.create_empty_return"] {
            let got = create_order_sign(
                s(&v, section, "userid"),
                s(&v, section, "order_no"),
                s(&v, section, "order_type"),
                s(&v, section, "amount"),
                s(&v, section, "return_url"),
                s(&v, section, "key"),
            );
            assert_eq!(got, s(&v, section, "sign"), "{section}");
        }
        let sec = "gateway.lookup_and_notify";
        assert_eq!(order_sign(s(&v, sec, "userid"), s(&v, sec, "order_no"), s(&v, sec, "key")), s(&v, sec, "sign"));
    }

    #[test]
    fn collector_source_vectors() {
        let v = vectors();
        assert_eq!(vmq_heart_sign(s(&v, "vmq.app_heart", "t"), s(&v, "vmq.app_heart", "key")), s(&v, "vmq.app_heart", "sign"));
        let p = "vmq.app_push";
        assert_eq!(vmq_push_sign(s(&v, p, "type"), s(&v, p, "price"), s(&v, p, "t"), s(&v, p, "key")), s(&v, p, "sign"));
        let c = "vmq.create_order";
        assert_eq!(
            md5_hex(&[s(&v, c, "payId"), s(&v, c, "param"), s(&v, c, "type"), s(&v, c, "price"), s(&v, c, "key")]),
            s(&v, c, "sign")
        );
        assert_eq!(smsforwarder_sign(s(&v, "smsforwarder", "timestamp"), s(&v, "smsforwarder", "secret")), s(&v, "smsforwarder", "sign"));
    }

    #[test]
    fn digest_comparison() {
        assert!(hex_digest_eq("abcdef", "ABCDEF"));
        assert!(!hex_digest_eq("abcdef", "abcde0"));
        assert!(!hex_digest_eq("abcdef", "abcde"));
    }
}
