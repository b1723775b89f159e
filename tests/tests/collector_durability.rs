//! Nothing observed is lost: kill -9 of the collector before the gateway
//! acknowledged, and the gateway away for a while. And the computer's own
//! notifications on a real (private) session bus.

use jiufu_e2e::collector::*;
use jiufu_e2e::dbus::SessionBus;
use jiufu_e2e::*;
use serde_json::{Value, json};
use std::time::Duration;

async fn wait_state(gw: &Gateway, id: &str, want: i64, secs: u64) {
    let ok = wait_for(Duration::from_secs(secs), || async {
        (get_json(&format!("{}/query/{id}", gw.url)).await["state"].as_i64() == Some(want)).then_some(())
    })
    .await;
    assert!(ok.is_some(), "order {id} never reached {want}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill9_of_the_collector_before_the_gateway_acknowledged() {
    let mut gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let mut col = CollectorProc::paired(&gw, &[]);
    let order = NewOrder::new(&unique("k"), "P901", "4.20", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(5), || async { (!col.cli(&["orders"]).is_empty()).then_some(()) }).await.expect("mirrored");
    // the gateway is away: the observation is stored and queued, not acknowledged
    gw.kill9();
    assert_eq!(vmq_push(&col, "2", "4.20", now_ms(), PUSH_KEY).await["code"], 1);
    col.kill9();
    gw.restart();
    col.restart();
    wait_state(&gw, &order, 9, 30).await;
    wait_for(Duration::from_secs(15), || async { (sink.calls().len() == 1).then_some(()) }).await.expect("notified");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.calls().len(), 1, "once");
}

#[tokio::test(flavor = "multi_thread")]
async fn gateway_away_then_back_confirmations_go_through_once() {
    let mut gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(&gw, &[]);
    let a = NewOrder::new(&unique("g"), "P901", "6.00", &sink.url).create(&gw).await;
    let b = NewOrder::new(&unique("g"), "P901", "6.00", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(5), || async { (col.cli(&["orders"]).lines().count() >= 2).then_some(()) }).await.expect("mirrored");
    gw.kill9();
    assert_eq!(vmq_push(&col, "2", "6.00", now_ms(), PUSH_KEY).await["code"], 1);
    assert_eq!(smsforwarder(&col, "com.eg.android.AlipayGphone", "成功收款5.99元", now_ms(), SMSF_SECRET).await, 200);
    // away long enough for several failed deliveries (retried after 1, 2 and 5 s)
    tokio::time::sleep(Duration::from_secs(8)).await;
    let status: serde_json::Value = serde_json::from_str(&col.cli(&["status"])).unwrap();
    assert_eq!(status["queued"], 2, "both confirmations wait in the queue: {status}");
    let away = col.outbox();
    assert_eq!(away.len(), 2, "{away:?}");
    for item in &away {
        assert_eq!((&item["kind"], &item["done_at"]), (&json!("confirm"), &Value::Null), "{item}");
        assert!(item["attempts"].as_i64().unwrap() >= 3, "tried again and again while the gateway was away: {item}");
        assert!(!item["last_error"].as_str().unwrap().is_empty(), "why the last attempt failed: {item}");
    }
    gw.restart();
    wait_state(&gw, &a, 9, 90).await;
    wait_state(&gw, &b, 9, 90).await;
    wait_for(Duration::from_secs(15), || async { (sink.calls().len() == 2).then_some(()) }).await.expect("notified");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.calls().len(), 2, "each once");
    // Delivered once the gateway was back: each item done, by one more attempt, and never sent again.
    let back = col.outbox();
    for (before, after) in away.iter().zip(&back) {
        assert_eq!(after["id"], before["id"]);
        assert!(after["done_at"].is_i64(), "delivered: {after}");
        assert!(after["attempts"].as_i64() > before["attempts"].as_i64(), "{before} → {after}");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(col.outbox(), back, "nothing sent after the acknowledgement");
    for id in [&a, &b] {
        let history = gw.show(id)["history"].as_array().unwrap().clone();
        let confirmed: Vec<&Value> = history.iter().filter(|e| e["to_state"] == 9).collect();
        assert_eq!(confirmed.len(), 1, "one confirmation of {id}: {history:?}");
        assert_eq!(confirmed[0]["actor"].as_str().map(|a| a.starts_with("device:")), Some(true), "by the collector: {history:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn desktop_notification_on_the_session_bus_confirms() {
    let bus = SessionBus::start().await;
    // gdbus waits for the daemon's answer, so it is still on the bus when the
    // collector asks who sent the notification (kdeconnectd always is).
    bus.set_reply_delay(Duration::from_millis(1500));
    let rules_dir = tempfile::tempdir().unwrap();
    let rules = rules_dir.path().join("rules.toml");
    std::fs::write(&rules, jiufu_e2e::dbus::gdbus_as_kdeconnectd_rules()).unwrap();
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(
        &gw,
        &[("JIUFU_COLLECTOR_DBUS", "true"), ("DBUS_SESSION_BUS_ADDRESS", &bus.address), ("JIUFU_COLLECTOR_RULES", rules.to_str().unwrap())],
    );
    let order = NewOrder::new(&unique("dbus"), "P901", "0.01", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(5), || async { (!col.cli(&["orders"]).is_empty()).then_some(()) }).await.expect("mirrored");
    wait_for(Duration::from_secs(10), || async { col.cli(&["status"]).contains("\"dbus\"").then_some(()) }).await.expect("monitor up");
    let gdbus = jiufu_e2e::dbus::gdbus_path();
    // not a payment: must not confirm anything
    bus.notify_kdeconnect(&gdbus, "支付宝", "支付宝", "你已成功付款0.01元");
    bus.notify_kdeconnect(&gdbus, "支付宝", "收钱码收款", "成功收款0.01元");
    wait_state(&gw, &order, 9, 15).await;
    let payments = col.payments(false);
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["source"], "dbus");
    assert_eq!(payments[0]["app"], "kdeconnect/支付宝");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_online_offline_and_the_gate() {
    let gw = Gateway::start_with(&[("JIUFU_COLLECTOR_ONLINE_SECS", "3")]);
    gw.cli(&["merchant", "add", "--id", "20002", "--name", "gated", "--key", KEY, "--require-collector"]);
    gw.cli(&["code", "add", "--merchant", "20002", "--channel", "P901", "--qr", "https://qr.alipay.com/g"]);
    let gated = |no: &str| {
        let mut o = NewOrder::new(no, "P901", "1.00", "https://shop.example.com/n");
        o.set("userid", "20002").sign();
        o
    };
    assert_eq!(gated("h0").post(&gw).await["errorCode"], 1009, "nobody can confirm yet");
    let token = gw.cli(&["collector", "pair", "--merchant", "20002"]);
    let mut col = CollectorProc::paired_with_token(&gw, token.trim(), &[("JIUFU_COLLECTOR_PHONE_ONLINE_SECS", "3")]);
    // the phone app's heartbeat makes the phone source online
    assert_eq!(vmq_heart(&col).await["code"], 1);
    let online = wait_for(Duration::from_secs(10), || async {
        let l = gw.cli(&["collector", "list", "--merchant", "20002"]);
        let h: serde_json::Value = serde_json::from_str(l.lines().next()?).ok()?;
        (h["online"] == true && h["sources"].as_array()?.iter().any(|s| s["name"] == "phone" && s["online"] == true)).then_some(h)
    })
    .await;
    assert!(online.is_some(), "collector and phone shown online");
    assert_eq!(gated("h1").post(&gw).await["success"], true, "orders accepted while a collector can confirm");
    // the phone app falls silent: its source goes offline while the collector stays online
    let phone_offline = wait_for(Duration::from_secs(15), || async {
        let l = gw.cli(&["collector", "list", "--merchant", "20002"]);
        let h: serde_json::Value = serde_json::from_str(l.lines().next()?).ok()?;
        (h["online"] == true && h["sources"].as_array()?.iter().any(|s| s["name"] == "phone" && s["online"] == false)).then_some(())
    })
    .await;
    assert!(phone_offline.is_some(), "phone shown offline after its heartbeats stopped");
    col.kill9();
    assert!(
        jiufu_e2e::wait_for(Duration::from_secs(20), || async {
            let l = gw.cli(&["collector", "list", "--merchant", "20002"]);
            let h: serde_json::Value = serde_json::from_str(l.lines().next()?).ok()?;
            (h["online"] == false).then_some(())
        })
        .await
        .is_some(),
        "shown offline after the heartbeat lapsed"
    );
    assert_eq!(gated("h2").post(&gw).await["errorCode"], 1009);
}
