//! `cargo xtask bench-desktop`: the release desktop app's cold start and
//! memory with 1,000 orders in its list. A real gateway holds 1,000 open
//! orders; the app, paired with it, mirrors them; then it is started
//! afresh several times on that store, opening straight onto the Orders
//! screen. Start = process spawn to the window's first drawn screen (the
//! window says "ready" after drawing all 1,000 rows). Memory = resident set
//! of the app and of the WebKit processes it starts.

use crate::bench::{KEY, rss_kib, seed_orders};
use crate::{cargo, setup, status, workspace_root};
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ORDERS: u64 = 1000;
const RUNS: usize = 5;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn bench() -> anyhow::Result<()> {
    setup::ensure_build_tools()?;
    setup::ensure_desktop_tools(true)?;
    setup::build_ui()?;
    status(cargo().current_dir(workspace_root()).args([
        "build",
        "--release",
        "--workspace",
        "--bin",
        "jiufu-gateway",
        "--bin",
        "jiufu-collector",
        "--bin",
        "jiufu-desktop",
    ]))?;
    let release = setup::target_dir().join("release");
    let tmp = tempfile::tempdir()?;
    let gateway_db = format!("sqlite://{}", tmp.path().join("gateway.db").display());
    let collector_db = tmp.path().join("collector.db");
    let gw = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(release.join("jiufu-gateway")).args(args).env("JIUFU_DATABASE_URL", &gateway_db).output()?;
        if !out.status.success() {
            bail!("jiufu-gateway {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    gw(&["merchant", "add", "--id", "10001", "--name", "bench", "--key", KEY])?;
    gw(&["code", "add", "--merchant", "10001", "--channel", "P901", "--qr", "https://qr.alipay.com/bench-desktop"])?;
    let mut server = Killed(
        Command::new(release.join("jiufu-gateway"))
            .arg("serve")
            .env("JIUFU_DATABASE_URL", &gateway_db)
            .env("JIUFU_BIND", "127.0.0.1:0")
            .env("JIUFU_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let url = wait_line(&mut server.0, "jiufu-gateway listening on ", Duration::from_secs(30))?;
    let token = gw(&["collector", "pair", "--merchant", "10001"])?;
    let collector = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(release.join("jiufu-collector")).args(args).env("JIUFU_COLLECTOR_DB", &collector_db).output()?;
        if !out.status.success() {
            bail!("jiufu-collector {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    collector(&["pair", &token, "--gateway", &url])?;
    tokio::runtime::Runtime::new()?.block_on(seed_orders(&reqwest::Client::new(), &url, ORDERS))?;

    let display = Killed(
        Command::new("Xvfb").args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"]).stdout(Stdio::piped()).spawn()?,
    );
    let mut display = display;
    let name = format!(":{}", first_line(&mut display.0)?);
    let mut bus = Killed(Command::new("dbus-daemon").args(["--session", "--nofork", "--print-address=1"]).stdout(Stdio::piped()).spawn()?);
    let bus_address = first_line(&mut bus.0)?;
    let app = |screen: &str| -> anyhow::Result<Killed> {
        Ok(Killed(
            Command::new(release.join("jiufu-desktop"))
                .args(["--screen", screen])
                .env("DISPLAY", &name)
                .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
                .env("JIUFU_COLLECTOR_DB", &collector_db)
                .env("JIUFU_COLLECTOR_LISTEN", "127.0.0.1:0")
                .env("JIUFU_LOG", "warn")
                .env("NO_AT_BRIDGE", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()?,
        ))
    };

    // First start: the app mirrors the gateway's 1,000 orders into its store.
    {
        let mut first = app("overview")?;
        wait_line(&mut first.0, "jiufu-desktop ready in ", Duration::from_secs(60))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while collector(&["orders"])?.lines().count() < ORDERS as usize {
            if Instant::now() > deadline {
                bail!("the app did not mirror {ORDERS} orders");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    println!("desktop app: {ORDERS} open orders in its store; {RUNS} cold starts onto the Orders screen");
    let (mut starts, mut own, mut totals, mut shared) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let spawned = Instant::now();
        let mut run = app("orders")?;
        let line = wait_line(&mut run.0, "jiufu-desktop ready in ", Duration::from_secs(60))?;
        let (reported, rows) = line.split_once(" ms (").context("ready line")?;
        let rows: u64 = rows.split_whitespace().next().and_then(|r| r.parse().ok()).context("rows")?;
        if rows < ORDERS {
            bail!("the window drew {rows} rows, not {ORDERS}");
        }
        let wall = spawned.elapsed().as_millis() as u64;
        std::thread::sleep(Duration::from_secs(3));
        let pid = run.0.id();
        let tree: Vec<u32> = descendants(pid).into_iter().chain([pid]).collect();
        let rss: u64 = tree.iter().filter_map(|p| rss_kib(*p).ok()).sum();
        let pss: u64 = tree.iter().filter_map(|p| pss_kib(*p)).sum();
        own.push(rss_kib(pid)?);
        totals.push(rss);
        shared.push(pss);
        starts.push(wall);
        println!(
            "  start {wall} ms ({rows} rows drawn {reported} ms after main), app RSS {} MiB; with its {} WebKit processes RSS {} MiB, PSS {} MiB",
            own.last().copied().unwrap_or(0) / 1024,
            tree.len() - 1,
            rss / 1024,
            pss / 1024
        );
    }
    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    println!(
        "desktop cold start (spawn → {ORDERS} orders drawn): median {} ms; memory: app RSS {} MiB, app + WebKit processes RSS {} MiB \
         (PSS, shared pages counted once: {} MiB) (medians of {RUNS})",
        median(&mut starts),
        median(&mut own) / 1024,
        median(&mut totals) / 1024,
        median(&mut shared) / 1024
    );
    drop(bus);
    drop(display);
    Ok(())
}

/// Proportional set size: shared pages divided among their users.
fn pss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines().find_map(|l| l.strip_prefix("Pss:")).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn first_line(child: &mut Child) -> anyhow::Result<String> {
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Waits for a stdout line starting with `prefix`; returns the rest.
fn wait_line(child: &mut Child, prefix: &str, timeout: Duration) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = prefix.to_owned();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(&wanted) {
                let _ = tx.send(rest.trim().to_owned());
            }
        }
    });
    rx.recv_timeout(timeout).with_context(|| format!("no {prefix:?} line"))
}

/// Every process started (directly or not) by `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(p) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(Path::new("/proc").join(p.to_string()).join("stat")) else { continue };
            // The fields after the command's closing parenthesis: state, ppid, …
            if let Some(ppid) = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok()) {
                parents.push((p, ppid));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}
