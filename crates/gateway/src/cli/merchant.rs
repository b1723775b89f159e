//! `jiufu-gateway merchant …`: add, change, list and show merchants.

use crate::Shared;
use crate::domain::merchants::{self, MerchantRefused, NewMerchantRequest, SettingRefused, SettingsChange};
use anyhow::Context;
use clap::Subcommand;
use jiufu_protocol::MerchantId;
use jiufu_store::MerchantSettings;
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum MerchantCmd {
    /// Add a merchant; prints its key (generated when not given).
    Add {
        #[arg(long)]
        id: MerchantId,
        #[arg(long)]
        name: String,
        /// The merchant key (at least 16 characters, 10 of them different, of at least two kinds:
        /// letters, digits, others; 32 random ones are generated when no key is given).
        /// Prefer --key-file: a command line is visible to other local users.
        #[arg(long, conflicts_with = "key_file")]
        key: Option<String>,
        /// Read the key from this file (`-`: standard input).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Refuse new orders (1009) when no collector can confirm the channel.
        #[arg(long)]
        require_collector: bool,
        /// How long an order may be paid, in seconds.
        #[arg(long, default_value_t = MerchantSettings::default().order_ttl_secs)]
        order_ttl: i64,
        /// How long an expired order's amount stays reserved, in seconds.
        #[arg(long, default_value_t = MerchantSettings::default().quarantine_secs)]
        quarantine: i64,
        /// How many 0.01 steps a payable amount may move from the order amount.
        #[arg(long, default_value_t = MerchantSettings::default().step_count)]
        steps: i64,
        /// Step payable amounts up instead of down.
        #[arg(long)]
        step_up: bool,
        /// The most a payable amount may differ from the order amount, in percent (at least one step).
        #[arg(long, default_value = "2")]
        max_offset: String,
        /// At most this many open orders per payer ip (0: no limit).
        #[arg(long, default_value_t = MerchantSettings::default().max_open_per_payer)]
        payer_limit: i64,
        #[command(flatten)]
        shop: ShopFlags,
    },
    /// Change a merchant's settings; what is not given stays as it is.
    Set {
        #[arg(long)]
        id: MerchantId,
        #[arg(long)]
        require_collector: Option<bool>,
        #[arg(long)]
        order_ttl: Option<i64>,
        #[arg(long)]
        quarantine: Option<i64>,
        #[arg(long)]
        steps: Option<i64>,
        /// The most a payable amount may differ from the order amount, in percent.
        #[arg(long)]
        max_offset: Option<String>,
        #[arg(long)]
        payer_limit: Option<i64>,
        /// V免签: refuse `createOrder` with isHtml=1 (true/false).
        #[arg(long)]
        vmq_server_only: Option<bool>,
        /// GMPay: also take pre-v2 md5 signatures (true/false).
        #[arg(long)]
        gmpay_md5: Option<bool>,
        /// The hosts notify and return URLs may name, comma-separated (`""`: any public host).
        #[arg(long)]
        callback_hosts: Option<String>,
    },
    List,
    /// Print what to paste into a shop's payment settings, for every protocol (易支付, epusdt/GMPay, V免签, 就付).
    Show {
        #[arg(long)]
        id: MerchantId,
    },
}

/// The shop-protocol settings `merchant add` takes.
#[derive(clap::Args)]
pub struct ShopFlags {
    /// V免签: refuse `createOrder` with isHtml=1 — only the shop's server creates orders, so no
    /// payer ever holds a signed create URL (whose plain-concatenation sign can be re-split).
    #[arg(long)]
    vmq_server_only: bool,
    /// GMPay: also take a pre-v2 client's md5 signature (and answer it in md5); off, GMPay is HMAC-SHA256 only.
    #[arg(long)]
    gmpay_md5: bool,
    /// The hosts notify and return URLs may name, comma-separated (default: any public host).
    #[arg(long, default_value = "")]
    callback_hosts: String,
}

/// A key from a file, or from standard input for `-`: its first line.
fn read_key_file(path: &std::path::Path) -> anyhow::Result<String> {
    let text = if path.as_os_str() == "-" {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the key from standard input")?;
        line
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// A refusal of the merchant rules in the words of the flags that set them.
pub fn refusal(e: MerchantRefused) -> anyhow::Error {
    match e {
        MerchantRefused::NoSuchMerchant(id) => anyhow::anyhow!("no merchant {id}"),
        MerchantRefused::Setting(s) => setting(s),
        MerchantRefused::Store(e) => e.into(),
    }
}

fn setting(e: SettingRefused) -> anyhow::Error {
    match e {
        SettingRefused::TimesOrSteps => anyhow::anyhow!("--order-ttl must be 1-86400, --quarantine 0-86400 and --steps 0-999"),
        SettingRefused::PayerLimit => anyhow::anyhow!("--payer-limit must be 0-1000"),
        SettingRefused::MaxOffset { text, why } => anyhow::anyhow!(why).context(format!("--max-offset {text:?}")),
        SettingRefused::CallbackHost(h) => {
            anyhow::anyhow!("--callback-hosts: {h:?} is not a host name (write hosts only, as shop.example.com)")
        }
    }
}

pub async fn run(app: &Shared, cmd: MerchantCmd, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        MerchantCmd::Add {
            id,
            name,
            key,
            key_file,
            require_collector,
            order_ttl,
            quarantine,
            steps,
            step_up,
            max_offset,
            payer_limit,
            shop,
        } => {
            let max_offset_bp = merchants::percent_bp(&max_offset).map_err(setting)?;
            let key = match (key, key_file) {
                (Some(k), _) => Some(merchants::chosen_key(&k).map_err(|e| anyhow::anyhow!("--key {e}"))?),
                (None, Some(path)) => {
                    Some(merchants::chosen_key(&read_key_file(&path)?).map_err(|e| anyhow::anyhow!("the key in {} {e}", path.display()))?)
                }
                (None, None) => None,
            };
            let settings = MerchantSettings {
                max_offset_bp,
                max_open_per_payer: payer_limit,
                require_collector,
                order_ttl_secs: order_ttl,
                quarantine_secs: quarantine,
                step_count: steps,
                step_down: !step_up,
                vmq_server_only: shop.vmq_server_only,
                gmpay_md5: shop.gmpay_md5,
                callback_hosts: merchants::callback_hosts(&shop.callback_hosts).map_err(setting)?,
                ..Default::default()
            };
            let added = app.domain.add_merchant(NewMerchantRequest { id, name, key, settings }).await.map_err(refusal)?;
            let shared = &added.shares_key_with;
            if !shared.is_empty() {
                eprintln!(
                    "warning: merchant {shared:?} has the same key. epusdt (without pid) and V免签 find the merchant by its key, \
                     so their requests signed with it will be refused; give each merchant its own key to use them."
                );
            }
            let m = added.merchant;
            // The key alone on standard output (scripts read it); the
            // settings for a person, on standard error.
            writeln!(out, "{}", m.key.expose())?;
            eprint!("\n{}", crate::dialects().settings_text(&app.config.public_url, &m));
        }
        MerchantCmd::Set {
            id,
            require_collector,
            order_ttl,
            quarantine,
            steps,
            max_offset,
            payer_limit,
            vmq_server_only,
            gmpay_md5,
            callback_hosts,
        } => {
            let change = SettingsChange {
                require_collector,
                order_ttl_secs: order_ttl,
                quarantine_secs: quarantine,
                step_count: steps,
                max_offset,
                max_open_per_payer: payer_limit,
                vmq_server_only,
                gmpay_md5,
                callback_hosts,
            };
            let m = app.domain.change_settings(id, change).await.map_err(refusal)?;
            // The gateway's cache forgets merchants after a few seconds.
            writeln!(out, "merchant {id}: {}", merchants::summary(&m.settings))?;
        }
        MerchantCmd::Show { id } => {
            let m = app.domain.merchant_fresh(id).await?.with_context(|| format!("no merchant {id}"))?;
            write!(out, "{}", crate::dialects().settings_text(&app.config.public_url, &m))?;
            writeln!(out, "\n设置 settings: {}", merchants::summary(&m.settings))?;
        }
        MerchantCmd::List => {
            for m in app.domain.all_merchants().await? {
                writeln!(out, "{}\t{}\t{}", m.id, m.name, if m.enabled { "enabled" } else { "disabled" })?;
            }
        }
    }
    Ok(())
}
