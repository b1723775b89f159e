//! Who a shop order's payer is (M2): a browser-driven creation
//! (`submit.php`, `createOrder?isHtml=1`) is its browser's address — the
//! peer, or `X-Forwarded-For` from a proxy in `JIUFU_TRUSTED_PROXIES`
//! only — and counts against the per-payer cap; a server-to-server one is
//! the payer the protocol names (易支付 mapi's `clientip`), or nobody.
//! Orders naming nobody hold at most half of a price's amounts, so orders
//! that name their payer always find one.

use jiufu_e2e::shop::*;
use jiufu_e2e::*;
use serde_json::{Value, json};

/// A signed 易支付 request for Alipay at `money`.
fn epay(no: &str, money: &str, sink: &ShopSink, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p: Vec<(&str, &str)> =
        vec![("pid", "10001"), ("type", "alipay"), ("out_trade_no", no), ("notify_url", &sink.url), ("name", "VIP"), ("money", money)];
    p.extend_from_slice(extra);
    let sign = epay_sign(&p, KEY);
    let mut out: Vec<(String, String)> = p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    out.push(("sign".into(), sign));
    out
}

/// `/submit.php` from a browser, with `X-Forwarded-For: xff` when given:
/// the order id of a 302, or None for a refusal page.
async fn submit(gw: &Gateway, params: &[(String, String)], xff: Option<&str>) -> Option<String> {
    let mut req = no_redirects().get(format!("{}/submit.php?{}", gw.url, form_owned(params)));
    if let Some(xff) = xff {
        req = req.header("x-forwarded-for", xff);
    }
    let resp = req.send().await.unwrap();
    match resp.status().as_u16() {
        302 => Some(resp.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().to_owned()),
        400 => {
            let page = resp.text().await.unwrap();
            assert!(page.contains("too many open orders") || page.contains("未支付订单过多"), "{page}");
            None
        }
        other => panic!("submit.php answered {other}"),
    }
}

async fn mapi(gw: &Gateway, params: &[(String, String)]) -> Value {
    http().post(format!("{}/mapi.php", gw.url)).form(params).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_submit_php_orders_from_one_browser_stop_at_the_payer_cap() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "success")).await;
    let mut created = Vec::new();
    for i in 0..30 {
        // The browser may claim any address it likes: from a peer that is
        // not a trusted proxy, the header is ignored.
        let spoof = format!("198.51.100.{i}");
        if let Some(id) = submit(&gw, &epay(&unique("b"), "10.00", &sink, &[("clientip", &spoof)]), Some(&spoof)).await {
            created.push(id);
        }
    }
    assert_eq!(created.len(), 3, "the default payer limit is 3 open orders");
    for id in &created {
        assert_eq!(gw.show(id)["order"]["ip"], "127.0.0.1", "the peer's address, not clientip or the header");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_each_browser_is_its_own_payer() {
    let gw = Gateway::start_with(&[("JIUFU_TRUSTED_PROXIES", "127.0.0.1/32, ::1")]);
    let sink = ShopSink::start(&[], (200, "success")).await;
    for i in 0..5 {
        let client = format!("203.0.113.{i}");
        // A client's own header first, then what the proxy appended.
        let id = submit(&gw, &epay(&unique("p"), "10.00", &sink, &[]), Some(&format!("10.9.9.9, {client}"))).await.expect("created");
        assert_eq!(gw.show(&id)["order"]["ip"], client.as_str());
    }
    // One browser behind the proxy is still capped.
    let mut from_one = 0;
    for _ in 0..5 {
        from_one += usize::from(submit(&gw, &epay(&unique("q"), "10.00", &sink, &[]), Some("203.0.113.77")).await.is_some());
    }
    assert_eq!(from_one, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_side_creations_leave_half_of_a_prices_amounts_to_payers() {
    let gw = Gateway::start();
    let sink = ShopSink::start(&[], (200, "success")).await;
    // 20.00 may take 20.00 down to 19.60 (2 %): 41 amounts, 20 of them for orders without a payer.
    let mut created = 0;
    let mut refused = 0;
    for i in 0..30 {
        let ok = match i % 3 {
            // 易支付 mapi without clientip
            0 => {
                let v = mapi(&gw, &epay(&unique("m"), "20.00", &sink, &[])).await;
                assert!(v["code"] == 1 || (v["code"] == -1 && v["msg"].as_str().unwrap().contains("payer")), "{v}");
                v["code"] == 1
            }
            // epusdt classic: no payer address at all
            1 => {
                let no = unique("e");
                let fields = [("order_id", no.as_str()), ("amount", "20"), ("notify_url", sink.url.as_str())];
                let mut body: serde_json::Map<String, Value> = fields.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
                body.insert("signature".into(), json!(epusdt_sign(&fields, KEY)));
                let v: Value = http()
                    .post(format!("{}/api/v1/order/create-transaction", gw.url))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert!(v["status_code"] == 200 || (v["status_code"] == 400 && v["data"].is_null()), "{v}");
                v["status_code"] == 200
            }
            // V免签 createOrder from the shop's server
            _ => {
                let no = unique("v");
                let sign = md5(&format!("{no}220.00{KEY}"));
                let q = form(&[("payId", &no), ("type", "2"), ("price", "20.00"), ("notifyUrl", &sink.url), ("sign", &sign)]);
                let v = get_json(&format!("{}/createOrder?{q}", gw.url)).await;
                assert!(v["code"] == 1 || (v["code"] == -1 && v.get("data").is_none()), "{v}");
                v["code"] == 1
            }
        };
        if ok { created += 1 } else { refused += 1 }
    }
    assert_eq!((created, refused), (20, 10), "half of 41 amounts, rounded down");
    // Orders naming their payer find every other amount: 21 native orders.
    for i in 0..21 {
        let mut o = NewOrder::new(&unique("n"), "P901", "20.00", &sink.url);
        o.set("ip", &format!("192.0.2.{i}")).sign();
        o.create(&gw).await;
    }
    // mapi's signed clientip names the payer, capped like any other.
    let from = |i: u32| epay(&format!("c{i}-{}", unique("")), "30.00", &sink, &[("clientip", "203.0.113.50")]);
    let mut with_clientip = 0;
    for i in 0..5 {
        with_clientip += usize::from(mapi(&gw, &from(i)).await["code"] == 1);
    }
    assert_eq!(with_clientip, 3, "the payer limit of clientip 203.0.113.50");
}
