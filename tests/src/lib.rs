//! Helpers for end-to-end tests: start the real `jiufu-gateway` binary on
//! a random loopback port with a fresh SQLite file, run its CLI, sign
//! requests as a merchant would, and stand up a merchant's notification
//! sink. Build the binaries first (`cargo xtask test` does).

pub mod browser;
pub mod collector;
pub mod dbus;
pub mod desktop;
pub mod device;
pub mod fake_gateway;
pub mod nginx;
pub mod postgres;
pub mod proxy;
pub mod shop;
pub mod sink;
pub mod smsf;

use jiufu_protocol::sign;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Returns from the test (a skip, printed) unless `JIUFU_TEST_POSTGRES_URL`
/// names a PostgreSQL server ([`postgres::available`]).
#[macro_export]
macro_rules! skip_without_postgres {
    () => {
        if !$crate::postgres::available(concat!(file!(), ":", line!())) {
            return;
        }
    };
}

pub const KEY: &str = "Jf8x2kQm9TzR4wLp";
pub const MERCHANT: i64 = 10001;

/// Where cargo put the workspace's binaries (next to this test's `deps/`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: build the workspace binaries first (cargo build --bins, or cargo xtask test)", path.display());
    path
}

/// Artifacts (screenshots, logs) of the test run.
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// One of the project's binaries running as a server: started with its
/// environment, its address read from its "listening on" line, killed with
/// `kill -9`, restarted on the same port, and its CLI run on the same data.
pub struct Proc {
    binary: &'static str,
    /// The environment variable that names the listen address.
    listen_var: &'static str,
    pub dir: PathBuf,
    pub url: String,
    pub port: u16,
    child: Option<Child>,
    env: Vec<(String, String)>,
    _tmp: tempfile::TempDir,
}

impl Proc {
    pub fn new(
        binary: &'static str,
        listen_var: &'static str,
        env: Vec<(String, String)>,
        extra_env: &[(&str, &str)],
        tmp: tempfile::TempDir,
    ) -> Proc {
        let mut env = env;
        for (k, v) in extra_env {
            env.retain(|(ek, _)| ek != k);
            env.push((k.to_string(), v.to_string()));
        }
        Proc { binary, listen_var, dir: tmp.path().to_path_buf(), url: String::new(), port: 0, child: None, env, _tmp: tmp }
    }

    /// Starts `binary args` listening on `listen` and waits for its address.
    pub fn spawn(&mut self, args: &[&str], listen: &str) {
        let log_path = self.dir.join(format!("{}.log", self.binary));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("log file");
        let mut child = Command::new(bin(self.binary))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(self.listen_var, listen)
            .env_remove("JIUFU_PUBLIC_URL")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.binary));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let prefix = format!("{} listening on ", self.binary);
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            assert!(Instant::now() < deadline, "{} did not start", self.binary);
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix(&prefix) {
                        break url.trim().to_owned();
                    }
                }
                _ => panic!("{} exited before listening; see {}", self.binary, log_path.display()),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        self.port = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        self.url = url;
        self.child = Some(child);
    }

    /// `kill -9`, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs a CLI command on the same data; panics when it fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.try_cli(args);
        assert!(ok, "{} {args:?} failed: {err}", self.binary);
        out
    }

    pub fn try_cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(bin(self.binary))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("JIUFU_LOG", "warn")
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.binary));
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// The running server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// CPU time (user + system) the running server has used so far,
    /// from `/proc/PID/stat` (Linux).
    pub fn cpu_time(&self) -> Duration {
        let pid = self.pid().expect("running");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
        // The fields after the parenthesised command name; utime and stime are the 14th and 15th.
        let rest = stat.rsplit_once(')').expect("stat format").1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        // USER_HZ is 100 on every Linux the tests run on.
        Duration::from_millis(ticks * 10)
    }

    /// A variable of the environment this process runs with.
    pub fn env_var(&self, name: &str) -> Option<String> {
        self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("{}.log", self.binary))).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A gateway process on its own database.
pub struct Gateway(Proc);

impl std::ops::Deref for Gateway {
    type Target = Proc;
    fn deref(&self) -> &Proc {
        &self.0
    }
}

impl Gateway {
    /// A fresh database with merchant 10001 (key [`KEY`]) and an Alipay and a WeChat code.
    pub fn start() -> Gateway {
        Self::start_with(&[])
    }

    pub fn start_with(extra_env: &[(&str, &str)]) -> Gateway {
        Self::start_seeded(extra_env, true)
    }

    /// Another instance on a database a first one seeded (`JIUFU_DATABASE_URL` in `extra_env`).
    pub fn join(extra_env: &[(&str, &str)]) -> Gateway {
        Self::start_seeded(extra_env, false)
    }

    fn start_seeded(extra_env: &[(&str, &str)], seed: bool) -> Gateway {
        let tmp = tempfile::tempdir().expect("tempdir");
        let env = vec![
            ("JIUFU_DATABASE_URL".into(), format!("sqlite://{}", tmp.path().join("gateway.db").display())),
            ("JIUFU_ALLOW_PRIVATE_NOTIFY".into(), "true".into()),
            ("JIUFU_NOTIFY_RETRY_SECS".into(), "1,1,1,1,1,1,1,1".into()),
            ("JIUFU_LOG".into(), "info".into()),
        ];
        let mut gw = Gateway(Proc::new("jiufu-gateway", "JIUFU_BIND", env, extra_env, tmp));
        if seed {
            gw.cli(&["merchant", "add", "--id", "10001", "--name", "测试商店", "--key", KEY]);
            gw.cli(&["code", "add", "--merchant", "10001", "--channel", "P901", "--qr", "https://qr.alipay.com/fkx0test"]);
            gw.cli(&["code", "add", "--merchant", "10001", "--channel", "P902", "--qr", "wxp://f2f0test"]);
        }
        gw.0.spawn(&["serve"], "127.0.0.1:0");
        gw
    }

    pub fn kill9(&mut self) {
        self.0.kill9();
    }

    /// Starts the binary again on the same database and port.
    pub fn restart(&mut self) {
        self.0.kill9();
        let bind = format!("127.0.0.1:{}", self.0.port);
        self.0.spawn(&["serve"], &bind);
    }

    /// `order show` as JSON.
    pub fn show(&self, order_id: &str) -> Value {
        serde_json::from_str(&self.cli(&["order", "show", order_id])).expect("order show prints JSON")
    }
}

/// A create-order request as a merchant site sends it (form fields, signed).
#[derive(Clone, Debug)]
pub struct NewOrder {
    pub fields: Vec<(String, String)>,
}

impl NewOrder {
    pub fn new(order_no: &str, order_type: &str, amount: &str, notify_url: &str) -> NewOrder {
        let mut o = NewOrder { fields: Vec::new() };
        o.set("userid", "10001");
        o.set("subject", "测试商品 test item");
        o.set("order_no", order_no);
        o.set("order_type", order_type);
        o.set("amount", amount);
        o.set("notify_url", notify_url);
        o.sign();
        o
    }

    pub fn get(&self, k: &str) -> &str {
        self.fields.iter().find(|(fk, _)| fk == k).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.fields.retain(|(fk, _)| fk != k);
        self.fields.push((k.into(), v.into()));
        self
    }

    pub fn remove(&mut self, k: &str) -> &mut Self {
        self.fields.retain(|(fk, _)| fk != k);
        self
    }

    /// Signs with [`KEY`] over the fields as they are now.
    pub fn sign(&mut self) -> &mut Self {
        let s = sign::create_order_sign(
            self.get("userid"),
            self.get("order_no"),
            self.get("order_type"),
            self.get("amount"),
            self.get("return_url"),
            KEY,
        );
        self.set("sign", &s)
    }

    pub async fn post(&self, gw: &Gateway) -> Value {
        self.post_to(&gw.url).await
    }

    /// Posts to the gateway (or a proxy in front of it) at `base_url`.
    pub async fn post_to(&self, base_url: &str) -> Value {
        let resp = http().post(format!("{base_url}/gateway")).form(&self.fields).send().await.expect("POST /gateway");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("JSON envelope")
    }

    /// Posts and returns the order id, panicking on failure.
    pub async fn create(&self, gw: &Gateway) -> String {
        let v = self.post(gw).await;
        assert_eq!(v["success"], true, "create failed: {v}");
        v["order_id"].as_str().expect("order_id").to_owned()
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(40)).build().expect("client")
}

pub async fn get_json(url: &str) -> Value {
    let resp = http().get(url).send().await.expect("GET");
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.expect("JSON")
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", rand::random::<u32>())
}

/// Polls `f` until it returns Some or `timeout` passes.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
