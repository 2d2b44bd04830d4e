//! A bounded, thread-safe cache of derived signing keys.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::{Parsed, signing_key};

/// The longest credential scope (key ID, date, region, service together) that is cached.
const MAX_SCOPE_BYTES: usize = 256;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Scope {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
}

struct Entry {
    /// The secret the key was derived from: a rotated secret must not hit a stale key.
    secret: String,
    key: [u8; 32],
}

/// Two generations: lookups promote from `old` to `young`; when `young` is full it becomes `old`
/// and the previous `old` is dropped. Bounded by twice the generation size, O(1) per operation,
/// and keys that stay in use survive every rotation.
#[derive(Default)]
struct Generations {
    young: HashMap<Scope, Entry>,
    old: HashMap<Scope, Entry>,
}

/// Caches `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
/// "aws4_request")` per (access key, secret, date, region, service), so verifying a request costs
/// one HMAC for the signature instead of five.
///
/// Thread-safe; a poisoned lock is recovered (the cache only ever holds complete entries).
pub struct SigningKeyCache {
    generation_size: usize,
    inner: Mutex<Generations>,
}

impl SigningKeyCache {
    /// A cache holding at most `capacity` keys (at least 2).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            generation_size: (capacity / 2).max(1),
            inner: Mutex::new(Generations::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Generations> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The signing key for `parsed`'s credential scope and `secret_access_key`.
    #[must_use]
    pub fn signing_key_for(&self, parsed: &Parsed, secret_access_key: &str) -> [u8; 32] {
        self.signing_key(
            &parsed.access_key_id,
            secret_access_key,
            &parsed.date,
            &parsed.region,
            &parsed.service,
        )
    }

    /// The signing key for an explicit scope, derived on a miss.
    #[must_use]
    pub fn signing_key(
        &self,
        access_key_id: &str,
        secret_access_key: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> [u8; 32] {
        let scope = Scope {
            access_key_id: access_key_id.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        };
        {
            let mut g = self.lock();
            if let Some(e) = g.young.get(&scope)
                && e.secret == secret_access_key
            {
                return e.key;
            }
            if let Some(e) = g.old.remove(&scope)
                && e.secret == secret_access_key
            {
                let key = e.key;
                self.insert(&mut g, scope, e);
                return key;
            }
        }
        // Derive outside the lock.
        let key = signing_key(secret_access_key, date, region, service);
        // A scope is a few dozen bytes; a client-chosen region or service of kilobytes is
        // answered but not kept, so the cache stays small whatever requests arrive.
        if scope.region.len() + scope.service.len() + scope.date.len() + scope.access_key_id.len()
            > MAX_SCOPE_BYTES
        {
            return key;
        }
        let entry = Entry {
            secret: secret_access_key.to_owned(),
            key,
        };
        self.insert(&mut self.lock(), scope, entry);
        key
    }

    fn insert(&self, g: &mut Generations, scope: Scope, entry: Entry) {
        if g.young.len() >= self.generation_size && !g.young.contains_key(&scope) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(scope, entry);
    }

    /// Number of cached keys.
    #[must_use]
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
    }

    /// Whether the cache is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every cached key (e.g. after a credential was deleted).
    pub fn clear(&self) {
        let mut g = self.lock();
        g.young.clear();
        g.old.clear();
    }
}

impl Default for SigningKeyCache {
    /// Room for 1024 keys.
    fn default() -> Self {
        Self::new(1024)
    }
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_miss_rotation_and_bound() {
        let cache = SigningKeyCache::new(4);
        let k1 = cache.signing_key("AK", "s1", "20150830", "us-east-1", "svc");
        assert_eq!(k1, signing_key("s1", "20150830", "us-east-1", "svc"));
        assert_eq!(cache.len(), 1);
        // Same scope, same secret: hit.
        assert_eq!(
            cache.signing_key("AK", "s1", "20150830", "us-east-1", "svc"),
            k1
        );
        assert_eq!(cache.len(), 1);
        // Rotated secret: a fresh key, replacing the old one.
        let k2 = cache.signing_key("AK", "s2", "20150830", "us-east-1", "svc");
        assert_ne!(k1, k2);
        assert_eq!(k2, signing_key("s2", "20150830", "us-east-1", "svc"));
        assert_eq!(cache.len(), 1);
        for i in 0..100 {
            let region = format!("r{i}");
            let k = cache.signing_key("AK", "s2", "20150830", &region, "svc");
            assert_eq!(k, signing_key("s2", "20150830", &region, "svc"));
            assert!(cache.len() <= 4);
        }
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn survives_poisoning() {
        let cache = std::sync::Arc::new(SigningKeyCache::new(8));
        let c = cache.clone();
        let _ = std::thread::spawn(move || {
            let _g = c.inner.lock();
            #[allow(clippy::panic, reason = "the test poisons the lock on purpose")]
            {
                panic!("poison the lock");
            }
        })
        .join();
        assert!(cache.inner.is_poisoned());
        let k = cache.signing_key("AK", "s", "20150830", "us-east-1", "svc");
        assert_eq!(k, signing_key("s", "20150830", "us-east-1", "svc"));
    }
}
