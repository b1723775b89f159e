//! A paired collector device as the gateway sees it: pairs through the
//! CLI's one-time token and signs `/collector/v1/*` requests with its
//! secret (timestamp, nonce, HMAC), as `docs/collector-protocol.md` says.

use crate::{Gateway, http};
use jiufu_protocol::collector::{HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, PairResponse, request_signature};
use jiufu_protocol::ids::random_token;
use serde_json::{Value, json};

pub struct Device {
    pub gateway: String,
    pub id: String,
    pub secret: String,
}

/// A signed request's answer: HTTP status and JSON body (Null if none).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The collector API's error code, `{"error":{"code":…}}`.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

impl Device {
    /// Pairs a new device with merchant 10001.
    pub async fn pair(gw: &Gateway) -> Device {
        let token = gw.cli(&["collector", "pair", "--merchant", "10001"]).trim().to_owned();
        let resp =
            http().post(format!("{}/collector/v1/pair", gw.url)).json(&json!({"token": token, "name": "test"})).send().await.unwrap();
        assert_eq!(resp.status(), 200, "pairing");
        let p: PairResponse = resp.json().await.unwrap();
        Device { gateway: gw.url.clone(), id: p.device_id, secret: p.secret }
    }

    /// The four signing headers for a request, with any timestamp.
    pub fn headers(&self, method: &str, path: &str, body: &[u8], timestamp: i64) -> Vec<(&'static str, String)> {
        let nonce = random_token(16);
        let sig = request_signature(&self.secret, method, path, timestamp, &nonce, body);
        vec![(HEADER_DEVICE, self.id.clone()), (HEADER_TIMESTAMP, timestamp.to_string()), (HEADER_NONCE, nonce), (HEADER_SIGNATURE, sig)]
    }

    pub async fn send_with(&self, method: &str, path: &str, body: &[u8], headers: Vec<(&'static str, String)>) -> Answer {
        let mut req = http().request(method.parse().unwrap(), format!("{}{path}", self.gateway)).body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.header("content-type", "application/json").send().await.expect("the gateway answers");
        let status = resp.status().as_u16();
        Answer { status, body: resp.json().await.unwrap_or(Value::Null) }
    }

    /// A request signed now.
    pub async fn send(&self, method: &str, path: &str, body: &Value) -> Answer {
        let bytes = if body.is_null() { Vec::new() } else { serde_json::to_vec(body).unwrap() };
        let headers = self.headers(method, path, &bytes, now());
        self.send_with(method, path, &bytes, headers).await
    }
}
