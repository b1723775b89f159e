//! What the operator does by hand, from the desktop window or the
//! `jiufu-collector` command line. Both call these functions, so a
//! confirmation from either passes the same checks and goes out through the
//! same durable queue (the `outbox` table, drained by `run`).

use crate::matcher::Ingested;
use crate::model::{Code, ObservationStatus, OutboxKind, UiPrefs};
use crate::parser::Notice;
use crate::store;
use crate::{Collector, CoreEvent, Observed, link, now_ms, setting};
use jiufu_protocol::collector::{OrderTerms, OrderWire, SourceKind};
use jiufu_protocol::ids::random_token;
use jiufu_protocol::{Channel, DeviceId, Fen, ObservationId, OrderId, OrderState};
use serde::Serialize;
use std::net::SocketAddr;

/// A refusal the operator can act on. `code` is stable (the window
/// translates it); `message` says what was wrong in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct OperatorError {
    pub code: &'static str,
    pub message: String,
}

impl OperatorError {
    pub fn new(code: &'static str, message: impl Into<String>) -> OperatorError {
        OperatorError { code, message: message.into() }
    }
}

impl From<anyhow::Error> for OperatorError {
    fn from(e: anyhow::Error) -> OperatorError {
        tracing::error!(error = %format!("{e:#}"), "operator action failed");
        OperatorError::new("internal", format!("{e:#}"))
    }
}

pub type Result<T, E = OperatorError> = std::result::Result<T, E>;

pub fn parse_channel(text: &str) -> Result<Channel> {
    text.trim().parse().map_err(|_| OperatorError::new("bad_channel", format!("{text:?} is not a channel (P901, P902, P903 or P904)")))
}

pub fn parse_amount(text: &str) -> Result<Fen> {
    match Fen::parse_yuan(text.trim()) {
        Ok(a) if a.0 > 0 => Ok(a),
        Ok(_) => Err(OperatorError::new("bad_amount", "the amount must be more than 0")),
        Err(e) => Err(OperatorError::new("bad_amount", format!("{text:?} is not an amount in yuan: {e}"))),
    }
}

/// An order's terms when this build knows all of them. An order with a
/// value from a newer gateway (a state, channel, dialect or amount this
/// build does not know) is not acted on here: not confirmed, attached to or
/// rejected; the gateway's own tools, or a newer collector, can.
fn known_terms(order: &OrderWire) -> Result<OrderTerms> {
    order.terms().ok_or_else(|| {
        OperatorError::new(
            "unknown_order",
            format!(
                "this collector does not know the order's {}; update the collector, or act on the order at the gateway",
                order.unknown_fields().join(", ")
            ),
        )
    })
}

/// Where a receiving code's text comes from.
pub enum QrInput {
    Text(String),
    /// A PNG or JPEG of the code, decoded here.
    Image(Vec<u8>),
}

/// Reads the text of the QR code in an image.
pub fn decode_qr(bytes: &[u8]) -> Result<String> {
    jiufu_protocol::qr_image::decode(bytes).map(|t| t.trim().to_owned()).map_err(|e| OperatorError::new("qr_unreadable", e.to_string()))
}

#[derive(Debug, Clone, Serialize)]
pub struct Paired {
    pub merchant_id: i64,
    pub merchant_name: String,
    pub device_id: DeviceId,
}

/// The window's preferences, kept in the settings table.
const UI_LANGUAGE: &str = "ui_language";
const UI_START_MINIMISED: &str = "ui_start_minimised";
const UI_AUTOSTART: &str = "ui_autostart";

/// An order id the operator typed: one that cannot be an order's is no order here.
fn parse_order_id(text: &str) -> Result<OrderId> {
    OrderId::parse(text).ok_or_else(|| OperatorError::new("not_found", "no such order at this collector"))
}

fn paired_note(values: &[(String, String)]) -> String {
    let get = |k: &str| values.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).unwrap_or_default();
    format!("{} merchant {}", get(setting::GATEWAY_URL), get(setting::MERCHANT_ID))
}

/// Listener, sources and keys as the window edits them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SourceSettings {
    pub listen: String,
    pub lan: bool,
    pub dbus: bool,
    /// At least 16 characters (the collector generates 32 on first run).
    pub smsf_secret: String,
    /// Accept SmsForwarder pushes without a sign (anyone on the network
    /// can then confirm orders): an explicit, unsafe opt-in.
    #[serde(default)]
    pub smsf_unsigned: bool,
}

impl Collector {
    /// Exchanges a pairing token for device credentials, stored together.
    /// Plain `http://` is refused, before any connection, unless the gateway
    /// is on this computer or `insecure_http` says the operator insists.
    pub async fn pair(&self, gateway: &str, token: &str, name: &str, insecure_http: bool) -> Result<Paired> {
        let gateway = gateway.trim().trim_end_matches('/').to_owned();
        if !(gateway.starts_with("http://") || gateway.starts_with("https://")) || gateway.len() < 10 {
            return Err(OperatorError::new("bad_gateway_url", format!("{gateway:?} is not an http(s) address")));
        }
        if let Some((code, why)) = link::pairing_refusal(&gateway, insecure_http) {
            return Err(OperatorError::new(code, why));
        }
        if token.trim().is_empty() {
            return Err(OperatorError::new("bad_token", "paste the pairing token from `jiufu-gateway collector pair`"));
        }
        let p = link::pair(&gateway, token, name).await.map_err(|e| OperatorError::new("pairing_failed", e.to_string()))?;
        let device_id = DeviceId::parse(&p.device_id).ok_or_else(|| {
            OperatorError::new("pairing_failed", format!("the gateway named the device {:?}, which is no device id", p.device_id))
        })?;
        let paired = Paired { merchant_id: p.merchant_id, merchant_name: p.merchant_name.clone(), device_id };
        let values = [
            (setting::GATEWAY_URL, gateway),
            (setting::DEVICE_ID, p.device_id),
            (setting::DEVICE_SECRET, p.secret),
            (setting::MERCHANT_ID, p.merchant_id.to_string()),
            (setting::MERCHANT_NAME, p.merchant_name),
            // The new gateway has none of our codes yet.
            (setting::CODES_VERSION, now_ms().to_string()),
        ];
        let values: Vec<(String, String)> = values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        self.db
            .write(move |tx| {
                let (old_gateway, old_merchant) =
                    (store::setting_in(tx, setting::GATEWAY_URL)?, store::setting_in(tx, setting::MERCHANT_ID)?);
                let new = |k: &str| values.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
                if old_gateway != new(setting::GATEWAY_URL) || old_merchant != new(setting::MERCHANT_ID) {
                    // Another gateway or merchant: the old one's orders are not this one's to match.
                    store::forget_orders(tx)?;
                }
                for (key, value) in &values {
                    store::put_setting(tx, key, value)?;
                }
                store::log_event(
                    tx,
                    "paired",
                    &format!("{} as {}", paired_note(&values), new(setting::DEVICE_ID).unwrap_or_default()),
                    now_ms(),
                )
            })
            .await?;
        self.refresh_link().await?;
        self.emit(CoreEvent::SettingsChanged);
        Ok(paired)
    }

    /// Adds a receiving code; it syncs to the gateway within seconds.
    pub async fn add_code(&self, channel: &str, qr: QrInput, amount: Option<&str>, name: &str) -> Result<Code> {
        let channel = parse_channel(channel)?;
        let qr_text = match qr {
            QrInput::Text(t) => t.trim().to_owned(),
            QrInput::Image(bytes) => decode_qr(&bytes)?,
        };
        if qr_text.is_empty() || qr_text.len() > 1024 {
            return Err(OperatorError::new("bad_qr_text", "the code's text must be 1 to 1024 bytes"));
        }
        let name = name.trim().to_owned();
        if name.chars().count() > 64 {
            return Err(OperatorError::new("bad_name", "a code's name is at most 64 characters"));
        }
        let amount = amount.map(str::trim).filter(|a| !a.is_empty()).map(parse_amount).transpose()?;
        let code = Code { uid: random_token(9), channel, qr_text, amount, name, enabled: true };
        self.db.add_code(code.clone(), now_ms()).await?;
        self.emit(CoreEvent::CodesChanged);
        Ok(code)
    }

    pub async fn set_code_enabled(&self, uid: &str, enabled: bool) -> Result<()> {
        if !self.db.set_code_enabled(uid, enabled, now_ms()).await? {
            return Err(OperatorError::new("not_found", format!("no code {uid}")));
        }
        self.emit(CoreEvent::CodesChanged);
        Ok(())
    }

    /// A payment the operator saw on the phone.
    pub async fn record_payment(&self, channel: &str, amount: &str, note: &str) -> Result<Observed> {
        let (channel, amount) = (parse_channel(channel)?, parse_amount(amount)?);
        let notice = Notice { app: "operator".into(), title: String::new(), text: note.trim().chars().take(200).collect() };
        Ok(self.observe(SourceKind::Operator, channel, amount, now_ms(), notice, crate::Delivery::default()).await?)
    }

    /// Attaches an unmatched payment to an order with the same channel and
    /// payable amount, and queues its confirmation.
    pub async fn attach(&self, observation_id: &str, order_id: &str) -> Result<()> {
        let no_payment = || OperatorError::new("not_found", "no such payment");
        let observation_id = ObservationId::parse(observation_id).ok_or_else(no_payment)?;
        let obs = self.db.observation(&observation_id).await?.ok_or_else(no_payment)?;
        // A duplicate too: an app that reuses one notification id can post a
        // second real payment of one amount as the same notice, and only the
        // operator can tell (the gateway still takes one evidence per order).
        if !matches!(obs.status, ObservationStatus::Unmatched | ObservationStatus::Duplicate) {
            return Err(OperatorError::new(
                "not_unmatched",
                format!("the payment is {}; only unmatched payments and duplicates can be attached", obs.status),
            ));
        }
        let order = self
            .db
            .order(&parse_order_id(order_id)?)
            .await?
            .ok_or_else(|| OperatorError::new("not_found", "no such order at this collector"))?;
        let terms = known_terms(&order)?;
        if terms.channel != obs.channel || terms.payable_amount != obs.amount {
            return Err(OperatorError::new(
                "amount_mismatch",
                format!(
                    "the payment ({} {}) is not this order's payable amount ({} {}); confirm the order directly instead",
                    obs.channel, obs.amount, terms.channel, terms.payable_amount
                ),
            ));
        }
        if !terms.state.is_payable() {
            return Err(OperatorError::new("wrong_state", format!("the order is {}; it cannot take a payment", terms.state.code())));
        }
        let (obs_id, oid, now) = (obs.id.clone(), order.order_id.clone(), now_ms());
        let attached = self
            .db
            .write(move |tx| {
                if store::order_taken(tx, &oid)? {
                    return Ok(Err("already_matched"));
                }
                if store::attach_unmatched(tx, &obs_id, &oid)? {
                    store::log_event(tx, "attached", &format!("{obs_id} → {oid}"), now)?;
                    store::enqueue(tx, OutboxKind::Confirm, &obs_id, Some(&oid), now)?;
                    return Ok(Ok(()));
                }
                Ok(Err("not_unmatched"))
            })
            .await?;
        match attached {
            Err("already_matched") => {
                return Err(OperatorError::new("already_matched", "another payment is already matched to this order"));
            }
            Err(_) => return Err(OperatorError::new("not_unmatched", "the payment was attached or matched meanwhile")),
            Ok(()) => {}
        }
        self.after_queue(CoreEvent::PaymentMatched {
            observation: obs.id,
            order_id: order.order_id,
            channel: obs.channel,
            amount: obs.amount,
        });
        Ok(())
    }

    /// Confirms an order by hand (the operator saw the money arrive):
    /// records the operator as the payment's witness and queues the
    /// confirmation. Returns the new observation's id.
    pub async fn confirm_order(&self, order_id: &str) -> Result<ObservationId> {
        let order = self
            .db
            .order(&parse_order_id(order_id)?)
            .await?
            .ok_or_else(|| OperatorError::new("not_found", "no such order at this collector"))?;
        let terms = known_terms(&order)?;
        if !terms.state.is_payable() {
            return Err(OperatorError::new("wrong_state", format!("the order is {}; it cannot be confirmed", terms.state.code())));
        }
        let (id, now) = (ObservationId::generate(), now_ms());
        let (obs_id, oid) = (id.clone(), order.order_id.clone());
        let queued = self
            .db
            .write(move |tx| {
                if store::order_taken(tx, &oid)? {
                    return Ok(false);
                }
                store::insert_confirmed_by_hand(tx, &obs_id, terms.channel, terms.payable_amount, &oid, now)?;
                store::log_event(tx, "confirmed_by_hand", oid.as_str(), now)?;
                store::enqueue(tx, OutboxKind::Confirm, &obs_id, Some(&oid), now)?;
                Ok(true)
            })
            .await?;
        if !queued {
            return Err(OperatorError::new("already_matched", "a payment is already matched to this order; it is being confirmed"));
        }
        self.after_queue(CoreEvent::PaymentMatched {
            observation: id.clone(),
            order_id: order.order_id,
            channel: terms.channel,
            amount: terms.payable_amount,
        });
        Ok(id)
    }

    /// The customer said they paid but no money came: queues the refusal of
    /// the claim (8 → 5 at the gateway) with the operator's reason.
    pub async fn reject_claim(&self, order_id: &str, reason: &str) -> Result<()> {
        let reason: String = reason.trim().chars().filter(|c| !c.is_control()).take(200).collect();
        if reason.is_empty() {
            return Err(OperatorError::new("reason_required", "say why the claim is rejected"));
        }
        let order = self
            .db
            .order(&parse_order_id(order_id)?)
            .await?
            .ok_or_else(|| OperatorError::new("not_found", "no such order at this collector"))?;
        if known_terms(&order)?.state != OrderState::Claimed {
            return Err(OperatorError::new("not_claimed", "only an order whose customer said they paid (state 8) can be rejected"));
        }
        let (oid, now) = (order.order_id.clone(), now_ms());
        let queued = self
            .db
            .write(move |tx| {
                if store::order_taken(tx, &oid)? {
                    return Ok(Err(OperatorError::new("already_matched", "a payment is matched to this order: it was paid")));
                }
                if store::rejection_queued(tx, &oid)? {
                    return Ok(Err(OperatorError::new("already_rejected", "this claim's rejection is already on its way")));
                }
                store::log_event(tx, "rejected_by_hand", &format!("{oid}: {reason}"), now)?;
                store::enqueue_reject(tx, &oid, &reason, now)?;
                Ok(Ok(()))
            })
            .await?;
        queued?;
        self.after_queue(CoreEvent::OrdersChanged);
        Ok(())
    }

    /// Stores listener and source settings; they apply when the core
    /// restarts (the window restarts it at once).
    pub async fn save_source_settings(&self, s: SourceSettings) -> Result<()> {
        let listen: SocketAddr = s
            .listen
            .trim()
            .parse()
            .map_err(|_| OperatorError::new("bad_listen", format!("{:?} is not an address like 0.0.0.0:8687", s.listen)))?;
        let mut values = vec![
            (setting::LISTEN.to_owned(), listen.to_string()),
            (setting::LAN.to_owned(), s.lan.to_string()),
            (setting::DBUS.to_owned(), s.dbus.to_string()),
            (setting::SMSF_UNSIGNED.to_owned(), s.smsf_unsigned.to_string()),
        ];
        // A secret fixed by the environment is shown, not saved.
        if !self.config.pinned.smsf_secret {
            let secret = s.smsf_secret.trim();
            if let Some(why) = crate::secret_problem(secret) {
                return Err(OperatorError::new("bad_secret", format!("the SmsForwarder secret {why}")));
            }
            values.push((setting::SMSF_SECRET.to_owned(), secret.to_owned()));
        }
        self.db.set_settings(values).await?;
        self.emit(CoreEvent::SettingsChanged);
        Ok(())
    }

    /// Stores the operator's own parser rules (same TOML shape as the
    /// shipped ones, which they take precedence over) once they parse.
    pub async fn save_user_rules(&self, text: &str) -> Result<()> {
        if self.config.rules_path.is_some() {
            return Err(OperatorError::new("pinned", "JIUFU_COLLECTOR_RULES names a rules file; edit that file instead"));
        }
        if text.len() > 64 * 1024 {
            return Err(OperatorError::new("bad_rules", "rules are at most 64 KiB"));
        }
        crate::parser::Parser::new(Some(text)).map_err(|e| OperatorError::new("bad_rules", e.to_string()))?;
        self.db.set_settings(vec![(setting::USER_RULES.to_owned(), text.to_owned())]).await?;
        self.emit(CoreEvent::SettingsChanged);
        Ok(())
    }

    /// A new V免签 / generic push key (the phone app must be set up again).
    pub async fn regenerate_push_key(&self) -> Result<String> {
        if self.config.pinned.key {
            return Err(OperatorError::new("pinned", "JIUFU_COLLECTOR_KEY is set in the environment; change it there"));
        }
        let key = random_token(crate::GENERATED_SECRET_CHARS * 3 / 4);
        self.db.set_settings(vec![(setting::PUSH_KEY.to_owned(), key.clone())]).await?;
        self.emit(CoreEvent::SettingsChanged);
        Ok(key)
    }

    /// A new SmsForwarder secret (SmsForwarder must be set up again).
    pub async fn regenerate_smsf_secret(&self) -> Result<String> {
        if self.config.pinned.smsf_secret {
            return Err(OperatorError::new("pinned", "JIUFU_COLLECTOR_SMSF_SECRET is set in the environment; change it there"));
        }
        let secret = random_token(crate::GENERATED_SECRET_CHARS * 3 / 4);
        self.db.set_settings(vec![(setting::SMSF_SECRET.to_owned(), secret.clone())]).await?;
        self.emit(CoreEvent::SettingsChanged);
        Ok(secret)
    }

    /// The operator's own parser rules: the file `JIUFU_COLLECTOR_RULES`
    /// names (not edited here), or those saved from the window.
    pub async fn user_rules(&self) -> Result<String> {
        Ok(match &self.config.rules_path {
            Some(p) => std::fs::read_to_string(p).unwrap_or_default(),
            None => self.db.setting(setting::USER_RULES).await?.unwrap_or_default(),
        })
    }

    /// The window's preferences (the defaults until saved).
    pub async fn ui_prefs(&self) -> Result<UiPrefs> {
        let get = |k: &'static str| self.db.setting(k);
        let flag = |v: Option<String>| v.is_some_and(|v| v == "true");
        Ok(UiPrefs {
            language: get(UI_LANGUAGE).await?.filter(|l| l == "en").unwrap_or_else(|| "zh-CN".into()),
            start_minimised: flag(get(UI_START_MINIMISED).await?),
            autostart: flag(get(UI_AUTOSTART).await?),
        })
    }

    /// Refuses preferences that cannot be saved (a language the window does not speak).
    pub fn check_ui_prefs(p: &UiPrefs) -> Result<()> {
        if !UiPrefs::LANGUAGES.contains(&p.language.as_str()) {
            return Err(OperatorError::new("bad_language", "the language is zh-CN or en"));
        }
        Ok(())
    }

    /// Saves the window's preferences.
    pub async fn save_ui_prefs(&self, p: &UiPrefs) -> Result<()> {
        Collector::check_ui_prefs(p)?;
        let values = vec![
            (UI_LANGUAGE.to_owned(), p.language.clone()),
            (UI_START_MINIMISED.to_owned(), p.start_minimised.to_string()),
            (UI_AUTOSTART.to_owned(), p.autostart.to_string()),
        ];
        self.db.set_settings(values).await?;
        Ok(())
    }

    /// Stops waiting for a pending payment's order now, as the matcher does
    /// after the grace period: unmatched, logged and reported. False when
    /// it was not waiting.
    pub async fn give_up_on(&self, observation_id: &ObservationId, why: &str) -> Result<bool> {
        let gave_up = self.db.give_up_on(observation_id, why, now_ms()).await?;
        if gave_up {
            self.outbox_wake.notify_one();
        }
        Ok(gave_up)
    }

    fn after_queue(&self, event: CoreEvent) {
        self.outbox_wake.notify_one();
        self.emit(event);
    }
}

/// One line for a recorded payment, as the CLI prints it.
pub fn describe(outcome: &Observed) -> String {
    match outcome {
        Observed::Recorded(Ingested::Matched { order, .. }) => format!("payment recorded and matched to order {order}"),
        Observed::Recorded(Ingested::Pending { observation }) => {
            format!("payment {observation} recorded; no order yet (it will be matched or reported)")
        }
        Observed::Recorded(Ingested::Duplicate { of, .. }) => format!("payment recorded as the same payment as {of}"),
        Observed::Recorded(Ingested::Ambiguous { observation, like }) => {
            format!("payment {observation} recorded unmatched: the same notification text as {like} (attach it by hand if it is real)")
        }
        Observed::NotPayment(why) => format!("not recorded: {why}"),
        Observed::Replayed => "not recorded: seen before".into(),
    }
}

#[cfg(test)]
mod tests;
