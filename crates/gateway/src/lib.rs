//! The Jiufu gateway as a library: the binary in `main.rs` and the tests
//! build the same [`App`].

pub mod amount;
pub mod checkout;
pub mod cli;
pub mod clock;
pub mod collector_api;
pub mod config;
pub mod demo;
pub mod error;
pub mod expiry;
pub mod health;
pub mod merchant_api;
mod merchant_cache;
pub mod net;
pub mod notify;
pub mod order;
pub mod qr;
pub mod shop;

use anyhow::Context;
use axum::Router;
use config::{Config, Database};
use jiufu_store::Store;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

/// Everything a request handler or background worker needs.
pub struct App {
    pub store: Arc<dyn Store>,
    pub config: Config,
    pub qr: qr::QrCache,
    /// Bumped after every committed change of any order, so long polls wake.
    pub order_changes: watch::Sender<u64>,
    /// Wakes the notification worker when a new notification is due now.
    pub notify_wake: Notify,
    pub http: reqwest::Client,
    merchants: merchant_cache::MerchantCache,
    /// Wrong signatures per client address (the bad-signature throttle).
    pub bad_signs: net::throttle::BadSigns,
}

pub type Shared = Arc<App>;

/// The largest request body any endpoint reads.
pub const MAX_BODY: usize = 256 * 1024;

impl App {
    pub async fn open(config: Config) -> anyhow::Result<Shared> {
        let store = open_store(&config).await?;
        let http = net::notify_client(config.allow_private_notify)?;
        let bad_signs = net::throttle::BadSigns::new(config.bad_sign_limit);
        Ok(Arc::new(App {
            store,
            config,
            qr: qr::QrCache::default(),
            order_changes: watch::Sender::new(0),
            notify_wake: Notify::new(),
            http,
            merchants: merchant_cache::MerchantCache::default(),
            bad_signs,
        }))
    }

    /// An enabled merchant, from a cache that forgets after a few seconds
    /// (merchants change rarely, and possibly from another process: the CLI).
    pub async fn merchant(&self, id: jiufu_protocol::MerchantId) -> Result<Option<jiufu_store::Merchant>, jiufu_store::StoreError> {
        self.merchants.get(self.store.as_ref(), id).await
    }

    /// Every enabled merchant, from the same short-lived cache: the by-key
    /// protocols (epusdt classic, V免签) try each one's key.
    pub async fn enabled_merchants(&self) -> Result<Arc<Vec<jiufu_store::Merchant>>, jiufu_store::StoreError> {
        self.merchants.enabled(self.store.as_ref()).await
    }

    /// Runs `check`, a request's authentication, for `client` under the
    /// bad-signature throttle: refused at once while the address is over
    /// its limit, and a wrong signature counted against it.
    pub async fn authenticate<T>(
        &self,
        client: net::client::ClientAddr,
        check: impl std::future::Future<Output = error::ApiResult<T>>,
    ) -> error::ApiResult<T> {
        if !self.bad_signs.allows(client.0) {
            return Err(error::ApiError::field(
                jiufu_protocol::ErrorCode::BadSignature,
                "too many wrong signatures from this address; wait a minute",
            ));
        }
        let result = check.await;
        if let Err(e) = &result
            && e.code == jiufu_protocol::ErrorCode::BadSignature
        {
            self.bad_signs.failed(client.0);
        }
        result
    }

    /// Tells waiting collectors and the notifier that orders changed.
    pub fn orders_changed(&self) {
        self.order_changes.send_modify(|v| *v = v.wrapping_add(1));
    }
}

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match &config.database {
        Database::Sqlite(path) => {
            let store = jiufu_store_sqlite::SqliteStore::open(path)
                .with_context(|| format!("cannot open the SQLite database {}", path.display()))?;
            Ok(Arc::new(store))
        }
        Database::Postgres(url) => {
            let store = jiufu_store_postgres::PgStore::connect_with(url, config.notify_lease_secs)
                .await
                .with_context(|| format!("cannot open the PostgreSQL database {}", config::redact_url(url)))?;
            Ok(Arc::new(store))
        }
    }
}

pub fn router(app: Shared) -> Router {
    Router::new()
        .merge(merchant_api::routes())
        .merge(checkout::routes())
        .merge(collector_api::routes())
        .merge(shop::routes())
        .route("/health", axum::routing::get(|| async { axum::Json(serde_json::json!({"ok": true})) }))
        // No body anywhere is read past this, before or after authentication.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// Runs the server and its background workers until `shutdown` resolves.
pub async fn serve(
    app: Shared,
    listener: TcpListener,
    extra: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut workers = vec![tokio::spawn(notify::run_worker(app.clone())), tokio::spawn(expiry::run_timer(app.clone()))];
    // Other instances on the same database: their changes wake our long
    // polls and our notifier as our own do.
    if let Some(mut changes) = app.store.changes() {
        let app = app.clone();
        workers.push(tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                app.orders_changed();
                app.notify_wake.notify_one();
            }
        }));
    }
    let limits = app.config.limits;
    let result = jiufu_http_guard::serve(listener, router(app).merge(extra), limits, shutdown).await;
    for w in workers {
        w.abort();
    }
    result.context("server failed")
}
