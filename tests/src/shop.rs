//! A shop, as shop software is: its own signing code for each protocol,
//! written here from the protocols' descriptions and not taken from the
//! gateway's crates, and a notification endpoint that records every call
//! (GET query or POST body) and answers what the test tells it to.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use std::sync::{Arc, Mutex};

pub fn md5(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

pub fn hmac_sha256(key: &str, text: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The "sorted non-empty k=v joined by &" string the shop protocols sign.
/// Sorted by key, as PHP's `ksort` sorts them.
pub fn signing_string(params: &[(&str, &str)], skip: &[&str]) -> String {
    let mut kept: Vec<&(&str, &str)> = params.iter().filter(|(k, v)| !v.is_empty() && !skip.contains(k)).collect();
    kept.sort_by_key(|(k, _)| *k);
    kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// 易支付 V1: md5(signing string without sign and sign_type, then the key).
pub fn epay_sign(params: &[(&str, &str)], key: &str) -> String {
    md5(&format!("{}{key}", signing_string(params, &["sign", "sign_type"])))
}

/// epusdt: md5(signing string without signature, then the token).
pub fn epusdt_sign(params: &[(&str, &str)], token: &str) -> String {
    md5(&format!("{}{token}", signing_string(params, &["signature"])))
}

/// GMPay: hex HMAC-SHA256 keyed by the secret over the signing string.
pub fn gmpay_sign(params: &[(&str, &str)], key: &str) -> String {
    hmac_sha256(key, &signing_string(params, &["signature"]))
}

/// `k=v&…` percent-encoded, in the given order, as a shop's HTTP client sends it.
pub fn form(params: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

/// [`form`] of owned pairs, as the tests keep a request's fields.
pub fn form_owned(params: &[(String, String)]) -> String {
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    form(&refs)
}

/// A query or form body back into pairs.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A client that does not follow redirects: the test looks at the 302 itself.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// One call the shop's notification endpoint received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub query: String,
    pub content_type: String,
    pub body: String,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    /// Answers for the first calls, in order; then `then`.
    script: Vec<(u16, &'static str)>,
    then: (u16, &'static str),
    /// The first call gets no answer for a minute (a stuck merchant server).
    hang_first: bool,
}

#[derive(Clone)]
pub struct ShopSink {
    inner: Arc<Mutex<Inner>>,
    /// The notification endpoint.
    pub url: String,
    pub base: String,
}

impl ShopSink {
    /// Answers `script` to the first calls, then `then` to every later one.
    pub async fn start(script: &[(u16, &'static str)], then: (u16, &'static str)) -> ShopSink {
        Self::start_with(script, then, false).await
    }

    /// Holds the first call for a minute without answering; answers `then` to the rest.
    pub async fn start_hanging_first(then: (u16, &'static str)) -> ShopSink {
        Self::start_with(&[], then, true).await
    }

    async fn start_with(script: &[(u16, &'static str)], then: (u16, &'static str), hang_first: bool) -> ShopSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind shop");
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Mutex::new(Inner { calls: Vec::new(), script: script.to_vec(), then, hang_first }));
        let app = Router::new()
            .route("/notify", any(notify))
            .route(
                "/return",
                any(|| async { axum::response::Html("<!doctype html><title>shop</title><h1 id=\"returned\">back at the shop</h1>") }),
            )
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base = format!("http://{addr}");
        ShopSink { inner, url: format!("{base}/notify"), base }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }
}

async fn notify(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (n, hang) = {
        let mut i = inner.lock().unwrap();
        let body = String::from_utf8_lossy(&body).into_owned();
        i.calls.push(Call { method: method.to_string(), query: q.unwrap_or_default(), content_type, body });
        (i.calls.len(), i.hang_first && i.calls.len() == 1)
    };
    if hang {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
    let (status, text) = {
        let i = inner.lock().unwrap();
        i.script.get(n - 1).copied().unwrap_or(i.then)
    };
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), text)
}
