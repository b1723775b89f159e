//! Issue 16 (money safety, round 2), the collector's intake, against the
//! real `jiufu-collector run` paired with a real gateway:
//!
//! * H1: a push's (timestamp, sign) is used up by whatever it carried, so a
//!   forwarded chat someone saw on the Wi-Fi cannot be sent again with a
//!   payment's text.
//! * H2: a chat group renamed to a payment title, or named like a payment
//!   statement, moves no order in any layout (SmsForwarder's five, KDE
//!   Connect, GSConnect).
//! * M4: the same notice sent again after the quarantine of the order it
//!   paid confirms no new order of that amount: SmsForwarder's default
//!   template with the same receive time and GSConnect with the same
//!   notification key are recorded as duplicates; KDE Connect's identical
//!   text (which carries nothing more) is recorded unmatched, and attaches
//!   by hand; two real payments whose layouts differ confirm two orders.

use jiufu_e2e::collector::*;
use jiufu_e2e::dbus::{MirrorDaemon, SessionBus};
use jiufu_e2e::smsf::{Forwarded, LAYOUTS};
use jiufu_e2e::*;
use jiufu_protocol::sign;
use serde_json::Value;
use std::time::Duration;

const ALIPAY: &str = "com.eg.android.AlipayGphone";
const WECHAT: &str = "com.tencent.mm";
const QQ: &str = "com.tencent.mobileqq";

async fn state(gw: &Gateway, id: &str) -> i64 {
    get_json(&format!("{}/query/{id}", gw.url)).await["state"].as_i64().expect("state")
}

async fn wait_state(gw: &Gateway, id: &str, want: i64) {
    let ok = wait_for(Duration::from_secs(15), || async { (state(gw, id).await == want).then_some(()) }).await;
    assert!(ok.is_some(), "order {id} never reached {want} (is {})", state(gw, id).await);
}

async fn wait_mirrored(col: &CollectorProc, order: &str) {
    wait_for(Duration::from_secs(10), || async { col.cli(&["orders"]).contains(order).then_some(()) }).await.expect("mirrored");
}

/// The order's payable amount as the gateway shows it.
async fn payable(gw: &Gateway, id: &str) -> String {
    let number = get_json(&format!("{}/query/{id}", gw.url)).await["order"]["amount"].to_string();
    let (yuan, fen) = number.split_once('.').unwrap_or((&number, ""));
    format!("{yuan}.{fen:0<2}")
}

/// The generic signed push (`X-Jiufu-Signature: t=…,v1=HMAC(key, t.body)`): its HTTP status.
async fn generic(col: &CollectorProc, t_s: i64, body: &str) -> u16 {
    let t = t_s.to_string();
    let v1 = sign::hmac_sha256_hex(PUSH_KEY.as_bytes(), &[t.as_bytes(), b".", body.as_bytes()]);
    let resp = http()
        .post(format!("{}/forward/generic", col.url))
        .header("content-type", "application/json")
        .header("x-jiufu-signature", format!("t={t},v1={v1}"))
        .body(body.to_owned())
        .send()
        .await
        .expect("generic push");
    resp.status().as_u16()
}

/// H1: in every SmsForwarder layout, a forwarded chat (not a payment) uses
/// its timestamp up: the same timestamp and sign carrying a payment's text,
/// in any layout, is refused 409 and records nothing. The generic push's
/// signed body that is not a payment is used up the same way.
#[tokio::test(flavor = "multi_thread")]
async fn h1_a_sign_is_used_up_by_whatever_it_carried() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(&gw, &[]);
    let order = NewOrder::new(&unique("h1"), "P901", "5.00", &sink.url).create(&gw).await;
    wait_mirrored(&col, &order).await;
    assert_eq!(payable(&gw, &order).await, "5.00");

    let chat = Forwarded { app: WECHAT, title: "张三", text: "今晚一起吃饭吗", received: "2026-12-07 12:00:00" };
    let payment = Forwarded {
        app: ALIPAY,
        title: "收钱码到账通知",
        text: "成功收款5.00元。享免费提现等更多专属服务，点击查看",
        received: "2026-12-07 12:00:01",
    };
    let t0 = now_ms();
    for (i, layout) in LAYOUTS.into_iter().enumerate() {
        let t = t0 + i as i64;
        assert_eq!(chat.send(&col, layout, t, SMSF_SECRET).await, 200, "{layout:?}: the chat is taken in (and is no payment)");
        // Someone on the Wi-Fi saw that push: its timestamp and sign again, with a payment's text.
        for again in LAYOUTS {
            assert_eq!(payment.send(&col, again, t, SMSF_SECRET).await, 409, "{layout:?}'s sign sent again as {again:?}");
        }
    }
    // The generic push: a verified body that is not a payment is used up too.
    let t_s = now_ms() / 1000;
    let bad = r#"{"channel":"P901","amount":"five"}"#;
    assert_eq!(generic(&col, t_s, bad).await, 400, "not a payment");
    assert_eq!(generic(&col, t_s, bad).await, 409, "the same signed push again");

    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(state(&gw, &order).await, 5, "the order did not move");
    assert!(col.payments(false).is_empty(), "nothing recorded: {:?}", col.payments(false));
    assert!(sink.calls().is_empty(), "no merchant notification");

    // A fresh timestamp still works (the sign secret was never the problem).
    assert_eq!(payment.send(&col, LAYOUTS[0], now_ms() + 100, SMSF_SECRET).await, 200);
    wait_state(&gw, &order, 9).await;
}

/// H2: group chats that borrow the payment account's title or voice, in
/// WeChat, QQ and Alipay, through every layout: no observation, no order moves.
#[tokio::test(flavor = "multi_thread")]
async fn h2_chat_groups_move_no_order_in_any_layout() {
    let bus = SessionBus::start().await;
    let daemon = MirrorDaemon::connect(&bus).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, MirrorDaemon::rules()).unwrap();
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(
        &gw,
        &[("JIUFU_COLLECTOR_DBUS", "true"), ("DBUS_SESSION_BUS_ADDRESS", &bus.address), ("JIUFU_COLLECTOR_RULES", rules.to_str().unwrap())],
    );
    let alipay = NewOrder::new(&unique("h2"), "P901", "8.88", &sink.url).create(&gw).await;
    let wechat = NewOrder::new(&unique("h2"), "P902", "8.88", &sink.url).create(&gw).await;
    for o in [&alipay, &wechat] {
        wait_mirrored(&col, o).await;
        assert_eq!(payable(&gw, o).await, "8.88");
    }
    wait_for(Duration::from_secs(10), || async { col.cli(&["status"]).contains("\"dbus\"").then_some(()) }).await.expect("monitor up");

    // (package, the app's label on the phone, title = the group, text = its line)
    let attacks = [
        (WECHAT, "微信", "微信支付", "张三: 收款8.88元"),
        (WECHAT, "微信", "微信支付收款8.88元", "张三: hi"),
        (WECHAT, "微信", "微信支付", "[3条]张三: 微信支付收款8.88元(朋友到店)"),
        (WECHAT, "微信", "收款通知", "张三：收款8.88元"),
        (QQ, "QQ", "QQ钱包", "张三: 收款8.88元"),
        (QQ, "QQ", "QQ钱包收款8.88元", "张三: hi"),
        (ALIPAY, "支付宝", "支付宝通知", "张三: 收款8.88元"),
        (ALIPAY, "支付宝", "你已成功收款8.88元", "张三: hi"),
        (ALIPAY, "支付宝", "收款通知", "张三: 李四通过扫码向你付款8.88元"),
    ];
    let t0 = now_ms();
    let mut n = 0;
    for (app, label, title, text) in attacks {
        let f = Forwarded { app, title, text, received: "2026-12-07 12:00:00" };
        for layout in LAYOUTS {
            n += 1;
            assert_eq!(f.send(&col, layout, t0 + n, SMSF_SECRET).await, 200, "{layout:?} {title} {text}");
        }
        daemon.kdeconnect(label, title, text).await;
        daemon.gsconnect(app, label, title, text).await;
    }
    // The monitor handles messages in order: once a last, real payment
    // (of an amount no order has) is in, every notification before it was decided.
    daemon.kdeconnect("支付宝", "收钱码到账通知", "成功收款1.23元").await;
    wait_for(Duration::from_secs(20), || async { col.payments(false).iter().any(|p| p["amount"] == "1.23").then_some(()) })
        .await
        .expect("the last notification was recorded");
    tokio::time::sleep(Duration::from_secs(3)).await;

    assert_eq!(state(&gw, &alipay).await, 5, "the Alipay order did not move");
    assert_eq!(state(&gw, &wechat).await, 5, "the WeChat order did not move");
    let payments = col.payments(false);
    assert_eq!(payments.len(), 1, "nothing but the last, real payment was recorded: {payments:?}");
    assert!(sink.calls().is_empty(), "no merchant notification: {:?}", sink.calls());
}

/// A gateway whose merchant 30003 holds a paid amount for 3 s only (so a
/// new order of that amount comes soon after), and a collector paired with it.
fn short_quarantine(extra_env: &[(&str, &str)]) -> (Gateway, CollectorProc) {
    let gw = Gateway::start();
    gw.cli(&["merchant", "add", "--id", "30003", "--name", "q", "--key", KEY, "--quarantine", "3"]);
    gw.cli(&["code", "add", "--merchant", "30003", "--channel", "P901", "--qr", "https://qr.alipay.com/q30003"]);
    let token = gw.cli(&["collector", "pair", "--merchant", "30003"]);
    let col = CollectorProc::paired_with_token(&gw, token.trim(), extra_env);
    (gw, col)
}

/// An order of merchant 30003 the collector knows of, at exactly `amount`.
async fn order_at(gw: &Gateway, col: &CollectorProc, amount: &str, notify: &str) -> String {
    let mut o = NewOrder::new(&unique("m4"), "P901", amount, notify);
    o.set("userid", "30003").sign();
    let id = o.create(gw).await;
    assert_eq!(payable(gw, &id).await, amount, "the amount is free again after the quarantine");
    wait_mirrored(col, &id).await;
    id
}

/// The recorded payments of `amount`, oldest first.
fn payments_of(col: &CollectorProc, amount: &str) -> Vec<Value> {
    let mut p: Vec<Value> = col.payments(false).into_iter().filter(|p| p["amount"] == amount).collect();
    p.sort_by_key(|p| p["observed_at"].as_i64());
    p
}

async fn wait_payments(col: &CollectorProc, amount: &str, count: usize) -> Vec<Value> {
    wait_for(Duration::from_secs(20), || async {
        let p = payments_of(col, amount);
        (p.len() >= count).then_some(p)
    })
    .await
    .unwrap_or_else(|| panic!("{count} payments of {amount} recorded; log:\n{}", col.log()))
}

/// M4, SmsForwarder: the default template re-forwarded (a new timestamp,
/// the same receive time) after the quarantine of the order it paid is a
/// duplicate; a second real payment, received at another time, confirms.
#[tokio::test(flavor = "multi_thread")]
async fn m4_a_reforwarded_notice_is_a_duplicate_and_a_second_payment_still_counts() {
    let (gw, col) = short_quarantine(&[]);
    let sink = sink::Sink::start(0).await;
    let first = order_at(&gw, &col, "5.00", &sink.url).await;
    let notice = Forwarded {
        app: ALIPAY,
        title: "收钱码到账通知",
        text: "成功收款5.00元。享免费提现等更多专属服务，点击查看",
        received: "2026-12-07 10:00:01",
    };
    assert_eq!(notice.send(&col, LAYOUTS[0], now_ms(), SMSF_SECRET).await, 200);
    wait_state(&gw, &first, 9).await;

    tokio::time::sleep(Duration::from_millis(4500)).await;
    let second = order_at(&gw, &col, "5.00", &sink.url).await;
    // SmsForwarder sends it again (its retry, or a resend from its log), in any default-template layout.
    for (i, layout) in LAYOUTS[..3].iter().enumerate() {
        assert_eq!(notice.send(&col, *layout, now_ms() + i as i64, SMSF_SECRET).await, 200, "{layout:?}");
    }
    let seen = wait_payments(&col, "5.00", 4).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(state(&gw, &second).await, 5, "the re-forwarded notice confirmed no new order");
    for p in &seen[1..] {
        assert_eq!(p["status"], "duplicate", "{seen:?}");
        assert_eq!(p["duplicate_of"], seen[0]["id"], "{seen:?}");
    }

    // A second real payment of the same amount: the phone received it at another time.
    let again = Forwarded { received: "2026-12-07 10:09:30", ..notice };
    assert_eq!(again.send(&col, LAYOUTS[0], now_ms() + 10, SMSF_SECRET).await, 200);
    wait_state(&gw, &second, 9).await;
}

/// M4, the mirrors: GSConnect's notification under the same key again is a
/// duplicate (another key confirms); KDE Connect's identical text is
/// recorded unmatched, and the operator attaches it by hand.
#[tokio::test(flavor = "multi_thread")]
async fn m4_mirrors_replaying_the_shade_confirm_no_new_order() {
    let bus = SessionBus::start().await;
    let daemon = MirrorDaemon::connect(&bus).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, MirrorDaemon::rules()).unwrap();
    let (gw, col) = short_quarantine(&[
        ("JIUFU_COLLECTOR_DBUS", "true"),
        ("DBUS_SESSION_BUS_ADDRESS", &bus.address),
        ("JIUFU_COLLECTOR_RULES", rules.to_str().unwrap()),
    ]);
    let sink = sink::Sink::start(0).await;
    wait_for(Duration::from_secs(10), || async { col.cli(&["status"]).contains("\"dbus\"").then_some(()) }).await.expect("monitor up");

    // GSConnect, one Android notification key.
    let key = "0|com.eg.android.AlipayGphone|4242|null|10123";
    let g1 = order_at(&gw, &col, "6.00", &sink.url).await;
    daemon.gsconnect_keyed(key, ALIPAY, "支付宝", "收钱码收款", "成功收款6.00元").await;
    wait_state(&gw, &g1, 9).await;
    // KDE Connect.
    let k1 = order_at(&gw, &col, "7.00", &sink.url).await;
    daemon.kdeconnect("支付宝", "收钱码收款", "成功收款7.00元").await;
    wait_state(&gw, &k1, 9).await;

    tokio::time::sleep(Duration::from_millis(4500)).await;
    let g2 = order_at(&gw, &col, "6.00", &sink.url).await;
    let k2 = order_at(&gw, &col, "7.00", &sink.url).await;
    // The phone reconnects: both mirrors show its shade again.
    daemon.gsconnect_keyed(key, ALIPAY, "支付宝", "收钱码收款", "成功收款6.00元").await;
    daemon.kdeconnect("支付宝", "收钱码收款", "成功收款7.00元").await;
    let g = wait_payments(&col, "6.00", 2).await;
    wait_payments(&col, "7.00", 2).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(state(&gw, &g2).await, 5, "GSConnect's replay confirmed no new order");
    assert_eq!(state(&gw, &k2).await, 5, "KDE Connect's replay confirmed no new order");
    assert_eq!((&g[1]["status"], &g[1]["duplicate_of"]), (&Value::from("duplicate"), &g[0]["id"]), "{g:?}");
    let k = payments_of(&col, "7.00");
    assert_eq!(k[1]["status"], "unmatched", "KDE Connect cannot tell a replay from a second payment: {k:?}");
    assert!(col.payments(true).iter().any(|p| p["id"] == k[1]["id"]), "listed for the operator");

    // A real second payment through GSConnect comes under another key; the
    // operator attaches KDE Connect's (one click in the window, or the CLI).
    daemon.gsconnect_keyed("0|com.eg.android.AlipayGphone|4243|null|10123", ALIPAY, "支付宝", "收钱码收款", "成功收款6.00元").await;
    wait_state(&gw, &g2, 9).await;
    col.cli(&["payment", "attach", k[1]["id"].as_str().unwrap(), &k2]);
    wait_state(&gw, &k2, 9).await;
}
