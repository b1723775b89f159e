//! A fresh database per test on the server `JIUFU_TEST_POSTGRES_URL`
//! names, named jiufu_t_…, which `cargo xtask test` drops before a run.
//! Without the variable there is no server to test against (never whatever
//! happens to answer on the default port): each test says so and skips.

#![allow(dead_code)] // each test file uses its own part

use tokio_postgres::NoTls;

const VAR: &str = "JIUFU_TEST_POSTGRES_URL";

/// The test server's URL, or `None` (with the reason printed) when
/// `JIUFU_TEST_POSTGRES_URL` names none.
pub fn server_url() -> Option<String> {
    match std::env::var(VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            // Straight to the process's stderr: libtest captures `eprintln!`
            // of a passing test, and the skip must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: {VAR} names no PostgreSQL database to test against (`cargo xtask test` sets it up)"
            );
            None
        }
    }
}

/// A new, empty database on the test server; its URL, or `None` when
/// there is no test server (the reason printed).
pub async fn fresh_database() -> Option<String> {
    let url = server_url()?;
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
    tokio::spawn(conn);
    let name = format!(
        "jiufu_t_suite_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    let base = url.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(url);
    Some(format!("{base}/{name}"))
}
