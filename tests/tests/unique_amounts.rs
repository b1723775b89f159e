//! Unique payable amounts under concurrency, and quarantine after expiry.

use jiufu_e2e::*;
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_creations_of_one_amount() {
    let gw = Gateway::start();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let o = NewOrder::new(&format!("conc-{i}"), "P901", "10.00", "https://shop.example.com/n");
            let url = gw.url.clone();
            tokio::spawn(async move {
                let resp = http().post(format!("{url}/gateway")).form(&o.fields).send().await.expect("POST");
                assert_eq!(resp.status(), 200);
                resp.json::<serde_json::Value>().await.expect("JSON")
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let v = t.await.unwrap();
        if v["success"] == true {
            ids.push(v["order_id"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(v["errorCode"], 1008, "{v}");
            refused += 1;
        }
    }
    // default policy: the amount itself and steps down within 2 % (0.20) = 21 slots
    assert_eq!(ids.len(), 21, "every slot used");
    assert_eq!(refused, 179);
    let mut payable = HashSet::new();
    for id in &ids {
        let q = get_json(&format!("{}/query/{id}", gw.url)).await;
        assert!(payable.insert(q["order"]["amount"].to_string()), "duplicate payable amount {}", q["order"]["amount"]);
    }
    let expected: HashSet<String> = (980..=1000).map(|f| format!("{}.{:02}", f / 100, f % 100)).collect();
    assert_eq!(payable, expected);
    assert_eq!(gw.cli(&["order", "list", "--merchant", "10001"]).lines().count(), 21, "none lost, none extra");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quarantined_amount_is_not_reused() {
    let gw = Gateway::start();
    gw.cli(&["merchant", "add", "--id", "30003", "--name", "short", "--key", KEY, "--order-ttl", "1", "--steps", "1"]);
    gw.cli(&["code", "add", "--merchant", "30003", "--channel", "P901", "--qr", "https://qr.alipay.com/q"]);
    let order = |no: &str| {
        let mut o = NewOrder::new(no, "P901", "2.00", "https://shop.example.com/n");
        o.set("userid", "30003").sign();
        o
    };
    let first = order("q-1").create(&gw).await;
    assert_eq!(get_json(&format!("{}/query/{first}", gw.url)).await["order"]["amount"].to_string(), "2.00");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(get_json(&format!("{}/query/{first}", gw.url)).await["state"], -1, "expired");
    let second = order("q-2").create(&gw).await;
    assert_eq!(get_json(&format!("{}/query/{second}", gw.url)).await["order"]["amount"].to_string(), "1.99", "2.00 is quarantined");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let v = order("q-3").post(&gw).await;
    assert_eq!(v["errorCode"], 1008, "both slots quarantined: {v}");
}
