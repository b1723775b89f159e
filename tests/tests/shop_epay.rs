//! 易支付 (EPay) V1 against the real gateway, driven as a shop drives it:
//! `/submit.php` from the payer's browser, `/mapi.php` and `/api.php` from
//! the shop's server, the GET notification verified with the shop's own
//! md5, and every refusal in 易支付's own shape with nothing stored.

use jiufu_e2e::collector::*;
use jiufu_e2e::shop::*;
use jiufu_e2e::*;
use serde_json::Value;
use std::time::Duration;

const OTHER_KEY: &str = "other-merchant-key-0123456789";

fn order_count(gw: &Gateway) -> usize {
    gw.cli(&["order", "list", "--merchant", "10001"]).lines().count()
}

/// A shop's signed 易支付 request: PHP sends money as `(float)` text.
fn signed(no: &str, money: &str, sink: &ShopSink, extra: &[(&'static str, &str)]) -> Vec<(String, String)> {
    let mut p: Vec<(&str, String)> = vec![
        ("pid", "10001".into()),
        ("type", "alipay".into()),
        ("out_trade_no", no.into()),
        ("notify_url", sink.url.clone()),
        ("return_url", format!("{}/return", sink.base)),
        ("name", "VIP 会员 30天".into()),
        ("money", money.into()),
    ];
    p.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sign = epay_sign(&refs, KEY);
    let mut out: Vec<(String, String)> = p.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    out.push(("sign".into(), sign));
    out.push(("sign_type".into(), "MD5".into()));
    out
}

fn with(params: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    params.iter().map(|(k, v)| (k.clone(), if k == name { value.to_owned() } else { v.clone() })).collect()
}

async fn mapi(gw: &Gateway, params: &[(String, String)]) -> Value {
    http()
        .post(format!("{}/mapi.php", gw.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_owned(params))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The shop's check of a notification or return: every parameter but
/// `sign`/`sign_type` signed with its key, exactly as received.
fn verify(params: &[(String, String)]) {
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(field(params, "sign_type"), Some("MD5"));
    assert_eq!(field(params, "sign").map(str::to_owned), Some(epay_sign(&refs, KEY)), "{params:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_get_and_post_pay_through_the_collector_and_notify_signed() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "success")).await;
    let col = CollectorProc::paired(&gw, &[]);
    col.wait_code_synced(&gw).await;
    let no = unique("ep");
    // Extra parameters a shop sends (sitename, param) are signed too.
    let params = signed(&no, "10", &sink, &[("param", "uid=7&plan=vip"), ("sitename", "小店")]);

    let get = no_redirects().get(format!("{}/submit.php?{}", gw.url, form_owned(&params))).send().await.unwrap();
    assert_eq!(get.status(), 302);
    let location = get.headers()["location"].to_str().unwrap().to_owned();
    let id = location.strip_prefix(&format!("{}/transfer/", gw.url)).unwrap_or_else(|| panic!("{location}")).to_owned();
    // The same form POSTed again (the browser's back button): the same order.
    let post = no_redirects()
        .post(format!("{}/payments/epay/v1/order/create-transaction/submit.php", gw.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_owned(&params))
        .send()
        .await
        .unwrap();
    assert_eq!((post.status().as_u16(), post.headers()["location"].to_str().unwrap()), (302, location.as_str()));
    assert_eq!(order_count(&gw), 1);
    let shown = gw.show(&id);
    assert_eq!(shown["order"]["dialect"], "epay");
    assert!(shown["protocol"].as_str().unwrap().contains("易支付"), "{shown}");

    // The payer pays 10.00 into the Alipay code; the collector confirms.
    wait_for(Duration::from_secs(5), || async { col.cli(&["orders"]).contains(&id).then_some(()) }).await.expect("mirrored");
    assert_eq!(vmq_push(&col, "2", "10.00", now_ms(), PUSH_KEY).await["code"], 1);
    wait_for(Duration::from_secs(15), || async { (!sink.calls().is_empty()).then_some(()) }).await.expect("notified");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = sink.calls();
    assert_eq!(calls.len(), 1, "acknowledged once: {calls:?}");
    assert_eq!(calls[0].method, "GET");
    let got = pairs(&calls[0].query);
    verify(&got);
    let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["pid", "trade_no", "out_trade_no", "type", "name", "money", "trade_status", "param", "sign", "sign_type"]);
    for (k, v) in [
        ("pid", "10001"),
        ("trade_no", id.as_str()),
        ("out_trade_no", no.as_str()),
        ("type", "alipay"),
        ("name", "VIP 会员 30天"),
        ("money", "10"),
        ("trade_status", "TRADE_SUCCESS"),
        ("param", "uid=7&plan=vip"),
    ] {
        assert_eq!(field(&got, k), Some(v), "{k} in {got:?}");
    }
    let shown = gw.show(&id);
    assert_eq!(shown["notification"]["status"], "delivered");
    assert_eq!(shown["order"]["confirmed_by"].as_str().map(|s| s.starts_with("device:")), Some(true), "{shown}");

    // The payer's page sends them back to return_url, signed like the notification.
    let page = http().get(format!("{}/transfer/{id}", gw.url)).send().await.unwrap().text().await.unwrap();
    let start = page.find(&format!("{}/return?", sink.base)).unwrap_or_else(|| panic!("no return link in {page}"));
    // The page escapes `&` in the attribute (askama writes `&#38;`).
    let link = page[start..].split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
    let back = pairs(link.split_once('?').unwrap().1);
    verify(&back);
    assert_eq!((field(&back, "trade_status"), field(&back, "money")), (Some("TRADE_SUCCESS"), Some("10")));

    // Paid: the same request again is refused, never reopened.
    let again = no_redirects().get(format!("{}/submit.php?{}", gw.url, form_owned(&params))).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("订单号已被使用"));
}

#[tokio::test(flavor = "multi_thread")]
async fn mapi_answers_payurl_and_api_php_looks_up_by_key_or_sign() {
    let gw = Gateway::start();
    // Another merchant, with its own key: it never sees merchant 10001's orders.
    gw.cli(&["merchant", "add", "--id", "20002", "--name", "二号店", "--key", OTHER_KEY]);
    let sink = ShopSink::start(&[], (200, "success")).await;
    let (a, b) = (unique("ma"), unique("mb"));
    let first = mapi(&gw, &signed(&a, "10.00", &sink, &[("clientip", "203.0.113.9"), ("device", "pc")])).await;
    assert_eq!((first["code"].as_i64(), first["msg"].as_str()), (Some(1), Some("succ")), "{first}");
    let id = first["trade_no"].as_str().unwrap().to_owned();
    assert_eq!(first["payurl"], format!("{}/transfer/{id}", gw.url));
    assert!(first.get("qrcode").is_none(), "no bare QR: it would hide the payable amount");
    // A second 10.00 order pays 9.99, but the shop still hears its own 10.00.
    let second = mapi(&gw, &signed(&b, "10.00", &sink, &[])).await;
    let id_b = second["trade_no"].as_str().unwrap().to_owned();
    assert_eq!(get_json(&format!("{}/query/{id_b}", gw.url)).await["order"]["amount"].to_string(), "9.99");

    let base = gw.url.clone();
    let lookup = |q: String| {
        let url = format!("{base}/api.php?{q}");
        async move { get_json(&url).await }
    };
    let by_key = lookup(form(&[("act", "order"), ("pid", "10001"), ("key", KEY), ("out_trade_no", &b)])).await;
    assert_eq!(by_key["code"], 1, "{by_key}");
    assert_eq!((by_key["trade_no"].as_str(), by_key["money"].as_str()), (Some(id_b.as_str()), Some("10.00")));
    assert_eq!((by_key["status"].as_i64(), by_key["trade_status"].as_str()), (Some(0), Some("WAIT_BUYER_PAY")));
    assert_eq!((by_key["type"].as_str(), by_key["pid"].as_i64()), (Some("alipay"), Some(10001)));
    assert!(by_key["addtime"].as_str().unwrap().len() == 19 && by_key["endtime"].is_null());

    gw.cli(&["order", "confirm", &id_b]);
    // Paid 9.99; the shop hears its own 10.00, signed.
    wait_for(Duration::from_secs(15), || async { (!sink.calls().is_empty()).then_some(()) }).await.expect("notified");
    let got = pairs(&sink.calls()[0].query);
    verify(&got);
    assert_eq!((field(&got, "trade_no"), field(&got, "money")), (Some(id_b.as_str()), Some("10.00")));
    let q = [("act", "order"), ("pid", "10001"), ("trade_no", id_b.as_str())];
    let sign = epay_sign(&q, KEY);
    let by_sign = lookup(form(&[q[0], q[1], q[2], ("sign", &sign), ("sign_type", "MD5")])).await;
    assert_eq!((by_sign["code"].as_i64(), by_sign["status"].as_i64()), (Some(1), Some(1)), "{by_sign}");
    assert_eq!(by_sign["trade_status"], "TRADE_SUCCESS");
    assert_eq!(by_sign["endtime"].as_str().map(str::len), Some(19));

    for (q, code) in [
        (form(&[("act", "order"), ("pid", "10001"), ("key", "wrong-key-0123456789"), ("out_trade_no", &b)]), -3),
        (form(&[("act", "order"), ("pid", "10001"), ("trade_no", &id_b), ("sign", "0".repeat(32).as_str())]), -3),
        (form(&[("act", "order"), ("pid", "10001"), ("out_trade_no", &b)]), -3),
        (form(&[("act", "order"), ("pid", "99999"), ("key", KEY), ("out_trade_no", &b)]), -3),
        (form(&[("act", "order"), ("pid", "10001"), ("key", KEY), ("out_trade_no", "no-such-order")]), -1),
        (form(&[("act", "order"), ("pid", "20002"), ("key", OTHER_KEY), ("trade_no", &id)]), -1),
        (form(&[("act", "query"), ("pid", "10001"), ("key", KEY)]), -5),
    ] {
        let v = lookup(q.clone()).await;
        assert_eq!(v["code"].as_i64(), Some(code), "{q}: {v}");
        assert!(v.get("trade_no").is_none() && v.get("money").is_none(), "no order data in a refusal: {v}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_have_epays_shape_and_store_nothing() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "success")).await;
    let good = signed(&unique("bad"), "10", &sink, &[]);
    let wrong_sign = with(&good, "sign", &"0".repeat(32));
    let missing: Vec<(String, String)> = good.iter().filter(|(k, _)| k != "name").cloned().collect();
    let resign = |p: Vec<(String, String)>| {
        let kept: Vec<(String, String)> = p.into_iter().filter(|(k, _)| k != "sign" && k != "sign_type").collect();
        let refs: Vec<(&str, &str)> = kept.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let sign = epay_sign(&refs, KEY);
        let mut out = kept.clone();
        out.push(("sign".into(), sign));
        out
    };
    let three_decimals = resign(with(&good, "money", "10.001"));
    let unknown_pid = resign(with(&good, "pid", "99999"));
    let bad_type = resign(with(&good, "type", "usdt"));
    let private_notify = resign(with(&good, "notify_url", "file:///etc/passwd"));
    for (what, params, says) in [
        ("wrong sign", &wrong_sign, "签名错误"),
        ("missing name", &missing, "name is required"),
        ("3-decimal money", &three_decimals, "金额无效"),
        ("unknown pid", &unknown_pid, "商户不存在"),
        ("unknown type", &bad_type, "type must be"),
        ("bad notify_url", &private_notify, "notify_url"),
    ] {
        let v = mapi(&gw, params).await;
        assert_eq!(v["code"], -1, "{what}: {v}");
        assert!(v["msg"].as_str().unwrap().contains(says), "{what}: {v}");
        assert!(v.get("trade_no").is_none());
        let page = no_redirects().get(format!("{}/submit.php?{}", gw.url, form_owned(params))).send().await.unwrap();
        assert_eq!(page.status(), 400, "{what}");
        assert!(page.headers().get("location").is_none(), "{what}: no redirect");
        let html = page.text().await.unwrap();
        assert!(html.contains("支付请求无效") && html.contains(says), "{what}: {html}");
    }
    assert_eq!(order_count(&gw), 0, "nothing stored");

    // A hostile product name is stored as text and shown escaped to the payer.
    let xss = signed(&unique("xss"), "2", &sink, &[]);
    let xss = resign(with(&xss, "name", "<script>alert('商户')</script>"));
    let v = mapi(&gw, &xss).await;
    let page = http().get(v["payurl"].as_str().unwrap_or_else(|| panic!("{v}"))).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("<script>alert") && page.contains("&#60;script&#62;alert"), "{page}");

    // The same out_trade_no with anything changed is refused; the first order stays.
    let no = unique("reuse");
    let first = signed(&no, "10", &sink, &[("param", "a"), ("sitename", "")]);
    assert_eq!(mapi(&gw, &first).await["code"], 1, "an empty parameter is left out of the sign");
    assert_eq!(mapi(&gw, &first).await["code"], 1, "the identical request again");
    for (what, changed) in [
        ("money", signed(&no, "11", &sink, &[("param", "a")])),
        ("money text", signed(&no, "10.00", &sink, &[("param", "a")])),
        ("param", signed(&no, "10", &sink, &[("param", "b")])),
        ("name", resign(with(&first, "name", "other"))),
        ("return_url", resign(with(&first, "return_url", &format!("{}/elsewhere", sink.base)))),
        ("type", resign(with(&first, "type", "wxpay"))),
    ] {
        let v = mapi(&gw, &changed).await;
        assert_eq!(v["code"], -1, "{what}: {v}");
        assert!(v["msg"].as_str().unwrap().contains("订单号已被使用"), "{what}: {v}");
    }
    // An unpaid order is never notified, closed or not.
    let open = mapi(&gw, &signed(&unique("unpaid"), "3", &sink, &[])).await;
    let closed = open["trade_no"].as_str().unwrap();
    gw.cli(&["order", "close", closed]);
    // An order that expires unpaid: never notified, and no resend makes it so.
    gw.cli(&["merchant", "add", "--id", "30003", "--name", "短时", "--key", OTHER_KEY, "--order-ttl", "1"]);
    gw.cli(&["code", "add", "--merchant", "30003", "--channel", "P901", "--qr", "https://qr.alipay.com/short"]);
    let mut short = vec![
        ("pid", "30003"),
        ("type", "alipay"),
        ("out_trade_no", "short-1"),
        ("notify_url", sink.url.as_str()),
        ("name", "x"),
        ("money", "2"),
    ];
    let sign = epay_sign(&short, OTHER_KEY);
    short.push(("sign", &sign));
    let v: Value = http().post(format!("{}/mapi.php", gw.url)).form(&short).send().await.unwrap().json().await.unwrap();
    let expired = v["trade_no"].as_str().unwrap_or_else(|| panic!("{v}")).to_owned();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(gw.show(&expired)["effective_state"], -1);
    let (ok, _, err) = gw.try_cli(&["notify", "resend", &expired]);
    assert!(!ok, "an unpaid order cannot be resent: {err}");
    let (ok, _, _) = gw.try_cli(&["notify", "resend", closed]);
    assert!(!ok);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sink.calls().is_empty(), "{:?}", sink.calls());
    assert_eq!(order_count(&gw), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_answer_is_retried_until_the_body_is_success() {
    let gw = Gateway::start();
    // A page or a sentence holding the word is no acknowledgement.
    let script = [(200, "fail"), (500, "success"), (200, ""), (200, "<p>SUCCESS</p>"), (200, "unsuccessful")];
    let sink = ShopSink::start(&script, (200, " SUCCESS\r\n")).await;
    let v = mapi(&gw, &signed(&unique("retry"), "5", &sink, &[])).await;
    let id = v["trade_no"].as_str().unwrap().to_owned();
    gw.cli(&["order", "confirm", &id]);
    let shown = wait_for(Duration::from_secs(30), || async {
        let s = gw.show(&id);
        (s["notification"]["status"] == "delivered").then_some(s)
    })
    .await
    .expect("delivered");
    let attempts = shown["notify_attempts"].as_array().unwrap();
    let seen: Vec<(i64, bool)> = attempts.iter().map(|a| (a["http_status"].as_i64().unwrap(), a["delivered"].as_bool().unwrap())).collect();
    assert_eq!(seen, [(200, false), (500, false), (200, false), (200, false), (200, false), (200, true)], "{attempts:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.calls().len(), 6, "nothing after the acknowledgement");
    for call in sink.calls() {
        verify(&pairs(&call.query));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn merchant_show_prints_settings_a_shop_can_use_as_printed() {
    let public = "https://pay.example.com";
    let gw = Gateway::start_with(&[("JIUFU_PUBLIC_URL", public)]);
    let shown = gw.cli(&["merchant", "show", "--id", "10001"]);
    let value = |label: &str| -> String {
        let line = shown.lines().find(|l| l.contains(label) && l.contains(": ")).unwrap_or_else(|| panic!("{label} in {shown}"));
        line.split_once(": ").unwrap().1.trim().to_owned()
    };
    assert_eq!(value("apiurl"), format!("{public}/"));
    assert_eq!(value("商户ID pid  "), "10001");
    assert_eq!(value("classic"), format!("{public}/api/v1/order/create-transaction"));
    assert_eq!(value("GMPay   "), format!("{public}/payments/gmpay/v1/order/create-transaction"));
    assert_eq!(value("token"), KEY);
    assert_eq!(value("通讯密钥"), KEY);
    assert_eq!(value("网关地址"), format!("{public}/gateway"));
    // The printed apiurl and key work as a 彩虹易支付 SDK uses them (apiurl + "mapi.php").
    let apiurl = value("apiurl").replace(public, &gw.url);
    let sink = ShopSink::start(&[], (200, "success")).await;
    let mut params = signed(&unique("show"), "1", &sink, &[]);
    params.retain(|(k, _)| k != "sign_type");
    let v: Value = http().post(format!("{apiurl}mapi.php")).form(&params).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["code"], 1, "{v}");
    // (The test harness starts the server on its own address, so its links name that one.)
    assert_eq!(v["payurl"], format!("{}/transfer/{}", gw.url, v["trade_no"].as_str().unwrap()));

    // `merchant add` keeps only the key on stdout and shows the settings on stderr.
    let (ok, out, err) = gw.try_cli(&["merchant", "add", "--id", "20002", "--name", "二号店"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim().len(), 32, "{out}");
    assert!(err.contains("易支付") && err.contains("V免签") && err.contains(out.trim()) && err.contains("20002"), "{err}");
    let (ok, _, err) = gw.try_cli(&["merchant", "show", "--id", "424242"]);
    assert!(!ok && err.contains("no merchant 424242"), "{err}");
}
