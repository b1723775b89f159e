//! The gateway link (`docs/collector-protocol.md`): the collector only
//! dials out; every request after pairing is signed for this device.

use jiufu_protocol::collector::{
    self, ErrorBody, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, PairRequest, PairResponse,
};
use jiufu_protocol::ids::random_token;
use jiufu_protocol::{CollectorErrorCode, Wire};
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
    Refused { status: u16, code: CollectorErrorCode, message: String },
    /// This collector cannot send the item at all (its payment is gone,
    /// its kind needs an order): as final as a refusal, by this code.
    #[error("gateway refused (0 {code}): {message}")]
    Unsendable { code: &'static str, message: String },
}

impl LinkError {
    pub fn code(&self) -> &str {
        match self {
            LinkError::Transport(_) => "transport",
            LinkError::Refused { code, .. } => code.as_str(),
            LinkError::Unsendable { code, .. } => code,
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

/// Every client of the link: no proxy, and no redirects (a redirect would
/// carry the signed headers, or the pairing token, to another address).
fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// Why a gateway address may not be paired with: only `https://`, or
/// `http://` to this computer (127.0.0.0/8, ::1, localhost), carry the
/// device secret safely; plain `http://` elsewhere only when the operator
/// insists (`insecure_http`). The refusal's stable code and its message.
pub fn pairing_refusal(gateway: &str, insecure_http: bool) -> Option<(&'static str, String)> {
    let bad = || Some(("bad_gateway_url", format!("{gateway:?} is not an http(s) address")));
    let Ok(url) = reqwest::Url::parse(gateway) else { return bad() };
    if url.host().is_none() || !matches!(url.scheme(), "http" | "https") {
        return bad();
    }
    if url.scheme() == "https" || insecure_http || is_loopback(&url) {
        return None;
    }
    Some((
        "insecure_http",
        format!(
            "pairing over plain http:// would send the device secret unencrypted to {}; use the gateway's https:// address \
         (or pass --insecure-http if this network is yours alone)",
            url.host_str().unwrap_or_default()
        ),
    ))
}

/// The URL parser has normalised the host: `127.1` is `127.0.0.1`, IPv6 is bracketed.
fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => a.is_loopback(),
        Ok(std::net::IpAddr::V6(a)) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
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

async fn answer<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, LinkError> {
    let status = resp.status();
    if status.is_redirection() {
        let to = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("nowhere");
        let to: String = to.chars().take(200).collect();
        return Err(LinkError::Transport(format!(
            "the gateway answered HTTP {status}, a redirect to {to:?}; the collector follows no redirects: pair with the gateway's final address"
        )));
    }
    let bytes = resp.bytes().await.map_err(|e| LinkError::Transport(e.to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| LinkError::Transport(format!("unexpected answer: {e}")));
    }
    // Only the refusals retrying cannot change are final
    // ([`CollectorErrorCode::FINAL`]); everything else (a 5xx, 401 from
    // clock skew, 409 `conflict`, a proxy's 404/429, a body that is not
    // ours, a code this build does not know) is retried.
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(b) => match b.error.code {
            Wire::Known(code) if code.is_final() => Err(LinkError::Refused { status: status.as_u16(), code, message: b.error.message }),
            Wire::Known(code) => Err(LinkError::Transport(format!("HTTP {status} {code}: {}", b.error.message))),
            Wire::Unknown(code) => Err(LinkError::Transport(format!("HTTP {status} {code}: {}", b.error.message))),
        },
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

    /// Built from exactly these credentials.
    pub fn has_credentials(&self, base: &str, device_id: &str, secret: &str) -> bool {
        self.base == base.trim_end_matches('/') && self.device_id == device_id && self.secret == secret
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, LinkError> {
        self.call(Method::GET, path, None::<&()>).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, LinkError> {
        self.call(Method::POST, path, Some(body)).await
    }
}

#[cfg(test)]
mod tests {
    use super::pairing_refusal;
    use crate::{Collector, Config, setting};
    use std::sync::Arc;

    #[tokio::test]
    async fn the_collector_holds_one_link_until_the_pairing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let c = Collector::open(Config { lan: false, dbus: false, ..Config::new(dir.path().join("collector.db")) }).await.unwrap();
        assert!(c.link().is_none(), "not paired");
        let pairing = |secret: &str| {
            [(setting::GATEWAY_URL, "http://127.0.0.1:9/"), (setting::DEVICE_ID, "dev_1"), (setting::DEVICE_SECRET, secret)]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .to_vec()
        };
        c.db.set_settings(pairing("secret-one")).await.unwrap();
        assert!(c.link().is_none(), "held until refreshed");
        let first = c.refresh_link().await.unwrap().expect("paired");
        assert!(first.has_credentials("http://127.0.0.1:9", "dev_1", "secret-one"));
        assert!(Arc::ptr_eq(&first, &c.refresh_link().await.unwrap().unwrap()), "the same link, not a new client");
        assert!(Arc::ptr_eq(&first, &c.link().unwrap()));
        c.db.set_settings(pairing("secret-two")).await.unwrap();
        let second = c.refresh_link().await.unwrap().unwrap();
        assert!(!Arc::ptr_eq(&first, &second) && second.same_device(&first), "new credentials, a new link");
    }

    #[test]
    fn plain_http_only_to_this_computer() {
        for ok in [
            "https://pay.example.com",
            "https://192.0.2.1:8443",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://127.1",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]:8080",
        ] {
            assert_eq!(pairing_refusal(ok, false), None, "{ok}");
        }
        for refused in [
            "http://192.0.2.1:1",
            "http://pay.example.com",
            "http://localhost.example.com",
            "http://127.0.0.1.example.com",
            "http://[::2]",
            "http://10.0.0.1",
            "http://0.0.0.0:8080",
        ] {
            assert!(
                pairing_refusal(refused, false).is_some_and(|(code, m)| code == "insecure_http" && m.contains("plain http://")),
                "{refused}"
            );
            assert_eq!(pairing_refusal(refused, true), None, "{refused} with --insecure-http");
        }
        for bad in ["ftp://x.example.com", "pay.example.com", "", "http://"] {
            assert!(pairing_refusal(bad, true).is_some_and(|(code, _)| code == "bad_gateway_url"), "{bad}");
        }
    }
}
