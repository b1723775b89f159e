//! A stand-in gateway speaking the exact collector wire protocol
//! (`docs/collector-protocol.md`): pairing, signed requests checked as the
//! real gateway checks them (HMAC over method, path and query, timestamp,
//! nonce and body hash; ±300 s; each nonce once), the order snapshot, the
//! event long poll, confirmations, unmatched reports, codes and
//! heartbeats. It serves whatever order JSON a test gives it, so a test
//! can send what a *newer* gateway would: states, dialects, channels and
//! amounts the collector under test has never heard of.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jiufu_protocol::collector::{HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, MAX_CLOCK_SKEW_SECS, request_signature};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const DEVICE_ID: &str = "dev_FakeGatewayDev01";
pub const SECRET: &str = "fake-gateway-device-secret-k3Vw2xJt";
pub const TOKEN: &str = "jfp_fake-gateway-one-time-pairing-token";

/// One signed request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    snapshot: Vec<Value>,
    snapshot_cursor: i64,
    events: Vec<(i64, Value)>,
    /// Every request that passed authentication.
    requests: Vec<Request>,
    /// Requests refused for their signature, timestamp or nonce.
    refused: usize,
    nonces: HashSet<String>,
    paired: bool,
}

#[derive(Clone)]
pub struct FakeGateway {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// An order as `/orders` and `/events` carry it: P901, 5.00, state 5,
/// created 10 s ago, then `over`'s fields written over it.
pub fn order(id: &str, over: Value) -> Value {
    let t = now();
    let mut o = json!({"order_id": id, "order_no": format!("no-{id}"), "channel": "P901", "state": 5,
        "order_amount": "5.00", "payable_amount": "5.00", "subject": "VIP", "created_at": t - 10,
        "expire_at": t + 300, "quarantine_until": t + 900, "claimed_at": null, "dialect": "jiufu"});
    for (k, v) in over.as_object().expect("an object of fields") {
        o[k] = v.clone();
    }
    o
}

impl FakeGateway {
    /// Serves `snapshot` (with `cursor`) on a random loopback port.
    pub async fn start(snapshot: Vec<Value>, cursor: i64) -> FakeGateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake gateway");
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Mutex::new(Inner { snapshot, snapshot_cursor: cursor, ..Default::default() }));
        let app = Router::new().route("/collector/v1/pair", axum::routing::post(pair)).fallback(signed).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeGateway { inner, url: format!("http://{addr}") }
    }

    /// A change of `order` as the next event (`seq` one above the last).
    pub fn push_event(&self, order: Value) -> i64 {
        let mut g = self.inner.lock().unwrap();
        let seq = g.events.last().map(|(s, _)| *s).unwrap_or(g.snapshot_cursor) + 1;
        g.events.push((seq, order));
        seq
    }

    /// Authenticated requests to `path` (without the query), in arrival order.
    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.inner.lock().unwrap().requests.iter().filter(|r| r.path.split('?').next() == Some(path)).cloned().collect()
    }

    /// How many requests failed authentication.
    pub fn refused(&self) -> usize {
        self.inner.lock().unwrap().refused
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

async fn pair(State(inner): State<Arc<Mutex<Inner>>>, body: Bytes) -> Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut g = inner.lock().unwrap();
    if req["token"].as_str() != Some(TOKEN) || g.paired {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "the pairing token is unknown, used or expired");
    }
    g.paired = true;
    axum::Json(json!({"device_id": DEVICE_ID, "secret": SECRET, "merchant_id": 10001, "merchant_name": "Fake shop"})).into_response()
}

/// §3 of the protocol, in the real gateway's order.
fn authenticate(g: &mut Inner, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
    let (Some(device), Some(ts), Some(nonce), Some(sig)) =
        (header(HEADER_DEVICE), header(HEADER_TIMESTAMP), header(HEADER_NONCE), header(HEADER_SIGNATURE))
    else {
        return Err("missing header");
    };
    let ts: i64 = ts.parse().map_err(|_| "bad timestamp")?;
    if !(16..=64).contains(&nonce.len()) {
        return Err("nonce must be 16-64 characters");
    }
    if (now() as i128 - ts as i128).abs() > MAX_CLOCK_SKEW_SECS as i128 {
        return Err("timestamp too far");
    }
    if device != DEVICE_ID {
        return Err("unknown device");
    }
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let want = request_signature(SECRET, method.as_str(), path_and_query, ts, nonce, body);
    if !want.eq_ignore_ascii_case(sig) {
        return Err("bad signature");
    }
    if !g.nonces.insert(format!("{device}:{nonce}")) {
        return Err("replayed request");
    }
    Ok(())
}

async fn signed(State(inner): State<Arc<Mutex<Inner>>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    {
        let mut g = inner.lock().unwrap();
        if let Err(why) = authenticate(&mut g, &method, &uri, &headers, &body) {
            g.refused += 1;
            return error(StatusCode::UNAUTHORIZED, "unauthorized", why);
        }
        let parsed = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
        g.requests.push(Request { method: method.to_string(), path: uri.to_string(), body: parsed });
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match (method.as_str(), path.as_str()) {
        ("GET", "/collector/v1/orders") => {
            let g = inner.lock().unwrap();
            axum::Json(json!({"cursor": g.snapshot_cursor, "orders": g.snapshot})).into_response()
        }
        ("GET", "/collector/v1/events") => events(&inner, uri.query().unwrap_or("")).await,
        ("PUT", "/collector/v1/codes") => axum::Json(json!({"accepted": body["codes"].as_array().map_or(0, Vec::len)})).into_response(),
        ("POST", "/collector/v1/heartbeat") => axum::Json(json!({"server_time": now()})).into_response(),
        ("POST", "/collector/v1/unmatched") => axum::Json(json!({"recorded": true})).into_response(),
        ("POST", "/collector/v1/confirmations") => {
            axum::Json(json!({"order_id": body["order_id"], "state": 9, "duplicate": false})).into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    }
}

/// The long poll: events after `after` at once, else an empty batch within a second.
async fn events(inner: &Arc<Mutex<Inner>>, query: &str) -> Response {
    let after: i64 = query.split('&').find_map(|kv| kv.strip_prefix("after=")).and_then(|v| v.parse().ok()).unwrap_or(0);
    for _ in 0..10 {
        let batch: Vec<Value> = {
            let g = inner.lock().unwrap();
            g.events.iter().filter(|(seq, _)| *seq > after).take(500).map(|(seq, o)| json!({"seq": seq, "order": o})).collect()
        };
        if !batch.is_empty() {
            let cursor = batch.last().and_then(|e| e["seq"].as_i64()).unwrap_or(after);
            return axum::Json(json!({"events": batch, "cursor": cursor})).into_response();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    axum::Json(json!({"events": [], "cursor": after})).into_response()
}
