//! A minimal blocking connection pool (used for PostgreSQL clients).
//!
//! Connections are created lazily up to `max` by a factory and handed out as RAII guards.
//! A guard that is not marked clean (the transaction it ran did not finish with a clean
//! COMMIT/ROLLBACK — an error mid-way, or a panic unwinding through it) *discards* its
//! connection instead of returning it, so a half-finished transaction can never leak into the
//! next borrower; the slot is refilled by the factory on demand. Async callers additionally
//! gate on a `tokio::sync::Semaphore` with the same number of permits before moving to a
//! blocking thread, so the pool's condition variable is only waited on by the `_blocking`
//! API and blocking threads do not pile up.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::StoreError;

/// How long a checkout waits for a free connection before failing.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

type Factory<C> = Box<dyn Fn() -> Result<C, StoreError> + Send + Sync>;

pub(crate) struct Pool<C> {
    state: Mutex<State<C>>,
    available: Condvar,
    max: usize,
    factory: Factory<C>,
}

struct State<C> {
    idle: Vec<C>,
    /// Connections in existence (idle + checked out + being created).
    live: usize,
}

fn poisoned() -> StoreError {
    StoreError::Backend("connection pool mutex poisoned".to_owned())
}

impl<C> Pool<C> {
    pub(crate) fn new(max: usize, initial: Vec<C>, factory: Factory<C>) -> Pool<C> {
        let live = initial.len();
        Pool {
            state: Mutex::new(State {
                idle: initial,
                live,
            }),
            available: Condvar::new(),
            max: max.max(1),
            factory,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, State<C>>, StoreError> {
        self.state.lock().map_err(|_| poisoned())
    }

    /// Borrow a connection, creating one if below `max`, else waiting for one.
    pub(crate) fn get(&self) -> Result<Pooled<'_, C>, StoreError> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut state = self.lock()?;
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                    clean: true,
                });
            }
            if state.live < self.max {
                state.live += 1;
                drop(state);
                return match (self.factory)() {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                        clean: true,
                    }),
                    Err(e) => {
                        if let Ok(mut state) = self.lock() {
                            state.live -= 1;
                        }
                        self.available.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Backend(
                    "timed out waiting for a database connection".to_owned(),
                ));
            }
            state = self
                .available
                .wait_timeout(state, deadline - now)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    /// Take every idle connection out (used at shutdown).
    pub(crate) fn drain(&self) -> Vec<C> {
        match self.state.lock() {
            Ok(mut state) => {
                let idle = std::mem::take(&mut state.idle);
                state.live -= idle.len();
                idle
            }
            Err(_) => Vec::new(),
        }
    }
}

/// A borrowed connection; returned to the pool on drop if it is clean, else closed.
pub(crate) struct Pooled<'p, C> {
    pool: &'p Pool<C>,
    conn: Option<C>,
    clean: bool,
}

impl<C> Pooled<'_, C> {
    pub(crate) fn conn(&mut self) -> Result<&mut C, StoreError> {
        self.conn.as_mut().ok_or(StoreError::Closed)
    }

    /// Mark whether the connection is in a reusable state (no open transaction).
    pub(crate) fn set_clean(&mut self, clean: bool) {
        self.clean = clean;
    }
}

impl<C> Drop for Pooled<'_, C> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let Ok(mut state) = self.pool.state.lock() else {
            return;
        };
        if self.clean {
            state.idle.push(conn);
            drop(state);
        } else {
            state.live -= 1;
            drop(state);
            drop(conn);
        }
        self.pool.available.notify_one();
    }
}
