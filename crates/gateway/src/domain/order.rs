//! Orders: creation under the money rules, the customer's claim, the
//! payee's confirmation, closing. Every change of state goes through the
//! store's state machine, and every committed change wakes the collectors'
//! long polls.

use super::{Domain, actors, amount};
use jiufu_protocol::{Channel, Dialect, Fen, MerchantId, OrderId, OrderNo, OrderState, Transition};
use jiufu_store::{
    CreateOutcome, Merchant, NewOrder, Notification, NotifyAttempt, Order, OrderEvent, OrderFilter, PaymentRecord, StateChange, StoreError,
    TransitionOutcome, Unique,
};

/// An authenticated create request's fields as received, before their
/// rules: whichever protocol it came in, it becomes one of these.
#[derive(Debug, Clone)]
pub struct NewOrderRequest<'a> {
    /// The merchant the request is authenticated as.
    pub merchant: Merchant,
    pub order_no: &'a str,
    pub channel: Channel,
    pub subject: &'a str,
    /// Yuan as text: `10`, `10.0`, `10.00`.
    pub amount: &'a str,
    pub notify_url: &'a str,
    pub return_url: &'a str,
    pub ip: &'a str,
    pub order_time: &'a str,
    pub dialect: Dialect,
    /// The dialect's echo data (see `jiufu_store::NewOrder::shop_data`).
    pub shop_data: String,
    /// Orders without a payer address may hold at most half of a price's
    /// payable amounts (the shop dialects); off, `ip` is the merchant's
    /// business (the native API).
    pub cap_payerless: bool,
}

/// A create request whose fields all meet their rules.
#[derive(Debug, Clone)]
pub struct ValidOrder {
    pub merchant: Merchant,
    pub subject: String,
    pub order_no: OrderNo,
    pub channel: Channel,
    pub amount: Fen,
    pub notify_url: String,
    pub return_url: String,
    pub ip: String,
    pub order_time: String,
    pub dialect: Dialect,
    pub shop_data: String,
    pub cap_payerless: bool,
}

/// Why an order was not created. The first two are a field breaking its
/// rule (the text says which and how); the rest are the merchant's state.
#[derive(Debug, thiserror::Error)]
pub enum CreateRefused {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    InvalidAmount(String),
    #[error("no collector can confirm this channel now")]
    NoCollectorOnline,
    #[error("the order number was used with other fields, or its order is finished")]
    OrderNoReused,
    #[error("no receiving code for this channel")]
    NoCode,
    #[error("every payable amount near this one is taken")]
    NoFreeAmount,
    #[error("ip already has {0} unpaid orders open")]
    PayerLimit(i64),
    #[error(
        "orders without a payer address already hold half of this price's payable amounts; the rest is kept for payers (send clientip, or try later)"
    )]
    PayerlessLimit,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NewOrderRequest<'_> {
    /// The rules every create request meets, whichever protocol it came
    /// in, checked in this order: order number, subject, callback URLs
    /// (public, and on the merchant's host list), ip, order time, amount
    /// (a plain yuan amount within the merchant's range).
    pub fn validate(self, allow_private_notify: bool) -> Result<ValidOrder, CreateRefused> {
        let order_no = OrderNo::parse(self.order_no).map_err(|why| CreateRefused::Malformed(why.to_string()))?;
        let subject = text_field("subject", self.subject, 128)?;
        let hosts = &self.merchant.settings.callback_hosts;
        let notify = crate::net::check_callback_url(self.notify_url, allow_private_notify)
            .map_err(|why| CreateRefused::Malformed(format!("notify_url {why}")))?;
        allowed_host("notify_url", &notify, hosts)?;
        if !self.return_url.is_empty() {
            let back = crate::net::check_callback_url(self.return_url, allow_private_notify)
                .map_err(|why| CreateRefused::Malformed(format!("return_url {why}")))?;
            allowed_host("return_url", &back, hosts)?;
        }
        let ip = text_field("ip", self.ip, 64)?;
        let order_time = text_field("order_time", self.order_time, 64)?;

        let amount = Fen::parse_yuan(self.amount).map_err(|e| CreateRefused::InvalidAmount(e.to_string()))?;
        let s = &self.merchant.settings;
        if amount.0 < s.min_fen || amount.0 > s.max_fen {
            return Err(CreateRefused::InvalidAmount(format!("amount must be between {} and {}", Fen(s.min_fen), Fen(s.max_fen))));
        }
        Ok(ValidOrder {
            subject,
            order_no,
            channel: self.channel,
            amount,
            notify_url: self.notify_url.to_owned(),
            return_url: self.return_url.to_owned(),
            ip,
            order_time,
            dialect: self.dialect,
            shop_data: self.shop_data,
            cap_payerless: self.cap_payerless,
            merchant: self.merchant,
        })
    }
}

/// With a merchant's list of callback hosts, `url` must name one of them
/// (V免签 does not sign its URLs: a payer holding a signed link could aim
/// the paid notification and the return anywhere public otherwise).
fn allowed_host(field: &str, url: &url::Url, hosts: &[String]) -> Result<(), CreateRefused> {
    let host = url.host_str().unwrap_or("").trim_end_matches('.').to_ascii_lowercase();
    if hosts.is_empty() || hosts.contains(&host) {
        Ok(())
    } else {
        Err(CreateRefused::Malformed(format!("{field} names a host this merchant does not allow")))
    }
}

/// A free-text field: at most `max` characters, no control characters.
fn text_field(name: &str, value: &str, max: usize) -> Result<String, CreateRefused> {
    if value.chars().count() > max {
        return Err(CreateRefused::Malformed(format!("{name} is longer than {max} characters")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(CreateRefused::Malformed(format!("{name} contains control characters")));
    }
    Ok(value.to_owned())
}

/// How many times a customer may claim one order.
pub const MAX_CLAIMS: usize = 3;

/// Why the customer's claim was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ClaimRefused {
    /// Claimed this many times already ([`MAX_CLAIMS`]).
    #[error("the order was claimed {0} times already")]
    Limit(usize),
    /// The order's state takes no claim now (already claimed, paid,
    /// expired, closed); its state as read afterwards, if it could be.
    #[error("the order's state takes no claim")]
    NotNow(Option<OrderState>),
    #[error(transparent)]
    Store(StoreError),
}

/// A payment a collector saw, offered as the confirmation of an order.
#[derive(Debug, Clone)]
pub struct SeenPayment {
    pub channel: Channel,
    pub amount: Fen,
    /// The collector's id of the observation: one payment confirms one order.
    pub observation_id: String,
    pub source: String,
    /// When the payment was seen, epoch milliseconds (the collector's clock).
    pub observed_at_ms: i64,
    /// The whole evidence, kept with the order.
    pub evidence_json: String,
}

/// Why a seen payment does not confirm an order.
#[derive(Debug, thiserror::Error)]
pub enum PaymentRefused {
    #[error("the payment's channel is not the order's")]
    ChannelMismatch,
    #[error("paid {paid} but the order's payable amount is {payable}")]
    AmountMismatch { paid: Fen, payable: Fen },
    #[error("the order is closed or past its quarantine window")]
    TooLate,
    #[error("the order was already confirmed by another payment")]
    AlreadyPaid,
    #[error("evidence.observation_id must be 1-128 characters")]
    BadEvidence,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The rule of an evidence id (a collector's observation id): 1-128 bytes.
pub fn valid_evidence_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128
}

/// An order with its history and notification, as the operator sees it.
#[derive(Debug)]
pub struct OrderRecord {
    pub order: Order,
    pub history: Vec<OrderEvent>,
    pub notification: Option<Notification>,
    pub attempts: Vec<NotifyAttempt>,
}

impl Domain {
    /// An order by its public id; anything malformed is simply not there.
    pub async fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        match OrderId::parse(id) {
            Some(id) => self.store.order(&id).await,
            None => Ok(None),
        }
    }

    /// An order by the merchant's order number; a malformed number is
    /// simply not there.
    pub async fn order_by_no(&self, merchant: MerchantId, order_no: &str) -> Result<Option<Order>, StoreError> {
        match OrderNo::parse(order_no) {
            Ok(no) => self.store.order_by_no(merchant, &no).await,
            Err(_) => Ok(None),
        }
    }

    pub async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>, StoreError> {
        self.store.orders(filter).await
    }

    /// An order with its history, notification and attempts.
    pub async fn order_record(&self, order: Order) -> Result<OrderRecord, StoreError> {
        let history = self.store.order_history(&order.id).await?;
        let notification = self.store.notification(&order.id).await?;
        let attempts = self.store.notify_attempts(&order.id).await?;
        Ok(OrderRecord { order, history, notification, attempts })
    }

    /// Validates `req` ([`NewOrderRequest::validate`]) and creates its
    /// order, or finds the one the same request created before.
    pub async fn create_order(&self, req: NewOrderRequest<'_>) -> Result<Order, CreateRefused> {
        let valid = req.validate(self.policy.allow_private_notify)?;
        self.create_valid(valid).await
    }

    /// Creates an order whose fields were validated: the collector rule,
    /// the payable amount candidates under the 2 % cap, the payerless cap.
    pub async fn create_valid(&self, req: ValidOrder) -> Result<Order, CreateRefused> {
        let now = self.now();
        let settings = &req.merchant.settings;
        if settings.require_collector && !self.can_confirm(req.merchant.id, req.channel, now).await? {
            return Err(CreateRefused::NoCollectorOnline);
        }
        let candidates = amount::candidates(req.amount, settings);
        // Shop orders without a payer hold at most half of a price's amounts;
        // the native API leaves `ip` to the merchant, as before.
        let payerless_cap = if req.cap_payerless { jiufu_store::payerless_cap(candidates.len()) } else { 0 };
        let new = NewOrder {
            id: OrderId::generate(),
            merchant_id: req.merchant.id,
            order_no: req.order_no,
            subject: req.subject,
            channel: req.channel,
            order_fen: req.amount,
            candidates,
            notify_url: req.notify_url,
            return_url: req.return_url,
            ip: req.ip,
            order_time: req.order_time,
            ttl_secs: settings.order_ttl_secs,
            quarantine_secs: settings.quarantine_secs,
            max_open_per_payer: settings.max_open_per_payer,
            payerless_cap,
            dialect: req.dialect,
            shop_data: req.shop_data,
        };
        let outcome = self.store.create_order(new, now).await.map_err(|e| match e {
            StoreError::Duplicate(Unique::OrderNo) => CreateRefused::OrderNoReused,
            StoreError::Duplicate(Unique::PayableAmount) => CreateRefused::NoFreeAmount,
            other => CreateRefused::Store(other),
        })?;
        match outcome {
            CreateOutcome::Created(order) => {
                tracing::info!(order = %order.id, merchant = %order.merchant_id, payable = %order.payable_fen, "order created");
                self.events.orders_changed();
                Ok(order)
            }
            CreateOutcome::Existing(order) => Ok(order),
            CreateOutcome::OrderNoReused => Err(CreateRefused::OrderNoReused),
            CreateOutcome::NoCode => Err(CreateRefused::NoCode),
            CreateOutcome::NoFreeAmount => Err(CreateRefused::NoFreeAmount),
            CreateOutcome::PayerLimit => Err(CreateRefused::PayerLimit(settings.max_open_per_payer)),
            CreateOutcome::PayerlessLimit => Err(CreateRefused::PayerlessLimit),
        }
    }

    /// Applies `change` to an order, logging refused transitions.
    async fn change(&self, id: &OrderId, change: StateChange) -> Result<TransitionOutcome, StoreError> {
        let transition = change.transition;
        let actor = change.actor.clone();
        let outcome = self.store.transition(id, change, self.now()).await;
        match &outcome {
            Ok(TransitionOutcome::Applied(order)) => {
                tracing::info!(order = %order.id, state = %order.state, ?transition, %actor, "order state changed");
                self.events.orders_changed();
                if order.state == OrderState::Confirmed {
                    self.events.notify_wake.notify_one();
                }
            }
            Ok(TransitionOutcome::AlreadyApplied(_)) => {}
            Err(e @ (StoreError::Transition(_) | StoreError::EvidenceUsed(_))) => {
                tracing::warn!(order = %id, error = %e, %actor, "refused state change")
            }
            Err(e) => tracing::error!(order = %id, error = %e, "state change failed"),
        }
        outcome
    }

    async fn change_to(&self, id: &OrderId, change: StateChange) -> Result<Order, StoreError> {
        match self.change(id, change).await? {
            TransitionOutcome::Applied(o) | TransitionOutcome::AlreadyApplied(o) => Ok(o),
        }
    }

    /// How many times the customer claimed this order so far.
    async fn claims(&self, id: &OrderId) -> Result<usize, StoreError> {
        let history = self.store.order_history(id).await?;
        Ok(history.iter().filter(|e| e.to_state == OrderState::Claimed && actors::is_customer(&e.actor)).count())
    }

    /// The customer says they have paid (5 → 8): at most [`MAX_CLAIMS`]
    /// times in an order's life (counted from its history), so nobody can
    /// make the payee's collector ring endlessly by claiming again after
    /// each rejection.
    pub async fn claim(&self, order: &Order) -> Result<Order, ClaimRefused> {
        if order.state_at(self.now()) == OrderState::CodeIssued {
            match self.claims(&order.id).await {
                Ok(n) if n >= MAX_CLAIMS => {
                    tracing::warn!(order = %order.id, claims = n, "claim refused: the order was claimed {MAX_CLAIMS} times already");
                    return Err(ClaimRefused::Limit(n));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(order = %order.id, error = %e, "cannot read the order's history");
                    return Err(ClaimRefused::Store(e));
                }
            }
        }
        match self.change_to(&order.id, StateChange::new(Transition::Claim, actors::customer())).await {
            Ok(o) => Ok(o),
            Err(StoreError::Transition(_) | StoreError::Conflict(_) | StoreError::NotFound) => {
                let now = self.store.order(&order.id).await.ok().flatten().map(|o| o.state_at(self.now()));
                Err(ClaimRefused::NotNow(now))
            }
            // Logged by change.
            Err(e) => Err(ClaimRefused::Store(e)),
        }
    }

    /// The rules of a payment confirmation: the same channel, exactly the
    /// payable amount, and seen while the order could take it — open, or
    /// expired but within its quarantine (a payment counts when it was *seen*
    /// in the order's window, even if the collector's queue delivers the
    /// confirmation later; the collector's clock is never trusted past ours).
    /// Returns the order and whether this same payment had confirmed it before.
    pub async fn confirm_payment(&self, order: &Order, device_id: &str, p: SeenPayment) -> Result<(Order, bool), PaymentRefused> {
        if p.channel != order.channel {
            return Err(PaymentRefused::ChannelMismatch);
        }
        if p.amount != order.payable_fen {
            return Err(PaymentRefused::AmountMismatch { paid: p.amount, payable: order.payable_fen });
        }
        let now = self.now();
        let seen = p.observed_at_ms.div_euclid(1000).min(now);
        let late = !order.state_at(now).is_open() && order.state != OrderState::Confirmed;
        if late && (order.state == OrderState::Closed || seen >= order.quarantine_until) {
            return Err(PaymentRefused::TooLate);
        }
        if !valid_evidence_id(&p.observation_id) {
            return Err(PaymentRefused::BadEvidence);
        }
        let confirmation = StateChange::new(Transition::Confirm, actors::device(device_id))
            .reason(format!("payment seen by {}", p.source))
            .payment(PaymentRecord { paid_fen: p.amount, evidence_id: p.observation_id, evidence_json: p.evidence_json });
        match self.change(&order.id, confirmation).await {
            Ok(TransitionOutcome::Applied(o)) => Ok((o, false)),
            Ok(TransitionOutcome::AlreadyApplied(o)) => Ok((o, true)),
            Err(StoreError::Transition(_)) if order.state == OrderState::Confirmed => Err(PaymentRefused::AlreadyPaid),
            Err(e) => Err(e.into()),
        }
    }

    /// A collector says the customer's claim was wrong (8 → 5).
    pub async fn reject_claim(&self, order: &Order, device_id: &str, reason: &str) -> Result<Order, StoreError> {
        let reason: String = reason.chars().filter(|c| !c.is_control()).take(200).collect();
        self.change_to(&order.id, StateChange::new(Transition::RejectClaim, actors::device(device_id)).reason(reason)).await
    }

    /// The merchant closes an unpaid order of its own through its shop
    /// protocol (→ -2); `why` says which request.
    pub async fn close_by_merchant(&self, order: &Order, why: &str) -> Result<Order, StoreError> {
        self.change_to(&order.id, StateChange::new(Transition::Close, actors::merchant()).reason(why)).await
    }

    /// The operator closes an unpaid order (→ -2).
    pub async fn close_by_operator(&self, order: &Order) -> Result<Order, StoreError> {
        self.change_to(&order.id, StateChange::new(Transition::Close, actors::operator_cli())).await
    }

    /// The operator says the money arrived (→ 9): the payable amount, with
    /// evidence of its own; the merchant is notified.
    pub async fn confirm_by_operator(&self, order: &Order) -> Result<Order, StoreError> {
        let now = self.now();
        let payment = PaymentRecord {
            paid_fen: order.payable_fen,
            evidence_id: format!("operator-cli-{now}-{}", jiufu_protocol::ids::random_token(8)),
            evidence_json: "{}".into(),
        };
        let change = StateChange::new(Transition::Confirm, actors::operator_cli()).reason("confirmed by hand").payment(payment);
        self.change_to(&order.id, change).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_hosts_when_the_merchant_lists_them() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        let hosts = vec!["shop.example.com".to_owned(), "[::1]".to_owned(), "203.0.113.5".to_owned()];
        for ok in ["https://shop.example.com/n", "http://SHOP.example.com./n?x=1", "http://[::1]:8080/n", "http://203.0.113.5/n"] {
            assert!(allowed_host("notify_url", &url(ok), &hosts).is_ok(), "{ok}");
        }
        for bad in ["https://evil.example/n", "https://shop.example.com.evil.example/n", "https://x.shop.example.com/n"] {
            let e = allowed_host("notify_url", &url(bad), &hosts).unwrap_err();
            assert!(e.to_string().contains("notify_url names a host"), "{bad}: {e}");
        }
        assert!(allowed_host("return_url", &url("https://anywhere.example/"), &[]).is_ok(), "no list: any public host");
    }
}
