//! A fresh PostgreSQL database per test, on the server
//! `JIUFU_TEST_POSTGRES_URL` names (`cargo xtask test` sets it). Without
//! it the PostgreSQL tests skip (saying so): they never run against
//! whatever server happens to answer.

use tokio_postgres::NoTls;

/// The variable that names the server the PostgreSQL tests may use.
pub const SERVER_VAR: &str = "JIUFU_TEST_POSTGRES_URL";

/// The server `JIUFU_TEST_POSTGRES_URL` names, if it names one.
pub fn configured() -> Option<String> {
    std::env::var(SERVER_VAR).ok().filter(|u| !u.trim().is_empty())
}

/// Whether a PostgreSQL test may run; when not, says why on the test
/// run's stderr (past the test harness's capture) so the skip is seen.
/// Use [`skip_without_postgres!`](crate::skip_without_postgres) at the top of a test.
pub fn available(test: &str) -> bool {
    if configured().is_some() {
        return true;
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "skipped {test}: {SERVER_VAR} is not set (it names the PostgreSQL server to test on; `cargo xtask test` sets one up)"
    );
    false
}

pub fn server_url() -> String {
    configured().unwrap_or_else(|| panic!("{SERVER_VAR} is not set: start the test with skip_without_postgres!()"))
}

/// Creates an empty database and returns its URL.
pub async fn fresh_database(prefix: &str) -> String {
    let url = server_url();
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
    tokio::spawn(conn);
    // `cargo xtask test` drops every jiufu_t_ database before a run.
    let name = format!("jiufu_t_{prefix}_{}", crate::unique("db").to_ascii_lowercase());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    let base = url.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(url);
    format!("{base}/{name}")
}

/// Two gateway instances on one fresh database, the notification lease
/// `lease` seconds: A (which seeded the merchant) and B.
pub async fn two_instances(lease: &str) -> (crate::Gateway, crate::Gateway) {
    let db = fresh_database("inst").await;
    let env = [("JIUFU_DATABASE_URL", db.as_str()), ("JIUFU_NOTIFY_LEASE_SECS", lease)];
    let a = crate::Gateway::start_with(&env);
    let b = crate::Gateway::join(&env);
    (a, b)
}
