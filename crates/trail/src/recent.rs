//! The records written in the last moments, kept in memory for the readers that come right
//! after: event streams post a record within a second of its commit, and under load a trail
//! delivers a full file as soon as one is waiting ([`crate::delivery`]). Reading them back
//! from the store instead costs more than writing them did — in SQLite's WAL mode every read
//! transaction after a write starts with an empty page cache, so each record is copied in
//! from the WAL again — and was the largest part of what an active trail added to a call.
//!
//! The cache is an accelerator, never a source of truth: the store holds every record, and a
//! record not found here (evicted, written by another node, written before a restart) is
//! read from the store. That is sound because a record is written once under a key of its
//! own (its time and its event ID) and never changed, so a cached value is the stored value.
//!
//! Bounded twice: by bytes ([`Recent::new`]'s budget, oldest evicted first) and by age (a
//! record older than the maximum age is dropped at the next insertion or [`Recent::sweep`]),
//! so an idle server holds nothing. It only fills while someone reads from it
//! ([`Recent::set_wanted`]: fan-out says whether any trail or stream consumes records).

use cairn_core::Clock;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The default budget: about half a second of records at a saturated server's rate.
pub const DEFAULT_BUDGET_BYTES: usize = 32 << 20;
/// The default maximum age.
pub const DEFAULT_MAX_AGE_MS: i64 = 2_000;
/// Once nothing was written for this long, a sweep drops everything: the readers that come
/// right after a write (a stream round, a full-round check: every 250 ms) have been, and
/// the server, now idle, gives the memory back at once rather than after the maximum age.
pub const IDLE_CLEAR_MS: i64 = 500;
/// Bytes counted per entry beyond its key and value (map and queue slots, allocations).
const ENTRY_OVERHEAD: usize = 96;

/// Recently written records, by key. See the module docs.
pub struct Recent {
    clock: Arc<dyn Clock>,
    budget: usize,
    max_age_ms: i64,
    wanted: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Vec<u8>, Arc<Vec<u8>>>,
    /// Insertion order: key, time inserted, bytes counted.
    order: VecDeque<(Vec<u8>, i64, usize)>,
    bytes: usize,
    /// When a record was last inserted.
    last_insert_ms: i64,
    hits: u64,
    misses: u64,
}

impl Inner {
    /// Empties the cache, its tables' memory too.
    fn clear(&mut self) {
        self.map = HashMap::new();
        self.order = VecDeque::new();
        self.bytes = 0;
    }
}

impl std::fmt::Debug for Recent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (entries, bytes) = self.size();
        f.debug_struct("Recent")
            .field("entries", &entries)
            .field("bytes", &bytes)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Recent {
    /// A cache of at most `budget` bytes holding records for at most `max_age_ms`.
    pub fn new(clock: Arc<dyn Clock>, budget: usize, max_age_ms: i64) -> Arc<Recent> {
        Arc::new(Recent {
            clock,
            budget,
            max_age_ms,
            wanted: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
        })
    }

    /// Whether records are worth keeping (some trail or stream reads them). Turning it off
    /// empties the cache.
    pub fn set_wanted(&self, wanted: bool) {
        if !self.wanted.swap(wanted, Ordering::Relaxed) || wanted {
            return;
        }
        if let Ok(mut inner) = self.inner.lock() {
            inner.clear();
        }
    }

    /// Keeps the records just written (key, stored value), when wanted.
    pub fn insert_all(&self, records: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>) {
        if !self.wanted.load(Ordering::Relaxed) {
            return;
        }
        let now = self.clock.now_millis();
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        for (key, value) in records {
            let size = key.len() + value.len() + ENTRY_OVERHEAD;
            if size > self.budget {
                continue;
            }
            if inner.map.insert(key.clone(), Arc::new(value)).is_some() {
                // Written twice (a retried batch): the same bytes, counted once.
                continue;
            }
            inner.order.push_back((key, now, size));
            inner.bytes += size;
        }
        inner.last_insert_ms = now;
        self.evict(&mut inner, now);
    }

    /// Drops what has grown too old, and everything once nothing was written for
    /// [`IDLE_CLEAR_MS`] (call now and then, so an idle server holds nothing).
    pub fn sweep(&self) {
        let now = self.clock.now_millis();
        if let Ok(mut inner) = self.inner.lock() {
            if now.saturating_sub(inner.last_insert_ms) >= IDLE_CLEAR_MS {
                inner.clear();
            } else {
                self.evict(&mut inner, now);
            }
        }
    }

    fn evict(&self, inner: &mut Inner, now: i64) {
        while let Some((_, at, size)) = inner.order.front() {
            let (at, size) = (*at, *size);
            if inner.bytes <= self.budget && now.saturating_sub(at) <= self.max_age_ms {
                break;
            }
            if let Some((key, _, _)) = inner.order.pop_front() {
                inner.map.remove(&key);
            }
            inner.bytes = inner.bytes.saturating_sub(size);
        }
        if inner.order.is_empty() && inner.map.capacity() > 1024 {
            // Give the table's memory back too once empty.
            inner.clear();
        }
    }

    /// The cached value of each key of `keys`, in that order (`None`: not cached).
    pub fn get_all(&self, keys: &[&[u8]]) -> Vec<Option<Arc<Vec<u8>>>> {
        let Ok(mut inner) = self.inner.lock() else {
            return vec![None; keys.len()];
        };
        let out: Vec<Option<Arc<Vec<u8>>>> =
            keys.iter().map(|k| inner.map.get(*k).cloned()).collect();
        let hits = out.iter().filter(|v| v.is_some()).count() as u64;
        inner.hits += hits;
        inner.misses += keys.len() as u64 - hits;
        out
    }

    /// (entries, bytes counted).
    pub fn size(&self) -> (usize, usize) {
        self.inner
            .lock()
            .map(|i| (i.map.len(), i.bytes))
            .unwrap_or_default()
    }

    /// (hits, misses) of [`Recent::get_all`] so far.
    pub fn hit_counts(&self) -> (u64, u64) {
        self.inner
            .lock()
            .map(|i| (i.hits, i.misses))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::ManualClock;

    fn rec(i: u8, len: usize) -> (Vec<u8>, Vec<u8>) {
        (vec![i], vec![i; len])
    }

    #[test]
    fn nothing_is_kept_unless_wanted_and_unwanting_empties_it() {
        let clock = Arc::new(ManualClock::new(0));
        let r = Recent::new(clock, 1 << 20, 1_000);
        r.insert_all([rec(1, 10)]);
        assert_eq!(r.size().0, 0);
        r.set_wanted(true);
        r.insert_all([rec(1, 10), rec(2, 10)]);
        assert_eq!(
            r.get_all(&[b"\x01", b"\x03", b"\x02"]),
            vec![
                Some(Arc::new(vec![1; 10])),
                None,
                Some(Arc::new(vec![2; 10]))
            ]
        );
        assert_eq!(r.hit_counts(), (2, 1));
        r.set_wanted(false);
        assert_eq!(r.size(), (0, 0));
    }

    #[test]
    fn the_oldest_go_first_past_the_budget_and_everything_past_the_age() {
        let clock = Arc::new(ManualClock::new(0));
        let budget = 3 * (1 + 100 + ENTRY_OVERHEAD);
        let r = Recent::new(Arc::clone(&clock) as Arc<dyn Clock>, budget, 1_000);
        r.set_wanted(true);
        r.insert_all([rec(1, 100), rec(2, 100), rec(3, 100)]);
        assert_eq!(r.size().0, 3);
        clock.set(500);
        r.insert_all([rec(4, 100)]);
        assert_eq!(
            r.get_all(&[b"\x01", b"\x04"]),
            vec![None, Some(Arc::new(vec![4; 100]))]
        );
        // A second insertion of a key counts once.
        r.insert_all([rec(4, 100)]);
        assert_eq!(r.size(), (3, budget));
        // 1, 2 and 3 were put at 0: past the age at 1,001; 4 (at 500) stays until 1,501
        // (the idle rule held off by a write at 1,000).
        clock.set(1_000);
        r.insert_all([rec(6, 100)]);
        clock.set(1_001);
        r.sweep();
        assert_eq!(r.size().0, 2);
        clock.set(1_200);
        r.insert_all([rec(7, 100)]);
        clock.set(1_501);
        r.sweep();
        assert_eq!(r.size().0, 2);
        // Nothing written for IDLE_CLEAR_MS: everything goes.
        clock.set(1_200 + IDLE_CLEAR_MS);
        r.sweep();
        assert_eq!(r.size(), (0, 0));
        // A record larger than the whole budget is not kept.
        r.insert_all([rec(5, budget)]);
        assert_eq!(r.size().0, 0);
    }
}
