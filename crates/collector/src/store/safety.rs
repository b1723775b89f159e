//! The collector's store and secrets, on real SQLite files: owner-only
//! files, generated secrets, refused short ones. (Retention is tested in
//! `store::tests`.)

use super::Db;
use crate::{Collector, Config, Generated, clip};
use jiufu_protocol::Secret;
use std::path::Path;

fn config(db_path: &Path) -> Config {
    Config { listen: "127.0.0.1:0".parse().unwrap(), dbus: false, lan: false, ..Config::new(db_path.to_path_buf()) }
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
    let settings = |secret: &str| crate::operator::SourceSettings {
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

#[test]
fn stored_text_is_cut_on_a_character_boundary() {
    assert_eq!(clip("成功收款".into(), 7), "成功");
    assert_eq!(clip("abc".into(), 7), "abc");
    assert_eq!(clip("€".repeat(2000), crate::STORED_TEXT_BYTES).len(), 4095);
}
