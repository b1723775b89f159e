//! The gateway on PostgreSQL (`JIUFU_DATABASE_URL=postgres://…`), the real
//! binary against a real server: the same API and CLI as on SQLite, orders
//! that survive `kill -9`, and two instances on one database that never
//! give two open orders the same payable amount.

use jiufu_e2e::shop::*;
use jiufu_e2e::*;
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn one_instance_on_postgresql_takes_pays_and_notifies_across_a_crash() {
    let db = postgres::fresh_database("gw").await;
    let mut gw = Gateway::start_with(&[("JIUFU_DATABASE_URL", &db)]);
    let sink = sink::Sink::start(0).await;
    let no = unique("pg");
    let id = NewOrder::new(&no, "P901", "12.30", &sink.url).create(&gw).await;
    let second = NewOrder::new(&unique("pg"), "P901", "12.30", &sink.url).create(&gw).await;
    assert_eq!(get_json(&format!("{}/query/{second}", gw.url)).await["order"]["amount"].to_string(), "12.29");
    // A 易支付 order on the same store.
    let shop = ShopSink::start(&[], (200, "success")).await;
    let mut p = vec![
        ("pid", "10001"),
        ("type", "wxpay"),
        ("out_trade_no", "pg-epay-1"),
        ("notify_url", shop.url.as_str()),
        ("name", "x"),
        ("money", "1"),
    ];
    let sign = epay_sign(&p, KEY);
    p.push(("sign", &sign));
    let v: serde_json::Value = http().post(format!("{}/mapi.php", gw.url)).form(&p).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["code"], 1, "{v}");

    gw.cli(&["order", "confirm", &id]);
    // Acknowledged: crash before or after delivery, it is not lost.
    gw.kill9();
    gw.restart();
    wait_for(Duration::from_secs(20), || async { (gw.show(&id)["notification"]["status"] == "delivered").then_some(()) })
        .await
        .expect("delivered after the restart");
    assert_eq!(sink.calls().len(), 1);
    assert_eq!(gw.show(&id)["order"]["state"], 9);
    assert_eq!(gw.show(v["trade_no"].as_str().unwrap())["order"]["dialect"], "epay");
    assert_eq!(gw.cli(&["order", "list", "--merchant", "10001"]).lines().count(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_never_give_two_open_orders_one_amount() {
    let db = postgres::fresh_database("two").await;
    let env = [("JIUFU_DATABASE_URL", db.as_str()), ("JIUFU_MAX_CONNECTIONS", "2048")];
    let a = Gateway::start_with(&env);
    let b = Gateway::join(&env);
    // 400 creations of one amount at once, split across both instances.
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let url = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
            let order = NewOrder::new(&format!("two-{i}"), "P901", "10.00", "https://shop.example.com/n");
            tokio::spawn(async move {
                let v: serde_json::Value =
                    http().post(format!("{url}/gateway")).form(&order.fields).send().await.unwrap().json().await.unwrap();
                v
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut no_amount = 0;
    for t in tasks {
        let v = t.await.unwrap();
        match v["errorCode"].as_i64() {
            Some(0) => created.push(v["order_id"].as_str().unwrap().to_owned()),
            Some(1008) => no_amount += 1,
            other => panic!("unexpected answer {other:?}: {v}"),
        }
    }
    // 10.00 down to 9.80: the 2 % a payable amount may differ by default.
    assert_eq!((created.len(), no_amount), (21, 379));
    let mut amounts = HashSet::new();
    for id in &created {
        let q = get_json(&format!("{}/query/{id}", a.url)).await;
        assert!(amounts.insert(q["order"]["amount"].to_string()), "two open orders share {}", q["order"]["amount"]);
    }
    assert_eq!(a.cli(&["order", "list", "--merchant", "10001"]).lines().count(), 21, "none lost, none extra");
}
