//! Merchant notifications: a worker drains the outbox that the move to 9
//! filled in the same transaction. Every attempt is recorded; delivery
//! counts only on HTTP 2xx with the acknowledgement of the order's dialect
//! (the native API's is the body `success`).

use crate::Shared;
use jiufu_protocol::sign;
use jiufu_store::{Notification, NotifyAttempt, NotifyNext, Order};
use std::time::Duration;

/// How many notifications are attempted at once.
const BATCH: usize = 64;
/// How often the outbox is looked at when nothing wakes the worker.
const POLL: Duration = Duration::from_secs(1);
const EXCERPT: usize = 256;
/// Covers amount and state, which the seed's sign does not.
pub const SIGNATURE_HEADER: &str = "X-Jiufu-Signature";

pub async fn run_worker(app: Shared) {
    loop {
        match app.domain.due_notifications(BATCH).await {
            Ok(due) if !due.is_empty() => {
                let full = due.len() == BATCH;
                futures::future::join_all(due.into_iter().map(|n| deliver(&app, n))).await;
                if full {
                    continue;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot read the notification outbox"),
        }
        let _ = tokio::time::timeout(POLL, app.domain.events.notify_wake.notified()).await;
    }
}

/// One notification as it goes out: where, how, and what answer counts
/// as the shop's acknowledgement.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub url: String,
    /// A JSON body to POST (with `Content-Type: application/json`); `None`
    /// sends a GET.
    pub json: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    pub ack: Ack,
}

/// What a 2xx answer's body must be for the notification to count as delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// The trimmed body is one of these words, in any case.
    OneOf(&'static [&'static str]),
}

impl Ack {
    pub fn accepts(self, body: &str) -> bool {
        match self {
            // A byte-order mark (PHP files saved by Windows editors) is not text.
            Ack::OneOf(words) => {
                let body = body.trim().trim_start_matches('\u{feff}').trim();
                words.iter().any(|w| body.eq_ignore_ascii_case(w))
            }
        }
    }
}

/// The native notification: a GET of [`notify_url`] with the
/// `X-Jiufu-Signature` header, acknowledged by the body `success`.
pub fn native(order: &Order, key: &str, at: i64) -> Outgoing {
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
    append(&order.notify_url, &notify_query(order, key))
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
    append(&order.return_url, &query)
}

fn encode(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn append(base: &str, query: &str) -> String {
    crate::shop::append_query(base, query)
}

async fn deliver(app: &Shared, n: Notification) {
    let Some((order, merchant)) = app.domain.notification_subject(&n).await else {
        return;
    };
    let at = app.domain.now();
    let mut attempt = NotifyAttempt {
        order_id: n.order_id.clone(),
        at,
        http_status: None,
        body_excerpt: String::new(),
        error: String::new(),
        delivered: false,
    };
    match crate::shop::notification(&order, merchant.key.expose(), at) {
        Ok(out) => send(app, out, &mut attempt).await,
        Err(e) => attempt.error = e.chars().take(EXCERPT).collect(),
    }
    let attempts = (n.attempts + 1) as usize;
    let next = if attempt.delivered {
        NotifyNext::Delivered
    } else {
        match app.config.notify_schedule.after(attempts) {
            Some(delay) => NotifyNext::RetryAt(app.domain.now() + delay.as_secs() as i64),
            None => NotifyNext::GiveUp,
        }
    };
    tracing::info!(order = %n.order_id, attempt = attempts, delivered = attempt.delivered, status = ?attempt.http_status, error = %attempt.error, ?next, "notification attempt");
    if let Err(e) = app.domain.record_attempt(attempt, next).await {
        tracing::error!(order = %n.order_id, error = %e, "cannot record a notification attempt; it will be retried");
    }
}

async fn send(app: &Shared, out: Outgoing, attempt: &mut NotifyAttempt) {
    // Checked again now, not only at creation: a literal address never
    // meets the resolver that keeps names off private networks, and the
    // operator may have withdrawn JIUFU_ALLOW_PRIVATE_NOTIFY since.
    if let Err(why) = crate::net::check_callback_url(&out.url, app.config.allow_private_notify) {
        attempt.error = format!("not sent: the notify URL {why}").chars().take(EXCERPT).collect();
        return;
    }
    let mut request = match &out.json {
        Some(body) => app.http.post(&out.url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone()),
        None => app.http.get(&out.url),
    };
    for (name, value) in &out.headers {
        request = request.header(*name, value);
    }
    match request.send().await {
        Ok(resp) => {
            let status = resp.status();
            attempt.http_status = Some(i64::from(status.as_u16()));
            match read_limited(resp).await {
                Ok(body) => {
                    attempt.delivered = status.is_success() && out.ack.accepts(&body);
                    attempt.body_excerpt = body.chars().take(EXCERPT).collect();
                }
                Err(e) => attempt.error = format!("reading the body: {e}"),
            }
        }
        Err(e) => attempt.error = describe(&e),
    }
}

/// Reads at most 4 KiB of a response body as text.
async fn read_limited(mut resp: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        buf.extend_from_slice(&chunk);
        if buf.len() >= 4096 {
            buf.truncate(4096);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// What went wrong, without the URL: it carries the notification's sign,
/// which must reach neither logs nor the stored attempt.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let bare = reqwest_without_url(e);
    let mut msg = format!("{kind}: {bare}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    let msg = redact_signs(&msg);
    msg.chars().take(EXCERPT).collect()
}

/// The error's own text with its URL left out.
fn reqwest_without_url(e: &reqwest::Error) -> String {
    let text = e.to_string();
    match e.url() {
        Some(url) => text.replace(&format!(" ({url})"), "").replace(url.as_str(), "[url]"),
        None => text,
    }
}

/// `sign=…` values in any text, replaced with `sign=[redacted]`.
pub fn redact_signs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sign=") {
        let (head, tail) = rest.split_at(at + "sign=".len());
        out.push_str(head);
        out.push_str("[redacted]");
        rest = tail.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '%');
    }
    out.push_str(rest);
    out
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

    #[test]
    fn acknowledgement_rules() {
        let exact = Ack::OneOf(&["ok", "success"]);
        for body in ["ok", " OK\n", "Success", "success"] {
            assert!(exact.accepts(body), "{body:?}");
        }
        for body in ["", "okay", "not ok", "fail", "success!"] {
            assert!(!exact.accepts(body), "{body:?}");
        }
        // 易支付's acknowledgement is the word itself: never a page or a sentence holding it.
        let epay = Ack::OneOf(&["success"]);
        assert!(epay.accepts("success") && epay.accepts("SUCCESS\r\n") && epay.accepts("\u{feff}success"));
        for body in ["unsuccessful", "<html><body>success</body></html>", "Fatal error: … success", "no success"] {
            assert!(!epay.accepts(body), "{body:?}");
        }
    }

    #[test]
    fn signs_are_redacted() {
        assert_eq!(
            redact_signs("error sending request for url (http://x/n?order_no=1&sign=abc123)"),
            "error sending request for url (http://x/n?order_no=1&sign=[redacted])"
        );
        assert_eq!(redact_signs("no sign here"), "no sign here");
    }
}
