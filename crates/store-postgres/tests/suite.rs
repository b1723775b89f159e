//! The shared store suite against a real PostgreSQL: a fresh database per
//! run (named jiufu_t_…, which `cargo xtask test` drops before a run), on
//! the server `JIUFU_TEST_POSTGRES_URL` names (default: the local
//! one, as `cargo xtask test` prepares it).

use jiufu_store_postgres::PgStore;

mod common;
use common::fresh_database;

#[tokio::test(flavor = "multi_thread")]
async fn the_shared_suite_passes_on_postgresql() {
    let url = fresh_database().await;
    let store = PgStore::connect(&url).await.expect("connect and migrate");
    jiufu_store::testsuite::run_all(&store).await;
    // Migrating again is a no-op, and a second connection sees the same data.
    let again = PgStore::connect(&url).await.expect("reconnect");
    assert!(!jiufu_store::Store::merchants(&again).await.unwrap().is_empty());
}
