//! The `jiufu-collector` command line (`collector.md` §5).

use crate::model::PaymentFilter;
use crate::operator::{self, QrInput};
use crate::{Collector, Config, Observed};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "jiufu-collector", version, about = "就付 Jiufu collector: payment notifications in, confirmed orders out")]
pub struct Cli {
    /// A TOML configuration file (environment variables override it).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
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
        /// Pair over plain http:// with a gateway that is not on this
        /// computer (the device secret travels unencrypted).
        #[arg(long)]
        insecure_http: bool,
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
    /// The delivery queue: what was and is to be sent to the gateway, with its attempts.
    Outbox,
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
    /// The customer said they paid but no money came: back to waiting (8 → 5).
    Reject {
        #[arg(allow_hyphen_values = true)]
        order_id: String,
        #[arg(long)]
        reason: String,
    },
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let config = Config::load(self.config.as_deref())?;
        jiufu_config::init_logging(Some(&config.log));
        let c = Collector::open(config).await?;
        let mut out = std::io::stdout();
        // A generated secret is shown once, on stdout only (never logged);
        // commands whose output is read by programs leave it to `status`.
        let readable = matches!(
            self.command,
            Command::Orders | Command::Payments { .. } | Command::Status | Command::Outbox | Command::Code(CodeCmd::List)
        );
        if !readable {
            for line in c.generated_notice() {
                writeln!(out, "{line}")?;
            }
        }
        match self.command {
            Command::Pair { token, gateway, name, insecure_http } => {
                if insecure_http {
                    eprintln!("jiufu-collector: --insecure-http: the device secret may travel unencrypted");
                }
                let p = c.pair(&gateway, &token, &name, insecure_http).await.map_err(|e| anyhow::anyhow!("pairing failed: {e}"))?;
                writeln!(out, "paired with merchant {} ({}) as device {}", p.merchant_id, p.merchant_name, p.device_id)?;
            }
            Command::Code(CodeCmd::Add { channel, qr, image, amount, name }) => {
                let input = match (qr, image) {
                    (Some(t), _) if !t.trim().is_empty() => QrInput::Text(t),
                    (_, Some(path)) => QrInput::Image(std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?),
                    _ => bail!("give --qr TEXT or --image FILE"),
                };
                let code = c.add_code(&channel, input, amount.as_deref(), &name).await?;
                writeln!(out, "code {} added: {} {}", code.uid, code.channel, code.qr_text)?;
            }
            Command::Code(CodeCmd::List) => {
                for k in c.codes().await?.codes {
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
                c.attach(&observation_id, &order_id).await?;
                writeln!(out, "payment attached; the confirmation is queued")?;
            }
            Command::Payment(PaymentCmd::Add { channel, amount, note }) => {
                let outcome = c.record_payment(&channel, &amount, &note).await?;
                if !matches!(outcome, Observed::Recorded(_)) {
                    bail!("the payment was not recorded: {}", operator::describe(&outcome));
                }
                writeln!(out, "{}", operator::describe(&outcome))?;
            }
            Command::Orders => {
                for o in c.all_orders().await? {
                    // A value from a newer gateway prints as `unknown(…)`, and the order as not payable here.
                    let note = if o.terms().is_some() { String::new() } else { format!("\tunknown: {}", o.unknown_fields().join(",")) };
                    writeln!(out, "{}\t{}\t{}\t{}\t{}\t{}{note}", o.order_id, o.order_no, o.state, o.channel, o.payable_amount, o.subject)?;
                }
            }
            Command::Payments { unmatched } => {
                for p in c.observations(if unmatched { PaymentFilter::Unmatched } else { PaymentFilter::All }).await? {
                    writeln!(out, "{}", serde_json::to_string(&p)?)?;
                }
            }
            Command::Order(OrderCmd::Confirm { order_id }) => {
                c.confirm_order(&order_id).await?;
                writeln!(out, "confirmation of {order_id} queued")?;
            }
            Command::Order(OrderCmd::Reject { order_id, reason }) => {
                c.reject_claim(&order_id, &reason).await?;
                writeln!(out, "rejection of the claim on {order_id} queued")?;
            }
            Command::Status => {
                let pairing = c.pairing().await?;
                let status = serde_json::json!({
                    "paired": c.link().is_some(),
                    "gateway": pairing.gateway,
                    "device_id": pairing.device_id,
                    "merchant_id": pairing.merchant_id,
                    "listen": c.config.listen.to_string(),
                    "push_key": c.key.expose(),
                    "smsf_secret": c.smsf_secret.expose(),
                    "smsf_webhook": format!("http://COMPUTER:{}/forward/smsforwarder", c.config.listen.port()),
                    "smsf_unsigned": c.config.smsf_unsigned,
                    "sources": c.sources_health().await?,
                    "queued": c.queued().await?,
                    "observations": c.observation_count().await?,
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&status)?)?;
            }
            Command::Outbox => {
                for item in c.outbox(1000).await? {
                    writeln!(out, "{}", serde_json::to_string(&item)?)?;
                }
            }
        }
        Ok(())
    }
}
