//! S18: the collector's link to the gateway. Pairing over plain http://
//! to another computer is refused before any connection (the device secret
//! would travel in clear) unless `--insecure-http` says so; the link client
//! follows no redirects, for pairing or for signed requests, and says so.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiufu_e2e::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A collector on a fresh store that has not paired yet.
fn unpaired() -> Proc {
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = vec![
        ("JIUFU_COLLECTOR_DB".to_owned(), tmp.path().join("collector.db").display().to_string()),
        ("JIUFU_COLLECTOR_KEY".to_owned(), "KEY123KEY123KEY123KEY123".to_owned()),
        ("JIUFU_COLLECTOR_HEARTBEAT_SECS".to_owned(), "1".to_owned()),
        ("JIUFU_COLLECTOR_DBUS".to_owned(), "false".to_owned()),
        ("JIUFU_LOG".to_owned(), "info".to_owned()),
    ];
    Proc::new("jiufu-collector", "JIUFU_COLLECTOR_LISTEN", env, &[], tmp)
}

fn paired(col: &Proc) -> bool {
    let status: serde_json::Value = serde_json::from_str(&col.cli(&["status"])).expect("status JSON");
    status["paired"] == true
}

#[tokio::test(flavor = "multi_thread")]
async fn pairing_over_plain_http_to_another_computer_is_refused() {
    let gw = Gateway::start();
    let token = gw.cli(&["collector", "pair", "--merchant", "10001"]);
    let token = token.trim();
    let col = unpaired();
    // 192.0.2.1 (TEST-NET-1): nothing answers there. The refusal comes from
    // the address alone, before any connection is tried.
    let started = Instant::now();
    let (ok, _, err) = col.try_cli(&["pair", token, "--gateway", "http://192.0.2.1:1"]);
    assert!(!ok, "refused");
    assert!(err.contains("plain http://") && err.contains("--insecure-http"), "{err}");
    assert!(!err.contains("unavailable"), "no connection was tried: {err}");
    assert!(started.elapsed() < Duration::from_secs(8), "refused at once");
    assert!(!paired(&col));
    // With the flag the collector does try (and finds nobody there).
    let (ok, _, err) = col.try_cli(&["pair", token, "--gateway", "http://192.0.2.1:1", "--insecure-http"]);
    assert!(!ok && err.contains("gateway unavailable") && !err.contains("plain http://"), "{err}");
    assert!(!paired(&col));
    // Plain http:// to this computer is fine, and the token was never spent.
    assert!(gw.url.starts_with("http://127.0.0.1:"));
    col.cli(&["pair", token, "--gateway", &gw.url]);
    assert!(paired(&col));
}

/// A server between the collector and the gateway that answers every
/// request with a redirect to the real gateway (307 keeps method and body),
/// or, with `pass_pairing`, forwards the pairing request itself.
#[derive(Clone)]
struct Redirector {
    gateway: String,
    pass_pairing: bool,
    redirected: Arc<AtomicUsize>,
    signed: Arc<AtomicUsize>,
}

async fn redirect(State(r): State<Redirector>, req: Request) -> Response {
    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    if r.pass_pairing && path == "/collector/v1/pair" {
        let body = axum::body::to_bytes(req.into_body(), 1 << 16).await.unwrap();
        let resp = http()
            .post(format!("{}{path}", r.gateway))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("forward pairing");
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
        return (status, [(header::CONTENT_TYPE, "application/json")], resp.bytes().await.unwrap()).into_response();
    }
    if req.headers().contains_key(jiufu_protocol::collector::HEADER_DEVICE) {
        r.signed.fetch_add(1, Ordering::SeqCst);
    }
    r.redirected.fetch_add(1, Ordering::SeqCst);
    let mut headers = HeaderMap::new();
    headers.insert(header::LOCATION, format!("{}{path}", r.gateway).parse().unwrap());
    (StatusCode::TEMPORARY_REDIRECT, headers).into_response()
}

async fn start_redirector(gateway: &str, pass_pairing: bool) -> (String, Redirector) {
    let r = Redirector { gateway: gateway.to_owned(), pass_pairing, redirected: Default::default(), signed: Default::default() };
    let app = axum::Router::new().fallback(redirect).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

#[tokio::test(flavor = "multi_thread")]
async fn pairing_follows_no_redirect() {
    let gw = Gateway::start();
    let token = gw.cli(&["collector", "pair", "--merchant", "10001"]);
    let token = token.trim();
    let (url, r) = start_redirector(&gw.url, false).await;
    let col = unpaired();
    let (ok, _, err) = col.try_cli(&["pair", token, "--gateway", &url]);
    assert!(!ok, "refused");
    assert!(err.contains("redirect") && err.contains("follows no redirects"), "the error says why: {err}");
    assert_eq!(r.redirected.load(Ordering::SeqCst), 1);
    assert!(!paired(&col));
    // The gateway never saw the token: it still pairs, directly.
    col.cli(&["pair", token, "--gateway", &gw.url]);
    assert!(paired(&col));
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_requests_follow_no_redirect() {
    let gw = Gateway::start();
    let token = gw.cli(&["collector", "pair", "--merchant", "10001"]);
    // Paired through a server that later redirects every signed request.
    let (url, r) = start_redirector(&gw.url, true).await;
    let mut col = unpaired();
    col.cli(&["pair", token.trim(), "--gateway", &url]);
    assert!(paired(&col));
    let order = NewOrder::new(&unique("redir"), "P901", "2.22", "https://shop.example.com/n").create(&gw).await;
    col.spawn(&["run"], "127.0.0.1:0");
    let redirected = wait_for(Duration::from_secs(15), || async { (r.signed.load(Ordering::SeqCst) >= 3).then_some(()) }).await;
    assert!(redirected.is_some(), "the collector's signed requests reached the redirector");
    tokio::time::sleep(Duration::from_secs(2)).await;
    // None was followed to the gateway: no heartbeat, no order sync.
    let list = gw.cli(&["collector", "list", "--merchant", "10001"]);
    let device: serde_json::Value = serde_json::from_str(list.lines().next().expect("the paired device")).unwrap();
    assert_eq!(device["last_seen"], serde_json::Value::Null, "the gateway never heard from the collector: {device}");
    assert!(col.cli(&["orders"]).trim().is_empty(), "no order came through the redirect");
    assert_eq!(get_json(&format!("{}/query/{order}", gw.url)).await["state"], 5);
    let log = col.log();
    assert!(log.contains("follows no redirects"), "the log says why: {log}");
}
