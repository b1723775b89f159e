//! Plain records that cross the [`crate::Store`] boundary.

use jiufu_protocol::{Actor, Channel, Dialect, Fen, MerchantId, OrderId, OrderNo, OrderState, Secret, Transition};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct NewMerchant {
    pub id: MerchantId,
    pub name: String,
    pub key: Secret,
    pub settings: MerchantSettings,
}

/// Per-merchant policy; every field has a sensible default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantSettings {
    pub min_fen: i64,
    pub max_fen: i64,
    /// Step payable amounts downwards (true, the default) or upwards.
    pub step_down: bool,
    /// At most this many 0.01 steps from the order amount.
    pub step_count: i64,
    /// The payable amount stays within this many basis points (1/100 %)
    /// of the order amount (at least one step): no buying at a discount.
    pub max_offset_bp: i64,
    /// At most this many open orders per payer `ip` (0: no limit).
    pub max_open_per_payer: i64,
    pub order_ttl_secs: i64,
    pub quarantine_secs: i64,
    /// Refuse new orders (1009) when no collector can confirm the channel.
    pub require_collector: bool,
    /// V免签: refuse `createOrder` from a browser (`isHtml=1`), whose payer
    /// holds the signed URL; only the shop's server creates orders.
    pub vmq_server_only: bool,
    /// GMPay: also take a pre-v2 client's md5 signature (and answer it in
    /// md5). Off: the GMPay path takes HMAC-SHA256 only.
    pub gmpay_md5: bool,
    /// Hosts the notify and return URLs may name (lowercase; empty: any
    /// public host). V免签 does not sign them, so a payer holding a signed
    /// link could otherwise aim them anywhere.
    pub callback_hosts: Vec<String>,
}

impl MerchantSettings {
    /// [`MerchantSettings::callback_hosts`] as one column's text.
    pub fn callback_hosts_text(&self) -> String {
        self.callback_hosts.join(",")
    }

    /// A column's text back into hosts.
    pub fn parse_callback_hosts(text: &str) -> Vec<String> {
        text.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect()
    }
}

impl Default for MerchantSettings {
    fn default() -> Self {
        MerchantSettings {
            min_fen: 1,
            max_fen: 5_000_000,
            step_down: true,
            step_count: 99,
            max_offset_bp: 200,
            max_open_per_payer: 3,
            order_ttl_secs: 300,
            quarantine_secs: 600,
            require_collector: false,
            vmq_server_only: false,
            gmpay_md5: false,
            callback_hosts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    pub key: Secret,
    pub enabled: bool,
    pub settings: MerchantSettings,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewCode {
    pub merchant_id: MerchantId,
    pub channel: Channel,
    pub qr_text: String,
    pub amount: Option<Fen>,
    pub name: String,
    pub enabled: bool,
    /// `server`, or the id of the device the code came from.
    pub origin: String,
    /// The origin's own id for the code.
    pub uid: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Code {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub channel: Channel,
    pub qr_text: String,
    pub amount: Option<Fen>,
    pub name: String,
    pub enabled: bool,
    pub origin: String,
    pub uid: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: OrderId,
    pub merchant_id: MerchantId,
    pub order_no: OrderNo,
    pub subject: String,
    pub channel: Channel,
    pub order_fen: Fen,
    /// Payable amounts to try, in order of preference.
    pub candidates: Vec<Fen>,
    pub notify_url: String,
    pub return_url: String,
    pub ip: String,
    pub order_time: String,
    pub ttl_secs: i64,
    pub quarantine_secs: i64,
    /// Refuse the order when its non-empty `ip` already has this many open
    /// orders with the merchant (0: no limit).
    pub max_open_per_payer: i64,
    /// With an empty `ip`: refuse the order when orders without a payer
    /// already hold this many amounts of the same merchant, channel and
    /// order amount (0: no limit). See [`payerless_cap`].
    pub payerless_cap: i64,
    /// The merchant protocol the order came through.
    pub dialect: Dialect,
    /// What that protocol must echo back in its notification (its own
    /// JSON; empty for the native API). Part of the order's identity: the
    /// same order number with other shop data is another order.
    pub shop_data: String,
}

impl NewOrder {
    /// The order this request becomes with `payable` on code `code_id`
    /// (whose QR text is `qr_text`), created at `now`: code assigned and
    /// issued (state 5), open for its time to live, its amount held through
    /// the quarantine after it. Both backends insert exactly this.
    pub fn issued(&self, payable: Fen, code_id: i64, qr_text: String, now: i64) -> Order {
        Order {
            id: self.id.clone(),
            merchant_id: self.merchant_id,
            order_no: self.order_no.clone(),
            subject: self.subject.clone(),
            channel: self.channel,
            state: OrderState::CodeIssued,
            order_fen: self.order_fen,
            payable_fen: payable,
            code_id,
            qr_text,
            notify_url: self.notify_url.clone(),
            return_url: self.return_url.clone(),
            ip: self.ip.clone(),
            order_time: self.order_time.clone(),
            created_at: now,
            expire_at: now + self.ttl_secs,
            quarantine_until: now + self.ttl_secs + self.quarantine_secs,
            claimed_at: None,
            paid_at: None,
            paid_fen: None,
            confirmed_by: None,
            evidence_id: None,
            notified: false,
            dialect: self.dialect,
            shop_data: self.shop_data.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    pub id: OrderId,
    pub merchant_id: MerchantId,
    pub order_no: OrderNo,
    pub subject: String,
    pub channel: Channel,
    pub state: OrderState,
    pub order_fen: Fen,
    pub payable_fen: Fen,
    pub code_id: i64,
    pub qr_text: String,
    pub notify_url: String,
    pub return_url: String,
    pub ip: String,
    pub order_time: String,
    pub created_at: i64,
    pub expire_at: i64,
    pub quarantine_until: i64,
    pub claimed_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub paid_fen: Option<Fen>,
    pub confirmed_by: Option<String>,
    pub evidence_id: Option<String>,
    /// The merchant acknowledged the notification.
    pub notified: bool,
    pub dialect: Dialect,
    pub shop_data: String,
}

impl Order {
    /// The state as of `now`: an open order past its expiry reads as expired
    /// even before the timer has written it.
    pub fn state_at(&self, now: i64) -> OrderState {
        if self.state.is_open() && now >= self.expire_at { OrderState::Expired } else { self.state }
    }

    pub fn ttl_secs(&self) -> i64 {
        self.expire_at - self.created_at
    }

    /// True when `new` would create exactly this order again.
    pub fn same_request(&self, new: &NewOrder) -> bool {
        self.subject == new.subject
            && self.channel == new.channel
            && self.order_fen == new.order_fen
            && self.notify_url == new.notify_url
            && self.return_url == new.return_url
            && self.dialect == new.dialect
            && self.shop_data == new.shop_data
    }
}

#[derive(Debug, Clone)]
pub enum CreateOutcome {
    Created(Order),
    /// The same request again: the order it created before.
    Existing(Order),
    /// The order number was used with different fields, or the order it
    /// names is finished.
    OrderNoReused,
    /// The merchant has no enabled code for the channel.
    NoCode,
    /// Every candidate payable amount is taken.
    NoFreeAmount,
    /// The payer (`ip`) already has the most open orders allowed.
    PayerLimit,
    /// The order names no payer (`ip` empty), and such orders already hold
    /// [`NewOrder::payerless_cap`] of this price's payable amounts.
    PayerlessLimit,
}

/// How many of a price's payable amounts (its `candidates`) shop orders
/// without a payer address may hold at once, per merchant, channel and
/// price: half, rounded down, and at least one. The rest stays free for
/// orders that name their payer (who are capped per payer instead), so a
/// competitor having a shop create orders server-side cannot take every
/// amount.
pub fn payerless_cap(candidates: usize) -> i64 {
    i64::try_from(candidates / 2).unwrap_or(i64::MAX).max(1)
}

/// What a retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub order_events: usize,
    pub notify_attempts: usize,
    pub nonces: usize,
    pub unmatched: usize,
}

impl Purged {
    pub fn total(&self) -> usize {
        self.order_events + self.notify_attempts + self.nonces + self.unmatched
    }
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub merchant_id: Option<MerchantId>,
    pub state: Option<OrderState>,
    /// Only orders that still hold their payable amount (open, or in quarantine).
    pub holding_amount: bool,
    pub limit: Option<usize>,
}

/// A requested change of state, with who asked for it and why.
#[derive(Debug, Clone)]
pub struct StateChange {
    pub transition: Transition,
    pub actor: Actor,
    pub reason: String,
    pub payment: Option<PaymentRecord>,
}

/// The money that moved an order to 9.
#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub paid_fen: Fen,
    pub evidence_id: String,
    pub evidence_json: String,
}

#[derive(Debug, Clone)]
pub enum TransitionOutcome {
    Applied(Order),
    /// The order was already in the target state through this same evidence.
    AlreadyApplied(Order),
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderEvent {
    pub seq: i64,
    pub order_id: OrderId,
    pub from_state: Option<OrderState>,
    pub to_state: OrderState,
    pub actor: Actor,
    pub reason: String,
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyStatus {
    Pending,
    Delivered,
    /// Every scheduled attempt failed; only a manual resend tries again.
    GaveUp,
}

impl NotifyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyStatus::Pending => "pending",
            NotifyStatus::Delivered => "delivered",
            NotifyStatus::GaveUp => "gave_up",
        }
    }

    pub fn parse(s: &str) -> Option<NotifyStatus> {
        Some(match s {
            "pending" => NotifyStatus::Pending,
            "delivered" => NotifyStatus::Delivered,
            "gave_up" => NotifyStatus::GaveUp,
            _ => return None,
        })
    }
}

/// One row of the notification outbox.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub order_id: OrderId,
    pub merchant_id: MerchantId,
    pub url: String,
    pub status: NotifyStatus,
    pub attempts: i64,
    pub next_at: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotifyAttempt {
    pub order_id: OrderId,
    pub at: i64,
    pub http_status: Option<i64>,
    pub body_excerpt: String,
    pub error: String,
    pub delivered: bool,
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyNext {
    Delivered,
    RetryAt(i64),
    GiveUp,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: String,
    pub name: String,
    pub secret: Secret,
}

#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub merchant_id: MerchantId,
    pub name: String,
    pub secret: Secret,
    pub created_at: i64,
    pub last_seen: Option<i64>,
    pub sources_json: String,
    /// The collector version of its last heartbeat; '' before the first.
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnmatchedPayment {
    pub merchant_id: MerchantId,
    pub device_id: String,
    pub observation_id: String,
    pub channel: Channel,
    pub amount: Fen,
    pub observed_at: i64,
    pub source: String,
    pub raw_text: String,
    pub reported_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_order_is_where_the_state_machine_puts_a_new_one() {
        let by_machine = OrderState::Accepted.apply(Transition::AssignCode).and_then(|s| s.apply(Transition::IssueCode)).unwrap();
        let new = NewOrder {
            id: OrderId::generate(),
            merchant_id: MerchantId::new(1).unwrap(),
            order_no: OrderNo::parse("n").unwrap(),
            subject: String::new(),
            channel: Channel::P901,
            order_fen: Fen(100),
            candidates: vec![Fen(100)],
            notify_url: String::new(),
            return_url: String::new(),
            ip: String::new(),
            order_time: String::new(),
            ttl_secs: 300,
            quarantine_secs: 600,
            max_open_per_payer: 0,
            payerless_cap: 0,
            dialect: Dialect::Epay,
            shop_data: "{}".into(),
        };
        let order = new.issued(Fen(99), 7, "qr".into(), 1_000);
        assert_eq!(order.state, by_machine);
        assert_eq!((order.payable_fen, order.code_id, order.expire_at, order.quarantine_until), (Fen(99), 7, 1_300, 1_900));
        assert!(order.same_request(&new));
    }
}
