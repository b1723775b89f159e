//! S2: the D-Bus source trusts apps, not titles. Against the real
//! `jiufu-collector run` on a private session bus, paired with a real
//! gateway: a chat titled "支付宝通知" in a desktop messenger, a program
//! calling itself a payment app, KDE Connect's and GSConnect's formats sent
//! by a program that is not their daemon, and an SMS from a contact named
//! "支付宝" mirrored by GSConnect all leave the order waiting with nothing
//! stored; both formats from the allow-listed program still confirm.

use jiufu_e2e::collector::*;
use jiufu_e2e::dbus::{SessionBus, gdbus_as_gsconnect_rules, gdbus_as_kdeconnectd_rules, gdbus_path};
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
    // gdbus stands in for kdeconnectd and GSConnect's daemon (allow-listed
    // for their formats only); a desktop Alipay program is trusted only as
    // /opt/alipay/alipay.
    let desktop = "\n[[desktop]]\nchannel = \"P901\"\nids = [\"Alipay Desktop\"]\nexecutables = [\"/opt/alipay/alipay\"]\n";
    std::fs::write(&rules, gdbus_as_kdeconnectd_rules() + &gdbus_as_gsconnect_rules() + desktop).unwrap();
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
    let real_gsconnect = NewOrder::new(&unique("s2"), "P901", "5.55", &sink.url).create(&gw).await;
    assert_eq!(state(&gw, &target).await, 5);
    wait_for(Duration::from_secs(5), || async { (col.cli(&["orders"]).lines().count() == 3).then_some(()) }).await.expect("mirrored");
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
    // GSConnect: an SMS from a contact saved as "支付宝" (shown under the
    // contact's name, but the Android package is the messaging app's), and a
    // GSConnect notice from a program that is not its daemon.
    bus.notify_gsconnect(&gdbus, "支付宝", text, "0|com.android.mms|4|null|10001");
    bus.notify_gsconnect(&impostor, "支付宝", &format!("{title}: {text}"), "0|com.eg.android.AlipayGphone|4|null|10123");

    // The phone's real Alipay notices, mirrored by the allowed daemons.
    bus.notify_kdeconnect(&gdbus, "支付宝", title, "张三通过扫码向你付款6.66元");
    bus.notify_gsconnect(&gdbus, "支付宝", "收钱码收款: 成功收款5.55元", "0|com.eg.android.AlipayGphone|5|null|10123");
    // The monitor handles notifications in order: once these are through,
    // every one before them was decided.
    for order in [&real, &real_gsconnect] {
        let confirmed = wait_for(Duration::from_secs(20), || async { (state(&gw, order).await == 9).then_some(()) }).await;
        assert!(confirmed.is_some(), "the mirrored Alipay notice confirms its order; log:\n{}", col.log());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    assert_eq!(state(&gw, &target).await, 5, "no notification but the allowed one moved an order");
    let payments = col.payments(false);
    let mut apps: Vec<String> = payments.iter().map(|p| format!("{} {}", p["app"].as_str().unwrap_or(""), p["amount"])).collect();
    apps.sort();
    assert_eq!(
        apps,
        ["gsconnect/com.eg.android.AlipayGphone \"5.55\"", "kdeconnect/支付宝 \"6.66\""],
        "only the real payments were stored"
    );
    wait_for(Duration::from_secs(10), || async { (sink.calls().len() >= 2).then_some(()) }).await.expect("merchant notified");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls = sink.calls();
    assert_eq!(calls.len(), 2, "the merchant heard of the real payments only: {calls:?}");
    let log = col.log();
    let refusals = log.matches("refused a payment notification").count();
    assert_eq!(refusals, 3, "the desktop-program, KDE Connect and GSConnect impostors were refused for their executable:\n{log}");
    assert!(log.contains(&impostor.display().to_string()), "the refusal names the program that sent it:\n{log}");
}
