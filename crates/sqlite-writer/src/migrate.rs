//! Versioned schema migrations for both SQLite stores (the gateway's and
//! the collector's): each in its own `BEGIN IMMEDIATE` transaction, every
//! one not yet recorded (not only those above the highest recorded: a
//! database made while a lower-numbered one was on its way gets it too),
//! and a database whose schema is newer than this program is refused.

use rusqlite::{Connection, TransactionBehavior};

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database schema {found} is newer than this program ({known}); use a newer program")]
    Newer { found: i64, known: i64 },
    #[error("migration {version} failed: {source}")]
    Failed { version: i64, source: rusqlite::Error },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Applies `migrations` (version, SQL), in order, to `conn`.
pub fn run(conn: &mut Connection, migrations: &[(i64, &str)]) -> Result<(), MigrateError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")?;
    let applied: Vec<i64> =
        conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let found = applied.last().copied().unwrap_or(0);
    let known = migrations.iter().map(|m| m.0).max().unwrap_or(0);
    if found > known {
        return Err(MigrateError::Newer { found, known });
    }
    for (version, sql) in migrations.iter().filter(|m| !applied.contains(&m.0)) {
        let mut apply = || -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, strftime('%s', 'now'))", [version])?;
            tx.commit()
        };
        apply().map_err(|source| MigrateError::Failed { version: *version, source })?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: (i64, &str) = (1, "CREATE TABLE a (x INTEGER)");
    const V2: (i64, &str) = (2, "CREATE TABLE b (y INTEGER)");
    const V3: (i64, &str) = (3, "CREATE TABLE c (z INTEGER)");

    #[test]
    fn applies_what_is_missing_once_and_refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn, &[V1, V3]).unwrap();
        // 2 arrived after 3 was applied: it still runs; running again changes nothing.
        run(&mut conn, &[V1, V2, V3]).unwrap();
        run(&mut conn, &[V1, V2, V3]).unwrap();
        let tables: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b', 'c')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 3);
        assert!(matches!(run(&mut conn, &[V1, V2]), Err(MigrateError::Newer { found: 3, known: 2 })));
        let broken = run(&mut conn, &[V1, V2, V3, (4, "CREATE TABLE a (x INTEGER)")]).unwrap_err();
        assert!(matches!(broken, MigrateError::Failed { version: 4, .. }), "{broken}");
        let recorded: i64 = conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0)).unwrap();
        assert_eq!(recorded, 3, "a failed migration records nothing");
    }
}
