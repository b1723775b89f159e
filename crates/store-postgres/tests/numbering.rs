//! The collectors' cursor on PostgreSQL: an event is handed out only once
//! every older writing transaction has ended, so one that commits late is
//! never skipped; numbers never go back, even after retention deletes the
//! newest events.

mod common;

use jiufu_protocol::{Channel, Dialect, Fen, MerchantId, OrderId, OrderNo, Secret, Transition};
use jiufu_store::{CreateOutcome, MerchantSettings, NewCode, NewMerchant, NewOrder, Order, StateChange, Store};
use jiufu_store_postgres::PgStore;
use tokio_postgres::NoTls;

const NOW: i64 = 1_700_000_000;

fn merchant() -> MerchantId {
    MerchantId::new(1).unwrap()
}

fn order(no: &str, fen: i64) -> NewOrder {
    NewOrder {
        id: OrderId::generate(),
        merchant_id: merchant(),
        order_no: OrderNo::parse(no).unwrap(),
        subject: String::new(),
        channel: Channel::P901,
        order_fen: Fen(fen),
        candidates: vec![Fen(fen)],
        notify_url: "https://shop.example/n".into(),
        return_url: String::new(),
        ip: String::new(),
        order_time: String::new(),
        ttl_secs: 300,
        quarantine_secs: 600,
        max_open_per_payer: 0,
        payerless_cap: 0,
        dialect: Dialect::Jiufu,
        shop_data: String::new(),
    }
}

/// The events after `after` once at least `count` are handed out (or
/// after 5 s): other tests' transactions on the same server hold the
/// numbering back for a moment, as any older writing transaction does.
async fn events_after(store: &PgStore, after: i64, count: usize) -> Vec<(i64, Order)> {
    for _ in 0..250 {
        let events = store.order_events(merchant(), after, 100).await.unwrap();
        if events.len() >= count {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    store.order_events(merchant(), after, 100).await.unwrap()
}

async fn create(store: &PgStore, no: &str, fen: i64) -> OrderId {
    match store.create_order(order(no, fen), NOW).await.unwrap() {
        CreateOutcome::Created(o) => o.id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_commit_is_never_skipped_and_numbers_never_go_back() {
    let Some(url) = common::fresh_database().await else { return };
    let store = PgStore::connect(&url).await.unwrap();
    let settings = MerchantSettings::default();
    store
        .create_merchant(NewMerchant { id: merchant(), name: "m".into(), key: Secret::new("key-0123456789abcdef"), settings }, NOW)
        .await
        .unwrap();
    let code = NewCode {
        merchant_id: merchant(),
        channel: Channel::P901,
        qr_text: "https://qr.alipay.com/x".into(),
        amount: None,
        name: String::new(),
        enabled: true,
        origin: "server".into(),
        uid: "c".into(),
    };
    store.add_code(code, NOW).await.unwrap();
    let first = create(&store, "first", 100).await;
    let cursor = events_after(&store, 0, 1).await.last().map(|(seq, _)| *seq).expect("the first order's event");

    // An older writing transaction is still open while a newer one commits.
    let (older, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);
    older.batch_execute("BEGIN; SELECT pg_current_xact_id();").await.unwrap();
    let second = create(&store, "second", 200).await;
    assert!(store.order_events(merchant(), cursor, 100).await.unwrap().is_empty(), "held back while an older transaction may still commit");
    assert_eq!(store.last_event_seq().await.unwrap(), cursor);
    // A rolled-back transaction holds nothing back once it ends.
    older.batch_execute("ROLLBACK").await.unwrap();
    let seen: Vec<OrderId> = events_after(&store, cursor, 1).await.into_iter().map(|(_, o)| o.id).collect();
    assert_eq!(seen, std::slice::from_ref(&second));

    // Retention deletes every event of the finished orders; numbering goes on above.
    let last = store.last_event_seq().await.unwrap();
    for id in [&first, &second] {
        store.transition(id, StateChange::new(Transition::Close, jiufu_protocol::Actor::OperatorCli), NOW + 1).await.unwrap();
    }
    let closed = events_after(&store, last, 2).await.last().map(|(seq, _)| *seq).expect("the closings' events");
    assert_eq!(closed, last + 2);
    assert_eq!(store.last_event_seq().await.unwrap(), closed);
    let purged = store.purge(NOW + 100_000, NOW + 100_000).await.unwrap();
    assert_eq!(purged.order_events, 4);
    let third = create(&store, "third", 300).await;
    let events = events_after(&store, closed, 1).await;
    assert_eq!(events.iter().map(|(seq, o)| (*seq, o.id.clone())).collect::<Vec<_>>(), [(closed + 1, third)]);
}
