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
        Some("check") => check(),
        Some("bench") => bench::bench(),
        Some("loadgen") => bench::loadgen(&args[1..]),
        Some("icons") => icons::icons(),
        Some("ui") => setup::build_ui(),
        Some("bench-desktop") => bench_desktop::bench(),
        _ => {
            eprintln!(
                "usage: cargo xtask <run|test|check|bench|bench-desktop|ui|icons>\n  run            build and run the gateway (demo data) and the collector: the desktop app when there is a display, headless otherwise\n  test           install what the tests need (PostgreSQL included), then run every test, fmt and clippy\n  check          the quick inner loop: cargo fmt --check, clippy -D warnings and the unit tests (no end-to-end tests, no desktop app)\n  bench          measure the release gateway (SQLite, then PostgreSQL with 1 and 2 instances) and collector (not part of the tests; JIUFU_BENCH_BINS=DIR benches the binaries in DIR)\n  bench-desktop  measure the desktop app's cold start and memory with 1,000 orders\n  ui             build the desktop window (ui/dist)\n  icons          draw the app icons into icons/"
            );
            bail!("unknown command")
        }
    }
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The workspace this command was run in: the parent of xtask's manifest
/// directory as cargo gives it at run time (`cargo xtask` is `cargo run`,
/// which sets `CARGO_MANIFEST_DIR`), else the nearest folder up from here
/// whose `Cargo.toml` has a `[workspace]`. Never the folder this binary was
/// compiled in: a target dir shared by clones in other folders would run
/// the old clone.
pub fn workspace_root() -> std::path::PathBuf {
    if let Some(root) = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from).and_then(|d| d.parent().map(Into::into)) {
        return root;
    }
    let here = std::env::current_dir().expect("current directory");
    here.ancestors()
        .find(|d| std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]")))
        .unwrap_or(&here)
        .to_path_buf()
}

pub fn status(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    let st = cmd.status().with_context(|| format!("cannot run {shown}"))?;
    if !st.success() {
        bail!("{shown} failed ({st})");
    }
    Ok(())
}

/// The inner loop: formatting, clippy and the tests of every crate but the
/// end-to-end tests and the desktop app (which need the binaries built, a
/// browser, WebKitGTK: `cargo xtask test`). PostgreSQL tests run when
/// `JIUFU_TEST_POSTGRES_URL` is set and skip otherwise.
fn check() -> anyhow::Result<()> {
    let root = workspace_root();
    let not_e2e = ["--workspace", "--exclude", "jiufu-e2e", "--exclude", "jiufu-desktop"];
    status(cargo().current_dir(&root).args(["fmt", "--all", "--", "--check"]))?;
    // The e2e crate is linted too (it compiles without the binaries); only its tests are left out.
    status(cargo().current_dir(&root).args([
        "clippy",
        "--workspace",
        "--exclude",
        "jiufu-desktop",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    status(cargo().current_dir(&root).arg("test").args(not_e2e))?;
    println!("check passed (the end-to-end tests and the desktop app: cargo xtask test)");
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
