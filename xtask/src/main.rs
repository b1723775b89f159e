//! `cargo xtask run | test | bench`: the project's commands.

mod bench;
mod bench_collector;
mod bench_desktop;
mod bench_postgres;
mod icons;
mod postgres;
mod run;
mod setup;

use anyhow::{Context, bail};
use std::process::Command;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => run::run(),
        Some("test") => test(),
        Some("bench") => bench::bench(),
        Some("loadgen") => bench::loadgen(&args[1..]),
        Some("icons") => icons::icons(),
        Some("ui") => setup::build_ui(),
        Some("bench-desktop") => bench_desktop::bench(),
        _ => {
            eprintln!(
                "usage: cargo xtask <run|test|bench|bench-desktop|ui|icons>\n  run            build and run the gateway (demo data) and the collector: the desktop app when there is a display, headless otherwise\n  test           install what the tests need, then run every test\n  bench          measure the release gateway (SQLite, then PostgreSQL with 1 and 2 instances) and collector (not part of the tests; JIUFU_BENCH_BINS=DIR benches the binaries in DIR)\n  bench-desktop  measure the desktop app's cold start and memory with 1,000 orders\n  ui             build the desktop window (ui/dist)\n  icons          draw the app icons into icons/"
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

fn test() -> anyhow::Result<()> {
    setup::ensure_build_tools()?;
    setup::ensure_test_tools()?;
    setup::ensure_desktop_tools(true)?;
    setup::build_ui()?;
    let postgres = postgres::ensure_test_server()?;
    let root = workspace_root();
    status(cargo().current_dir(&root).args(["build", "--workspace", "--bins"]))?;
    status(cargo().current_dir(&root).args(["test", "--workspace", "--no-fail-fast"]).env("JIUFU_TEST_POSTGRES_URL", &postgres))?;
    status(cargo().current_dir(&root).args(["fmt", "--all", "--", "--check"]))?;
    status(cargo().current_dir(&root).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    println!("all tests passed");
    Ok(())
}
