//! The store on real SQLite files: retention, and the queue's bookkeeping.

use super::*;
use crate::model::OutboxKind;
use crate::testing::temp_db;

#[tokio::test]
async fn retention_forgets_settled_old_records_only() {
    let (_dir, db) = temp_db();
    let day = 86_400_000i64;
    let now = 1_800_000_000_000i64;
    db.write(move |tx| {
        let obs = |id: &str, status: &str, at: i64| {
            tx.execute(
                "INSERT INTO observations (id, source, channel, amount_fen, observed_at, app, title, text, status, created_at) \
                 VALUES (?1, 'vmq', 'P901', 100, ?2, '', '', '', ?3, ?2)",
                params![id, at, status],
            )
        };
        obs("obs_old_confirmed", "confirmed", now - 100 * day)?;
        obs("obs_old_duplicate", "duplicate", now - 100 * day)?;
        obs("obs_old_unmatched", "unmatched", now - 100 * day)?;
        obs("obs_old_matched_queued", "matched", now - 100 * day)?;
        obs("obs_old_unmatched_queued", "unmatched", now - 100 * day)?;
        obs("obs_new_confirmed", "confirmed", now - day)?;
        tx.execute("INSERT INTO outbox (kind, observation_id, order_id, next_at) VALUES ('confirm', 'obs_old_matched_queued', 'o1____________________', 0)", [])?;
        tx.execute("INSERT INTO outbox (kind, observation_id, next_at) VALUES ('unmatched', 'obs_old_unmatched_queued', 0)", [])?;
        tx.execute(
            "INSERT INTO outbox (kind, observation_id, next_at, done_at) VALUES ('confirm', 'obs_old_confirmed', 0, ?1)",
            [now - 99 * day],
        )?;
        tx.execute("INSERT INTO events (at, kind, message) VALUES (?1, 'old', ''), (?2, 'new', '')", [now - 100 * day, now - day])?;
        tx.execute("INSERT INTO replay (key, expires_at) VALUES ('spent', ?1), ('live', ?2)", [now - 1, now + 600_000])?;
        Ok(())
    })
    .await
    .unwrap();
    let pruned = db.prune(now - 90 * day, now).await.unwrap();
    assert_eq!(pruned, 3 + 1 + 1 + 1, "three payments, one queue item, one event, one replay key");
    let left: Vec<ObservationId> = db.observations(crate::model::PaymentFilter::All).await.unwrap().into_iter().map(|o| o.id).collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["obs_new_confirmed", "obs_old_matched_queued", "obs_old_unmatched_queued"]);
    assert_eq!(db.pending_outbox().await.unwrap(), 2, "queued items stay");
    let (events, replay): (i64, Vec<String>) = db
        .call(|c| {
            let events = c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
            let mut st = c.prepare("SELECT key FROM replay")?;
            let keys = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok((events, keys))
        })
        .await
        .unwrap();
    assert_eq!((events, replay), (1, vec!["live".to_owned()]));
}

#[tokio::test]
async fn the_queue_keeps_its_attempts_and_last_error() {
    let (_dir, db) = temp_db();
    let now = 1_800_000_000_000i64;
    db.write(move |tx| {
        enqueue(tx, OutboxKind::Unmatched, &ObservationId::parse("obs_a").unwrap(), None, now)?;
        enqueue_reject(tx, &crate::testing::order_id("o1"), "没收到", now)
    })
    .await
    .unwrap();
    let due = db.due_outbox(now).await.unwrap();
    assert_eq!(due.iter().map(|i| i.kind).collect::<Vec<_>>(), [OutboxKind::Unmatched, OutboxKind::Reject]);
    assert_eq!(due[1].reason, "没收到");
    let (a, b) = (due[0].id, due[1].id);
    db.write(move |tx| {
        outbox_retry(tx, a, 1, now + 1000, "connection refused")?;
        outbox_refused(tx, b, 1, now, "gateway refused (409 wrong_state)")
    })
    .await
    .unwrap();
    assert!(db.due_outbox(now).await.unwrap().is_empty(), "retried later; refused for good");
    assert_eq!(db.due_outbox(now + 1000).await.unwrap().len(), 1);
    db.write(move |tx| outbox_delivered(tx, a, 2, now + 1000)).await.unwrap();
    let all = db.outbox(10).await.unwrap();
    assert_eq!((all[0].attempts, all[0].done_at, all[0].last_error.as_str()), (2, Some(now + 1000), "connection refused"));
    assert_eq!((all[1].attempts, all[1].done_at), (1, Some(now)));
    assert_eq!(db.pending_outbox().await.unwrap(), 0);
    assert_eq!(serde_json::to_value(&all[1]).unwrap()["kind"], "reject");
}
