//! Bad input: each gets its error code in the 就付 envelope, HTTP 200,
//! and changes nothing. The server never answers 5xx to a client.

use jiufu_e2e::*;
use serde_json::Value;

fn order_count(gw: &Gateway) -> usize {
    gw.cli(&["order", "list", "--merchant", "10001"]).lines().count()
}

async fn post_raw(gw: &Gateway, content_type: &str, body: Vec<u8>) -> Value {
    let resp = http().post(format!("{}/gateway", gw.url)).header("content-type", content_type).body(body).send().await.expect("POST");
    assert_eq!(resp.status(), 200, "always HTTP 200");
    resp.json().await.expect("JSON envelope")
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_table() {
    let gw = Gateway::start();
    let base = NewOrder::new("bad-base", "P901", "10.00", "https://shop.example.com/n");
    // (what, mutation, expected errorCode)
    type Mutation = Box<dyn Fn(&mut NewOrder)>;
    let mut cases: Vec<(&str, Mutation, i64)> = Vec::new();
    for field in ["userid", "subject", "order_no", "order_type", "amount", "notify_url", "sign"] {
        cases.push((
            field,
            Box::new(move |o: &mut NewOrder| {
                o.remove(field);
                if field != "sign" {
                    o.sign();
                }
            }),
            1001,
        ));
    }
    for amount in ["1.001", "-1", "0", "0.00", "1e3", "NaN", "１.００", "1,000", " 1", "10000000000", "0x10", "1.", ".5", "¥1"] {
        cases.push((
            amount,
            Box::new(move |o: &mut NewOrder| {
                o.set("amount", amount).sign();
            }),
            1006,
        ));
    }
    cases.push((
        "amount over the merchant max",
        Box::new(|o: &mut NewOrder| {
            o.set("amount", "50000.01").sign();
        }),
        1006,
    ));
    let long_subject = "字".repeat(129);
    cases.push((
        "subject 129 chars",
        Box::new(move |o: &mut NewOrder| {
            o.set("subject", &long_subject).sign();
        }),
        1001,
    ));
    cases.push((
        "subject control char",
        Box::new(|o: &mut NewOrder| {
            o.set("subject", "a\u{0}b").sign();
        }),
        1001,
    ));
    for order_no in ["'; DROP TABLE orders;--", "<b>x</b>", "a b", "订单1", &"x".repeat(65)] {
        let order_no = order_no.to_owned();
        cases.push((
            "order_no",
            Box::new(move |o: &mut NewOrder| {
                o.set("order_no", &order_no).sign();
            }),
            1001,
        ));
    }
    for t in ["P905", "p901", "alipay", "P901' OR '1'='1"] {
        cases.push((
            "order_type",
            Box::new(move |o: &mut NewOrder| {
                o.set("order_type", t).sign();
            }),
            1001,
        ));
    }
    for url in ["javascript:alert(1)", "ftp://shop.example.com/n", "/relative", "not a url", "https://", "https://u:p@shop.example.com/"] {
        cases.push((
            "notify_url",
            Box::new(move |o: &mut NewOrder| {
                o.set("notify_url", url);
            }),
            1001,
        ));
        cases.push((
            "return_url",
            Box::new(move |o: &mut NewOrder| {
                o.set("return_url", url).sign();
            }),
            1001,
        ));
    }
    for userid in ["abc", "-5", "0", "1.5", "99999999999999999999", "10001 OR 1=1"] {
        cases.push((
            "userid",
            Box::new(move |o: &mut NewOrder| {
                o.set("userid", userid).sign();
            }),
            1001,
        ));
    }
    cases.push((
        "ip too long",
        Box::new(|o: &mut NewOrder| {
            o.set("ip", &"1".repeat(65));
        }),
        1001,
    ));
    cases.push((
        "wrong sign",
        Box::new(|o: &mut NewOrder| {
            o.set("sign", "d41d8cd98f00b204e9800998ecf8427e");
        }),
        1002,
    ));
    cases.push((
        "sign of another key",
        Box::new(|o: &mut NewOrder| {
            let s = jiufu_protocol::sign::create_order_sign("10001", "bad-base", "P901", "10.00", "", "other-key");
            o.set("sign", &s);
        }),
        1002,
    ));
    cases.push((
        "sign over other amount",
        Box::new(|o: &mut NewOrder| {
            o.set("amount", "10.0");
        }),
        1002,
    ));
    cases.push((
        "garbled sign",
        Box::new(|o: &mut NewOrder| {
            o.set("sign", "<script>'\"");
        }),
        1002,
    ));

    let before = order_count(&gw);
    for (what, mutate, code) in &cases {
        let mut o = base.clone();
        mutate(&mut o);
        let v = o.post(&gw).await;
        assert_eq!(v["success"], false, "{what}: {v}");
        assert_eq!(v["errorCode"].as_i64(), Some(*code), "{what} ({:?}): {v}", o.fields);
        assert!(v["errorMsg"].as_str().is_some_and(|m| !m.is_empty()), "{what}: message");
    }
    assert_eq!(order_count(&gw), before, "no bad request created anything");

    // raw bodies
    // over the 64 KiB limit: drained up to 256 KiB and answered in the envelope
    let big = vec![b'a'; 200 * 1024];
    assert_eq!(post_raw(&gw, "application/x-www-form-urlencoded", big.clone()).await["errorCode"], 1001);
    assert_eq!(post_raw(&gw, "application/json", big).await["errorCode"], 1001);
    // far over it: the envelope if the client reads it, else the connection is closed; never read whole
    let huge = vec![b'a'; 10 * 1024 * 1024];
    let sent = http().post(format!("{}/gateway", gw.url)).header("content-type", "application/json").body(huge).send().await;
    if let Ok(resp) = sent {
        assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["errorCode"], 1001);
    }
    let mut invalid_utf8 = b"userid=10001&subject=".to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    assert_eq!(post_raw(&gw, "application/x-www-form-urlencoded", invalid_utf8).await["errorCode"], 1001);
    assert_eq!(post_raw(&gw, "application/x-www-form-urlencoded", b"subject=%FF%FE&userid=1".to_vec()).await["errorCode"], 1001);
    assert_eq!(post_raw(&gw, "application/json", b"{not json".to_vec()).await["errorCode"], 1001);
    assert_eq!(post_raw(&gw, "application/json", b"[1,2]".to_vec()).await["errorCode"], 1001);
    assert_eq!(post_raw(&gw, "application/json", br#"{"userid":{"a":1}}"#.to_vec()).await["errorCode"], 1001);
    assert_eq!(post_raw(&gw, "multipart/form-data; boundary=zz", b"garbage".to_vec()).await["errorCode"], 1001);
    assert_eq!(post_raw(&gw, "application/x-www-form-urlencoded", b"amount=1&amount=2".to_vec()).await["errorCode"], 1001);
    assert_eq!(post_raw(&gw, "text/plain", Vec::new()).await["errorCode"], 1001);
    assert_eq!(order_count(&gw), before, "no raw body created anything");

    // metacharacters in free-text fields are data: stored and returned verbatim
    let nasty = "<script>alert(1)</script>'\"; DROP TABLE orders;-- %00 &amp;";
    let mut o = NewOrder::new("meta-ok", "P901", "3.00", "https://shop.example.com/n?q=<x>&r='1'");
    o.set("subject", nasty).set("ip", "' OR 1=1 --").set("order_time", "<i>now</i>");
    let id = o.create(&gw).await;
    let shown = gw.show(&id);
    assert_eq!(shown["order"]["subject"], nasty);
    assert_eq!(shown["order"]["ip"], "' OR 1=1 --");
    assert_eq!(shown["order"]["order_time"], "<i>now</i>");
    assert_eq!(order_count(&gw), before + 1);

    // other endpoints with garbage never 5xx
    for path in [
        "/query/%FF%FE",
        "/qrcode/'%20OR%201=1",
        "/order/abc/x/y",
        "/order/10001/%3Cscript%3E/zz",
        "/transfer/%3Cscript%3E",
        "/order/:/a/b",
    ] {
        let resp = http().get(format!("{}{path}", gw.url)).send().await.unwrap();
        assert!(resp.status().as_u16() < 500, "{path}: {}", resp.status());
    }
    assert!(!gw.log().contains("panicked"), "the gateway panicked");
}

/// L2: a refusal page never shows a field name the client chose: the
/// gateway's own domain would be saying it.
#[tokio::test(flavor = "multi_thread")]
async fn refusal_pages_do_not_echo_chosen_field_names() {
    let gw = Gateway::start();
    let chosen = "请致电4001234567领取退款";
    let encoded: String = url::form_urlencoded::byte_serialize(chosen.as_bytes()).collect();
    for (path, query) in [
        ("/submit.php", format!("{encoded}=1&{encoded}=2")),
        ("/payments/epay/v1/order/create-transaction/submit.php", format!("{encoded}=1&{encoded}=2")),
    ] {
        let resp = http().get(format!("{}{path}?{query}", gw.url)).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{path}");
        let page = resp.text().await.unwrap();
        assert!(!page.contains("4001234567") && !page.contains("请致电"), "{path}: {page}");
    }
    // The JSON APIs do not either.
    let v = post_raw(&gw, "application/json", format!(r#"{{"{chosen}":1,"{chosen}":2}}"#).into_bytes()).await;
    assert!(!v["errorMsg"].as_str().unwrap().contains("4001234567"), "{v}");
    let v = post_raw(&gw, "application/x-www-form-urlencoded", format!("{encoded}=1&{encoded}=2").into_bytes()).await;
    assert!(!v["errorMsg"].as_str().unwrap().contains("4001234567"), "{v}");
}
