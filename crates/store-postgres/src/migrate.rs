//! Versioned migrations, each in its own transaction, under an advisory
//! lock so that instances starting together migrate once.

use crate::backend;
use jiufu_store::{Result, StoreError};
use tokio_postgres::Client;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_payers_and_shop_settings.sql")),
    (3, include_str!("../migrations/0003_device_version.sql")),
    (4, include_str!("../migrations/0004_create_order_rules.sql")),
];

/// Any fixed number: the lock that serialises migrations between instances.
const MIGRATION_LOCK: i64 = 0x6a69_7566_7500;

pub async fn run(client: &mut Client) -> Result<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await.map_err(backend)?;
    let result = apply(client).await;
    let unlock = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await.map_err(backend);
    result.and(unlock.map(|_| ()))
}

async fn apply(client: &mut Client) -> Result<()> {
    // (Asked first: CREATE TABLE IF NOT EXISTS would log a NOTICE on every start.)
    let exists: bool = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await.map_err(backend)?.get(0);
    if !exists {
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            .await
            .map_err(backend)?;
    }
    let applied: Vec<i64> = client
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .await
        .map_err(backend)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let current = applied.last().copied().unwrap_or(0);
    let newest = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
    if current > newest {
        return Err(StoreError::failure(format!("database schema {current} is newer than this program ({newest})")));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
        let tx = client.transaction().await.map_err(backend)?;
        tx.batch_execute(sql).await.map_err(backend)?;
        tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)", &[version])
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}
