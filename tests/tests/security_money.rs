//! Issue 8, the gateway's money rules, each finding tried as its attacker
//! would against the real binary: a payer who reads the return redirect
//! (S3, S4), a competitor who places orders (S6), a late notice of a paid
//! order (S7), a slow client (S8), oversized bodies (S9), signs in stored
//! errors (S11) and a database other local users could read (S12).

use jiufu_e2e::*;
use jiufu_protocol::sign;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// `t=…,v1=…` → (t, v1).
fn parse_signature(header: &str) -> (String, String) {
    let mut t = String::new();
    let mut v1 = String::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.to_owned(),
            Some(("v1", v)) => v1 = v.to_owned(),
            _ => {}
        }
    }
    (t, v1)
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_s4_the_payer_never_sees_a_sign_and_notifications_cover_amount_and_state() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let no = unique("s3-");
    let mut o = NewOrder::new(&no, "P901", "12.34", &sink.url);
    o.set("return_url", &format!("{}/return?cart=7", sink.base)).sign();
    let id = o.create(&gw).await;
    gw.cli(&["order", "confirm", &id]);
    wait_for(Duration::from_secs(20), || async { (!sink.calls().is_empty()).then_some(()) }).await.expect("notified");

    // The payer's page after payment: the return link carries no sign.
    let page = http().get(format!("{}/transfer/{id}", gw.url)).send().await.unwrap().text().await.unwrap();
    let seed_sign = sign::order_sign("10001", &no, KEY);
    assert!(!page.contains(&seed_sign), "the seed sign is a credential; the payer must not see it");
    let unescaped = page.replace("&#38;", "&").replace("&amp;", "&");
    assert!(unescaped.contains(&format!("/return?cart=7&order_no={no}&amount=12.34&state=9\"")), "return link: {page}");
    assert!(!page.contains("sign="), "no sign parameter at all on the payer's page");

    // The notification: the seed's four parameters exactly, plus a header covering them.
    let query = sink.calls()[0].clone();
    assert_eq!(query, format!("order_no={no}&amount=12.34&state=9&sign={seed_sign}"));
    let header = sink.signatures()[0].clone().expect("X-Jiufu-Signature sent");
    let (t, v1) = parse_signature(&header);
    let t_secs: i64 = t.parse().expect("epoch seconds");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - t_secs).abs() < 60, "{t}");
    let expected = sign::hmac_sha256_hex(KEY.as_bytes(), &[t.as_bytes(), b".", query.as_bytes()]);
    assert_eq!(v1, expected, "merchants verify HMAC(key, t.query)");
    // A payer who forges a notification with another amount cannot make the header match.
    let forged = query.replace("amount=12.34", "amount=1234.00");
    assert_ne!(sign::hmac_sha256_hex(KEY.as_bytes(), &[t.as_bytes(), b".", forged.as_bytes()]), v1);
}

#[tokio::test(flavor = "multi_thread")]
async fn s4_merchant_keys_are_long_and_can_stay_out_of_argv() {
    let gw = Gateway::start();
    let (ok, _, err) = gw.try_cli(&["merchant", "add", "--id", "20001", "--name", "weak", "--key", "12345678"]);
    assert!(!ok && err.contains("16"), "an 8-character key is refused: {err}");
    for weak in ["aaaaaaaaaaaaaaaaaaaa", "12345678901234567890", "abcdefghijklmnopqrst"] {
        let (ok, _, err) = gw.try_cli(&["merchant", "add", "--id", "20001", "--name", "weak", "--key", weak]);
        assert!(!ok && err.contains("too easy to guess"), "{weak}: {err}");
    }
    let generated = gw.cli(&["merchant", "add", "--id", "20002", "--name", "generated"]);
    assert_eq!(generated.trim().len(), 32, "a generated key has 32 characters: {generated}");
    let file = gw.dir.join("key.txt");
    std::fs::write(&file, "from-a-file-0123456789abcdef\n").unwrap();
    let printed = gw.cli(&["merchant", "add", "--id", "20003", "--name", "file", "--key-file", file.to_str().unwrap()]);
    assert_eq!(printed.trim(), "from-a-file-0123456789abcdef");
    let listed = gw.cli(&["merchant", "list"]);
    assert!(listed.contains("20002") && listed.contains("20003") && !listed.contains("20001"), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn s6_no_order_is_payable_at_a_discount_and_one_payer_cannot_hold_every_amount() {
    let gw = Gateway::start();
    let mut payable = Vec::new();
    for i in 0..3 {
        let id = NewOrder::new(&format!("s6-{i}"), "P901", "1.00", "https://shop.example.com/n").create(&gw).await;
        payable.push(get_json(&format!("{}/query/{id}", gw.url)).await["order"]["amount"].to_string());
    }
    assert_eq!(payable, ["1.00", "0.99", "0.98"], "within 2 % of the order amount");
    let v = NewOrder::new("s6-3", "P901", "1.00", "https://shop.example.com/n").post(&gw).await;
    assert_eq!((v["success"].clone(), v["errorCode"].clone()), (false.into(), 1008.into()), "no slot left within the offset: {v}");
    assert_eq!(gw.cli(&["order", "list", "--merchant", "10001"]).lines().count(), 3, "nothing stored for the refusal");

    // Per payer: at most 3 open orders for one ip; another payer still buys.
    let with_ip = |no: &str, ip: &str| {
        let mut o = NewOrder::new(no, "P902", "50.00", "https://shop.example.com/n");
        o.set("ip", ip).sign();
        o
    };
    for i in 0..3 {
        with_ip(&format!("ip-{i}"), "198.51.100.9").create(&gw).await;
    }
    let v = with_ip("ip-3", "198.51.100.9").post(&gw).await;
    assert_eq!(v["errorCode"], 1010, "{v}");
    with_ip("ip-other", "198.51.100.10").create(&gw).await;
    // The same request again is still idempotent, not refused.
    let again = with_ip("ip-0", "198.51.100.9").post(&gw).await;
    assert_eq!(again["success"], true, "{again}");
    assert_eq!(gw.cli(&["order", "list", "--merchant", "10001", "--state", "5"]).lines().count(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn s7_a_paid_amount_stays_taken_through_quarantine() {
    let gw = Gateway::start();
    gw.cli(&["merchant", "add", "--id", "30003", "--name", "q", "--key", KEY, "--quarantine", "3"]);
    gw.cli(&["code", "add", "--merchant", "30003", "--channel", "P901", "--qr", "https://qr.alipay.com/q"]);
    let order = |no: &str| {
        let mut o = NewOrder::new(no, "P901", "5.00", "https://shop.example.com/n");
        o.set("userid", "30003").sign();
        o
    };
    let amount = |id: String| {
        let url = format!("{}/query/{id}", gw.url);
        async move { get_json(&url).await["order"]["amount"].to_string() }
    };
    let paid = order("s7-paid").create(&gw).await;
    assert_eq!(amount(paid.clone()).await, "5.00");
    gw.cli(&["order", "confirm", &paid]);
    // A late or repeated notice of 5.00 must not find a newer order at 5.00.
    let next = order("s7-next").create(&gw).await;
    assert_eq!(amount(next).await, "4.99", "5.00 is still held by the paid order");
    // After the quarantine it is free again.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let later = order("s7-later").create(&gw).await;
    assert_eq!(amount(later).await, "5.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s8_hundreds_of_half_sent_requests_do_not_stop_health_or_orders() {
    let gw = Gateway::start_with(&[("JIUFU_HEADER_TIMEOUT_SECS", "3")]);
    let addr = format!("127.0.0.1:{}", gw.port);
    let mut slow = Vec::new();
    for i in 0..400 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        let head = if i % 2 == 0 {
            "GET /health HTTP/1.1\r\nHost: x\r\n"
        } else {
            "POST /gateway HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nuserid=1"
        };
        s.write_all(head.as_bytes()).await.expect("half a request");
        slow.push(s);
    }
    for round in 0..5 {
        let started = Instant::now();
        let health = http().get(format!("{}/health", gw.url)).send().await.expect("health");
        assert_eq!(health.status(), 200);
        let id =
            NewOrder::new(&format!("slow-{round}"), "P901", &format!("{}.00", 20 + round), "https://shop.example.com/n").create(&gw).await;
        assert!(!id.is_empty());
        assert!(started.elapsed() < Duration::from_secs(1), "round {round} took {:?}", started.elapsed());
    }
    // The slow ones are closed by the server after the header timeout
    // (the POSTs with a body that never completes by the request timeout).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut closed = 0;
    for s in slow.iter_mut().step_by(2) {
        let mut buf = [0u8; 64];
        // Closed: end of stream, or a reset.
        match tokio::time::timeout(Duration::from_millis(50), tokio::io::AsyncReadExt::read(s, &mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            _ => {}
        }
    }
    assert_eq!(closed, 200, "every half-sent head was dropped");
}

#[tokio::test(flavor = "multi_thread")]
async fn s9_oversized_bodies_are_refused_before_authentication() {
    let gw = Gateway::start();
    // 300 KiB to the collector API with no credentials at all.
    let big = vec![b'x'; 300 * 1024];
    let r = http().put(format!("{}/collector/v1/codes", gw.url)).body(big.clone()).send().await.unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    // A 1 MiB create: the 1001 envelope, or the connection closed after 256 KiB; nothing stored.
    let mut form = NewOrder::new("big-1", "P901", "1.00", "https://shop.example.com/n").fields;
    form.push(("filler".into(), "y".repeat(1024 * 1024)));
    if let Ok(resp) = http().post(format!("{}/gateway", gw.url)).form(&form).send().await {
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(v["errorCode"], 1001, "{v}");
    }
    assert_eq!(gw.cli(&["order", "list"]).lines().count(), 0);
    // The server still answers.
    assert_eq!(http().get(format!("{}/health", gw.url)).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn s11_failed_notifications_keep_no_sign_in_stored_errors_or_logs() {
    let gw = Gateway::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let no = unique("s11-");
    let id = NewOrder::new(&no, "P901", "3.00", &format!("http://127.0.0.1:{port}/down")).create(&gw).await;
    gw.cli(&["order", "confirm", &id]);
    let shown = wait_for(Duration::from_secs(20), || async {
        let s = gw.show(&id);
        (s["notify_attempts"].as_array().map(|a| a.len()).unwrap_or(0) >= 2).then_some(s)
    })
    .await
    .expect("failed attempts recorded");
    let seed_sign = sign::order_sign("10001", &no, KEY);
    let error = shown["notify_attempts"][0]["error"].as_str().unwrap().to_owned();
    assert!(error.contains("could not connect"), "{error}");
    let text = shown.to_string();
    assert!(!text.contains(&seed_sign), "order show must not print the sign: {text}");
    assert!(!gw.log().contains(&seed_sign), "the log must not carry the sign");
    assert!(!gw.log().contains(KEY), "nor the key");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn s12_the_database_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let gw = Gateway::start();
    let db = gw.dir.join("gateway.db");
    for path in [db.clone(), gw.dir.join("gateway.db-wal")] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    // A data folder the gateway creates is owner-only too.
    let nested = gw.dir.join("new/data/gw.db");
    let out = std::process::Command::new(bin("jiufu-gateway"))
        .args(["merchant", "list"])
        .env("JIUFU_DATABASE_URL", format!("sqlite://{}", nested.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::metadata(nested.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&nested).unwrap().permissions().mode() & 0o777, 0o600);
}
