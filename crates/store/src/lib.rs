//! The store: every piece of Cairn state lives here.
//!
//! The model is deliberately small so that both backends behave identically:
//!
//! * an ordered key/value space: `(space, key) -> value`, keys and values are bytes and keys
//!   sort bytewise (SQLite `BLOB`, PostgreSQL `BYTEA`), so range scans define order;
//! * a durable job table for asynchronous workflows (CreateAccount, provisioning, delivery);
//! * transactions: a closure runs against a [`Tx`] and either commits as a whole or not at all.
//!
//! Closures are synchronous on purpose: service logic never awaits inside a transaction, so a
//! transaction never spans a network round trip of our own and cannot deadlock on the runtime.
//! The async wrappers run the closure off the runtime's worker threads (SQLite: its writer or
//! reader threads; PostgreSQL: `spawn_blocking`). A closure must not call the [`Store`] itself
//! (nested transactions can deadlock: the SQLite writer would wait for itself).
//!
//! **Invariant:** a closure that returns `Err` leaves no trace; one that returns `Ok` is durable
//! (synchronous commit) when the `write` future resolves.
//!
//! **Write closures are `FnMut` and may run more than once.** PostgreSQL runs write
//! transactions at `SERIALIZABLE` and transparently re-runs a closure whose transaction hit a
//! serialization failure or deadlock (SQLSTATE 40001/40P01), so a closure must have no effects
//! outside the [`Tx`] (no I/O, no channel sends, no counters of its own). SQLite runs every
//! closure exactly once. Only when retries are exhausted does a caller see
//! [`StoreError::Conflict`].
//!
//! Backends: [`Store::open_sqlite`] (embedded, default) and [`Store::open_postgres`]; see the
//! `sqlite` and `postgres` modules for their concurrency designs and `migrate` for schema
//! versioning.

mod migrate;
mod pool;
mod postgres;
mod sql;
mod sqlite;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use migrate::{LATEST_POSTGRES_VERSION, LATEST_SQLITE_VERSION};

/// Errors of the storage layer itself (not of the service logic).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage backend error: {0}")]
    Backend(String),
    #[error("storage is shutting down")]
    Closed,
    #[error("serialization conflict, retry")]
    Conflict,
    /// A write operation was attempted inside a [`Store::read`] transaction.
    #[error("write attempted in a read-only transaction")]
    ReadOnly,
    /// `complete_job` / `reschedule_job` on a job that does not exist (any more): another
    /// worker whose lease had not yet expired — or that re-claimed it — completed it first.
    /// Returning this from the closure rolls back the effects, so a job's effects commit once.
    #[error("job {0} not found")]
    JobNotFound(JobId),
    /// The database was written by a newer Cairn; refusing to touch it.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
}

/// A `(key, value)` row returned by scans.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// One end of a key range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound<'a> {
    Unbounded,
    Included(&'a [u8]),
    Excluded(&'a [u8]),
}

/// A range scan over one space. `limit` caps the number of rows returned (`0` returns nothing;
/// use `usize::MAX` for "all"). With `reverse`, rows come from the `end` side, descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan<'a> {
    pub start: Bound<'a>,
    pub end: Bound<'a>,
    pub reverse: bool,
    pub limit: usize,
}

impl<'a> Scan<'a> {
    /// The whole space, ascending, unlimited.
    pub fn all() -> Self {
        Scan {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
            reverse: false,
            limit: usize::MAX,
        }
    }

    /// `start..end` (per the bounds), ascending, unlimited.
    pub fn range(start: Bound<'a>, end: Bound<'a>) -> Self {
        Scan {
            start,
            end,
            reverse: false,
            limit: usize::MAX,
        }
    }

    /// Descending order.
    pub fn rev(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// At most `limit` rows.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

/// The smallest key greater than every key starting with `prefix`, or `None` when there is
/// none (empty prefix or all `0xff`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Identifier of a durable job (never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A job as claimed by [`Store::claim_jobs`] (or read by [`Tx::job`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: Vec<u8>,
    /// How many times the job was rescheduled (claims do not count).
    pub attempts: u32,
    pub run_at_ms: i64,
}

/// How many jobs of one kind the table holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    pub total: u64,
    /// Claimed by a worker whose lease has not run out.
    pub leased: u64,
}

/// A transaction. Object safe; implemented by each backend.
///
/// Inside [`Store::read`] the mutating methods fail with [`StoreError::ReadOnly`].
/// On PostgreSQL an error from any method aborts the transaction: later calls fail and the
/// transaction cannot commit, so propagate errors with `?` rather than swallowing them.
pub trait Tx {
    fn get(&mut self, space: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    fn put(&mut self, space: &str, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// Returns `true` if the key existed.
    fn delete(&mut self, space: &str, key: &[u8]) -> Result<bool, StoreError>;
    fn scan(&mut self, space: &str, scan: &Scan<'_>) -> Result<Vec<KvPair>, StoreError>;

    /// All keys starting with `prefix`, ascending (or descending with `reverse`).
    fn scan_prefix(
        &mut self,
        space: &str,
        prefix: &[u8],
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<KvPair>, StoreError> {
        let successor = prefix_successor(prefix);
        let scan = Scan {
            start: Bound::Included(prefix),
            end: successor
                .as_deref()
                .map_or(Bound::Unbounded, Bound::Excluded),
            reverse,
            limit,
        };
        self.scan(space, &scan)
    }

    /// Number of keys starting with `prefix` (the empty prefix counts the whole space).
    fn count(&mut self, space: &str, prefix: &[u8]) -> Result<u64, StoreError>;

    /// Durably enqueue a job, atomically with the rest of this transaction.
    fn enqueue_job(
        &mut self,
        kind: &str,
        payload: &[u8],
        run_at_ms: i64,
    ) -> Result<JobId, StoreError>;
    /// Delete the job (its work is done). [`StoreError::JobNotFound`] if it is gone.
    fn complete_job(&mut self, id: JobId) -> Result<(), StoreError>;
    /// Run it again at `run_at_ms`: clears the lease, `attempts += 1`.
    /// [`StoreError::JobNotFound`] if it is gone.
    fn reschedule_job(&mut self, id: JobId, run_at_ms: i64) -> Result<(), StoreError>;
    /// Moves the job to its next step: `payload` replaces the stored one, it runs again at
    /// `run_at_ms`, its lease is cleared and `attempts` restarts at 0 (attempts count per
    /// step). Committed together with the step's effects, so a crash between steps resumes at
    /// the next one and never repeats a finished one. [`StoreError::JobNotFound`] if gone.
    fn advance_job(&mut self, id: JobId, payload: &[u8], run_at_ms: i64) -> Result<(), StoreError>;
    /// Per kind: the jobs in the table and how many of them hold a lease at `now_ms`,
    /// sorted by kind (for `/metrics`).
    fn job_counts(&mut self, now_ms: i64) -> Result<Vec<JobCount>, StoreError>;
    /// Clears every lease held by `owner` (its jobs become claimable at once); returns how
    /// many. A process calls it at start with its own owner name: whatever that name still
    /// holds belongs to a previous incarnation, which is dead.
    fn release_leases(&mut self, owner: &str) -> Result<u64, StoreError>;
    /// Read one job (claimed or not).
    fn job(&mut self, id: JobId) -> Result<Option<Job>, StoreError>;
}

enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// Handle to the database; cheap to clone (an `Arc` inside). The backend shuts down (writer
/// thread joined, connections closed) when the last clone is dropped.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl Store {
    fn from_backend(backend: Backend) -> Store {
        Store {
            backend: Arc::new(backend),
        }
    }

    /// Open (creating if needed) an SQLite database file: WAL, `synchronous=FULL`, busy timeout,
    /// one writer thread and a pool of read connections. Migrates to the latest schema.
    pub fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        sqlite::SqliteStore::open_file(path, migrate::SQLITE)
            .map(|s| Self::from_backend(Backend::Sqlite(s)))
    }

    /// A private in-memory SQLite database (for tests). Reads are served by the writer thread's
    /// connection between write batches, so they are still snapshots but never run concurrently
    /// with writes.
    pub fn open_sqlite_memory() -> Result<Store, StoreError> {
        sqlite::SqliteStore::open_memory(migrate::SQLITE)
            .map(|s| Self::from_backend(Backend::Sqlite(s)))
    }

    /// Connect to PostgreSQL (`postgres://user:pass@host:port/db`, no TLS) with a small
    /// connection pool; tables live in the connection's default `search_path`.
    pub fn open_postgres(url: &str) -> Result<Store, StoreError> {
        postgres::PgStore::open(url, None, migrate::POSTGRES)
            .map(|s| Self::from_backend(Backend::Postgres(s)))
    }

    /// Like [`Store::open_postgres`], but every table lives in `schema` (created if missing;
    /// ASCII letters, digits and `_` only). Lets several independent stores share one database.
    pub fn open_postgres_with_schema(url: &str, schema: &str) -> Result<Store, StoreError> {
        postgres::PgStore::open(url, Some(schema), migrate::POSTGRES)
            .map(|s| Self::from_backend(Backend::Postgres(s)))
    }

    /// [`Store::open`] with every table in `schema`: PostgreSQL only (see
    /// [`Store::open_postgres_with_schema`]); anything but a `postgres://` URL is refused.
    pub fn open_in_schema(url: &str, schema: &str) -> Result<Store, StoreError> {
        if is_postgres_url(url) {
            Self::open_postgres_with_schema(url, schema)
        } else {
            Err(StoreError::Backend(
                "a schema needs a postgres:// database URL".to_owned(),
            ))
        }
    }

    /// `postgres://…` or `postgresql://…` opens PostgreSQL, `:memory:` an in-memory SQLite
    /// database, anything else is an SQLite file path (an optional `sqlite://` prefix is removed).
    pub fn open(url_or_path: &str) -> Result<Store, StoreError> {
        if is_postgres_url(url_or_path) {
            Self::open_postgres(url_or_path)
        } else if url_or_path == ":memory:" || url_or_path == "sqlite::memory:" {
            Self::open_sqlite_memory()
        } else {
            let path = url_or_path.strip_prefix("sqlite://").unwrap_or(url_or_path);
            Self::open_sqlite(Path::new(path))
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match &*self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Read-write transaction. Runs `f` on a blocking thread; commits iff `f` returns `Ok`, and
    /// resolves only after the commit is durable. `f` may be re-run on PostgreSQL after a
    /// serialization failure (see the crate docs). Dropping the future does not cancel the
    /// transaction once it has been submitted.
    pub async fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &*self.backend {
            Backend::Sqlite(s) => s.write(f).await,
            Backend::Postgres(p) => p.write(f).await,
        }
    }

    /// Read-only snapshot transaction. SQLite: a pooled read connection in WAL mode, so reads
    /// never wait for the writer; PostgreSQL: `READ ONLY REPEATABLE READ`.
    pub async fn read<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &*self.backend {
            Backend::Sqlite(s) => s.read(f).await,
            Backend::Postgres(p) => p.read(f).await,
        }
    }

    /// Blocking [`Store::write`] for non-async callers (CLI subcommands, tests). Safe to call
    /// from any thread, but it blocks the calling thread until the commit.
    pub fn write_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &*self.backend {
            Backend::Sqlite(s) => s.write_blocking(f),
            Backend::Postgres(p) => p.write_blocking(f),
        }
    }

    /// Blocking [`Store::read`].
    pub fn read_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &*self.backend {
            Backend::Sqlite(s) => s.read_blocking(f),
            Backend::Postgres(p) => p.read_blocking(f),
        }
    }

    /// Claim up to `limit` due jobs (`run_at <= now_ms` and no live lease) of the given `kinds`
    /// (an empty slice claims nothing), oldest `run_at` first, setting
    /// `lease_until = now_ms + lease_ms` and the lease's `owner` (the claiming process's
    /// stable name, see [`Tx::release_leases`]). A job whose lease expires (worker crashed)
    /// becomes claimable again. Safe with several Cairn processes on one PostgreSQL
    /// (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_jobs(
        &self,
        kinds: &[&str],
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        if kinds.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        let owner = owner.to_owned();
        match &*self.backend {
            Backend::Sqlite(s) => s.claim_jobs(kinds, owner, now_ms, lease_ms, limit).await,
            Backend::Postgres(p) => p.claim_jobs(kinds, owner, now_ms, lease_ms, limit).await,
        }
    }

    /// Blocking [`Store::claim_jobs`].
    pub fn claim_jobs_blocking(
        &self,
        kinds: &[&str],
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        if kinds.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        let owner = owner.to_owned();
        match &*self.backend {
            Backend::Sqlite(s) => s.claim_jobs_blocking(kinds, owner, now_ms, lease_ms, limit),
            Backend::Postgres(p) => p.claim_jobs_blocking(kinds, owner, now_ms, lease_ms, limit),
        }
    }

    /// The schema version of the open database (== the latest this build knows, after open).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        match &*self.backend {
            Backend::Sqlite(s) => s.schema_version(),
            Backend::Postgres(p) => p.schema_version(),
        }
    }
}

fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// Current wall-clock time in unix milliseconds (what `created_at` records).
#[allow(
    clippy::disallowed_methods,
    reason = "the store's own bookkeeping (a job's created_at, a migration's applied_at), never \
              seen by a client nor by service logic; service time comes from cairn_core::Clock"
)]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `usize` limit → SQL `LIMIT` value.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The error a caller gets when its transaction closure panicked (the panic is caught and the
/// transaction rolled back; the store keeps working).
fn panic_error() -> StoreError {
    StoreError::Backend("transaction closure panicked".to_owned())
}
