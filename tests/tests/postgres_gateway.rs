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
    skip_without_postgres!();
    let db = postgres::fresh_database("gw").await;
    // A short lease: an attempt the crash cut off is taken up again soon.
    let mut gw = Gateway::start_with(&[("JIUFU_DATABASE_URL", &db), ("JIUFU_NOTIFY_LEASE_SECS", "10")]);
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
    wait_for(Duration::from_secs(30), || async { (gw.show(&id)["notification"]["status"] == "delivered").then_some(()) })
        .await
        .expect("delivered after the restart");
    // Never lost; repeated at most once, when the crash came mid-attempt.
    let calls = sink.calls();
    assert!(matches!(calls.len(), 1 | 2) && calls.iter().all(|c| *c == calls[0]), "{calls:?}");
    assert_eq!(gw.show(&id)["order"]["state"], 9);
    assert_eq!(gw.show(v["trade_no"].as_str().unwrap())["order"]["dialect"], "epay");
    assert_eq!(gw.cli(&["order", "list", "--merchant", "10001"]).lines().count(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_never_give_two_open_orders_one_amount() {
    skip_without_postgres!();
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

/// Every order as `order show` prints it, by order id,
/// without the fields that describe the reading rather than the data.
fn snapshot(gw: &Gateway) -> std::collections::BTreeMap<String, serde_json::Value> {
    gw.cli(&["order", "list"])
        .lines()
        .map(|line| {
            let id = line.split('\t').next().unwrap().to_owned();
            let mut shown = gw.show(&id);
            shown.as_object_mut().unwrap().remove("effective_state");
            (id, shown)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_data_moves_a_shop_to_postgresql_and_back_unchanged() {
    skip_without_postgres!();
    // A SQLite shop with orders in every state, a paired collector, an
    // unmatched payment and notification attempts.
    let mut gw = Gateway::start();
    let sink = sink::Sink::start(1).await;
    let waiting = NewOrder::new(&unique("m"), "P901", "5.00", &sink.url).create(&gw).await;
    let claimed = NewOrder::new(&unique("m"), "P901", "6.00", &sink.url).create(&gw).await;
    let r = http().post(format!("{}/transfer/{claimed}/paid", gw.url)).header("accept", "application/json").send().await.unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["state"], 8);
    let paid = NewOrder::new(&unique("m"), "P902", "7.00", &sink.url).create(&gw).await;
    gw.cli(&["order", "confirm", &paid]);
    let closed = NewOrder::new(&unique("m"), "P901", "8.00", &sink.url).create(&gw).await;
    gw.cli(&["order", "close", &closed]);
    gw.cli(&["merchant", "add", "--id", "30003", "--name", "短时", "--key", "short-lived-key-0123456789", "--order-ttl", "1"]);
    let dev = device::Device::pair(&gw).await;
    let report = serde_json::json!({"channel": "P901", "amount": "3.21",
        "evidence": {"observation_id": "obs-m", "source": "smsforwarder", "observed_at": device::now() * 1000, "raw_text": "成功收款3.21元"}});
    assert_eq!(dev.send("POST", "/collector/v1/unmatched", &report).await.body["recorded"], true);
    let mut epay = vec![
        ("pid", "10001"),
        ("type", "alipay"),
        ("out_trade_no", "mig-epay"),
        ("notify_url", sink.url.as_str()),
        ("name", "x"),
        ("money", "9"),
    ];
    let sign = shop::epay_sign(&epay, KEY);
    epay.push(("sign", &sign));
    let v: serde_json::Value = http().post(format!("{}/mapi.php", gw.url)).form(&epay).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["code"], 1);
    // the notification failed once, then was delivered
    wait_for(Duration::from_secs(20), || async { (gw.show(&paid)["notification"]["status"] == "delivered").then_some(()) })
        .await
        .expect("delivered");
    // An order that expires.
    gw.cli(&["code", "add", "--merchant", "30003", "--channel", "P901", "--qr", "https://qr.alipay.com/short"]);
    let mut short = vec![
        ("pid", "30003"),
        ("type", "alipay"),
        ("out_trade_no", "mig-short"),
        ("notify_url", sink.url.as_str()),
        ("name", "x"),
        ("money", "1"),
    ];
    let sign = shop::epay_sign(&short, "short-lived-key-0123456789");
    short.push(("sign", &sign));
    let v: serde_json::Value = http().post(format!("{}/mapi.php", gw.url)).form(&short).send().await.unwrap().json().await.unwrap();
    let expired = v["trade_no"].as_str().unwrap_or_else(|| panic!("{v}")).to_owned();
    wait_for(Duration::from_secs(10), || async { (gw.show(&expired)["order"]["state"] == -1).then_some(()) }).await.expect("expired");
    // A backup of the live SQLite database, taken while it runs.
    let backup = gw.dir.join("backup.db");
    gw.cli(&["backup", "--to", backup.to_str().unwrap()]);
    let (ok, _, err) = gw.try_cli(&["backup", "--to", backup.to_str().unwrap()]);
    assert!(!ok && err.contains("already exists"), "{err}");
    gw.kill9();
    let sqlite = gw.env_var("JIUFU_DATABASE_URL").unwrap();
    let before = snapshot(&gw);
    let states: std::collections::BTreeSet<i64> = before.values().map(|v| v["order"]["state"].as_i64().unwrap()).collect();
    assert!([5, 8, 9, -1, -2].iter().all(|s| states.contains(s)), "{states:?}");
    let _ = (waiting, closed);
    let from_backup = Gateway::join(&[("JIUFU_DATABASE_URL", &format!("sqlite://{}", backup.display()))]);
    assert_eq!(snapshot(&from_backup), before, "the backup holds the same shop");
    drop(from_backup);

    // SQLite → PostgreSQL.
    let pg = postgres::fresh_database("mig").await;
    let moved = gw.cli(&["migrate-data", "--from", &sqlite, "--to", &pg]);
    assert!(moved.contains("6 orders") && moved.contains("2 merchants") && moved.contains("1 unmatched payments"), "{moved}");
    // Refused into a database that is no longer empty.
    let (ok, _, err) = gw.try_cli(&["migrate-data", "--from", &sqlite, "--to", &pg]);
    assert!(!ok && err.contains("not empty"), "{err}");

    // The gateway on PostgreSQL shows the very same orders, and goes on.
    let on_pg = Gateway::join(&[("JIUFU_DATABASE_URL", &pg)]);
    assert_eq!(snapshot(&on_pg), before);
    on_pg.cli(&["order", "confirm", &claimed]);
    let next = NewOrder::new(&unique("m"), "P901", "5.00", &sink.url).create(&on_pg).await;
    assert_eq!(
        get_json(&format!("{}/query/{next}", on_pg.url)).await["order"]["amount"].to_string(),
        "4.99",
        "5.00 is still held by the waiting order"
    );
    wait_for(Duration::from_secs(20), || async { (on_pg.show(&claimed)["notification"]["status"] == "delivered").then_some(()) })
        .await
        .expect("delivered from PostgreSQL");
    let history = on_pg.show(&claimed)["history"].as_array().unwrap().len();

    // And back to a new SQLite file: the same again, with what happened on PostgreSQL.
    let back = format!("sqlite://{}", gw.dir.join("back.db").display());
    gw.cli(&["migrate-data", "--from", &pg, "--to", &back]);
    let on_sqlite = Gateway::join(&[("JIUFU_DATABASE_URL", &back)]);
    assert_eq!(snapshot(&on_sqlite), snapshot(&on_pg));
    assert_eq!(on_sqlite.show(&claimed)["history"].as_array().unwrap().len(), history);
    let after = NewOrder::new(&unique("m"), "P901", "5.00", &sink.url).create(&on_sqlite).await;
    assert_eq!(get_json(&format!("{}/query/{after}", on_sqlite.url)).await["order"]["amount"].to_string(), "4.98");
}
