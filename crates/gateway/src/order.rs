//! Order operations. Handlers and the CLI parse their input and call these;
//! every change of state goes through the store's state machine, and every
//! committed change wakes the collectors' long polls.

use crate::merchant_api::CreateRequest;
use crate::{Shared, amount, clock, health};
use jiufu_protocol::{Actor, Channel, Dialect, Fen, MerchantId, OrderId, OrderNo, OrderState, Transition};
use jiufu_store::{CreateOutcome, NewOrder, Order, PaymentRecord, StateChange, StoreError, TransitionOutcome, Unique};

/// Looks an order up by its public id; anything malformed is simply not there.
pub async fn get(app: &Shared, id: &str) -> Result<Option<Order>, StoreError> {
    match OrderId::parse(id) {
        Some(id) => app.store.order(&id).await,
        None => Ok(None),
    }
}

/// Looks an order up by the merchant's order number; a malformed number
/// is simply not there.
pub async fn get_by_no(app: &Shared, merchant: MerchantId, order_no: &str) -> Result<Option<Order>, StoreError> {
    match OrderNo::parse(order_no) {
        Ok(no) => app.store.order_by_no(merchant, &no).await,
        Err(_) => Ok(None),
    }
}

/// Why an order was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateRefused {
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

pub async fn create(app: &Shared, req: CreateRequest) -> Result<Order, CreateRefused> {
    let now = clock::now();
    let settings = &req.merchant.settings;
    if settings.require_collector && !health::can_confirm(app, req.merchant.id, req.channel, now).await? {
        return Err(CreateRefused::NoCollectorOnline);
    }
    let candidates = amount::candidates(req.amount, settings);
    // Shop orders without a payer hold at most half of a price's amounts;
    // the native API leaves `ip` to the merchant, as before.
    let payerless_cap = if req.dialect == Dialect::Jiufu { 0 } else { jiufu_store::payerless_cap(candidates.len()) };
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
    let outcome = app.store.create_order(new, now).await.map_err(|e| match e {
        StoreError::Duplicate(Unique::OrderNo) => CreateRefused::OrderNoReused,
        StoreError::Duplicate(Unique::PayableAmount) => CreateRefused::NoFreeAmount,
        other => CreateRefused::Store(other),
    })?;
    match outcome {
        CreateOutcome::Created(order) => {
            tracing::info!(order = %order.id, merchant = %order.merchant_id, payable = %order.payable_fen, "order created");
            app.orders_changed();
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
pub async fn change(app: &Shared, id: &OrderId, change: StateChange) -> Result<TransitionOutcome, StoreError> {
    let transition = change.transition;
    let actor = change.actor.clone();
    let outcome = app.store.transition(id, change, clock::now()).await;
    match &outcome {
        Ok(TransitionOutcome::Applied(order)) => {
            tracing::info!(order = %order.id, state = %order.state, ?transition, %actor, "order state changed");
            app.orders_changed();
            if order.state == OrderState::Confirmed {
                app.notify_wake.notify_one();
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

/// The actor of the customer's own changes in an order's history.
pub const CUSTOMER: Actor = Actor::Customer;

/// The customer says they have paid (5 → 8).
pub async fn claim(app: &Shared, id: &OrderId) -> Result<Order, StoreError> {
    match change(app, id, StateChange::new(Transition::Claim, CUSTOMER)).await? {
        TransitionOutcome::Applied(o) | TransitionOutcome::AlreadyApplied(o) => Ok(o),
    }
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

/// The rules of a payment confirmation: the same channel, exactly the
/// payable amount, and seen while the order could take it — open, or
/// expired but within its quarantine (a payment counts when it was *seen*
/// in the order's window, even if the collector's queue delivers the
/// confirmation later; the collector's clock is never trusted past ours).
/// Returns the order and whether this same payment had confirmed it before.
pub async fn confirm_payment(app: &Shared, order: &Order, actor: Actor, p: SeenPayment) -> Result<(Order, bool), PaymentRefused> {
    if p.channel != order.channel {
        return Err(PaymentRefused::ChannelMismatch);
    }
    if p.amount != order.payable_fen {
        return Err(PaymentRefused::AmountMismatch { paid: p.amount, payable: order.payable_fen });
    }
    let now = clock::now();
    let seen = p.observed_at_ms.div_euclid(1000).min(now);
    let late = !order.state_at(now).is_open() && order.state != OrderState::Confirmed;
    if late && (order.state == OrderState::Closed || seen >= order.quarantine_until) {
        return Err(PaymentRefused::TooLate);
    }
    if p.observation_id.is_empty() || p.observation_id.len() > 128 {
        return Err(PaymentRefused::BadEvidence);
    }
    let confirmation = StateChange::new(Transition::Confirm, actor)
        .reason(format!("payment seen by {}", p.source))
        .payment(PaymentRecord { paid_fen: p.amount, evidence_id: p.observation_id, evidence_json: p.evidence_json });
    match change(app, &order.id, confirmation).await {
        Ok(TransitionOutcome::Applied(o)) => Ok((o, false)),
        Ok(TransitionOutcome::AlreadyApplied(o)) => Ok((o, true)),
        Err(StoreError::Transition(_)) if order.state == OrderState::Confirmed => Err(PaymentRefused::AlreadyPaid),
        Err(e) => Err(e.into()),
    }
}
