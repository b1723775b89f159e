//! Order writes, each inside the caller's transaction. With several
//! gateway instances on one database, every rule that must hold across
//! them is the database's: the order row is locked before it changes, the
//! payable amount is a unique index, the evidence id another.

use crate::rows::{self, ORDER_COLUMNS};
use crate::{backend, unique_violation};
use deadpool_postgres::{GenericClient, Transaction};
use jiufu_protocol::{Fen, OrderId, OrderState, Transition};
use jiufu_store::{CreateOutcome, NewOrder, Order, Result, StateChange, StoreError, TransitionOutcome};
use tokio_postgres::Statement;

/// A statement prepared once per connection (each plain query would cost
/// its own parse round trip).
pub async fn stmt(tx: &impl GenericClient, sql: &str) -> Result<Statement> {
    tx.prepare_cached(sql).await.map_err(backend)
}

pub async fn load(tx: &impl GenericClient, id: &OrderId, lock: bool) -> Result<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1{}", if lock { " FOR UPDATE" } else { "" });
    tx.query_opt(&stmt(tx, &sql).await?, &[&id]).await.map_err(backend)?.as_ref().map(rows::order).transpose()
}

async fn insert_event(tx: &Transaction<'_>, order: &Order, from: Option<OrderState>, actor: &str, reason: &str, at: i64) -> Result<()> {
    let insert = stmt(
        tx,
        "INSERT INTO order_events (order_id, merchant_id, from_state, to_state, actor, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .await?;
    tx.execute(&insert, &[&order.id, &order.merchant_id, &from.map(|s| s.code()), &order.state.code(), &actor, &reason, &at])
        .await
        .map_err(backend)?;
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

/// Creates an order in one round trip (`jiufu_create_order` in the
/// migration holds the steps), as one statement in its own transaction:
/// every connection runs READ COMMITTED (see `PgStore::connect_with`).
pub async fn create(tx: &impl GenericClient, new: NewOrder, now: i64) -> Result<CreateOutcome> {
    let state = OrderState::Accepted.apply(Transition::AssignCode)?.apply(Transition::IssueCode)?;
    let call = stmt(
        tx,
        "SELECT outcome, payable, code, qr, existing FROM jiufu_create_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21)",
    )
    .await?;
    let candidates: Vec<i64> = new.candidates.iter().map(|f| f.0).collect();
    let row = tx
        .query_one(
            &call,
            &[
                &new.id,
                &new.merchant_id,
                &new.order_no,
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
                &"merchant",
                &"created; code assigned and issued",
                &new.payerless_cap,
            ],
        )
        .await
        .map_err(backend)?;
    let outcome: &str = row.get(0);
    Ok(match outcome {
        "created" => CreateOutcome::Created(new.issued(Fen(row.get(1)), row.get(2), row.get(3), now)),
        "existing" => {
            let id: OrderId = row.try_get(4).map_err(backend)?;
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
            &format!(
                "SELECT {ORDER_COLUMNS} FROM orders o WHERE {} AND o.expire_at <= $1 LIMIT 1000 FOR UPDATE SKIP LOCKED",
                OrderState::OPEN_SQL
            ),
            &[&now],
        )
        .await
        .map_err(backend)?,
        rows::order,
    )?;
    let mut expired = Vec::with_capacity(due.len());
    for order in due {
        if let TransitionOutcome::Applied(o) = apply(tx, order, &StateChange::new(Transition::Expire, "timer"), now).await? {
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
            OrderState::sql_list(OrderState::ENDED)
        ),
        &[&now],
    )
    .await
    .map_err(backend)
}

pub async fn transition(tx: &Transaction<'_>, id: &OrderId, change: &StateChange, now: i64) -> Result<TransitionOutcome> {
    let mut order = load(tx, id, true).await?.ok_or(StoreError::NotFound)?;
    // Lazy expiry: time ran out before the timer noticed.
    if change.transition != Transition::Expire && order.state.is_open() && now >= order.expire_at {
        order = match apply(tx, order, &StateChange::new(Transition::Expire, "timer"), now).await? {
            TransitionOutcome::Applied(o) | TransitionOutcome::AlreadyApplied(o) => o,
        };
    }
    apply(tx, order, change, now).await
}

/// Applies a transition to an order whose row this transaction has locked.
async fn apply(tx: &Transaction<'_>, order: Order, change: &StateChange, now: i64) -> Result<TransitionOutcome> {
    if change.repeats(&order) {
        return Ok(TransitionOutcome::AlreadyApplied(order));
    }
    let from = order.state;
    let next = from.apply(change.transition)?;
    let (id, from_code, next_code) = (&order.id, from.code(), next.code());
    let updated = match change.transition {
        Transition::Claim => {
            tx.execute("UPDATE orders SET state = $1, claimed_at = $2 WHERE id = $3 AND state = $4", &[&next_code, &now, id, &from_code])
                .await
        }
        Transition::RejectClaim => {
            tx.execute("UPDATE orders SET state = $1, claimed_at = NULL WHERE id = $2 AND state = $3", &[&next_code, id, &from_code]).await
        }
        Transition::Close => {
            tx.execute(
                "UPDATE orders SET state = $1, quarantine_until = $2 + (quarantine_until - expire_at) WHERE id = $3 AND state = $4",
                &[&next_code, &now, id, &from_code],
            )
            .await
        }
        Transition::Confirm => {
            let payment = change.payment.as_ref();
            // A refusal here aborts the whole transaction, which the caller drops.
            let n = tx
                .execute(
                    "UPDATE orders SET state = $1, paid_at = $2, paid_fen = $3, confirmed_by = $4, evidence_id = $5, evidence_json = $6, \
                     quarantine_until = $2 + (quarantine_until - expire_at) WHERE id = $7 AND state = $8",
                    &[
                        &next_code,
                        &now,
                        &payment.map(|p| p.paid_fen.0).unwrap_or(order.payable_fen.0),
                        &change.actor,
                        &payment.map(|p| p.evidence_id.as_str()),
                        &payment.map(|p| p.evidence_json.as_str()),
                        id,
                        &from_code,
                    ],
                )
                .await;
            let n = match n {
                Ok(n) => n,
                Err(e) if unique_violation(&e) == Some("orders_evidence_once") => {
                    return Err(StoreError::EvidenceUsed(payment.map(|p| p.evidence_id.clone()).unwrap_or_default()));
                }
                Err(e) => return Err(backend(e)),
            };
            // The outbox row, in the same transaction as the state change.
            tx.execute(
                "INSERT INTO notifications (order_id, merchant_id, url, status, attempts, next_at, created_at) \
                 VALUES ($1, $2, $3, 'pending', 0, $4, $4) ON CONFLICT (order_id) DO NOTHING",
                &[id, &order.merchant_id, &order.notify_url, &now],
            )
            .await
            .map_err(backend)?;
            Ok(n)
        }
        Transition::Expire | Transition::AssignCode | Transition::IssueCode => {
            tx.execute("UPDATE orders SET state = $1 WHERE id = $2 AND state = $3", &[&next_code, id, &from_code]).await
        }
    }
    .map_err(backend)?;
    if updated != 1 {
        return Err(StoreError::Conflict(format!("order {id} changed underneath")));
    }
    let order = load(tx, id, false).await?.ok_or(StoreError::NotFound)?;
    insert_event(tx, &order, Some(from), &change.actor, &change.reason, now).await?;
    Ok(TransitionOutcome::Applied(order))
}
