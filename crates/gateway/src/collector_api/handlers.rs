//! Collector endpoints: parse, authenticate, call the domain, answer JSON.

use super::{CollectorError, Signed};
use crate::Shared;
use crate::domain::devices::{SyncedCode, UnmatchedReport as Unmatched};
use crate::domain::{PaymentRefused, SeenPayment};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiufu_protocol::CollectorErrorCode;
use jiufu_protocol::collector::*;
use jiufu_store::{Device, Order};
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
    let paired = app.domain.pair(&req.token, &req.name).await?;
    Ok(Json(PairResponse {
        device_id: paired.device.id,
        secret: paired.secret.expose().to_owned(),
        merchant_id: paired.merchant.id.get(),
        merchant_name: paired.merchant.name,
    }))
}

pub async fn sync_codes(State(app): State<Shared>, Signed { device, body }: Signed) -> Result<CodeSyncResponse> {
    let sync: CodeSync = parse(&body)?;
    let codes = sync
        .codes
        .into_iter()
        .map(|c| SyncedCode { uid: c.uid, channel: c.channel, qr_text: c.qr_text, amount: c.amount, name: c.name, enabled: c.enabled })
        .collect();
    let accepted = app.domain.sync_codes(&device, codes).await?;
    Ok(Json(CodeSyncResponse { accepted }))
}

pub async fn list_codes(State(app): State<Shared>, Signed { device, .. }: Signed) -> Result<Vec<CodeWire>> {
    let codes = app.domain.device_codes(&device).await?;
    Ok(Json(
        codes
            .into_iter()
            .map(|c| CodeWire { uid: c.uid, channel: c.channel, qr_text: c.qr_text, amount: c.amount, name: c.name, enabled: c.enabled })
            .collect(),
    ))
}

pub async fn orders(State(app): State<Shared>, Signed { device, .. }: Signed) -> Result<OrdersSnapshot> {
    let (cursor, orders) = app.domain.order_snapshot(device.merchant_id).await?;
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
    let mut changes = app.domain.events.order_changes.subscribe();
    loop {
        changes.mark_unchanged();
        let batch = app.domain.order_events(device.merchant_id, q.after, 500).await?;
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
    let (order, duplicate) = app.domain.confirm_payment(&order, &device.id, payment).await.map_err(|e| match e {
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
    let o = app.domain.reject_claim(&order, &device.id, &req.reason).await?;
    Ok(Json(ConfirmResponse { order_id: o.id.to_string(), state: o.state.into(), duplicate: false }))
}

pub async fn unmatched(State(app): State<Shared>, Signed { device, body }: Signed) -> Result<serde_json::Value> {
    let report: UnmatchedReport = parse(&body)?;
    let ev = report.evidence;
    let report = Unmatched {
        observation_id: ev.observation_id,
        channel: report.channel,
        amount: report.amount,
        observed_at: ev.observed_at,
        source: ev.source,
        raw_text: ev.raw_text,
    };
    let recorded = app.domain.report_unmatched(&device, report).await?;
    Ok(Json(serde_json::json!({"recorded": recorded})))
}

pub async fn heartbeat(State(app): State<Shared>, Signed { device, body }: Signed) -> Result<HeartbeatResponse> {
    let beat: Heartbeat = parse(&body)?;
    let now = app.domain.heartbeat(&device, &beat.sources, &beat.version).await?;
    Ok(Json(HeartbeatResponse { server_time: now }))
}
