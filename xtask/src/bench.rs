//! `cargo xtask bench`: the release gateway on SQLite with durable commits
//! (WAL, synchronous=FULL), driven over loopback by a separate load
//! generator process (`xtask loadgen`, also built in release).

use crate::{cargo, setup, status, workspace_root};
use anyhow::{Context, anyhow};
use jiufu_protocol::sign;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const KEY: &str = "bench-key-0123456789";
const CONNS: usize = 64;

/// `JIUFU_BENCH_BINS=DIR` benches the `jiufu-gateway` and `jiufu-collector`
/// in DIR instead of building this tree's (to compare two builds with one
/// driver, alternating runs); the load generator is always this tree's.
pub fn bench() -> anyhow::Result<()> {
    setup::ensure_build_tools()?;
    let mut build = vec!["build", "--release", "--bin", "xtask"];
    let bins = std::env::var_os("JIUFU_BENCH_BINS").map(std::path::PathBuf::from);
    if bins.is_none() {
        build.extend(["--bin", "jiufu-gateway", "--bin", "jiufu-collector"]);
    }
    status(cargo().current_dir(workspace_root()).args(build))?;
    let release = setup::target_dir().join("release");
    let loadgen = release.join("xtask");
    let release = bins.unwrap_or(release);
    println!("benching the binaries in {}", release.display());
    let gateway = release.join("jiufu-gateway");
    let tmp = tempfile::tempdir()?;
    let db = format!("sqlite://{}", tmp.path().join("bench.db").display());
    let cli = |args: &[&str]| -> anyhow::Result<()> {
        status(Command::new(&gateway).args(args).env("JIUFU_DATABASE_URL", &db).env("JIUFU_LOG", "warn").stdout(Stdio::null()))
    };
    cli(&["merchant", "add", "--id", "10001", "--name", "bench", "--key", KEY])?;
    cli(&["code", "add", "--merchant", "10001", "--channel", "P901", "--qr", "https://qr.alipay.com/bench"])?;

    let mut server = Command::new(&gateway)
        .arg("serve")
        .env("JIUFU_DATABASE_URL", &db)
        .env("JIUFU_BIND", "127.0.0.1:0")
        // the collector phase's merchant sink is on loopback
        .env("JIUFU_ALLOW_PRIVATE_NOTIFY", "true")
        .env("JIUFU_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let result = drive(&mut server, &loadgen).and_then(|(url, figures)| {
        crate::bench_collector::run(crate::bench_collector::Setup {
            gateway_url: &url,
            gateway_bin: &gateway,
            gateway_db: &db,
            collector_bin: &release.join("jiufu-collector"),
            merchant_key: KEY,
        })?;
        Ok(figures)
    });
    let _ = server.kill();
    let _ = server.wait();
    let sqlite = result?;
    crate::bench_postgres::run(&gateway, &loadgen, &sqlite)
}

/// The SQLite figures the PostgreSQL phase prints beside its own.
pub struct Figures {
    pub baseline: Value,
    pub create: Value,
}

/// Runs the gateway phases; returns the gateway's URL for the collector phases.
fn drive(server: &mut Child, loadgen: &std::path::Path) -> anyhow::Result<(String, Figures)> {
    let stdout = server.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().ok_or_else(|| anyhow!("gateway exited"))??;
        if let Some(u) = line.strip_prefix("jiufu-gateway listening on ") {
            break u.trim().to_owned();
        }
    };
    std::thread::sleep(Duration::from_secs(2));
    let idle_rss = rss_kib(server.id())?;
    let run = |mode: &str, secs: u64| -> anyhow::Result<Value> {
        let out = Command::new(loadgen)
            .args(["loadgen", mode, &url, &secs.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .context("run the load generator")?;
        serde_json::from_slice(&out.stdout).with_context(|| format!("loadgen output: {}", String::from_utf8_lossy(&out.stdout)))
    };
    println!("jiufu-gateway bench — SQLite WAL synchronous=FULL, {CONNS} connections, separate load process, {} cores", num_cpus());
    println!("idle RSS: {:.1} MB (target ≤ 30 MB)", idle_rss as f64 / 1024.0);
    let base = run("baseline", 5)?;
    report("baseline GET /health (trivial handler)", &base, None);
    let create = run("create", 10)?;
    report("signed order creations (durable)", &create, Some((10_000.0, 25.0)));
    let checkout = run("checkout", 5)?;
    report("checkout page GET /transfer/{id}", &checkout, Some((20_000.0, f64::MAX)));
    let rss = rss_kib(server.id())?;
    let ratio = |v: &Value| v["rps"].as_f64().unwrap_or(0.0) / base["rps"].as_f64().unwrap_or(1.0).max(1.0);
    println!("ratio to the trivial-handler ceiling: create {:.2}, checkout {:.2}", ratio(&create), ratio(&checkout));
    println!("RSS after load: {:.1} MB", rss as f64 / 1024.0);
    Ok((url, Figures { baseline: base, create }))
}

pub fn report(name: &str, v: &Value, target: Option<(f64, f64)>) {
    let rps = v["rps"].as_f64().unwrap_or(0.0);
    let p50 = v["p50_ms"].as_f64().unwrap_or(0.0);
    let p99 = v["p99_ms"].as_f64().unwrap_or(0.0);
    let verdict = match target {
        Some((t_rps, t_p99)) if rps >= t_rps && p99 <= t_p99 => " [target met]",
        Some(_) => " [target missed]",
        None => "",
    };
    println!("{name}: {rps:.0} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms, {} ok, {} errors{verdict}", v["ok"], v["errors"]);
}

pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS"))
}

pub fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// `xtask loadgen MODE URL SECS`: prints one JSON line of results.
pub fn loadgen(args: &[String]) -> anyhow::Result<()> {
    let [mode, url, secs] = args else {
        return Err(anyhow!("loadgen MODE URL SECS"));
    };
    let secs: u64 = secs.parse()?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let result = rt.block_on(load(mode.clone(), url.clone(), Duration::from_secs(secs)))?;
    println!("{result}");
    Ok(())
}

async fn load(mode: String, url: String, duration: Duration) -> anyhow::Result<Value> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONNS).no_proxy().build()?;
    // checkout needs orders to look at
    let ids: Arc<Vec<String>> = Arc::new(if mode == "checkout" { seed_orders(&client, &url, 200).await? } else { Vec::new() });
    let counter = Arc::new(AtomicU64::new(0));
    let run_id = std::process::id();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNS {
        let (client, url, mode, ids, counter) = (client.clone(), url.clone(), mode.clone(), ids.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            while start.elapsed() < duration {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let ok = match mode.as_str() {
                    // Several gateways (comma-separated): requests alternate between them.
                    "create" => {
                        create_one(&client, url.split(',').nth(i as usize % url.split(',').count()).unwrap_or(&url), run_id, i).await
                    }
                    "checkout" => get_ok(&client, &format!("{url}/transfer/{}", ids[(i as usize) % ids.len()])).await,
                    _ => get_ok(&client, &format!("{url}/health")).await,
                };
                if ok {
                    lat.push(t.elapsed().as_micros() as u32);
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0) as f64 / 1000.0;
    Ok(
        json!({"mode": mode, "ok": all.len(), "errors": errors, "rps": all.len() as f64 / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99)}),
    )
}

/// Order `i` of a run; `fen_base + i` gives every order its own amount, so
/// the bench measures creation rather than the 100-slot cap per amount.
fn create_form(run_id: u32, i: u64, fen_base: u64) -> Vec<(&'static str, String)> {
    let order_no = format!("b{run_id}-{i}");
    let fen = fen_base + (i % 4_000_000);
    let amount = format!("{}.{:02}", fen / 100, fen % 100);
    let s = sign::create_order_sign("10001", &order_no, "P901", &amount, "", KEY);
    vec![
        ("userid", "10001".into()),
        ("subject", "bench".into()),
        ("order_no", order_no),
        ("order_type", "P901".into()),
        ("amount", amount),
        ("notify_url", "https://shop.example.com/n".into()),
        ("sign", s),
    ]
}

async fn create_one(client: &reqwest::Client, url: &str, run_id: u32, i: u64) -> bool {
    match client.post(format!("{url}/gateway")).form(&create_form(run_id, i, 100)).send().await {
        Ok(r) => r.json::<Value>().await.map(|v| v["success"] == true).unwrap_or(false),
        Err(_) => false,
    }
}

async fn get_ok(client: &reqwest::Client, url: &str) -> bool {
    match client.get(url).send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

pub async fn seed_orders(client: &reqwest::Client, url: &str, n: u64) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for i in 0..n {
        let v: Value =
            client.post(format!("{url}/gateway")).form(&create_form(std::process::id(), i, 4_500_000)).send().await?.json().await?;
        ids.push(v["order_id"].as_str().ok_or_else(|| anyhow!("seed failed: {v}"))?.to_owned());
    }
    Ok(ids)
}
