//! The LAN listener: the V免签 monitor app protocol (`/appHeart`,
//! `/appPush`), SmsForwarder webhooks and the generic signed push.

use super::MAX_SKEW_MS;
use crate::parser::Notice;
use crate::{Collector, Observed, ReplayKey, now_ms};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiufu_protocol::{Channel, Fen, sign};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

type Shared = Arc<Collector>;

/// The LAN listener; bound before it runs so its address can be printed.
pub struct LanListener {
    bound: tokio::sync::Mutex<Option<tokio::net::TcpListener>>,
}

impl LanListener {
    pub fn new(listener: tokio::net::TcpListener) -> LanListener {
        LanListener { bound: tokio::sync::Mutex::new(Some(listener)) }
    }

    /// A listener that binds when it runs (its address was taken at start).
    pub fn unbound() -> LanListener {
        LanListener { bound: tokio::sync::Mutex::new(None) }
    }
}

#[async_trait::async_trait]
impl super::Source for LanListener {
    fn name(&self) -> &'static str {
        "lan"
    }

    fn channels(&self) -> Vec<Channel> {
        Vec::new()
    }

    async fn run(&self, c: Shared) -> anyhow::Result<()> {
        let listener = match self.bound.lock().await.take() {
            Some(l) => l,
            None => {
                let l = tokio::net::TcpListener::bind(c.config.listen).await?;
                if let Ok(addr) = l.local_addr() {
                    let _ = c.listening.set(addr);
                    println!("jiufu-collector listening on http://{addr}");
                }
                l
            }
        };
        axum::serve(listener, routes(c)).await?;
        anyhow::bail!("the LAN listener stopped")
    }
}

pub fn routes(c: Shared) -> Router {
    Router::new()
        .route("/appHeart", get(app_heart).post(app_heart))
        .route("/appPush", get(app_push).post(app_push))
        .route("/forward/smsforwarder", get(smsforwarder).post(smsforwarder))
        .route("/forward/generic", post(generic))
        .with_state(c)
}

/// Query and (for POST) form or JSON fields, merged.
fn fields(query: HashMap<String, String>, headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let mut all = query;
    let json = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
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
    } else if !body.is_empty() {
        for (k, v) in url::form_urlencoded_parse(body) {
            all.insert(k, v);
        }
    }
    all
}

mod url {
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

fn vmq(code: i32, msg: &str) -> Json<Value> {
    Json(json!({"code": code, "msg": msg, "data": null}))
}

fn fresh(t_ms: i64) -> bool {
    now_ms().abs_diff(t_ms) <= MAX_SKEW_MS as u64
}

async fn app_heart(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap, body: Bytes) -> Json<Value> {
    let f = fields(q, &headers, &body);
    let (Some(t), Some(given)) = (f.get("t"), f.get("sign")) else {
        return vmq(-1, "参数错误 missing t or sign");
    };
    if !sign::hex_digest_eq(&sign::vmq_heart_sign(t, c.key.expose()), given) {
        c.touch("vmq", Some("bad heartbeat sign".into()));
        return vmq(-1, "签名错误 bad sign");
    }
    match t.parse::<i64>() {
        Ok(t) if fresh(t) => {
            c.touch("vmq", None);
            vmq(1, "成功")
        }
        _ => vmq(-1, "时间错误 t is not within 5 minutes of the collector's clock"),
    }
}

async fn app_push(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap, body: Bytes) -> Json<Value> {
    let f = fields(q, &headers, &body);
    let (Some(t), Some(kind), Some(price), Some(given)) = (f.get("t"), f.get("type"), f.get("price"), f.get("sign")) else {
        return vmq(-1, "参数错误 missing t, type, price or sign");
    };
    if !sign::hex_digest_eq(&sign::vmq_push_sign(kind, price, t, c.key.expose()), given) {
        c.touch("vmq", Some("bad push sign".into()));
        return vmq(-1, "签名错误 bad sign");
    }
    let Some(t_ms) = t.parse::<i64>().ok().filter(|t| fresh(*t)) else {
        return vmq(-1, "时间错误 t is not within 5 minutes of the collector's clock");
    };
    let Some(channel) = Channel::from_vmq_type(kind) else {
        return vmq(-1, "类型错误 unknown type");
    };
    let Ok(amount) = Fen::parse_yuan(price) else {
        return vmq(-1, "金额错误 bad price");
    };
    let notice = Notice { app: "V免签".into(), title: String::new(), text: format!("type={kind} price={price}") };
    let replay = ReplayKey { key: format!("vmq:{kind}:{price}:{t}"), expires_at: t_ms + 2 * MAX_SKEW_MS };
    match c.observe("vmq", channel, amount, now_ms(), notice, Some(replay)).await {
        Ok(Observed::Replayed) => vmq(-1, "重复推送 replayed push"),
        Ok(_) => vmq(1, "成功"),
        Err(e) => {
            tracing::error!(error = %e, "cannot store an observation");
            vmq(-1, "内部错误 internal error")
        }
    }
}

fn refuse(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"code": -1, "msg": msg}))).into_response()
}

async fn smsforwarder(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap, body: Bytes) -> Response {
    let f = fields(q, &headers, &body);
    let content = f.get("content").or_else(|| f.get("msg")).cloned().unwrap_or_default();
    let from = f.get("from").cloned().unwrap_or_default();
    let Some(ts) = f.get("timestamp").cloned() else {
        return refuse(StatusCode::BAD_REQUEST, "missing timestamp");
    };
    let Some(t_ms) = ts.parse::<i64>().ok() else {
        return refuse(StatusCode::BAD_REQUEST, "bad timestamp");
    };
    if let Some(secret) = &c.config.smsf_secret {
        let expected = sign::smsforwarder_sign(&ts, secret.expose());
        let given = f.get("sign").cloned().unwrap_or_default();
        // The app URL-encodes the sign once or twice; form decoding may have turned '+' into ' '.
        let once = url::decode(&given);
        let twice = url::decode(&once);
        let ok = [given.clone(), given.replace(' ', "+"), once, twice].iter().any(|g| sign::bytes_eq(expected.as_bytes(), g.as_bytes()));
        if !ok {
            c.touch("smsforwarder", Some("bad sign".into()));
            return refuse(StatusCode::UNAUTHORIZED, "bad sign");
        }
    }
    if !fresh(t_ms) {
        return refuse(StatusCode::UNAUTHORIZED, "timestamp is not within 5 minutes of the collector's clock");
    }
    // The sign covers only the timestamp, so each timestamp (each sign) is used once.
    let key = format!("smsf:{ts}");
    c.touch("smsforwarder", None);
    let (title, text) = match content.split_once('\n') {
        Some((t, rest)) => (t.trim().to_owned(), rest.trim().to_owned()),
        None => (String::new(), content.trim().to_owned()),
    };
    let replay = ReplayKey { key, expires_at: t_ms + 2 * MAX_SKEW_MS };
    match c.observe_notice("smsforwarder", Notice { app: from, title, text }, now_ms(), Some(replay)).await {
        Ok(Observed::Replayed) => refuse(StatusCode::CONFLICT, "replayed"),
        Ok(_) => Json(json!({"code": 1, "msg": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot store an observation");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[derive(serde::Deserialize)]
struct GenericPush {
    channel: Channel,
    amount: String,
    #[serde(default)]
    text: String,
}

async fn generic(State(c): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let header = headers.get("x-jiufu-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return refuse(StatusCode::UNAUTHORIZED, "missing X-Jiufu-Signature t=…,v1=…");
    };
    let expected = sign::hmac_sha256_hex(c.key.expose().as_bytes(), &[t.as_bytes(), b".", &body]);
    if !sign::hex_digest_eq(&expected, &v1) {
        c.touch("generic", Some("bad signature".into()));
        return refuse(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let Some(t_s) = t.parse::<i64>().ok().filter(|t| fresh(t * 1000)) else {
        return refuse(StatusCode::UNAUTHORIZED, "timestamp is not within 5 minutes of the collector's clock");
    };
    let push: GenericPush = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("bad body: {e}")),
    };
    let Ok(amount) = Fen::parse_yuan(&push.amount) else {
        return refuse(StatusCode::BAD_REQUEST, "bad amount");
    };
    let notice = Notice { app: "generic".into(), title: String::new(), text: push.text };
    let replay = ReplayKey { key: format!("generic:{}", v1.to_ascii_lowercase()), expires_at: t_s * 1000 + 2 * MAX_SKEW_MS };
    match c.observe("generic", push.channel, amount, now_ms(), notice, Some(replay)).await {
        Ok(Observed::Replayed) => refuse(StatusCode::CONFLICT, "replayed"),
        Ok(_) => Json(json!({"code": 1, "msg": "ok"})).into_response(),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}
