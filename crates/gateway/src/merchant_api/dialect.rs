//! The native 就付 API as one more dialect: its notification (a GET of
//! `notify_url` with the seed's four parameters and the
//! `X-Jiufu-Signature` header, acknowledged by the body `success`), its
//! return link, its settings block and its error envelope.

use crate::Shared;
use crate::dialect::{Ack, Outgoing, ShopDialect, append_query};
use crate::error::ApiError;
use axum::Router;
use axum::response::{IntoResponse, Response};
use jiufu_protocol::{Dialect, sign};
use jiufu_store::{Merchant, Order};
use std::fmt::Write;

/// Covers amount and state, which the seed's sign does not.
pub const SIGNATURE_HEADER: &str = "X-Jiufu-Signature";

/// The 就付 merchant API.
pub struct Native;

impl ShopDialect for Native {
    fn ids(&self) -> &'static [Dialect] {
        &[Dialect::Jiufu]
    }

    fn routes(&self) -> Router<Shared> {
        super::routes()
    }

    fn notification(&self, order: &Order, key: &str, at: i64) -> Result<Outgoing, String> {
        Ok(notification(order, key, at))
    }

    fn return_link(&self, order: &Order, _key: &str) -> Result<String, String> {
        Ok(return_url(order))
    }

    fn settings(&self, base: &str, merchant: &Merchant) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "就付接口 Jiufu API");
        let _ = writeln!(s, "  网关地址 gateway URL : {base}/gateway");
        let _ = writeln!(s, "  商户ID userid        : {}", merchant.id);
        let _ = writeln!(s, "  商户密钥 key         : {}", merchant.key.expose());
        s
    }

    fn caps_payerless(&self) -> bool {
        false
    }

    fn refusal(&self, e: ApiError) -> Response {
        e.into_response()
    }
}

/// The native notification: a GET of [`notify_url`] with the
/// `X-Jiufu-Signature` header, acknowledged by the body `success`.
pub fn notification(order: &Order, key: &str, at: i64) -> Outgoing {
    let url = notify_url(order, key);
    let signature = notify_signature(&url, key, at);
    Outgoing { url, json: None, headers: vec![(SIGNATURE_HEADER, signature)], ack: Ack::OneOf(&["success"]) }
}

/// The notification's query: exactly the seed's four parameters,
/// `order_no=…&amount=…&state=9&sign=md5(userid + order_no + key)`.
pub fn notify_query(order: &Order, key: &str) -> String {
    let sign = sign::order_sign(&order.merchant_id.to_string(), order.order_no.as_str(), key);
    encode(&[("order_no", order.order_no.as_str()), ("amount", &order.order_fen.to_string()), ("state", "9"), ("sign", &sign)])
}

/// `{notify_url}?order_no=…&amount=…&state=9&sign=…` (`&` when the URL has a query).
pub fn notify_url(order: &Order, key: &str) -> String {
    append_query(&order.notify_url, &notify_query(order, key))
}

/// The `X-Jiufu-Signature` of a notification sent as `url` at `t`: an
/// HMAC over everything after the `?`, so amount and state are covered.
pub fn notify_signature(url: &str, key: &str, t: i64) -> String {
    // What the server receives: the query, never a `#fragment`.
    let without_fragment = url.split_once('#').map_or(url, |(u, _)| u);
    let query = without_fragment.split_once('?').map(|(_, q)| q).unwrap_or("");
    sign::jiufu_signature(key.as_bytes(), t, query.as_bytes())
}

/// Where the payer is sent back once paid: `return_url` with `order_no`,
/// `amount` and `state`, and no sign (the payer must never see a
/// credential; merchants confirm through the notification or `/query`).
pub fn return_url(order: &Order) -> String {
    let query = encode(&[("order_no", order.order_no.as_str()), ("amount", &order.order_fen.to_string()), ("state", "9")]);
    append_query(&order.return_url, &query)
}

fn encode(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiufu_protocol::{Channel, Fen, OrderState};

    #[test]
    fn notify_url_follows_the_contract() {
        let order = Order {
            id: jiufu_protocol::OrderId::generate(),
            merchant_id: jiufu_protocol::MerchantId::new(10001).unwrap(),
            order_no: jiufu_protocol::OrderNo::parse("20191118123424").unwrap(),
            subject: String::new(),
            channel: Channel::P901,
            state: OrderState::Confirmed,
            order_fen: Fen(30000),
            payable_fen: Fen(29999),
            code_id: 1,
            qr_text: String::new(),
            notify_url: "https://shop.example.com/n".into(),
            return_url: String::new(),
            ip: String::new(),
            order_time: String::new(),
            created_at: 0,
            expire_at: 0,
            quarantine_until: 0,
            claimed_at: None,
            paid_at: None,
            paid_fen: None,
            confirmed_by: None,
            evidence_id: None,
            notified: false,
            dialect: jiufu_protocol::Dialect::Jiufu,
            shop_data: String::new(),
        };
        assert_eq!(
            notify_url(&order, "Jf8x2kQm9TzR4wLp"),
            "https://shop.example.com/n?order_no=20191118123424&amount=300.00&state=9&sign=d610b8a667e49d3124fbbdd4963fc169"
        );
        // The header covers the exact query sent, amount and state included.
        let url = notify_url(&order, "Jf8x2kQm9TzR4wLp");
        let header = notify_signature(&url, "Jf8x2kQm9TzR4wLp", 1_700_000_000);
        let expected = sign::hmac_sha256_hex(
            b"Jf8x2kQm9TzR4wLp",
            &[b"1700000000.order_no=20191118123424&amount=300.00&state=9&sign=d610b8a667e49d3124fbbdd4963fc169"],
        );
        assert_eq!(header, format!("t=1700000000,v1={expected}"));
        let returned = Order { return_url: "https://shop.example.com/r?x=1".into(), ..order.clone() };
        assert_eq!(return_url(&returned), "https://shop.example.com/r?x=1&order_no=20191118123424&amount=300.00&state=9");
        let with_query = Order { notify_url: "https://shop.example.com/n?a=1".into(), ..order.clone() };
        assert!(notify_url(&with_query, "k").starts_with("https://shop.example.com/n?a=1&order_no="));
        // A fragment stays last, and the signed query is what the server receives.
        let with_fragment = Order { notify_url: "https://shop.example.com/n#x".into(), ..order };
        let url = notify_url(&with_fragment, "k");
        assert!(url.starts_with("https://shop.example.com/n?order_no=") && url.ends_with("#x"), "{url}");
        assert_eq!(notify_signature(&url, "k", 1), notify_signature(url.trim_end_matches("#x"), "k", 1));
    }
}
