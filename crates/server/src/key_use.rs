//! The last use of long-term access keys (`GetAccessKeyLastUsed`, the credential report),
//! recorded lazily.
//!
//! AWS's last-used information is approximate; Cairn's is too, by design: a request never
//! waits for, and never fails because of, this bookkeeping. Per key, the first authenticated
//! use in each interval (`Config::key_last_used_interval_ms`, 60 s) starts one store write on
//! a detached task; other uses in the interval only read an in-memory map. So the recorded
//! date trails the true last use by less than the interval, and the store sees at most one
//! write per key per interval per process.

use crate::app::App;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most keys remembered before entries older than the interval are dropped.
const MAX_TRACKED: usize = 10_000;

/// Per process: when each key's last write was started.
#[derive(Default)]
pub(crate) struct KeyUse {
    started: Mutex<HashMap<String, i64>>,
}

impl KeyUse {
    /// Whether a use at `now_ms` is due to be written; marks it started if so.
    fn due(&self, access_key_id: &str, now_ms: i64, interval_ms: i64) -> bool {
        let Ok(mut started) = self.started.lock() else {
            return false;
        };
        if let Some(&at) = started.get(access_key_id)
            && now_ms - at < interval_ms
            && now_ms >= at
        {
            return false;
        }
        if started.len() >= MAX_TRACKED {
            started.retain(|_, at| now_ms - *at < interval_ms);
            if started.len() >= MAX_TRACKED {
                started.clear();
            }
        }
        started.insert(access_key_id.to_owned(), now_ms);
        true
    }
}

/// Notes an authenticated use of the long-term key `access_key_id` for `service` (its
/// signing name) in `region`.
pub(crate) fn note(app: &Arc<App>, access_key_id: &str, service: &str, region: &str) {
    let now = app.env.clock.now_millis();
    if !app
        .key_use
        .due(access_key_id, now, app.config.key_last_used_interval_ms)
    {
        return;
    }
    let used = cairn_iam::accounts::KeyLastUsed::new(now, service, region);
    let akid = access_key_id.to_owned();
    let store = app.env.store.clone();
    tokio::spawn(async move {
        let result = store
            .write(move |tx| cairn_iam::accounts::record_key_use(tx, &akid, &used))
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "recording an access key's last use failed");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::KeyUse;

    #[test]
    fn one_write_per_key_per_interval() {
        let k = KeyUse::default();
        assert!(k.due("AKIA1", 1_000, 60_000));
        assert!(!k.due("AKIA1", 30_000, 60_000));
        assert!(k.due("AKIA2", 30_000, 60_000));
        assert!(!k.due("AKIA1", 60_999, 60_000));
        assert!(k.due("AKIA1", 61_000, 60_000));
    }

    #[test]
    fn a_clock_set_back_writes_again() {
        let k = KeyUse::default();
        assert!(k.due("AKIA1", 100_000, 60_000));
        assert!(k.due("AKIA1", 50_000, 60_000));
    }
}
