//! L3: the bad-signature throttle. An address that sent
//! `JIUFU_BAD_SIGN_LIMIT` wrong signatures within a minute is refused at
//! every merchant-facing endpoint — the native API and each shop dialect,
//! in its own shape — even with a right signature, until the minute is
//! over; other addresses are not affected.

use jiufu_e2e::shop::{epay_sign, epusdt_sign, md5};
use jiufu_e2e::*;
use serde_json::{Value, json};

const THROTTLED: &str = "too many wrong signatures";

async fn native(gw: &Gateway, o: &NewOrder, from: &str) -> Value {
    let resp = http().post(format!("{}/gateway", gw.url)).header("x-forwarded-for", from).form(&o.fields).send().await.unwrap();
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_signatures_are_throttled_per_address_on_every_merchant_endpoint() {
    // Clients come through a proxy on loopback, as behind nginx.
    let gw = Gateway::start_with(&[("JIUFU_BAD_SIGN_LIMIT", "5"), ("JIUFU_TRUSTED_PROXIES", "127.0.0.1")]);
    let guesser = "203.0.113.1";
    for i in 0..5 {
        let mut o = NewOrder::new(&unique("g"), "P901", "10.00", "https://shop.example.com/n");
        o.set("sign", &format!("{i:032}"));
        let v = native(&gw, &o, guesser).await;
        assert_eq!(v["errorCode"], 1002, "{v}");
        assert!(!v["errorMsg"].as_str().unwrap().contains(THROTTLED), "not yet: {v}");
    }
    // Now even the right signature is refused from that address…
    let good = NewOrder::new(&unique("g"), "P901", "10.00", "https://shop.example.com/n");
    let v = native(&gw, &good, guesser).await;
    assert!(v["errorCode"] == 1002 && v["errorMsg"].as_str().unwrap().contains(THROTTLED), "{v}");
    // …and at every other merchant endpoint, in each protocol's shape.
    let lookup: Value = http()
        .get(format!("{}/order/10001/x1/{}", gw.url, "0".repeat(32)))
        .header("x-forwarded-for", guesser)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(lookup["errorCode"] == 1002 && lookup["errorMsg"].as_str().unwrap().contains(THROTTLED), "{lookup}");
    let ep = [("pid", "10001"), ("type", "alipay"), ("out_trade_no", "t1"), ("notify_url", "https://shop.example.com/n"), ("name", "x")];
    let mut ep: Vec<(&str, &str)> = ep.to_vec();
    ep.push(("money", "1"));
    let sign = epay_sign(&ep, KEY);
    ep.push(("sign", &sign));
    let v: Value = http()
        .post(format!("{}/mapi.php", gw.url))
        .header("x-forwarded-for", guesser)
        .form(&ep)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["code"] == -1 && v["msg"].as_str().unwrap().contains(THROTTLED), "{v}");
    let fields = [("order_id", "t2"), ("amount", "1"), ("notify_url", "https://shop.example.com/n")];
    let mut body: serde_json::Map<String, Value> = fields.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    body.insert("signature".into(), json!(epusdt_sign(&fields, KEY)));
    let v: Value = http()
        .post(format!("{}/api/v1/order/create-transaction", gw.url))
        .header("x-forwarded-for", guesser)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["status_code"] == 401 && v["message"].as_str().unwrap().contains(THROTTLED), "{v}");
    let t = (jiufu_e2e::collector::now_ms() / 1000).to_string();
    let v: Value = http()
        .get(format!("{}/getState?t={t}&sign={}", gw.url, md5(&format!("{t}{KEY}"))))
        .header("x-forwarded-for", guesser)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["code"] == -1 && v["msg"].as_str().unwrap().contains(THROTTLED), "{v}");

    // Another address is not affected.
    let v = native(&gw, &good, "203.0.113.2").await;
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(gw.cli(&["order", "list"]).lines().count(), 1);
}
