use jiufu_store_sqlite::SqliteStore;

#[tokio::test]
async fn shared_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("gateway.db")).unwrap();
    jiufu_store::testsuite::run_all(&store).await;
}

#[tokio::test]
async fn reopening_keeps_data_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        jiufu_store::testsuite::run_all(&store).await;
    }
    let store = SqliteStore::open(&path).unwrap();
    use jiufu_store::Store;
    assert_eq!(store.merchants().await.unwrap().len(), 13);
}
