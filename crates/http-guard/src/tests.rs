use super::*;
use axum::body::Bytes;
use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn limits() -> Limits {
    Limits {
        max_connections: 4,
        header_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(600),
        idle_timeout: Duration::from_millis(1500),
    }
}

async fn start(limits: Limits) -> SocketAddr {
    let router = Router::new()
        .route("/peer", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }))
        .route("/echo", post(|body: Bytes| async move { body }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, router, limits, std::future::pending()));
    addr
}

/// Reads until the peer closes (Ok(bytes)) or `within` passes (Err).
async fn read_to_close(s: &mut TcpStream, within: Duration) -> Result<Vec<u8>, ()> {
    let mut got = Vec::new();
    tokio::time::timeout(within, s.read_to_end(&mut got)).await.map_err(|_| ())?.map_err(|_| ())?;
    Ok(got)
}

#[tokio::test]
async fn a_half_sent_head_is_dropped_after_the_header_timeout() {
    let addr = start(limits()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = Instant::now();
    read_to_close(&mut s, Duration::from_secs(3)).await.expect("closed");
    assert!(started.elapsed() >= Duration::from_millis(250), "closed too early: {:?}", started.elapsed());
}

#[tokio::test]
async fn requests_see_the_peer_and_idle_connections_close() {
    let addr = start(limits()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("127.0.0.1"), "{text}");
    // Kept alive, then closed once nothing moves (the header timeout closes it first here).
    read_to_close(&mut s, Duration::from_secs(3)).await.expect("idle connection closed");
}

#[tokio::test]
async fn a_slow_body_gets_408_after_the_request_timeout() {
    let addr = start(limits()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc").await.unwrap();
    let got = read_to_close(&mut s, Duration::from_secs(3)).await.expect("answered and closed");
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 408"), "{}", String::from_utf8_lossy(&got));
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_and_the_cap_frees_up() {
    let l = Limits { header_timeout: Duration::from_secs(5), idle_timeout: Duration::from_secs(5), ..limits() };
    let addr = start(l).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let got = read_to_close(&mut extra, Duration::from_secs(2)).await.expect("over the cap: closed at once");
    assert!(got.is_empty());
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = reqwest::get(format!("http://{addr}/peer")).await.unwrap();
    assert_eq!(answer.status(), 200);
}
