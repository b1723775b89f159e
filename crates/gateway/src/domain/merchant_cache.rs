//! A short-lived cache of merchants, so the hot path (order creation,
//! lookups, the by-key protocols) does not read merchant rows on every
//! request — and an unauthenticated request costs no database read.

use jiufu_protocol::MerchantId;
use jiufu_store::{Merchant, Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a merchant is remembered. Absent merchants are not cached, so
/// one added from the CLI works at once.
const TTL: Duration = Duration::from_secs(3);

#[derive(Default)]
pub struct MerchantCache {
    entries: Mutex<HashMap<MerchantId, (Instant, Merchant)>>,
    /// Every enabled merchant, for the by-key protocols.
    enabled: Mutex<Option<(Instant, Arc<Vec<Merchant>>)>>,
}

impl MerchantCache {
    pub async fn get(&self, store: &dyn Store, id: MerchantId) -> Result<Option<Merchant>, StoreError> {
        if let Some((at, m)) = self.entries.lock().ok().and_then(|e| e.get(&id).cloned())
            && at.elapsed() < TTL
        {
            return Ok(Some(m));
        }
        let fresh = store.merchant(id).await?;
        if let (Some(m), Ok(mut entries)) = (&fresh, self.entries.lock()) {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(id, (Instant::now(), m.clone()));
        }
        Ok(fresh)
    }

    /// The enabled merchants, read at most once per [`TTL`] (a merchant
    /// added from the CLI is found within that time).
    pub async fn enabled(&self, store: &dyn Store) -> Result<Arc<Vec<Merchant>>, StoreError> {
        if let Some((at, list)) = self.enabled.lock().ok().and_then(|e| e.clone())
            && at.elapsed() < TTL
        {
            return Ok(list);
        }
        let list: Arc<Vec<Merchant>> = Arc::new(store.merchants().await?.into_iter().filter(|m| m.enabled).collect());
        if let Ok(mut e) = self.enabled.lock() {
            *e = Some((Instant::now(), list.clone()));
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiufu_protocol::Secret;
    use jiufu_store::{MerchantSettings, NewMerchant};

    #[tokio::test]
    async fn enabled_merchants_are_read_once_per_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let store = jiufu_store_sqlite::SqliteStore::open(dir.path().join("g.db")).unwrap();
        let add = |id: i64| NewMerchant {
            id: MerchantId::new(id).unwrap(),
            name: "m".into(),
            key: Secret::new(format!("key-of-merchant-{id}-xyz")),
            settings: MerchantSettings::default(),
        };
        store.create_merchant(add(1), 0).await.unwrap();
        let cache = MerchantCache::default();
        assert_eq!(cache.enabled(&store).await.unwrap().len(), 1);
        // A second merchant is not seen until the cached list is older than the TTL.
        store.create_merchant(add(2), 0).await.unwrap();
        assert_eq!(cache.enabled(&store).await.unwrap().len(), 1, "served from the cache");
        if let Ok(mut e) = cache.enabled.lock() {
            let (at, _) = e.as_mut().unwrap();
            *at -= TTL;
        }
        assert_eq!(cache.enabled(&store).await.unwrap().len(), 2, "read again after the TTL");
    }
}
