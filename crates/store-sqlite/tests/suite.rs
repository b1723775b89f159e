use jiufu_store::Store;
use jiufu_store_sqlite::SqliteStore;

/// A fresh store in a temporary directory (kept as long as the store).
async fn open() -> Option<(SqliteStore, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("gateway.db")).unwrap();
    Some((store, dir))
}

jiufu_store::store_suite!(open);

#[tokio::test]
async fn reopening_keeps_data_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    let merchants = {
        let store = SqliteStore::open(&path).unwrap();
        jiufu_store::testsuite::run_all(&store).await;
        store.merchants().await.unwrap().len()
    };
    assert!(merchants >= 15, "every case made its merchants: {merchants}");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.merchants().await.unwrap().len(), merchants);
}
