//! A fresh PostgreSQL database per test, on the server
//! `JIUFU_TEST_POSTGRES_URL` names (`cargo xtask test` sets it).

use tokio_postgres::NoTls;

pub fn server_url() -> String {
    std::env::var("JIUFU_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
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
