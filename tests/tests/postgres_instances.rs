//! Two gateway instances on one PostgreSQL database, as behind a load
//! balancer: each notification delivered once while both run, a lease left
//! by a killed instance taken over, and a crash under load losing no
//! acknowledged order. (The collector across instances is in
//! `postgres_collector.rs`: its 1-second promise is timed away from this
//! file's load.)

use jiufu_e2e::shop::*;
use jiufu_e2e::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

async fn two(lease: &str) -> (Gateway, Gateway) {
    postgres::two_instances(lease).await
}

#[tokio::test(flavor = "multi_thread")]
async fn with_both_workers_running_each_notification_is_delivered_once() {
    skip_without_postgres!();
    let (a, b) = two("60").await;
    let sink = sink::Sink::start(0).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let gw = if i % 2 == 0 { &a } else { &b };
        ids.push(NewOrder::new(&format!("once-{i}"), "P901", &format!("{}.00", 10 + i), &sink.url).create(gw).await);
    }
    // Confirmed from the CLI: both instances' workers see them due at once.
    for id in &ids {
        a.cli(&["order", "confirm", id]);
    }
    wait_for(Duration::from_secs(30), || async { (sink.calls().len() >= ids.len()).then_some(()) }).await.expect("all notified");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut per_order: HashMap<String, usize> = HashMap::new();
    for call in sink.calls() {
        let no = call.split('&').find_map(|kv| kv.strip_prefix("order_no=")).unwrap().to_owned();
        *per_order.entry(no).or_default() += 1;
    }
    assert_eq!(per_order.len(), 30, "{per_order:?}");
    assert!(per_order.values().all(|n| *n == 1), "each exactly once: {per_order:?}");
    for id in &ids {
        assert_eq!(b.show(id)["notify_attempts"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_left_by_a_killed_instance_is_taken_over() {
    skip_without_postgres!();
    let db = postgres::fresh_database("lease").await;
    let env = [("JIUFU_DATABASE_URL", db.as_str()), ("JIUFU_NOTIFY_LEASE_SECS", "10")];
    let mut a = Gateway::start_with(&env);
    // The merchant's server hangs on the first call: A is mid-attempt when it dies.
    let shop = ShopSink::start_hanging_first((200, "success")).await;
    let id = NewOrder::new(&unique("lease"), "P901", "8.00", &shop.url).create(&a).await;
    a.cli(&["order", "confirm", &id]);
    wait_for(Duration::from_secs(10), || async { (!shop.calls().is_empty()).then_some(()) }).await.expect("A attempted");
    a.kill9();
    let started = Instant::now();
    // The CLI still reads the database: the notification waits, leased to a dead instance.
    assert_eq!(a.show(&id)["notification"]["status"], "pending");
    let b = Gateway::join(&env);
    // The shortest lease the gateway takes is 10 s.
    wait_for(Duration::from_secs(30), || async { (b.show(&id)["notification"]["status"] == "delivered").then_some(()) })
        .await
        .expect("B delivered after the lease ran out");
    println!("taken over after {} ms", started.elapsed().as_millis());
    assert_eq!(shop.calls().len(), 2, "A's stuck attempt and B's");
    let attempts = b.show(&id)["notify_attempts"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), 1, "A never recorded its attempt; B's is the one: {attempts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_one_instance_under_load_loses_no_acknowledged_order() {
    skip_without_postgres!();
    let (mut a, b) = two("60").await;
    let (a_url, b_url) = (a.url.clone(), b.url.clone());
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let url = if i % 2 == 0 { a_url.clone() } else { b_url.clone() };
            // Distinct amounts: every creation can succeed.
            let order =
                NewOrder::new(&format!("load-{i}"), "P902", &format!("{}.{:02}", 1 + i / 100, i % 100), "https://shop.example.com/n");
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
                let sent = http().post(format!("{url}/gateway")).form(&order.fields).send().await;
                let answer = match sent {
                    Ok(resp) => resp.json::<serde_json::Value>().await.ok(),
                    Err(_) => None,
                };
                (i % 2 == 0, order.get("order_no").to_owned(), answer)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    a.kill9();
    let mut acknowledged = Vec::new();
    let mut b_failures = 0;
    for t in tasks {
        let (on_a, no, answer) = t.await.unwrap();
        match answer {
            Some(v) if v["success"] == true => acknowledged.push((no, v["order_id"].as_str().unwrap().to_owned())),
            other if !on_a => {
                b_failures += 1;
                eprintln!("B failed {no}: {other:?}");
            }
            _ => {}
        }
    }
    assert_eq!(b_failures, 0, "the other instance kept answering");
    assert!(acknowledged.len() >= 150, "B's half and A's before the crash: {}", acknowledged.len());
    let listed = b.cli(&["order", "list", "--merchant", "10001"]);
    for (no, id) in &acknowledged {
        assert!(listed.contains(id.as_str()), "acknowledged order {no} ({id}) is in the database");
    }
}
