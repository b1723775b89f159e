//! Version skew (issue 16, P4): a gateway newer than its collector sends
//! orders with a dialect, a state, a channel and amounts this collector
//! does not know. The real `jiufu-collector` binary keeps them as unknown
//! (listed, never payable) and keeps confirming the orders it does know,
//! from the snapshot and from the event long poll alike. The gateway here
//! is a stand-in speaking the exact wire protocol, since a real gateway of
//! this commit cannot produce values from the future.

use jiufu_e2e::collector::{CollectorProc, PUSH_KEY, now_ms, vmq_push};
use jiufu_e2e::fake_gateway::{FakeGateway, TOKEN, order};
use jiufu_e2e::wait_for;
use jiufu_protocol::ids::random_token;
use serde_json::{Value, json};
use std::time::Duration;

/// The `orders` CLI line of order `id`.
fn line(col: &CollectorProc, id: &str) -> Option<String> {
    col.cli(&["orders"]).lines().find(|l| l.starts_with(id)).map(str::to_owned)
}

async fn wait_lines(col: &CollectorProc, ids: &[&str]) {
    wait_for(Duration::from_secs(15), || async { ids.iter().all(|id| line(col, id).is_some()).then_some(()) })
        .await
        .unwrap_or_else(|| panic!("orders mirrored: {}", col.cli(&["orders"])));
}

fn ids_of(reqs: &[jiufu_e2e::fake_gateway::Request]) -> Vec<String> {
    reqs.iter().map(|r| r.body["order_id"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_keeps_confirming_while_the_gateway_sends_what_it_does_not_know() {
    let id = || random_token(16);
    let (known_snap, known_event) = (id(), id());
    let (new_dialect, new_state, new_channel, bad_amount, new_dialect_late) = (id(), id(), id(), id(), id());
    // The snapshot: one order this build knows, and one of each unknown kind,
    // each of a different Alipay amount that a payment will try to take.
    let snapshot = vec![
        order(&new_dialect, json!({"payable_amount": "3.33", "order_amount": "3.33", "dialect": "alipay_f2f"})),
        order(&new_state, json!({"payable_amount": "4.44", "order_amount": "4.44", "state": 10})),
        order(&known_snap, json!({"payable_amount": "5.00", "dialect": "epay"})),
        order(&new_channel, json!({"payable_amount": "6.66", "order_amount": "6.66", "channel": "P905"})),
        order(&bad_amount, json!({"payable_amount": "-7.77", "order_amount": "99999999999999999999.00"})),
    ];
    let gw = FakeGateway::start(snapshot, 100).await;
    let col = CollectorProc::paired_with_url(&gw.url, TOKEN, &[]);
    wait_lines(&col, &[&new_dialect, &new_state, &known_snap, &new_channel, &bad_amount]).await;

    // Listed as the gateway sent them, the unknown ones marked and not payable here.
    let known_line = line(&col, &known_snap).unwrap();
    assert!(known_line.contains("\t5\tP901\t5.00\t") && !known_line.contains("unknown"), "{known_line}");
    for (order_id, shows, field) in [
        (&new_dialect, "\t5\tP901\t3.33\t", "dialect"),
        (&new_state, "\tunknown(10)\tP901\t4.44\t", "state"),
        (&new_channel, "\t5\tunknown(P905)\t6.66\t", "channel"),
        (&bad_amount, "\t5\tP901\tunknown(-7.77)\t", "order_amount,payable_amount"),
    ] {
        let l = line(&col, order_id).unwrap();
        assert!(l.contains(shows) && l.ends_with(&format!("\tunknown: {field}")), "{l}");
    }

    // The long poll brings a known order, a known order turning into an
    // unknown state, and another new dialect, in one batch.
    gw.push_event(order(&known_event, json!({"payable_amount": "8.88", "order_amount": "8.88", "dialect": "vmq"})));
    gw.push_event(order(&new_dialect_late, json!({"payable_amount": "9.99", "order_amount": "9.99", "dialect": "usdt_trc20"})));
    gw.push_event(order(&new_state, json!({"payable_amount": "4.44", "order_amount": "4.44", "state": "partially_refunded"})));
    wait_lines(&col, &[&known_event, &new_dialect_late]).await;
    wait_for(Duration::from_secs(10), || async { line(&col, &new_state).filter(|l| l.contains("unknown(partially_refunded)")) })
        .await
        .expect("the event's unknown state replaced the snapshot's");

    // Money for every one of them arrives.
    for price in ["3.33", "4.44", "5.00", "8.88", "9.99"] {
        assert_eq!(vmq_push(&col, "2", price, now_ms(), PUSH_KEY).await["code"], 1, "{price}");
    }

    // The two known orders are confirmed, each once, by correctly signed requests.
    let confirmed = wait_for(Duration::from_secs(15), || async {
        let c = gw.requests("/collector/v1/confirmations");
        (c.len() >= 2).then_some(c)
    })
    .await
    .expect("the known orders are confirmed");
    let mut ids = ids_of(&confirmed);
    ids.sort();
    let mut want = vec![known_snap.clone(), known_event.clone()];
    want.sort();
    assert_eq!(ids, want);
    for c in &confirmed {
        let amount = if c.body["order_id"] == known_snap.as_str() { "5.00" } else { "8.88" };
        assert_eq!((c.body["channel"].as_str(), c.body["amount"].as_str()), (Some("P901"), Some(amount)), "{:?}", c.body);
    }

    // The payments meant for unknown orders are not theirs here: reported unmatched after the grace period.
    let unmatched = wait_for(Duration::from_secs(30), || async {
        let u = gw.requests("/collector/v1/unmatched");
        (u.len() >= 3).then_some(u)
    })
    .await
    .expect("the other payments are reported unmatched");
    let mut amounts: Vec<&str> = unmatched.iter().filter_map(|u| u.body["amount"].as_str()).collect();
    amounts.sort();
    assert_eq!(amounts, ["3.33", "4.44", "9.99"], "{unmatched:?}");
    assert_eq!(ids_of(&gw.requests("/collector/v1/confirmations")), ids_of(&confirmed), "nothing else was confirmed");
    assert_eq!(gw.refused(), 0, "every request the collector made was correctly signed");

    // The operator cannot act on an unknown order here either.
    for order_id in [&new_dialect, &new_state] {
        let (ok, _, err) = col.try_cli(&["order", "confirm", order_id]);
        assert!(!ok && err.contains("does not know the order's"), "{err}");
    }
    let payments = col.payments(true);
    let for_new_dialect = payments.iter().find(|p| p["amount"] == "3.33").expect("the 3.33 payment, unmatched");
    let (ok, _, err) = col.try_cli(&["payment", "attach", for_new_dialect["id"].as_str().unwrap(), &new_dialect]);
    assert!(!ok && err.contains("does not know the order's dialect"), "{err}");

    // The collector still tells the gateway its version in every heartbeat.
    let beats = gw.requests("/collector/v1/heartbeat");
    let version: &Value = &beats.last().expect("heartbeats").body["version"];
    assert_eq!(version.as_str(), Some(env!("CARGO_PKG_VERSION")));
}
