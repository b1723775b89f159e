//! Collector endpoints: parse, authenticate, call the domain, answer JSON.

use super::{CollectorError, Signed};
use crate::order::{PaymentRefused, SeenPayment};
use crate::{Shared, clock, order};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiufu_protocol::collector::*;
use jiufu_protocol::ids::random_token;
use jiufu_protocol::{Actor, CollectorErrorCode, Secret, Transition, sign};
use jiufu_store::{Device, NewCode, NewDevice, Order, OrderFilter, StateChange, TransitionOutcome, UnmatchedPayment};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

type Result<T> = std::result::Result<Json<T>, CollectorError>;

fn parse<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, CollectorError> {
    serde_json::from_slice(body).map_err(|e| CollectorError::bad_request(format!("invalid JSON body: {e}")))
}

pub fn wire(order: &Order) -> OrderWire {
    OrderWire {
        order_id: order.id.clone(),
        order_no: order.order_no.to_string(),
        channel: order.channel.into(),
        state: order.state.into(),
        order_amount: order.order_fen.into(),
        payable_amount: order.payable_fen.into(),
        subject: order.subject.clone(),
        created_at: order.created_at,
        expire_at: order.expire_at,
        quarantine_until: order.quarantine_until,
        claimed_at: order.claimed_at,
        dialect: order.dialect.into(),
    }
}

pub async fn pair(State(app): State<Shared>, body: Bytes) -> Result<PairResponse> {
    let req: PairRequest = parse(&body)?;
    let name = req.name.chars().filter(|c| !c.is_control()).take(64).collect::<String>();
    let secret = Secret::generate();
    let new = NewDevice { id: format!("dev_{}", random_token(12)), name, secret: secret.clone() };
    let now = clock::now();
    let device = app
        .store
        .redeem_pairing_token(&sign::sha256_hex(req.token.trim().as_bytes()), new, now)
        .await?
        .ok_or_else(|| CollectorError::unauthorized("the pairing token is unknown, used or expired"))?;
    let merchant = app.store.merchant(device.merchant_id).await?.ok_or_else(|| CollectorError::unauthorized("merchant is gone"))?;
    tracing::info!(device = %device.id, merchant = %merchant.id, "collector paired");
    Ok(Json(PairResponse {
        device_id: device.id,
        secret: secret.expose().to_owned(),
        merchant_id: merchant.id.get(),
        merchant_name: merchant.name,
    }))
}

pub async fn sync_codes(State(app): State<Shared>, Signed { device, body }: Signed) -> Result<CodeSyncResponse> {
    let sync: CodeSync = parse(&body)?;
    if sync.codes.len() > 500 {
        return Err(CollectorError::bad_request("at most 500 codes"));
    }
    let mut codes = Vec::with_capacity(sync.codes.len());
    for c in sync.codes {
        if c.qr_text.trim().is_empty() || c.qr_text.len() > 1024 || c.uid.is_empty() || c.uid.len() > 64 || c.name.chars().count() > 64 {
            return Err(CollectorError::bad_request(format!("code {:?}: qr_text 1-1024, uid 1-64 and name up to 64 characters", c.uid)));
        }
        codes.push(NewCode {
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
    let accepted = app.store.replace_device_codes(device.merchant_id, &device.id, codes, clock::now()).await?;
    Ok(Json(CodeSyncResponse { accepted }))
}

pub async fn list_codes(State(app): State<Shared>, Signed { device, .. }: Signed) -> Result<Vec<CodeWire>> {
    let codes = app.store.codes(device.merchant_id).await?;
    Ok(Json(
        codes
            .into_iter()
            .map(|c| CodeWire { uid: c.uid, channel: c.channel, qr_text: c.qr_text, amount: c.amount, name: c.name, enabled: c.enabled })
            .collect(),
    ))
}

pub async fn orders(State(app): State<Shared>, Signed { device, .. }: Signed) -> Result<OrdersSnapshot> {
    // The cursor is read first: a change racing the snapshot shows up again as an event.
    let cursor = app.store.last_event_seq().await?;
    let filter = OrderFilter { merchant_id: Some(device.merchant_id), holding_amount: true, limit: Some(10_000), ..Default::default() };
    let orders = app.store.orders(filter).await?;
    Ok(Json(OrdersSnapshot { cursor, orders: orders.iter().map(wire).collect() }))
}

#[derive(Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_wait")]
    wait: u64,
}

fn default_wait() -> u64 {
    25
}

/// Long poll: answers at once when there are changes after `after`,
/// otherwise within `wait` seconds (at most 30).
pub async fn events(State(app): State<Shared>, Query(q): Query<EventsQuery>, Signed { device, .. }: Signed) -> Result<EventBatch> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(q.wait.min(30));
    let mut changes = app.order_changes.subscribe();
    loop {
        changes.mark_unchanged();
        let batch = app.store.order_events(device.merchant_id, q.after, 500).await?;
        if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
            let cursor = batch.last().map(|(seq, _)| *seq).unwrap_or(q.after);
            let events = batch.into_iter().map(|(seq, o)| OrderEvent { seq, order: wire(&o) }).collect();
            return Ok(Json(EventBatch { events, cursor }));
        }
        // Changes made by this process wake us at once; another process
        // (the CLI) is noticed within a second.
        let nap = deadline.saturating_duration_since(tokio::time::Instant::now()).min(Duration::from_secs(1));
        let _ = tokio::time::timeout(nap, changes.changed()).await;
    }
}

async fn own_order(app: &Shared, device: &Device, id: &str) -> std::result::Result<Order, CollectorError> {
    match crate::error::find_order(app, id).await {
        Ok(o) if o.merchant_id == device.merchant_id => Ok(o),
        _ => Err(CollectorError::new(StatusCode::NOT_FOUND, CollectorErrorCode::NotFound, "no such order")),
    }
}

pub async fn confirm(State(app): State<Shared>, Signed { device, body }: Signed) -> Result<ConfirmResponse> {
    let req: ConfirmRequest = parse(&body)?;
    let order = own_order(&app, &device, &req.order_id).await?;
    let payment = SeenPayment {
        channel: req.channel,
        amount: req.amount,
        observation_id: req.evidence.observation_id.clone(),
        source: req.evidence.source.clone(),
        observed_at_ms: req.evidence.observed_at,
        evidence_json: serde_json::to_string(&req.evidence).unwrap_or_default(),
    };
    let unprocessable = |code, e: PaymentRefused| CollectorError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string());
    let conflict = |code, e: PaymentRefused| CollectorError::new(StatusCode::CONFLICT, code, e.to_string());
    let (order, duplicate) = order::confirm_payment(&app, &order, Actor::Device(device.id.clone()), payment).await.map_err(|e| match e {
        e @ PaymentRefused::ChannelMismatch => unprocessable(CollectorErrorCode::ChannelMismatch, e),
        e @ PaymentRefused::AmountMismatch { .. } => unprocessable(CollectorErrorCode::AmountMismatch, e),
        e @ PaymentRefused::TooLate => conflict(CollectorErrorCode::WrongState, e),
        e @ PaymentRefused::AlreadyPaid => conflict(CollectorErrorCode::AlreadyPaid, e),
        e @ PaymentRefused::BadEvidence => CollectorError::bad_request(e.to_string()),
        PaymentRefused::Store(e) => e.into(),
    })?;
    Ok(Json(ConfirmResponse { order_id: order.id.to_string(), state: order.state.into(), duplicate }))
}

pub async fn reject(State(app): State<Shared>, Path(id): Path<String>, Signed { device, body }: Signed) -> Result<ConfirmResponse> {
    let req: RejectRequest = parse(&body)?;
    let order = own_order(&app, &device, &id).await?;
    let reason: String = req.reason.chars().filter(|c| !c.is_control()).take(200).collect();
    let change = StateChange::new(Transition::RejectClaim, Actor::Device(device.id.clone())).reason(reason);
    match order::change(&app, &order.id, change).await? {
        TransitionOutcome::Applied(o) | TransitionOutcome::AlreadyApplied(o) => {
            Ok(Json(ConfirmResponse { order_id: o.id.to_string(), state: o.state.into(), duplicate: false }))
        }
    }
}

pub async fn unmatched(State(app): State<Shared>, Signed { device, body }: Signed) -> Result<serde_json::Value> {
    let report: UnmatchedReport = parse(&body)?;
    let ev = report.evidence;
    if ev.observation_id.is_empty() || ev.observation_id.len() > 128 {
        return Err(CollectorError::bad_request("evidence.observation_id must be 1-128 characters"));
    }
    let recorded = app
        .store
        .record_unmatched(UnmatchedPayment {
            merchant_id: device.merchant_id,
            device_id: device.id.clone(),
            observation_id: ev.observation_id,
            channel: report.channel,
            amount: report.amount,
            observed_at: ev.observed_at,
            source: ev.source.chars().take(64).collect(),
            raw_text: ev.raw_text.chars().take(2000).collect(),
            reported_at: clock::now(),
        })
        .await?;
    if recorded {
        tracing::warn!(device = %device.id, channel = %report.channel, amount = %report.amount, "unmatched payment reported");
    }
    Ok(Json(serde_json::json!({"recorded": recorded})))
}

/// The longest collector version a heartbeat may report.
pub const MAX_VERSION_LEN: usize = 32;

/// A version as a collector reports it (`0.1.0`, `1.2.0-beta.1+git.5`):
/// empty (an older collector sends none), or up to [`MAX_VERSION_LEN`]
/// letters, digits and `. + - _`. Nothing else reaches the store, the CLI
/// or a log: no spaces, controls, escapes or markup.
pub fn valid_version(v: &str) -> bool {
    v.len() <= MAX_VERSION_LEN && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_'))
}

pub async fn heartbeat(State(app): State<Shared>, Signed { device, body }: Signed) -> Result<HeartbeatResponse> {
    let beat: Heartbeat = parse(&body)?;
    if beat.sources.len() > 32 {
        return Err(CollectorError::bad_request("at most 32 sources"));
    }
    if !valid_version(&beat.version) {
        return Err(CollectorError::bad_request(format!(
            "version: at most {MAX_VERSION_LEN} printable ASCII characters without spaces (letters, digits, . + - _)"
        )));
    }
    let sources = serde_json::to_string(&beat.sources).unwrap_or_else(|_| "[]".into());
    let now = clock::now();
    app.store.heartbeat(&device.id, &sources, &beat.version, now).await?;
    Ok(Json(HeartbeatResponse { server_time: now }))
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
