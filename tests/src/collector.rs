//! A `jiufu-collector` process on its own database, paired with a gateway,
//! and a phone that speaks the V免签 and SmsForwarder wire formats.

use crate::{Gateway, Proc, http};
use jiufu_protocol::sign;
use serde_json::Value;

pub const PUSH_KEY: &str = "KEY123";
pub const SMSF_SECRET: &str = "SEC";

pub struct CollectorProc(Proc);

impl std::ops::Deref for CollectorProc {
    type Target = Proc;
    fn deref(&self) -> &Proc {
        &self.0
    }
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
        let env = vec![
            ("JIUFU_COLLECTOR_DB".into(), tmp.path().join("collector.db").display().to_string()),
            ("JIUFU_COLLECTOR_KEY".into(), PUSH_KEY.into()),
            ("JIUFU_COLLECTOR_SMSF_SECRET".into(), SMSF_SECRET.into()),
            ("JIUFU_COLLECTOR_HEARTBEAT_SECS".into(), "1".into()),
            ("JIUFU_COLLECTOR_DBUS".into(), "false".into()),
            ("JIUFU_LOG".into(), "info".into()),
        ];
        let mut c = CollectorProc(Proc::new("jiufu-collector", "JIUFU_COLLECTOR_LISTEN", env, extra_env, tmp));
        c.cli(&["pair", token, "--gateway", &gw.url]);
        c.cli(&["code", "add", "--channel", "P901", "--qr", "https://qr.alipay.com/collector-code", "--name", "支付宝收钱码"]);
        c.0.spawn(&["run"], "127.0.0.1:0");
        c
    }

    pub fn kill9(&mut self) {
        self.0.kill9();
    }

    pub fn restart(&mut self) {
        self.0.kill9();
        let listen = format!("127.0.0.1:{}", self.0.port);
        self.0.spawn(&["run"], &listen);
    }

    /// `payments` (or `payments --unmatched`) as JSON values.
    pub fn payments(&self, unmatched: bool) -> Vec<Value> {
        let args: &[&str] = if unmatched { &["payments", "--unmatched"] } else { &["payments"] };
        self.cli(args).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
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
