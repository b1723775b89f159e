//! What the window shows, read from the core. Money leaves here as text
//! ("12.34"), times as epoch milliseconds; the window only formats them.

use crate::core::Core;
use jiufu_collector::model::{Code, Observation};
use jiufu_collector::operator::Result;
use jiufu_collector::{Collector, now_ms};
use jiufu_protocol::collector::{OrderWire, SourceKind};
use jiufu_protocol::{DeviceId, Fen, OrderState};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct LinkView {
    pub paired: bool,
    pub gateway: Option<String>,
    pub merchant_id: Option<String>,
    pub merchant_name: Option<String>,
    pub device_id: Option<DeviceId>,
    /// A long poll is connected: new orders arrive within a second.
    pub live: bool,
    pub synced_at: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct SourceView {
    pub name: String,
    /// Running (for the D-Bus monitor and LAN listener) or heard from recently (the phone).
    pub up: Option<bool>,
    pub last_seen: Option<i64>,
    pub errors: i64,
    pub last_error: String,
}

#[derive(Debug, Serialize)]
pub struct PhoneSetup {
    /// What the V免签 app is configured with: `host:port/key`.
    pub config: String,
    /// The same, as a QR code the app can scan (a PNG data URL).
    pub qr: String,
}

#[derive(Debug, Serialize)]
pub struct Overview {
    pub now: i64,
    pub link: LinkView,
    pub listen: Option<String>,
    pub lan: bool,
    pub dbus: bool,
    pub phone: Option<PhoneSetup>,
    pub sources: Vec<SourceView>,
    pub today_count: i64,
    pub today_total: Fen,
    pub claimed: usize,
    pub open: usize,
    pub queued: i64,
    pub recent: Vec<Observation>,
    pub failure: Option<String>,
    /// Unsafe settings in force, by code (`smsf_unsigned`), shown as warnings.
    pub warnings: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct OrderRow {
    #[serde(flatten)]
    pub order: OrderWire,
    /// `null` for a state this build does not know (the window names the
    /// state by it; what the window does with an order it reads from the
    /// flags below).
    pub state_code: Option<i32>,
    /// Waiting for the customer's money (created, code assigned or issued).
    pub waiting: bool,
    /// The customer says they paid: the operator confirms or rejects.
    pub claimed: bool,
    /// Paid and confirmed.
    pub paid: bool,
    /// Expired (a late payment may still be confirmed while it is payable).
    pub expired: bool,
    /// Waiting for money ([`OrderState::OPEN`]): it has a countdown.
    pub open: bool,
    /// Can still take a payment ([`OrderState::PAYABLE`]): it can be
    /// confirmed, and an unmatched payment attached to it. Never for an
    /// order with an unknown value.
    pub payable: bool,
    /// The fields a newer gateway sent that this build does not know
    /// (`state`, `channel`, `dialect`, `order_amount`, `payable_amount`):
    /// the order is shown as unknown and nothing can be done to it here.
    pub unknown: Vec<&'static str>,
}

impl From<OrderWire> for OrderRow {
    fn from(order: OrderWire) -> OrderRow {
        let terms = order.terms();
        let state = order.state.get();
        let is = |s: OrderState| state == Some(s);
        OrderRow {
            state_code: state.map(OrderState::code),
            waiting: state.is_some_and(|s| s.is_open() && s != OrderState::Claimed),
            // A claim to act on: only when this build knows every value of the order.
            claimed: terms.is_some_and(|t| t.state == OrderState::Claimed),
            paid: is(OrderState::Confirmed),
            expired: is(OrderState::Expired),
            open: order.state.get().is_some_and(OrderState::is_open),
            payable: terms.is_some_and(|t| t.state.is_payable()),
            unknown: order.unknown_fields(),
            order,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CodesView {
    pub codes: Vec<Code>,
    /// Every change has reached the gateway.
    pub synced: bool,
    pub paired: bool,
}

pub async fn link(c: &Collector) -> Result<LinkView> {
    let pairing = c.pairing().await?;
    let status = c.status();
    let synced = status.orders_synced_at;
    Ok(LinkView {
        paired: pairing.paired(),
        gateway: pairing.gateway,
        device_id: pairing.device_id,
        merchant_id: pairing.merchant_id,
        merchant_name: pairing.merchant_name,
        live: status.orders_live,
        synced_at: (synced > 0).then_some(synced),
    })
}

/// Local midnight, as epoch milliseconds.
fn start_of_today() -> i64 {
    use chrono::{Local, TimeZone};
    let today = Local::now().date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
    Local.from_local_datetime(&today).earliest().map(|t| t.timestamp_millis()).unwrap_or_else(|| now_ms() - 86_400_000)
}

/// The address phones on this network reach the computer at.
fn lan_host(bound: std::net::SocketAddr) -> String {
    if !bound.ip().is_unspecified() {
        return bound.ip().to_string();
    }
    // Connecting a UDP socket sends nothing; it only picks the outgoing interface.
    let guess = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| s.connect("192.0.2.1:80").and_then(|()| s.local_addr()));
    match guess {
        Ok(a) if !a.ip().is_unspecified() => a.ip().to_string(),
        _ => "127.0.0.1".into(),
    }
}

/// SmsForwarder's webhook address on this network.
pub fn smsf_webhook(c: &Collector) -> String {
    let addr = c.status().listening.unwrap_or(c.config.listen);
    format!("http://{}:{}/forward/smsforwarder", lan_host(addr), addr.port())
}

pub fn qr_data_url(text: &str) -> String {
    use base64::Engine;
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else { return String::new() };
    let img = code.render::<image::Luma<u8>>().quiet_zone(true).module_dimensions(6, 6).build();
    let mut png = Vec::new();
    if image::DynamicImage::ImageLuma8(img).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).is_err() {
        return String::new();
    }
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}

pub async fn overview(core: &Core) -> Result<Overview> {
    let c = core.get();
    let seen = c.overview(start_of_today()).await?;
    let status = c.status();
    let listen = status.listening;
    let phone = listen.filter(|_| c.config.lan).map(|addr| {
        let config = format!("{}:{}/{}", lan_host(addr), addr.port(), c.key.expose());
        PhoneSetup { qr: qr_data_url(&config), config }
    });
    let running = status.sources;
    let health = &seen.sources;
    let mut names: Vec<String> = running.iter().map(|(n, _)| n.clone()).collect();
    // The phone is listed by its own name; the operator is no source to watch.
    names.extend(health.iter().filter(|s| !matches!(s.kind, SourceKind::Vmq | SourceKind::Operator)).map(|s| s.name.clone()));
    names.sort();
    names.dedup();
    let sources = names
        .into_iter()
        .map(|name| {
            let h = health.iter().find(|s| s.name == name || (name == SourceKind::PHONE && s.kind == SourceKind::Vmq));
            SourceView {
                up: running.iter().find(|(n, _)| *n == name).map(|(_, up)| *up),
                last_seen: h.and_then(|h| h.last_seen),
                errors: h.map(|h| h.errors).unwrap_or(0),
                last_error: h.map(|h| h.last_error.clone()).unwrap_or_default(),
                name,
            }
        })
        .collect();
    Ok(Overview {
        now: now_ms(),
        link: link(&c).await?,
        listen: listen.map(|a| a.to_string()),
        lan: c.config.lan,
        dbus: c.config.dbus,
        phone,
        sources,
        today_count: seen.takings_count,
        today_total: seen.takings_total,
        claimed: seen.claimed,
        open: seen.open,
        queued: seen.queued,
        recent: seen.recent,
        failure: core.failure(),
        warnings: if c.config.lan && c.config.smsf_unsigned { vec!["smsf_unsigned"] } else { Vec::new() },
    })
}

pub async fn codes(c: &Collector) -> Result<CodesView> {
    let codes = c.codes().await?;
    Ok(CodesView { codes: codes.codes, synced: codes.synced, paired: c.link().is_some() })
}
