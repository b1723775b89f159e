//! [`ingest`] and [`rematch_pending`] on a real store: match, no match,
//! the same payment from two sources, two payments of the same amount.

use super::*;
use crate::model::Observation;
use crate::store::Db;
use crate::testing::{order, order_id, payment, temp_db};
use jiufu_protocol::OrderState;
use jiufu_protocol::collector::SourceKind;

/// 2027-01-15 08:00:00 UTC, in epoch ms.
const NOW: i64 = 1_800_000_000_000;

async fn ingest_at(db: &Db, new: &NewObservation, now: i64) -> Ingested {
    let new = new.clone();
    db.write(move |tx| ingest(tx, &new, now)).await.unwrap()
}

async fn rematch_at(db: &Db, now: i64, synced_at: i64) -> Settled {
    db.write(move |tx| rematch_pending(tx, now, synced_at)).await.unwrap()
}

async fn stored(db: &Db, id: &ObservationId) -> Observation {
    db.observation(id).await.unwrap().expect("stored")
}

/// What the queue holds: (kind, observation, order).
async fn queued(db: &Db) -> Vec<(OutboxKind, ObservationId, Option<OrderId>)> {
    let items = db.outbox(100).await.unwrap().into_iter();
    items.map(|i| (i.kind, ObservationId::parse(&i.observation_id).expect("a payment's item"), i.order_id)).collect()
}

/// A store mirroring one order, "o1", of ¥5.00 waiting for payment, created 10 s before [`NOW`].
async fn with_order(state: OrderState) -> (tempfile::TempDir, Db) {
    let (dir, db) = temp_db();
    db.upsert_orders(vec![order("o1", state, 500, NOW / 1000 - 10)]).await.unwrap();
    (dir, db)
}

#[tokio::test]
async fn a_payment_matches_its_order_and_its_confirmation_is_queued() {
    let (_dir, db) = with_order(OrderState::CodeIssued).await;
    let p = payment(SourceKind::Vmq, 500, NOW);
    assert_eq!(ingest_at(&db, &p, NOW).await, Ingested::Matched { observation: p.id.clone(), order: order_id("o1") });
    let obs = stored(&db, &p.id).await;
    assert_eq!((obs.status, obs.order_id.as_ref()), (ObservationStatus::Matched, Some(&order_id("o1"))));
    assert_eq!(queued(&db).await, [(OutboxKind::Confirm, p.id, Some(order_id("o1")))]);
}

#[tokio::test]
async fn a_late_payment_matches_within_the_quarantine_only() {
    let (_dir, db) = with_order(OrderState::Expired).await;
    // Quarantine ends 900 s after creation.
    let after = payment(SourceKind::Vmq, 500, NOW + 891_000);
    assert!(matches!(ingest_at(&db, &after, NOW).await, Ingested::Pending { .. }), "past the quarantine");
    let late = payment(SourceKind::Dbus, 500, NOW + 600_000);
    assert!(matches!(ingest_at(&db, &late, NOW).await, Ingested::Matched { .. }), "expired, within the quarantine");
}

#[tokio::test]
async fn a_payment_long_before_its_order_or_for_a_closed_one_does_not_match() {
    let (_dir, db) = with_order(OrderState::Closed).await;
    assert!(matches!(ingest_at(&db, &payment(SourceKind::Vmq, 500, NOW), NOW).await, Ingested::Pending { .. }), "closed");
    let (_dir, db) = with_order(OrderState::CodeIssued).await;
    let early = payment(SourceKind::Vmq, 500, NOW - 10_000 - ORDER_LEAD_MS - 1);
    assert!(matches!(ingest_at(&db, &early, NOW).await, Ingested::Pending { .. }), "seen more than a minute before the order");
}

#[tokio::test]
async fn no_order_waits_for_the_grace_period_of_a_current_mirror_then_is_unmatched() {
    let (_dir, db) = with_order(OrderState::CodeIssued).await;
    let p = payment(SourceKind::Vmq, 777, NOW);
    assert_eq!(ingest_at(&db, &p, NOW).await, Ingested::Pending { observation: p.id.clone() });
    assert!(rematch_at(&db, NOW + 5_000, NOW + 5_000).await.is_empty(), "within the grace period");
    // The gateway was away: the mirror is as old as the payment, however late it is now.
    assert!(rematch_at(&db, NOW + 600_000, NOW).await.is_empty(), "its order may not have reached us");
    let settled = rematch_at(&db, NOW + 20_000, NOW + PENDING_GRACE_MS).await;
    assert_eq!(settled.unmatched, [(p.id.clone(), Channel::P901, Fen(777))]);
    let obs = stored(&db, &p.id).await;
    assert_eq!((obs.status, obs.order_id, obs.note.as_str()), (ObservationStatus::Unmatched, None, "no open order with this amount"));
    assert_eq!(queued(&db).await, [(OutboxKind::Unmatched, p.id, None)]);
}

#[tokio::test]
async fn a_pending_payment_matches_when_its_order_arrives() {
    let (_dir, db) = temp_db();
    let p = payment(SourceKind::Vmq, 500, NOW);
    assert!(matches!(ingest_at(&db, &p, NOW).await, Ingested::Pending { .. }));
    db.upsert_orders(vec![order("o1", OrderState::CodeIssued, 500, NOW / 1000 - 10)]).await.unwrap();
    let settled = rematch_at(&db, NOW + 1_000, NOW + 1_000).await;
    assert_eq!(settled.matched, [(p.id.clone(), order_id("o1"), Channel::P901, Fen(500))]);
    assert_eq!(queued(&db).await, [(OutboxKind::Confirm, p.id, Some(order_id("o1")))]);
}

#[tokio::test]
async fn the_same_payment_from_two_sources_within_two_minutes_is_one() {
    let (_dir, db) = with_order(OrderState::CodeIssued).await;
    let phone = payment(SourceKind::Vmq, 500, NOW);
    let sms = payment(SourceKind::SmsForwarder, 500, NOW + DEDUP_WINDOW_MS - 1_000);
    assert!(matches!(ingest_at(&db, &phone, NOW).await, Ingested::Matched { .. }));
    assert_eq!(ingest_at(&db, &sms, NOW).await, Ingested::Duplicate { observation: sms.id.clone(), of: phone.id.clone() });
    let dup = stored(&db, &sms.id).await;
    assert_eq!((dup.status, dup.duplicate_of.as_ref(), dup.order_id), (ObservationStatus::Duplicate, Some(&phone.id), None));
    assert_eq!(queued(&db).await.len(), 1, "one confirmation");
    assert!(rematch_at(&db, NOW + 60_000, NOW + 60_000).await.is_empty(), "a duplicate is never matched or reported");
    // A third source sees it too; but a second report from a source already counted is another payment.
    assert!(matches!(ingest_at(&db, &payment(SourceKind::Dbus, 500, NOW + 2_000), NOW).await, Ingested::Duplicate { .. }));
    assert!(matches!(ingest_at(&db, &payment(SourceKind::SmsForwarder, 500, NOW + 3_000), NOW).await, Ingested::Pending { .. }));
}

#[tokio::test]
async fn the_same_amount_from_another_source_after_two_minutes_is_another_payment() {
    let (_dir, db) = temp_db();
    assert!(matches!(ingest_at(&db, &payment(SourceKind::Vmq, 500, NOW), NOW).await, Ingested::Pending { .. }));
    let later = payment(SourceKind::SmsForwarder, 500, NOW + DEDUP_WINDOW_MS + 1);
    assert!(matches!(ingest_at(&db, &later, NOW).await, Ingested::Pending { .. }));
    let other_amount = payment(SourceKind::Dbus, 501, NOW);
    assert!(matches!(ingest_at(&db, &other_amount, NOW).await, Ingested::Pending { .. }));
}

#[tokio::test]
async fn two_payments_of_the_same_amount_are_two_and_the_second_is_unmatched_once_the_order_is_paid() {
    let (_dir, db) = with_order(OrderState::CodeIssued).await;
    let first = payment(SourceKind::Vmq, 500, NOW);
    let second = payment(SourceKind::Vmq, 500, NOW + 30_000);
    assert!(matches!(ingest_at(&db, &first, NOW).await, Ingested::Matched { .. }));
    assert_eq!(ingest_at(&db, &second, NOW + 30_000).await, Ingested::Pending { observation: second.id.clone() }, "not a duplicate");
    let settled = rematch_at(&db, NOW + 60_000, NOW + 60_000).await;
    assert_eq!(settled.unmatched, [(second.id.clone(), Channel::P901, Fen(500))], "the order is taken");
    assert!(settled.matched.is_empty());
    assert_eq!(stored(&db, &first.id).await.status, ObservationStatus::Matched);
    assert_eq!(
        queued(&db).await,
        [(OutboxKind::Confirm, first.id, Some(order_id("o1"))), (OutboxKind::Unmatched, second.id, None)],
        "one confirmation, one unmatched report"
    );
}

/// Issue 16, M4: the same posting again (after the order it paid is no
/// longer open) is a duplicate; another posting of the same text is a
/// second payment; the same text from a layout that carries nothing more
/// is recorded unmatched, never matched.
#[tokio::test]
async fn the_same_notice_twice_is_one_payment() {
    let (_dir, db) = with_order(OrderState::CodeIssued).await;
    let posting =
        |received: &str| Posted::exact(&["smsforwarder", "com.eg.android.AlipayGphone", "收钱码收款", "成功收款5.00元", received]);
    let first = NewObservation { posted: posting("10:00:01"), ..payment(SourceKind::SmsForwarder, 500, NOW) };
    assert!(matches!(ingest_at(&db, &first, NOW).await, Ingested::Matched { .. }));
    // A second order of the same amount; the same notice re-forwarded an hour later.
    db.upsert_orders(vec![order("o2", OrderState::CodeIssued, 500, NOW / 1000 + 3_600)]).await.unwrap();
    let later = NOW + 3_600_000;
    let again = NewObservation { posted: posting("10:00:01"), ..payment(SourceKind::SmsForwarder, 500, later) };
    assert_eq!(ingest_at(&db, &again, later).await, Ingested::Duplicate { observation: again.id.clone(), of: first.id.clone() });
    let obs = stored(&db, &again.id).await;
    assert_eq!((obs.status, obs.duplicate_of.as_ref()), (ObservationStatus::Duplicate, Some(&first.id)));
    assert!(obs.note.contains("the same notification"), "{}", obs.note);
    // A real second payment, received at another time, takes the new order.
    let second = NewObservation { posted: posting("11:00:02"), ..payment(SourceKind::SmsForwarder, 500, later + 1) };
    assert_eq!(ingest_at(&db, &second, later).await, Ingested::Matched { observation: second.id.clone(), order: order_id("o2") });
    // Each sighting renews the memory: a day after the first (less than a
    // day after the re-forward) it is still the same notice.
    let next_day = NOW + crate::store::NOTICE_MEMORY_MS + 1;
    let replayed = NewObservation { posted: posting("10:00:01"), ..payment(SourceKind::SmsForwarder, 500, next_day) };
    assert!(matches!(ingest_at(&db, &replayed, next_day).await, Ingested::Duplicate { .. }));
    // After 24 h without a sighting the posting is forgotten.
    let silent = next_day + crate::store::NOTICE_MEMORY_MS + 1;
    let much_later = NewObservation { posted: posting("10:00:01"), ..payment(SourceKind::SmsForwarder, 500, silent) };
    assert!(matches!(ingest_at(&db, &much_later, silent).await, Ingested::Pending { .. }));
}

#[tokio::test]
async fn the_same_text_where_nothing_more_is_known_is_left_to_the_operator() {
    let (_dir, db) = with_order(OrderState::CodeIssued).await;
    let text = Posted::alike(&["notify", "kdeconnect/支付宝", "收钱码收款", "成功收款5.00元"]);
    let first = NewObservation { posted: text.clone(), ..payment(SourceKind::Dbus, 500, NOW) };
    assert!(matches!(ingest_at(&db, &first, NOW).await, Ingested::Matched { .. }));
    db.upsert_orders(vec![order("o2", OrderState::CodeIssued, 500, NOW / 1000 + 600)]).await.unwrap();
    let later = NOW + 600_000;
    let again = NewObservation { posted: text, ..payment(SourceKind::Dbus, 500, later) };
    assert_eq!(ingest_at(&db, &again, later).await, Ingested::Ambiguous { observation: again.id.clone(), like: first.id.clone() });
    let obs = stored(&db, &again.id).await;
    assert_eq!((obs.status, obs.order_id), (ObservationStatus::Unmatched, None), "never matched: {}", obs.note);
    assert!(queued(&db).await.contains(&(OutboxKind::Unmatched, again.id.clone(), None)), "reported as unmatched");
    // Another text (another payer) is another payment.
    let other = NewObservation {
        posted: Posted::alike(&["notify", "kdeconnect/支付宝", "收钱码收款", "李四通过扫码向你付款5.00元"]),
        ..payment(SourceKind::Dbus, 500, later + 1)
    };
    assert!(matches!(ingest_at(&db, &other, later).await, Ingested::Matched { .. }));
}
