//! The desktop app, driven in its real window (Xvfb + tauri-driver +
//! WebKitWebDriver) against a real gateway: pair, add a code from a PNG,
//! watch orders arrive, a V免签 push matched, a claimed order confirmed and
//! another rejected by hand, an unmatched payment attached, desktop
//! notifications seen on the session bus, every screen photographed.

use jiufu_e2e::collector::{PUSH_KEY, now_ms};
use jiufu_e2e::dbus::SessionBus;
use jiufu_e2e::desktop::DesktopApp;
use jiufu_e2e::*;
use jiufu_protocol::sign;
use serde_json::Value;
use std::time::{Duration, Instant};

const CODE_TEXT: &str = "https://qr.alipay.com/fkx19999desktop";

async fn state(gw: &Gateway, id: &str) -> i64 {
    get_json(&format!("{}/query/{id}", gw.url)).await["state"].as_i64().unwrap()
}

async fn wait_state(gw: &Gateway, id: &str, want: i64) {
    let ok = wait_for(Duration::from_secs(15), || async { (state(gw, id).await == want).then_some(()) }).await;
    assert!(ok.is_some(), "order {id} never reached {want} (is {})", state(gw, id).await);
}

async fn payable(gw: &Gateway, id: &str) -> String {
    get_json(&format!("{}/query/{id}", gw.url)).await["order"]["amount"].to_string()
}

/// The V免签 phone app's push to the app's LAN listener.
async fn vmq_push(app: &DesktopApp, kind: &str, price: &str) -> Value {
    let t = now_ms().to_string();
    let s = sign::vmq_push_sign(kind, price, &t, PUSH_KEY);
    let url = format!("{}/appPush?t={t}&type={kind}&price={price}&sign={s}", app.listen_url);
    http().get(url).send().await.expect("appPush").json().await.expect("V免签 reply")
}

async fn claim(gw: &Gateway, id: &str) {
    let r = http().post(format!("{}/transfer/{id}/paid", gw.url)).header("accept", "application/json").send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["state"], 8);
}

async fn wait_notification(bus: &SessionBus, needle: &str) -> u32 {
    let found = wait_for(Duration::from_secs(20), || async { bus.shown().into_iter().find(|n| n.summary.contains(needle)) }).await;
    let n = found.unwrap_or_else(|| panic!("no desktop notification {needle:?}; shown: {:?}", bus.shown()));
    assert_eq!(n.app, "jiufu-desktop");
    assert!(n.actions.contains(&"default".to_owned()), "a click opens the app: {:?}", n.actions);
    n.id
}

fn code_png(dir: &std::path::Path) -> std::path::PathBuf {
    let code = qrcode::QrCode::new(CODE_TEXT.as_bytes()).unwrap();
    let img = code.render::<image::Luma<u8>>().quiet_zone(true).module_dimensions(8, 8).build();
    let path = dir.join("alipay-code.png");
    img.save(&path).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_runs_the_collector_end_to_end() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let bus = SessionBus::start().await;
    let app = DesktopApp::start(&bus, &[("JIUFU_COLLECTOR_KEY", PUSH_KEY), ("JIUFU_COLLECTOR_HEARTBEAT_SECS", "1")]).await;
    let s = &app.session;
    app.assert_fits("overview").await;

    // No global Tauri API in the page, and no core API beyond listening to the app's events.
    assert_eq!(s.script("return typeof window.__TAURI__").await.unwrap(), "undefined");
    for (cmd, args) in [("plugin:event|emit", "{event: 'core', payload: {kind: 'orders'}}"), ("plugin:app|version", "{}")] {
        let js = format!("return window.__TAURI_INTERNALS__.invoke('{cmd}', {args}).then(() => 'allowed', (e) => 'refused: ' + e)");
        let answer = s.script(&js).await.unwrap();
        assert!(answer.as_str().unwrap_or_default().starts_with("refused"), "{cmd}: {answer}");
    }

    // Pair: paste the token the gateway printed. Plain http:// to another computer is refused.
    let token = gw.cli(&["collector", "pair", "--merchant", "10001"]);
    app.open("设置").await;
    s.fill("input[aria-label=\"网关地址\"]", "http://192.0.2.1:1").await.unwrap();
    s.fill("input[aria-label=\"配对令牌\"]", token.trim()).await.unwrap();
    s.click("button[aria-label=\"配对\"]").await.unwrap();
    s.wait_text(".toast[role=alert]", "不通过明文 http:// 配对", Duration::from_secs(5)).await.expect("plain http:// refused");
    s.wait_for("input[type=checkbox][aria-label^=\"允许通过不加密的 http:// 配对\"]", Duration::from_secs(1))
        .await
        .expect("the opt-in is offered");
    s.fill("input[aria-label=\"网关地址\"]", &gw.url).await.unwrap();
    s.fill("input[aria-label=\"配对令牌\"]", token.trim()).await.unwrap();
    s.click("button[aria-label=\"配对\"]").await.unwrap();
    s.wait_text("form[aria-label=\"网关配对\"] [role=status]", "已配对", Duration::from_secs(10)).await.expect("paired");
    s.wait_text("#link-badge", "网关已连接", Duration::from_secs(10)).await.expect("link up");
    // SmsForwarder's setup: the generated secret and the webhook address, copyable.
    let secret_box = "input[aria-label=\"SmsForwarder 密钥（加签 secret）\"]";
    let secret = s.script(&format!("return document.querySelector('{secret_box}').value")).await.unwrap();
    assert!(secret.as_str().is_some_and(|v| v.len() >= 24), "a generated secret is shown: {secret:?}");
    s.wait_text("code[aria-label=\"Webhook 地址\"]", "/forward/smsforwarder", Duration::from_secs(2)).await.expect("webhook shown");
    s.click("button[aria-label=\"复制 SmsForwarder 密钥（加签 secret）\"]").await.unwrap();
    s.wait_text("#toasts", "已复制到剪贴板", Duration::from_secs(5)).await.expect("copied");
    app.assert_fits("settings").await;
    app.screenshot("settings").await;

    // A code from a PNG file: decoded, previewed, added, synced.
    app.open("收款码").await;
    let png = code_png(app.data.path());
    s.type_text("input[aria-label=\"收款码图片\"]", &png.display().to_string()).await.expect("choose the PNG");
    s.wait_text("form[aria-label=\"添加收款码\"] [role=status]", "已识别二维码", Duration::from_secs(10)).await.expect("decoded");
    let decoded = s.script("return document.querySelector('textarea[aria-label=\"收款码内容\"]').value").await.unwrap();
    assert_eq!(decoded, CODE_TEXT);
    s.fill("input[aria-label=\"名称\"]", "店里的支付宝").await.unwrap();
    s.click("button[aria-label=\"添加\"]").await.unwrap();
    s.wait_text("table[aria-label=\"我的收款码\"]", CODE_TEXT, Duration::from_secs(5)).await.expect("code listed");
    s.wait_text("[role=status][aria-label=\"已同步到网关\"]", "已同步到网关", Duration::from_secs(10)).await.expect("code synced");
    assert!(gw.cli(&["code", "list", "--merchant", "10001"]).contains(CODE_TEXT), "the gateway serves the code");
    app.assert_fits("codes").await;
    app.screenshot("codes").await;

    // A new order appears in the window within 2 s.
    app.open("订单").await;
    let created = Instant::now();
    let paid_by_push = NewOrder::new(&unique("push"), "P901", "10.00", &sink.url).create(&gw).await;
    s.wait_for(&format!("tr[data-order=\"{paid_by_push}\"]"), Duration::from_secs(2)).await.expect("the order appeared within 2 s");
    println!("new order shown after {} ms", created.elapsed().as_millis());
    // Each row names the protocol the order came through: a 易支付 shop's order says so.
    let epay_no = unique("epay");
    let mut epay = vec![
        ("pid", "10001"),
        ("type", "wxpay"),
        ("out_trade_no", &epay_no),
        ("notify_url", &sink.url),
        ("name", "易支付商品"),
        ("money", "3"),
    ];
    let epay_sign = jiufu_e2e::shop::epay_sign(&epay, KEY);
    epay.push(("sign", &epay_sign));
    let v: Value = http().post(format!("{}/mapi.php", gw.url)).form(&epay).send().await.unwrap().json().await.unwrap();
    let epay_id = v["trade_no"].as_str().unwrap_or_else(|| panic!("{v}")).to_owned();
    s.wait_text(&format!("tr[data-order=\"{epay_id}\"] .dialect"), "易支付", Duration::from_secs(5)).await.expect("易支付 named");
    s.wait_text(&format!("tr[data-order=\"{paid_by_push}\"] .dialect"), "就付接口", Duration::from_secs(5)).await.expect("native named");

    // The phone's V免签 push with the payable amount: matched and confirmed.
    let amount = payable(&gw, &paid_by_push).await;
    assert_eq!(vmq_push(&app, "2", &amount).await["code"], 1);
    wait_state(&gw, &paid_by_push, 9).await;
    wait_notification(&bus, &format!("收到付款 ¥{amount}")).await;
    app.open("收款记录").await;
    s.wait_text("table[aria-label=\"收款记录\"]", &paid_by_push, Duration::from_secs(5)).await.expect("payment shows its order");

    // A claimed order: notified, highlighted, confirmed by hand.
    let claimed = NewOrder::new(&unique("claim"), "P901", "20.00", &sink.url);
    let claimed_id = claimed.create(&gw).await;
    claim(&gw, &claimed_id).await;
    let note = wait_notification(&bus, "待确认订单").await;
    app.open("概览").await;
    bus.click(note).await;
    s.wait_text("#screen-title", "订单", Duration::from_secs(5)).await.expect("clicking the notification opened Orders");
    let row = format!("tr.claimed[data-order=\"{claimed_id}\"]");
    s.wait_for(&row, Duration::from_secs(5)).await.expect("claimed order highlighted");
    app.assert_fits("orders").await;
    app.screenshot("orders").await;
    s.click(&format!("button[aria-label=\"确认收款 {}\"]", claimed.get("order_no"))).await.unwrap();
    s.wait_for("dialog[open] form", Duration::from_secs(2)).await.expect("confirm dialog");
    app.screenshot("orders-confirm").await;
    s.click("dialog[open] button[aria-label=\"已到账，确认\"]").await.unwrap();
    wait_state(&gw, &claimed_id, 9).await;
    wait_for(Duration::from_secs(10), || async {
        sink.calls().iter().any(|c| c.contains(&format!("order_no={}&", claimed.get("order_no")))).then_some(())
    })
    .await
    .expect("the merchant was notified of the hand-confirmed order");

    // Another claim is false: rejected with a reason, back to 5.
    let false_claim = NewOrder::new(&unique("false"), "P901", "30.00", &sink.url);
    let false_id = false_claim.create(&gw).await;
    claim(&gw, &false_id).await;
    s.wait_for(&format!("tr.claimed[data-order=\"{false_id}\"]"), Duration::from_secs(5)).await.expect("second claim shown");
    s.click(&format!("button[aria-label=\"驳回 {}\"]", false_claim.get("order_no"))).await.unwrap();
    s.fill("dialog[open] textarea[aria-label=\"原因\"]", "手机上没有这笔到账").await.unwrap();
    s.click("dialog[open] button[aria-label=\"驳回\"]").await.unwrap();
    wait_state(&gw, &false_id, 5).await;
    let history = gw.show(&false_id);
    assert!(history.to_string().contains("手机上没有这笔到账"), "the reason reached the gateway: {history}");

    // A payment nobody ordered: unmatched, notified, then attached by hand.
    assert_eq!(vmq_push(&app, "2", "77.77").await["code"], 1);
    wait_notification(&bus, "未匹配的付款 ¥77.77").await;
    let late = NewOrder::new(&unique("late"), "P901", "77.77", &sink.url).create(&gw).await;
    assert_eq!(payable(&gw, &late).await, "77.77");
    app.open("收款记录").await;
    s.click("button[role=tab][aria-label=\"未匹配\"]").await.unwrap();
    s.wait_for("button[aria-label=\"关联订单 ¥77.77\"]", Duration::from_secs(5)).await.expect("attach button");
    app.assert_fits("payments").await;
    app.screenshot("payments-unmatched").await;
    s.click("button[aria-label=\"关联订单 ¥77.77\"]").await.unwrap();
    s.wait_for("dialog[open] select[aria-label=\"订单\"]", Duration::from_secs(5)).await.expect("attach dialog");
    app.screenshot("payments-attach").await;
    s.click("dialog[open] button[aria-label=\"关联并确认\"]").await.unwrap();
    wait_state(&gw, &late, 9).await;
    s.click("button[role=tab][aria-label=\"全部\"]").await.unwrap();
    s.wait_text("table[aria-label=\"收款记录\"]", &late, Duration::from_secs(5)).await.expect("attached payment shows its order");
    app.screenshot("payments").await;

    // The same durable queue as the CLI: `jiufu-collector order confirm` on
    // the app's store is delivered by the app's own run loop.
    let by_cli = NewOrder::new(&unique("cli"), "P902", "5.00", &sink.url).create(&gw).await;
    s.click("nav button[aria-label=\"订单\"]").await.unwrap();
    s.wait_for(&format!("tr[data-order=\"{by_cli}\"]"), Duration::from_secs(5)).await.expect("order mirrored");
    let cli = std::process::Command::new(bin("jiufu-collector"))
        .args(["order", "confirm", &by_cli])
        .env("JIUFU_COLLECTOR_DB", app.data.path().join("collector.db"))
        .env("JIUFU_COLLECTOR_KEY", PUSH_KEY)
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    wait_state(&gw, &by_cli, 9).await;

    // Rules: the "try it" box.
    app.open("解析规则").await;
    s.fill("textarea[aria-label=\"通知正文\"]", "李四通过扫码向你付款12.50元").await.unwrap();
    s.click("button[aria-label=\"解析\"]").await.unwrap();
    s.wait_text("[role=status][aria-label=\"试一试\"]", "是收款：支付宝 ¥12.50", Duration::from_secs(5)).await.expect("parsed");
    s.fill("textarea[aria-label=\"通知正文\"]", "退款到账12.50元").await.unwrap();
    s.click("button[aria-label=\"解析\"]").await.unwrap();
    s.wait_text("[role=status][aria-label=\"试一试\"]", "不是收款：付款、退款或类似通知", Duration::from_secs(5))
        .await
        .expect("refused, in Chinese");
    app.assert_fits("rules").await;
    app.screenshot("rules").await;

    // Overview: link, sources, today's takings, the phone's setup QR.
    app.open("概览").await;
    // 10.00 pushed, 20.00 confirmed by hand, 77.77 attached, 5.00 from the CLI.
    let today = wait_for(Duration::from_secs(5), || async {
        let v = s.script("return document.querySelector('[aria-label=\"今日收款\"]').innerText").await.ok()?;
        v.as_str().filter(|t| t.contains("4 笔")).map(str::to_owned)
    })
    .await
    .expect("today's takings: 4 payments");
    assert!(today.contains("¥112.77"), "today's takings: {today}");
    let qr = s.script("return document.querySelector('img[alt=\"V免签配置二维码\"]').naturalWidth").await.unwrap();
    assert!(qr.as_i64().unwrap_or(0) > 100, "setup QR drawn: {qr}");
    s.wait_text("code[aria-label=\"地址/密钥\"]", &format!("/{PUSH_KEY}"), Duration::from_secs(2)).await.expect("host/key");
    app.assert_fits("overview").await;
    app.screenshot("overview").await;

    // English is complete too.
    s.script("const l = document.getElementById('lang'); l.value = 'en'; l.dispatchEvent(new Event('change')); return true").await.unwrap();
    s.wait_text("#screen-title", "Overview", Duration::from_secs(5)).await.expect("English");
    s.wait_text("nav", "Payments", Duration::from_secs(2)).await.expect("English menu");
    app.screenshot("overview-en").await;

    assert!(sink.calls().len() >= 4, "the merchant heard of every paid order: {:?}", sink.calls());

    // Launching again on the same store brings this window forward instead of a second core.
    let again = app.launch_again();
    assert!(again.status.success(), "second launch: {again:?}");
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(!out.contains("listening on") && !out.contains("ready in"), "no second core or window: {out}");
    s.wait_text("#screen-title", "Overview", Duration::from_secs(2)).await.expect("the first window still answers");
    app.session.quit().await;
}
