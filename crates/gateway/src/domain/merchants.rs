//! Merchants: adding one, its settings and their ranges, its key and the
//! shared-key rule, its receiving codes.

use super::Domain;
use jiufu_protocol::ids::random_token;
use jiufu_protocol::{Channel, Fen, MerchantId, Secret, sign};
use jiufu_store::{Code, Merchant, MerchantSettings, NewCode, NewMerchant, StoreError};
use std::sync::Arc;

/// How many random characters a generated key has.
pub const GENERATED_KEY_LEN: usize = 32;

/// A key a person chose: long enough, and not a word or a pattern. At
/// least [`Secret::MIN_LEN`] characters (checked by [`Secret::parse`]), at
/// least 10 of them different, and at least two kinds among letters,
/// digits and other characters (`aaaaaaaaaaaaaaaa`, `1234567890123456` and
/// `abcdefghijklmnop` are refused).
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
             or leave the key out to have {GENERATED_KEY_LEN} random ones generated"
        ));
    }
    Ok(())
}

/// A chosen key as text: a [`Secret`] that is hard enough to guess.
pub fn chosen_key(text: &str) -> Result<Secret, String> {
    Secret::parse(text).and_then(|s| check_key(s.expose()).map(|()| s))
}

/// A merchant setting out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingRefused {
    /// The order time to live (1-86400 s), quarantine (0-86400 s) or step
    /// count (0-999).
    #[error("the order time to live must be 1-86400 s, the quarantine 0-86400 s and the steps 0-999")]
    TimesOrSteps,
    /// The per-payer limit (0-1000).
    #[error("the payer limit must be 0-1000")]
    PayerLimit,
    /// The maximum offset, as written, and why it is not a percentage
    /// between 0.01 and 100.
    #[error("the maximum offset {text:?} {why}")]
    MaxOffset { text: String, why: String },
    /// A callback host that is not a host name.
    #[error("{0:?} is not a host name")]
    CallbackHost(String),
}

/// `2` or `0.5` (percent) → basis points (200, 50); 0.01 % to 100 %.
pub fn percent_bp(text: &str) -> Result<i64, SettingRefused> {
    let refused = |why: String| SettingRefused::MaxOffset { text: text.to_owned(), why };
    let bp = Fen::parse_yuan(text.trim().trim_end_matches('%')).map_err(|e| refused(format!("is not a percentage: {e}")))?.0;
    if !(1..=10_000).contains(&bp) {
        return Err(refused("must be between 0.01 and 100 (percent)".to_owned()));
    }
    Ok(bp)
}

/// Hosts as the operator writes them: `shop.example.com, pay.example.net`.
pub fn callback_hosts(text: &str) -> Result<Vec<String>, SettingRefused> {
    let hosts = MerchantSettings::parse_callback_hosts(text);
    for h in &hosts {
        if url::Host::parse(h).is_err() || (h.contains(['/', ':', '@']) && !h.starts_with('[')) {
            return Err(SettingRefused::CallbackHost(h.clone()));
        }
    }
    Ok(hosts)
}

/// The ranges of a merchant's settings.
pub fn check_settings(s: &MerchantSettings) -> Result<(), SettingRefused> {
    if !(1..=86_400).contains(&s.order_ttl_secs) || !(0..=86_400).contains(&s.quarantine_secs) || !(0..=999).contains(&s.step_count) {
        return Err(SettingRefused::TimesOrSteps);
    }
    if !(0..=1000).contains(&s.max_open_per_payer) {
        return Err(SettingRefused::PayerLimit);
    }
    Ok(())
}

/// A one-line summary of a merchant's shop settings.
pub fn summary(s: &MerchantSettings) -> String {
    let hosts = if s.callback_hosts.is_empty() { "any public host".to_owned() } else { s.callback_hosts.join(",") };
    format!(
        "payer limit {}, V免签 server only {}, GMPay md5 {}, callback hosts {hosts}",
        s.max_open_per_payer, s.vmq_server_only, s.gmpay_md5
    )
}

/// A merchant to add; its settings are checked against their ranges.
#[derive(Debug, Clone)]
pub struct NewMerchantRequest {
    pub id: MerchantId,
    pub name: String,
    /// `None`: a random key is generated.
    pub key: Option<Secret>,
    pub settings: MerchantSettings,
}

/// A merchant added, and the merchants that already had its key.
#[derive(Debug, Clone)]
pub struct MerchantAdded {
    pub merchant: Merchant,
    /// epusdt (without pid) and V免签 find the merchant by its key: a
    /// request signed with a shared key is refused ([`Domain::merchant_by_key`]).
    pub shares_key_with: Vec<i64>,
}

/// A change of settings: what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub require_collector: Option<bool>,
    pub order_ttl_secs: Option<i64>,
    pub quarantine_secs: Option<i64>,
    pub step_count: Option<i64>,
    /// Percent as written ([`percent_bp`]).
    pub max_offset: Option<String>,
    pub max_open_per_payer: Option<i64>,
    pub vmq_server_only: Option<bool>,
    pub gmpay_md5: Option<bool>,
    /// Hosts as written ([`callback_hosts`]).
    pub callback_hosts: Option<String>,
}

/// Why a merchant was not added or changed.
#[derive(Debug, thiserror::Error)]
pub enum MerchantRefused {
    #[error("no merchant {0}")]
    NoSuchMerchant(MerchantId),
    #[error(transparent)]
    Setting(#[from] SettingRefused),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Domain {
    /// An enabled or disabled merchant, from a cache that forgets after a
    /// few seconds (merchants change rarely, and possibly from another
    /// process: the CLI).
    pub async fn merchant(&self, id: MerchantId) -> Result<Option<Merchant>, StoreError> {
        self.merchants.get(self.store.as_ref(), id).await
    }

    /// An enabled merchant, from the cache.
    pub async fn enabled_merchant(&self, id: MerchantId) -> Result<Option<Merchant>, StoreError> {
        Ok(self.merchant(id).await?.filter(|m| m.enabled))
    }

    /// A merchant as stored now (never from the cache).
    pub async fn merchant_fresh(&self, id: MerchantId) -> Result<Option<Merchant>, StoreError> {
        self.store.merchant(id).await
    }

    /// Every merchant, enabled or not.
    pub async fn all_merchants(&self) -> Result<Vec<Merchant>, StoreError> {
        self.store.merchants().await
    }

    /// Every enabled merchant, from the same short-lived cache.
    pub async fn enabled_merchants(&self) -> Result<Arc<Vec<Merchant>>, StoreError> {
        self.merchants.enabled(self.store.as_ref()).await
    }

    /// For protocols without a merchant id (epusdt classic, V免签): the
    /// enabled merchant for whom `signed_by` (its key made the signature)
    /// is true. Every merchant is tried, each comparison in constant time,
    /// so the answer's timing does not tell which key came close or where
    /// in the list it was. The merchants come from a cache, and callers
    /// hash the signed text once: a guess costs one short hash per merchant.
    /// The shared-key rule: when several merchants have the key, nobody is
    /// found (never guess whose order this is).
    pub async fn merchant_by_key(&self, signed_by: impl Fn(&Merchant) -> bool) -> Result<Option<Merchant>, StoreError> {
        let mut found: Vec<&Merchant> = Vec::new();
        let merchants = self.enabled_merchants().await?;
        for m in merchants.iter() {
            if signed_by(m) {
                found.push(m);
            }
        }
        if found.len() > 1 {
            // Keys are refused twice by `merchant add`; a database edited by
            // hand could still hold one.
            let ids: Vec<i64> = found.iter().map(|m| m.id.get()).collect();
            tracing::error!(?ids, "several merchants share one key: a request signed with it is refused");
            return Ok(None);
        }
        Ok(found.pop().cloned())
    }

    /// The merchants whose key is `key` (compared in constant time).
    async fn sharing_key(&self, key: &Secret) -> Result<Vec<i64>, StoreError> {
        Ok(self
            .store
            .merchants()
            .await?
            .iter()
            .filter(|m| sign::bytes_eq(m.key.expose().as_bytes(), key.expose().as_bytes()))
            .map(|m| m.id.get())
            .collect())
    }

    /// Adds a merchant whose settings are in range, telling which merchants
    /// already have the same key.
    pub async fn add_merchant(&self, req: NewMerchantRequest) -> Result<MerchantAdded, MerchantRefused> {
        check_settings(&req.settings)?;
        let key = req.key.unwrap_or_else(Secret::generate);
        let shares_key_with = self.sharing_key(&key).await?;
        let new = NewMerchant { id: req.id, name: req.name, key, settings: req.settings };
        let merchant = self.store.create_merchant(new, self.now()).await?;
        Ok(MerchantAdded { merchant, shares_key_with })
    }

    /// Changes a merchant's settings; what `change` leaves out stays.
    pub async fn change_settings(&self, id: MerchantId, change: SettingsChange) -> Result<Merchant, MerchantRefused> {
        let m = self.store.merchant(id).await?.ok_or(MerchantRefused::NoSuchMerchant(id))?;
        let mut s = m.settings;
        s.require_collector = change.require_collector.unwrap_or(s.require_collector);
        s.order_ttl_secs = change.order_ttl_secs.unwrap_or(s.order_ttl_secs);
        s.quarantine_secs = change.quarantine_secs.unwrap_or(s.quarantine_secs);
        s.step_count = change.step_count.unwrap_or(s.step_count);
        if let Some(p) = change.max_offset {
            s.max_offset_bp = percent_bp(&p)?;
        }
        s.max_open_per_payer = change.max_open_per_payer.unwrap_or(s.max_open_per_payer);
        s.vmq_server_only = change.vmq_server_only.unwrap_or(s.vmq_server_only);
        s.gmpay_md5 = change.gmpay_md5.unwrap_or(s.gmpay_md5);
        if let Some(h) = change.callback_hosts {
            s.callback_hosts = callback_hosts(&h)?;
        }
        check_settings(&s)?;
        // The gateway's cache forgets merchants after a few seconds.
        Ok(self.store.set_merchant_settings(id, s).await?)
    }

    /// A receiving code kept on the server (the operator's), for an
    /// existing merchant.
    pub async fn add_server_code(
        &self,
        merchant: MerchantId,
        channel: Channel,
        qr_text: String,
        amount: Option<Fen>,
        name: String,
    ) -> Result<Code, MerchantRefused> {
        self.store.merchant(merchant).await?.ok_or(MerchantRefused::NoSuchMerchant(merchant))?;
        let new =
            NewCode { merchant_id: merchant, channel, qr_text, amount, name, enabled: true, origin: "server".into(), uid: random_token(9) };
        Ok(self.store.add_code(new, self.now()).await?)
    }

    /// A merchant's receiving codes, from the server and its collectors.
    pub async fn codes(&self, merchant: MerchantId) -> Result<Vec<Code>, StoreError> {
        self.store.codes(merchant).await
    }

    /// For a protocol that names no channel (epusdt pays in whatever the
    /// gateway offers): the merchant's first channel, Alipay first, that
    /// has an enabled receiving code.
    pub async fn default_channel(&self, merchant: MerchantId) -> Result<Option<Channel>, StoreError> {
        let codes = self.store.codes(merchant).await?;
        Ok(Channel::ALL.into_iter().find(|ch| codes.iter().any(|c| c.enabled && c.channel == *ch)))
    }
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
        assert!(check_key(Secret::generate().expose()).is_ok());
    }

    #[test]
    fn callback_hosts_are_host_names() {
        assert_eq!(callback_hosts("Shop.Example.com, pay.example.net").unwrap(), ["shop.example.com", "pay.example.net"]);
        assert!(callback_hosts("").unwrap().is_empty());
        for bad in ["https://shop.example.com", "shop.example.com/n", "user@shop.example.com"] {
            assert!(callback_hosts(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets_are_percentages() {
        assert_eq!(percent_bp("2"), Ok(200));
        assert_eq!(percent_bp("0.5%"), Ok(50));
        assert!(matches!(percent_bp("0"), Err(SettingRefused::MaxOffset { .. })));
        assert!(matches!(percent_bp("100.01"), Err(SettingRefused::MaxOffset { .. })));
        assert!(matches!(percent_bp("x"), Err(SettingRefused::MaxOffset { why, .. }) if why.starts_with("is not a percentage")));
    }
}
