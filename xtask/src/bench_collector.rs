//! The collector half of `cargo xtask bench`: a release `jiufu-collector`
//! paired with the benchmark gateway, a merchant sink, and a "phone" that
//! pushes V免签 payments over loopback.
//!
//! - push → merchant notified: one push per open order (distinct orders),
//!   latency from the push to the gateway's notification reaching the sink;
//! - sustained observations/s: pushes with no order behind them, then a
//!   count of what the collector stored (nothing may be lost).

use anyhow::{Context, anyhow, bail};
use axum::extract::{Query, State};
use jiufu_protocol::sign;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PUSH_KEY: &str = "bench-push-key-0123456";
const ORDERS: usize = 1000;

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

pub struct Setup<'a> {
    pub gateway_url: &'a str,
    pub gateway_bin: &'a Path,
    pub gateway_db: &'a str,
    pub collector_bin: &'a Path,
    pub merchant_key: &'a str,
}

pub fn run(s: Setup<'_>) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let env = [
        ("JIUFU_COLLECTOR_DB", tmp.path().join("collector.db").display().to_string()),
        ("JIUFU_COLLECTOR_KEY", PUSH_KEY.to_owned()),
        ("JIUFU_COLLECTOR_DBUS", "false".to_owned()),
        ("JIUFU_COLLECTOR_LISTEN", "127.0.0.1:0".to_owned()),
        ("JIUFU_LOG", "warn".to_owned()),
    ];
    let token = Command::new(s.gateway_bin)
        .args(["collector", "pair", "--merchant", "10001"])
        .env("JIUFU_DATABASE_URL", s.gateway_db)
        .env("JIUFU_LOG", "warn")
        .output()?;
    let token = String::from_utf8(token.stdout)?.trim().to_owned();
    let cli = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(s.collector_bin).args(args).envs(env.clone()).output()?;
        if !out.status.success() {
            bail!("jiufu-collector {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8(out.stdout)?)
    };
    cli(&["pair", &token, "--gateway", s.gateway_url])?;
    let mut collector =
        Command::new(s.collector_bin).arg("run").envs(env.clone()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
    let result = measure(&s, &mut collector, &cli);
    let _ = collector.kill();
    let _ = collector.wait();
    result
}

fn measure(s: &Setup<'_>, collector: &mut Child, cli: &dyn Fn(&[&str]) -> anyhow::Result<String>) -> anyhow::Result<()> {
    let mut lines = BufReader::new(collector.stdout.take().ok_or_else(|| anyhow!("no stdout"))?).lines();
    let url = loop {
        let line = lines.next().ok_or_else(|| anyhow!("collector exited"))??;
        if let Some(u) = line.strip_prefix("jiufu-collector listening on ") {
            break u.trim().to_owned();
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let arrivals: Arrivals = Arc::default();
        let sink = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let sink_url = format!("http://{}/notify", sink.local_addr()?);
        let app = axum::Router::new().route("/notify", axum::routing::get(notified)).with_state(arrivals.clone());
        tokio::spawn(async move { axum::serve(sink, app).await });
        let http = reqwest::Client::builder().no_proxy().build()?;

        // distinct open orders, each with its own amount
        let mut orders = Vec::with_capacity(ORDERS);
        for i in 0..ORDERS {
            let order_no = format!("cb{}-{i}", std::process::id());
            let fen = 3_000_001 + i as u64 * 7;
            let amount = format!("{}.{:02}", fen / 100, fen % 100);
            let sign = sign::create_order_sign("10001", &order_no, "P901", &amount, "", s.merchant_key);
            let form = [
                ("userid", "10001"),
                ("subject", "bench"),
                ("order_no", &order_no),
                ("order_type", "P901"),
                ("amount", &amount),
                ("notify_url", &sink_url),
                ("sign", &sign),
            ];
            let v: Value = http.post(format!("{}/gateway", s.gateway_url)).form(&form).send().await?.json().await?;
            if v["success"] != true {
                bail!("order creation failed: {v}");
            }
            orders.push((order_no, amount));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while cli(&["orders"])?.lines().count() < ORDERS {
            if Instant::now() > deadline {
                bail!("the collector did not learn of the orders");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // push → notified, 100 pushes a second, 20 at a time
        let pushed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (i, (order_no, amount)) in orders.iter().enumerate() {
            let due = started + Duration::from_millis(i as u64 * 10);
            tokio::time::sleep_until(due.into()).await;
            let (http, url, pushed, order_no, amount) = (http.clone(), url.clone(), pushed.clone(), order_no.clone(), amount.clone());
            tasks.push(tokio::spawn(async move {
                pushed.lock().unwrap().insert(order_no, Instant::now());
                push(&http, &url, &amount).await
            }));
        }
        for t in tasks {
            t.await??;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while arrivals.lock().unwrap().len() < ORDERS && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (pushed, arrived) = (pushed.lock().unwrap().clone(), arrivals.lock().unwrap().clone());
        let mut lat: Vec<f64> =
            pushed.iter().filter_map(|(no, t)| arrived.get(no).map(|a| a.duration_since(*t).as_secs_f64() * 1000.0)).collect();
        lat.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(f64::NAN);
        let p99 = pct(0.99);
        println!(
            "collector push → merchant notified: {} of {ORDERS} payments, p50 {:.1} ms, p99 {p99:.1} ms [{}]",
            lat.len(),
            pct(0.5),
            if lat.len() == ORDERS && p99 <= 200.0 { "target met" } else { "target missed" }
        );

        // sustained observations/s: pushes with no order, 32 at a time for 5 s
        let before = stored(cli)?;
        let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..32u64 {
            let (http, url, accepted) = (http.clone(), url.clone(), accepted.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                while started.elapsed() < Duration::from_secs(5) {
                    let fen = 2_000_000 + w * 100_000 + i;
                    i += 1;
                    if push(&http, &url, &format!("{}.{:02}", fen / 100, fen % 100)).await.is_ok() {
                        accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
        let secs = started.elapsed().as_secs_f64();
        let accepted = accepted.load(std::sync::atomic::Ordering::Relaxed);
        let stored_now = stored(cli)? - before;
        let rate = accepted as f64 / secs;
        println!(
            "collector sustained observations: {rate:.0}/s ({accepted} accepted, {stored_now} stored, {} lost) [{}]",
            accepted as i64 - stored_now as i64,
            if rate >= 2000.0 && stored_now == accepted { "target met" } else { "target missed" }
        );
        Ok(())
    })
}

async fn notified(State(arrivals): State<Arrivals>, Query(q): Query<HashMap<String, String>>) -> &'static str {
    if let Some(no) = q.get("order_no") {
        arrivals.lock().unwrap().entry(no.clone()).or_insert_with(Instant::now);
    }
    "success"
}

/// A V免签 payment push, as the phone app sends it.
async fn push(http: &reqwest::Client, url: &str, price: &str) -> anyhow::Result<()> {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis().to_string();
    let s = sign::vmq_push_sign("2", price, &t, PUSH_KEY);
    let v: Value = http.get(format!("{url}/appPush?t={t}&type=2&price={price}&sign={s}")).send().await?.json().await?;
    if v["code"] != 1 {
        bail!("push refused: {v}");
    }
    Ok(())
}

fn stored(cli: &dyn Fn(&[&str]) -> anyhow::Result<String>) -> anyhow::Result<u64> {
    let status: Value = serde_json::from_str(&cli(&["status"])?).context("collector status")?;
    status["observations"].as_u64().ok_or_else(|| anyhow!("no observation count in status"))
}
