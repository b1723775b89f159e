//! The gateway's edges, attacked through the real `jiufu-gateway` binary:
//! "I have paid" claims from other sites and without end (S13), callbacks
//! to special-purpose addresses (S14), JSON bodies with a key given twice
//! (S15), one payment confirming two orders (S16), and collector
//! timestamps at the ends of the 64-bit range. Each attack is refused, and
//! nothing changed afterwards.

use jiufu_e2e::device::{Device, now};
use jiufu_e2e::*;
use serde_json::{Value, json};
use std::time::Duration;

fn order_count(gw: &Gateway) -> usize {
    gw.cli(&["order", "list", "--merchant", "10001"]).lines().count()
}

fn history(gw: &Gateway, id: &str) -> Vec<Value> {
    gw.show(id)["history"].as_array().cloned().unwrap_or_default()
}

fn claims(gw: &Gateway, id: &str) -> usize {
    history(gw, id).iter().filter(|e| e["to_state"] == 8).count()
}

async fn state(gw: &Gateway, id: &str) -> Value {
    get_json(&format!("{}/query/{id}", gw.url)).await["state"].clone()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap()
}

/// POSTs the claim with extra headers; JSON when `json`.
async fn claim(gw: &Gateway, id: &str, headers: &[(&str, &str)], json: bool) -> (u16, String) {
    let mut req = no_redirects().post(format!("{}/transfer/{id}/paid", gw.url));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if json {
        req = req.header("accept", "application/json");
    }
    let resp = req.send().await.expect("the gateway answers");
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn reject(dev: &Device, id: &str) {
    let r = dev.send("POST", &format!("/collector/v1/orders/{id}/reject"), &json!({"reason": "没有到账"})).await;
    assert_eq!((r.status, r.body["state"].as_i64()), (200, Some(5)), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn s13_claims_come_only_from_the_checkout_page_and_at_most_three_times() {
    let gw = Gateway::start();
    let dev = Device::pair(&gw).await;
    let id = NewOrder::new(&unique("claim"), "P901", "5.00", "https://shop.example.com/n").create(&gw).await;
    let own = gw.url.clone();
    let other_port = format!("http://127.0.0.1:{}", gw.port.wrapping_add(1));

    // Another site makes the payer's browser claim: by form, by script, by link.
    let attacks: Vec<(Vec<(&str, &str)>, bool)> = vec![
        (vec![("origin", "https://evil.example")], false),
        (vec![("origin", "https://evil.example")], true),
        (vec![("origin", "null")], false),
        (vec![("origin", &other_port)], false),
        (vec![("sec-fetch-site", "cross-site")], false),
        (vec![("origin", &own), ("sec-fetch-site", "cross-site")], true),
        (vec![("referer", "https://evil.example/shop.html")], false),
    ];
    for (headers, json) in &attacks {
        let (status, body) = claim(&gw, &id, headers, *json).await;
        assert_eq!(status, 403, "{headers:?}: {body}");
        if *json {
            let v: Value = serde_json::from_str(&body).expect("JSON refusal");
            assert_eq!((v["success"].as_bool(), v["error"].as_str()), (Some(false), Some("cross_origin")), "{body}");
        } else {
            assert!(body.contains("请求未被接受") && body.contains(&format!("/transfer/{id}")), "{headers:?}: {body}");
        }
        assert_eq!(state(&gw, &id).await, 5, "{headers:?}: the order is untouched");
    }
    assert_eq!(history(&gw, &id).len(), 1, "no claim event: the operator was not disturbed");

    // The gateway's own page keeps working: a form POST (as Chromium sends it without scripts) ...
    let (status, _) = claim(&gw, &id, &[("origin", &own), ("sec-fetch-site", "same-origin")], false).await;
    assert_eq!((status, state(&gw, &id).await), (303, json!(8)));
    reject(&dev, &id).await;
    // ... the page's script, known by its Referer ...
    let (status, body) = claim(&gw, &id, &[("referer", &format!("{own}/transfer/{id}?lang=en"))], true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["state"], 8);
    reject(&dev, &id).await;
    // ... and a client that sends no browser headers.
    assert_eq!(claim(&gw, &id, &[], false).await.0, 303);
    reject(&dev, &id).await;
    assert_eq!(claims(&gw, &id), 3);

    // A fourth claim after three rejections: refused, the page says it waits for the payee.
    let events = history(&gw, &id).len();
    let (status, body) = claim(&gw, &id, &[("origin", &own)], false).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("正在等待收款方确认") && !body.contains("paid-form"), "{body}");
    let (status, body) = claim(&gw, &id, &[("origin", &own), ("accept-language", "en")], true).await;
    let v: Value = serde_json::from_str(&body).expect("JSON refusal");
    assert_eq!((status, v["error"].as_str()), (429, Some("claim_limit")), "{body}");
    assert!(v["title"].as_str().unwrap().contains("Waiting for the payee"), "{body}");
    assert_eq!(state(&gw, &id).await, 5, "still waiting for payment");
    assert_eq!((claims(&gw, &id), history(&gw, &id).len()), (3, events), "nothing changed");

    // the payee can still confirm a real payment
    gw.cli(&["order", "confirm", &id]);
    assert_eq!(state(&gw, &id).await, 9);
    // a claim of an unknown order is a clear 404 in both shapes
    let (status, body) = claim(&gw, "AAAAAAAAAAAAAAAAAAAAAA", &[], true).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn s13_the_checkout_page_still_claims_in_chromium_with_and_without_scripts() {
    let gw = Gateway::start();
    let dev = Device::pair(&gw).await;
    let driver = jiufu_e2e::browser::Driver::chromedriver().await.expect("chromedriver");
    for (scripts, amount) in [(true, "6.00"), (false, "7.00")] {
        let id = NewOrder::new(&unique("page"), "P901", amount, "https://shop.example.com/n").create(&gw).await;
        let page = driver.chromium_with(390, 844, true, scripts).await.expect("chromium session");
        let mode = if scripts { "script" } else { "plain form" };
        for round in 1..=3 {
            if !scripts {
                // Without scripts ChromeDriver holds a click until the page's own 15 s
                // refresh; the fourth claim below shows the page's form passes the origin check.
                let (status, _) = claim(&gw, &id, &[("origin", &gw.url), ("sec-fetch-site", "same-origin")], false).await;
                assert_eq!(status, 303);
                reject(&dev, &id).await;
                continue;
            }
            page.goto(&format!("{}/transfer/{id}?lang=zh", gw.url)).await.unwrap();
            page.wait_for("#i-have-paid", Duration::from_secs(6)).await.unwrap();
            page.click("#i-have-paid").await.unwrap();
            page.wait_text("#claimed", "等待收款方确认", Duration::from_secs(6))
                .await
                .unwrap_or_else(|e| panic!("{mode} claim {round}: {e}"));
            assert_eq!(state(&gw, &id).await, 8, "{mode} claim {round}");
            reject(&dev, &id).await;
        }
        page.goto(&format!("{}/transfer/{id}?lang=zh", gw.url)).await.unwrap();
        page.wait_for("#i-have-paid", Duration::from_secs(6)).await.unwrap();
        page.click("#i-have-paid").await.unwrap();
        page.wait_text("#claim-limit", "正在等待收款方确认", Duration::from_secs(6)).await.unwrap_or_else(|e| panic!("{mode}: {e}"));
        page.screenshot(&artifacts_dir().join(format!("checkout-claim-limit-{}.png", if scripts { "script" } else { "noscript" })))
            .await
            .unwrap();
        assert_eq!((state(&gw, &id).await, claims(&gw, &id)), (json!(5), 3), "{mode}: the fourth claim changed nothing");
        page.quit().await;
    }
}

/// Callback addresses the old filter let through: the embedded-IPv4 forms,
/// NAT64, 6to4, Teredo, site-local, multicast and 192.0.0.0/24, among others.
const SPECIAL_CALLBACKS: &[&str] = &[
    "http://[::127.0.0.1]/n",
    "http://[::ffff:127.0.0.1]/n",
    "http://[64:ff9b::7f00:1]/n",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
    "http://[64:ff9b:1::808:808]/n",
    "http://[2002:7f00:1::1]/n",
    "http://[2002:c0a8:101::]/n",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/n",
    "http://[fec0::1]/n",
    "http://[ff02::1]/n",
    "http://[ff0e::1]/n",
    "http://[100::1]/n",
    "http://[3fff::1]/n",
    "http://[5f00::1]/n",
    "http://224.0.0.251/n",
    "http://239.255.255.250:1900/n",
    "http://192.0.0.8/n",
    "http://192.0.0.171/n",
    "http://198.18.0.1/n",
    "http://240.0.0.1/n",
    "http://0x7f000001/n",
];

#[tokio::test(flavor = "multi_thread")]
async fn s14_callbacks_to_special_purpose_addresses_are_refused_at_creation() {
    let gw = Gateway::start_with(&[("JIUFU_ALLOW_PRIVATE_NOTIFY", "false")]);
    for url in SPECIAL_CALLBACKS {
        let as_notify = NewOrder::new(&unique("s14n"), "P901", "1.00", url);
        let mut as_return = NewOrder::new(&unique("s14r"), "P901", "1.00", "https://shop.example.com/n");
        as_return.set("return_url", url).sign();
        for (field, o) in [("notify_url", as_notify), ("return_url", as_return)] {
            let v = o.post(&gw).await;
            assert_eq!((v["success"].as_bool(), v["errorCode"].as_i64()), (Some(false), Some(1001)), "{field} {url}: {v}");
            let msg = v["errorMsg"].as_str().unwrap();
            assert!(msg.contains(field) && msg.contains("non-public"), "{field} {url}: {msg}");
        }
    }
    assert_eq!(order_count(&gw), 0, "nothing stored");
    // a public callback is still fine, also through NAT64 to a public IPv4
    NewOrder::new(&unique("ok"), "P901", "1.00", "https://shop.example.com/n").create(&gw).await;
    NewOrder::new(&unique("ok"), "P901", "2.00", "http://[64:ff9b::808:808]/n").create(&gw).await;
    assert_eq!(order_count(&gw), 2);
}

/// A create request as JSON text with the members in the given order.
fn json_body(members: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        members.iter().map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), serde_json::to_string(v).unwrap())).collect();
    format!("{{{}}}", parts.join(","))
}

async fn post_json(gw: &Gateway, body: String) -> Value {
    let resp = http().post(format!("{}/gateway", gw.url)).header("content-type", "application/json").body(body).send().await.expect("POST");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("envelope")
}

#[tokio::test(flavor = "multi_thread")]
async fn s15_json_keys_given_twice_are_refused() {
    let gw = Gateway::start();
    let o = NewOrder::new(&unique("dup"), "P901", "10.00", "https://shop.example.com/n");
    let fields: Vec<(&str, &str)> = o.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // The signed amount first, then a cheaper one that a last-wins parser would keep.
    for (dup, value) in [("amount", "0.01"), ("notify_url", "http://127.0.0.1:9/"), ("sign", "x"), ("\\u0061mount", "0.01")] {
        let mut members = fields.clone();
        members.push((dup, value));
        let body = json_body(&members).replace("\"\\\\u0061mount\"", "\"\\u0061mount\"");
        let v = post_json(&gw, body).await;
        assert_eq!((v["success"].as_bool(), v["errorCode"].as_i64()), (Some(false), Some(1001)), "{dup}: {v}");
        let name = if dup.starts_with('\\') { "amount" } else { dup };
        assert!(v["errorMsg"].as_str().unwrap().contains(&format!("{name} given more than once")), "{dup}: {v}");
    }
    // a null before the real value counts as given too
    let mut members = vec![("amount", "null")];
    members.extend(fields.iter().copied());
    let v = post_json(&gw, json_body(&members).replacen("\"null\"", "null", 1)).await;
    assert_eq!(v["errorCode"], 1001, "{v}");
    assert_eq!(order_count(&gw), 0, "nothing stored");
    assert!(gw.try_cli(&["order", "list", "--merchant", "10001"]).1.trim().is_empty());
    // the same request without the duplicate is accepted, at its signed amount
    let v = post_json(&gw, json_body(&fields)).await;
    assert_eq!(v["success"], true, "{v}");
    let id = v["order_id"].as_str().unwrap();
    assert_eq!(get_json(&format!("{}/query/{id}", gw.url)).await["order"]["order_amount"].to_string(), "10.00");
}

#[tokio::test(flavor = "multi_thread")]
async fn s16_one_observation_confirms_one_order() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let dev = Device::pair(&gw).await;
    let first_no = unique("first");
    let first = NewOrder::new(&first_no, "P901", "11.00", &sink.url).create(&gw).await;
    let second = NewOrder::new(&unique("second"), "P901", "12.00", &sink.url).create(&gw).await;
    let evidence = json!({"observation_id": "obs-once", "source": "vmq", "observed_at": now() * 1000, "raw_text": "成功收款11.00元"});
    let confirm = |order: &str, amount: &str| json!({"order_id": order, "channel": "P901", "amount": amount, "evidence": evidence});

    let ok = dev.send("POST", "/collector/v1/confirmations", &confirm(&first, "11.00")).await;
    assert_eq!((ok.status, ok.body["state"].as_i64()), (200, Some(9)), "{}", ok.body);
    // the same payment's evidence presented for another order
    let again = dev.send("POST", "/collector/v1/confirmations", &confirm(&second, "12.00")).await;
    assert_eq!((again.status, again.code()), (409, "evidence_used"), "{}", again.body);

    assert_eq!(state(&gw, &second).await, 5, "the second order is not paid");
    let shown = gw.show(&second);
    assert!(shown["notification"].is_null(), "no notification queued: {shown}");
    assert_eq!(shown["order"]["evidence_id"], Value::Null);
    assert_eq!(history(&gw, &second).len(), 1);
    // the first confirmation is still idempotent
    let dup = dev.send("POST", "/collector/v1/confirmations", &confirm(&first, "11.00")).await;
    assert_eq!((dup.status, dup.body["duplicate"].as_bool()), (200, Some(true)));
    // the merchant heard of the first order only
    wait_for(Duration::from_secs(10), || async { (!sink.calls().is_empty()).then_some(()) }).await.expect("first order notified");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let calls = sink.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains(&format!("order_no={first_no}")), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn collector_timestamps_at_the_ends_of_i64_are_a_401() {
    let gw = Gateway::start();
    let dev = Device::pair(&gw).await;
    let path = "/collector/v1/heartbeat";
    let body = serde_json::to_vec(&json!({"sources": [{"name": "phone", "kind": "vmq", "online": true}]})).unwrap();
    for ts in [i64::MIN, i64::MIN + 1, i64::MAX, -1, 0] {
        let r = dev.send_with("POST", path, &body, dev.headers("POST", path, &body, ts)).await;
        assert_eq!((r.status, r.code()), (401, "unauthorized"), "{ts}: {}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("5 minutes"), "{ts}: {}", r.body);
    }
    // nothing recorded: the device was never seen
    let listed: Value = serde_json::from_str(gw.cli(&["collector", "list", "--merchant", "10001"]).lines().next().unwrap()).unwrap();
    assert_eq!((listed["online"].as_bool(), &listed["last_seen"]), (Some(false), &Value::Null), "{listed}");
    // and the gateway still serves
    assert_eq!(get_json(&format!("{}/health", gw.url)).await["ok"], true);
    let r = dev.send_with("POST", path, &body, dev.headers("POST", path, &body, now())).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A callback to a literal address is checked again when it is sent, not
/// only when the order was made: here the order was made while private
/// addresses were allowed, and the gateway now runs without that.
#[tokio::test(flavor = "multi_thread")]
async fn a_literal_private_callback_is_checked_again_at_delivery() {
    let mut first = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let id = NewOrder::new(&unique("lit"), "P901", "10.00", &sink.url).create(&first).await;
    first.kill9();
    let db = format!("sqlite://{}", first.dir.join("gateway.db").display());
    let strict = Gateway::join(&[("JIUFU_DATABASE_URL", &db), ("JIUFU_ALLOW_PRIVATE_NOTIFY", "false")]);
    strict.cli(&["order", "confirm", &id]);
    let attempts = wait_for(Duration::from_secs(15), || async {
        let a = strict.show(&id)["notify_attempts"].as_array().cloned().unwrap_or_default();
        (!a.is_empty()).then_some(a)
    })
    .await
    .expect("an attempt is recorded");
    let error = attempts[0]["error"].as_str().unwrap();
    assert!(error.contains("not sent") && error.contains("non-public"), "{error}");
    assert!(!error.contains("sign="), "no URL (it carries a sign) in the record: {error}");
    assert_eq!(attempts[0]["delivered"], false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sink.calls().is_empty(), "nothing reached 127.0.0.1");
}
