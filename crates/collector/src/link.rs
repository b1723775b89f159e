//! The gateway link (`docs/collector-protocol.md`): the collector only
//! dials out; every request after pairing is signed for this device.

use jiufu_protocol::collector::{
    self, ErrorBody, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, PairRequest, PairResponse,
};
use jiufu_protocol::ids::random_token;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The gateway could not be reached or failed: try again later.
    #[error("gateway unavailable for now: {0}")]
    Transport(String),
    /// The gateway understood and refused: retrying will not help.
    #[error("gateway refused ({status} {code}): {message}")]
    Refused { status: u16, code: String, message: String },
}

impl LinkError {
    pub fn code(&self) -> &str {
        match self {
            LinkError::Transport(_) => "transport",
            LinkError::Refused { code, .. } => code,
        }
    }
}

#[derive(Clone)]
pub struct Link {
    http: reqwest::Client,
    base: String,
    device_id: String,
    secret: String,
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).connect_timeout(Duration::from_secs(10)).no_proxy().build().expect("HTTP client")
}

/// Exchanges a one-time pairing token for device credentials.
pub async fn pair(gateway: &str, token: &str, name: &str) -> Result<PairResponse, LinkError> {
    let resp = client(Duration::from_secs(20))
        .post(format!("{}/collector/v1/pair", gateway.trim_end_matches('/')))
        .json(&PairRequest { token: token.trim().to_owned(), name: name.to_owned() })
        .send()
        .await
        .map_err(|e| LinkError::Transport(e.to_string()))?;
    answer(resp).await
}

/// The refusals that retrying cannot change: the payment is not that
/// order's. Everything else (a 5xx, 401 from clock skew, 409 `conflict`, a
/// proxy's 404/429, a body that is not ours) is retried.
const FINAL: &[&str] = &["already_paid", "wrong_state", "not_found", "amount_mismatch", "channel_mismatch", "bad_request"];

async fn answer<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, LinkError> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| LinkError::Transport(e.to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| LinkError::Transport(format!("unexpected answer: {e}")));
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(b) if FINAL.contains(&b.error.code.as_str()) => {
            Err(LinkError::Refused { status: status.as_u16(), code: b.error.code, message: b.error.message })
        }
        Ok(b) => Err(LinkError::Transport(format!("HTTP {status} {}: {}", b.error.code, b.error.message))),
        Err(_) => {
            Err(LinkError::Transport(format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes).chars().take(200).collect::<String>())))
        }
    }
}

impl Link {
    pub fn new(base: &str, device_id: &str, secret: &str) -> Link {
        Link {
            http: client(Duration::from_secs(40)),
            base: base.trim_end_matches('/').to_owned(),
            device_id: device_id.to_owned(),
            secret: secret.to_owned(),
        }
    }

    pub async fn call<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> Result<T, LinkError> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| LinkError::Transport(e.to_string()))?,
            None => Vec::new(),
        };
        let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let nonce = random_token(16);
        let signature = collector::request_signature(&self.secret, method.as_str(), path, ts, &nonce, &bytes);
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(HEADER_DEVICE, &self.device_id)
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, signature)
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await
            .map_err(|e| LinkError::Transport(e.to_string()))?;
        answer(resp).await
    }

    /// The same gateway and device credentials.
    pub fn same_device(&self, other: &Link) -> bool {
        self.base == other.base && self.device_id == other.device_id
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, LinkError> {
        self.call(Method::GET, path, None::<&()>).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, LinkError> {
        self.call(Method::POST, path, Some(body)).await
    }
}
