//! Merchant notifications: retries until acknowledged, exactly once after
//! success, and nothing lost across kill -9.

use jiufu_e2e::*;
use jiufu_protocol::sign;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn failing_sink_is_notified_exactly_once_after_its_success() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(3).await;
    let no = unique("n");
    let id = NewOrder::new(&no, "P901", "12.30", &format!("{}?shop=1", sink.url)).create(&gw).await;
    gw.cli(&["order", "confirm", &id]);
    let delivered = wait_for(Duration::from_secs(30), || async {
        let s = gw.show(&id);
        (s["notification"]["status"] == "delivered").then_some(s)
    })
    .await
    .expect("delivered");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let calls = sink.calls();
    assert_eq!(calls.len(), 4, "3 failures then one success, and nothing after: {calls:?}");
    let expected = format!("shop=1&order_no={no}&amount=12.30&state=9&sign={}", sign::order_sign("10001", &no, KEY));
    assert!(calls.iter().all(|c| *c == expected), "{calls:?} vs {expected}");
    let attempts = delivered["notify_attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4);
    assert_eq!(attempts[0]["http_status"], 500);
    assert_eq!(attempts[0]["body_excerpt"], "fail");
    assert_eq!(attempts[3]["delivered"], true);
    let lookup = get_json(&format!("{}/order/10001/{no}/{}", gw.url, sign::order_sign("10001", &no, KEY))).await;
    assert_eq!(lookup["order"]["returning"], true);
    assert_eq!(lookup["order"]["state"], 9);
    assert_eq!(lookup["order"]["notify_attempts"], 4);

    // operator resend sends once more
    gw.cli(&["notify", "resend", &id]);
    wait_for(Duration::from_secs(10), || async { (sink.calls().len() == 5).then_some(()) }).await.expect("resent");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill9_between_confirmation_and_delivery_still_notifies() {
    let mut gw = Gateway::start();
    // the merchant's site is down: nothing listens on this port yet
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/notify");
    let no = unique("k");
    let id = NewOrder::new(&no, "P902", "7.00", &url).create(&gw).await;
    gw.cli(&["order", "confirm", &id]);
    // the confirmation is acknowledged: crash at once
    gw.kill9();
    let sink = sink::Sink::start_on(port, 0).await;
    gw.restart();
    wait_for(Duration::from_secs(30), || async { (!sink.calls().is_empty()).then_some(()) }).await.expect("notified after restart");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.calls().len(), 1, "exactly once");
    assert_eq!(gw.show(&id)["notification"]["status"], "delivered");

    // and a crash after failed attempts: delivery resumes from the outbox
    let port2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let no2 = unique("k");
    let id2 = NewOrder::new(&no2, "P902", "7.00", &format!("http://127.0.0.1:{port2}/notify")).create(&gw).await;
    gw.cli(&["order", "confirm", &id2]);
    wait_for(Duration::from_secs(10), || async {
        (gw.show(&id2)["notify_attempts"].as_array().map(|a| a.len()).unwrap_or(0) >= 1).then_some(())
    })
    .await
    .expect("a failed attempt");
    gw.kill9();
    let sink2 = sink::Sink::start_on(port2, 0).await;
    gw.restart();
    wait_for(Duration::from_secs(30), || async { (!sink2.calls().is_empty()).then_some(()) }).await.expect("notified after second restart");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink2.calls().len(), 1);
}
