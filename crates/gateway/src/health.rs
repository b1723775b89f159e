//! Who can confirm payments right now: paired collectors and their sources,
//! as told by their heartbeats.

use crate::Shared;
use jiufu_protocol::collector::SourceStatus;
use jiufu_protocol::{Channel, MerchantId};
use jiufu_store::{Device, StoreError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct DeviceHealth {
    pub device_id: String,
    pub name: String,
    pub online: bool,
    pub last_seen: Option<i64>,
    /// The collector version of its last heartbeat; `None` before the first
    /// (or from a collector too old to say).
    pub version: Option<String>,
    pub sources: Vec<SourceStatus>,
}

/// `window`: how long after its last heartbeat a collector counts as online.
pub fn device_health(device: &Device, now: i64, window: i64) -> DeviceHealth {
    let online = device.last_seen.is_some_and(|t| now - t <= window);
    let sources: Vec<SourceStatus> = serde_json::from_str(&device.sources_json).unwrap_or_default();
    DeviceHealth {
        device_id: device.id.clone(),
        name: device.name.clone(),
        online,
        last_seen: device.last_seen,
        version: Some(device.version.clone()).filter(|v| !v.is_empty()),
        // A source of an offline collector is offline too.
        sources: sources.into_iter().map(|s| SourceStatus { online: s.online && online, ..s }).collect(),
    }
}

/// True when an online collector of the merchant has an online source that
/// covers `channel` (a source naming no channels covers all).
pub async fn can_confirm(app: &Shared, merchant_id: MerchantId, channel: Channel, now: i64) -> Result<bool, StoreError> {
    let devices = app.store.devices(merchant_id).await?;
    Ok(devices
        .iter()
        .map(|d| device_health(d, now, app.config.collector_online_secs))
        .any(|h| h.online && h.sources.iter().any(|s| s.online && (s.channels.is_empty() || s.channels.contains(&channel)))))
}
