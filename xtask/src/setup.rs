//! Installs what the commands need on a fresh Debian machine (as root, with
//! apt); elsewhere it says what is missing.

use anyhow::bail;
use std::path::PathBuf;
use std::process::Command;

fn have(cmd: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")]).status().map(|s| s.success()).unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    if !have("apt-get") || !is_root() {
        bail!("please install: {} (needs root and apt-get here)", packages.join(" "));
    }
    println!("installing {} …", packages.join(" "));
    crate::status(Command::new("apt-get").args(["update", "-qq"]))?;
    crate::status(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// A C compiler for the bundled SQLite.
pub fn ensure_build_tools() -> anyhow::Result<()> {
    if !have("cc") {
        apt_install(&["build-essential", "pkg-config"])?;
    }
    Ok(())
}

/// Headless Chromium and its WebDriver for the checkout page tests; a D-Bus
/// daemon and `gdbus` for the desktop-notification tests.
pub fn ensure_test_tools() -> anyhow::Result<()> {
    let mut missing = Vec::new();
    if !have("chromium") {
        missing.push("chromium");
    }
    if !have("chromedriver") {
        missing.push("chromium-driver");
    }
    if !have("dbus-daemon") {
        missing.push("dbus");
    }
    if !have("gdbus") {
        missing.push("libglib2.0-bin");
    }
    if !std::path::Path::new("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").exists() {
        missing.push("fonts-wqy-microhei");
    }
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    Ok(())
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| crate::workspace_root().join("target"))
}
