//! A rolling upgrade: while instances of the previous releases still run
//! beside this one, the order functions they call (the 20- and 21-parameter
//! `jiufu_create_order` of migrations 1 and 2) still create orders on a
//! database this release migrated; and this release's creation, which
//! passes the open states, keeps the payer cap over their orders.

mod common;

use jiufu_protocol::{Channel, Dialect, Fen, MerchantId, OrderId, OrderNo, Secret};
use jiufu_store::{CreateOutcome, MerchantSettings, NewCode, NewMerchant, NewOrder, Store};
use jiufu_store_postgres::PgStore;
use tokio_postgres::NoTls;

const NOW: i64 = 1_700_000_000;
const PAYER: &str = "203.0.113.7";

fn merchant() -> MerchantId {
    MerchantId::new(1).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_previous_releases_order_functions_still_create_orders() {
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

    let (old, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);
    // As the previous releases call them: 20 parameters (migration 1) and 21 (migration 2).
    let base = "$1::TEXT, 1, $2::TEXT, '', 'P901', 5, $3::BIGINT, ARRAY[$3::BIGINT], 'https://shop.example/n', '', $4::TEXT, '', \
                $5::BIGINT, 300, 600, 2, 'epay', '{}', 'merchant', 'created; code assigned and issued'";
    for (no, fen, extra) in [("old-20", 100_i64, ""), ("old-21", 200, ", 0")] {
        let id = OrderId::generate();
        let sql = format!("SELECT outcome FROM jiufu_create_order({base}{extra})");
        let row = old.query_one(&sql, &[&id.as_str(), &no, &fen, &PAYER, &NOW]).await.unwrap_or_else(|e| panic!("{no}: {e}"));
        assert_eq!(row.get::<_, &str>(0), "created", "{no}");
        let stored = store.order(&id).await.unwrap().expect("the old function's order");
        assert_eq!((stored.payable_fen, stored.ip.as_str()), (Fen(fen), PAYER));
        assert_eq!(store.order_history(&id).await.unwrap().len(), 1, "{no}: with its creation event");
    }

    // This release counts the old instances' open orders for the payer cap.
    let new = |no: &str| NewOrder {
        id: OrderId::generate(),
        merchant_id: merchant(),
        order_no: OrderNo::parse(no).unwrap(),
        subject: String::new(),
        channel: Channel::P901,
        order_fen: Fen(300),
        candidates: vec![Fen(300)],
        notify_url: "https://shop.example/n".into(),
        return_url: String::new(),
        ip: PAYER.into(),
        order_time: String::new(),
        ttl_secs: 300,
        quarantine_secs: 600,
        max_open_per_payer: 2,
        payerless_cap: 0,
        dialect: Dialect::Epay,
        shop_data: "{}".into(),
    };
    assert!(matches!(store.create_order(new("new-1"), NOW).await.unwrap(), CreateOutcome::PayerLimit));
    assert!(matches!(store.create_order(new("new-2"), NOW + 300).await.unwrap(), CreateOutcome::Created(_)), "expired ones do not count");
}
