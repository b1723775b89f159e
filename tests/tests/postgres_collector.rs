//! A collector talking to one gateway instance hears at once of an order
//! created on another instance of the same PostgreSQL database, and
//! confirms it through the other when its balancer fails over. In a file of
//! its own, so that the 1-second promise is timed away from other tests'
//! creation load (`cargo test` runs one test binary at a time).

use jiufu_e2e::collector::*;
use jiufu_e2e::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_on_one_instance_hears_of_orders_created_on_the_other_at_once() {
    skip_without_postgres!();
    let (a, b) = postgres::two_instances("60").await;
    let sink = sink::Sink::start(0).await;
    // The collector reaches the gateway through a balancer, on A for now.
    let balancer = proxy::Balancer::start(&a.url).await;
    let token = a.cli(&["collector", "pair", "--merchant", "10001"]);
    let col = CollectorProc::paired_with_url(&balancer.url, token.trim(), &[]);
    col.wait_code_synced(&b).await;
    // Let the collector settle into its long poll on A.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let created = Instant::now();
    let id = NewOrder::new(&unique("ab"), "P901", "6.66", &sink.url).create(&b).await;
    let seen = wait_for(Duration::from_secs(5), || async { col.cli(&["orders"]).contains(&id).then(|| created.elapsed()) })
        .await
        .expect("the collector saw B's order");
    println!("order created on B seen by the collector on A after {} ms", seen.as_millis());
    assert!(seen < Duration::from_secs(1), "within 1 s: {seen:?}");
    // The balancer fails over to B; the payment is confirmed through B.
    balancer.switch_to(&b.url);
    assert_eq!(vmq_push(&col, "2", "6.66", now_ms(), PUSH_KEY).await["code"], 1);
    wait_for(Duration::from_secs(15), || async { (b.show(&id)["order"]["state"] == 9).then_some(()) }).await.expect("confirmed");
    assert!(b.log().contains("order state changed") && b.log().contains(&id), "B applied the confirmation");
    wait_for(Duration::from_secs(15), || async { (sink.calls().len() == 1).then_some(()) }).await.expect("notified");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.calls().len(), 1, "once");
}
