//! A PostgreSQL server for the tests: the one `JIUFU_TEST_POSTGRES_URL`
//! names; else the local server when it answers; else (as root on Debian)
//! PostgreSQL installed, its cluster started and a test role created.

use anyhow::{Context, bail};
use std::process::Command;

/// The local server as Debian's CI images run it (trust on loopback).
const LOCAL_TRUST: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The role this command creates on a server it installed itself.
const TEST_ROLE: &str = "postgres://jiufu_test:jiufu_test@127.0.0.1:5432/postgres";

fn answers(url: &str) -> bool {
    Command::new("psql")
        .args([url, "-qtAc", "SELECT 1"])
        .env("PGCONNECT_TIMEOUT", "3")
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "1")
        .unwrap_or(false)
}

/// The server URL the tests create their databases on, cleared of the
/// databases earlier runs left (`jiufu_t_…`).
pub fn ensure_test_server() -> anyhow::Result<String> {
    let url = server()?;
    // The tests skip PostgreSQL without a server; here it must be there.
    if !answers(&url) {
        bail!("PostgreSQL does not answer at the test server (JIUFU_TEST_POSTGRES_URL or the local one); the tests need it");
    }
    let listed = Command::new("psql")
        .args([url.as_str(), "-qtAc", "SELECT datname FROM pg_database WHERE datname LIKE 'jiufu\\_t\\_%'"])
        .output()
        .context("psql")?;
    for name in String::from_utf8_lossy(&listed.stdout).lines().map(str::trim).filter(|n| !n.is_empty()) {
        let _ = Command::new("psql").args([url.as_str(), "-qc", &format!("DROP DATABASE IF EXISTS \"{name}\"")]).output();
    }
    Ok(url)
}

fn server() -> anyhow::Result<String> {
    if let Some(url) = std::env::var("JIUFU_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty()) {
        if !crate::setup::have("psql") {
            crate::setup::apt_install(&["postgresql-client"])?;
        }
        return Ok(url);
    }
    if crate::setup::have("psql") {
        for url in [LOCAL_TRUST, TEST_ROLE] {
            if answers(url) {
                return Ok(url.to_owned());
            }
        }
    }
    if !crate::setup::have("pg_ctlcluster") {
        crate::setup::apt_install(&["postgresql"])?;
    }
    start_cluster()?;
    let create_role = "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jiufu_test') THEN \
                       CREATE ROLE jiufu_test LOGIN SUPERUSER PASSWORD 'jiufu_test'; END IF; END $$;";
    crate::status(Command::new("runuser").args(["-u", "postgres", "--", "psql", "-qc", create_role]))?;
    for _ in 0..30 {
        if answers(TEST_ROLE) {
            return Ok(TEST_ROLE.to_owned());
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    bail!("PostgreSQL was installed and started but does not answer at {TEST_ROLE}; set JIUFU_TEST_POSTGRES_URL")
}

/// Starts Debian's newest cluster (creating one if there is none).
fn start_cluster() -> anyhow::Result<()> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").context("PostgreSQL is not installed under /usr/lib/postgresql")?;
    let version = versions
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .max()
        .context("no PostgreSQL version under /usr/lib/postgresql")?
        .to_string();
    if !std::path::Path::new(&format!("/etc/postgresql/{version}/main")).exists() {
        crate::status(Command::new("pg_createcluster").args([&version, "main"]))?;
    }
    // Already running is fine: pg_ctlcluster then exits 2.
    let st = Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", &version, "main", "start"]).status()?;
    if !st.success() && st.code() != Some(2) {
        bail!("pg_ctlcluster {version} main start failed ({st})");
    }
    Ok(())
}
