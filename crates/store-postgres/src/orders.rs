//! Order writes, each inside the caller's transaction. With several
//! gateway instances on one database, every rule that must hold across
//! them is the database's: the order row is locked before it changes, the
//! payable amount is a unique index, the evidence id another.

use crate::rows::{self, ORDER_COLUMNS};
use crate::{backend, unique_violation};
use deadpool_postgres::Transaction;
use jiufu_protocol::{Fen, OrderState, Transition};
use jiufu_store::{CreateOutcome, NewOrder, Order, Result, StateChange, StoreError, TransitionOutcome};
use tokio_postgres::Statement;

/// A statement prepared once per connection (each plain query would cost
/// its own parse round trip).
pub async fn stmt(tx: &Transaction<'_>, sql: &str) -> Result<Statement> {
    tx.prepare_cached(sql).await.map_err(backend)
}

pub async fn load(tx: &Transaction<'_>, id: &str, lock: bool) -> Result<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1{}", if lock { " FOR UPDATE" } else { "" });
    tx.query_opt(&stmt(tx, &sql).await?, &[&id]).await.map_err(backend)?.as_ref().map(rows::order).transpose()
}

async fn load_by_no(tx: &Transaction<'_>, merchant_id: i64, order_no: &str) -> Result<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.merchant_id = $1 AND o.order_no = $2");
    tx.query_opt(&stmt(tx, &sql).await?, &[&merchant_id, &order_no]).await.map_err(backend)?.as_ref().map(rows::order).transpose()
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

pub async fn create(tx: &Transaction<'_>, new: NewOrder, now: i64) -> Result<CreateOutcome> {
    // The two reads go out together (tokio-postgres pipelines them).
    let codes_sql = stmt(
        tx,
        "SELECT id, amount_fen, qr_text FROM codes WHERE merchant_id = $1 AND channel = $2 AND enabled AND NOT removed ORDER BY id",
    )
    .await?;
    let channel = new.channel.code();
    let (existing, codes) = tokio::try_join!(load_by_no(tx, new.merchant_id, &new.order_no), async {
        tx.query(&codes_sql, &[&new.merchant_id, &channel]).await.map_err(backend)
    })?;
    if let Some(existing) = existing {
        return Ok(again(existing, &new, now));
    }
    let codes: Vec<(i64, Option<i64>, String)> = codes.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    if codes.is_empty() {
        return Ok(CreateOutcome::NoCode);
    }
    if new.max_open_per_payer > 0 && !new.ip.is_empty() {
        // One count-then-insert per payer at a time, across instances.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('jiufu:payer:' || $1::TEXT || ':' || $2, 0))",
            &[&new.merchant_id.to_string(), &new.ip],
        )
        .await
        .map_err(backend)?;
        let sql = format!(
            "SELECT COUNT(*) FROM orders WHERE merchant_id = $1 AND ip = $2 AND {} AND ip <> '' AND expire_at > $3",
            OrderState::OPEN_SQL
        );
        let open: i64 = tx.query_one(&stmt(tx, &sql).await?, &[&new.merchant_id, &new.ip, &now]).await.map_err(backend)?.get(0);
        if open >= new.max_open_per_payer {
            return Ok(CreateOutcome::PayerLimit);
        }
    }
    // The unique index decides between concurrent creations, on any
    // instance. A lost race means another transaction committed that amount
    // (its insert waited for that commit), so the next read sees it taken:
    // every retry is progress, and the loop ends when an amount is won or
    // every candidate is really taken.
    for _ in 0..=new.candidates.len() {
        let Some((payable, code)) = choose_amount(tx, &new, &codes).await? else {
            return Ok(CreateOutcome::NoFreeAmount);
        };
        let order = new.issued(payable, code.0, code.1, now);
        // ON CONFLICT DO NOTHING: a row another transaction holds makes this
        // one wait for it, then insert nothing if it committed.
        let insert = stmt(
            tx,
            "INSERT INTO orders (id, merchant_id, order_no, subject, channel, state, order_fen, payable_fen, slot_held, code_id, qr_text, \
             notify_url, return_url, ip, order_time, created_at, expire_at, quarantine_until, dialect, shop_data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT DO NOTHING",
        )
        .await?;
        let inserted = tx
            .execute(
                &insert,
                &[
                    &order.id,
                    &order.merchant_id,
                    &order.order_no,
                    &order.subject,
                    &order.channel.code(),
                    &order.state.code(),
                    &order.order_fen.0,
                    &order.payable_fen.0,
                    &order.code_id,
                    &order.qr_text,
                    &order.notify_url,
                    &order.return_url,
                    &order.ip,
                    &order.order_time,
                    &order.created_at,
                    &order.expire_at,
                    &order.quarantine_until,
                    &order.dialect.as_str(),
                    &order.shop_data,
                ],
            )
            .await
            .map_err(backend)?;
        if inserted == 1 {
            insert_event(tx, &order, None, "merchant", "created; code assigned and issued", now).await?;
            return Ok(CreateOutcome::Created(order));
        }
        // Another transaction won: either this order number (the same
        // request arriving twice at once) or the amount (choose again).
        if let Some(existing) = load_by_no(tx, new.merchant_id, &new.order_no).await? {
            return Ok(again(existing, &new, now));
        }
        tracing::debug!(order = %order.id, payable = %payable, "another transaction took the amount; choosing again");
    }
    Ok(CreateOutcome::NoFreeAmount)
}

/// The first candidate amount that is free and has a code (a fixed-amount
/// code for exactly that amount, else a general one).
async fn choose_amount(tx: &Transaction<'_>, new: &NewOrder, codes: &[(i64, Option<i64>, String)]) -> Result<Option<(Fen, (i64, String))>> {
    let (Some(first), Some(last)) = (new.candidates.first(), new.candidates.last()) else {
        return Ok(None);
    };
    let (lo, hi) = if first >= last { (last.0, first.0) } else { (first.0, last.0) };
    let taken_sql =
        stmt(tx, "SELECT payable_fen FROM orders WHERE merchant_id = $1 AND channel = $2 AND slot_held AND payable_fen BETWEEN $3 AND $4")
            .await?;
    let taken: std::collections::HashSet<i64> =
        tx.query(&taken_sql, &[&new.merchant_id, &new.channel.code(), &lo, &hi]).await.map_err(backend)?.iter().map(|r| r.get(0)).collect();
    let general = codes.iter().find(|c| c.1.is_none());
    for fen in new.candidates.iter().filter(|f| !taken.contains(&f.0)) {
        if let Some(code) = codes.iter().find(|c| c.1 == Some(fen.0)).or(general) {
            return Ok(Some((*fen, (code.0, code.2.clone()))));
        }
    }
    Ok(None)
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

pub async fn transition(tx: &Transaction<'_>, id: &str, change: &StateChange, now: i64) -> Result<TransitionOutcome> {
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
    if change.transition == Transition::Confirm && order.state == OrderState::Confirmed {
        let same = change.payment.as_ref().map(|p| Some(&p.evidence_id) == order.evidence_id.as_ref()).unwrap_or(false);
        if same {
            return Ok(TransitionOutcome::AlreadyApplied(order));
        }
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
