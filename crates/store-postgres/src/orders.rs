//! Order writes, each inside the caller's transaction. With several
//! gateway instances on one database, every rule that must hold across
//! them is the database's: the order row is locked before it changes, the
//! payable amount is a unique index, the evidence id another.

use crate::backend;
use crate::rows::{self, OPEN, ORDER_COLUMNS};
use deadpool_postgres::{GenericClient, Transaction};
use jiufu_protocol::{Actor, Fen, OrderId, OrderState, Transition};
use jiufu_store::{
    CREATION_ACTOR, CREATION_REASON, CreateOutcome, Effects, EventRow, NewOrder, Order, Plan, Result, StateChange, StoreError,
    TransitionOutcome, Unique,
};
use tokio_postgres::Statement;

/// A statement prepared once per connection (each plain query would cost
/// its own parse round trip).
pub async fn stmt(tx: &impl GenericClient, sql: &str) -> Result<Statement> {
    tx.prepare_cached(sql).await.map_err(backend)
}

pub async fn load(tx: &impl GenericClient, id: &OrderId, lock: bool) -> Result<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1{}", if lock { " FOR UPDATE" } else { "" });
    tx.query_opt(&stmt(tx, &sql).await?, &[&id.as_str()]).await.map_err(backend)?.as_ref().map(rows::order).transpose()
}

async fn insert_event(tx: &Transaction<'_>, e: &EventRow) -> Result<()> {
    let insert = stmt(
        tx,
        "INSERT INTO order_events (order_id, merchant_id, from_state, to_state, actor, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .await?;
    let (order_id, merchant_id, from, actor) = (e.order_id.as_str(), e.merchant_id.get(), e.from.map(|s| s.code()), e.actor.to_string());
    tx.execute(&insert, &[&order_id, &merchant_id, &from, &e.to.code(), &actor, &e.reason, &e.at]).await.map_err(backend)?;
    Ok(())
}

/// The same order number again: the order it created, or a refusal.
fn again(existing: Order, new: &NewOrder, now: i64) -> CreateOutcome {
    if existing.state_at(now).is_open() && existing.same_request(new) {
        CreateOutcome::Existing(existing)
    } else {
        CreateOutcome::OrderNoReused
    }
}

/// Creates an order in one round trip, as one statement in its own
/// transaction: every connection runs READ COMMITTED (see
/// `PgStore::connect_with`). `jiufu_create_order` (migration 0004) holds
/// the steps; it is the twin of the SQLite backend's `orders::create`
/// (the same steps in the same order; a change to one is a change to
/// both). The program passes it the rules: the state a new order takes,
/// the open states, the caps, and who creates it.
pub async fn create(tx: &impl GenericClient, new: NewOrder, now: i64) -> Result<CreateOutcome> {
    let state = OrderState::Accepted.apply(Transition::AssignCode)?.apply(Transition::IssueCode)?;
    let call = stmt(
        tx,
        "SELECT outcome, payable, code, qr, existing FROM jiufu_create_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21, $22)",
    )
    .await?;
    let candidates: Vec<i64> = new.candidates.iter().map(|f| f.0).collect();
    let open = rows::state_codes(OrderState::OPEN);
    let (id, merchant_id, order_no, actor) = (new.id.as_str(), new.merchant_id.get(), new.order_no.as_str(), CREATION_ACTOR.to_string());
    let row = tx
        .query_one(
            &call,
            &[
                &id,
                &merchant_id,
                &order_no,
                &new.subject,
                &new.channel.code(),
                &state.code(),
                &new.order_fen.0,
                &candidates,
                &new.notify_url,
                &new.return_url,
                &new.ip,
                &new.order_time,
                &now,
                &new.ttl_secs,
                &new.quarantine_secs,
                &new.max_open_per_payer,
                &new.dialect.as_str(),
                &new.shop_data,
                &actor,
                &CREATION_REASON,
                &new.payerless_cap,
                &open,
            ],
        )
        .await
        .map_err(backend)?;
    let outcome: &str = row.get(0);
    Ok(match outcome {
        "created" => CreateOutcome::Created(new.issued(Fen(row.get(1)), row.get(2), row.get(3), now)),
        "existing" => {
            let id: &str = row.try_get(4).map_err(backend)?;
            let id = OrderId::parse(id).ok_or_else(|| StoreError::failure(format!("jiufu_create_order answered the order id {id:?}")))?;
            let existing = load(tx, &id, false).await?.ok_or(StoreError::NotFound)?;
            again(existing, &new, now)
        }
        "no_code" => CreateOutcome::NoCode,
        "payer_limit" => CreateOutcome::PayerLimit,
        "payerless_limit" => CreateOutcome::PayerlessLimit,
        "no_free_amount" => CreateOutcome::NoFreeAmount,
        other => return Err(StoreError::failure(format!("jiufu_create_order answered {other:?}"))),
    })
}

/// Expires open orders whose time is up (at most 1000 a call), skipping
/// rows another instance is changing right now: it will see them itself.
pub async fn expire_open(tx: &Transaction<'_>, now: i64) -> Result<Vec<Order>> {
    let due: Vec<Order> = rows::all(
        &tx.query(
            &format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE {OPEN} AND o.expire_at <= $1 LIMIT 1000 FOR UPDATE SKIP LOCKED"),
            &[&now],
        )
        .await
        .map_err(backend)?,
        rows::order,
    )?;
    let mut expired = Vec::with_capacity(due.len());
    for order in due {
        if let TransitionOutcome::Applied(o) = apply(tx, order, &StateChange::new(Transition::Expire, Actor::Timer), now).await? {
            expired.push(o);
        }
    }
    Ok(expired)
}

/// Frees payable amounts whose quarantine is over.
pub async fn release_slots(tx: &Transaction<'_>, now: i64) -> Result<u64> {
    tx.execute(
        &format!(
            "UPDATE orders SET slot_held = FALSE WHERE slot_held AND state IN ({}) AND quarantine_until <= $1",
            rows::state_list(OrderState::ENDED)
        ),
        &[&now],
    )
    .await
    .map_err(backend)
}

pub async fn transition(tx: &Transaction<'_>, id: &OrderId, change: &StateChange, now: i64) -> Result<TransitionOutcome> {
    let order = load(tx, id, true).await?.ok_or(StoreError::NotFound)?;
    apply(tx, order, change, now).await
}

/// Plans the change ([`jiufu_store::plan`]) of an order whose row this
/// transaction has locked, and writes it.
async fn apply(tx: &Transaction<'_>, order: Order, change: &StateChange, now: i64) -> Result<TransitionOutcome> {
    match jiufu_store::plan(order, change, now)? {
        Plan::AlreadyApplied(order) => Ok(TransitionOutcome::AlreadyApplied(*order)),
        Plan::Apply(steps) => {
            let mut last = None;
            for step in steps {
                write(tx, &step).await?;
                last = Some(step.order);
            }
            Ok(TransitionOutcome::Applied(last.ok_or(StoreError::failure("an empty plan"))?))
        }
    }
}

/// One planned change's rows: the same statements whatever the transition.
/// A refusal here aborts the whole transaction, which the caller drops.
async fn write(tx: &Transaction<'_>, e: &Effects) -> Result<()> {
    let o = &e.order;
    let update = stmt(
        tx,
        "UPDATE orders SET state = $1, claimed_at = $2, quarantine_until = $3, paid_at = $4, paid_fen = $5, confirmed_by = $6, \
         evidence_id = $7, evidence_json = COALESCE($8, evidence_json) WHERE id = $9 AND state = $10",
    )
    .await?;
    let (paid_fen, id) = (o.paid_fen.map(|f| f.0), o.id.as_str());
    let updated = tx
        .execute(
            &update,
            &[
                &o.state.code(),
                &o.claimed_at,
                &o.quarantine_until,
                &o.paid_at,
                &paid_fen,
                &o.confirmed_by,
                &o.evidence_id,
                &e.evidence_json,
                &id,
                &e.from.code(),
            ],
        )
        .await
        .map_err(|err| match backend(err) {
            // A second order for the same evidence (orders_evidence_once).
            StoreError::Duplicate(Unique::Evidence) => StoreError::EvidenceUsed(o.evidence_id.clone().unwrap_or_default()),
            other => other,
        })?;
    if updated != 1 {
        return Err(StoreError::Conflict(format!("order {id} changed underneath")));
    }
    if let Some(n) = &e.notification {
        // The outbox row, in the same transaction as the state change.
        let insert = stmt(
            tx,
            "INSERT INTO notifications (order_id, merchant_id, url, status, attempts, next_at, created_at) \
             VALUES ($1, $2, $3, 'pending', 0, $4, $4) ON CONFLICT (order_id) DO NOTHING",
        )
        .await?;
        tx.execute(&insert, &[&n.order_id.as_str(), &n.merchant_id.get(), &n.url, &n.at]).await.map_err(backend)?;
    }
    insert_event(tx, &e.event).await
}
