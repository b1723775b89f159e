//! The whole slice: gateway + `jiufu-collector run` + a merchant sink, with
//! phone traffic in the exact V免签 and SmsForwarder formats.

use jiufu_e2e::collector::*;
use jiufu_e2e::*;
use std::time::Duration;

async fn state(gw: &Gateway, id: &str) -> i64 {
    get_json(&format!("{}/query/{id}", gw.url)).await["state"].as_i64().unwrap()
}

async fn wait_state(gw: &Gateway, id: &str, want: i64) {
    let ok = wait_for(Duration::from_secs(15), || async { (state(gw, id).await == want).then_some(()) }).await;
    assert!(ok.is_some(), "order {id} never reached {want} (is {})", state(gw, id).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn pushes_confirm_exactly_the_right_orders() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(&gw, &[]);
    // the collector's code reached the gateway
    col.wait_code_synced(&gw).await;

    let first = NewOrder::new(&unique("a"), "P901", "10.00", &sink.url).create(&gw).await;
    let second = NewOrder::new(&unique("b"), "P901", "10.00", &sink.url).create(&gw).await;
    assert_eq!(get_json(&format!("{}/query/{second}", gw.url)).await["order"]["amount"].to_string(), "9.99");
    // the collector learns of both orders
    wait_for(Duration::from_secs(5), || async { (col.cli(&["orders"]).lines().count() >= 2).then_some(()) })
        .await
        .expect("orders mirrored");

    // V免签: type 2 (Alipay), price as the phone sends it
    let reply = vmq_push(&col, "2", "9.99", now_ms(), PUSH_KEY).await;
    assert_eq!(reply["code"], 1, "{reply}");
    wait_state(&gw, &second, 9).await;
    assert_eq!(state(&gw, &first).await, 5, "only the 9.99 order");
    wait_for(Duration::from_secs(10), || async { (sink.calls().len() == 1).then_some(()) }).await.expect("merchant notified");

    // SmsForwarder: the Alipay app's notification, title first
    let status = smsforwarder(
        &col,
        "com.eg.android.AlipayGphone",
        "收钱码收款\n成功收款10.00元。享免费提现等更多专属服务，点击查看",
        now_ms(),
        SMSF_SECRET,
    )
    .await;
    assert_eq!(status, 200);
    wait_state(&gw, &first, 9).await;
    wait_for(Duration::from_secs(10), || async { (sink.calls().len() == 2).then_some(()) }).await.expect("merchant notified twice");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.calls().len(), 2, "each order notified once");
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_stale_forged_and_outgoing_change_nothing() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(&gw, &[]);
    let order = NewOrder::new(&unique("n"), "P901", "5.00", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(5), || async { (!col.cli(&["orders"]).is_empty()).then_some(()) }).await.expect("mirrored");

    let stale = now_ms() - 6 * 60 * 1000;
    assert_eq!(vmq_push(&col, "2", "5.00", stale, PUSH_KEY).await["code"], -1, "stale");
    assert_eq!(vmq_push(&col, "2", "5.00", now_ms(), "WRONGKEY").await["code"], -1, "bad sign");
    assert_eq!(smsforwarder(&col, "com.eg.android.AlipayGphone", "成功收款5.00元", now_ms(), "WRONG").await, 401);
    assert_eq!(smsforwarder(&col, "com.eg.android.AlipayGphone", "成功收款5.00元", stale, SMSF_SECRET).await, 401);
    // the payee paying someone else is not money received
    assert_eq!(smsforwarder(&col, "com.eg.android.AlipayGphone", "支付宝\n你已成功付款5.00元", now_ms(), SMSF_SECRET).await, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(state(&gw, &order).await, 5);
    assert!(col.payments(false).is_empty(), "nothing observed: {:?}", col.payments(false));

    // a replayed push confirms nothing more
    let t = now_ms();
    assert_eq!(vmq_push(&col, "2", "5.00", t, PUSH_KEY).await["code"], 1);
    assert_eq!(vmq_push(&col, "2", "5.00", t, PUSH_KEY).await["code"], -1, "replay");
    wait_state(&gw, &order, 9).await;
    assert_eq!(col.payments(false).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sources_one_payment_and_a_payment_without_order() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(&gw, &[]);
    let order = NewOrder::new(&unique("d"), "P901", "3.00", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(5), || async { (!col.cli(&["orders"]).is_empty()).then_some(()) }).await.expect("mirrored");
    assert_eq!(vmq_push(&col, "2", "3.00", now_ms(), PUSH_KEY).await["code"], 1);
    assert_eq!(smsforwarder(&col, "com.eg.android.AlipayGphone", "成功收款3.00元", now_ms(), SMSF_SECRET).await, 200);
    wait_state(&gw, &order, 9).await;

    // nobody ordered 7.77
    assert_eq!(vmq_push(&col, "2", "7.77", now_ms(), PUSH_KEY).await["code"], 1);
    let unmatched = wait_for(Duration::from_secs(20), || async {
        let u = gw.cli(&["collector", "unmatched", "--merchant", "10001"]);
        (!u.is_empty()).then_some(u)
    })
    .await
    .expect("reported to the gateway");
    assert!(unmatched.contains("7.77"), "{unmatched}");
    let local = col.payments(true);
    assert_eq!(local.len(), 1, "only the 7.77 payment is unmatched (no phantom from the duplicate): {local:?}");
    assert_eq!(local[0]["amount"], "7.77");
    let all = col.payments(false);
    assert_eq!(all.iter().filter(|p| p["status"] == "duplicate").count(), 1, "{all:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.calls().len(), 1, "confirmed and notified once");
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_entry_direct_confirm_and_a_code_from_an_image() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let col = CollectorProc::paired(&gw, &[]);

    // a receiving code added from a picture of it: decoded, then synced to the gateway
    let some_order = NewOrder::new(&unique("img"), "P902", "1.23", &sink.url).create(&gw).await;
    let png = http().get(format!("{}/transfer/{some_order}/qr.png", gw.url)).send().await.unwrap().bytes().await.unwrap();
    let file = col.dir.join("wechat-code.png");
    std::fs::write(&file, &png).unwrap();
    let added = col.cli(&["code", "add", "--channel", "P902", "--image", file.to_str().unwrap(), "--name", "微信"]);
    assert!(added.contains("wxp://f2f0test"), "decoded from the image: {added}");
    wait_for(Duration::from_secs(10), || async {
        gw.cli(&["code", "list", "--merchant", "10001"]).lines().any(|l| l.contains("wxp://f2f0test") && l.contains("dev_")).then_some(())
    })
    .await
    .expect("image code synced to the gateway");

    // the operator saw a payment on the phone and enters it
    let a = NewOrder::new(&unique("op"), "P901", "2.50", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(5), || async { col.cli(&["orders"]).contains(&a).then_some(()) }).await.expect("mirrored");
    let said = col.cli(&["payment", "add", "--channel", "P901", "--amount", "2.50", "--note", "seen on the phone"]);
    assert!(said.contains(&a), "{said}");
    wait_state(&gw, &a, 9).await;

    // the customer says they paid; the operator confirms the claimed order directly
    let b = NewOrder::new(&unique("op"), "P901", "3.50", &sink.url).create(&gw).await;
    let claimed = http().post(format!("{}/transfer/{b}/paid", gw.url)).header("accept", "application/json").send().await.unwrap();
    assert_eq!(claimed.json::<serde_json::Value>().await.unwrap()["state"], 8);
    wait_for(Duration::from_secs(5), || async {
        col.cli(&["orders"]).lines().any(|l| l.contains(&b) && l.contains("\t8\t")).then_some(())
    })
    .await
    .expect("the claim reached the collector");
    col.cli(&["order", "confirm", &b]);
    wait_state(&gw, &b, 9).await;
    wait_for(Duration::from_secs(10), || async { (sink.calls().len() == 2).then_some(()) }).await.expect("both notified");

    // a payment that arrived before its order reached anyone: unmatched, then attached by hand
    let early = col.cli(&["payment", "add", "--channel", "P901", "--amount", "4.44"]);
    assert!(early.contains("no order yet"), "{early}");
    let unmatched = wait_for(Duration::from_secs(20), || async { col.payments(true).into_iter().find(|p| p["amount"] == "4.44") })
        .await
        .expect("unmatched after the grace period");
    let late = NewOrder::new(&unique("op"), "P901", "4.44", &sink.url).create(&gw).await;
    wait_for(Duration::from_secs(5), || async { col.cli(&["orders"]).contains(&late).then_some(()) }).await.expect("mirrored");
    col.cli(&["payment", "attach", unmatched["id"].as_str().unwrap(), &late]);
    wait_state(&gw, &late, 9).await;
}
