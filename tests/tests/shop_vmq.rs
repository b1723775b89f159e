//! The V免签 merchant API against the real gateway, as a V免签 shop plugin
//! drives it: createOrder (JSON and isHtml=1), getOrder, checkOrder,
//! closeOrder, getState, the notification with reallyPrice verified with
//! the shop's own md5, and refusals in V免签's shape.

use jiufu_e2e::collector::*;
use jiufu_e2e::shop::*;
use jiufu_e2e::*;
use serde_json::Value;
use std::time::Duration;

fn order_count(gw: &Gateway) -> usize {
    gw.cli(&["order", "list", "--merchant", "10001"]).lines().count()
}

/// createOrder's parameters, signed `md5(payId + param + type + price + key)`.
fn create_params(pay_id: &str, param: &str, kind: &str, price: &str, sink: &ShopSink) -> Vec<(String, String)> {
    let sign = md5(&format!("{pay_id}{param}{kind}{price}{KEY}"));
    [
        ("payId", pay_id.to_owned()),
        ("param", param.to_owned()),
        ("type", kind.to_owned()),
        ("price", price.to_owned()),
        ("notifyUrl", sink.url.clone()),
        ("returnUrl", format!("{}/return", sink.base)),
        ("sign", sign),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn call(gw: &Gateway, path: &str, params: &[(String, String)]) -> Value {
    get_json(&format!("{}{path}?{}", gw.url, form_owned(params))).await
}

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The shop's check: `md5(payId + param + type + price + reallyPrice + key)`.
fn verify(got: &[(String, String)]) {
    let f = |k| field(got, k).unwrap_or_else(|| panic!("{k} missing in {got:?}"));
    let expected = md5(&format!("{}{}{}{}{}{KEY}", f("payId"), f("param"), f("type"), f("price"), f("reallyPrice")));
    assert_eq!(f("sign"), expected, "{got:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_pay_through_the_collector_and_notify_with_really_price() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "success")).await;
    // 0.1 may take 0.10 or 0.09 by default, and orders from a shop's server
    // (no payer address) hold at most half of those: widen the offset so
    // that two of them fit.
    gw.cli(&["merchant", "set", "--id", "10001", "--max-offset", "50"]);
    let col = CollectorProc::paired(&gw, &[]);
    col.wait_code_synced(&gw).await;
    // Another 0.1 order first, so this one's payable amount is adjusted.
    let first = call(&gw, "/createOrder", &create_params(&unique("v"), "", "2", "0.1", &sink)).await;
    assert_eq!((first["code"].as_i64(), first["data"]["isAuto"].as_i64()), (Some(1), Some(0)), "{first}");
    let pay_id = unique("v");
    let v = call(&gw, "/createOrder", &create_params(&pay_id, "vone666", "2", "0.1", &sink)).await;
    assert_eq!((v["code"].as_i64(), v["msg"].as_str()), (Some(1), Some("成功")), "{v}");
    let d = &v["data"];
    let id = d["orderId"].as_str().unwrap().to_owned();
    assert_eq!((d["payId"].as_str(), d["payType"].as_i64(), d["state"].as_i64()), (Some(pay_id.as_str()), Some(2), Some(0)));
    assert_eq!((d["price"].to_string(), d["reallyPrice"].to_string(), d["isAuto"].as_i64()), ("0.1".into(), "0.09".into(), Some(1)));
    assert_eq!((d["timeOut"].as_i64(), d["payUrl"].as_str()), (Some(5), Some(format!("{}/transfer/{id}", gw.url).as_str())));
    assert!(d["date"].as_i64().unwrap() > 1_700_000_000);
    // getOrder answers the same data; checkOrder says not yet.
    let got = call(&gw, "/getOrder", &p(&[("orderId", &id)])).await;
    assert_eq!(got["data"]["reallyPrice"].to_string(), "0.09");
    assert_eq!(call(&gw, "/checkOrder", &p(&[("orderId", &id)])).await["code"], -1);

    // The payer pays 0.09 into the Alipay code; the phone's push confirms.
    wait_for(Duration::from_secs(5), || async { col.cli(&["orders"]).contains(&id).then_some(()) }).await.expect("mirrored");
    assert_eq!(vmq_push(&col, "2", "0.09", now_ms(), PUSH_KEY).await["code"], 1);
    wait_for(Duration::from_secs(15), || async { (!sink.calls().is_empty()).then_some(()) }).await.expect("notified");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = sink.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "GET");
    let notified = pairs(&calls[0].query);
    verify(&notified);
    for (k, want) in [("payId", pay_id.as_str()), ("param", "vone666"), ("type", "2"), ("price", "0.1"), ("reallyPrice", "0.09")] {
        assert_eq!(field(&notified, k), Some(want), "{k} in {notified:?}");
    }
    assert_eq!(gw.show(&id)["notification"]["status"], "delivered");
    // checkOrder now answers the return address, signed the same way.
    let paid = call(&gw, "/checkOrder", &p(&[("orderId", &id)])).await;
    assert_eq!(paid["code"], 1, "{paid}");
    let back = paid["data"].as_str().unwrap();
    assert!(back.starts_with(&format!("{}/return?", sink.base)), "{back}");
    verify(&pairs(back.split_once('?').unwrap().1));
    assert_eq!(call(&gw, "/getOrder", &p(&[("orderId", &id)])).await["data"]["state"], 1);

    // getState: the collector's heartbeat and the last payment.
    let t = now_ms().to_string();
    let state = call(&gw, "/getState", &p(&[("t", &t), ("sign", &md5(&format!("{t}{KEY}")))])).await;
    assert_eq!((state["code"].as_i64(), state["data"]["jkstate"].as_i64()), (Some(1), Some(1)), "{state}");
    assert!(state["data"]["lastheart"].as_i64().unwrap() > 0 && state["data"]["lastpay"].as_i64().unwrap() > 0);
    assert_eq!(call(&gw, "/getState", &p(&[("t", &t), ("sign", &"0".repeat(32))])).await["code"], -1);
}

#[tokio::test(flavor = "multi_thread")]
async fn is_html_redirects_and_close_order_needs_the_key() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[(200, "fail")], (200, "success")).await;
    let mut params = create_params(&unique("h"), "", "1", "8", &sink);
    params.push(("isHtml".into(), "1".into()));
    let resp = no_redirects().post(format!("{}/createOrder", gw.url)).form(&params).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let id = resp.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(gw.show(&id)["order"]["channel"], "P902", "type 1 is WeChat");
    assert_eq!(gw.show(&id)["order"]["dialect"], "vmq");

    let bad = call(&gw, "/closeOrder", &p(&[("orderId", &id), ("sign", &md5(&format!("{id}wrong-key")))])).await;
    assert_eq!(bad["code"], -1, "{bad}");
    let closed = call(&gw, "/closeOrder", &p(&[("orderId", &id), ("sign", &md5(&format!("{id}{KEY}")))])).await;
    assert_eq!(closed["code"], 1, "{closed}");
    assert_eq!(call(&gw, "/getOrder", &p(&[("orderId", &id)])).await["data"]["state"], -1);
    let check = call(&gw, "/checkOrder", &p(&[("orderId", &id)])).await;
    assert_eq!(check["code"], -1);

    // A wrong answer ("fail") is retried; "success" ends it.
    let v = call(&gw, "/createOrder", &create_params(&unique("r"), "p", "2", "1.5", &sink)).await;
    let paid = v["data"]["orderId"].as_str().unwrap().to_owned();
    gw.cli(&["order", "confirm", &paid]);
    wait_for(Duration::from_secs(20), || async { (gw.show(&paid)["notification"]["status"] == "delivered").then_some(()) })
        .await
        .expect("delivered");
    let calls = sink.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    calls.iter().for_each(|c| verify(&pairs(&c.query)));
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_have_vmqs_shape_and_store_nothing() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "success")).await;
    let no = unique("b");
    let good = create_params(&no, "x", "2", "1", &sink);
    let set = |name: &str, value: &str| -> Vec<(String, String)> {
        good.iter().map(|(k, v)| (k.clone(), if k == name { value.to_owned() } else { v.clone() })).collect()
    };
    let resigned = |pay_id: &str, param: &str, kind: &str, price: &str| create_params(pay_id, param, kind, price, &sink);
    let cases = [
        ("wrong sign", set("sign", &"0".repeat(32))),
        ("missing payId", good.iter().filter(|(k, _)| k != "payId").cloned().collect()),
        ("missing notifyUrl", good.iter().filter(|(k, _)| k != "notifyUrl").cloned().collect()),
        ("3-decimal price", resigned(&no, "x", "2", "1.001")),
        ("type 5", resigned(&no, "x", "5", "1")),
        ("price 0", resigned(&no, "x", "2", "0")),
        ("bad payId", resigned("a b/c", "x", "2", "1")),
    ];
    for (what, params) in cases {
        let v = call(&gw, "/createOrder", &params).await;
        assert_eq!(v["code"], -1, "{what}: {v}");
        assert!(v["msg"].as_str().is_some_and(|m| !m.is_empty()) && v.get("data").is_none(), "{what}: {v}");
    }
    assert_eq!(order_count(&gw), 0, "nothing stored");
    assert_eq!(call(&gw, "/createOrder", &good).await["code"], 1);
    let changed = call(&gw, "/createOrder", &resigned(&no, "x", "2", "2")).await;
    assert_eq!(changed["code"], -1, "same payId, other price: {changed}");
    for path in ["/getOrder", "/checkOrder"] {
        assert_eq!(call(&gw, path, &p(&[("orderId", "AAAAAAAAAAAAAAAAAAAAAA")])).await["code"], -1);
        assert_eq!(call(&gw, path, &[]).await["code"], -1);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sink.calls().is_empty(), "an unpaid order is never notified");
    assert_eq!(order_count(&gw), 1);
}

/// `params` with `name` set to `value` (added when absent).
fn with(params: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = params.iter().filter(|(k, _)| k != name).cloned().collect();
    out.push((name.to_owned(), value.to_owned()));
    out
}

/// A browser's createOrder (isHtml=1): the order id from the 302, or the refusal.
async fn browser_create(gw: &Gateway, params: &[(String, String)]) -> Result<String, Value> {
    let resp = no_redirects().get(format!("{}/createOrder?{}", gw.url, form_owned(&with(params, "isHtml", "1")))).send().await.unwrap();
    match resp.status().as_u16() {
        302 => Ok(resp.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().to_owned()),
        _ => Err(resp.json().await.unwrap()),
    }
}

/// M1: V免签 signs `payId + param + type + price` as one plain string, so a
/// payer holding an isHtml=1 URL can move characters between the fields
/// and keep the sign. Leading zeros are refused; a re-split order is what
/// it says (its price and payId are in the notification, for the shop to
/// compare with its own order), only one of the two splits can exist; and
/// with `vmq_server_only` no browser creates orders at all.
#[tokio::test(flavor = "multi_thread")]
async fn resplit_signs_and_leading_zeros_are_refused_or_carry_their_own_price() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "success")).await;
    for price in ["050", "08.00", "00.5", "0128.00"] {
        let v = call(&gw, "/createOrder", &create_params(&unique("z"), "", "2", price, &sink)).await;
        assert_eq!(v["code"], -1, "leading zeros in {price}: {v}");
    }
    assert_eq!(order_count(&gw), 0);

    // The issue's example: the shop signed (payId, "", 2, 128.00) for the payer's browser…
    let pay_id = unique("A");
    let original = create_params(&pay_id, "", "2", "128.00", &sink);
    // …who moves "21" from the price into param: the same signed text, 8.00.
    let resplit = with(&with(&original, "param", "21"), "price", "8.00");
    assert_eq!(field(&resplit, "sign").unwrap(), md5(&format!("{pay_id}2128.00{KEY}")), "the same sign");
    let id = browser_create(&gw, &resplit).await.expect("the sign verifies: the gateway cannot tell the splits apart");
    let got = call(&gw, "/getOrder", &p(&[("orderId", &id)])).await;
    assert_eq!((got["data"]["payId"].as_str(), got["data"]["price"].to_string()), (Some(pay_id.as_str()), "8".to_owned()), "{got}");
    // Only one split of a payId exists: the shop's own request is now refused.
    let refused = browser_create(&gw, &original).await.expect_err("payId taken with other fields");
    assert_eq!(refused["code"], -1, "{refused}");
    // Paid: the notification carries the price the order was made with, so a
    // shop comparing it with its own order (128.00) refuses to fulfil.
    gw.cli(&["order", "confirm", &id]);
    wait_for(Duration::from_secs(20), || async { (!sink.calls().is_empty()).then_some(()) }).await.expect("notified");
    let notified = pairs(&sink.calls()[0].query);
    verify(&notified);
    assert_eq!((field(&notified, "payId"), field(&notified, "price")), (Some(pay_id.as_str()), Some("8.00")), "{notified:?}");

    // A payId re-split (`B1` + `23x` → `B12` + `3x`) is another payId, at the signed price.
    let b = unique("B");
    let signed = create_params(&format!("{b}1"), "23x", "2", "9.00", &sink);
    let moved = with(&with(&signed, "payId", &format!("{b}12")), "param", "3x");
    let id = browser_create(&gw, &moved).await.expect("created");
    let got = call(&gw, "/getOrder", &p(&[("orderId", &id)])).await;
    assert_eq!((got["data"]["payId"].as_str(), got["data"]["price"].to_string()), (Some(format!("{b}12").as_str()), "9".to_owned()));

    // vmq_server_only: browsers create nothing, so no payer holds a signed create URL.
    gw.cli(&["merchant", "set", "--id", "10001", "--vmq-server-only", "true"]);
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let fresh = create_params(&unique("s"), "", "2", "128.00", &sink);
    let v = browser_create(&gw, &fresh).await.expect_err("isHtml=1 refused");
    assert!(v["code"] == -1 && v["msg"].as_str().unwrap().contains("vmq_server_only"), "{v}");
    let from_server = call(&gw, "/createOrder", &fresh).await;
    assert_eq!(from_server["code"], 1, "the shop's server still creates: {from_server}");
}

/// L5: with allowed hosts, notifyUrl and returnUrl (which V免签 does not
/// sign) must name one of them.
#[tokio::test(flavor = "multi_thread")]
async fn notify_and_return_urls_stay_on_the_merchants_hosts() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "success")).await;
    gw.cli(&["merchant", "set", "--id", "10001", "--callback-hosts", "127.0.0.1, shop.example.com"]);
    let ok = call(&gw, "/createOrder", &create_params(&unique("h"), "", "2", "3", &sink)).await;
    assert_eq!(ok["code"], 1, "{ok}");
    let good = create_params(&unique("h"), "", "2", "4", &sink);
    for (name, url) in [("notifyUrl", "http://collect.evil.example/n"), ("returnUrl", "https://evil.example/r")] {
        let v = call(&gw, "/createOrder", &with(&good, name, url)).await;
        assert!(v["code"] == -1 && v["msg"].as_str().unwrap().contains("host"), "{name}: {v}");
    }
    assert_eq!(order_count(&gw), 1);
}

/// L1: getState's `t` is a current epoch time, so no sign a payer sees (a
/// return link's, an isHtml=1 URL's) is a getState credential.
#[tokio::test(flavor = "multi_thread")]
async fn get_state_takes_only_a_current_epoch_t() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "success")).await;
    let state = |t: String, sign: String| {
        let gw = &gw;
        async move { call(gw, "/getState", &p(&[("t", &t), ("sign", &sign)])).await }
    };
    let now = now_ms() / 1000;
    assert_eq!(state(now.to_string(), md5(&format!("{now}{KEY}"))).await["code"], 1, "seconds");
    let ms = now_ms().to_string();
    assert_eq!(state(ms.clone(), md5(&format!("{ms}{KEY}"))).await["code"], 1, "milliseconds");
    let stale = (now - 3600).to_string();
    assert_eq!(state(stale.clone(), md5(&format!("{stale}{KEY}"))).await["code"], -1, "an hour old");
    let padded = format!("0{now}");
    assert_eq!(state(padded.clone(), md5(&format!("{padded}{KEY}"))).await["code"], -1, "not canonical");
    // A paid order's return link, which the payer's browser is sent to.
    let v = call(&gw, "/createOrder", &create_params(&unique("r"), "p", "2", "5", &sink)).await;
    let id = v["data"]["orderId"].as_str().unwrap().to_owned();
    gw.cli(&["order", "confirm", &id]);
    let back = call(&gw, "/checkOrder", &p(&[("orderId", &id)])).await;
    let link = pairs(back["data"].as_str().unwrap().split_once('?').unwrap().1);
    let f = |k| field(&link, k).unwrap().to_owned();
    let text = format!("{}{}{}{}{}", f("payId"), f("param"), f("type"), f("price"), f("reallyPrice"));
    assert_eq!(md5(&format!("{text}{KEY}")), f("sign"), "the link's sign signs that text");
    let v = state(text, f("sign")).await;
    assert_eq!(v["code"], -1, "a return link's sign is no getState credential: {v}");
    assert!(v.get("data").is_none(), "{v}");
}
