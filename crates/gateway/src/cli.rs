//! The `jiufu-gateway` command line (`operations.md`).

use crate::config::Config;
use crate::domain::merchants::MerchantRefused;
use crate::{App, Shared, clock, qr};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use jiufu_protocol::{Channel, Fen, MerchantId, OrderState};
use jiufu_store::OrderFilter;
use std::io::Write;
use std::path::PathBuf;

mod merchant;
use merchant::MerchantCmd;

#[derive(Parser)]
#[command(name = "jiufu-gateway", version, about = "就付 Jiufu gateway: the merchant API, checkout pages and the collector link")]
pub struct Cli {
    /// A TOML configuration file (environment variables override it).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve {
        /// With an empty database, create a demo merchant and codes and print how to try a payment.
        #[arg(long)]
        demo: bool,
    },
    /// Merchants.
    #[command(subcommand)]
    Merchant(MerchantCmd),
    /// Receiving codes kept on the server.
    #[command(subcommand)]
    Code(CodeCmd),
    /// Paired collectors.
    #[command(subcommand)]
    Collector(CollectorCmd),
    /// Orders.
    #[command(subcommand)]
    Order(OrderCmd),
    /// Merchant notifications.
    #[command(subcommand)]
    Notify(NotifyCmd),
    /// SQLite: write a consistent copy of the live database to a new file (for PostgreSQL use pg_dump).
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Copy every row of one database into another, empty one (e.g. SQLite to PostgreSQL),
    /// from one consistent snapshot, and check the counts afterwards.
    MigrateData {
        /// The database to read: sqlite://PATH or postgres://…
        #[arg(long)]
        from: String,
        /// The empty database to fill: postgres://… or sqlite://PATH
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum CodeCmd {
    Add {
        #[arg(long)]
        merchant: MerchantId,
        #[arg(long)]
        channel: String,
        /// The text the QR code encodes.
        #[arg(long, conflicts_with = "image", required_unless_present = "image")]
        qr: Option<String>,
        /// A PNG or JPEG of the QR code; it is decoded here.
        #[arg(long)]
        image: Option<PathBuf>,
        /// For a fixed-amount code: its amount.
        #[arg(long)]
        amount: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
    },
    List {
        #[arg(long)]
        merchant: MerchantId,
    },
}

#[derive(Subcommand)]
enum CollectorCmd {
    /// Print a one-time pairing token (valid 24 hours) on a single line.
    Pair {
        #[arg(long)]
        merchant: MerchantId,
    },
    /// Paired collectors and whether they are online.
    List {
        #[arg(long)]
        merchant: MerchantId,
    },
    /// Payments collectors saw that match no order.
    Unmatched {
        #[arg(long)]
        merchant: MerchantId,
    },
}

#[derive(Subcommand)]
enum OrderCmd {
    List {
        #[arg(long)]
        merchant: Option<MerchantId>,
        #[arg(long, allow_hyphen_values = true)]
        state: Option<i32>,
    },
    /// Show one order as JSON, with its history and notification attempts.
    Show {
        #[arg(allow_hyphen_values = true)]
        order_id: String,
    },
    /// Operator: the money arrived (→ 9); the merchant is notified.
    Confirm {
        #[arg(allow_hyphen_values = true)]
        order_id: String,
    },
    /// Close an unpaid order (→ -2).
    Close {
        #[arg(allow_hyphen_values = true)]
        order_id: String,
    },
}

#[derive(Subcommand)]
enum NotifyCmd {
    /// Send an order's notification again now.
    Resend {
        #[arg(allow_hyphen_values = true)]
        order_id: String,
    },
}

/// A refusal of the domain's merchant rules as the command line says it.
fn merchant_error(e: MerchantRefused) -> anyhow::Error {
    merchant::refusal(e)
}

fn channel(text: &str) -> anyhow::Result<Channel> {
    text.parse().map_err(|e| anyhow::anyhow!("--channel {text:?}: {e}"))
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let config = Config::load(self.config.as_deref())?;
        jiufu_config::init_logging(Some(&config.log));
        if let Command::Serve { demo } = self.command {
            return serve(config, demo).await;
        }
        if let Command::MigrateData { from, to } = &self.command {
            return migrate_data(&config, from, to).await;
        }
        if let Command::Backup { to } = &self.command {
            let crate::config::Database::Sqlite(path) = &config.database else {
                bail!("backup copies a SQLite database; for PostgreSQL use pg_dump (docs/deploy.md)");
            };
            let sqlite = jiufu_store_sqlite::SqliteStore::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            sqlite.backup(to).await.with_context(|| format!("cannot back up to {}", to.display()))?;
            println!("backed up {} to {}", path.display(), to.display());
            return Ok(());
        }
        let app = App::open(config).await?;
        let now = app.domain.now();
        let mut out = std::io::stdout().lock();
        match self.command {
            Command::Serve { .. } | Command::MigrateData { .. } | Command::Backup { .. } => unreachable!("handled above"),
            Command::Merchant(cmd) => merchant::run(&app, cmd, &mut out).await?,
            Command::Code(CodeCmd::Add { merchant, channel: ch, qr: text, image, amount, name }) => {
                let channel = channel(&ch)?;
                app.domain.merchant_fresh(merchant).await?.with_context(|| format!("no merchant {merchant}"))?;
                let qr_text = match (text, image) {
                    (Some(t), _) if !t.trim().is_empty() => t.trim().to_owned(),
                    (_, Some(path)) => {
                        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
                        qr::decode(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                    }
                    _ => bail!("give --qr TEXT or --image FILE"),
                };
                let amount = amount.map(|a| Fen::parse_yuan(&a).map_err(|e| anyhow::anyhow!("--amount {a:?}: {e}"))).transpose()?;
                let code = app.domain.add_server_code(merchant, channel, qr_text, amount, name).await.map_err(merchant_error)?;
                writeln!(out, "code {} added: {} {}", code.id, code.channel, code.qr_text)?;
            }
            Command::Code(CodeCmd::List { merchant }) => {
                for c in app.domain.codes(merchant).await? {
                    let amount = c.amount.map(|a| a.to_string()).unwrap_or_else(|| "any".into());
                    writeln!(out, "{}\t{}\t{}\t{}\t{}\t{}", c.id, c.channel, amount, c.origin, c.name, c.qr_text)?;
                }
            }
            Command::Collector(CollectorCmd::Pair { merchant }) => {
                let token = app.domain.pairing_token(merchant).await?.with_context(|| format!("no merchant {merchant}"))?;
                writeln!(out, "{token}")?;
            }
            Command::Collector(CollectorCmd::List { merchant }) => {
                for h in app.domain.device_health(merchant).await? {
                    writeln!(out, "{}", serde_json::to_string(&h)?)?;
                }
            }
            Command::Collector(CollectorCmd::Unmatched { merchant }) => {
                for p in app.domain.unmatched(merchant).await? {
                    writeln!(out, "{}", serde_json::to_string(&p)?)?;
                }
            }
            Command::Order(OrderCmd::List { merchant, state }) => {
                let state = state.map(|s| OrderState::from_code(s).with_context(|| format!("no order state {s}"))).transpose()?;
                for o in app.domain.orders(OrderFilter { merchant_id: merchant, state, ..Default::default() }).await? {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        o.id,
                        o.merchant_id,
                        o.order_no,
                        o.state_at(now),
                        o.channel,
                        o.payable_fen,
                        clock::format(o.created_at, app.config.timezone),
                        o.dialect
                    )?;
                }
            }
            Command::Order(OrderCmd::Show { order_id }) => show(&app, &order_id, &mut out).await?,
            Command::Order(OrderCmd::Confirm { order_id }) => {
                let o = crate::error::find_order(&app, &order_id).await.map_err(|e| anyhow::anyhow!(e.message))?;
                app.domain.confirm_by_operator(&o).await?;
                writeln!(out, "order {order_id} confirmed; the merchant will be notified")?;
            }
            Command::Order(OrderCmd::Close { order_id }) => {
                let o = crate::error::find_order(&app, &order_id).await.map_err(|e| anyhow::anyhow!(e.message))?;
                app.domain.close_by_operator(&o).await?;
                writeln!(out, "order {order_id} closed")?;
            }
            Command::Notify(NotifyCmd::Resend { order_id }) => {
                let o = crate::error::find_order(&app, &order_id).await.map_err(|e| anyhow::anyhow!(e.message))?;
                app.domain.resend_notification(&o.id).await?;
                writeln!(out, "notification for {order_id} queued")?;
            }
        }
        Ok(())
    }
}

/// `migrate-data`: export from one backend, import into another, compare.
async fn migrate_data(config: &Config, from: &str, to: &str) -> anyhow::Result<()> {
    use crate::config::{Database, redact_url};
    let (from_db, to_db) = (Database::parse(from)?, Database::parse(to)?);
    if from_db == to_db {
        bail!("--from and --to name the same database");
    }
    let source = crate::open_store(&Config { database: from_db, ..config.clone() }).await?;
    let target = crate::open_store(&Config { database: to_db, ..config.clone() }).await?;
    let dump = source.export().await.context("reading the source database")?;
    let expected = dump.counts();
    let found = target.import(dump).await.with_context(|| format!("writing into {}", redact_url(to)))?;
    if found != expected {
        bail!("the target holds {found}, but the source had {expected}");
    }
    println!("moved {expected}\nfrom {} to {}", redact_url(from), redact_url(to));
    Ok(())
}

async fn show(app: &Shared, order_id: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let o = crate::error::find_order(app, order_id).await.map_err(|e| anyhow::anyhow!(e.message))?;
    let state = o.state_at(app.domain.now());
    let r = app.domain.order_record(o).await?;
    let body = serde_json::json!({
        "order": r.order, "effective_state": state, "history": r.history,
        "protocol": format!("{} / {}", r.order.dialect.name_zh(), r.order.dialect.name_en()),
        "notification": r.notification, "notify_attempts": r.attempts,
    });
    writeln!(out, "{}", serde_json::to_string_pretty(&body)?)?;
    Ok(())
}

async fn serve(mut config: Config, demo: bool) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind).await.with_context(|| format!("cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    if config.public_url.ends_with(":0") {
        // Bound to a port chosen by the system: links must name the real one.
        config.public_url = format!("http://{addr}");
    }
    let app = App::open(config).await?;
    if demo {
        crate::demo::seed(&app).await?;
    }
    // Tests and scripts read this line to learn the port.
    println!("jiufu-gateway listening on http://{addr}");
    std::io::stdout().flush()?;
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
    };
    let extra = if demo { crate::demo::routes() } else { axum::Router::new() };
    // On the worker threads: from block_on's thread the server would be polled by that one thread alone.
    tokio::spawn(crate::serve(app, listener, extra, shutdown)).await.context("the server task failed")?
}
