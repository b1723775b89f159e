//! The window's commands. Each one parses what the window sent, calls the
//! collector core (the same functions `jiufu-collector` calls) and returns
//! what the window shows. None touches the store: the core's methods read
//! and write it.

use crate::core::Core;
use crate::prefs;
use crate::views::{self, CodesView, LinkView, OrderRow, Overview};
use jiufu_collector::matcher::Ingested;
use jiufu_collector::model::{Code, Observation, ObservationStatus, OrderFilter, PaymentFilter, UiPrefs};
use jiufu_collector::operator::{OperatorError, QrInput, Result, SourceSettings};
use jiufu_collector::parser::{DEFAULT_RULES, Notice, Parser};
use jiufu_collector::{Observed, operator};
use jiufu_protocol::ObservationId;
use serde::Serialize;
use tauri::State;

#[tauri::command(rename_all = "snake_case")]
pub async fn overview(core: State<'_, Core>) -> Result<Overview> {
    views::overview(&core).await
}

/// `filter`: `open`, `claimed`, `history` or `all`.
#[tauri::command(rename_all = "snake_case")]
pub async fn orders(core: State<'_, Core>, filter: String, search: String) -> Result<Vec<OrderRow>> {
    let filter: OrderFilter = filter.parse().map_err(|_| OperatorError::new("bad_filter", format!("unknown filter {filter:?}")))?;
    let rows = core.get().orders(filter, &search, 1000).await?;
    Ok(rows.into_iter().map(OrderRow::from).collect())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn confirm_order(core: State<'_, Core>, order_id: String) -> Result<ObservationId> {
    core.get().confirm_order(&order_id).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn reject_order(core: State<'_, Core>, order_id: String, reason: String) -> Result<()> {
    core.get().reject_claim(&order_id, &reason).await
}

/// `filter`: `all`, `unmatched`, `matched` (matched or confirmed), `pending` or `duplicate`.
#[tauri::command(rename_all = "snake_case")]
pub async fn payments(core: State<'_, Core>, filter: String) -> Result<Vec<Observation>> {
    let filter: PaymentFilter = filter.parse().map_err(|_| OperatorError::new("bad_filter", format!("unknown filter {filter:?}")))?;
    Ok(core.get().observations(filter).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn attach_payment(core: State<'_, Core>, observation_id: String, order_id: String) -> Result<()> {
    core.get().attach(&observation_id, &order_id).await
}

#[derive(Debug, Serialize)]
pub struct Recorded {
    /// `matched`, `pending` or `duplicate` (the window words it).
    pub outcome: ObservationStatus,
    pub observation: ObservationId,
    /// The order it matched, or the payment it duplicates.
    pub other: Option<String>,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn record_payment(core: State<'_, Core>, channel: String, amount: String, note: String) -> Result<Recorded> {
    Ok(match core.get().record_payment(&channel, &amount, &note).await? {
        Observed::Recorded(Ingested::Matched { observation, order }) => {
            Recorded { outcome: ObservationStatus::Matched, observation, other: Some(order.to_string()) }
        }
        Observed::Recorded(Ingested::Pending { observation }) => Recorded { outcome: ObservationStatus::Pending, observation, other: None },
        Observed::Recorded(Ingested::Duplicate { observation, of }) => {
            Recorded { outcome: ObservationStatus::Duplicate, observation, other: Some(of.to_string()) }
        }
        other => return Err(OperatorError::new("not_recorded", operator::describe(&other))),
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn codes(core: State<'_, Core>) -> Result<CodesView> {
    views::codes(&core.get()).await
}

/// Reads a QR image the operator chose or dropped (base64 of the file).
#[tauri::command(rename_all = "snake_case")]
pub async fn decode_qr(image_base64: String) -> Result<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(image_base64.trim())
        .map_err(|_| OperatorError::new("bad_image", "the file could not be read"))?;
    if bytes.len() > 8 * 1024 * 1024 {
        return Err(OperatorError::new("bad_image", "the image is larger than 8 MiB"));
    }
    tauri::async_runtime::spawn_blocking(move || operator::decode_qr(&bytes))
        .await
        .map_err(|e| OperatorError::new("internal", e.to_string()))?
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_code(core: State<'_, Core>, channel: String, qr_text: String, amount: String, name: String) -> Result<Code> {
    core.get().add_code(&channel, QrInput::Text(qr_text), Some(&amount), &name).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_code_enabled(core: State<'_, Core>, uid: String, enabled: bool) -> Result<()> {
    core.get().set_code_enabled(&uid, enabled).await
}

/// A PNG data URL of a QR code's text (for previews).
#[tauri::command(rename_all = "snake_case")]
pub fn qr_image(text: String) -> Result<String> {
    if text.len() > 2048 {
        return Err(OperatorError::new("bad_qr_text", "too long for a QR code"));
    }
    Ok(views::qr_data_url(&text))
}

#[derive(Debug, Serialize)]
pub struct RulesView {
    pub builtin: &'static str,
    pub user: String,
    /// The rules come from this file (`JIUFU_COLLECTOR_RULES`) and are not edited here.
    pub file: Option<String>,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn rules(core: State<'_, Core>) -> Result<RulesView> {
    let c = core.get();
    let file = c.config.rules_path.as_ref().map(|p| p.display().to_string());
    Ok(RulesView { builtin: DEFAULT_RULES, user: c.user_rules().await?, file })
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Tried {
    pub payment: bool,
    pub channel: Option<String>,
    pub amount: Option<String>,
    /// Why it is not a payment: a stable code, its detail, and in English.
    pub reason_code: Option<&'static str>,
    pub reason_detail: Option<String>,
    pub reason: Option<String>,
}

/// What a pasted notification parses to: with the running rules, or with
/// `draft` user rules when given (before saving them).
#[tauri::command(rename_all = "snake_case")]
pub async fn try_rules(core: State<'_, Core>, app: String, title: String, text: String, draft: Option<String>) -> Result<Tried> {
    let notice = Notice { app: app.trim().into(), title: title.trim().into(), text: text.trim().into() };
    let parsed = match draft.filter(|d| !d.trim().is_empty()) {
        Some(d) => Parser::new(Some(&d)).map_err(|e| OperatorError::new("bad_rules", e.to_string()))?.parse(&notice),
        None => core.get().parser.parse(&notice),
    };
    Ok(match parsed {
        Ok(p) => Tried {
            payment: true,
            channel: Some(p.channel.code().into()),
            amount: Some(p.amount.to_string()),
            reason_code: None,
            reason_detail: None,
            reason: None,
        },
        Err(why) => Tried {
            payment: false,
            channel: None,
            amount: None,
            reason_code: Some(why.code()),
            reason_detail: Some(why.detail().to_owned()),
            reason: Some(why.to_string()),
        },
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn save_rules(core: State<'_, Core>, text: String) -> Result<()> {
    core.get().save_user_rules(&text).await?;
    core.restart().await?;
    Ok(())
}

#[derive(Debug, Serialize)]
pub struct SettingsView {
    pub link: LinkView,
    pub listen: String,
    pub lan: bool,
    pub dbus: bool,
    pub smsf_secret: String,
    /// Where SmsForwarder's webhook points: `http://HOST:PORT/forward/smsforwarder`.
    pub smsf_webhook: String,
    /// Unsigned SmsForwarder pushes are accepted (unsafe, shown as a warning).
    pub smsf_unsigned: bool,
    pub push_key: String,
    /// Settings fixed by environment variables (not editable here).
    pub pinned: Vec<&'static str>,
    pub prefs: UiPrefs,
    pub database: String,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn settings(core: State<'_, Core>) -> Result<SettingsView> {
    let c = core.get();
    let p = &c.config.pinned;
    let pinned = [
        ("listen", p.listen),
        ("key", p.key),
        ("smsf_secret", p.smsf_secret),
        ("smsf_unsigned", p.smsf_unsigned),
        ("dbus", p.dbus),
        ("lan", p.lan),
    ]
    .into_iter()
    .filter_map(|(n, on)| on.then_some(n))
    .collect();
    Ok(SettingsView {
        link: views::link(&c).await?,
        listen: c.config.listen.to_string(),
        lan: c.config.lan,
        dbus: c.config.dbus,
        smsf_secret: c.smsf_secret.expose().to_owned(),
        smsf_webhook: views::smsf_webhook(&c),
        smsf_unsigned: c.config.smsf_unsigned,
        push_key: c.key.expose().to_owned(),
        pinned,
        prefs: c.ui_prefs().await?,
        database: c.config.db_path.display().to_string(),
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn pair(
    core: State<'_, Core>,
    gateway: String,
    token: String,
    insecure_http: Option<bool>,
) -> Result<jiufu_collector::operator::Paired> {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "desktop".into());
    let paired = core.get().pair(&gateway, &token, &format!("jiufu-desktop@{host}"), insecure_http.unwrap_or(false)).await?;
    // A fresh run: the orders mirror, the queue and the heartbeats all use the new link.
    core.restart().await?;
    Ok(paired)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn save_sources(
    core: State<'_, Core>,
    listen: String,
    lan: bool,
    dbus: bool,
    smsf_secret: String,
    smsf_unsigned: Option<bool>,
) -> Result<()> {
    let smsf_unsigned = smsf_unsigned.unwrap_or(false);
    core.get().save_source_settings(SourceSettings { listen, lan, dbus, smsf_secret, smsf_unsigned }).await?;
    core.restart().await?;
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn regenerate_smsf_secret(core: State<'_, Core>) -> Result<String> {
    let secret = core.get().regenerate_smsf_secret().await?;
    core.restart().await?;
    Ok(secret)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn regenerate_key(core: State<'_, Core>) -> Result<String> {
    let key = core.get().regenerate_push_key().await?;
    core.restart().await?;
    Ok(key)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn save_prefs(core: State<'_, Core>, language: String, start_minimised: bool, autostart: bool) -> Result<UiPrefs> {
    let p = UiPrefs { language, start_minimised, autostart };
    prefs::save(&core.get(), &p).await?;
    Ok(p)
}

#[tauri::command(rename_all = "snake_case")]
pub fn start_screen(screen: State<'_, crate::StartScreen>) -> String {
    screen.0.clone()
}

/// The window has drawn its first screen, with `rows` table rows (for the
/// start-up measurement).
#[tauri::command(rename_all = "snake_case")]
pub fn ready(started: State<'_, crate::Started>, rows: Option<u32>) -> i64 {
    let ms = started.0.elapsed().as_millis() as i64;
    if !started.1.swap(true, std::sync::atomic::Ordering::Relaxed) {
        println!("jiufu-desktop ready in {ms} ms ({} rows drawn)", rows.unwrap_or(0));
    }
    ms
}
