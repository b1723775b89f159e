//! Order writes. Every function here runs inside the writer's transaction.

use crate::backend;
use crate::rows::{self, OPEN, ORDER_COLUMNS};
use jiufu_protocol::{Actor, Fen, MerchantId, OrderId, OrderNo, OrderState, Transition};
use jiufu_store::{CreateOutcome, Effects, EventRow, NewOrder, Order, Plan, Result, StateChange, StoreError, TransitionOutcome, Unique};
use rusqlite::{Connection, OptionalExtension, params};

pub fn load(conn: &Connection, id: &OrderId) -> Result<Option<Order>> {
    conn.prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1"))
        .and_then(|mut st| st.query_row([id.as_str()], rows::order).optional())
        .map_err(backend)
}

pub fn load_by_no(conn: &Connection, merchant_id: MerchantId, order_no: &OrderNo) -> Result<Option<Order>> {
    conn.prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE merchant_id = ?1 AND order_no = ?2"))
        .and_then(|mut st| st.query_row(params![merchant_id.get(), order_no.as_str()], rows::order).optional())
        .map_err(backend)
}

fn insert_event(conn: &Connection, e: &EventRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO order_events (order_id, merchant_id, from_state, to_state, actor, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut st| {
        st.execute(params![
            e.order_id.as_str(),
            e.merchant_id.get(),
            e.from.map(|s| s.code()),
            e.to.code(),
            e.actor.to_string(),
            e.reason,
            e.at
        ])
    })
    .map_err(backend)?;
    Ok(())
}

/// Creates an order. The twin of `jiufu_create_order` in the PostgreSQL
/// backend's migrations (0004): the same steps, in the same order, with the
/// same rules (open states, the caps); a change to one is a change to both,
/// and the shared store suite has a case for each rule.
pub fn create(conn: &Connection, new: NewOrder, now: i64) -> Result<CreateOutcome> {
    if let Some(existing) = load_by_no(conn, new.merchant_id, &new.order_no)? {
        let open = existing.state_at(now).is_open();
        return Ok(if open && existing.same_request(&new) { CreateOutcome::Existing(existing) } else { CreateOutcome::OrderNoReused });
    }
    // Expired orders keep their amount through quarantine anyway, and the
    // timer frees finished quarantines every second: nothing to sweep here,
    // which keeps a creation independent of how many orders are open.

    let codes: Vec<(i64, Option<i64>, String)> = conn
        .prepare_cached(
            "SELECT id, amount_fen, qr_text FROM codes WHERE merchant_id = ?1 AND channel = ?2 AND enabled = 1 AND removed = 0 ORDER BY id",
        )
        .and_then(|mut st| {
            st.query_map(params![new.merchant_id.get(), new.channel.code()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect()
        })
        .map_err(backend)?;
    if codes.is_empty() {
        return Ok(CreateOutcome::NoCode);
    }
    if new.max_open_per_payer > 0 && !new.ip.is_empty() {
        let open: i64 = conn
            .prepare_cached(&format!(
                // The payer's own open orders, not all of the merchant's: the
                // planner would otherwise pick orders_by_state's state range.
                "SELECT COUNT(*) FROM orders INDEXED BY orders_open_by_payer \
                 WHERE merchant_id = ?1 AND ip = ?2 AND {OPEN} AND ip != '' AND expire_at > ?3"
            ))
            .and_then(|mut st| st.query_row(params![new.merchant_id.get(), new.ip, now], |r| r.get(0)))
            .map_err(backend)?;
        if open >= new.max_open_per_payer {
            return Ok(CreateOutcome::PayerLimit);
        }
    }
    if new.ip.is_empty() && new.payerless_cap > 0 {
        // No payer to cap: such orders hold at most so many of this price's amounts.
        let held: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM orders INDEXED BY orders_payerless_by_price \
                 WHERE merchant_id = ?1 AND channel = ?2 AND order_fen = ?3 AND slot_held = 1 AND ip = '' AND dialect <> 'jiufu'",
            )
            .and_then(|mut st| st.query_row(params![new.merchant_id.get(), new.channel.code(), new.order_fen.0], |r| r.get(0)))
            .map_err(backend)?;
        if held >= new.payerless_cap {
            return Ok(CreateOutcome::PayerlessLimit);
        }
    }
    let Some((payable, code)) = choose_amount(conn, &new, &codes)? else {
        return Ok(CreateOutcome::NoFreeAmount);
    };

    let order = new.issued(payable, code.0, code.1, now);
    conn.prepare_cached(
        "INSERT INTO orders (id, merchant_id, order_no, subject, channel, state, order_fen, payable_fen, slot_held, code_id, qr_text, \
         notify_url, return_url, ip, order_time, created_at, expire_at, quarantine_until, dialect, shop_data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )
    .and_then(|mut st| {
        st.execute(params![
            order.id.as_str(),
            order.merchant_id.get(),
            order.order_no.as_str(),
            order.subject,
            order.channel.code(),
            order.state.code(),
            order.order_fen.0,
            order.payable_fen.0,
            order.code_id,
            order.qr_text,
            order.notify_url,
            order.return_url,
            order.ip,
            order.order_time,
            order.created_at,
            order.expire_at,
            order.quarantine_until,
            order.dialect.as_str(),
            order.shop_data
        ])
    })
    // One writer reads and inserts in one transaction, so neither the order
    // number nor the amount can be taken underneath; should it happen,
    // `backend` names the rule that held.
    .map_err(backend)?;
    insert_event(conn, &new.creation_event(&order))?;
    Ok(CreateOutcome::Created(order))
}

/// The first candidate amount that is free and has a code (a fixed-amount
/// code for exactly that amount, else a general one). The taken amounts are
/// read in the candidates' order and merged with them, so the usual case
/// (the first candidate is free) reads one row.
fn choose_amount(conn: &Connection, new: &NewOrder, codes: &[(i64, Option<i64>, String)]) -> Result<Option<(Fen, (i64, String))>> {
    let (Some(first), Some(last)) = (new.candidates.first(), new.candidates.last()) else {
        return Ok(None);
    };
    let descending = first >= last;
    let (lo, hi) = if descending { (last.0, first.0) } else { (first.0, last.0) };
    let sql = if descending {
        "SELECT payable_fen FROM orders WHERE merchant_id = ?1 AND channel = ?2 AND slot_held = 1 AND payable_fen BETWEEN ?3 AND ?4 \
         ORDER BY payable_fen DESC"
    } else {
        "SELECT payable_fen FROM orders WHERE merchant_id = ?1 AND channel = ?2 AND slot_held = 1 AND payable_fen BETWEEN ?3 AND ?4 \
         ORDER BY payable_fen ASC"
    };
    let mut st = conn.prepare_cached(sql).map_err(backend)?;
    let mut taken = st.query(params![new.merchant_id.get(), new.channel.code(), lo, hi]).map_err(backend)?;
    let mut next_taken = || -> Result<Option<i64>> { taken.next().map_err(backend)?.map(|r| r.get(0)).transpose().map_err(backend) };
    let mut head = next_taken()?;
    let general = codes.iter().find(|c| c.1.is_none());
    for fen in &new.candidates {
        while let Some(t) = head
            && (if descending { t > fen.0 } else { t < fen.0 })
        {
            head = next_taken()?;
        }
        if head == Some(fen.0) {
            continue;
        }
        if let Some(code) = codes.iter().find(|c| c.1 == Some(fen.0)).or(general) {
            return Ok(Some((*fen, (code.0, code.2.clone()))));
        }
    }
    Ok(None)
}

/// Expires open orders whose time is up (at most 1000 a call).
pub fn expire_open(conn: &Connection, now: i64) -> Result<Vec<Order>> {
    let due: Vec<Order> = conn
        .prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE {OPEN} AND expire_at <= ?1 LIMIT 1000"))
        .and_then(|mut st| st.query_map(params![now], rows::order)?.collect())
        .map_err(backend)?;
    let mut expired = Vec::with_capacity(due.len());
    for order in due {
        if let TransitionOutcome::Applied(o) = apply(conn, order, &StateChange::new(Transition::Expire, Actor::Timer), now)? {
            expired.push(o);
        }
    }
    Ok(expired)
}

/// Frees payable amounts whose quarantine is over (expired, closed and
/// confirmed orders alike).
pub fn release_slots(conn: &Connection, now: i64) -> Result<usize> {
    conn.execute(
        &format!(
            "UPDATE orders SET slot_held = 0 WHERE slot_held = 1 AND state IN ({}) AND quarantine_until <= ?1",
            rows::state_list(OrderState::ENDED)
        ),
        params![now],
    )
    .map_err(backend)
}

pub fn transition(conn: &Connection, id: &OrderId, change: &StateChange, now: i64) -> Result<TransitionOutcome> {
    let order = load(conn, id)?.ok_or(StoreError::NotFound)?;
    apply(conn, order, change, now)
}

/// Plans the change ([`jiufu_store::plan`]) and writes it.
fn apply(conn: &Connection, order: Order, change: &StateChange, now: i64) -> Result<TransitionOutcome> {
    match jiufu_store::plan(order, change, now)? {
        Plan::AlreadyApplied(order) => Ok(TransitionOutcome::AlreadyApplied(*order)),
        Plan::Apply(steps) => {
            let mut last = None;
            for step in steps {
                write(conn, &step)?;
                last = Some(step.order);
            }
            Ok(TransitionOutcome::Applied(last.ok_or(StoreError::failure("an empty plan"))?))
        }
    }
}

/// One planned change's rows: the same statements whatever the transition.
fn write(conn: &Connection, e: &Effects) -> Result<()> {
    let o = &e.order;
    let updated = conn
        .prepare_cached(
            "UPDATE orders SET state = ?1, claimed_at = ?2, quarantine_until = ?3, paid_at = ?4, paid_fen = ?5, confirmed_by = ?6, \
             evidence_id = ?7, evidence_json = COALESCE(?8, evidence_json) WHERE id = ?9 AND state = ?10",
        )
        .and_then(|mut st| {
            st.execute(params![
                o.state.code(),
                o.claimed_at,
                o.quarantine_until,
                o.paid_at,
                o.paid_fen.map(|f| f.0),
                o.confirmed_by,
                o.evidence_id,
                e.evidence_json,
                o.id.as_str(),
                e.from.code()
            ])
        })
        .map_err(|err| match backend(err) {
            // A second order for the same evidence (orders_evidence_once).
            StoreError::Duplicate(Unique::Evidence) => StoreError::EvidenceUsed(o.evidence_id.clone().unwrap_or_default()),
            other => other,
        })?;
    if updated != 1 {
        return Err(StoreError::Conflict(format!("order {} changed underneath", o.id)));
    }
    if let Some(n) = &e.notification {
        // The outbox row, in the same transaction as the state change.
        conn.prepare_cached(
            "INSERT INTO notifications (order_id, merchant_id, url, status, attempts, next_at, created_at) \
             VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4) ON CONFLICT (order_id) DO NOTHING",
        )
        .and_then(|mut st| st.execute(params![n.order_id.as_str(), n.merchant_id.get(), n.url, n.at]))
        .map_err(backend)?;
    }
    insert_event(conn, &e.event)
}
