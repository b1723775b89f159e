//! The PostgreSQL phase of `cargo xtask bench`: the same release gateway
//! and load generator as the SQLite figure, on a fresh database of the
//! local PostgreSQL (which shares the machine's cores), with one instance
//! and with two behind the load generator's alternation.

use crate::bench::{Figures, KEY, report};
use crate::status;
use anyhow::{Context, anyhow};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// ≥ 4,000 durable creations/s with p99 ≤ 50 ms on one instance.
const TARGET: (f64, f64) = (4_000.0, 50.0);

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(gateway: &Path, db: &str) -> anyhow::Result<(Server, String)> {
    let mut child = Command::new(gateway)
        .arg("serve")
        .env("JIUFU_DATABASE_URL", db)
        .env("JIUFU_BIND", "127.0.0.1:0")
        .env("JIUFU_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().ok_or_else(|| anyhow!("gateway exited"))??;
        if let Some(u) = line.strip_prefix("jiufu-gateway listening on ") {
            break u.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok((server, url))
}

/// A fresh database with the bench merchant; its URL and name.
fn fresh(server: &str, gateway: &Path, tag: &str) -> anyhow::Result<(String, String)> {
    let name = format!("jiufu_t_bench_{tag}_{}", std::process::id());
    status(Command::new("psql").args([server, "-qc", &format!("CREATE DATABASE {name}")]))?;
    let db = format!("{}/{name}", server.rsplit_once('/').map(|(b, _)| b).unwrap_or(server));
    let cli = |args: &[&str]| -> anyhow::Result<()> {
        status(
            Command::new(gateway)
                .args(args)
                .env("JIUFU_DATABASE_URL", &db)
                .env("JIUFU_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
    };
    cli(&["merchant", "add", "--id", "10001", "--name", "bench", "--key", KEY])?;
    cli(&["code", "add", "--merchant", "10001", "--channel", "P901", "--qr", "https://qr.alipay.com/bench"])?;
    Ok((db, name))
}

pub fn run(gateway: &Path, loadgen: &Path, sqlite: &Figures) -> anyhow::Result<()> {
    let server = crate::postgres::ensure_test_server()?;
    let load = |urls: &str| -> anyhow::Result<Value> {
        let out =
            Command::new(loadgen).args(["loadgen", "create", urls, "10"]).stderr(Stdio::inherit()).output().context("load generator")?;
        serde_json::from_slice(&out.stdout).with_context(|| format!("loadgen output: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let show = |setting: &str| {
        Command::new("psql")
            .args([server.as_str(), "-qtAc", &format!("SHOW {setting}")])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    println!(
        "\njiufu-gateway on PostgreSQL {} (same machine, {} cores shared; server ssl = {}: the default sslmode=prefer encrypts when on), same load generator",
        show("server_version"),
        crate::bench::num_cpus(),
        show("ssl")
    );
    // Each run on its own database, so both start from the same empty state.
    let (db1, name1) = fresh(&server, gateway, "one")?;
    let (a, a_url) = start(gateway, &db1)?;
    std::thread::sleep(Duration::from_secs(1));
    let one = load(&a_url)?;
    drop(a);
    // The same without TLS, for what encryption costs (the default,
    // sslmode=prefer, encrypts whenever the server offers TLS).
    let (db3, name3) = fresh(&server, gateway, "plain")?;
    let (p, p_url) = start(gateway, &format!("{db3}?sslmode=disable"))?;
    std::thread::sleep(Duration::from_secs(1));
    let plain = load(&p_url)?;
    drop(p);
    let (db2, name2) = fresh(&server, gateway, "two")?;
    let (b, b_url) = start(gateway, &db2)?;
    let (c, c_url) = start(gateway, &db2)?;
    std::thread::sleep(Duration::from_secs(1));
    let two = load(&format!("{b_url},{c_url}"))?;
    drop((b, c));
    report("baseline GET /health (trivial handler, SQLite phase)", &sqlite.baseline, None);
    report("signed order creations, SQLite (durable)", &sqlite.create, None);
    report("signed order creations, PostgreSQL, 1 instance", &one, Some(TARGET));
    report("signed order creations, PostgreSQL, 1 instance, sslmode=disable", &plain, None);
    report("signed order creations, PostgreSQL, 2 instances", &two, None);
    for name in [name1, name2, name3] {
        let _ = Command::new("psql").args([server.as_str(), "-qc", &format!("DROP DATABASE IF EXISTS {name}")]).output();
    }
    Ok(())
}
