//! S2: the D-Bus source trusts apps, not titles. Against the real
//! `jiufu-collector run` on a private session bus, paired with a real
//! gateway: a chat titled "支付宝通知" in a desktop messenger, a program
//! calling itself a payment app, and KDE Connect's format sent by a program
//! that is not kdeconnectd all leave the order waiting with nothing stored;
//! KDE Connect's format from the allow-listed program still confirms.

use jiufu_e2e::collector::*;
use jiufu_e2e::dbus::{SessionBus, gdbus_as_kdeconnectd_rules, gdbus_path};
use jiufu_e2e::*;
use std::time::Duration;

async fn state(gw: &Gateway, id: &str) -> i64 {
    get_json(&format!("{}/query/{id}", gw.url)).await["state"].as_i64().expect("state")
}

#[tokio::test(flavor = "multi_thread")]
async fn only_allowed_programs_naming_a_payment_app_make_payments() {
    let bus = SessionBus::start().await;
    // Every sender waits for the daemon's answer, so each is still on the bus
    // when the collector asks who it is: what is refused below is refused for
    // who sent it, not because it had already gone.
    bus.set_reply_delay(Duration::from_millis(1500));
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    // gdbus stands in for kdeconnectd (allow-listed for KDE Connect's
    // format); a desktop Alipay program is trusted only as /opt/alipay/alipay.
    let desktop = "\n[[desktop]]\nchannel = \"P901\"\nids = [\"Alipay Desktop\"]\nexecutables = [\"/opt/alipay/alipay\"]\n";
    std::fs::write(&rules, gdbus_as_kdeconnectd_rules() + desktop).unwrap();
    // The same gdbus program under another path, named like the real daemon.
    let impostor = dir.path().join("kdeconnectd");
    std::fs::copy(gdbus_path(), &impostor).unwrap();

    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(
        &gw,
        &[("JIUFU_COLLECTOR_DBUS", "true"), ("DBUS_SESSION_BUS_ADDRESS", &bus.address), ("JIUFU_COLLECTOR_RULES", rules.to_str().unwrap())],
    );
    let target = NewOrder::new(&unique("s2"), "P901", "8.88", &sink.url).create(&gw).await;
    let real = NewOrder::new(&unique("s2"), "P901", "6.66", &sink.url).create(&gw).await;
    assert_eq!(state(&gw, &target).await, 5);
    wait_for(Duration::from_secs(5), || async { (col.cli(&["orders"]).lines().count() == 2).then_some(()) }).await.expect("mirrored");
    wait_for(Duration::from_secs(10), || async { col.cli(&["status"]).contains("\"dbus\"").then_some(()) }).await.expect("monitor up");

    let (title, text) = ("支付宝通知", "张三通过扫码向你付款8.88元");
    let gdbus = gdbus_path();
    // A chat message in desktop messengers, titled like Alipay.
    bus.notify("Telegram", title, text);
    bus.notify("org.telegram.desktop", title, text);
    // A program calling itself Alipay (gdbus is allowed for KDE Connect's format only).
    bus.notify("支付宝", title, text);
    bus.notify("Alipay", "收钱码收款", "成功收款8.88元");
    // A listed desktop payment program's name, from a program that is not it.
    bus.notify("Alipay Desktop", title, text);
    // KDE Connect's format, from a program that is not an allowed kdeconnectd.
    bus.notify_kdeconnect(&impostor, "支付宝", title, text);
    // A chat app mirrored from the phone by the real (allowed) daemon.
    bus.notify_kdeconnect(&gdbus, "Telegram", title, text);

    // The phone's real Alipay notice, mirrored by the allowed daemon.
    bus.notify_kdeconnect(&gdbus, "支付宝", title, "张三通过扫码向你付款6.66元");
    // The monitor handles notifications in order: once this one is through,
    // every one before it was decided.
    let confirmed = wait_for(Duration::from_secs(20), || async { (state(&gw, &real).await == 9).then_some(()) }).await;
    assert!(confirmed.is_some(), "the mirrored Alipay notice confirms its order; log:\n{}", col.log());
    tokio::time::sleep(Duration::from_secs(1)).await;

    assert_eq!(state(&gw, &target).await, 5, "no notification but the allowed one moved an order");
    let payments = col.payments(false);
    assert_eq!(payments.len(), 1, "only the real payment was stored: {payments:?}");
    assert_eq!(payments[0]["app"], "kdeconnect/支付宝");
    assert_eq!(payments[0]["amount"], "6.66");
    wait_for(Duration::from_secs(10), || async { (!sink.calls().is_empty()).then_some(()) }).await.expect("merchant notified");
    let calls = sink.calls();
    assert_eq!(calls.len(), 1, "the merchant heard of the real payment only: {calls:?}");
    let log = col.log();
    let refusals = log.matches("refused a payment notification").count();
    assert_eq!(refusals, 2, "the desktop-program and KDE Connect impostors were refused for their executable:\n{log}");
    assert!(log.contains(&impostor.display().to_string()), "the refusal names the program that sent it:\n{log}");
}
