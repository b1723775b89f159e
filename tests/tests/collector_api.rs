//! The gateway's collector API: pairing, code sync, live orders,
//! confirmations, unmatched reports, heartbeats, and refusal of replayed
//! or forged requests.

use jiufu_e2e::*;
use jiufu_protocol::collector::*;
use jiufu_protocol::ids::random_token;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

struct Device {
    gateway: String,
    id: String,
    secret: String,
}

struct Signed {
    status: u16,
    body: Value,
}

impl Device {
    async fn pair(gw: &Gateway) -> Device {
        let token = gw.cli(&["collector", "pair", "--merchant", "10001"]).trim().to_owned();
        assert_eq!(token.lines().count(), 1);
        let resp =
            http().post(format!("{}/collector/v1/pair", gw.url)).json(&json!({"token": token, "name": "收银电脑"})).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let p: PairResponse = resp.json().await.unwrap();
        assert_eq!(p.merchant_id, 10001);
        // a pairing token works once
        let again = http().post(format!("{}/collector/v1/pair", gw.url)).json(&json!({"token": token})).send().await.unwrap();
        assert_eq!(again.status(), 401);
        Device { gateway: gw.url.clone(), id: p.device_id, secret: p.secret }
    }

    fn headers(&self, method: &str, path: &str, body: &[u8], ts: i64, nonce: &str) -> Vec<(&'static str, String)> {
        let sig = request_signature(&self.secret, method, path, ts, nonce, body);
        vec![
            (HEADER_DEVICE, self.id.clone()),
            (HEADER_TIMESTAMP, ts.to_string()),
            (HEADER_NONCE, nonce.to_owned()),
            (HEADER_SIGNATURE, sig),
        ]
    }

    async fn send_with(&self, method: &str, path: &str, body: &Value, headers: Vec<(&'static str, String)>) -> Signed {
        let bytes = if body.is_null() { Vec::new() } else { serde_json::to_vec(body).unwrap() };
        let mut req = http().request(method.parse().unwrap(), format!("{}{path}", self.gateway)).body(bytes);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.header("content-type", "application/json").send().await.unwrap();
        let status = resp.status().as_u16();
        Signed { status, body: resp.json().await.unwrap_or(Value::Null) }
    }

    async fn send(&self, method: &str, path: &str, body: &Value) -> Signed {
        let bytes = if body.is_null() { Vec::new() } else { serde_json::to_vec(body).unwrap() };
        let headers = self.headers(method, path, &bytes, now(), &random_token(16));
        self.send_with(method, path, body, headers).await
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test(flavor = "multi_thread")]
async fn pair_sync_see_confirm_and_notify() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let dev = Device::pair(&gw).await;

    // sync a code: the gateway serves it on checkout
    let codes = json!({"codes": [{"uid": "c1", "channel": "P903", "qr_text": "https://i.qianbao.qq.com/wallet/sqrcode.htm?m=tenpay&a=1&u=1&ac=X", "name": "QQ"}]});
    let r = dev.send("PUT", "/collector/v1/codes", &codes).await;
    assert_eq!((r.status, r.body["accepted"].as_i64()), (200, Some(1)), "{:?}", r.body);
    let listed = dev.send("GET", "/collector/v1/codes", &Value::Null).await;
    assert!(listed.body.as_array().unwrap().iter().any(|c| c["uid"] == "c1"));

    let snapshot = dev.send("GET", "/collector/v1/orders", &Value::Null).await;
    assert_eq!(snapshot.status, 200);
    let cursor = snapshot.body["cursor"].as_i64().unwrap();

    // A new order reaches a waiting long poll at once: the gateway wakes it.
    // (Without the wake-up the poll would only look again at its next
    // one-second check, about 700 ms after the order.)
    let poll = {
        let path = format!("/collector/v1/events?after={cursor}&wait=20");
        let dev = Device { gateway: dev.gateway.clone(), id: dev.id.clone(), secret: dev.secret.clone() };
        tokio::spawn(async move {
            let r = dev.send("GET", &path, &Value::Null).await;
            (Instant::now(), r)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let no = unique("c");
    let id = NewOrder::new(&no, "P903", "25.00", &sink.url).create(&gw).await;
    let created_at = Instant::now();
    let (seen_at, events) = poll.await.unwrap();
    let latency = seen_at.duration_since(created_at);
    assert!(latency < Duration::from_millis(250), "seen after {latency:?}");
    let batch: EventBatch = serde_json::from_value(events.body.clone()).unwrap();
    let ev = batch.events.iter().find(|e| e.order.order_id == id).expect("the new order");
    assert_eq!(ev.order.state.get().map(|s| s.code()), Some(5));
    assert_eq!(ev.order.payable_amount.to_string(), "25.00");
    assert!(get_json(&format!("{}/query/{id}", gw.url)).await["order"]["qrcode"].as_str().unwrap().contains("qianbao"));

    // catch-up after being offline: events after the old cursor still there
    let again = dev.send("GET", &format!("/collector/v1/events?after={cursor}&wait=0"), &Value::Null).await;
    assert!(again.body["events"].as_array().unwrap().iter().any(|e| e["order"]["order_id"] == id.as_str()));

    // wrong amount is refused and changes nothing
    let evidence = json!({"observation_id": "obs-1", "source": "vmq", "observed_at": now() * 1000, "raw_text": "QQ钱包 收款25.00元"});
    let wrong = dev
        .send("POST", "/collector/v1/confirmations", &json!({"order_id": id, "channel": "P903", "amount": "24.99", "evidence": evidence}))
        .await;
    assert_eq!((wrong.status, wrong.body["error"]["code"].as_str()), (422, Some("amount_mismatch")));
    assert_eq!(get_json(&format!("{}/query/{id}", gw.url)).await["state"], 5);

    // confirm → 9, merchant notified; the same confirmation again is idempotent
    let body = json!({"order_id": id, "channel": "P903", "amount": "25.00", "evidence": evidence});
    let ok = dev.send("POST", "/collector/v1/confirmations", &body).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!((ok.body["state"].as_i64(), ok.body["duplicate"].as_bool()), (Some(9), Some(false)));
    let dup = dev.send("POST", "/collector/v1/confirmations", &body).await;
    assert_eq!((dup.status, dup.body["duplicate"].as_bool()), (200, Some(true)));
    let other = dev
        .send(
            "POST",
            "/collector/v1/confirmations",
            &json!({"order_id": id, "channel": "P903", "amount": "25.00",
        "evidence": {"observation_id": "obs-2", "source": "dbus", "observed_at": now() * 1000}}),
        )
        .await;
    assert_eq!((other.status, other.body["error"]["code"].as_str()), (409, Some("already_paid")));
    wait_for(Duration::from_secs(10), || async { (!sink.calls().is_empty()).then_some(()) }).await.expect("merchant notified");
    assert_eq!(get_json(&format!("{}/query/{id}", gw.url)).await["state"], 9);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.calls().len(), 1);

    // unmatched payment report, idempotent
    let report = json!({"channel": "P901", "amount": "3.21", "evidence": {"observation_id": "obs-u", "source": "smsforwarder", "observed_at": now() * 1000, "raw_text": "成功收款3.21元"}});
    let u1 = dev.send("POST", "/collector/v1/unmatched", &report).await;
    let u2 = dev.send("POST", "/collector/v1/unmatched", &report).await;
    assert_eq!((u1.body["recorded"].as_bool(), u2.body["recorded"].as_bool()), (Some(true), Some(false)));

    // heartbeat → shown online with its sources
    let hb = dev
        .send(
            "POST",
            "/collector/v1/heartbeat",
            &json!({"version": "test", "sources": [{"name": "phone", "kind": "vmq", "online": true, "channels": ["P901"]}]}),
        )
        .await;
    assert_eq!(hb.status, 200);
    let list = gw.cli(&["collector", "list", "--merchant", "10001"]);
    let health: Value = serde_json::from_str(list.lines().next().unwrap()).unwrap();
    assert_eq!(health["online"], true);
    assert_eq!(health["sources"][0]["online"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_forged_and_stale_requests_are_refused() {
    let gw = Gateway::start();
    let dev = Device::pair(&gw).await;
    let path = "/collector/v1/heartbeat";
    let body = json!({"sources": []});
    let bytes = serde_json::to_vec(&body).unwrap();
    let headers = dev.headers("POST", path, &bytes, now(), &random_token(16));
    assert_eq!(dev.send_with("POST", path, &body, headers.clone()).await.status, 200);
    let replay = dev.send_with("POST", path, &body, headers).await;
    assert_eq!(replay.status, 401, "replay");
    assert!(replay.body["error"]["message"].as_str().unwrap().contains("replay"));

    let stale = dev.headers("POST", path, &bytes, now() - 600, &random_token(16));
    assert_eq!(dev.send_with("POST", path, &body, stale).await.status, 401, "stale");

    let forged = Device { gateway: dev.gateway.clone(), id: dev.id.clone(), secret: "not-the-secret".into() };
    assert_eq!(forged.send("POST", path, &body).await.status, 401, "forged");

    // a body changed after signing
    let signed = dev.headers("POST", path, &bytes, now(), &random_token(16));
    let other_body = json!({"sources": [{"name": "x", "kind": "vmq", "online": true}]});
    assert_eq!(dev.send_with("POST", path, &other_body, signed).await.status, 401, "body not the signed one");

    // a nonce swapped after signing
    let mut tampered = dev.headers("POST", path, &bytes, now(), &random_token(16));
    tampered.retain(|(k, _)| *k != HEADER_NONCE);
    tampered.push((HEADER_NONCE, random_token(16)));
    assert_eq!(dev.send_with("POST", path, &body, tampered).await.status, 401, "nonce not covered by the signature");

    let unknown = Device { gateway: dev.gateway.clone(), id: "dev_nobody".into(), secret: dev.secret.clone() };
    assert_eq!(unknown.send("POST", path, &body).await.status, 401);
    let unsigned = http().post(format!("{}{path}", gw.url)).json(&body).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);

    // another merchant's order is invisible
    gw.cli(&["merchant", "add", "--id", "40004", "--name", "other", "--key", KEY]);
    gw.cli(&["code", "add", "--merchant", "40004", "--channel", "P901", "--qr", "https://qr.alipay.com/o"]);
    let mut o = NewOrder::new("other-1", "P901", "1.00", "https://shop.example.com/n");
    o.set("userid", "40004").sign();
    let foreign = o.create(&gw).await;
    let r = dev
        .send(
            "POST",
            "/collector/v1/confirmations",
            &json!({"order_id": foreign, "channel": "P901", "amount": "1.00",
        "evidence": {"observation_id": "x", "source": "vmq", "observed_at": 0}}),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(get_json(&format!("{}/query/{foreign}", gw.url)).await["state"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_collector_version_of_the_last_heartbeat_is_listed_and_checked() {
    let gw = Gateway::start();
    let dev = Device::pair(&gw).await;
    let listed =
        || -> Value { serde_json::from_str(gw.cli(&["collector", "list", "--merchant", "10001"]).lines().next().unwrap()).unwrap() };
    assert_eq!(listed()["version"], Value::Null, "no heartbeat yet");
    let beat = |version: Value| json!({"version": version, "sources": []});
    assert_eq!(dev.send("POST", "/collector/v1/heartbeat", &beat(json!("0.1.0"))).await.status, 200);
    assert_eq!(listed()["version"], "0.1.0");
    assert_eq!(dev.send("POST", "/collector/v1/heartbeat", &beat(json!("0.2.0-beta.1+git.5"))).await.status, 200);
    assert_eq!(listed()["version"], "0.2.0-beta.1+git.5", "the latest heartbeat's");
    // Hostile or broken versions are refused and change nothing.
    for bad in [json!("9".repeat(33)), json!("1.0\u{1b}[2J"), json!("1.0 <script>"), json!("1.0\n"), json!(7)] {
        let r = dev.send("POST", "/collector/v1/heartbeat", &beat(bad.clone())).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (400, Some("bad_request")), "{bad}");
    }
    assert_eq!(listed()["version"], "0.2.0-beta.1+git.5");
    // An older collector that sends no version still beats.
    assert_eq!(dev.send("POST", "/collector/v1/heartbeat", &json!({"sources": []})).await.status, 200);
    assert_eq!(listed()["online"], true);
}
