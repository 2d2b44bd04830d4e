//! Generation counters: how per-process caches of store state learn that it changed.
//!
//! The protocol, for every cache built on one:
//! * a writer calls [`Generation::bump`] **after** the transaction that changed the state
//!   committed (never before: a reader could otherwise refill the cache from the old state
//!   under the new generation);
//! * a reader reads [`Generation::get`] **before** it reads the store, and files what it read
//!   under that value; an entry is valid while the counter still has it.
//!
//! Counters are per process: several processes sharing one PostgreSQL database do not see
//! each other's bumps (callers bound that with a time-to-live, or do not cache there).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The counters of this process's caches, in [`crate::Env`]: one per service whose state
/// the authorize step caches.
#[derive(Debug, Default)]
pub struct Generations {
    /// Bumped after every committed IAM change (users, groups, roles, policies, keys).
    pub iam: Generation,
    /// Bumped after every committed change to an organization (membership, tree, policies,
    /// attachments, enabled types) — see `cairn_organizations::authz::write`.
    pub orgs: Generation,
}

/// One counter.
#[derive(Debug, Default)]
pub struct Generation(AtomicU64);

impl Generation {
    pub const fn new() -> Generation {
        Generation(AtomicU64::new(0))
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Marks the state as changed (after the commit).
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// Entries a [`GenerationCache`] keeps before it is cleared wholesale (a crude bound; entries
/// are cheap to rebuild).
pub const CACHE_LIMIT: usize = 10_000;

/// The longest key a [`GenerationCache`] files. Keys come from requests (a resource ARN built
/// from input members): with this bound a cache holds at most `CACHE_LIMIT × MAX_KEY_BYTES`
/// (10 MB) of keys, however large the names a client sends; longer keys are not cached.
pub const MAX_KEY_BYTES: usize = 1024;

struct Entry<V> {
    generation: u64,
    fetched_ms: i64,
    value: V,
}

/// A per-process cache of store state by key, each entry filed under the generation it was
/// read at (and when).
pub struct GenerationCache<V> {
    entries: RwLock<Entries<V>>,
}

struct Entries<V> {
    map: HashMap<String, Entry<V>>,
    /// The newest generation anything was filed under. Entries of older generations can
    /// never be hit again (a lookup asks for the current generation), so they are dropped
    /// as soon as a newer one is filed — a cache never holds dead entries past one change.
    newest: u64,
}

impl<V> std::fmt::Debug for GenerationCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.entries.read().map_or(0, |e| e.map.len());
        f.debug_struct("GenerationCache")
            .field("entries", &len)
            .finish()
    }
}

impl<V> Default for GenerationCache<V> {
    fn default() -> Self {
        GenerationCache {
            entries: RwLock::new(Entries {
                map: HashMap::new(),
                newest: 0,
            }),
        }
    }
}

impl<V: Clone> GenerationCache<V> {
    /// The value of `key` if it was filed under `generation` less than `ttl_ms` before
    /// `now_ms` (`i64::MAX`: no time limit).
    pub fn get(&self, key: &str, generation: u64, now_ms: i64, ttl_ms: i64) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let hit = entries.map.get(key)?;
        (hit.generation == generation && now_ms.saturating_sub(hit.fetched_ms) < ttl_ms)
            .then(|| hit.value.clone())
    }

    /// Files `value` under `generation` (read before the store, see the module doc).
    pub fn put(&self, key: String, generation: u64, now_ms: i64, value: V) {
        if key.len() > MAX_KEY_BYTES {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if generation > entries.newest {
                entries.newest = generation;
                entries.map.retain(|_, e| e.generation >= generation);
            }
            if entries.map.len() >= CACHE_LIMIT {
                entries.map.clear();
            }
            entries.map.insert(
                key,
                Entry {
                    generation,
                    fetched_ms: now_ms,
                    value,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::{Generation, GenerationCache};

    #[test]
    fn cache_entries_follow_generation_and_age() {
        let cache = GenerationCache::default();
        cache.put("k".to_owned(), 3, 1_000, "v");
        assert_eq!(cache.get("k", 3, 1_500, 1_000), Some("v"));
        assert_eq!(cache.get("k", 4, 1_500, 1_000), None, "generation moved");
        assert_eq!(cache.get("k", 3, 2_000, 1_000), None, "too old");
        assert_eq!(cache.get("k", 3, i64::MAX, i64::MAX), Some("v"));
        assert_eq!(cache.get("other", 3, 1_500, 1_000), None);
    }

    #[test]
    fn a_newer_generation_drops_the_older_entries() {
        let cache = GenerationCache::default();
        cache.put("a".to_owned(), 1, 0, "v");
        cache.put("b".to_owned(), 1, 0, "v");
        cache.put("c".to_owned(), 2, 0, "v");
        assert_eq!(cache.entries.read().unwrap().map.len(), 1);
        assert_eq!(cache.get("c", 2, 0, i64::MAX), Some("v"));
    }

    #[test]
    fn oversized_keys_are_not_kept() {
        let cache = GenerationCache::default();
        let huge = "k".repeat(super::MAX_KEY_BYTES + 1);
        cache.put(huge.clone(), 1, 0, "v");
        assert_eq!(cache.get(&huge, 1, 0, i64::MAX), None);
        let fits = "k".repeat(super::MAX_KEY_BYTES);
        cache.put(fits.clone(), 1, 0, "v");
        assert_eq!(cache.get(&fits, 1, 0, i64::MAX), Some("v"));
    }

    #[test]
    fn bump_moves_it() {
        static G: Generation = Generation::new();
        let before = G.get();
        G.bump();
        assert!(G.get() > before);
    }
}
