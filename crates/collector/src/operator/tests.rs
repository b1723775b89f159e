//! The operator's actions on a real store: confirming an order, rejecting
//! a false claim, attaching an unmatched payment. Each either queues one
//! item for the gateway or refuses with a stable code and queues nothing.

use crate::model::{ObservationStatus, OutboxItem, OutboxKind, SeenBy};
use crate::testing::{order, order_id};
use crate::{Collector, Config, now_ms};
use jiufu_protocol::OrderState;
use jiufu_protocol::collector::SourceKind;
use std::sync::Arc;

/// A collector on a fresh store (it lives as long as the directory),
/// mirroring `orders` (id, state, fen), all created a minute ago.
async fn with_orders(orders: &[(&str, OrderState, i64)]) -> (tempfile::TempDir, Arc<Collector>) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { dbus: false, lan: false, ..Config::new(dir.path().join("collector.db")) };
    let c = Collector::open(config).await.expect("collector");
    let created = now_ms() / 1000 - 60;
    c.mirror_orders(orders.iter().map(|(name, state, fen)| order(name, *state, *fen, created)).collect()).await.unwrap();
    (dir, c)
}

/// The order id of a test order's name, as the operator types it.
fn id(name: &str) -> String {
    order_id(name).to_string()
}

async fn queued(c: &Collector) -> Vec<OutboxItem> {
    c.db.outbox(100).await.unwrap()
}

fn code<T: std::fmt::Debug>(r: super::Result<T>) -> &'static str {
    r.expect_err("refused").code
}

#[tokio::test]
async fn confirming_an_order_by_hand_queues_one_confirmation() {
    let orders = [("claimed", OrderState::Claimed, 1000), ("late", OrderState::Expired, 1100), ("paid", OrderState::Confirmed, 1200)];
    let (_dir, c) = with_orders(&orders).await;
    let obs = c.confirm_order(&id("claimed")).await.unwrap();
    let witness = c.db.observation(&obs).await.unwrap().expect("the operator's witness");
    assert_eq!(
        (witness.status, witness.source, witness.order_id),
        (ObservationStatus::Matched, SeenBy::from(SourceKind::Operator), Some(order_id("claimed")))
    );
    assert_eq!(witness.amount.0, 1000);
    assert_eq!(code(c.confirm_order(&id("claimed")).await), "already_matched", "once");
    c.confirm_order(&id("late")).await.expect("a late payment can be confirmed");
    assert_eq!(code(c.confirm_order(&id("paid")).await), "wrong_state");
    assert_eq!(code(c.confirm_order("missing").await), "not_found");
    let items = queued(&c).await;
    assert_eq!(
        items.iter().map(|i| (i.kind, i.order_id.clone())).collect::<Vec<_>>(),
        [(OutboxKind::Confirm, Some(order_id("claimed"))), (OutboxKind::Confirm, Some(order_id("late")))]
    );
    assert_eq!(items[0].observation_id, obs.as_str());
}

#[tokio::test]
async fn rejecting_a_false_claim_queues_one_rejection_with_its_reason() {
    let orders =
        [("claimed", OrderState::Claimed, 1000), ("waiting", OrderState::CodeIssued, 1100), ("paid_claim", OrderState::Claimed, 1200)];
    let (_dir, c) = with_orders(&orders).await;
    assert_eq!(code(c.reject_claim(&id("claimed"), " \n ").await), "reason_required");
    c.reject_claim(&id("claimed"), "  没有到账\u{7}  ").await.unwrap();
    assert_eq!(code(c.reject_claim(&id("claimed"), "again").await), "already_rejected", "once");
    assert_eq!(code(c.reject_claim(&id("waiting"), "no").await), "not_claimed");
    c.confirm_order(&id("paid_claim")).await.unwrap();
    assert_eq!(code(c.reject_claim(&id("paid_claim"), "no").await), "already_matched", "a paid claim is not rejected");
    let rejections: Vec<(Option<jiufu_protocol::OrderId>, String)> =
        queued(&c).await.into_iter().filter(|i| i.kind == OutboxKind::Reject).map(|i| (i.order_id, i.reason)).collect();
    assert_eq!(rejections, [(Some(order_id("claimed")), "没有到账".to_owned())], "trimmed, control characters dropped");
}

#[tokio::test]
async fn an_unmatched_payment_is_attached_to_an_order_that_can_take_it() {
    let (_dir, c) = with_orders(&[]).await;
    let pending = |o: crate::Observed| match o {
        crate::Observed::Recorded(crate::matcher::Ingested::Pending { observation }) => observation,
        other => panic!("{other:?}"),
    };
    // Two payments of ¥20.00 seen before any order: given up on, so unmatched.
    let a = pending(c.record_payment("P901", "20.00", "seen on the phone").await.unwrap());
    let b = pending(c.record_payment("P901", "20.00", "").await.unwrap());
    assert_eq!(code(c.attach(a.as_str(), &id("open20")).await), "not_unmatched", "still waiting for its order");
    for id in [&a, &b] {
        assert!(c.give_up_on(id, "no order").await.unwrap());
    }
    let before = queued(&c).await.len();
    let created = now_ms() / 1000 - 60;
    let orders = vec![
        order("open20", OrderState::CodeIssued, 2000, created),
        order("open30", OrderState::CodeIssued, 3000, created),
        order("paid20", OrderState::Confirmed, 2000, created - 1),
    ];
    c.mirror_orders(orders).await.unwrap();
    assert_eq!(code(c.attach(a.as_str(), &id("open30")).await), "amount_mismatch");
    assert_eq!(code(c.attach(a.as_str(), &id("paid20")).await), "wrong_state");
    assert_eq!(code(c.attach(a.as_str(), "missing").await), "not_found");
    assert_eq!(code(c.attach("obs_missing", &id("open20")).await), "not_found");
    assert_eq!(queued(&c).await.len(), before, "refusals queued nothing");

    c.attach(a.as_str(), &id("open20")).await.unwrap();
    let attached = c.db.observation(&a).await.unwrap().unwrap();
    assert_eq!(
        (attached.status, attached.order_id, attached.note.as_str()),
        (ObservationStatus::Matched, Some(order_id("open20")), "attached by hand")
    );
    assert_eq!(code(c.attach(a.as_str(), &id("open20")).await), "not_unmatched", "once");
    assert_eq!(code(c.attach(b.as_str(), &id("open20")).await), "already_matched", "one payment per order");
    let last = queued(&c).await.pop().unwrap();
    assert_eq!((last.kind, last.observation_id.as_str(), last.order_id), (OutboxKind::Confirm, a.as_str(), Some(order_id("open20"))));
    assert_eq!(queued(&c).await.len(), before + 1);
}
