//! epusdt classic and GMPay against the real gateway, as the shop plugins
//! send them: JSON bodies with PHP floats (`10.0`, signed as `10`), the
//! merchant found by its key or by `pid`, the JSON notification verified
//! with the shop's own md5 / HMAC, and refusals in epusdt's shape.

use jiufu_e2e::shop::*;
use jiufu_e2e::*;
use serde_json::{Value, json};
use std::time::Duration;

const CLASSIC: &str = "/api/v1/order/create-transaction";
const GMPAY: &str = "/payments/gmpay/v1/order/create-transaction";

fn order_count(gw: &Gateway) -> usize {
    gw.cli(&["order", "list", "--merchant", "10001"]).lines().count()
}

async fn post_raw(gw: &Gateway, path: &str, content_type: &str, body: String) -> Value {
    let resp = http().post(format!("{}{path}", gw.url)).header("content-type", content_type).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 200, "epusdt answers HTTP 200 even for errors");
    resp.json().await.unwrap()
}

/// A classic request as the PHP plugin builds it: `amount` a float written
/// `10.0` in the body but signed as `10`.
fn classic_body(no: &str, sink: &ShopSink, signature: &str) -> String {
    format!(
        r#"{{"order_id":"{no}","amount":10.0,"notify_url":"{}","redirect_url":"{}/return","signature":"{signature}"}}"#,
        sink.url, sink.base
    )
}

fn classic_signature(no: &str, sink: &ShopSink, amount: &str) -> String {
    let ret = format!("{}/return", sink.base);
    epusdt_sign(&[("order_id", no), ("amount", amount), ("notify_url", &sink.url), ("redirect_url", &ret)], KEY)
}

/// Waits for the delivered notification and returns the one call.
async fn delivered(gw: &Gateway, sink: &ShopSink, id: &str) -> Vec<Call> {
    wait_for(Duration::from_secs(30), || async { (gw.show(id)["notification"]["status"] == "delivered").then_some(()) })
        .await
        .expect("delivered");
    tokio::time::sleep(Duration::from_secs(2)).await;
    sink.calls()
}

/// The shop's check of a JSON notification: the values as text, numbers
/// in the form they were written, signed without `signature`.
fn notified_fields(call: &Call) -> Vec<(String, String)> {
    assert_eq!(call.method, "POST");
    assert_eq!(call.content_type, "application/json");
    let body: serde_json::Map<String, Value> = serde_json::from_str(&call.body).expect("a JSON object");
    body.iter()
        .map(|(k, v)| {
            assert!(!v.is_object() && !v.is_array(), "scalar values only: {k}");
            (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn classic_php_float_amount_through_confirmation_to_a_json_notify() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "ok")).await;
    let no = unique("eu");
    let body = classic_body(&no, &sink, &classic_signature(&no, &sink, "10"));
    let v = post_raw(&gw, CLASSIC, "application/json", body.clone()).await;
    assert_eq!((v["status_code"].as_i64(), v["message"].as_str()), (Some(200), Some("success")), "{v}");
    let data = &v["data"];
    let id = data["trade_id"].as_str().unwrap().to_owned();
    assert_eq!(data["order_id"], no.as_str());
    assert_eq!((data["amount"].to_string(), data["actual_amount"].to_string()), ("10".into(), "10".into()));
    assert_eq!(data["payment_url"], format!("{}/pay/checkout-counter/{id}", gw.url));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let expires = data["expiration_time"].as_i64().unwrap();
    assert!((now + 290..=now + 310).contains(&expires), "unix seconds, the order's 300 s from now: {expires}");
    // An identical retry: the same trade_id.
    let again = post_raw(&gw, CLASSIC, "application/json", body).await;
    assert_eq!(again["data"]["trade_id"], id.as_str());
    assert_eq!(order_count(&gw), 1);
    // A second order of the same amount pays 9.99; the shop hears 10 and 9.99.
    let no2 = unique("eu");
    let v2 = post_raw(&gw, CLASSIC, "application/json", classic_body(&no2, &sink, &classic_signature(&no2, &sink, "10"))).await;
    assert_eq!((v2["data"]["amount"].to_string(), v2["data"]["actual_amount"].to_string()), ("10".into(), "9.99".into()));
    let id2 = v2["data"]["trade_id"].as_str().unwrap().to_owned();

    let counter = no_redirects().get(format!("{}/pay/checkout-counter/{id2}", gw.url)).send().await.unwrap();
    assert_eq!(counter.headers()["location"], format!("{}/transfer/{id2}", gw.url).as_str());
    let base = gw.url.clone();
    let status = |id: String| {
        let url = format!("{base}/pay/check-status/{id}");
        async move { get_json(&url).await }
    };
    assert_eq!(status(id2.clone()).await["data"]["status"], 1);

    gw.cli(&["order", "confirm", &id2]);
    let calls = delivered(&gw, &sink, &id2).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let got = notified_fields(&calls[0]);
    let refs: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(field(&got, "signature").map(str::to_owned), Some(epusdt_sign(&refs, KEY)), "{got:?}");
    for (k, want) in [("trade_id", id2.as_str()), ("order_id", no2.as_str()), ("amount", "10"), ("actual_amount", "9.99"), ("status", "2")]
    {
        assert_eq!(field(&got, k), Some(want), "{k} in {}", calls[0].body);
    }
    assert!(calls[0].body.contains(r#""amount":10,"#) && calls[0].body.contains(r#""actual_amount":9.99,"#), "{}", calls[0].body);
    assert_eq!(status(id2.clone()).await["data"]["status"], 2);
    gw.cli(&["order", "close", &id]);
    assert_eq!(status(id.clone()).await["data"]["status"], 3);
    let unknown = status("AAAAAAAAAAAAAAAAAAAAAA".into()).await;
    assert_eq!((unknown["status_code"].as_i64(), unknown["data"].is_null()), (Some(400), true), "{unknown}");
    assert_eq!(gw.show(&id2)["order"]["dialect"], "epusdt");
}

#[tokio::test(flavor = "multi_thread")]
async fn gmpay_hmac_with_pid_and_a_retried_notify() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[(200, "fail"), (200, "okay")], (200, " OK\n")).await;
    let no = unique("gm");
    let ret = format!("{}/return", sink.base);
    let signed = [
        ("pid", "10001"),
        ("order_id", no.as_str()),
        ("currency", "cny"),
        ("amount", "12.5"),
        ("notify_url", &sink.url),
        ("redirect_url", &ret),
        ("name", "月卡"),
    ];
    let signature = gmpay_sign(&signed, KEY);
    let mut body: serde_json::Map<String, Value> = signed.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    body.insert("signature".into(), json!(signature));
    // The amount as a JSON number, written `12.50` as a shop's encoder may leave it.
    let text = serde_json::to_string(&body).unwrap().replace(r#""amount":"12.5""#, r#""amount":12.50"#);
    assert!(text.contains(r#""amount":12.50,"#), "{text}");
    let v = post_raw(&gw, GMPAY, "application/json", text).await;
    assert_eq!(v["status_code"], 200, "{v}");
    let data = &v["data"];
    assert_eq!((data["currency"].as_str(), data["status"].as_i64(), data["receive_address"].as_str()), (Some("cny"), Some(1), Some("")));
    assert_eq!(data["amount"].to_string(), "12.5");
    let id = data["trade_id"].as_str().unwrap().to_owned();
    gw.cli(&["order", "confirm", &id]);
    let calls = delivered(&gw, &sink, &id).await;
    assert_eq!(calls.len(), 3, "fail, okay, then OK: {calls:?}");
    let attempts =
        gw.show(&id)["notify_attempts"].as_array().unwrap().iter().map(|a| a["delivered"].as_bool().unwrap()).collect::<Vec<_>>();
    assert_eq!(attempts, [false, false, true]);
    for call in &calls {
        let got = notified_fields(call);
        let refs: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(field(&got, "signature").map(str::to_owned), Some(gmpay_sign(&refs, KEY)), "{got:?}");
        assert_eq!((field(&got, "pid"), field(&got, "amount"), field(&got, "status")), (Some("10001"), Some("12.5"), Some("2")));
    }

    // A pre-v2 client signs with md5 (form body here): refused (401) unless
    // the merchant allows it — a 32-digit signature is no reason to drop
    // to md5 — then accepted, answered in md5.
    let no2 = unique("gm5");
    let old = [("pid", "10001"), ("order_id", no2.as_str()), ("currency", "CNY"), ("amount", "3"), ("notify_url", &sink.url)];
    let sig = epusdt_sign(&old, KEY);
    let mut fields = old.to_vec();
    fields.push(("signature", &sig));
    let v = post_raw(&gw, GMPAY, "application/x-www-form-urlencoded", form(&fields)).await;
    assert_eq!((v["status_code"].as_i64(), v["data"].is_null()), (Some(401), true), "no md5 by default: {v}");
    gw.cli(&["merchant", "set", "--id", "10001", "--gmpay-md5", "true"]);
    // (the gateway's merchant cache forgets within 3 s)
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let v = post_raw(&gw, GMPAY, "application/x-www-form-urlencoded", form(&fields)).await;
    assert_eq!(v["status_code"], 200, "{v}");
    let id2 = v["data"]["trade_id"].as_str().unwrap().to_owned();
    gw.cli(&["order", "confirm", &id2]);
    let calls = delivered(&gw, &sink, &id2).await;
    let last = notified_fields(calls.last().unwrap());
    let refs: Vec<(&str, &str)> = last.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(field(&last, "signature").map(str::to_owned), Some(epusdt_sign(&refs, KEY)));
    assert_eq!(gw.show(&id2)["order"]["dialect"], "gmpay");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_have_epusdts_shape_and_store_nothing() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "ok")).await;
    let no = unique("bad");
    let sign_with = |pairs: &[(&str, &str)]| {
        let s = epusdt_sign(pairs, KEY);
        let mut all: serde_json::Map<String, Value> = pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        all.insert("signature".into(), json!(s));
        Value::Object(all).to_string()
    };
    let cases = [
        ("wrong signature", classic_body(&no, &sink, &"0".repeat(32)), 401),
        ("signed as 10.0, not in shortest form", classic_body(&no, &sink, &classic_signature(&no, &sink, "10.0")), 401),
        ("missing notify_url", sign_with(&[("order_id", &no), ("amount", "1")]), 400),
        ("3-decimal amount", sign_with(&[("order_id", &no), ("amount", "1.001"), ("notify_url", &sink.url)]), 400),
        ("unknown pid", sign_with(&[("pid", "99999"), ("order_id", &no), ("amount", "1"), ("notify_url", &sink.url)]), 401),
        ("order_id over 32", sign_with(&[("order_id", &"x".repeat(33)), ("amount", "1"), ("notify_url", &sink.url)]), 400),
        ("not JSON", "{\"order_id\":".to_owned(), 400),
        ("nested value", r#"{"order_id":{"a":1},"amount":1,"notify_url":"x","signature":"y"}"#.to_owned(), 400),
        // epusdt's middleware refuses a missing signature like a wrong one.
        ("no signature", format!(r#"{{"order_id":"{no}","amount":1,"notify_url":"{}"}}"#, sink.url), 401),
        ("empty signature", classic_body(&no, &sink, ""), 401),
        ("a signature that is no digest", classic_body(&no, &sink, "not-hex"), 401),
        ("an HMAC-long signature on the md5 path", classic_body(&no, &sink, &"a".repeat(64)), 401),
    ];
    for (what, body, code) in cases {
        let v = post_raw(&gw, CLASSIC, "application/json", body).await;
        assert_eq!(v["status_code"].as_i64(), Some(code), "{what}: {v}");
        assert!(v["data"].is_null() && v["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {v}");
    }
    let gm_with = |pairs: &[(&str, &str)], key: &str| {
        let mut all: serde_json::Map<String, Value> = pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        all.insert("signature".into(), json!(gmpay_sign(pairs, key)));
        Value::Object(all).to_string()
    };
    let md5_with = |pairs: &[(&str, &str)], key: &str| {
        let mut all: serde_json::Map<String, Value> = pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        all.insert("signature".into(), json!(epusdt_sign(pairs, key)));
        Value::Object(all).to_string()
    };
    // GMPay: pid and currency are required; the currency is cny.
    let gm = |pairs: &[(&str, &str)]| {
        let s = gmpay_sign(pairs, KEY);
        let mut all: serde_json::Map<String, Value> = pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        all.insert("signature".into(), json!(s));
        Value::Object(all).to_string()
    };
    for (what, body, code) in [
        ("no currency", gm(&[("pid", "10001"), ("order_id", &no), ("amount", "1"), ("notify_url", &sink.url)]), 400),
        ("usd", gm(&[("pid", "10001"), ("order_id", &no), ("currency", "usd"), ("amount", "1"), ("notify_url", &sink.url)]), 400),
        (
            "HMAC with another key",
            gm_with(
                &[("pid", "10001"), ("order_id", &no), ("currency", "cny"), ("amount", "1"), ("notify_url", &sink.url)],
                "not-the-key-0123456789",
            ),
            401,
        ),
        (
            "md5 with another key",
            md5_with(
                &[("pid", "10001"), ("order_id", &no), ("currency", "cny"), ("amount", "1"), ("notify_url", &sink.url)],
                "not-the-key-0123456789",
            ),
            401,
        ),
    ] {
        let v = post_raw(&gw, GMPAY, "application/json", body).await;
        assert_eq!(v["status_code"].as_i64(), Some(code), "{what}: {v}");
    }
    // An oversized body is refused in epusdt's shape, not by a dropped connection.
    let huge = format!(r#"{{"order_id":"big","amount":1,"notify_url":"{}","name":"{}","signature":"x"}}"#, sink.url, "x".repeat(100_000));
    let v = post_raw(&gw, CLASSIC, "application/json", huge).await;
    assert_eq!((v["status_code"].as_i64(), v["data"].is_null()), (Some(400), true), "{v}");
    assert_eq!(order_count(&gw), 0, "nothing stored");

    // The same order_id with another amount: 10002; the first order stays.
    let reuse = unique("re");
    let first =
        post_raw(&gw, CLASSIC, "application/json", sign_with(&[("order_id", &reuse), ("amount", "2"), ("notify_url", &sink.url)])).await;
    assert_eq!(first["status_code"], 200);
    let changed =
        post_raw(&gw, CLASSIC, "application/json", sign_with(&[("order_id", &reuse), ("amount", "3"), ("notify_url", &sink.url)])).await;
    assert_eq!((changed["status_code"].as_i64(), changed["data"].is_null()), (Some(10002), true), "{changed}");
    // Unpaid (and then closed) orders are never notified.
    gw.cli(&["order", "close", first["data"]["trade_id"].as_str().unwrap()]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(sink.calls().is_empty());
    assert_eq!(order_count(&gw), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_merchant_is_the_one_whose_key_verifies() {
    const OTHER: &str = "second-merchant-key-0123456789";
    let gw = Gateway::start();
    gw.cli(&["merchant", "add", "--id", "20002", "--name", "二号店", "--key", OTHER]);
    gw.cli(&["code", "add", "--merchant", "20002", "--channel", "P902", "--qr", "wxp://second"]);
    let sink = ShopSink::start(&[], (200, "ok")).await;
    let body = |pairs: &[(&str, &str)], key: &str| {
        let mut all: serde_json::Map<String, Value> = pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        all.insert("signature".into(), json!(epusdt_sign(pairs, key)));
        Value::Object(all).to_string()
    };
    // No pid: merchant 20002's key signed it, so the order is 20002's, on its only channel.
    let v =
        post_raw(&gw, CLASSIC, "application/json", body(&[("order_id", "k-1"), ("amount", "5"), ("notify_url", &sink.url)], OTHER)).await;
    assert_eq!(v["status_code"], 200, "{v}");
    let shown = gw.show(v["data"]["trade_id"].as_str().unwrap());
    assert_eq!((shown["order"]["merchant_id"].as_i64(), shown["order"]["channel"].as_str()), (Some(20002), Some("P902")));
    // pid 10001 signed with 20002's key: refused.
    let v = post_raw(
        &gw,
        CLASSIC,
        "application/json",
        body(&[("pid", "10001"), ("order_id", "k-2"), ("amount", "5"), ("notify_url", &sink.url)], OTHER),
    )
    .await;
    assert_eq!(v["status_code"], 401, "{v}");
    // A third merchant given the same key: the key no longer names one merchant, so it is refused.
    let (ok, _, err) = gw.try_cli(&["merchant", "add", "--id", "30003", "--name", "同钥", "--key", OTHER]);
    assert!(ok && err.contains("warning") && err.contains("20002"), "{err}");
    // (the gateway reads its merchants again within 3 s)
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let v =
        post_raw(&gw, CLASSIC, "application/json", body(&[("order_id", "k-3"), ("amount", "5"), ("notify_url", &sink.url)], OTHER)).await;
    assert_eq!(v["status_code"], 401, "{v}");
    // Bad ids at the checkout counter are "not found", never a server error.
    let bad = no_redirects().get(format!("{}/pay/checkout-counter/%0Abad", gw.url)).send().await.unwrap();
    assert_eq!(bad.status(), 200);
    assert_eq!(bad.json::<Value>().await.unwrap()["status_code"], 400);
}
