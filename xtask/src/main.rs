//! `cargo xtask run | test | bench`: the project's commands.

mod bench;
mod bench_collector;
mod icons;
mod setup;

use anyhow::{Context, bail};
use std::process::Command;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => run(),
        Some("test") => test(),
        Some("bench") => bench::bench(),
        Some("loadgen") => bench::loadgen(&args[1..]),
        Some("icons") => icons::icons(),
        _ => {
            eprintln!(
                "usage: cargo xtask <run|test|bench>\n  run    build and run the gateway on embedded SQLite with demo data\n  test   install what the tests need, then run every test\n  bench  measure the release gateway (not part of the tests)"
            );
            bail!("unknown command")
        }
    }
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

pub fn status(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    let st = cmd.status().with_context(|| format!("cannot run {shown}"))?;
    if !st.success() {
        bail!("{shown} failed ({st})");
    }
    Ok(())
}

fn run() -> anyhow::Result<()> {
    setup::ensure_build_tools()?;
    status(cargo().current_dir(workspace_root()).args(["build", "--release", "--bin", "jiufu-gateway"]))?;
    let bin = setup::target_dir().join("release/jiufu-gateway");
    let root = workspace_root();
    let mut cmd = Command::new(bin);
    cmd.current_dir(&root).args(["serve", "--demo"]);
    if std::env::var_os("JIUFU_DATABASE_URL").is_none() {
        cmd.env("JIUFU_DATABASE_URL", "sqlite://./data/gateway.db");
    }
    if std::env::var_os("JIUFU_ALLOW_PRIVATE_NOTIFY").is_none() {
        // The demo shop's notification sink lives on this machine.
        cmd.env("JIUFU_ALLOW_PRIVATE_NOTIFY", "true");
    }
    status(&mut cmd)
}

fn test() -> anyhow::Result<()> {
    setup::ensure_build_tools()?;
    setup::ensure_test_tools()?;
    let root = workspace_root();
    status(cargo().current_dir(&root).args(["build", "--workspace", "--bins"]))?;
    status(cargo().current_dir(&root).args(["test", "--workspace", "--no-fail-fast"]))?;
    status(cargo().current_dir(&root).args(["fmt", "--all", "--", "--check"]))?;
    status(cargo().current_dir(&root).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    println!("all tests passed");
    Ok(())
}
