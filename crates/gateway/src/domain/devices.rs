//! Devices (paired collectors): pairing, their receiving codes, heartbeats
//! and who can confirm payments now, unmatched payments, and the order
//! changes they follow.

use super::Domain;
use super::order::valid_evidence_id;
use jiufu_protocol::collector::{MAX_CLOCK_SKEW_SECS, SourceStatus};
use jiufu_protocol::ids::random_token;
use jiufu_protocol::{Channel, Fen, MerchantId, OrderState, Secret, sign};
use jiufu_store::{Code, Device, Merchant, NewCode, NewDevice, Order, OrderFilter, StoreError, UnmatchedPayment};
use serde::Serialize;

/// How long a pairing token may be redeemed.
pub const PAIRING_TTL_SECS: i64 = 86_400;
/// The most codes one sync may carry.
pub const MAX_CODES: usize = 500;
/// The most sources one heartbeat may report.
pub const MAX_SOURCES: usize = 32;
/// The longest collector version a heartbeat may report.
pub const MAX_VERSION_LEN: usize = 32;

/// Why a device's request changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeviceRefused {
    /// The request's content breaks a rule (the text says which).
    #[error("{0}")]
    BadRequest(String),
    /// The device or its pairing is not (or no longer) good.
    #[error("{0}")]
    Unauthorized(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

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

/// A version as a collector reports it (`0.1.0`, `1.2.0-beta.1+git.5`):
/// empty (an older collector sends none), or up to [`MAX_VERSION_LEN`]
/// letters, digits and `. + - _`. Nothing else reaches the store, the CLI
/// or a log: no spaces, controls, escapes or markup.
pub fn valid_version(v: &str) -> bool {
    v.len() <= MAX_VERSION_LEN && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_'))
}

/// A receiving code as a collector syncs it.
#[derive(Debug, Clone)]
pub struct SyncedCode {
    pub uid: String,
    pub channel: Channel,
    pub qr_text: String,
    pub amount: Option<Fen>,
    pub name: String,
    pub enabled: bool,
}

/// A payment a collector saw that matches no order.
#[derive(Debug, Clone)]
pub struct UnmatchedReport {
    pub observation_id: String,
    pub channel: Channel,
    pub amount: Fen,
    pub observed_at: i64,
    pub source: String,
    pub raw_text: String,
}

/// The monitor's state as V免签's `getState` reports it.
#[derive(Debug, Clone, Copy)]
pub struct MonitorState {
    /// The last heartbeat of any collector (0: none).
    pub last_heart: i64,
    /// The latest payment among the most recently created paid orders (0: none).
    pub last_pay: i64,
    /// A collector is online.
    pub online: bool,
}

/// A paired device with its secret (shown once) and merchant.
#[derive(Debug, Clone)]
pub struct Paired {
    pub device: Device,
    pub secret: Secret,
    pub merchant: Merchant,
}

impl Domain {
    /// A one-time pairing token for `merchant`, valid [`PAIRING_TTL_SECS`];
    /// only its hash is kept.
    pub async fn pairing_token(&self, merchant: MerchantId) -> Result<Option<String>, StoreError> {
        if self.store.merchant(merchant).await?.is_none() {
            return Ok(None);
        }
        let now = self.now();
        let token = format!("jfp_{}", random_token(24));
        self.store.create_pairing_token(&sign::sha256_hex(token.as_bytes()), merchant, now + PAIRING_TTL_SECS, now).await?;
        Ok(Some(token))
    }

    /// Redeems a pairing token once and creates the device it pairs.
    pub async fn pair(&self, token: &str, name: &str) -> Result<Paired, DeviceRefused> {
        let name = name.chars().filter(|c| !c.is_control()).take(64).collect::<String>();
        let secret = Secret::generate();
        let new = NewDevice { id: format!("dev_{}", random_token(12)), name, secret: secret.clone() };
        let device = self
            .store
            .redeem_pairing_token(&sign::sha256_hex(token.trim().as_bytes()), new, self.now())
            .await?
            .ok_or_else(|| DeviceRefused::Unauthorized("the pairing token is unknown, used or expired".into()))?;
        let merchant =
            self.store.merchant(device.merchant_id).await?.ok_or_else(|| DeviceRefused::Unauthorized("merchant is gone".into()))?;
        tracing::info!(device = %device.id, merchant = %merchant.id, "collector paired");
        Ok(Paired { device, secret, merchant })
    }

    /// A paired device by its id.
    pub async fn device(&self, id: &str) -> Result<Option<Device>, StoreError> {
        self.store.device(id).await
    }

    /// Records a signed request's nonce; false when it was seen before (a
    /// replay). Kept for twice the clock skew a request may have.
    pub async fn use_nonce(&self, device: &Device, nonce: &str) -> Result<bool, StoreError> {
        let now = self.now();
        self.store.use_nonce(&device.id, nonce, now + 2 * MAX_CLOCK_SKEW_SECS, now).await
    }

    /// Replaces the codes that came from `device` with `codes`.
    pub async fn sync_codes(&self, device: &Device, codes: Vec<SyncedCode>) -> Result<usize, DeviceRefused> {
        if codes.len() > MAX_CODES {
            return Err(DeviceRefused::BadRequest(format!("at most {MAX_CODES} codes")));
        }
        let mut new = Vec::with_capacity(codes.len());
        for c in codes {
            if c.qr_text.trim().is_empty() || c.qr_text.len() > 1024 || c.uid.is_empty() || c.uid.len() > 64 || c.name.chars().count() > 64
            {
                return Err(DeviceRefused::BadRequest(format!("code {:?}: qr_text 1-1024, uid 1-64 and name up to 64 characters", c.uid)));
            }
            new.push(NewCode {
                merchant_id: device.merchant_id,
                channel: c.channel,
                qr_text: c.qr_text.trim().to_owned(),
                amount: c.amount,
                name: c.name,
                enabled: c.enabled,
                origin: device.id.clone(),
                uid: c.uid,
            });
        }
        Ok(self.store.replace_device_codes(device.merchant_id, &device.id, new, self.now()).await?)
    }

    /// Marks the device seen now with its sources and version; returns now.
    pub async fn heartbeat(&self, device: &Device, sources: &[SourceStatus], version: &str) -> Result<i64, DeviceRefused> {
        if sources.len() > MAX_SOURCES {
            return Err(DeviceRefused::BadRequest(format!("at most {MAX_SOURCES} sources")));
        }
        if !valid_version(version) {
            return Err(DeviceRefused::BadRequest(format!(
                "version: at most {MAX_VERSION_LEN} printable ASCII characters without spaces (letters, digits, . + - _)"
            )));
        }
        let sources = serde_json::to_string(sources).unwrap_or_else(|_| "[]".into());
        let now = self.now();
        self.store.heartbeat(&device.id, &sources, version, now).await?;
        Ok(now)
    }

    /// Records a payment that matches no order, once per observation;
    /// true when it was new.
    pub async fn report_unmatched(&self, device: &Device, report: UnmatchedReport) -> Result<bool, DeviceRefused> {
        if !valid_evidence_id(&report.observation_id) {
            return Err(DeviceRefused::BadRequest("evidence.observation_id must be 1-128 characters".into()));
        }
        let recorded = self
            .store
            .record_unmatched(UnmatchedPayment {
                merchant_id: device.merchant_id,
                device_id: device.id.clone(),
                observation_id: report.observation_id,
                channel: report.channel,
                amount: report.amount,
                observed_at: report.observed_at,
                source: report.source.chars().take(64).collect(),
                raw_text: report.raw_text.chars().take(2000).collect(),
                reported_at: self.now(),
            })
            .await?;
        if recorded {
            tracing::warn!(device = %device.id, channel = %report.channel, amount = %report.amount, "unmatched payment reported");
        }
        Ok(recorded)
    }

    pub async fn unmatched(&self, merchant: MerchantId) -> Result<Vec<UnmatchedPayment>, StoreError> {
        self.store.unmatched(merchant).await
    }

    /// The merchant's devices and whether each is online now.
    pub async fn device_health(&self, merchant: MerchantId) -> Result<Vec<DeviceHealth>, StoreError> {
        let now = self.now();
        let devices = self.store.devices(merchant).await?;
        Ok(devices.iter().map(|d| device_health(d, now, self.policy.collector_online_secs)).collect())
    }

    /// True when an online collector of the merchant has an online source
    /// that covers `channel` (a source naming no channels covers all).
    pub async fn can_confirm(&self, merchant: MerchantId, channel: Channel, now: i64) -> Result<bool, StoreError> {
        let devices = self.store.devices(merchant).await?;
        Ok(devices
            .iter()
            .map(|d| device_health(d, now, self.policy.collector_online_secs))
            .any(|h| h.online && h.sources.iter().any(|s| s.online && (s.channels.is_empty() || s.channels.contains(&channel)))))
    }

    /// The last heartbeat, the last payment and whether a collector is online.
    pub async fn monitor_state(&self, merchant: MerchantId) -> Result<MonitorState, StoreError> {
        let now = self.now();
        let devices = self.store.devices(merchant).await?;
        let last_heart = devices.iter().filter_map(|d| d.last_seen).max().unwrap_or(0);
        let online = devices.iter().any(|d| device_health(d, now, self.policy.collector_online_secs).online);
        let filter =
            OrderFilter { merchant_id: Some(merchant), state: Some(OrderState::Confirmed), limit: Some(100), ..Default::default() };
        // The latest payment among the most recently created paid orders.
        let last_pay = self.store.orders(filter).await?.iter().filter_map(|o| o.paid_at).max().unwrap_or(0);
        Ok(MonitorState { last_heart, last_pay, online })
    }

    /// The orders a device of `merchant` follows (those holding their
    /// amount), with the event cursor read first: a change racing the
    /// snapshot shows up again as an event.
    pub async fn order_snapshot(&self, merchant: MerchantId) -> Result<(i64, Vec<Order>), StoreError> {
        let cursor = self.store.last_event_seq().await?;
        let filter = OrderFilter { merchant_id: Some(merchant), holding_amount: true, limit: Some(10_000), ..Default::default() };
        Ok((cursor, self.store.orders(filter).await?))
    }

    /// Order changes of `merchant` after `after`, oldest first.
    pub async fn order_events(&self, merchant: MerchantId, after: i64, limit: usize) -> Result<Vec<(i64, Order)>, StoreError> {
        self.store.order_events(merchant, after, limit).await
    }

    /// The codes a device's merchant has (the device's own and others').
    pub async fn device_codes(&self, device: &Device) -> Result<Vec<Code>, StoreError> {
        self.store.codes(device.merchant_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::valid_version;

    #[test]
    fn a_reported_version_is_short_and_plain() {
        for ok in ["", "0.1.0", "1.2.0-beta.1+git.5", "0.1.0_rc", &"9".repeat(32)] {
            assert!(valid_version(ok), "{ok:?}");
        }
        for bad in [&"9".repeat(33), "0.1.0 ", "0.1\n0", "\u{1b}[31m1.0", "<b>1</b>", "1.0;rm", "版本1", "1.0\u{0}", "1.0\u{202e}"] {
            assert!(!valid_version(bad), "{bad:?}");
        }
    }
}
