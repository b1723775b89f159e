//! The behaviour every backend must show, one case per rule. A backend's
//! tests expand [`store_suite!`](crate::store_suite) with a function that
//! opens a fresh, empty store: each case becomes its own test, so one
//! failure hides none of the others. Every case uses merchants of its own,
//! so [`run_all`] can also run them one after another on one store.

use crate::*;
use jiufu_protocol::{Actor, Channel, Dialect, Fen, MerchantId, OrderId, OrderNo, Secret};

/// One `#[tokio::test]` per case of the shared suite. `$open` is an async
/// function returning `Option<(store, guard)>`: a fresh, empty store and
/// whatever must live as long as it (a temporary directory), or `None` when
/// the backend is not available here (it says why; the case is skipped).
#[macro_export]
macro_rules! store_suite {
    ($open:path) => {
        $crate::store_suite!(@cases $open;
            merchants,
            unique_amounts,
            no_code_for_the_channel,
            idempotent_create,
            a_finished_orders_number_is_not_reused,
            creation_writes_its_event,
            transitions_and_outbox,
            expiry_and_quarantine,
            fixed_amount_codes,
            collectors,
            payer_limit,
            retention,
            evidence_confirms_one_order,
            payerless_orders_hold_half_a_prices_amounts,
            merchant_settings_change
        );
    };
    (@cases $open:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $case() {
                let Some((store, _keep)) = $open().await else { return };
                $crate::testsuite::$case(&store).await;
            }
        )+
    };
}

fn mid(id: i64) -> MerchantId {
    MerchantId::new(id).expect("a merchant id")
}

fn no(text: &str) -> OrderNo {
    OrderNo::parse(text).expect("an order number")
}

/// Every case, one after another, on one store.
pub async fn run_all<S: Store>(store: &S) {
    merchants(store).await;
    unique_amounts(store).await;
    no_code_for_the_channel(store).await;
    idempotent_create(store).await;
    a_finished_orders_number_is_not_reused(store).await;
    creation_writes_its_event(store).await;
    transitions_and_outbox(store).await;
    expiry_and_quarantine(store).await;
    fixed_amount_codes(store).await;
    collectors(store).await;
    payer_limit(store).await;
    retention(store).await;
    evidence_confirms_one_order(store).await;
    payerless_orders_hold_half_a_prices_amounts(store).await;
    merchant_settings_change(store).await;
}

const NOW: i64 = 1_700_000_000;

async fn merchant<S: Store>(store: &S, id: i64, settings: MerchantSettings) -> Merchant {
    let m = store
        .create_merchant(NewMerchant { id: mid(id), name: format!("shop {id}"), key: Secret::new(format!("key{id}")), settings }, NOW)
        .await
        .expect("create merchant");
    store
        .add_code(
            NewCode {
                merchant_id: mid(id),
                channel: Channel::P901,
                qr_text: format!("https://qr.alipay.com/m{id}"),
                amount: None,
                name: "main".into(),
                enabled: true,
                origin: "server".into(),
                uid: format!("c{id}"),
            },
            NOW,
        )
        .await
        .expect("add code");
    m
}

fn order(merchant_id: i64, number: &str, fen: i64, candidates: Vec<Fen>) -> NewOrder {
    NewOrder {
        id: OrderId::generate(),
        merchant_id: mid(merchant_id),
        order_no: no(number),
        subject: "subject".into(),
        channel: Channel::P901,
        order_fen: Fen(fen),
        candidates,
        notify_url: "https://shop.example/notify".into(),
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

/// A merchant's order events once `count` are handed out (or after 5 s):
/// an event is handed out once every older writing transaction has ended,
/// which on a database server shared with other writers (other tests) can
/// be a moment after its own commit.
async fn events_of<S: Store>(store: &S, merchant: MerchantId, count: usize) -> Vec<(i64, Order)> {
    for _ in 0..250 {
        let events = store.order_events(merchant, 0, 100).await.unwrap();
        if events.len() >= count {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    store.order_events(merchant, 0, 100).await.unwrap()
}

fn device() -> Actor {
    Actor::Device("x".into())
}

fn steps(fen: i64, n: i64) -> Vec<Fen> {
    (0..n).map(|i| Fen(fen - i)).filter(|f| f.0 > 0).collect()
}

fn created(outcome: CreateOutcome) -> Order {
    match outcome {
        CreateOutcome::Created(o) => o,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub async fn merchants<S: Store>(store: &S) {
    let m = merchant(store, 1, MerchantSettings::default()).await;
    assert_eq!(m.name, "shop 1");
    assert_eq!(m.key.expose(), "key1");
    assert!(m.enabled);
    assert!(matches!(
        store.create_merchant(NewMerchant { id: mid(1), name: "x".into(), key: Secret::new("k"), settings: Default::default() }, NOW).await,
        Err(StoreError::Duplicate(Unique::Merchant))
    ));
    assert_eq!(store.merchant(mid(1)).await.unwrap().unwrap().settings, MerchantSettings::default());
    assert!(store.merchant(mid(999)).await.unwrap().is_none());
    assert_eq!(store.codes(mid(1)).await.unwrap().len(), 1);
}

pub async fn unique_amounts<S: Store>(store: &S) {
    merchant(store, 2, MerchantSettings::default()).await;
    let a = created(store.create_order(order(2, "a", 1000, steps(1000, 3)), NOW).await.unwrap());
    let b = created(store.create_order(order(2, "b", 1000, steps(1000, 3)), NOW).await.unwrap());
    let c = created(store.create_order(order(2, "c", 1000, steps(1000, 3)), NOW).await.unwrap());
    assert_eq!((a.payable_fen, b.payable_fen, c.payable_fen), (Fen(1000), Fen(999), Fen(998)));
    assert_eq!(a.state, OrderState::CodeIssued);
    assert_eq!(a.qr_text, "https://qr.alipay.com/m2");
    assert!(matches!(store.create_order(order(2, "d", 1000, steps(1000, 3)), NOW).await.unwrap(), CreateOutcome::NoFreeAmount));
    // nothing half-created
    assert!(store.order_by_no(mid(2), &no("d")).await.unwrap().is_none());
    // stepping up, with a hole in the taken amounts
    let up = |no: &str| order(2, no, 998, vec![Fen(998), Fen(999), Fen(1000), Fen(1001), Fen(1002)]);
    assert_eq!(created(store.create_order(up("u1"), NOW).await.unwrap()).payable_fen, Fen(1001));
    assert_eq!(created(store.create_order(up("u2"), NOW).await.unwrap()).payable_fen, Fen(1002));
    assert!(matches!(store.create_order(up("u3"), NOW).await.unwrap(), CreateOutcome::NoFreeAmount));
    let gap = created(store.create_order(order(2, "g", 2000, steps(2000, 1)), NOW).await.unwrap());
    assert_eq!(gap.payable_fen, Fen(2000));
    let around = created(store.create_order(order(2, "h", 2001, steps(2001, 3)), NOW).await.unwrap());
    assert_eq!(around.payable_fen, Fen(2001));
    let below = created(store.create_order(order(2, "i", 2001, steps(2001, 3)), NOW).await.unwrap());
    assert_eq!(below.payable_fen, Fen(1999), "2001 and 2000 taken, 1999 free");
}

/// An order for a channel the merchant has no enabled code for is refused
/// before anything else, and leaves nothing behind.
pub async fn no_code_for_the_channel<S: Store>(store: &S) {
    merchant(store, 15, MerchantSettings::default()).await;
    let mut wx = order(15, "e", 1000, steps(1000, 3));
    wx.channel = Channel::P902;
    assert!(matches!(store.create_order(wx, NOW).await.unwrap(), CreateOutcome::NoCode));
    assert!(store.order_by_no(mid(15), &no("e")).await.unwrap().is_none());
    // A disabled code is no code.
    let disabled = NewCode {
        merchant_id: mid(15),
        channel: Channel::P902,
        qr_text: "wxp://off".into(),
        amount: None,
        name: "off".into(),
        enabled: false,
        origin: "server".into(),
        uid: "off".into(),
    };
    store.add_code(disabled, NOW).await.unwrap();
    let mut wx = order(15, "e", 1000, steps(1000, 3));
    wx.channel = Channel::P902;
    assert!(matches!(store.create_order(wx, NOW).await.unwrap(), CreateOutcome::NoCode));
}

/// An order number names one order: once that order is finished (closed,
/// confirmed, or its time ran out even before the timer wrote it), the
/// same number is refused, even with the same fields.
pub async fn a_finished_orders_number_is_not_reused<S: Store>(store: &S) {
    merchant(store, 16, MerchantSettings::default()).await;
    let closed = created(store.create_order(order(16, "c", 100, steps(100, 3)), NOW).await.unwrap());
    store.transition(&closed.id, StateChange::new(Transition::Close, Actor::OperatorCli), NOW + 1).await.unwrap();
    assert!(matches!(store.create_order(order(16, "c", 100, steps(100, 3)), NOW + 2).await.unwrap(), CreateOutcome::OrderNoReused));
    created(store.create_order(order(16, "t", 200, steps(200, 3)), NOW).await.unwrap());
    assert!(matches!(store.create_order(order(16, "t", 200, steps(200, 3)), NOW + 299).await.unwrap(), CreateOutcome::Existing(_)));
    assert!(matches!(store.create_order(order(16, "t", 200, steps(200, 3)), NOW + 300).await.unwrap(), CreateOutcome::OrderNoReused));
}

/// A created order is code issued (5) with its amount held, and its
/// history starts with the merchant's creation.
pub async fn creation_writes_its_event<S: Store>(store: &S) {
    merchant(store, 17, MerchantSettings::default()).await;
    let o = created(store.create_order(order(17, "h", 300, steps(300, 2)), NOW).await.unwrap());
    let read = store.order(&o.id).await.unwrap().expect("stored");
    assert_eq!(read, o, "the created order is the stored one");
    assert_eq!((read.state, read.expire_at, read.quarantine_until), (OrderState::CodeIssued, NOW + 300, NOW + 900));
    let holding = store.orders(OrderFilter { merchant_id: Some(mid(17)), holding_amount: true, ..Default::default() }).await.unwrap();
    assert_eq!(holding.len(), 1);
    let history = store.order_history(&o.id).await.unwrap();
    assert_eq!(history.len(), 1);
    let e = &history[0];
    assert_eq!(
        (e.from_state, e.to_state, &e.actor, e.reason.as_str(), e.at),
        (None, OrderState::CodeIssued, &Actor::Merchant, CREATION_REASON, NOW)
    );
}

pub async fn idempotent_create<S: Store>(store: &S) {
    merchant(store, 3, MerchantSettings::default()).await;
    let first = created(store.create_order(order(3, "same", 500, steps(500, 5)), NOW).await.unwrap());
    match store.create_order(order(3, "same", 500, steps(500, 5)), NOW + 1).await.unwrap() {
        CreateOutcome::Existing(o) => assert_eq!(o.id, first.id),
        other => panic!("expected Existing, got {other:?}"),
    }
    let mut changed = order(3, "same", 501, steps(501, 5));
    changed.subject = "other".into();
    assert!(matches!(store.create_order(changed, NOW + 1).await.unwrap(), CreateOutcome::OrderNoReused));

    // A shop protocol's order keeps its dialect and echo data, and both are
    // part of what makes a retry "the same request".
    let shop = NewOrder { dialect: Dialect::Epay, shop_data: r#"{"money":"5"}"#.into(), ..order(3, "shop-1", 500, steps(500, 5)) };
    let stored = created(store.create_order(shop.clone(), NOW).await.unwrap());
    let read = store.order(&stored.id).await.unwrap().expect("stored");
    assert_eq!((read.dialect, read.shop_data.as_str()), (Dialect::Epay, r#"{"money":"5"}"#));
    assert!(matches!(store.create_order(shop.clone(), NOW + 1).await.unwrap(), CreateOutcome::Existing(o) if o.id == stored.id));
    let other_echo = NewOrder { shop_data: r#"{"money":"5.00"}"#.into(), ..shop.clone() };
    assert!(matches!(store.create_order(other_echo, NOW + 1).await.unwrap(), CreateOutcome::OrderNoReused));
    let other_dialect = NewOrder { dialect: Dialect::Vmq, ..shop };
    assert!(matches!(store.create_order(other_dialect, NOW + 1).await.unwrap(), CreateOutcome::OrderNoReused));
}

pub async fn transitions_and_outbox<S: Store>(store: &S) {
    merchant(store, 4, MerchantSettings::default()).await;
    let o = created(store.create_order(order(4, "t1", 100, steps(100, 5)), NOW).await.unwrap());
    let claimed = match store.transition(&o.id, StateChange::new(Transition::Claim, Actor::Customer), NOW + 1).await.unwrap() {
        TransitionOutcome::Applied(o) => o,
        other => panic!("{other:?}"),
    };
    assert_eq!(claimed.state, OrderState::Claimed);
    assert_eq!(claimed.claimed_at, Some(NOW + 1));
    assert!(matches!(
        store.transition(&o.id, StateChange::new(Transition::Claim, Actor::Customer), NOW + 2).await,
        Err(StoreError::Transition(_))
    ));
    let pay = PaymentRecord { paid_fen: Fen(100), evidence_id: "obs-1".into(), evidence_json: "{}".into() };
    let done = match store.transition(&o.id, StateChange::new(Transition::Confirm, device()).payment(pay.clone()), NOW + 3).await.unwrap() {
        TransitionOutcome::Applied(o) => o,
        other => panic!("{other:?}"),
    };
    assert_eq!(done.state, OrderState::Confirmed);
    assert_eq!(done.paid_fen, Some(Fen(100)));
    assert!(matches!(
        store.transition(&o.id, StateChange::new(Transition::Confirm, device()).payment(pay), NOW + 4).await.unwrap(),
        TransitionOutcome::AlreadyApplied(_)
    ));
    let other = PaymentRecord { paid_fen: Fen(100), evidence_id: "obs-2".into(), evidence_json: "{}".into() };
    assert!(store.transition(&o.id, StateChange::new(Transition::Confirm, device()).payment(other), NOW + 4).await.is_err());
    // the outbox row came with the state change
    let n = store.notification(&o.id).await.unwrap().expect("outbox row");
    assert_eq!(n.status, NotifyStatus::Pending);
    assert_eq!(n.url, "https://shop.example/notify");
    let due = store.due_notifications(NOW + 3, 10).await.unwrap();
    assert!(due.iter().any(|d| d.order_id == o.id));
    let attempt = |delivered| NotifyAttempt {
        order_id: o.id.clone(),
        at: NOW + 5,
        http_status: Some(500),
        body_excerpt: "fail".into(),
        error: String::new(),
        delivered,
    };
    store.record_attempt(attempt(false), NotifyNext::RetryAt(NOW + 20)).await.unwrap();
    assert!(store.due_notifications(NOW + 6, 10).await.unwrap().iter().all(|d| d.order_id != o.id));
    store.record_attempt(attempt(true), NotifyNext::Delivered).await.unwrap();
    let n = store.notification(&o.id).await.unwrap().unwrap();
    assert_eq!((n.status, n.attempts), (NotifyStatus::Delivered, 2));
    assert_eq!(store.notify_attempts(&o.id).await.unwrap().len(), 2);
    assert!(store.order(&o.id).await.unwrap().unwrap().notified);
    store.resend_notification(&o.id, NOW + 30).await.unwrap();
    assert_eq!(store.notification(&o.id).await.unwrap().unwrap().status, NotifyStatus::Pending);
    let history = store.order_history(&o.id).await.unwrap();
    let states: Vec<i32> = history.iter().map(|e| e.to_state.code()).collect();
    assert_eq!(states, vec![5, 8, 9]);
    // a paid order keeps its amount through quarantine: a late or repeated
    // notice of that payment must not match a newer order
    let again = created(store.create_order(order(4, "t2", 100, steps(100, 5)), NOW + 40).await.unwrap());
    assert_eq!(again.payable_fen, Fen(99));
    store.expire_due(NOW + 3 + 600).await.unwrap();
    let later = created(store.create_order(order(4, "t3", 100, steps(100, 5)), NOW + 3 + 600).await.unwrap());
    assert_eq!(later.payable_fen, Fen(100), "free once the quarantine after payment is over");
    let events = events_of(store, mid(4), 6).await;
    assert_eq!(events.len(), 6);
    assert!(events.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(store.last_event_seq().await.unwrap() >= events.last().unwrap().0);
}

pub async fn expiry_and_quarantine<S: Store>(store: &S) {
    merchant(store, 5, MerchantSettings::default()).await;
    let o = created(store.create_order(order(5, "x1", 200, steps(200, 2)), NOW).await.unwrap());
    let expired = store.expire_due(NOW + 300).await.unwrap();
    assert!(expired.iter().any(|e| e.id == o.id && e.state == OrderState::Expired));
    // still quarantined: the slot is not reused
    let o2 = created(store.create_order(order(5, "x2", 200, steps(200, 2)), NOW + 301).await.unwrap());
    assert_eq!(o2.payable_fen, Fen(199));
    assert!(matches!(store.create_order(order(5, "x3", 200, steps(200, 2)), NOW + 302).await.unwrap(), CreateOutcome::NoFreeAmount));
    // late payment during quarantine confirms the expired order
    let pay = PaymentRecord { paid_fen: Fen(200), evidence_id: "late".into(), evidence_json: "{}".into() };
    assert!(matches!(
        store.transition(&o.id, StateChange::new(Transition::Confirm, device()).payment(pay), NOW + 400).await.unwrap(),
        TransitionOutcome::Applied(_)
    ));
    // after quarantine the slot of an expired order comes free
    let o4 = created(store.create_order(order(5, "x4", 300, steps(300, 1)), NOW + 1000).await.unwrap());
    store.expire_due(NOW + 1300).await.unwrap();
    assert!(matches!(store.create_order(order(5, "x5", 300, steps(300, 1)), NOW + 1301).await.unwrap(), CreateOutcome::NoFreeAmount));
    store.expire_due(NOW + 1900).await.unwrap();
    let o6 = created(store.create_order(order(5, "x6", 300, steps(300, 1)), NOW + 1900).await.unwrap());
    assert_eq!(o6.payable_fen, o4.payable_fen);
    // lazy expiry: a claim after expiry is refused even before the timer ran
    let o7 = created(store.create_order(order(5, "x7", 700, steps(700, 1)), NOW + 2000).await.unwrap());
    assert!(matches!(
        store.transition(&o7.id, StateChange::new(Transition::Claim, Actor::Customer), NOW + 2300).await,
        Err(StoreError::Transition(_))
    ));
    assert_eq!(store.order(&o7.id).await.unwrap().unwrap().state_at(NOW + 2300), OrderState::Expired);
    // closing keeps the slot quarantined
    let o8 = created(store.create_order(order(5, "x8", 800, steps(800, 1)), NOW + 3000).await.unwrap());
    store.transition(&o8.id, StateChange::new(Transition::Close, Actor::Operator), NOW + 3001).await.unwrap();
    assert!(matches!(store.create_order(order(5, "x9", 800, steps(800, 1)), NOW + 3002).await.unwrap(), CreateOutcome::NoFreeAmount));
}

pub async fn fixed_amount_codes<S: Store>(store: &S) {
    merchant(store, 6, MerchantSettings::default()).await;
    let fixed = store
        .add_code(
            NewCode {
                merchant_id: mid(6),
                channel: Channel::P901,
                qr_text: "https://qr.alipay.com/fixed999".into(),
                amount: Some(Fen(999)),
                name: "9.99".into(),
                enabled: true,
                origin: "server".into(),
                uid: "f".into(),
            },
            NOW,
        )
        .await
        .unwrap();
    let a = created(store.create_order(order(6, "f1", 1000, steps(1000, 3)), NOW).await.unwrap());
    assert_eq!(a.payable_fen, Fen(1000));
    assert_ne!(a.code_id, fixed.id);
    let b = created(store.create_order(order(6, "f2", 1000, steps(1000, 3)), NOW).await.unwrap());
    assert_eq!((b.payable_fen, b.code_id, b.qr_text.as_str()), (Fen(999), fixed.id, "https://qr.alipay.com/fixed999"));
}

pub async fn collectors<S: Store>(store: &S) {
    merchant(store, 7, MerchantSettings::default()).await;
    store.create_pairing_token("hash1", mid(7), NOW + 600, NOW).await.unwrap();
    let dev = |id: &str| NewDevice { id: id.into(), name: "pc".into(), secret: Secret::new("s3cret") };
    assert!(store.redeem_pairing_token("hash1", dev("d1"), NOW + 700).await.unwrap().is_none(), "expired token");
    store.create_pairing_token("hash2", mid(7), NOW + 600, NOW).await.unwrap();
    let d = store.redeem_pairing_token("hash2", dev("d2"), NOW + 1).await.unwrap().expect("device");
    assert_eq!((d.merchant_id, d.secret.expose()), (mid(7), "s3cret"));
    assert!(store.redeem_pairing_token("hash2", dev("d3"), NOW + 2).await.unwrap().is_none(), "used twice");
    assert!(store.use_nonce("d2", "n1", NOW + 300, NOW).await.unwrap());
    assert!(!store.use_nonce("d2", "n1", NOW + 300, NOW).await.unwrap());
    assert_eq!(store.device("d2").await.unwrap().unwrap().version, "", "no heartbeat yet");
    store.heartbeat("d2", "[1]", "0.1.0", NOW + 5).await.unwrap();
    let d = store.device("d2").await.unwrap().unwrap();
    assert_eq!((d.last_seen, d.sources_json.as_str(), d.version.as_str()), (Some(NOW + 5), "[1]", "0.1.0"));
    // The version of the latest heartbeat wins (a collector upgraded in place).
    store.heartbeat("d2", "[]", "0.2.0-beta.1", NOW + 6).await.unwrap();
    assert_eq!(store.devices(mid(7)).await.unwrap()[0].version, "0.2.0-beta.1");
    store.heartbeat("d2", "[1]", "0.1.0", NOW + 5).await.unwrap();
    assert_eq!(store.devices(mid(7)).await.unwrap().len(), 1);
    let code = |uid: &str| NewCode {
        merchant_id: mid(7),
        channel: Channel::P902,
        qr_text: format!("wxp://{uid}"),
        amount: None,
        name: uid.into(),
        enabled: true,
        origin: "d2".into(),
        uid: uid.into(),
    };
    store.replace_device_codes(mid(7), "d2", vec![code("a"), code("b")], NOW).await.unwrap();
    store.replace_device_codes(mid(7), "d2", vec![code("b")], NOW).await.unwrap();
    let codes = store.codes(mid(7)).await.unwrap();
    assert_eq!(codes.iter().filter(|c| c.origin == "d2").count(), 1);
    let p = UnmatchedPayment {
        merchant_id: mid(7),
        device_id: "d2".into(),
        observation_id: "o1".into(),
        channel: Channel::P901,
        amount: Fen(123),
        observed_at: NOW,
        source: "vmq".into(),
        raw_text: "收款1.23元".into(),
        reported_at: NOW,
    };
    assert!(store.record_unmatched(p.clone()).await.unwrap());
    assert!(!store.record_unmatched(p).await.unwrap());
    assert_eq!(store.unmatched(mid(7)).await.unwrap().len(), 1);
}

pub async fn payer_limit<S: Store>(store: &S) {
    merchant(store, 8, MerchantSettings::default()).await;
    let from = |no: &str, ip: &str, fen: i64| NewOrder { ip: ip.into(), max_open_per_payer: 2, ..order(8, no, fen, steps(fen, 1)) };
    created(store.create_order(from("p1", "203.0.113.1", 100), NOW).await.unwrap());
    let second = created(store.create_order(from("p2", "203.0.113.1", 200), NOW).await.unwrap());
    assert!(matches!(store.create_order(from("p3", "203.0.113.1", 300), NOW).await.unwrap(), CreateOutcome::PayerLimit));
    // another payer, and orders without an ip, are not limited by it
    created(store.create_order(from("p4", "203.0.113.2", 300), NOW).await.unwrap());
    created(store.create_order(from("p5", "", 400), NOW).await.unwrap());
    // the same request again is its order, not a refusal
    assert!(
        matches!(store.create_order(from("p2", "203.0.113.1", 200), NOW + 1).await.unwrap(), CreateOutcome::Existing(o) if o.id == second.id)
    );
    // an expired order no longer counts
    assert!(matches!(store.create_order(from("p6", "203.0.113.1", 600), NOW + 300).await.unwrap(), CreateOutcome::Created(_)));
}

pub async fn retention<S: Store>(store: &S) {
    merchant(store, 9, MerchantSettings::default()).await;
    let old = created(store.create_order(order(9, "r1", 100, steps(100, 1)), NOW).await.unwrap());
    let pay = PaymentRecord { paid_fen: Fen(100), evidence_id: "r-obs".into(), evidence_json: "{}".into() };
    store.transition(&old.id, StateChange::new(Transition::Confirm, Actor::Operator).payment(pay), NOW + 1).await.unwrap();
    let attempt = NotifyAttempt {
        order_id: old.id.clone(),
        at: NOW + 2,
        http_status: Some(200),
        body_excerpt: "success".into(),
        error: String::new(),
        delivered: true,
    };
    store.record_attempt(attempt, NotifyNext::Delivered).await.unwrap();
    let open = created(store.create_order(order(9, "r2", 200, steps(200, 1)), NOW + 2).await.unwrap());
    let later = NOW + 100 * 86_400;
    let purged = store.purge(later - 90 * 86_400, later).await.unwrap();
    // (with run_all, the earlier cases left finished orders too)
    assert!(purged.order_events >= 2 && purged.notify_attempts >= 1, "{purged:?}");
    assert!(store.order_history(&old.id).await.unwrap().is_empty());
    assert!(store.notify_attempts(&old.id).await.unwrap().is_empty());
    assert_eq!(store.order(&old.id).await.unwrap().unwrap().state, OrderState::Confirmed, "orders themselves are kept");
    // an open order's history is not touched, whatever its age
    assert_eq!(store.order_history(&open.id).await.unwrap().len(), 1);
    assert_eq!(store.purge(later - 90 * 86_400, later).await.unwrap(), Purged::default());
}

/// One payment (a collector's evidence id) confirms one order of a merchant.
pub async fn evidence_confirms_one_order<S: Store>(store: &S) {
    merchant(store, 10, MerchantSettings::default()).await;
    let a = created(store.create_order(order(10, "e1", 100, steps(100, 1)), NOW).await.unwrap());
    let b = created(store.create_order(order(10, "e2", 200, steps(200, 1)), NOW).await.unwrap());
    let pay = |fen| PaymentRecord { paid_fen: Fen(fen), evidence_id: "obs-same".into(), evidence_json: "{}".into() };
    let confirm = |fen| StateChange::new(Transition::Confirm, device()).payment(pay(fen));
    assert!(matches!(store.transition(&a.id, confirm(100), NOW + 1).await.unwrap(), TransitionOutcome::Applied(_)));
    match store.transition(&b.id, confirm(200), NOW + 2).await {
        Err(StoreError::EvidenceUsed(id)) => assert_eq!(id, "obs-same"),
        other => panic!("expected EvidenceUsed, got {other:?}"),
    }
    // nothing of the refused confirmation stayed
    let b_now = store.order(&b.id).await.unwrap().unwrap();
    assert_eq!((b_now.state, b_now.evidence_id, b_now.paid_at), (OrderState::CodeIssued, None, None));
    assert!(store.notification(&b.id).await.unwrap().is_none());
    assert_eq!(store.order_history(&b.id).await.unwrap().len(), 1);
    // the same confirmation of the first order is still idempotent
    assert!(matches!(store.transition(&a.id, confirm(100), NOW + 3).await.unwrap(), TransitionOutcome::AlreadyApplied(_)));
    // another merchant's evidence ids are its own
    merchant(store, 14, MerchantSettings::default()).await;
    let other = created(store.create_order(order(14, "e3", 300, steps(300, 1)), NOW).await.unwrap());
    assert!(matches!(store.transition(&other.id, confirm(300), NOW + 4).await.unwrap(), TransitionOutcome::Applied(_)));
}

/// Orders that name no payer (`ip` empty) hold at most half of a price's
/// payable amounts, per merchant, channel and price; orders naming a payer
/// find the rest.
pub async fn payerless_orders_hold_half_a_prices_amounts<S: Store>(store: &S) {
    merchant(store, 11, MerchantSettings::default()).await;
    let anonymous = |no: &str, fen: i64, n: i64| NewOrder {
        ip: String::new(),
        payerless_cap: payerless_cap(steps(fen, n).len()),
        dialect: Dialect::Epusdt,
        ..order(11, no, fen, steps(fen, n))
    };
    assert_eq!(payerless_cap(6), 3);
    assert_eq!((payerless_cap(1), payerless_cap(2), payerless_cap(21)), (1, 1, 10));
    for i in 0..3 {
        created(store.create_order(anonymous(&format!("a{i}"), 1000, 6), NOW).await.unwrap());
    }
    assert!(matches!(store.create_order(anonymous("a3", 1000, 6), NOW).await.unwrap(), CreateOutcome::PayerlessLimit));
    // The same request again is still its order.
    assert!(matches!(store.create_order(anonymous("a0", 1000, 6), NOW).await.unwrap(), CreateOutcome::Existing(_)));
    // Payers find the other half.
    let payer = |no: &str, ip: &str| NewOrder { ip: ip.into(), max_open_per_payer: 3, ..order(11, no, 1000, steps(1000, 6)) };
    for i in 0..3 {
        created(store.create_order(payer(&format!("p{i}"), &format!("203.0.113.{i}")), NOW).await.unwrap());
    }
    assert!(matches!(store.create_order(payer("p3", "203.0.113.9"), NOW).await.unwrap(), CreateOutcome::NoFreeAmount));
    // Another price has its own half; without a cap (the native API) nothing is counted.
    created(store.create_order(anonymous("b0", 2000, 6), NOW).await.unwrap());
    created(store.create_order(NewOrder { payerless_cap: 0, ..anonymous("b1", 1000, 7) }, NOW).await.unwrap());
    // An expired order still holds its amount through quarantine, and still counts.
    assert!(matches!(store.create_order(anonymous("a4", 1000, 6), NOW + 301).await.unwrap(), CreateOutcome::PayerlessLimit));
    // Once its quarantine is over, it no longer does.
    store.expire_due(NOW + 300 + 600).await.unwrap();
    created(store.create_order(anonymous("a5", 1000, 6), NOW + 901).await.unwrap());
}

pub async fn merchant_settings_change<S: Store>(store: &S) {
    let m = merchant(store, 12, MerchantSettings::default()).await;
    assert_eq!((m.settings.vmq_server_only, m.settings.gmpay_md5, m.settings.callback_hosts.len()), (false, false, 0));
    let changed = MerchantSettings {
        vmq_server_only: true,
        gmpay_md5: true,
        callback_hosts: vec!["shop.example.com".into(), "pay.example.net".into()],
        max_open_per_payer: 5,
        ..MerchantSettings::default()
    };
    let m = store.set_merchant_settings(mid(12), changed.clone()).await.unwrap();
    assert_eq!(m.settings, changed);
    assert_eq!(store.merchant(mid(12)).await.unwrap().unwrap().settings, changed);
    assert_eq!(m.key.expose(), "key12", "the key is not a setting");
    assert!(matches!(store.set_merchant_settings(mid(999), changed).await, Err(StoreError::NotFound)));
    // Created with them, too.
    let new = MerchantSettings { callback_hosts: vec!["a.example".into()], vmq_server_only: true, ..MerchantSettings::default() };
    let m = store
        .create_merchant(NewMerchant { id: mid(13), name: "s".into(), key: Secret::new("key13"), settings: new.clone() }, NOW)
        .await
        .unwrap();
    assert_eq!(m.settings, new);
}
