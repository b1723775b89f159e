//! A `jiufu-collector` process on its own database, paired with a gateway,
//! and a phone that speaks the V免签 and SmsForwarder wire formats.

use crate::{Gateway, bin, http};
use jiufu_protocol::sign;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PUSH_KEY: &str = "KEY123";
pub const SMSF_SECRET: &str = "SEC";

pub struct CollectorProc {
    pub dir: PathBuf,
    pub url: String,
    pub port: u16,
    child: Option<Child>,
    env: Vec<(String, String)>,
    _tmp: tempfile::TempDir,
}

impl CollectorProc {
    /// A fresh collector paired with `gw` (merchant 10001) with an Alipay code.
    pub fn paired(gw: &Gateway, extra_env: &[(&str, &str)]) -> CollectorProc {
        let token = gw.cli(&["collector", "pair", "--merchant", "10001"]);
        Self::paired_with_token(gw, token.trim(), extra_env)
    }

    /// A fresh collector paired with whatever merchant `token` is for.
    pub fn paired_with_token(gw: &Gateway, token: &str, extra_env: &[(&str, &str)]) -> CollectorProc {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut env: Vec<(String, String)> = vec![
            ("JIUFU_COLLECTOR_DB".into(), dir.join("collector.db").display().to_string()),
            ("JIUFU_COLLECTOR_KEY".into(), PUSH_KEY.into()),
            ("JIUFU_COLLECTOR_SMSF_SECRET".into(), SMSF_SECRET.into()),
            ("JIUFU_COLLECTOR_HEARTBEAT_SECS".into(), "1".into()),
            ("JIUFU_COLLECTOR_DBUS".into(), "false".into()),
            ("JIUFU_LOG".into(), "info".into()),
        ];
        for (k, v) in extra_env {
            env.retain(|(ek, _)| ek != k);
            env.push((k.to_string(), v.to_string()));
        }
        let mut c = CollectorProc { dir, url: String::new(), port: 0, child: None, env, _tmp: tmp };
        c.cli(&["pair", token, "--gateway", &gw.url]);
        c.cli(&["code", "add", "--channel", "P901", "--qr", "https://qr.alipay.com/collector-code", "--name", "支付宝收钱码"]);
        c.spawn("127.0.0.1:0");
        c
    }

    fn spawn(&mut self, listen: &str) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("collector.log")).expect("log");
        let mut child = Command::new(bin("jiufu-collector"))
            .arg("run")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("JIUFU_COLLECTOR_LISTEN", listen)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start jiufu-collector");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            assert!(Instant::now() < deadline, "collector did not start");
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(u) = line.strip_prefix("jiufu-collector listening on ") {
                        break u.trim().to_owned();
                    }
                }
                _ => panic!("collector exited; see {}", self.dir.join("collector.log").display()),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        self.port = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        self.url = url;
        self.child = Some(child);
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill9();
        let listen = format!("127.0.0.1:{}", self.port);
        self.spawn(&listen);
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(bin("jiufu-collector"))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("JIUFU_LOG", "warn")
            .output()
            .expect("run jiufu-collector");
        assert!(out.status.success(), "jiufu-collector {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `payments` (or `payments --unmatched`) as JSON values.
    pub fn payments(&self, unmatched: bool) -> Vec<Value> {
        let args: &[&str] = if unmatched { &["payments", "--unmatched"] } else { &["payments"] };
        self.cli(args).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("collector.log")).unwrap_or_default()
    }
}

impl Drop for CollectorProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The V免签 phone app's payment push: `GET /appPush?t&type&price&sign`.
pub async fn vmq_push(c: &CollectorProc, kind: &str, price: &str, t: i64, key: &str) -> Value {
    let t = t.to_string();
    let s = sign::vmq_push_sign(kind, price, &t, key);
    let url = format!("{}/appPush?t={t}&type={kind}&price={price}&sign={s}", c.url);
    http().get(url).send().await.expect("appPush").json().await.expect("V免签 JSON reply")
}

pub async fn vmq_heart(c: &CollectorProc) -> Value {
    let t = now_ms().to_string();
    let s = sign::vmq_heart_sign(&t, PUSH_KEY);
    http().get(format!("{}/appHeart?t={t}&sign={s}", c.url)).send().await.expect("appHeart").json().await.expect("JSON")
}

/// SmsForwarder's default webhook: a form with from, content, timestamp and
/// sign, the sign URL-encoded by the app.
pub async fn smsforwarder(c: &CollectorProc, from: &str, content: &str, timestamp: i64, secret: &str) -> u16 {
    let ts = timestamp.to_string();
    let s = sign::smsforwarder_sign(&ts, secret);
    let encoded: String = percent_encode(&s);
    let body = format!("from={}&content={}&timestamp={ts}&sign={encoded}", percent_encode(from), percent_encode(content));
    http()
        .post(format!("{}/forward/smsforwarder", c.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("smsforwarder")
        .status()
        .as_u16()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
