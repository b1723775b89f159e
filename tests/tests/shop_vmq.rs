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
