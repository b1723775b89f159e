//! The Jiufu gateway as a library: the binary in `main.rs` and the tests
//! build the same [`App`].

pub mod checkout;
pub mod cli;
pub mod clock;
pub mod collector_api;
pub mod config;
pub mod demo;
pub mod dialect;
pub mod domain;
pub mod error;
pub mod merchant_api;
pub mod net;
pub mod notify;
pub mod qr;
pub mod shop;

use anyhow::Context;
use axum::Router;
use config::{Config, Database};
use jiufu_store::Store;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Everything a request handler or background worker needs.
pub struct App {
    /// The money rules and every operation on orders, merchants and devices.
    pub domain: domain::Domain,
    pub config: Config,
    pub qr: qr::QrCache,
    pub http: reqwest::Client,
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
        let policy =
            domain::Policy { allow_private_notify: config.allow_private_notify, collector_online_secs: config.collector_online_secs };
        let domain = domain::Domain::new(store, domain::Clock::System, policy);
        Ok(Arc::new(App { domain, config, qr: qr::QrCache::default(), http, bad_signs }))
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

/// Every merchant protocol the gateway speaks, each a [`dialect::ShopDialect`]
/// handler: the native 就付 API first, then the shop protocols. A new
/// protocol is one more entry here.
pub fn dialects() -> &'static dialect::Registry {
    static REGISTRY: std::sync::LazyLock<dialect::Registry> = std::sync::LazyLock::new(|| {
        dialect::Registry::new(vec![
            Box::new(merchant_api::Native),
            Box::new(shop::epay::Epay),
            Box::new(shop::epusdt::Epusdt),
            Box::new(shop::vmq::Vmq),
        ])
    });
    &REGISTRY
}

pub fn router(app: Shared) -> Router {
    Router::new()
        .merge(dialects().routes())
        .merge(checkout::routes())
        .merge(collector_api::routes())
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
    let timer = {
        let app = app.clone();
        async move { app.domain.run_timer(app.config.retention_secs).await }
    };
    let mut workers = vec![tokio::spawn(notify::run_worker(app.clone())), tokio::spawn(timer)];
    // Other instances on the same database: their changes wake our long
    // polls and our notifier as our own do.
    if let Some(mut changes) = app.domain.other_writers() {
        let app = app.clone();
        workers.push(tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                app.domain.events.orders_changed();
                app.domain.events.notify_wake.notify_one();
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
