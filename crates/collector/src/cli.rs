//! The `jiufu-collector` command line (`collector.md` §5).

use crate::matcher::{self, Ingested};
use crate::parser::Notice;
use crate::store::Code;
use crate::{Collector, Config, Observed, link, now_ms};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use jiufu_protocol::ids::random_token;
use jiufu_protocol::{Channel, Fen};
use rusqlite::params;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "jiufu-collector", version, about = "就付 Jiufu collector: payment notifications in, confirmed orders out")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pair with a gateway using a token from `jiufu-gateway collector pair`.
    Pair {
        token: String,
        #[arg(long)]
        gateway: String,
        #[arg(long, default_value = "jiufu-collector")]
        name: String,
    },
    /// Receiving codes.
    #[command(subcommand)]
    Code(CodeCmd),
    /// Run every source, the matcher and the gateway link until stopped.
    Run,
    /// Operator: record a payment seen on the phone.
    #[command(subcommand)]
    Payment(PaymentCmd),
    /// Orders known from the gateway.
    Orders,
    /// Payments seen (all, or only the unmatched ones).
    Payments {
        #[arg(long)]
        unmatched: bool,
    },
    /// Operator: confirm a claimed order directly.
    #[command(subcommand)]
    Order(OrderCmd),
    /// Pairing, sources and queue.
    Status,
}

#[derive(Subcommand)]
enum CodeCmd {
    Add {
        #[arg(long)]
        channel: String,
        #[arg(long, conflicts_with = "image", required_unless_present = "image")]
        qr: Option<String>,
        #[arg(long)]
        image: Option<PathBuf>,
        #[arg(long)]
        amount: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
    },
    List,
}

#[derive(Subcommand)]
enum PaymentCmd {
    Add {
        #[arg(long)]
        channel: String,
        #[arg(long)]
        amount: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Attach an unmatched payment to an order by hand (same channel and amount).
    Attach {
        observation_id: String,
        #[arg(allow_hyphen_values = true)]
        order_id: String,
    },
}

#[derive(Subcommand)]
enum OrderCmd {
    Confirm {
        #[arg(allow_hyphen_values = true)]
        order_id: String,
    },
}

fn channel(text: &str) -> anyhow::Result<Channel> {
    text.parse().map_err(|e| anyhow::anyhow!("--channel {text:?}: {e}"))
}

fn amount(text: &str) -> anyhow::Result<Fen> {
    Fen::parse_yuan(text).map_err(|e| anyhow::anyhow!("--amount {text:?}: {e}"))
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let config = Config::from_env()?;
        let c = Collector::open(config).await?;
        let mut out = std::io::stdout();
        match self.command {
            Command::Pair { token, gateway, name } => {
                let p = link::pair(&gateway, &token, &name).await.map_err(|e| anyhow::anyhow!("pairing failed: {e}"))?;
                for (k, v) in [("gateway_url", gateway.trim_end_matches('/')), ("device_id", &p.device_id), ("device_secret", &p.secret)] {
                    c.db.set_setting(k, v).await?;
                }
                c.db.set_setting("merchant_id", &p.merchant_id.to_string()).await?;
                writeln!(out, "paired with merchant {} ({}) as device {}", p.merchant_id, p.merchant_name, p.device_id)?;
            }
            Command::Code(CodeCmd::Add { channel: ch, qr, image, amount: a, name }) => {
                let qr_text = match (qr, image) {
                    (Some(t), _) if !t.trim().is_empty() => t.trim().to_owned(),
                    (_, Some(path)) => {
                        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
                        jiufu_protocol::qr_image::decode(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                    }
                    _ => bail!("give --qr TEXT or --image FILE"),
                };
                let code = Code {
                    uid: random_token(9),
                    channel: channel(&ch)?,
                    qr_text,
                    amount: a.as_deref().map(amount).transpose()?,
                    name,
                    enabled: true,
                };
                writeln!(out, "code {} added: {} {}", code.uid, code.channel, code.qr_text)?;
                c.db.add_code(code, now_ms()).await?;
            }
            Command::Code(CodeCmd::List) => {
                for k in c.db.codes().await? {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}",
                        k.uid,
                        k.channel,
                        k.amount.map(|a| a.to_string()).unwrap_or_else(|| "any".into()),
                        k.name,
                        k.qr_text
                    )?;
                }
            }
            Command::Run => {
                let shutdown = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                #[cfg(unix)]
                let shutdown = async move {
                    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
                    tokio::select! { _ = shutdown => {}, _ = term.recv() => {} }
                };
                return crate::run::run(c, shutdown).await;
            }
            Command::Payment(PaymentCmd::Attach { observation_id, order_id }) => {
                let obs = c.db.observation(&observation_id).await?.context("no such payment")?;
                if obs.status != "unmatched" {
                    bail!("payment {observation_id} is {}, only unmatched payments can be attached", obs.status);
                }
                let order = c.db.orders().await?.into_iter().find(|o| o.order_id == order_id).context("no such order at this collector")?;
                if order.channel != obs.channel || order.payable_amount != obs.amount {
                    bail!(
                        "the payment ({} {}) is not this order's payable amount ({} {}); confirm the order directly instead",
                        obs.channel,
                        obs.amount,
                        order.channel,
                        order.payable_amount
                    );
                }
                let now = now_ms();
                let attached =
                    c.db.write(move |tx| {
                        let n = tx.execute(
                            "UPDATE observations SET status = 'matched', order_id = ?1, note = 'attached by hand' \
                             WHERE id = ?2 AND status = 'unmatched'",
                            params![order_id, observation_id],
                        )?;
                        if n == 1 {
                            matcher::log_event(tx, "attached", &format!("{observation_id} → {order_id}"), now)?;
                            matcher::enqueue(tx, "confirm", &observation_id, Some(&order_id), now)?;
                        }
                        Ok(n == 1)
                    })
                    .await?;
                if !attached {
                    bail!("the payment was attached or matched meanwhile");
                }
                writeln!(out, "payment attached; the confirmation is queued")?;
            }
            Command::Payment(PaymentCmd::Add { channel: ch, amount: a, note }) => {
                let notice = Notice { app: "operator".into(), title: String::new(), text: note };
                let outcome = c.observe("operator", channel(&ch)?, amount(&a)?, now_ms(), notice, None).await?;
                match outcome {
                    Observed::Recorded(Ingested::Matched { order, .. }) => writeln!(out, "payment recorded and matched to order {order}")?,
                    Observed::Recorded(Ingested::Pending { observation }) => {
                        writeln!(out, "payment {observation} recorded; no order yet (it will be matched or reported)")?
                    }
                    Observed::Recorded(Ingested::Duplicate { of, .. }) => writeln!(out, "payment recorded as the same payment as {of}")?,
                    Observed::NotPayment(_) | Observed::Replayed => {
                        bail!("the payment was not recorded")
                    }
                }
            }
            Command::Orders => {
                for o in c.db.orders().await? {
                    writeln!(out, "{}\t{}\t{}\t{}\t{}\t{}", o.order_id, o.order_no, o.state, o.channel, o.payable_amount, o.subject)?;
                }
            }
            Command::Payments { unmatched } => {
                for p in c.db.observations(unmatched.then_some("unmatched")).await? {
                    writeln!(out, "{}", serde_json::to_string(&p)?)?;
                }
            }
            Command::Order(OrderCmd::Confirm { order_id }) => {
                let order = c.db.orders().await?.into_iter().find(|o| o.order_id == order_id).context("no such order at this collector")?;
                let id = format!("obs_{}", random_token(12));
                let now = now_ms();
                let (obs_id, oid) = (id.clone(), order.order_id.clone());
                let queued = c.db.write(move |tx| {
                    let taken: i64 = tx.query_row(
                        "SELECT COUNT(*) FROM observations WHERE order_id = ?1 AND status IN ('matched', 'confirmed')",
                        [&oid],
                        |r| r.get(0),
                    )?;
                    if taken > 0 {
                        return Ok(false);
                    }
                    tx.execute(
                        "INSERT INTO observations (id, source, channel, amount_fen, observed_at, app, title, text, status, order_id, created_at) \
                         VALUES (?1, 'operator', ?2, ?3, ?4, 'operator', '', 'confirmed by hand', 'matched', ?5, ?4)",
                        params![obs_id, order.channel.code(), order.payable_amount.0, now, oid],
                    )?;
                    matcher::enqueue(tx, "confirm", &obs_id, Some(&oid), now)?;
                    Ok(true)
                })
                .await?;
                if !queued {
                    bail!("a payment is already matched to order {order_id}; it is being confirmed");
                }
                writeln!(out, "confirmation of {order_id} queued")?;
            }
            Command::Status => {
                let status = serde_json::json!({
                    "paired": c.link().await?.is_some(),
                    "gateway": c.db.setting("gateway_url").await?,
                    "device_id": c.db.setting("device_id").await?,
                    "merchant_id": c.db.setting("merchant_id").await?,
                    "listen": c.config.listen.to_string(),
                    "push_key": c.key.expose(),
                    "sources": c.db.sources().await?,
                    "queued": c.db.pending_outbox().await?,
                    "observations": c.db.observation_count().await?,
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&status)?)?;
            }
        }
        Ok(())
    }
}
