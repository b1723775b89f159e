//! The LAN listener: the V免签 monitor app protocol (`/appHeart`,
//! `/appPush`, in `vmq`), SmsForwarder webhooks (in `smsforwarder`) and the
//! generic signed push (in `forwarders`).
//!
//! Served through `jiufu_http_guard` (header, request and idle timeouts, a
//! connection cap). Every route: at most [`BODY_LIMIT`] of body, read only after the request
//! passed [`guard`]; browser-originated requests (any `Origin` or
//! `Sec-Fetch-*` header; phone apps send none) refused; senders of bad
//! signatures throttled per address ([`super::throttle`]). Only a verified
//! sign with a fresh time marks a source online.

use super::throttle::Throttle;
use super::{MAX_SKEW_MS, forwarders, smsforwarder, vmq};
use crate::{Collector, now_ms};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiufu_protocol::Channel;
use jiufu_protocol::collector::SourceKind;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Instant;

/// The most body any LAN route reads (checked before any signature).
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the routes share: the core, the bad-sign throttle and the time of
/// the last accepted V免签 heartbeat (heartbeats only move forward).
pub struct Lan {
    pub c: Arc<Collector>,
    pub throttle: Arc<Throttle>,
    pub last_heart: Arc<AtomicI64>,
}

pub type Shared = Arc<Lan>;

/// The LAN listener; bound before it runs so its address can be printed.
pub struct LanListener {
    bound: tokio::sync::Mutex<Option<tokio::net::TcpListener>>,
    /// Kept across restarts of the listener.
    throttle: Arc<Throttle>,
    last_heart: Arc<AtomicI64>,
}

impl LanListener {
    pub fn new(listener: tokio::net::TcpListener) -> LanListener {
        LanListener { bound: tokio::sync::Mutex::new(Some(listener)), throttle: Default::default(), last_heart: Default::default() }
    }

    /// A listener that binds when it runs (its address was taken at start).
    pub fn unbound() -> LanListener {
        LanListener { bound: tokio::sync::Mutex::new(None), throttle: Default::default(), last_heart: Default::default() }
    }
}

#[async_trait::async_trait]
impl super::Source for LanListener {
    fn kind(&self) -> SourceKind {
        SourceKind::Lan
    }

    fn channels(&self) -> Vec<Channel> {
        Vec::new()
    }

    async fn run(&self, c: Arc<Collector>) -> anyhow::Result<()> {
        let listener = match self.bound.lock().await.take() {
            Some(l) => l,
            None => {
                let l = tokio::net::TcpListener::bind(c.config.listen).await?;
                if let Ok(addr) = l.local_addr() {
                    c.publish(|s| s.listening = Some(addr));
                    println!("jiufu-collector listening on http://{addr}");
                }
                l
            }
        };
        let lan = Arc::new(Lan { c, throttle: self.throttle.clone(), last_heart: self.last_heart.clone() });
        // Header, request and idle timeouts and a connection cap; each request carries its peer's address.
        jiufu_http_guard::serve(listener, routes(lan), jiufu_http_guard::Limits::default(), std::future::pending()).await?;
        anyhow::bail!("the LAN listener stopped")
    }
}

pub fn routes(lan: Shared) -> Router {
    Router::new()
        .route("/appHeart", get(vmq::app_heart).post(vmq::app_heart))
        .route("/appPush", get(vmq::app_push).post(vmq::app_push))
        .route("/forward/smsforwarder", get(smsforwarder::webhook).post(smsforwarder::webhook))
        .route("/forward/generic", post(forwarders::generic))
        .layer(axum::middleware::from_fn_with_state(lan.clone(), guard))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(lan)
}

/// How a route answers: the V免签 app's reply, or the forwarders' JSON with an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Vmq,
    Forward,
}

impl Shape {
    fn of(path: &str) -> Shape {
        if path.starts_with("/app") { Shape::Vmq } else { Shape::Forward }
    }

    /// A refusal in this route's own reply shape. V免签 replies keep HTTP
    /// 200 for the app's ordinary errors, as its server does.
    pub fn refuse(self, status: StatusCode, msg: &str) -> Response {
        match self {
            Shape::Vmq => (status, vmq_reply(-1, msg)).into_response(),
            Shape::Forward => (status, Json(json!({"code": -1, "msg": msg}))).into_response(),
        }
    }
}

pub fn vmq_reply(code: i32, msg: &str) -> Json<Value> {
    Json(json!({"code": code, "msg": msg, "data": null}))
}

/// Whether a browser sent this: browsers add `Origin` to cross-site
/// requests and every POST, and `Sec-Fetch-*` to every request; the phone
/// apps send neither.
fn from_browser(headers: &HeaderMap) -> bool {
    headers.keys().any(|k| k == "origin" || k.as_str().starts_with("sec-fetch-"))
}

/// Who sent the request (the IP address), when the server knows.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub IpAddr);

/// Runs before any body is read or any signature computed: refuses
/// browsers and throttled addresses, and notes the sender's address.
async fn guard(State(lan): State<Shared>, mut req: Request, next: Next) -> Response {
    let shape = Shape::of(req.uri().path());
    if from_browser(req.headers()) {
        return shape.refuse(StatusCode::FORBIDDEN, "浏览器请求被拒绝 requests from web browsers are refused");
    }
    let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if lan.throttle.blocked(ip, Instant::now()) {
        return shape.refuse(StatusCode::TOO_MANY_REQUESTS, "签名错误次数过多，请稍后再试 too many bad signatures; try again later");
    }
    req.extensions_mut().insert(Peer(ip));
    next.run(req).await
}

/// A request to a LAN route: its sender, headers, raw body, and the query
/// and (form or JSON) body fields merged. A body over the limit is refused
/// in the route's own shape.
pub struct Push {
    pub peer: IpAddr,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub fields: HashMap<String, String>,
}

impl<S: Send + Sync> FromRequest<S> for Push {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Push, Response> {
        let shape = Shape::of(req.uri().path());
        let peer = req.extensions().get::<Peer>().map(|p| p.0).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let query = req.uri().query().unwrap_or("").to_owned();
        let headers = req.headers().clone();
        let body = match Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(shape.refuse(StatusCode::PAYLOAD_TOO_LARGE, "请求过大 the body is over 64 KiB"));
            }
            Err(_) => return Err(shape.refuse(StatusCode::BAD_REQUEST, "请求无法读取 the body could not be read")),
        };
        let mut fields = fields(&query, &headers, &body);
        if let Some(parts) = multipart(&headers, &body).await {
            fields.extend(parts);
        }
        Ok(Push { peer, headers, body, fields })
    }
}

impl Push {
    /// Counts a bad signature against the sender.
    pub fn bad_sign(&self, lan: &Lan) {
        if lan.throttle.bad_sign(self.peer, Instant::now()) {
            tracing::warn!(peer = %self.peer, "too many bad signatures; refusing this address for a while");
        }
    }
}

/// Query and (for POST) form or JSON fields, merged.
fn fields(query: &str, headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let mut all: HashMap<String, String> = url::form_urlencoded_parse(query.as_bytes()).into_iter().collect();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let json = content_type.contains("json");
    if json {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                all.insert(k, text);
            }
        }
    } else if !body.is_empty() && !content_type.starts_with("multipart/") {
        for (k, v) in url::form_urlencoded_parse(body) {
            all.insert(k, v);
        }
    }
    all
}

/// The text fields of a `multipart/form-data` body (SmsForwarder 2.x).
async fn multipart(headers: &HeaderMap, body: &Bytes) -> Option<Vec<(String, String)>> {
    let ct = headers.get("content-type")?.to_str().ok()?;
    if !ct.starts_with("multipart/form-data") {
        return None;
    }
    let req = axum::http::Request::builder().header("content-type", ct).body(axum::body::Body::from(body.clone())).ok()?;
    let mut form = axum::extract::Multipart::from_request(req, &()).await.ok()?;
    let mut out = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        let Some(name) = field.name().map(str::to_owned) else { continue };
        if let Ok(text) = field.text().await {
            out.push((name, text));
        }
    }
    Some(out)
}

pub mod url {
    /// Decodes an `application/x-www-form-urlencoded` body.
    pub fn form_urlencoded_parse(body: &[u8]) -> Vec<(String, String)> {
        let text = String::from_utf8_lossy(body);
        text.split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(k), decode(v))
            })
            .collect()
    }

    pub fn decode(s: &str) -> String {
        percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
    }
}

/// A time as the protocols write it, canonical: digits only, no sign, no
/// leading zero, at most 15 digits (epoch milliseconds have 13). Any other
/// spelling is refused, so one signed time has one meaning (and one replay key).
pub fn canonical_time(text: &str) -> Option<i64> {
    let canonical = !text.is_empty() && text.len() <= 15 && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    canonical.then(|| text.parse().ok()).flatten()
}

/// Within [`MAX_SKEW_MS`] of our clock.
pub fn fresh(t_ms: i64) -> bool {
    now_ms().abs_diff(t_ms) <= MAX_SKEW_MS as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_one_spelling() {
        assert_eq!(canonical_time("1700000000000"), Some(1_700_000_000_000));
        for bad in ["", "01700000000000", "+1700000000000", "-1700000000000", " 1700000000000", "1700000000000 ", "1.7e12", "0", "0x10"] {
            assert_eq!(canonical_time(bad), None, "{bad:?}");
        }
        assert_eq!(canonical_time("9999999999999999"), None, "too long");
    }

    #[test]
    fn browsers_are_recognised_by_their_headers() {
        let mut h = HeaderMap::new();
        assert!(!from_browser(&h));
        h.insert("user-agent", "okhttp/3.12".parse().unwrap());
        assert!(!from_browser(&h));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(from_browser(&h));
        let mut h = HeaderMap::new();
        h.insert("origin", "null".parse().unwrap());
        assert!(from_browser(&h));
    }
}
