//! Attacks on the collector's LAN listener (issue 8: S1, S5, S10, S11,
//! S12, S17, and the LAN parts of S8/S9), each against the real
//! `jiufu-collector run` paired with a real gateway: refused, and nothing
//! changed (the order still 5 at the gateway, no payment stored, no
//! merchant notified, no source online).

use jiufu_e2e::collector::*;
use jiufu_e2e::*;
use jiufu_protocol::sign;
use serde_json::Value;
use std::time::{Duration, Instant};

const ALIPAY: &str = "com.eg.android.AlipayGphone";

async fn state(gw: &Gateway, id: &str) -> i64 {
    get_json(&format!("{}/query/{id}", gw.url)).await["state"].as_i64().unwrap()
}

async fn wait_state(gw: &Gateway, id: &str, want: i64) {
    let ok = wait_for(Duration::from_secs(15), || async { (state(gw, id).await == want).then_some(()) }).await;
    assert!(ok.is_some(), "order {id} never reached {want} (is {})", state(gw, id).await);
}

/// A gateway, a merchant sink, a collector with generated secrets (no key
/// or secret in its environment) and one open order of 5.00 it knows of.
async fn setup(extra_env: &[(&str, &str)]) -> (Gateway, sink::Sink, CollectorProc, String) {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let mut env = vec![("JIUFU_COLLECTOR_KEY", ""), ("JIUFU_COLLECTOR_SMSF_SECRET", "")];
    env.extend_from_slice(extra_env);
    let col = CollectorProc::paired(&gw, &env);
    let order = NewOrder::new(&unique("sec"), "P901", "5.00", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(10), || async { col.cli(&["orders"]).contains(&order).then_some(()) }).await.expect("mirrored");
    (gw, sink, col, order)
}

/// Nothing moved: the order is still 5, no payment is stored, nobody was notified.
async fn nothing_changed(gw: &Gateway, sink: &sink::Sink, col: &CollectorProc, order: &str) {
    // Longer than the matcher's and the queue's cycles.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(state(gw, order).await, 5, "the order did not move");
    assert!(col.payments(false).is_empty(), "no payment stored: {:?}", col.payments(false));
    assert_eq!(col.status()["queued"], 0);
    assert!(sink.calls().is_empty(), "no merchant notification: {:?}", sink.calls());
}

fn secret_of(col: &CollectorProc) -> String {
    col.status()["smsf_secret"].as_str().expect("status shows the SmsForwarder secret").to_owned()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = http().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn push_url(col: &CollectorProc, kind: &str, price: &str, t: &str, key: &str) -> String {
    let s = sign::vmq_push_sign(kind, price, t, key);
    format!("{}/appPush?t={t}&type={kind}&price={price}&sign={s}", col.url)
}

fn heart_url(col: &CollectorProc, t: i64, key: &str) -> String {
    let t = t.to_string();
    format!("{}/appHeart?t={t}&sign={}", col.url, sign::vmq_heart_sign(&t, key))
}

/// S1: with the defaults, an unsigned (or wrongly signed) SmsForwarder push,
/// from a LAN host or from a web page, confirms nothing; SmsForwarder
/// signing with the generated secret does.
#[tokio::test(flavor = "multi_thread")]
async fn s1_smsforwarder_needs_the_generated_secret() {
    let (gw, sink, col, order) = setup(&[]).await;
    let secret = secret_of(&col);
    assert!(secret.len() >= 24, "a strong secret was generated: {secret:?}");
    assert_eq!(col.status()["smsf_unsigned"], false);
    let fake = "收钱码收款\n成功收款5.00元";

    // A LAN host posts the payment notification without a sign ...
    let (status, reply) = smsforwarder_form(&col, &smsforwarder_body(ALIPAY, fake, now_ms(), None), &[]).await;
    assert_eq!((status, reply["code"].as_i64()), (401, Some(-1)), "{reply}");
    // ... or signs it with a guessed secret ...
    assert_eq!(smsforwarder(&col, ALIPAY, fake, now_ms(), "not-the-collector-secret").await, 401);
    // ... or a web page the payee opens posts a cross-origin form (even with a valid sign).
    let page = [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "no-cors")];
    let (status, reply) = smsforwarder_form(&col, &smsforwarder_body(ALIPAY, fake, now_ms(), None), &page).await;
    assert_eq!((status, reply["code"].as_i64()), (403, Some(-1)), "{reply}");
    let (status, _) = smsforwarder_form(&col, &smsforwarder_body(ALIPAY, fake, now_ms() + 1, Some(&secret)), &page).await;
    assert_eq!(status, 403, "a browser is refused whatever it sends");
    nothing_changed(&gw, &sink, &col, &order).await;

    // SmsForwarder itself, signing with the generated secret (collector.md §1b), confirms the order.
    assert_eq!(smsforwarder(&col, ALIPAY, fake, now_ms() + 2, &secret).await, 200);
    wait_state(&gw, &order, 9).await;
    wait_for(Duration::from_secs(10), || async { (sink.calls().len() == 1).then_some(()) }).await.expect("merchant notified");
    assert_eq!(col.payments(false)[0]["source"], "smsforwarder");
}

/// S1: unsigned intake is an explicit opt-in, shouted at start and shown
/// in `status`; what it takes in marks nothing online.
#[tokio::test(flavor = "multi_thread")]
async fn s1_unsigned_intake_only_by_opt_in_and_shouted() {
    let (gw, _sink, col, order) = setup(&[("JIUFU_COLLECTOR_SMSF_UNSIGNED", "true")]).await;
    let log = col.log();
    assert!(log.contains("WARNING: UNSIGNED SmsForwarder pushes are accepted"), "shouted at start: {log}");
    assert_eq!(col.status()["smsf_unsigned"], true);
    let (status, _) = smsforwarder_form(&col, &smsforwarder_body(ALIPAY, "收钱码收款\n成功收款5.00元", now_ms(), None), &[]).await;
    assert_eq!(status, 200, "accepted, as the operator chose");
    wait_state(&gw, &order, 9).await;
    assert_eq!(col.payments(false)[0]["source"], "smsforwarder:unsigned", "marked as unsigned in the evidence");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let list = gw.cli(&["collector", "list", "--merchant", "10001"]);
    assert!(!list.contains("\"smsforwarder\""), "an unsigned push marks no source online: {list}");
}

/// S5: a sniffed V免签 push re-spelt so that its sign stays the same
/// ((10.00, t) → (10.0, "0" + t)) is refused; one push confirms one order.
#[tokio::test(flavor = "multi_thread")]
async fn s5_a_resplit_vmq_push_confirms_nothing_more() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(&gw, &[]);
    let first = NewOrder::new(&unique("s5a"), "P901", "10.00", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(10), || async { col.cli(&["orders"]).contains(&first).then_some(()) }).await.expect("mirrored");
    let t = now_ms().to_string();
    let sniffed = sign::vmq_push_sign("2", "10.00", &t, PUSH_KEY);
    let (_, reply) = get(&format!("{}/appPush?t={t}&type=2&price=10.00&sign={sniffed}", col.url), &[]).await;
    assert_eq!(reply["code"], 1, "{reply}");
    wait_state(&gw, &first, 9).await;
    wait_for(Duration::from_secs(10), || async { (sink.calls().len() == 1).then_some(()) }).await.expect("notified");

    // A second order of the same amount, then the sniffed push replayed in other spellings.
    let second = NewOrder::new(&unique("s5b"), "P901", "10.00", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(10), || async { col.cli(&["orders"]).contains(&second).then_some(()) }).await.expect("mirrored");
    assert_eq!(sign::vmq_push_sign("2", "10.0", &format!("0{t}"), PUSH_KEY), sniffed, "the same sign (the attack)");
    for (price, t2) in [("10.0", format!("0{t}")), ("10.00", format!("0{t}")), ("10.00", format!("+{t}")), ("10.00", t.clone())] {
        let url = format!("{}/appPush?t={}&type=2&price={price}&sign={sniffed}", col.url, t2.replace('+', "%2B"));
        let (_, reply) = get(&url, &[]).await;
        assert_eq!(reply["code"], -1, "price {price} t {t2}: {reply}");
        assert!(reply["data"].is_null(), "V免签's reply shape");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(state(&gw, &second).await, 5, "the second order did not move");
    assert_eq!(col.payments(false).len(), 1, "one payment stored: {:?}", col.payments(false));
    assert_eq!(sink.calls().len(), 1, "one notification");
}

/// S10: a short push key is refused at start; guessing the key over
/// `/appHeart` is throttled after five bad signs (then even the right key
/// is refused from that address for a while, answered at once).
#[tokio::test(flavor = "multi_thread")]
async fn s10_short_keys_refused_and_guessing_throttled() {
    let bin = bin("jiufu-collector");
    let tmp = tempfile::tempdir().unwrap();
    for (var, value) in [("JIUFU_COLLECTOR_KEY", "12345"), ("JIUFU_COLLECTOR_SMSF_SECRET", "short-secret")] {
        let out = std::process::Command::new(&bin)
            .arg("status")
            .env("JIUFU_COLLECTOR_DB", tmp.path().join("c.db"))
            .env(var, value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(var) && err.contains("at least 16"), "{var}: {err}");
    }

    let (gw, sink, col, order) = setup(&[]).await;
    let key = col.status()["push_key"].as_str().unwrap().to_owned();
    assert!(key.len() >= 24, "a strong key was generated");
    for guess in ["00000", "00001", "00002", "00003", "00004"] {
        let (status, reply) = get(&heart_url(&col, now_ms(), guess), &[]).await;
        assert_eq!((status, reply["code"].as_i64()), (200, Some(-1)), "{reply}");
    }
    // Blocked now: the right key (heartbeat or payment) is refused too, without any sign computed.
    let started = Instant::now();
    let (status, reply) = get(&heart_url(&col, now_ms(), &key), &[]).await;
    assert_eq!((status, reply["code"].as_i64()), (429, Some(-1)), "{reply}");
    let (status, _) = get(&push_url(&col, "2", "5.00", &now_ms().to_string(), &key), &[]).await;
    assert_eq!(status, 429);
    assert!(started.elapsed() < Duration::from_secs(1), "answered at once");
    assert_eq!(smsforwarder(&col, ALIPAY, "成功收款5.00元", now_ms(), &secret_of(&col)).await, 429, "every route");
    nothing_changed(&gw, &sink, &col, &order).await;
    let phone = col.status()["sources"].as_array().unwrap().iter().find(|s| s["name"] == "vmq").cloned();
    assert!(phone.as_ref().is_none_or(|p| p["last_seen"].is_null()), "the phone was never online: {phone:?}");
}

/// S17: unauthenticated SmsForwarder traffic and replayed (or older) V免签
/// heartbeats mark nothing online, so the merchant's 1009 gate holds.
#[tokio::test(flavor = "multi_thread")]
async fn s17_only_authenticated_fresh_traffic_marks_sources_online() {
    let gw = Gateway::start_with(&[("JIUFU_COLLECTOR_ONLINE_SECS", "3")]);
    gw.cli(&["merchant", "add", "--id", "20002", "--name", "gated", "--key", KEY, "--require-collector"]);
    gw.cli(&["code", "add", "--merchant", "20002", "--channel", "P901", "--qr", "https://qr.alipay.com/g"]);
    let gated = |no: String| {
        let mut o = NewOrder::new(&no, "P901", "1.00", "https://shop.example.com/n");
        o.set("userid", "20002").sign();
        o
    };
    let token = gw.cli(&["collector", "pair", "--merchant", "20002"]);
    let mut col = CollectorProc::paired_with_token(&gw, token.trim(), &[("JIUFU_COLLECTOR_PHONE_ONLINE_SECS", "3")]);
    let device = || -> Option<Value> { serde_json::from_str(gw.cli(&["collector", "list", "--merchant", "20002"]).lines().next()?).ok() };
    let any_source_online = || device().is_some_and(|d| d["sources"].as_array().is_some_and(|s| s.iter().any(|s| s["online"] == true)));
    wait_for(Duration::from_secs(10), || async { device().is_some_and(|d| d["online"] == true).then_some(()) }).await.expect("online");

    // Unsigned, wrongly signed and stale SmsForwarder pushes, and a bad heartbeat.
    let text = "收钱码收款\n成功收款1.00元";
    assert_eq!(smsforwarder_form(&col, &smsforwarder_body(ALIPAY, text, now_ms(), None), &[]).await.0, 401);
    assert_eq!(smsforwarder(&col, ALIPAY, text, now_ms(), "a-wrong-secret-of-length").await, 401);
    assert_eq!(smsforwarder(&col, ALIPAY, text, now_ms() - 6 * 60_000, SMSF_SECRET).await, 401);
    assert_eq!(get(&heart_url(&col, now_ms(), "a-wrong-key-of-length-16"), &[]).await.1["code"], -1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!any_source_online(), "nothing online: {:?}", device());
    assert_eq!(gated(unique("g")).post(&gw).await["errorCode"], 1009, "the gate holds");

    // The phone's real heartbeat (t1), and an older one captured but never delivered (t0).
    let t0 = now_ms();
    let t1 = t0 + 1;
    let (captured_old, captured) = (heart_url(&col, t0, PUSH_KEY), heart_url(&col, t1, PUSH_KEY));
    assert_eq!(get(&captured, &[]).await.1["code"], 1);
    wait_for(Duration::from_secs(10), || async { any_source_online().then_some(()) }).await.expect("the phone online");
    // The phone falls silent; replaying its heartbeats brings nothing back.
    wait_for(Duration::from_secs(15), || async { (!any_source_online()).then_some(()) }).await.expect("the phone offline");
    for url in [&captured, &captured_old] {
        let reply = get(url, &[]).await.1;
        assert_eq!(reply["code"], -1, "{reply}");
    }
    // ... not even after the collector restarts.
    col.restart();
    let (_, reply) = get(&heart_url(&col, t1, PUSH_KEY), &[]).await;
    assert_eq!(reply["code"], -1, "replayed across a restart: {reply}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!any_source_online(), "nothing online: {:?}", device());
    assert_eq!(gated(unique("g")).post(&gw).await["errorCode"], 1009, "the gate holds");
}

/// S8/S9 (LAN): bodies over 64 KiB are refused before any sign is looked
/// at; requests from browsers are refused on every route, in each route's
/// reply shape, even when correctly signed; at most 4 KiB of a push's text
/// is stored.
#[tokio::test(flavor = "multi_thread")]
async fn lan_body_limit_browser_requests_and_stored_text() {
    let (gw, sink, col, order) = setup(&[]).await;
    let (key, secret) = (col.status()["push_key"].as_str().unwrap().to_owned(), secret_of(&col));

    let huge = format!("收钱码收款\n成功收款5.00元{}", "x".repeat(100 * 1024));
    let (status, reply) = smsforwarder_form(&col, &smsforwarder_body(ALIPAY, &huge, now_ms(), Some(&secret)), &[]).await;
    assert_eq!((status, reply["code"].as_i64()), (413, Some(-1)), "{reply}");
    let resp = http()
        .post(format!("{}/forward/generic", col.url))
        .header("x-jiufu-signature", "t=1,v1=00")
        .body(vec![b'{'; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);

    // An <img src="http://COMPUTER:8687/appPush?..."> on a web page: Sec-Fetch-* headers.
    let img = [("sec-fetch-dest", "image"), ("sec-fetch-mode", "no-cors"), ("sec-fetch-site", "cross-site")];
    let (status, reply) = get(&push_url(&col, "2", "5.00", &now_ms().to_string(), &key), &img).await;
    assert_eq!((status, reply["code"].as_i64()), (403, Some(-1)), "{reply}");
    assert!(reply.as_object().unwrap().contains_key("data"), "V免签's reply shape: {reply}");
    let (status, _) = get(&heart_url(&col, now_ms(), &key), &[("origin", "null")]).await;
    assert_eq!(status, 403);
    // A page's fetch() of the generic push, correctly signed.
    let body = br#"{"channel":"P901","amount":"5.00","text":"x"}"#;
    let t = (now_ms() / 1000).to_string();
    let v1 = sign::hmac_sha256_hex(key.as_bytes(), &[t.as_bytes(), b".", body]);
    let resp = http()
        .post(format!("{}/forward/generic", col.url))
        .header("origin", "http://evil.example")
        .header("x-jiufu-signature", format!("t={t},v1={v1}"))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    nothing_changed(&gw, &sink, &col, &order).await;

    // A long (under 64 KiB) signed notification of a payment nobody ordered: stored, cut to 4 KiB.
    let long = format!("收钱码收款\n成功收款7.77元。{}", "说明".repeat(1500));
    assert_eq!(smsforwarder(&col, ALIPAY, &long, now_ms(), &secret).await, 200);
    let stored = wait_for(Duration::from_secs(5), || async { col.payments(false).into_iter().next() }).await.expect("stored");
    let bytes = ["app", "title", "text"].iter().map(|k| stored[k].as_str().unwrap().len()).sum::<usize>();
    assert!(bytes <= 4096, "{bytes} bytes stored");
    assert_eq!(stored["amount"], "7.77");
    assert_eq!(state(&gw, &order).await, 5);
}

/// S11/S12: generated secrets are shown once on stdout, never in the log;
/// keys can come from files; the store is the owner's alone.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn s11_s12_secrets_stay_out_of_logs_and_the_store_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let (_gw, _sink, col, _order) = setup(&[]).await;
    let status = col.status();
    let (key, secret) = (status["push_key"].as_str().unwrap(), status["smsf_secret"].as_str().unwrap());
    let shown = col.first_output();
    assert!(shown.contains(key) && shown.contains(secret), "shown once on stdout when generated: {shown}");
    // Some bad traffic, so the log has something to say.
    assert_eq!(get(&heart_url(&col, now_ms(), "a-wrong-key-of-length-16"), &[]).await.1["code"], -1);
    let log = col.log();
    assert!(!log.contains(key) && !log.contains(secret), "no secret in the log:\n{log}");
    assert!(!col.cli(&["orders"]).contains(key), "nor in other commands' output");
    for suffix in ["", "-wal", "-shm"] {
        let path = col.dir.join(format!("collector.db{suffix}"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }

    // Keys from files instead of the environment or argv.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("key"), "from-a-file-push-key-0001\n").unwrap();
    std::fs::write(tmp.path().join("smsf"), "from-a-file-smsf-secret-01\n").unwrap();
    let run = |extra: &[(&str, std::path::PathBuf)]| {
        let mut cmd = std::process::Command::new(bin("jiufu-collector"));
        cmd.arg("status").env("JIUFU_COLLECTOR_DB", tmp.path().join("c.db")).env("JIUFU_LOG", "warn");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[("JIUFU_COLLECTOR_KEY_FILE", tmp.path().join("key")), ("JIUFU_COLLECTOR_SMSF_SECRET_FILE", tmp.path().join("smsf"))]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (st["push_key"].as_str(), st["smsf_secret"].as_str()),
        (Some("from-a-file-push-key-0001"), Some("from-a-file-smsf-secret-01"))
    );
    let both = run(&[("JIUFU_COLLECTOR_KEY_FILE", tmp.path().join("key")), ("JIUFU_COLLECTOR_KEY", "x".repeat(20).into())]);
    assert!(!both.status.success() && String::from_utf8_lossy(&both.stderr).contains("not both"));
}

/// S8 (LAN): hundreds of half-sent requests neither stop the phone's
/// heartbeat from being answered at once nor stay open past the header
/// timeout.
#[tokio::test(flavor = "multi_thread")]
async fn s8_half_sent_requests_neither_block_nor_linger() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let gw = Gateway::start();
    let col = CollectorProc::paired(&gw, &[]);
    let addr = col.url.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        s.write_all(b"GET /appHeart?t=1 HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    assert_eq!(vmq_heart(&col).await["code"], 1);
    assert!(started.elapsed() < Duration::from_secs(1), "answered in {:?}", started.elapsed());
    // The half-sent request is dropped once the header timeout (10 s) passes.
    let mut buf = [0u8; 256];
    let ended = tokio::time::timeout(Duration::from_secs(20), slow[0].read(&mut buf)).await;
    assert!(ended.is_ok(), "the connection was still open after 20 s");
}
