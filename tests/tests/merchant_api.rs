//! Every endpoint of gateway-api.md against the real binary.

use jiufu_e2e::*;
use jiufu_protocol::sign;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn create_order_with_the_contracts_vector_and_read_it_back() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    // gateway.create vector: exact fields, exact sign.
    let mut o = NewOrder::new("20191118123424", "P901", "300.00", &sink.url);
    o.set("return_url", "https://shop.example.com/return/42");
    o.set("sign", "2121522eb0c29cd5df43085e9079b513");
    o.set("ip", "203.0.113.7").set("order_time", "2019-11-18 12:34:24");
    let v = o.post(&gw).await;
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["errorCode"], 0);
    assert_eq!(v["errorMsg"], Value::Null);
    let id = v["order_id"].as_str().unwrap().to_owned();
    assert!(id.len() >= 16 && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{id}");

    // the envelope's text, as the seed shows it: amounts with two decimals
    let raw = http().get(format!("{}/query/{id}", gw.url)).send().await.unwrap().text().await.unwrap();
    assert!(raw.starts_with(r#"{"success":true,"errorCode":0,"errorMsg":null,"state":5,"#), "{raw}");
    assert!(raw.contains(r#""amount":300.00"#), "{raw}");
    let q: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(q["order"]["qrcode"], "https://qr.alipay.com/fkx0test");
    assert_eq!(q["order"]["sn"], id.as_str());
    assert_eq!(q["order"]["timeout"], 300);
    assert_eq!(q["order"]["alipayuid"], "");
    assert!(q["order"]["imgtext"].as_str().unwrap().starts_with("iVBORw0KGgo"), "base64 PNG");
    assert!(q["order"]["remaining"].as_i64().unwrap() > 290);

    let qr = get_json(&format!("{}/qrcode/{id}", gw.url)).await;
    assert_eq!(qr["success"], true);
    assert_eq!(qr["order"]["state"], 5);
    assert_eq!(qr["order"]["qrcode"], "https://qr.alipay.com/fkx0test");
    assert_eq!(qr["order"]["timeout"], 300);

    // gateway.lookup_and_notify vector, with and without the seed's colon
    for userid in ["10001", ":10001"] {
        let l = get_json(&format!("{}/order/{userid}/20191118123424/d610b8a667e49d3124fbbdd4963fc169", gw.url)).await;
        assert_eq!(l["success"], true, "{l}");
        let ord = &l["order"];
        assert_eq!(ord["sn"], "20191118123424");
        assert_eq!(ord["state"], 5);
        assert_eq!(ord["notifyurl"], sink.url.as_str());
        assert_eq!(ord["returnurl"], "https://shop.example.com/return/42");
        assert_eq!(ord["returning"], false);
        assert_eq!(ord["ip"], "203.0.113.7");
        assert_eq!(ord["paytype"], "P901");
        assert_eq!(ord["order_id"], id.as_str());
        let ct = ord["create_time"].as_str().unwrap();
        assert_eq!(ct.len(), 19, "{ct}");
    }
    // upper-case sign is accepted (case-insensitive compare)
    let l = get_json(&format!("{}/order/10001/20191118123424/D610B8A667E49D3124FBBDD4963FC169", gw.url)).await;
    assert_eq!(l["success"], true);
    let bad = get_json(&format!("{}/order/10001/20191118123424/d610b8a667e49d3124fbbdd4963fc168", gw.url)).await;
    assert_eq!((bad["success"].as_bool(), bad["errorCode"].as_i64()), (Some(false), Some(1002)));
    let sign = sign::order_sign("10001", "nope", KEY);
    let missing = get_json(&format!("{}/order/10001/nope/{sign}", gw.url)).await;
    assert_eq!(missing["errorCode"], 2001);
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_return_vector_json_and_multipart_bodies() {
    let gw = Gateway::start();
    // gateway.create_empty_return vector as JSON with a numeric amount
    let body = r#"{"userid":10001,"subject":"json order","order_no":"A-77","order_type":"P902","amount":0.01,"notify_url":"https://shop.example.com/n","sign":"2912af454a5cdc9b4e92b6977e5abd33"}"#;
    let v: Value = http()
        .post(format!("{}/gateway", gw.url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["success"], true, "{v}");
    let q = get_json(&format!("{}/query/{}", gw.url, v["order_id"].as_str().unwrap())).await;
    assert_eq!(q["order"]["qrcode"], "wxp://f2f0test");

    // multipart
    let o = NewOrder::new(&unique("mp"), "P901", "12.34", "https://shop.example.com/n");
    let mut form = reqwest::multipart::Form::new();
    for (k, val) in &o.fields {
        form = form.text(k.clone(), val.clone());
    }
    let v: Value = http().post(format!("{}/gateway", gw.url)).multipart(form).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["success"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotent_create_and_order_no_reuse() {
    let gw = Gateway::start();
    let o = NewOrder::new("same-1", "P901", "5.00", "https://shop.example.com/n");
    let a = o.create(&gw).await;
    let b = o.create(&gw).await;
    assert_eq!(a, b, "same request, same order");
    let mut changed = o.clone();
    changed.set("subject", "something else");
    let v = changed.post(&gw).await;
    assert_eq!(v["errorCode"], 1005, "{v}");
    let mut changed_amount = o.clone();
    changed_amount.set("amount", "6.00").sign();
    assert_eq!(changed_amount.post(&gw).await["errorCode"], 1005);
    // a closed order's number cannot be used again either
    gw.cli(&["order", "close", &a]);
    assert_eq!(o.post(&gw).await["errorCode"], 1005);
}

#[tokio::test(flavor = "multi_thread")]
async fn lookups_of_unknown_and_unpayable_orders() {
    let gw = Gateway::start();
    for path in ["/query/AAAAAAAAAAAAAAAAAAAAAA", "/qrcode/AAAAAAAAAAAAAAAAAAAAAA", "/query/1", "/query/%27%20or%201=1"] {
        let v = get_json(&format!("{}{path}", gw.url)).await;
        assert_eq!(v["success"], false);
        assert_eq!(v["errorCode"], 2001, "{path}: {v}");
        assert_eq!(v["errorMsg"], "订单不存在");
    }
    let id = NewOrder::new("closed-1", "P901", "1.00", "https://shop.example.com/n").create(&gw).await;
    gw.cli(&["order", "close", &id]);
    let v = get_json(&format!("{}/qrcode/{id}", gw.url)).await;
    assert_eq!((v["success"].as_bool(), v["errorCode"].as_i64()), (Some(false), Some(2002)));
    let q = get_json(&format!("{}/query/{id}", gw.url)).await;
    assert_eq!(q["state"], -2);
    assert_eq!(q["order"]["qrcode"], "", "no QR for a closed order");
    let page = http().get(format!("{}/transfer/AAAAAAAAAAAAAAAAAAAAAA", gw.url)).send().await.unwrap();
    assert_eq!(page.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn merchant_and_channel_errors() {
    let gw = Gateway::start();
    let mut o = NewOrder::new("m-1", "P901", "1.00", "https://shop.example.com/n");
    o.set("userid", "424242").sign();
    assert_eq!(o.post(&gw).await["errorCode"], 1003);
    let o = NewOrder::new("m-2", "P903", "1.00", "https://shop.example.com/n");
    assert_eq!(o.post(&gw).await["errorCode"], 1007, "no QQ code");
    let mut o = NewOrder::new("m-3", "P901", "1.00", "https://shop.example.com/n");
    o.set("sign", "00000000000000000000000000000000");
    assert_eq!(o.post(&gw).await["errorCode"], 1002);
    let mut upper = NewOrder::new("m-4", "P901", "1.00", "https://shop.example.com/n");
    let s = upper.get("sign").to_uppercase();
    upper.set("sign", &s);
    assert_eq!(upper.post(&gw).await["success"], true, "upper-case sign accepted");
    // fixed-amount code preferred when one matches
    gw.cli(&["code", "add", "--merchant", "10001", "--channel", "P901", "--qr", "https://qr.alipay.com/fixed8", "--amount", "8.00"]);
    let id = NewOrder::new("m-5", "P901", "8.00", "https://shop.example.com/n").create(&gw).await;
    assert_eq!(get_json(&format!("{}/query/{id}", gw.url)).await["order"]["qrcode"], "https://qr.alipay.com/fixed8");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_gate_refuses_orders_without_a_collector() {
    let gw = Gateway::start();
    gw.cli(&["merchant", "add", "--id", "20002", "--name", "gated", "--key", KEY, "--require-collector"]);
    gw.cli(&["code", "add", "--merchant", "20002", "--channel", "P901", "--qr", "https://qr.alipay.com/g"]);
    let mut o = NewOrder::new("g-1", "P901", "1.00", "https://shop.example.com/n");
    o.set("userid", "20002").sign();
    let v = o.post(&gw).await;
    assert_eq!(v["errorCode"], 1009, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn private_notify_urls_are_refused_unless_allowed() {
    let gw = Gateway::start_with(&[("JIUFU_ALLOW_PRIVATE_NOTIFY", "false")]);
    for url in ["http://127.0.0.1:9/n", "http://localhost/n", "http://10.0.0.1/n", "http://[::1]/n", "http://169.254.169.254/latest"] {
        let v = NewOrder::new(&unique("p"), "P901", "1.00", url).post(&gw).await;
        assert_eq!(v["errorCode"], 1001, "{url}: {v}");
        assert!(v["errorMsg"].as_str().unwrap().contains("notify_url"), "{v}");
    }
    let v = NewOrder::new("pub-1", "P901", "1.00", "https://shop.example.com/n").post(&gw).await;
    assert_eq!(v["success"], true);
}
