//! Per-device request authentication: HMAC over method, path, timestamp,
//! nonce and body; timestamps within 5 minutes; each nonce used once.

use super::CollectorError;
use crate::Shared;
use axum::http::{HeaderMap, Method, Uri};
use jiufu_protocol::collector::{self, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, MAX_CLOCK_SKEW_SECS};
use jiufu_protocol::sign;
use jiufu_store::Device;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, CollectorError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| CollectorError::unauthorized(format!("missing header {name}")))
}

pub async fn authenticate(app: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Device, CollectorError> {
    let device_id = header(headers, HEADER_DEVICE)?;
    let timestamp: i64 = header(headers, HEADER_TIMESTAMP)?.parse().map_err(|_| CollectorError::unauthorized("bad timestamp"))?;
    let nonce = header(headers, HEADER_NONCE)?;
    let given = header(headers, HEADER_SIGNATURE)?;
    if nonce.len() < 16 || nonce.len() > 64 {
        return Err(CollectorError::unauthorized("nonce must be 16-64 characters"));
    }
    let now = app.domain.now();
    // The header is unauthenticated: compare without arithmetic that can overflow.
    if now.abs_diff(timestamp) > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
        return Err(CollectorError::unauthorized("timestamp is more than 5 minutes from the gateway's clock"));
    }
    let device = app.domain.device(device_id).await?.ok_or_else(|| CollectorError::unauthorized("unknown device"))?;
    if app.domain.enabled_merchant(device.merchant_id).await?.is_none() {
        return Err(CollectorError::unauthorized("the device's merchant is disabled"));
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let expected = collector::request_signature(device.secret.expose(), method.as_str(), path, timestamp, nonce, body);
    if !sign::hex_digest_eq(&expected, given) {
        return Err(CollectorError::unauthorized("bad signature"));
    }
    // Only after the signature holds, so strangers cannot fill the nonce table.
    if !app.domain.use_nonce(&device, nonce).await? {
        return Err(CollectorError::unauthorized("replayed request"));
    }
    Ok(device)
}

/// A request signed by a paired device: extracting it authenticates it, so
/// a handler that takes one cannot forget to.
pub struct Signed {
    pub device: Device,
    pub body: axum::body::Bytes,
}

/// The largest body a collector request may carry.
const MAX_BODY: usize = 256 * 1024;

impl axum::extract::FromRequest<Shared> for Signed {
    type Rejection = CollectorError;

    async fn from_request(req: axum::extract::Request, app: &Shared) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| CollectorError::bad_request("body too large or unreadable"))?;
        let device = authenticate(app, &parts.method, &parts.uri, &parts.headers, &body).await?;
        Ok(Signed { device, body })
    }
}
