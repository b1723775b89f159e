//! Two gateway instances on one PostgreSQL database behind nginx,
//! configured as `docs/deploy.md` says: shops, payers and a collector all
//! go through it. When one instance dies, nginx sends every later request
//! to the other (a request in flight on the dead one — the collector's
//! long poll — fails once and is simply made again).

use jiufu_e2e::collector::*;
use jiufu_e2e::nginx::Nginx;
use jiufu_e2e::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_nginx_config_serves_two_instances_and_survives_losing_one() {
    skip_without_postgres!();
    let db = postgres::fresh_database("nginx").await;
    let env = [("JIUFU_DATABASE_URL", db.as_str())];
    let mut a = Gateway::start_with(&env);
    let b = Gateway::join(&env);
    let sink = sink::Sink::start(0).await;
    let nginx = Nginx::start([&a.url, &b.url]).await;
    assert_eq!(get_json(&format!("{}/health", nginx.url)).await["ok"], true);

    // The collector pairs and long-polls through nginx.
    let token = a.cli(&["collector", "pair", "--merchant", "10001"]);
    let col = CollectorProc::paired_with_url(&nginx.url, token.trim(), &[]);
    col.wait_code_synced(&a).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let created = Instant::now();
    let first = NewOrder::new(&unique("ng"), "P901", "7.77", &sink.url).post_to(&nginx.url).await;
    let first = first["order_id"].as_str().unwrap_or_else(|| panic!("{first}")).to_owned();
    let seen = wait_for(Duration::from_secs(5), || async { col.cli(&["orders"]).contains(&first).then(|| created.elapsed()) })
        .await
        .expect("the collector heard of the order through nginx");
    println!("order created through nginx seen by the collector after {} ms", seen.as_millis());
    assert!(seen < Duration::from_secs(1), "within 1 s: {seen:?}");

    // Round robin: the shop's orders land on both instances.
    let mut ids = Vec::new();
    for i in 0..10 {
        let v = NewOrder::new(&unique("ng"), "P901", &format!("{}.00", 20 + i), &sink.url).post_to(&nginx.url).await;
        assert_eq!(v["success"], true, "{v}");
        ids.push(v["order_id"].as_str().unwrap().to_owned());
    }
    let served = |gw: &Gateway| ids.iter().filter(|id| gw.log().contains(id.as_str())).count();
    assert!(served(&a) > 0 && served(&b) > 0, "A served {}, B served {}", served(&a), served(&b));

    // One instance dies: every later request is answered by the other.
    a.kill9();
    for i in 0..10 {
        let v = NewOrder::new(&unique("ng"), "P901", &format!("{}.00", 40 + i), &sink.url).post_to(&nginx.url).await;
        assert_eq!(v["success"], true, "after A died: {v}");
        let page = http().get(format!("{}/transfer/{}", nginx.url, v["order_id"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(page.status(), 200);
    }
    let errors = nginx.error_log();
    let a_addr = a.url.trim_start_matches("http://");
    assert!(errors.contains("connect() failed") && errors.contains(a_addr), "nginx found A gone and went to B: {errors}");
    // The collector's payment reaches B through nginx; the shop hears once.
    assert_eq!(vmq_push(&col, "2", "7.77", now_ms(), PUSH_KEY).await["code"], 1);
    wait_for(Duration::from_secs(20), || async { (b.show(&first)["order"]["state"] == 9).then_some(()) })
        .await
        .unwrap_or_else(|| panic!("confirmed through nginx; nginx said: {}", nginx.error_log()));
    wait_for(Duration::from_secs(15), || async { (sink.calls().len() == 1).then_some(()) }).await.expect("notified");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.calls().len(), 1, "once");
}
