//! Order operations. Handlers and the CLI parse their input and call these;
//! every change of state goes through the store's state machine, and every
//! committed change wakes the collectors' long polls.

use crate::error::{ApiError, ApiResult};
use crate::merchant_api::CreateRequest;
use crate::{Shared, amount, clock, health};
use jiufu_protocol::{ErrorCode, OrderId, OrderState, Transition};
use jiufu_store::{CreateOutcome, NewOrder, Order, StateChange, StoreError, TransitionOutcome};

/// Looks an order up by its public id; anything malformed is simply "not found".
pub async fn find(app: &Shared, id: &str) -> ApiResult<Order> {
    if OrderId::parse(id).is_none() {
        return Err(ApiError::new(ErrorCode::OrderNotFound));
    }
    app.store.order(id).await?.ok_or_else(|| ApiError::new(ErrorCode::OrderNotFound))
}

pub async fn create(app: &Shared, req: CreateRequest) -> ApiResult<Order> {
    let now = clock::now();
    let settings = &req.merchant.settings;
    if settings.require_collector && !health::can_confirm(app, req.merchant.id, req.channel, now).await? {
        return Err(ApiError::new(ErrorCode::NoCollectorOnline));
    }
    let new = NewOrder {
        id: OrderId::generate().to_string(),
        merchant_id: req.merchant.id,
        order_no: req.order_no.to_string(),
        subject: req.subject,
        channel: req.channel,
        order_fen: req.amount,
        candidates: amount::candidates(req.amount, settings),
        notify_url: req.notify_url,
        return_url: req.return_url,
        ip: req.ip,
        order_time: req.order_time,
        ttl_secs: settings.order_ttl_secs,
        quarantine_secs: settings.quarantine_secs,
        max_open_per_payer: settings.max_open_per_payer,
        dialect: req.dialect,
        shop_data: req.shop_data,
    };
    let outcome = app.store.create_order(new, now).await.map_err(|e| match e {
        StoreError::Conflict(why) if why.contains("order number") => ApiError::new(ErrorCode::OrderNoReused),
        StoreError::Conflict(why) if why.contains("payable amount") => ApiError::new(ErrorCode::NoFreeAmount),
        other => ApiError::internal(ErrorCode::CreateFailed, other),
    })?;
    match outcome {
        CreateOutcome::Created(order) => {
            tracing::info!(order = %order.id, merchant = order.merchant_id, payable = %order.payable_fen, "order created");
            app.orders_changed();
            Ok(order)
        }
        CreateOutcome::Existing(order) => Ok(order),
        CreateOutcome::OrderNoReused => Err(ApiError::new(ErrorCode::OrderNoReused)),
        CreateOutcome::NoCode => Err(ApiError::field(ErrorCode::ChannelUnavailable, "no receiving code for this channel")),
        CreateOutcome::NoFreeAmount => Err(ApiError::new(ErrorCode::NoFreeAmount)),
        CreateOutcome::PayerLimit => {
            Err(ApiError::field(ErrorCode::TooManyOpenOrders, format!("ip already has {} unpaid orders open", settings.max_open_per_payer)))
        }
    }
}

/// Applies `change` to an order, logging refused transitions.
pub async fn change(app: &Shared, id: &str, change: StateChange) -> Result<TransitionOutcome, StoreError> {
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
pub const CUSTOMER: &str = "customer";

/// The customer says they have paid (5 → 8).
pub async fn claim(app: &Shared, id: &str) -> Result<Order, StoreError> {
    match change(app, id, StateChange::new(Transition::Claim, CUSTOMER)).await? {
        TransitionOutcome::Applied(o) | TransitionOutcome::AlreadyApplied(o) => Ok(o),
    }
}
