//! What the crate's own tests share: a store on a temporary file.

use crate::store::Db;

/// A fresh store; it lives as long as the directory.
pub fn temp_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("collector.db")).expect("store");
    (dir, db)
}
