//! A small W3C WebDriver client, enough to drive headless Chromium through
//! `chromedriver` (and, later, the desktop app through `tauri-driver`).

use anyhow::{Context, anyhow};
use base64::Engine;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Driver {
    process: Child,
    base: String,
}

impl Driver {
    /// Starts `chromedriver` on a free loopback port.
    pub async fn chromedriver() -> anyhow::Result<Driver> {
        let port = free_port()?;
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start chromedriver (apt-get install chromium chromium-driver)")?;
        Driver::wait(process, port).await
    }

    /// Starts `tauri-driver` (which starts `WebKitWebDriver`) on free
    /// loopback ports; the app it launches gets this process's environment
    /// plus `env`.
    pub async fn tauri(env: &[(String, String)]) -> anyhow::Result<Driver> {
        let (port, native) = (free_port()?, free_port()?);
        let program = std::env::var_os("CARGO_HOME")
            .map(|h| Path::new(&h).join("bin/tauri-driver"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| "tauri-driver".into());
        let process = Command::new(program)
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start tauri-driver (cargo install tauri-driver --locked; apt-get install webkit2gtk-driver)")?;
        Driver::wait(process, port).await
    }

    async fn wait(process: Child, port: u16) -> anyhow::Result<Driver> {
        let driver = Driver { process, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if reqwest::get(format!("{}/status", driver.base)).await.is_ok() {
                return Ok(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(anyhow!("the WebDriver server did not start"))
    }

    /// A headless Chromium session with a fresh profile and the given window size.
    pub async fn chromium(&self, width: u32, height: u32, mobile: bool) -> anyhow::Result<Session> {
        self.chromium_with(width, height, mobile, true).await
    }

    /// The same, with JavaScript switched off when `scripts` is false.
    pub async fn chromium_with(&self, width: u32, height: u32, mobile: bool, scripts: bool) -> anyhow::Result<Session> {
        let profile = tempfile::tempdir()?;
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--lang=zh-CN".into(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={width},{height}"),
        ];
        if mobile {
            args.push("--user-agent=Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148".into());
        }
        let mut options = json!({"binary": "/usr/bin/chromium", "args": args});
        if !scripts {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        if mobile {
            options["mobileEmulation"] = json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0, "touch": true}});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}});
        self.session(caps, Some(profile)).await
    }

    /// A session with any capabilities (e.g. `tauri:options`).
    pub async fn session(&self, capabilities: Value, profile: Option<tempfile::TempDir>) -> anyhow::Result<Session> {
        let resp: Value = reqwest::Client::new().post(format!("{}/session", self.base)).json(&capabilities).send().await?.json().await?;
        let id = resp["value"]["sessionId"].as_str().ok_or_else(|| anyhow!("no session: {resp}"))?.to_owned();
        Ok(Session { url: format!("{}/session/{id}", self.base), http: reqwest::Client::new(), _profile: profile })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub struct Session {
    url: String,
    http: reqwest::Client,
    _profile: Option<tempfile::TempDir>,
}

impl Session {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await?.json().await?;
        if let Some(err) = v["value"].get("error") {
            return Err(anyhow!("webdriver {path}: {err}: {}", v["value"]["message"]));
        }
        Ok(v["value"].clone())
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await.map(|_| ())
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        Ok(self.call(reqwest::Method::GET, "/url", None).await?.as_str().unwrap_or_default().to_owned())
    }

    pub async fn find(&self, css: &str) -> anyhow::Result<String> {
        let v = self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await?;
        v[ELEMENT].as_str().map(str::to_owned).ok_or_else(|| anyhow!("no element {css}"))
    }

    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let id = self.find(css).await?;
        Ok(self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None).await?.as_str().unwrap_or_default().to_owned())
    }

    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await.map(|_| ())
    }

    pub async fn type_text(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await.map(|_| ())
    }

    pub async fn script(&self, script: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Clears an input, then types into it.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await?;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await.map(|_| ())
    }

    /// Waits until `css` matches an element.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(css).await {
                Ok(id) => return Ok(id),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Waits until `css` exists and its text contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.text(css).await {
                Ok(t) if t.contains(needle) => return Ok(t),
                other if Instant::now() >= deadline => {
                    return Err(anyhow!("{css} never showed {needle:?}: {other:?}"));
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default())?;
        std::fs::write(path, png)?;
        Ok(())
    }

    pub async fn quit(self) {
        let _ = self.http.delete(&self.url).send().await;
    }
}
