//! Versioned schema migrations, applied in order, each in its own transaction.
//! Every migration not yet recorded runs, not only those above the highest
//! recorded one: a database made while a lower-numbered migration was still
//! on its way (0003 before 0002) gets that one too.

use crate::backend;
use jiufu_store::{Result, StoreError};
use rusqlite::Connection;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_evidence_once.sql")),
    (3, include_str!("../migrations/0003_no_discounts.sql")),
    (4, include_str!("../migrations/0004_shop_dialects.sql")),
];

pub fn run(conn: &mut Connection) -> Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        .map_err(backend)?;
    let applied: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(backend)?;
    let current = applied.last().copied().unwrap_or(0);
    let newest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > newest {
        return Err(StoreError::Backend(format!("database schema {current} is newer than this program ({newest})")));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s', 'now'))", [version]).map_err(backend)?;
        tx.commit().map_err(backend)?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}
