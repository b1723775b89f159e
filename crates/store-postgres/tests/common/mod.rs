//! A fresh database per test on the server `JIUFU_TEST_POSTGRES_URL` names
//! (default: the local one, as `cargo xtask test` prepares it), named
//! jiufu_t_…, which `cargo xtask test` drops before a run.

use tokio_postgres::NoTls;

pub fn server_url() -> String {
    std::env::var("JIUFU_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, empty database on the test server; its URL.
pub async fn fresh_database() -> String {
    let url = server_url();
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
    tokio::spawn(conn);
    let name = format!(
        "jiufu_t_suite_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    let base = url.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(url);
    format!("{base}/{name}")
}
