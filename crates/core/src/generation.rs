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

use std::sync::atomic::{AtomicU64, Ordering};

/// One counter; meant for a `static`.
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

#[cfg(test)]
mod tests {
    use super::Generation;

    #[test]
    fn bump_moves_it() {
        static G: Generation = Generation::new();
        let before = G.get();
        G.bump();
        assert!(G.get() > before);
    }
}
