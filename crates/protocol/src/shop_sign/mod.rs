//! Signatures of the shop protocols the gateway will also speak
//! (`docs/spec/shop-compat.md`): 易支付 (EPay) V1, epusdt classic,
//! GMPay and the V免签 merchant API. All sign a "signing string": every
//! parameter except the signature's own, and except empty ones, sorted by
//! name, joined as `k=v&k=v`.

use crate::sign::{hmac_sha256_hex, md5_hex};
use md5::{Digest, Md5};
use std::collections::HashSet;

/// The most members a JSON body may have: as many as a form may have fields.
pub const MAX_JSON_MEMBERS: usize = 32;

/// True for what a shop's signature can be: 32 (md5) or 64 (HMAC-SHA256)
/// hex digits. Anything else is refused before any merchant is looked up.
pub fn is_hex_digest(text: &str) -> bool {
    matches!(text.len(), 32 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `md5(text + key)` for many keys over one text: the text is hashed once,
/// each key only continues from there. A by-key lookup (epusdt classic,
/// V免签) tries every merchant at the cost of its key, not of the body.
#[derive(Clone)]
pub struct Md5Prefix(Md5);

impl Md5Prefix {
    /// The state after the plain concatenation of `parts`.
    pub fn new(parts: &[&str]) -> Md5Prefix {
        let mut hasher = Md5::new();
        for part in parts {
            hasher.update(part.as_bytes());
        }
        Md5Prefix(hasher)
    }

    /// Lowercase hex `md5(parts… + key)`.
    pub fn with_key(&self, key: &str) -> String {
        let mut hasher = self.0.clone();
        hasher.update(key.as_bytes());
        hex::encode(hasher.finalize())
    }
}

/// `k=v&…` over `params` sorted by name (byte order), leaving out empty
/// values and the names in `unsigned`.
pub fn signing_string<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)], unsigned: &[&str]) -> String {
    let mut kept: Vec<(&str, &str)> =
        params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).filter(|(k, v)| !v.is_empty() && !unsigned.contains(k)).collect();
    kept.sort_unstable();
    kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// 易支付 V1: `md5(signing string without sign, sign_type + key)`, lowercase hex.
pub fn epay_sign<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)], key: &str) -> String {
    md5_hex(&[&signing_string(params, &["sign", "sign_type"]), key])
}

/// epusdt classic: `md5(signing string without signature + token)`.
pub fn epusdt_signature<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)], token: &str) -> String {
    md5_hex(&[&signing_string(params, &["signature"]), token])
}

/// The signing string of an epusdt/GMPay request (without `signature`), built once.
pub fn epusdt_signing_string<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    signing_string(params, &["signature"])
}

/// GMPay (epusdt v2): `hex(HMAC_SHA256(key, signing string without signature))`.
pub fn gmpay_signature<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)], key: &str) -> String {
    hmac_sha256_hex(key.as_bytes(), &[signing_string(params, &["signature"]).as_bytes()])
}

/// V免签 merchant API `createOrder`: `md5(payId + param + type + price + key)`,
/// each as sent.
pub fn vmq_create_order_sign(pay_id: &str, param: &str, kind: &str, price: &str, key: &str) -> String {
    md5_hex(&[pay_id, param, kind, price, key])
}

/// V免签 notification: `md5(payId + param + type + price + reallyPrice + key)`.
pub fn vmq_notify_sign(pay_id: &str, param: &str, kind: &str, price: &str, really_price: &str, key: &str) -> String {
    md5_hex(&[pay_id, param, kind, price, really_price, key])
}

/// V免签 `closeOrder` (`md5(orderId + key)`) and `getState` (`md5(t + key)`).
pub fn vmq_key_sign(text: &str, key: &str) -> String {
    md5_hex(&[text, key])
}

/// Why a JSON body cannot be signed as epusdt signs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonFieldsError {
    #[error("the body is not a JSON object")]
    NotAnObject,
    #[error("{0} is neither a string, a number, a boolean nor null")]
    Nested(String),
    #[error("{0} is given more than once")]
    Repeated(String),
    #[error("the number in {0} is not a plain decimal")]
    BadNumber(String),
    #[error("the body has more than {0} members")]
    TooMany(usize),
}

/// The members of an epusdt/GMPay JSON body as the shop signed them:
/// strings as sent, numbers in canonical shortest form (`10.0` → `10`,
/// `9.90` → `9.9`), booleans as `true`/`false`; null members are left out.
/// A repeated name is refused (a map would keep either value silently),
/// found in linear time; more than [`MAX_JSON_MEMBERS`] members are
/// refused as soon as the one too many is read.
pub fn json_fields(body: &[u8]) -> Result<Vec<(String, String)>, JsonFieldsError> {
    let members = crate::json::members(body, MAX_JSON_MEMBERS).map_err(|e| match e {
        crate::json::MembersError::NotAnObject => JsonFieldsError::NotAnObject,
        crate::json::MembersError::TooMany(n) => JsonFieldsError::TooMany(n),
    })?;
    let mut out: Vec<(String, String)> = Vec::with_capacity(members.len());
    let mut seen: HashSet<String> = HashSet::with_capacity(members.len());
    for (name, raw) in members {
        if !seen.insert(name.clone()) {
            return Err(JsonFieldsError::Repeated(name));
        }
        let text = raw.get().trim();
        let value = match text.as_bytes().first() {
            Some(b'"') => serde_json::from_str::<String>(text).map_err(|_| JsonFieldsError::Nested(name.clone()))?,
            Some(b'n') if text == "null" => continue,
            Some(b't' | b'f') if text == "true" || text == "false" => text.to_owned(),
            Some(b'-' | b'0'..=b'9') => canonical_number(text).ok_or_else(|| JsonFieldsError::BadNumber(name.clone()))?,
            _ => return Err(JsonFieldsError::Nested(name)),
        };
        out.push((name, value));
    }
    Ok(out)
}

/// A JSON number in its shortest decimal form: `10.0` → `10`, `9.90` →
/// `9.9`, `-0.50` → `-0.5`. Exponents are refused (no shop sends them, and
/// their shortest form is ambiguous).
pub fn canonical_number(text: &str) -> Option<String> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !plain(int) || !plain(frac) || (digits.contains('.') && frac.is_empty()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    let zero = int == "0" && frac.is_empty();
    let sign = if zero { "" } else { sign };
    Some(if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") })
}

#[cfg(test)]
mod tests;
