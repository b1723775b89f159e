//! What a change of an order's state writes, planned once here for every
//! backend (the hyperswitch way: the state machine says what follows what,
//! the plan says what that writes, storage applies the plan generically).
//!
//! A backend loads the order (locked, where other writers exist), asks
//! [`plan`] and writes each [`Effects`] with one statement set: the order's
//! row from [`Effects::order`] (guarded by [`Effects::from`]), the outbox
//! row when there is one, and the history event. Nothing here touches a
//! database, so every rule is unit-tested below.

use crate::{NewOrder, Order, PaymentRecord, StateChange};
use jiufu_protocol::{Actor, MerchantId, OrderId, OrderState, Transition, TransitionError};

/// One state change as rows to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Effects {
    /// The order as it is after the change. A backend writes its state,
    /// `claimed_at`, `quarantine_until`, `paid_at`, `paid_fen`,
    /// `confirmed_by` and `evidence_id` from here (the columns a change
    /// may touch; the others it never does), and answers with it.
    pub order: Order,
    /// The state the row must still be in: anything else changed it underneath.
    pub from: OrderState,
    /// The evidence the payment came with (not part of [`Order`]): `Some`
    /// replaces the column, `None` leaves it.
    pub evidence_json: Option<String>,
    /// The notification outbox row to add in the same transaction (kept if
    /// one exists already).
    pub notification: Option<OutboxRow>,
    /// The order's history entry.
    pub event: EventRow,
}

/// A new notification outbox row: pending, due at `at`, no attempts yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub order_id: OrderId,
    pub merchant_id: MerchantId,
    pub url: String,
    pub at: i64,
}

/// A new entry of an order's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub order_id: OrderId,
    pub merchant_id: MerchantId,
    pub from: Option<OrderState>,
    pub to: OrderState,
    pub actor: Actor,
    pub reason: String,
    pub at: i64,
}

/// What a requested change comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The same confirmation again: nothing to write, the order as it is.
    AlreadyApplied(Box<Order>),
    /// Write these, in order, in one transaction; the last one's order is
    /// the answer. A change arriving after the order's time ran out first
    /// expires it (as the timer would have), then applies to the expired order.
    Apply(Vec<Effects>),
}

/// Plans `change` of `order` (as read now, in the writing transaction) at `now`.
pub fn plan(order: Order, change: &StateChange, now: i64) -> Result<Plan, TransitionError> {
    let mut steps = Vec::with_capacity(2);
    let mut order = order;
    // Lazy expiry: time ran out before the timer noticed.
    if change.transition != Transition::Expire && order.state.is_open() && now >= order.expire_at {
        let expiry = step(&order, &StateChange::new(Transition::Expire, Actor::Timer), now)?;
        order = expiry.order.clone();
        steps.push(expiry);
    }
    if steps.is_empty() && change.repeats(&order) {
        return Ok(Plan::AlreadyApplied(Box::new(order)));
    }
    steps.push(step(&order, change, now)?);
    Ok(Plan::Apply(steps))
}

/// One transition's writes: the one place that says what each transition
/// changes besides the state.
fn step(order: &Order, change: &StateChange, now: i64) -> Result<Effects, TransitionError> {
    let from = order.state;
    let to = from.apply(change.transition)?;
    let mut after = Order { state: to, ..order.clone() };
    let mut evidence_json = None;
    let mut notification = None;
    match change.transition {
        Transition::Claim => after.claimed_at = Some(now),
        Transition::RejectClaim => after.claimed_at = None,
        // The amount stays held through a quarantine from now.
        Transition::Close => after.quarantine_until = restart_quarantine(order, now),
        Transition::Confirm => {
            after.quarantine_until = restart_quarantine(order, now);
            let PaidColumns { paid_fen, evidence_id, evidence } = PaidColumns::of(change.payment.as_ref(), order);
            after.paid_at = Some(now);
            after.paid_fen = Some(paid_fen);
            after.confirmed_by = Some(change.actor.to_string());
            after.evidence_id = evidence_id;
            evidence_json = evidence;
            // The merchant hears of it through the outbox, written with the change.
            notification =
                Some(OutboxRow { order_id: order.id.clone(), merchant_id: order.merchant_id, url: order.notify_url.clone(), at: now });
        }
        Transition::Expire | Transition::AssignCode | Transition::IssueCode => {}
    }
    let event = EventRow {
        order_id: order.id.clone(),
        merchant_id: order.merchant_id,
        from: Some(from),
        to,
        actor: change.actor.clone(),
        reason: change.reason.clone(),
        at: now,
    };
    Ok(Effects { order: after, from, evidence_json, notification, event })
}

/// The quarantine's end when it starts again at `now`: as long after `now`
/// as the order's quarantine was after its expiry.
fn restart_quarantine(order: &Order, now: i64) -> i64 {
    now + (order.quarantine_until - order.expire_at)
}

/// The payment columns of a confirmation (one without a payment record,
/// by hand, records the payable amount).
struct PaidColumns {
    paid_fen: jiufu_protocol::Fen,
    evidence_id: Option<String>,
    evidence: Option<String>,
}

impl PaidColumns {
    fn of(payment: Option<&PaymentRecord>, order: &Order) -> PaidColumns {
        match payment {
            Some(p) => {
                PaidColumns { paid_fen: p.paid_fen, evidence_id: Some(p.evidence_id.clone()), evidence: Some(p.evidence_json.clone()) }
            }
            None => PaidColumns { paid_fen: order.payable_fen, evidence_id: None, evidence: None },
        }
    }
}

/// Who creates an order, and the words its first history entry says.
pub const CREATION_ACTOR: Actor = Actor::Merchant;
pub const CREATION_REASON: &str = "created; code assigned and issued";

impl NewOrder {
    /// The history entry of `order`, just created from this request.
    pub fn creation_event(&self, order: &Order) -> EventRow {
        EventRow {
            order_id: order.id.clone(),
            merchant_id: order.merchant_id,
            from: None,
            to: order.state,
            actor: CREATION_ACTOR,
            reason: CREATION_REASON.to_owned(),
            at: order.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiufu_protocol::{Channel, Dialect, Fen, OrderNo};

    const NOW: i64 = 1_000;

    fn new_order() -> NewOrder {
        NewOrder {
            id: OrderId::generate(),
            merchant_id: MerchantId::new(3).unwrap(),
            order_no: OrderNo::parse("n1").unwrap(),
            subject: "s".into(),
            channel: Channel::P901,
            order_fen: Fen(100),
            candidates: vec![Fen(100), Fen(99)],
            notify_url: "https://shop.example/n".into(),
            return_url: String::new(),
            ip: String::new(),
            order_time: String::new(),
            ttl_secs: 300,
            quarantine_secs: 600,
            max_open_per_payer: 0,
            payerless_cap: 0,
            dialect: Dialect::Jiufu,
            shop_data: String::new(),
        }
    }

    /// Issued at NOW: expires at NOW + 300, quarantined until NOW + 900.
    fn issued() -> Order {
        new_order().issued(Fen(99), 7, "qr".into(), NOW)
    }

    fn single(plan: Plan) -> Effects {
        match plan {
            Plan::Apply(mut steps) if steps.len() == 1 => steps.remove(0),
            other => panic!("expected one step, got {other:?}"),
        }
    }

    fn pay(evidence: &str, fen: i64) -> PaymentRecord {
        PaymentRecord { paid_fen: Fen(fen), evidence_id: evidence.into(), evidence_json: "{\"x\":1}".into() }
    }

    #[test]
    fn a_claim_sets_claimed_at_and_writes_nothing_else() {
        let before = issued();
        let e = single(plan(before.clone(), &StateChange::new(Transition::Claim, Actor::Customer), NOW + 5).unwrap());
        assert_eq!(e.from, OrderState::CodeIssued);
        assert_eq!(e.order, Order { state: OrderState::Claimed, claimed_at: Some(NOW + 5), ..before.clone() });
        assert_eq!((e.evidence_json, e.notification), (None, None));
        assert_eq!(
            e.event,
            EventRow {
                order_id: before.id.clone(),
                merchant_id: before.merchant_id,
                from: Some(OrderState::CodeIssued),
                to: OrderState::Claimed,
                actor: Actor::Customer,
                reason: String::new(),
                at: NOW + 5,
            }
        );
    }

    #[test]
    fn a_rejected_claim_clears_claimed_at_and_keeps_the_reason() {
        let claimed = Order { state: OrderState::Claimed, claimed_at: Some(NOW + 5), ..issued() };
        let change = StateChange::new(Transition::RejectClaim, Actor::Device("d1".into())).reason("not seen");
        let e = single(plan(claimed.clone(), &change, NOW + 9).unwrap());
        assert_eq!(e.order, Order { state: OrderState::CodeIssued, claimed_at: None, ..claimed });
        assert_eq!((e.event.actor.to_string(), e.event.reason.as_str()), ("device:d1".into(), "not seen"));
    }

    #[test]
    fn closing_restarts_the_quarantine_from_now() {
        let before = issued();
        let e = single(plan(before.clone(), &StateChange::new(Transition::Close, Actor::Merchant), NOW + 10).unwrap());
        assert_eq!(e.order, Order { state: OrderState::Closed, quarantine_until: NOW + 10 + 600, ..before });
        assert_eq!(e.notification, None);
    }

    #[test]
    fn a_confirmation_records_the_payment_restarts_the_quarantine_and_adds_the_outbox_row() {
        let before = issued();
        let change = StateChange::new(Transition::Confirm, Actor::Device("d1".into())).payment(pay("obs-1", 99));
        let e = single(plan(before.clone(), &change, NOW + 20).unwrap());
        assert_eq!(
            e.order,
            Order {
                state: OrderState::Confirmed,
                paid_at: Some(NOW + 20),
                paid_fen: Some(Fen(99)),
                confirmed_by: Some("device:d1".into()),
                evidence_id: Some("obs-1".into()),
                quarantine_until: NOW + 20 + 600,
                ..before.clone()
            }
        );
        assert_eq!(e.evidence_json.as_deref(), Some("{\"x\":1}"));
        assert_eq!(
            e.notification,
            Some(OutboxRow { order_id: before.id, merchant_id: before.merchant_id, url: "https://shop.example/n".into(), at: NOW + 20 })
        );
    }

    #[test]
    fn a_confirmation_by_hand_without_a_payment_records_the_payable_amount() {
        let e = single(plan(issued(), &StateChange::new(Transition::Confirm, Actor::OperatorCli), NOW + 1).unwrap());
        assert_eq!((e.order.paid_fen, e.order.evidence_id, e.evidence_json), (Some(Fen(99)), None, None));
        assert_eq!(e.order.confirmed_by.as_deref(), Some("operator:cli"));
    }

    #[test]
    fn the_same_confirmation_again_writes_nothing_and_another_is_refused() {
        let change = StateChange::new(Transition::Confirm, Actor::Device("d1".into())).payment(pay("obs-1", 99));
        let confirmed = single(plan(issued(), &change, NOW + 20).unwrap()).order;
        assert_eq!(plan(confirmed.clone(), &change, NOW + 30).unwrap(), Plan::AlreadyApplied(Box::new(confirmed.clone())));
        let other = StateChange::new(Transition::Confirm, Actor::Device("d1".into())).payment(pay("obs-2", 99));
        assert_eq!(
            plan(confirmed, &other, NOW + 30),
            Err(TransitionError { from: OrderState::Confirmed, transition: Transition::Confirm })
        );
    }

    #[test]
    fn expiry_changes_the_state_only() {
        let before = issued();
        let e = single(plan(before.clone(), &StateChange::new(Transition::Expire, Actor::Timer), NOW + 300).unwrap());
        assert_eq!(e.order, Order { state: OrderState::Expired, ..before });
        assert_eq!((e.event.from, e.event.to, e.event.actor), (Some(OrderState::CodeIssued), OrderState::Expired, Actor::Timer));
    }

    #[test]
    fn a_change_after_the_time_ran_out_expires_the_order_first() {
        // A late payment within the quarantine confirms the expired order.
        let change = StateChange::new(Transition::Confirm, Actor::Device("d1".into())).payment(pay("late", 99));
        let Plan::Apply(steps) = plan(issued(), &change, NOW + 400).unwrap() else { panic!("steps") };
        let states: Vec<_> = steps.iter().map(|s| (s.from, s.order.state, s.event.actor.clone())).collect();
        assert_eq!(
            states,
            [
                (OrderState::CodeIssued, OrderState::Expired, Actor::Timer),
                (OrderState::Expired, OrderState::Confirmed, Actor::Device("d1".into()))
            ]
        );
        assert_eq!(steps[1].order.quarantine_until, NOW + 400 + 600);
        // A claim after expiry is refused: the expiry is not written either,
        // as the caller writes nothing of a refused plan.
        assert_eq!(
            plan(issued(), &StateChange::new(Transition::Claim, Actor::Customer), NOW + 300),
            Err(TransitionError { from: OrderState::Expired, transition: Transition::Claim })
        );
    }

    #[test]
    fn refused_transitions_plan_nothing() {
        let closed = Order { state: OrderState::Closed, ..issued() };
        for t in [Transition::Claim, Transition::Confirm, Transition::Close, Transition::Expire, Transition::RejectClaim] {
            assert!(plan(closed.clone(), &StateChange::new(t, Actor::OperatorCli), NOW + 1).is_err(), "{t:?}");
        }
    }

    #[test]
    fn the_creation_event_is_the_merchants() {
        let new = new_order();
        let order = new.issued(Fen(100), 1, "qr".into(), NOW);
        let e = new.creation_event(&order);
        assert_eq!((e.from, e.to, e.actor, e.reason.as_str(), e.at), (None, OrderState::CodeIssued, Actor::Merchant, CREATION_REASON, NOW));
    }
}
