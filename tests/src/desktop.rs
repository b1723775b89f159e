//! The desktop app as its user meets it: an X display (Xvfb), a D-Bus
//! session with a notification daemon, and the real `jiufu-desktop`
//! window driven through `tauri-driver` + `WebKitWebDriver`.

use crate::browser::{Driver, Session};
use crate::dbus::SessionBus;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A virtual X display, 1280×800, for as long as this lives.
pub struct Display {
    pub name: String,
    process: Child,
}

impl Display {
    pub fn start() -> Display {
        // Xvfb picks a free display number and writes it to the given fd.
        let mut process = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb (apt-get install xvfb)");
        let mut line = String::new();
        BufReader::new(process.stdout.take().expect("stdout")).read_line(&mut line).expect("display number");
        Display { name: format!(":{}", line.trim()), process }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The app in its window, with the session it talks to.
pub struct DesktopApp {
    pub session: Session,
    pub listen_url: String,
    pub data: tempfile::TempDir,
    env: Vec<(String, String)>,
    _driver: Driver,
    _display: Display,
}

impl DesktopApp {
    /// Starts the app on a fresh data directory. `env` is added to the
    /// app's environment (e.g. its listener and key).
    pub async fn start(bus: &SessionBus, env: &[(&str, &str)]) -> DesktopApp {
        let display = Display::start();
        let data = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let mut all: Vec<(String, String)> = vec![
            ("DISPLAY".into(), display.name.clone()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone()),
            ("JIUFU_COLLECTOR_DB".into(), data.path().join("collector.db").display().to_string()),
            ("JIUFU_COLLECTOR_LISTEN".into(), format!("127.0.0.1:{port}")),
            ("XDG_CONFIG_HOME".into(), data.path().join("config").display().to_string()),
            ("XDG_DATA_HOME".into(), data.path().join("share").display().to_string()),
            ("XDG_RUNTIME_DIR".into(), data.path().display().to_string()),
            ("NO_AT_BRIDGE".into(), "1".into()),
            ("JIUFU_LOG".into(), "info".into()),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let driver = Driver::tauri(&all).await.expect("tauri-driver");
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": crate::bin("jiufu-desktop").display().to_string()}
        }}});
        let session = driver.session(caps, None).await.expect("a WebDriver session with the app");
        session.wait_text("#screen-title", "", Duration::from_secs(30)).await.expect("the window drew");
        DesktopApp { session, listen_url: format!("http://127.0.0.1:{port}"), data, env: all, _driver: driver, _display: display }
    }

    /// Starts the app a second time on the same store and display, as a
    /// user clicking its launcher again would; returns how it ended.
    pub fn launch_again(&self) -> std::process::Output {
        let mut child = Command::new(crate::bin("jiufu-desktop"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("second launch");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while child.try_wait().expect("wait").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().expect("output")
    }

    /// Clicks a screen in the side menu by its (Chinese) accessible name.
    pub async fn open(&self, label: &str) {
        self.session.click(&format!("nav button[aria-label=\"{label}\"]")).await.expect("menu item");
        self.session.wait_text("#screen-title", label, Duration::from_secs(5)).await.expect("screen opened");
    }

    /// Saves a screenshot of the window into the test artifacts.
    pub async fn screenshot(&self, name: &str) {
        // The frame after a click may not be painted yet.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let path = crate::artifacts_dir().join(format!("desktop-{name}.png"));
        self.session.screenshot(&path).await.expect("screenshot");
    }

    /// Nothing on the current screen is wider than the window (no layout breakage).
    pub async fn assert_fits(&self, what: &str) {
        let v = self
            .session
            .script("const d = document.documentElement; return [d.scrollWidth, window.innerWidth, window.innerHeight];")
            .await
            .expect("measure");
        let (scroll, width) = (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0));
        assert!(width >= 1024, "{what}: the window is {width} px wide");
        assert!(scroll <= width, "{what}: content is {scroll} px wide in a {width} px window");
    }
}
