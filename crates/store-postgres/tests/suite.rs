//! The shared store suite against a real PostgreSQL, one test per case,
//! each on a fresh database (named jiufu_t_…, which `cargo xtask test`
//! drops before a run) on the server `JIUFU_TEST_POSTGRES_URL` names;
//! skipped without it.

use jiufu_store::Store;
use jiufu_store_postgres::PgStore;

mod common;
use common::fresh_database;

async fn open() -> Option<(PgStore, ())> {
    let url = fresh_database().await?;
    Some((PgStore::connect(&url).await.expect("connect and migrate"), ()))
}

jiufu_store::store_suite!(open);

#[tokio::test(flavor = "multi_thread")]
async fn migrating_again_is_a_no_op_and_another_connection_sees_the_data() {
    let Some(url) = fresh_database().await else { return };
    let store = PgStore::connect(&url).await.expect("connect and migrate");
    jiufu_store::testsuite::merchants(&store).await;
    let again = PgStore::connect(&url).await.expect("reconnect");
    assert_eq!(again.merchants().await.unwrap().len(), 1);
}
