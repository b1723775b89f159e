//! A merchant's notification endpoint: records every call and answers
//! `fail` (HTTP 500) for the first N calls, then `success`.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Inner {
    calls: Vec<String>,
    /// The `X-Jiufu-Signature` header of each call.
    signatures: Vec<Option<String>>,
    fail_first: usize,
}

#[derive(Clone)]
pub struct Sink {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
    pub base: String,
}

impl Sink {
    /// A sink on a random loopback port that fails its first `fail_first` calls.
    pub async fn start(fail_first: usize) -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        Self::serve(listener, fail_first)
    }

    /// A sink on a given port (to bring a merchant "back online").
    pub async fn start_on(port: u16, fail_first: usize) -> Sink {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind sink port");
        Self::serve(listener, fail_first)
    }

    fn serve(listener: tokio::net::TcpListener, fail_first: usize) -> Sink {
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Mutex::new(Inner { fail_first, ..Default::default() }));
        let app = Router::new()
            .route("/notify", get(notify))
            .route(
                "/return",
                get(|| async { axum::response::Html("<!doctype html><title>shop</title><h1 id=\"returned\">back at the shop</h1>") }),
            )
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base = format!("http://{addr}");
        Sink { inner, url: format!("{base}/notify"), base }
    }

    /// The query strings of every call so far.
    pub fn calls(&self) -> Vec<String> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// The `X-Jiufu-Signature` header of every call so far.
    pub fn signatures(&self) -> Vec<Option<String>> {
        self.inner.lock().unwrap().signatures.clone()
    }
}

async fn notify(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, RawQuery(q): RawQuery) -> (StatusCode, &'static str) {
    let mut i = inner.lock().unwrap();
    i.calls.push(q.unwrap_or_default());
    i.signatures.push(headers.get("x-jiufu-signature").and_then(|v| v.to_str().ok()).map(str::to_owned));
    if i.calls.len() <= i.fail_first { (StatusCode::INTERNAL_SERVER_ERROR, "fail") } else { (StatusCode::OK, "success") }
}
