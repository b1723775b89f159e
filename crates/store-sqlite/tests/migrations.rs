//! Upgrading a database written by an older version.

use jiufu_protocol::{Fen, OrderId, Transition};
use jiufu_store::{PaymentRecord, StateChange, Store, StoreError};
use jiufu_store_sqlite::SqliteStore;
use rusqlite::{Connection, params};

/// A schema-1 database in which two orders of merchant 1 were confirmed by
/// the same evidence id (possible before migration 2), and merchant 2 used
/// that id too.
fn schema_1_with_reused_evidence(path: &std::path::Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(include_str!("../migrations/0001_initial.sql")).unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 0);",
    )
    .unwrap();
    for m in [1, 2] {
        conn.execute(
            "INSERT INTO merchants (id, name, key, min_fen, max_fen, step_down, step_count, order_ttl_secs, quarantine_secs, \
             require_collector, created_at) VALUES (?1, 'shop', 'key', 1, 100000, 1, 10, 300, 600, 0, 0)",
            [m],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO codes (id, merchant_id, channel, qr_text, name, enabled, origin, uid, created_at) \
             VALUES (?1, ?1, 'P901', 'https://qr.alipay.com/x', '', 1, 'server', ?1, 0)",
            [m],
        )
        .unwrap();
    }
    let order = |id: &str, merchant: i64, state: i32, evidence: Option<&str>, paid_at: Option<i64>| {
        conn.execute(
            "INSERT INTO orders (id, merchant_id, order_no, subject, channel, state, order_fen, payable_fen, slot_held, code_id, \
             qr_text, notify_url, return_url, ip, order_time, created_at, expire_at, quarantine_until, paid_at, paid_fen, evidence_id) \
             VALUES (?1, ?2, ?1, '', 'P901', ?3, 100, 100, 0, ?2, 'x', 'https://shop.example/n', '', '', '', 0, 300, 900, ?4, 100, ?5)",
            params![id, merchant, state, paid_at, evidence],
        )
        .unwrap();
    };
    order("first-confirmed-aaaaaa", 1, 9, Some("obs-dup"), Some(200));
    order("second-confirmed-aaaaa", 1, 9, Some("obs-dup"), Some(300));
    order("other-merchant-aaaaaaa", 2, 9, Some("obs-dup"), Some(400));
    order("open-order-aaaaaaaaaaa", 1, 5, None, None);
}

fn id(text: &str) -> OrderId {
    OrderId::parse(text).expect("22 characters")
}

#[tokio::test]
async fn migration_2_keeps_the_first_use_of_an_evidence_id_and_enforces_one_order_per_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    schema_1_with_reused_evidence(&path);
    let store = SqliteStore::open(&path).unwrap();

    let evidence = |o: Option<jiufu_store::Order>| o.unwrap().evidence_id.unwrap();
    assert_eq!(evidence(store.order(&id("first-confirmed-aaaaaa")).await.unwrap()), "obs-dup");
    assert_eq!(evidence(store.order(&id("other-merchant-aaaaaaa")).await.unwrap()), "obs-dup");
    assert_eq!(evidence(store.order(&id("second-confirmed-aaaaa")).await.unwrap()), "obs-dup #reused-before-0002:second-confirmed-aaaaa");

    let pay = PaymentRecord { paid_fen: Fen(100), evidence_id: "obs-dup".into(), evidence_json: "{}".into() };
    let change = StateChange::new(Transition::Confirm, jiufu_protocol::Actor::Device("x".into())).payment(pay);
    assert!(matches!(store.transition(&id("open-order-aaaaaaaaaaa"), change, 100).await, Err(StoreError::EvidenceUsed(_))));
    assert_eq!(store.order(&id("open-order-aaaaaaaaaaa")).await.unwrap().unwrap().state.code(), 5);
    drop(store);
    // opening again runs no migration twice
    let version: i64 = Connection::open(&path).unwrap().query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0)).unwrap();
    assert!(version >= 2, "{version}");
    SqliteStore::open(&path).unwrap();
}

#[tokio::test]
async fn a_database_that_got_migration_3_before_2_still_gets_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    schema_1_with_reused_evidence(&path);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../migrations/0003_no_discounts.sql")).unwrap();
        conn.execute("INSERT INTO schema_migrations VALUES (3, 0)", []).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let pay = PaymentRecord { paid_fen: Fen(100), evidence_id: "obs-dup".into(), evidence_json: "{}".into() };
    let change = StateChange::new(Transition::Confirm, jiufu_protocol::Actor::Device("x".into())).payment(pay);
    assert!(matches!(store.transition(&id("open-order-aaaaaaaaaaa"), change, 100).await, Err(StoreError::EvidenceUsed(_))));
    drop(store);
    let versions: Vec<i64> = Connection::open(&path)
        .unwrap()
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(&versions[..3], &[1, 2, 3]);
}
