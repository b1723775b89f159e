//! `jiufu-gateway merchant …`: add, change, list and show merchants.

use crate::Shared;
use anyhow::{Context, bail};
use clap::Subcommand;
use jiufu_protocol::{Fen, MerchantId, Secret, sign};
use jiufu_store::{MerchantSettings, NewMerchant};
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

/// A key a person chose: long enough, and not a word or a pattern. At
/// least [`Secret::MIN_LEN`] characters, at least 10 of them different,
/// and at least two kinds among letters, digits and other characters
/// (`aaaaaaaaaaaaaaaa`, `1234567890123456` and `abcdefghijklmnop` are
/// refused).
pub fn check_key(key: &str) -> Result<(), String> {
    let chars: Vec<char> = key.chars().collect();
    let distinct: std::collections::HashSet<char> = chars.iter().copied().collect();
    let kinds = [chars.iter().any(|c| c.is_alphabetic()), chars.iter().any(|c| c.is_numeric()), chars.iter().any(|c| !c.is_alphanumeric())]
        .iter()
        .filter(|k| **k)
        .count();
    if distinct.len() < 10 || kinds < 2 {
        return Err(format!(
            "is too easy to guess: use at least 10 different characters of at least two kinds (letters, digits, others), \
             or leave the key out to have {} random ones generated",
            32
        ));
    }
    Ok(())
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

/// `2` or `0.5` (percent) → basis points (200, 50); 0.01 % to 100 %.
fn percent_bp(text: &str) -> anyhow::Result<i64> {
    let bp = Fen::parse_yuan(text.trim().trim_end_matches('%')).map_err(|e| anyhow::anyhow!("is not a percentage: {e}"))?.0;
    if !(1..=10_000).contains(&bp) {
        bail!("must be between 0.01 and 100 (percent)");
    }
    Ok(bp)
}

/// Hosts as the operator writes them: `shop.example.com, pay.example.net`.
fn callback_hosts(text: &str) -> anyhow::Result<Vec<String>> {
    let hosts = MerchantSettings::parse_callback_hosts(text);
    for h in &hosts {
        if url::Host::parse(h).is_err() || (h.contains(['/', ':', '@']) && !h.starts_with('[')) {
            bail!("--callback-hosts: {h:?} is not a host name (write hosts only, as shop.example.com)");
        }
    }
    Ok(hosts)
}

fn check_settings(s: &MerchantSettings) -> anyhow::Result<()> {
    if !(1..=86_400).contains(&s.order_ttl_secs) || !(0..=86_400).contains(&s.quarantine_secs) || !(0..=999).contains(&s.step_count) {
        bail!("--order-ttl must be 1-86400, --quarantine 0-86400 and --steps 0-999");
    }
    if !(0..=1000).contains(&s.max_open_per_payer) {
        bail!("--payer-limit must be 0-1000");
    }
    Ok(())
}

/// A one-line summary of a merchant's shop settings.
fn summary(s: &MerchantSettings) -> String {
    let hosts = if s.callback_hosts.is_empty() { "any public host".to_owned() } else { s.callback_hosts.join(",") };
    format!(
        "payer limit {}, V免签 server only {}, GMPay md5 {}, callback hosts {hosts}",
        s.max_open_per_payer, s.vmq_server_only, s.gmpay_md5
    )
}

pub async fn run(app: &Shared, cmd: MerchantCmd, now: i64, out: &mut impl Write) -> anyhow::Result<()> {
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
            let max_offset_bp = percent_bp(&max_offset).with_context(|| format!("--max-offset {max_offset:?}"))?;
            let key = match (key, key_file) {
                (Some(k), _) => {
                    Secret::parse(&k).and_then(|s| check_key(s.expose()).map(|()| s)).map_err(|e| anyhow::anyhow!("--key {e}"))?
                }
                (None, Some(path)) => Secret::parse(&read_key_file(&path)?)
                    .and_then(|s| check_key(s.expose()).map(|()| s))
                    .map_err(|e| anyhow::anyhow!("the key in {} {e}", path.display()))?,
                (None, None) => Secret::generate(),
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
                callback_hosts: callback_hosts(&shop.callback_hosts)?,
                ..Default::default()
            };
            check_settings(&settings)?;
            let shared: Vec<i64> = app
                .store
                .merchants()
                .await?
                .iter()
                .filter(|m| sign::bytes_eq(m.key.expose().as_bytes(), key.expose().as_bytes()))
                .map(|m| m.id.get())
                .collect();
            if !shared.is_empty() {
                eprintln!(
                    "warning: merchant {shared:?} has the same key. epusdt (without pid) and V免签 find the merchant by its key, \
                     so their requests signed with it will be refused; give each merchant its own key to use them."
                );
            }
            let m = app.store.create_merchant(NewMerchant { id, name, key, settings }, now).await?;
            // The key alone on standard output (scripts read it); the
            // settings for a person, on standard error.
            writeln!(out, "{}", m.key.expose())?;
            eprint!("\n{}", crate::shop::settings::text(&app.config.public_url, &m));
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
            callback_hosts: hosts,
        } => {
            let m = app.store.merchant(id).await?.with_context(|| format!("no merchant {id}"))?;
            let mut s = m.settings;
            s.require_collector = require_collector.unwrap_or(s.require_collector);
            s.order_ttl_secs = order_ttl.unwrap_or(s.order_ttl_secs);
            s.quarantine_secs = quarantine.unwrap_or(s.quarantine_secs);
            s.step_count = steps.unwrap_or(s.step_count);
            if let Some(p) = max_offset {
                s.max_offset_bp = percent_bp(&p).with_context(|| format!("--max-offset {p:?}"))?;
            }
            s.max_open_per_payer = payer_limit.unwrap_or(s.max_open_per_payer);
            s.vmq_server_only = vmq_server_only.unwrap_or(s.vmq_server_only);
            s.gmpay_md5 = gmpay_md5.unwrap_or(s.gmpay_md5);
            if let Some(h) = hosts {
                s.callback_hosts = callback_hosts(&h)?;
            }
            check_settings(&s)?;
            let m = app.store.set_merchant_settings(id, s).await?;
            // The gateway's cache forgets merchants after a few seconds.
            writeln!(out, "merchant {id}: {}", summary(&m.settings))?;
        }
        MerchantCmd::Show { id } => {
            let m = app.store.merchant(id).await?.with_context(|| format!("no merchant {id}"))?;
            write!(out, "{}", crate::shop::settings::text(&app.config.public_url, &m))?;
            writeln!(out, "\n设置 settings: {}", summary(&m.settings))?;
        }
        MerchantCmd::List => {
            for m in app.store.merchants().await? {
                writeln!(out, "{}\t{}\t{}", m.id, m.name, if m.enabled { "enabled" } else { "disabled" })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_keys_must_not_be_easy_to_guess() {
        for weak in ["aaaaaaaaaaaaaaaa", "1234567890123456", "abcdefghijklmnop", "abababababababab12", "Password12Password"] {
            assert!(check_key(weak).is_err(), "{weak}");
        }
        // The keys the tests, the bench and the docs use; and a generated one.
        for good in ["Jf8x2kQm9TzR4wLp", "bench-key-0123456789", "other-merchant-key-0123456789", "short-lived-key-0123456789"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn callback_hosts_are_host_names() {
        assert_eq!(callback_hosts("Shop.Example.com, pay.example.net").unwrap(), ["shop.example.com", "pay.example.net"]);
        assert!(callback_hosts("").unwrap().is_empty());
        for bad in ["https://shop.example.com", "shop.example.com/n", "user@shop.example.com"] {
            assert!(callback_hosts(bad).is_err(), "{bad}");
        }
    }
}
