//! A short-lived cache of merchants, so the hot path (order creation,
//! lookups) does not read the merchant row on every request.

use jiufu_protocol::MerchantId;
use jiufu_store::{Merchant, Store, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a merchant is remembered. Absent merchants are not cached, so
/// one added from the CLI works at once.
const TTL: Duration = Duration::from_secs(3);

#[derive(Default)]
pub struct MerchantCache {
    entries: Mutex<HashMap<MerchantId, (Instant, Merchant)>>,
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
}
