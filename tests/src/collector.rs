//! A `jiufu-collector` process on its own database, paired with a gateway,
//! and a phone that speaks the V免签 and SmsForwarder wire formats.

use crate::{Gateway, Proc, http};
use jiufu_protocol::sign;
use serde_json::Value;

/// Keys and secrets are at least 16 characters (the collector refuses shorter ones).
pub const PUSH_KEY: &str = "KEY123-phone-push-key";
pub const SMSF_SECRET: &str = "SEC-smsforwarder-secret";

pub struct CollectorProc(Proc, String);

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
        Self::paired_with_url(&gw.url, token, extra_env)
    }

    /// A fresh collector paired through `gateway_url` (a gateway, or a balancer in front of several).
    pub fn paired_with_url(gateway_url: &str, token: &str, extra_env: &[(&str, &str)]) -> CollectorProc {
        let tmp = tempfile::tempdir().expect("tempdir");
        let env = vec![
            ("JIUFU_COLLECTOR_DB".into(), tmp.path().join("collector.db").display().to_string()),
            ("JIUFU_COLLECTOR_KEY".into(), PUSH_KEY.into()),
            ("JIUFU_COLLECTOR_SMSF_SECRET".into(), SMSF_SECRET.into()),
            ("JIUFU_COLLECTOR_HEARTBEAT_SECS".into(), "1".into()),
            ("JIUFU_COLLECTOR_DBUS".into(), "false".into()),
            ("JIUFU_LOG".into(), "info".into()),
        ];
        let mut c = CollectorProc(Proc::new("jiufu-collector", "JIUFU_COLLECTOR_LISTEN", env, extra_env, tmp), String::new());
        c.1 = c.cli(&["pair", token, "--gateway", gateway_url]);
        c.cli(&["code", "add", "--channel", "P901", "--qr", "https://qr.alipay.com/collector-code", "--name", "支付宝收钱码"]);
        c.0.spawn(&["run"], "127.0.0.1:0");
        c
    }

    /// Waits until the collector's code has reached the gateway `gw`.
    pub async fn wait_code_synced(&self, gw: &Gateway) {
        crate::wait_for(std::time::Duration::from_secs(10), || async {
            gw.cli(&["code", "list", "--merchant", "10001"]).contains("collector-code").then_some(())
        })
        .await
        .expect("the collector's code reached the gateway");
    }

    pub fn kill9(&mut self) {
        self.0.kill9();
    }

    /// What the first command (`pair`, on a fresh store) printed on stdout.
    pub fn first_output(&self) -> &str {
        &self.1
    }

    /// `status` as JSON.
    pub fn status(&self) -> Value {
        serde_json::from_str(&self.cli(&["status"])).expect("status prints JSON")
    }

    pub fn restart(&mut self) {
        self.0.kill9();
        let listen = format!("127.0.0.1:{}", self.0.port);
        self.0.spawn(&["run"], &listen);
    }

    /// `payments` (or `payments --unmatched`) as JSON values.
    pub fn payments(&self, unmatched: bool) -> Vec<Value> {
        let args: &[&str] = if unmatched { &["payments", "--unmatched"] } else { &["payments"] };
        json_lines(&self.cli(args))
    }

    /// `outbox`: the delivery queue, delivered items included, with their attempts.
    pub fn outbox(&self) -> Vec<Value> {
        json_lines(&self.cli(&["outbox"]))
    }
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
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
    smsforwarder_form(c, &smsforwarder_body(from, content, timestamp, Some(secret)), &[]).await.0
}

/// The form SmsForwarder posts; `secret: None` leaves the sign out.
pub fn smsforwarder_body(from: &str, content: &str, timestamp: i64, secret: Option<&str>) -> String {
    let ts = timestamp.to_string();
    let mut body = format!("from={}&content={}&timestamp={ts}", percent_encode(from), percent_encode(content));
    if let Some(secret) = secret {
        body.push_str(&format!("&sign={}", percent_encode(&sign::smsforwarder_sign(&ts, secret))));
    }
    body
}

/// Posts a form body to the SmsForwarder route with extra headers: the status and the JSON reply.
pub async fn smsforwarder_form(c: &CollectorProc, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = http().post(format!("{}/forward/smsforwarder", c.url)).header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.body(body.to_owned()).send().await.expect("smsforwarder");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
