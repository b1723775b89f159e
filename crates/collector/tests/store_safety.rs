//! The collector's store and secrets, on real SQLite files: owner-only
//! files, generated secrets, refused short ones, retention.

use jiufu_collector::store::Db;
use jiufu_collector::{Collector, Config, Generated, Pinned, clip};
use jiufu_protocol::Secret;
use std::path::Path;
use std::time::Duration;

fn config(db_path: &Path) -> Config {
    Config {
        db_path: db_path.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        key: None,
        smsf_secret: None,
        smsf_unsigned: false,
        rules_path: None,
        heartbeat: Duration::from_secs(30),
        phone_online: Duration::from_secs(60),
        dbus: false,
        lan: false,
        retention: Some(Duration::from_secs(90 * 86_400)),
        pinned: Pinned::default(),
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn the_store_and_its_directory_are_the_owners_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let db_path = tmp.path().join("new/dir/collector.db");
    let db = Db::open(&db_path).unwrap();
    db.set_setting("x", "y").await.unwrap();
    assert_eq!(mode(&tmp.path().join("new/dir")), 0o700);
    assert_eq!(mode(&tmp.path().join("new")), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        assert_eq!(mode(Path::new(&format!("{}{suffix}", db_path.display()))), 0o600, "collector.db{suffix}");
    }
    drop(db);

    // A store an older version made readable by everyone is made private when opened.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&db_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = Db::open(&db_path).unwrap();
    db.set_setting("x", "z").await.unwrap();
    assert_eq!(mode(&db_path), 0o600);
}

#[tokio::test]
async fn secrets_are_generated_once_strong_and_short_ones_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("collector.db");
    let c = Collector::open(config(&path)).await.unwrap();
    assert_eq!(c.generated, vec![Generated::PushKey, Generated::SmsfSecret]);
    assert!(c.key.expose().len() >= 24 && c.smsf_secret.expose().len() >= 24);
    assert_ne!(c.key.expose(), c.smsf_secret.expose());
    let notice = c.generated_notice().join("\n");
    assert!(notice.contains(c.smsf_secret.expose()) && notice.contains("/forward/smsforwarder"), "{notice}");
    let (key, secret) = (c.key.expose().to_owned(), c.smsf_secret.expose().to_owned());
    drop(c);

    // The next start keeps them and announces nothing.
    let again = Collector::open(config(&path)).await.unwrap();
    assert!(again.generated.is_empty());
    assert_eq!((again.key.expose(), again.smsf_secret.expose()), (key.as_str(), secret.as_str()));

    // A short stored secret (an older version allowed any) is replaced, not used.
    again.db.set_setting("smsf_secret", "s3cret").await.unwrap();
    drop(again);
    let replaced = Collector::open(config(&path)).await.unwrap();
    assert_eq!(replaced.generated, vec![Generated::SmsfSecret]);
    assert!(replaced.smsf_secret.expose().len() >= 24);
    drop(replaced);

    // A short one given by the environment stops the start with a clear message.
    for (key, smsf) in [(Some("KEY123"), None), (None, Some("SEC"))] {
        let mut cfg = config(&path);
        cfg.key = key.map(Secret::new);
        cfg.smsf_secret = smsf.map(Secret::new);
        let err = Collector::open(cfg).await.err().expect("refused").to_string();
        assert!(err.contains("at least 16"), "{err}");
    }
}

#[tokio::test]
async fn a_short_secret_is_not_saved_from_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Collector::open(config(&tmp.path().join("collector.db"))).await.unwrap();
    let settings = |secret: &str| jiufu_collector::operator::SourceSettings {
        listen: "127.0.0.1:0".into(),
        lan: true,
        dbus: false,
        smsf_secret: secret.into(),
        smsf_unsigned: false,
    };
    for bad in ["", "s3cret", "fifteen-chars!!", "has a space in it ok"] {
        assert_eq!(c.save_source_settings(settings(bad)).await.unwrap_err().code, "bad_secret", "{bad:?}");
    }
    c.save_source_settings(settings("sixteen-chars-ok")).await.unwrap();
    assert_eq!(c.db.setting("smsf_secret").await.unwrap().as_deref(), Some("sixteen-chars-ok"));
    let fresh = c.regenerate_smsf_secret().await.unwrap();
    assert!(fresh.len() >= 24);
}

#[tokio::test]
async fn retention_forgets_settled_old_records_only() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(&tmp.path().join("collector.db")).unwrap();
    let day = 86_400_000i64;
    let now = 1_800_000_000_000i64;
    db.write(move |tx| {
        let obs = |id: &str, status: &str, at: i64| {
            tx.execute(
                "INSERT INTO observations (id, source, channel, amount_fen, observed_at, app, title, text, status, created_at) \
                 VALUES (?1, 'vmq', 'P901', 100, ?2, '', '', '', ?3, ?2)",
                rusqlite::params![id, at, status],
            )
        };
        obs("old_confirmed", "confirmed", now - 100 * day)?;
        obs("old_duplicate", "duplicate", now - 100 * day)?;
        obs("old_unmatched", "unmatched", now - 100 * day)?;
        obs("old_matched_queued", "matched", now - 100 * day)?;
        obs("old_unmatched_queued", "unmatched", now - 100 * day)?;
        obs("new_confirmed", "confirmed", now - day)?;
        tx.execute("INSERT INTO outbox (kind, observation_id, order_id, next_at) VALUES ('confirm', 'old_matched_queued', 'o1', 0)", [])?;
        tx.execute("INSERT INTO outbox (kind, observation_id, next_at) VALUES ('unmatched', 'old_unmatched_queued', 0)", [])?;
        tx.execute(
            "INSERT INTO outbox (kind, observation_id, next_at, done_at) VALUES ('confirm', 'old_confirmed', 0, ?1)",
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
    let left: Vec<String> = db.observations(None).await.unwrap().into_iter().map(|o| o.id).collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["new_confirmed", "old_matched_queued", "old_unmatched_queued"]);
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

#[test]
fn stored_text_is_cut_on_a_character_boundary() {
    assert_eq!(clip("成功收款".into(), 7), "成功");
    assert_eq!(clip("abc".into(), 7), "abc");
    assert_eq!(clip("€".repeat(2000), jiufu_collector::STORED_TEXT_BYTES).len(), 4095);
}
