//! PostgreSQL backend of [`jiufu_store::Store`], for operators who run
//! several gateway instances on one database.
//!
//! Correct with many instances by construction: unique payable amounts are
//! a partial unique index (a lost race retries the next free amount), every
//! state change locks its order row, and the notification outbox is leased
//! with `FOR UPDATE SKIP LOCKED` so each due notification is attempted by
//! one instance. Money is integer fen and times epoch seconds, as in SQLite.

mod listen;
mod migrate;
mod orders;
mod rows;
mod store_impl;
mod tls;
mod transfer;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use jiufu_store::{Result, StoreError};
use tokio_postgres::error::SqlState;

/// How long a leased notification stays with the instance that took it
/// before another may attempt it (an instance killed mid-attempt), unless
/// [`PgStore::connect_with`] says otherwise. It must outlast one attempt
/// (the gateway gives a merchant's server 10 s to connect and 10 s to answer).
pub const LEASE_SECS: i64 = 60;

const POOL_SIZE: usize = 16;

pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    lease_secs: i64,
    changes: std::sync::OnceLock<tokio::sync::watch::Receiver<u64>>,
    /// Set after a committed order change; the announcer tells the other
    /// instances (see [`listen::announce`]).
    changed: std::sync::Arc<tokio::sync::Notify>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`,
    /// with libpq's `sslmode` and `sslrootcert` for TLS: see [`tls`]) and
    /// applies the migrations this program knows, refusing a database whose
    /// schema is newer.
    pub async fn connect(url: &str) -> Result<PgStore> {
        Self::connect_with(url, LEASE_SECS).await
    }

    /// [`PgStore::connect`] with another notification lease.
    pub async fn connect_with(url: &str, lease_secs: i64) -> Result<PgStore> {
        let (mut config, tls) = tls::connection(url)?;
        // READ COMMITTED whatever the server's default: an order creation
        // that lost a race must see, in its next statement, the amount the
        // winner committed; event numbering must see the previous numbering.
        let options = config.get_options().map(|o| format!("{o} ")).unwrap_or_default();
        config.options(format!("{options}-c default_transaction_isolation=read\\ committed"));
        let manager = Manager::from_config(config.clone(), tls.clone(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool =
            Pool::builder(manager).max_size(POOL_SIZE).build().map_err(|e| StoreError::context("cannot build the connection pool", e))?;
        let changed = std::sync::Arc::new(tokio::sync::Notify::new());
        tokio::spawn(listen::announce(pool.clone(), changed.clone()));
        let store = PgStore { pool, config, tls, lease_secs: lease_secs.max(1), changes: std::sync::OnceLock::new(), changed };
        let mut client = store.client().await?;
        migrate::run(&mut client).await?;
        Ok(store)
    }

    /// Other instances will hear that orders changed (after this commit).
    fn announce(&self) {
        self.changed.notify_one();
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| StoreError::context("no PostgreSQL connection", e))
    }
}

/// A PostgreSQL error as a store error: a uniqueness rule by its
/// constraint's name, any other failure with its cause kept.
pub(crate) fn backend(e: tokio_postgres::Error) -> StoreError {
    match unique_violation(&e) {
        Some(name) => StoreError::Duplicate(rows::unique(name)),
        None => StoreError::backend(e),
    }
}

/// The unique index a statement ran into, if that is why it failed.
pub(crate) fn unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    (db.code() == &SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or(""))
}
