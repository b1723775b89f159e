//! Installs what the commands need on a fresh Debian machine (as root, with
//! apt); elsewhere it says what is missing.

use anyhow::bail;
use std::path::PathBuf;
use std::process::Command;

pub fn have(cmd: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")]).status().map(|s| s.success()).unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

pub fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
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
/// daemon and `gdbus` for the desktop-notification tests; nginx for the
/// reverse proxy test.
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
    // The deployment guide's reverse proxy example, tested as written.
    if !have("nginx") && !std::path::Path::new("/usr/sbin/nginx").exists() {
        missing.push("nginx");
    }
    if !std::path::Path::new("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").exists() {
        missing.push("fonts-wqy-microhei");
    }
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    Ok(())
}

/// What the desktop app needs to build (WebKitGTK, GTK, the tray library)
/// and to be tested in a real window (Xvfb, WebKitWebDriver, a CJK font).
pub fn ensure_desktop_tools(for_tests: bool) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    let pkg = |name: &str| Command::new("pkg-config").args(["--exists", name]).status().map(|s| s.success()).unwrap_or(false);
    if !have("pkg-config") {
        missing.push("pkg-config");
    }
    for (lib, package) in [
        ("webkit2gtk-4.1", "libwebkit2gtk-4.1-dev"),
        ("gtk+-3.0", "libgtk-3-dev"),
        ("ayatana-appindicator3-0.1", "libayatana-appindicator3-dev"),
        ("librsvg-2.0", "librsvg2-dev"),
        ("openssl", "libssl-dev"),
    ] {
        if !pkg(lib) {
            missing.push(package);
        }
    }
    if !have("npm") {
        missing.extend(["nodejs", "npm"]);
    }
    if for_tests {
        for (cmd, package) in [("Xvfb", "xvfb"), ("xauth", "xauth"), ("WebKitWebDriver", "webkit2gtk-driver"), ("dbus-daemon", "dbus")] {
            if !have(cmd) {
                missing.push(package);
            }
        }
        if !std::path::Path::new("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").exists() {
            missing.push("fonts-wqy-microhei");
        }
    }
    missing.dedup();
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    if for_tests && !have("tauri-driver") && !cargo_bin("tauri-driver").exists() {
        println!("installing tauri-driver …");
        crate::status(crate::cargo().args(["install", "tauri-driver", "--locked"]))?;
    }
    Ok(())
}

fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    home.join("bin").join(name)
}

/// Builds the window (`ui/dist`, embedded into the app at compile time)
/// with the pinned TypeScript from `ui/package-lock.json`.
pub fn build_ui() -> anyhow::Result<()> {
    let ui = crate::workspace_root().join("ui");
    if !ui.join("node_modules/.bin/tsc").exists() {
        crate::status(Command::new("npm").current_dir(&ui).args(["ci", "--no-audit", "--no-fund"]))?;
    }
    crate::status(Command::new("npm").current_dir(&ui).args(["run", "--silent", "build"]))
}

/// A display to open a window on.
pub fn have_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| crate::workspace_root().join("target"))
}
