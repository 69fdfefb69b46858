//! Per-app usage (requests and errors per day, last call) counted in memory as requests are
//! answered, and added to the store's `client_usage` every few seconds (and before the console
//! reads it), so the request path never waits on a write.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::clients::{self, UsageRow};
use crate::store::Store;

/// How often the counts are written to the store.
pub const FLUSH_SECS: u64 = 5;

/// (client id, day) → (requests, errors, last call).
type Pending = HashMap<(String, String), (i64, i64, String)>;

#[derive(Default)]
pub struct Usage {
    pending: Mutex<Pending>,
}

impl Usage {
    /// Count one answered request of `client` (`error`: answered 4xx or 5xx).
    pub fn record(&self, client: &str, error: bool) {
        let now = crate::model::time::now();
        let day = now.get(..10).unwrap_or_default().to_string();
        let mut map = match self.pending.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let e = map
            .entry((client.to_string(), day))
            .or_insert((0, 0, String::new()));
        e.0 += 1;
        e.1 += i64::from(error);
        e.2 = now;
    }

    /// Add the counts so far to the store.
    pub fn flush(&self, store: &Store) -> Result<(), crate::store::StoreError> {
        let taken: Vec<UsageRow> = {
            let mut map = match self.pending.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            map.drain()
                .map(
                    |((client_id, day), (requests, errors, last_call))| UsageRow {
                        client_id,
                        day,
                        requests,
                        errors,
                        last_call,
                    },
                )
                .collect()
        };
        if taken.is_empty() {
            return Ok(());
        }
        store.transaction(|c| {
            for u in &taken {
                clients::add_usage(c, u)?;
            }
            Ok::<_, crate::store::StoreError>(())
        })
    }
}
