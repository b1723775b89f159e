//! `cargo xtask run`: the whole system on embedded defaults. The gateway
//! (demo merchant, SQLite in ./data) and a collector paired with it on
//! first run: the desktop app when there is a display, `jiufu-collector
//! run` otherwise. Both share ./data/collector.db, so the headless binary
//! and the window see the same codes, payments and queue.

use crate::{cargo, setup, status, workspace_root};
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub fn run() -> anyhow::Result<()> {
    setup::ensure_build_tools()?;
    let mut desktop = setup::have_display() && std::env::var("JIUFU_HEADLESS").map(|v| v.is_empty() || v == "0").unwrap_or(true);
    if desktop && let Err(e) = setup::ensure_desktop_tools(false).and_then(|()| setup::build_ui()) {
        eprintln!("cannot build the desktop app here ({e:#}); running the headless collector instead");
        desktop = false;
    }
    let root = workspace_root();
    let mut build = cargo();
    build.current_dir(&root).args(["build", "--release", "--workspace", "--bin", "jiufu-gateway", "--bin", "jiufu-collector"]);
    if desktop {
        build.args(["--bin", "jiufu-desktop"]);
    }
    status(&mut build)?;
    let bin = |name: &str| setup::target_dir().join("release").join(name);
    std::fs::create_dir_all(root.join("data"))?;

    let gateway_db = std::env::var("JIUFU_DATABASE_URL").unwrap_or_else(|_| "sqlite://./data/gateway.db".into());
    let collector_db = std::env::var("JIUFU_COLLECTOR_DB").unwrap_or_else(|_| root.join("data/collector.db").display().to_string());
    let mut gateway = Command::new(bin("jiufu-gateway"));
    gateway.current_dir(&root).args(["serve", "--demo"]).env("JIUFU_DATABASE_URL", &gateway_db).stdout(Stdio::piped());
    if std::env::var_os("JIUFU_ALLOW_PRIVATE_NOTIFY").is_none() {
        // The demo shop's notification sink lives on this machine.
        gateway.env("JIUFU_ALLOW_PRIVATE_NOTIFY", "true");
    }
    let mut gateway = Running(gateway.spawn().context("start jiufu-gateway")?);
    let url = listening_url(&mut gateway.0)?;

    let collector_cli = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(bin("jiufu-collector")).args(args).env("JIUFU_COLLECTOR_DB", &collector_db).output()?;
        if !out.status.success() {
            bail!("jiufu-collector {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let paired = collector_cli(&["status"])?.contains("\"paired\": true");
    if !paired {
        let out = Command::new(bin("jiufu-gateway"))
            .current_dir(&root)
            .args(["collector", "pair", "--merchant", "10001"])
            .env("JIUFU_DATABASE_URL", &gateway_db)
            .output()?;
        let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() || token.is_empty() {
            bail!("cannot make a pairing token: {}", String::from_utf8_lossy(&out.stderr));
        }
        // The collector runs on this machine: a gateway bound to every address
        // is reached on loopback (plain http:// is only paired with there).
        let local = url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:");
        print!("{}", collector_cli(&["pair", &token, "--gateway", &local, "--name", "cargo xtask run"])?);
    }
    // The phone's setup (the keys were generated on the collector's first start; never unsigned intake here).
    let status: serde_json::Value = serde_json::from_str(&collector_cli(&["status"])?).context("collector status")?;
    let text = |k: &str| status[k].as_str().unwrap_or("").to_owned();
    println!(
        "\nphone setup: V免签 app host/key COMPUTER:8687/{}\n             SmsForwarder webhook (POST) http://COMPUTER:8687/forward/smsforwarder, secret (加签) {}",
        text("push_key"),
        text("smsf_secret")
    );
    println!("\ncollector data: {collector_db}");
    let mut collector = if desktop {
        println!("starting the desktop app 就付收款助手 (close it from its tray icon, or Ctrl-C here)");
        Command::new(bin("jiufu-desktop")).env("JIUFU_COLLECTOR_DB", &collector_db).spawn().context("start jiufu-desktop")?
    } else {
        println!("no display: running the headless collector (jiufu-collector run)");
        Command::new(bin("jiufu-collector")).arg("run").env("JIUFU_COLLECTOR_DB", &collector_db).spawn().context("start jiufu-collector")?
    };
    let st = collector.wait()?;
    drop(gateway);
    // Stopped by a signal (Ctrl-C, logout) is a normal end.
    if st.code().is_some_and(|c| c != 0) {
        bail!("the collector exited with {st}");
    }
    Ok(())
}

/// Kills the child when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Forwards the gateway's output and returns the address from its
/// "listening on" line.
fn listening_url(child: &mut Child) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("gateway stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(url) = line.strip_prefix("jiufu-gateway listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(60)).context("the gateway did not start")
}
