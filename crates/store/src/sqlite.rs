//! Embedded SQLite backend.
//!
//! **Writes: one writer thread with group commit.** SQLite allows one writer at a time; rather
//! than letting connections fight over the lock (`SQLITE_BUSY`, retries, latency spikes), a
//! single thread owns the only read-write connection and receives write closures over a
//! channel. Each loop iteration takes everything queued (up to [`MAX_BATCH`]), opens one
//! `BEGIN IMMEDIATE` transaction and runs every closure inside its own `SAVEPOINT`: a closure
//! that returns `Err` (or panics) is rolled back to its savepoint alone, the others are kept.
//! One `COMMIT` (one WAL fsync, `synchronous=FULL`) then makes the whole batch durable, and
//! only after it does any caller get its result — so "`write` resolved Ok" still means
//! "durable", while under load N transactions share one fsync. If the commit fails, every
//! caller in the batch gets the error and nothing of the batch is visible. There is no
//! artificial batching delay: batches form naturally while the previous fsync is running.
//!
//! **Reads: dedicated reader threads.** In WAL mode readers see the last committed snapshot and
//! never wait for the writer. [`READERS`] threads each own a `query_only` connection and take
//! read closures from a shared queue, running each in a deferred transaction (which pins one
//! snapshot for the whole closure). Compared with `spawn_blocking` plus a connection pool this
//! avoids a thread hand-off and a pool lock per read: a busy reader just takes the next job.
//!
//! **In-memory databases** cannot share a WAL between connections, so there the writer
//! thread's connection also serves reads, between write batches (still snapshots, just not
//! concurrent with writes). It is meant for tests.
//!
//! Statements are prepared once per connection (`prepare_cached`, capacity raised above the
//! number of distinct statements, notably the 18 scan shapes).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::migrate::{self, Migration};
use crate::sql::{self, SQLITE_SCANS};
use crate::{Job, JobCount, JobId, KvPair, Scan, StoreError, Tx, now_ms, panic_error, sql_limit};

/// Most write closures committed together.
const MAX_BATCH: usize = 256;
/// Read connections per file database.
const READERS: usize = 4;
/// Read connections borrowed by async reads to run on the calling thread.
const INLINE_READERS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const STATEMENT_CACHE: usize = 64;
/// Page size of new database files.
pub(crate) const PAGE_SIZE: i64 = 16 * 1024;
/// WAL size (in bytes, whatever the page size) after which the checkpointer runs.
const AUTOCHECKPOINT_BYTES: i64 = 32 * 1024 * 1024;
/// Size the WAL file is truncated back to after a checkpoint.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

fn sq(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {e}"))
}

fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(|e| sq_in(sql, e))
}

/// [`sq`] naming the statement and SQLite's extended result code: a transaction-control
/// statement's failure (`SAVEPOINT`, `RELEASE`, `COMMIT`) fails a whole write batch, and
/// SQLite's bare "SQL logic error" says nothing of which one.
fn sq_in(sql: &str, e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => StoreError::Backend(format!(
            "sqlite: {e} (extended code {}, in `{sql}`)",
            f.extended_code
        )),
        _ => StoreError::Backend(format!("sqlite: {e} (in `{sql}`)")),
    }
}

/// Where a result goes: an async waiter or a blocked thread.
enum Reply<T> {
    Async(oneshot::Sender<T>),
    Blocking(mpsc::SyncSender<T>),
}

impl<T> Reply<T> {
    fn send(self, value: T) {
        // The receiver may be gone (caller dropped its future); the result is then discarded.
        match self {
            Reply::Async(s) => drop(s.send(value)),
            Reply::Blocking(s) => drop(s.send(value)),
        }
    }
}

fn async_pair<T>() -> (Reply<T>, oneshot::Receiver<T>) {
    let (tx, rx) = oneshot::channel();
    (Reply::Async(tx), rx)
}

fn blocking_pair<T>() -> (Reply<T>, mpsc::Receiver<T>) {
    let (tx, rx) = mpsc::sync_channel(1);
    (Reply::Blocking(tx), rx)
}

/// A queued write: run inside the batch, then told the batch's commit outcome.
trait WriteJob: Send {
    /// Run the work; `true` if it succeeded (its savepoint is kept).
    fn run(&mut self, tx: &mut SqliteTx<'_>) -> bool;
    /// Deliver the result to the caller.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

enum Outcome<T> {
    NotRun,
    Panicked,
    Done(T),
}

struct UserWrite<F, R, E> {
    f: F,
    outcome: Outcome<Result<R, E>>,
    reply: Reply<Result<R, E>>,
}

impl<F, R, E> WriteJob for UserWrite<F, R, E>
where
    F: FnMut(&mut dyn Tx) -> Result<R, E> + Send,
    R: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, tx: &mut SqliteTx<'_>) -> bool {
        self.outcome = Outcome::Panicked;
        let result = (self.f)(tx);
        let ok = result.is_ok();
        self.outcome = Outcome::Done(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let UserWrite { f, outcome, reply } = *self;
        // Drop the closure (and whatever it captured, maybe a `Store` clone) before the caller
        // can observe the result, so the caller, not this thread, drops the last handle.
        drop(f);
        let out = match (outcome, commit) {
            (Outcome::Done(Err(e)), _) => Err(e),
            (Outcome::Done(Ok(r)), Ok(())) => Ok(r),
            (Outcome::Done(Ok(_)) | Outcome::NotRun, Err(e)) => Err(E::from(e)),
            (Outcome::Panicked, _) => Err(E::from(panic_error())),
            (Outcome::NotRun, Ok(())) => {
                Err(E::from(StoreError::Backend("write was not run".to_owned())))
            }
        };
        reply.send(out);
    }
}

struct ClaimWrite {
    kinds: Vec<String>,
    owner: String,
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
    outcome: Outcome<Result<Vec<Job>, StoreError>>,
    reply: Reply<Result<Vec<Job>, StoreError>>,
}

impl WriteJob for ClaimWrite {
    fn run(&mut self, tx: &mut SqliteTx<'_>) -> bool {
        self.outcome = Outcome::Panicked;
        let result = tx.claim(
            &self.kinds,
            &self.owner,
            self.now_ms,
            self.lease_ms,
            self.limit,
        );
        let ok = result.is_ok();
        self.outcome = Outcome::Done(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let this = *self;
        let out = match (this.outcome, commit) {
            (Outcome::Done(Err(e)), _) => Err(e),
            (Outcome::Done(Ok(jobs)), Ok(())) => Ok(jobs),
            (Outcome::Done(Ok(_)) | Outcome::NotRun, Err(e)) => Err(e),
            (Outcome::Panicked, _) => Err(panic_error()),
            (Outcome::NotRun, Ok(())) => Err(StoreError::Backend("claim was not run".to_owned())),
        };
        this.reply.send(out);
    }
}

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

enum Msg {
    Write(Box<dyn WriteJob>),
    /// Only used by in-memory databases (no reader threads).
    Read(ReadJob),
}

/// Jobs for the reader threads: a shared FIFO. A reader that finishes a job takes the next
/// one without sleeping, so under load no thread is woken per read.
struct ReadQueue {
    state: Mutex<ReadQueueState>,
    ready: Condvar,
}

struct ReadQueueState {
    jobs: VecDeque<ReadJob>,
    idle: usize,
    closed: bool,
}

impl ReadQueue {
    /// No user code runs under this lock, so a poisoned lock still guards consistent state.
    fn lock(&self) -> MutexGuard<'_, ReadQueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, job: ReadJob) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.closed {
            return Err(StoreError::Closed);
        }
        state.jobs.push_back(job);
        let wake = state.idle > 0;
        drop(state);
        if wake {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Next job, or `None` once closed.
    fn pop(&self) -> Option<ReadJob> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            state.idle += 1;
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.idle -= 1;
        }
    }

    fn close(&self) {
        let jobs = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.jobs)
        };
        self.ready.notify_all();
        // Dropping the jobs (outside the lock) tells their waiters the store is closed.
        drop(jobs);
    }
}

struct Readers {
    queue: Arc<ReadQueue>,
    threads: Vec<JoinHandle<()>>,
}

/// Join a worker thread, unless this *is* that thread (a closure holding the last `Store`
/// clone can drop it there); such a thread exits on its own once its channel is closed.
fn join_unless_self(handle: JoinHandle<()>) {
    if handle.thread().id() != std::thread::current().id() {
        drop(handle.join());
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        self.queue.close();
        for t in self.threads.drain(..) {
            join_unless_self(t);
        }
    }
}

struct Shared {
    sender: Option<mpsc::Sender<Msg>>,
    writer: Option<JoinHandle<()>>,
    readers: Option<Readers>,
    /// Read connections an async `read` borrows to run on the calling thread: a point read
    /// then costs no thread hand-off (two futex round trips, the largest cost of a small read
    /// under load). When none is free, the read goes to the reader threads as before.
    inline: Mutex<Vec<Connection>>,
    checkpointer: Option<Checkpointer>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Close readers and the checkpointer first, then let the writer drain its queue and
        // close the last connection (which checkpoints and removes the WAL).
        self.readers = None;
        if let Ok(mut inline) = self.inline.lock() {
            inline.clear();
        }
        self.checkpointer = None;
        self.sender = None;
        if let Some(handle) = self.writer.take() {
            join_unless_self(handle);
        }
    }
}

/// The thread that checkpoints the WAL when the writer's hook nudges it.
struct Checkpointer {
    nudge: mpsc::SyncSender<()>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path).map_err(sq)?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .map_err(sq)?;
        let (nudge, nudged) = mpsc::sync_channel::<()>(1);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("cairn-sqlite-checkpointer".to_owned())
            .spawn(move || {
                while nudged.recv().is_ok() {
                    if stopped.load(std::sync::atomic::Ordering::Acquire) {
                        break;
                    }
                    // PASSIVE: copies what no reader still needs, never waits for anyone.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "sqlite: checkpoint failed");
                    }
                }
            })
            .map_err(|e| StoreError::Backend(format!("spawning the sqlite checkpointer: {e}")))?;
        Ok(Checkpointer {
            nudge,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        // The writer's hook holds another sender, so wake the thread rather than wait for
        // the channel to close; a full channel wakes it just as well.
        let _ = self.nudge.try_send(());
        if let Some(handle) = self.thread.take() {
            join_unless_self(handle);
        }
    }
}

fn reader_loop(path: &Path, mut conn: Connection, queue: &ReadQueue) {
    while let Some(job) = queue.pop() {
        if catch_unwind(AssertUnwindSafe(|| job(&conn))).is_err() {
            tracing::error!("sqlite: a read job panicked");
        }
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            match open_reader(path) {
                Ok(fresh) => conn = fresh,
                Err(e) => tracing::error!(error = %e, "sqlite: reopening a read connection failed"),
            }
        }
    }
}

pub(crate) struct SqliteStore {
    shared: Arc<Shared>,
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sq)?;
    // 2 MiB page cache per connection (negative = KiB), the writer's too: its working set
    // is the right edge of the kv table and the paths to where keys are inserted, and a
    // larger private cache mostly costs RSS (the OS page cache holds the rest).
    conn.pragma_update(None, "cache_size", -2048).map_err(sq)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The query planner stability guarantee: a cached statement keeps its plan whatever is
    // bound to it. Without it SQLite (3.54) re-prepares a statement whenever a new value is
    // bound to its `LIMIT ?` (sqlite3ExprIsInteger marks the variable "reprepare on bind"),
    // and our scans are all `… LIMIT ?n` with the caller's page size: measured on
    // `cairn-bench sso`, re-parsing SQL was 18% of the request threads' time. Cairn never
    // runs ANALYZE, so there are no statistics whose use this gives up.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(sq)?;
    Ok(())
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(sq)?;
    configure(&conn)?;
    conn.pragma_update(None, "query_only", true).map_err(sq)?;
    Ok(conn)
}

fn migrate_conn(conn: &Connection, list: &[Migration]) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sq)?;
    let result = (|| {
        conn.execute_batch(migrate::SCHEMA_VERSION_DDL)
            .map_err(sq)?;
        let current = read_version(conn)?;
        for m in migrate::pending(list, current)? {
            conn.execute_batch(m.sql).map_err(|e| {
                StoreError::Backend(format!("sqlite migration {} ({}): {e}", m.version, m.name))
            })?;
            conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![m.version, m.name, now_ms()],
            )
            .map_err(sq)?;
            tracing::info!(
                version = m.version,
                name = m.name,
                "sqlite: applied migration"
            );
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(sq),
        Err(e) => {
            drop(conn.execute_batch("ROLLBACK"));
            Err(e)
        }
    }
}

fn read_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )
    .map_err(sq)
}

impl SqliteStore {
    pub(crate) fn open_file(path: &Path, list: &[Migration]) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(sq)?;
        configure(&conn)?;
        // 16 KiB pages for a new database (SQLite ignores this once the file has a header, so
        // an existing database keeps its page size). The audit trail appends ~200 records per
        // group commit: larger pages cut the WAL frames (and their write and checkpoint
        // system calls) per record by four.
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(sq)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sq)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "sqlite: could not enable WAL mode on {} (got {mode})",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sq)?;
        // Truncate the WAL back to this size after checkpoints instead of keeping its peak size.
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .map_err(sq)?;
        migrate_conn(&conn, list)?;
        // Checkpoint every ~32 MiB of WAL instead of SQLite's 4 MiB default (hot pages, such
        // as index leaves every audit batch touches, are rewritten many times between
        // checkpoints but copied into the database once), and on a thread of its own: an
        // inline checkpoint stalled the writer, and every caller queued behind it, for tens of
        // milliseconds. The writer checkpoints itself only if that thread falls far behind.
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(sq)?;
        let frames = AUTOCHECKPOINT_BYTES / page_size.max(512);
        let checkpointer = Checkpointer::start(path)?;
        let nudge = checkpointer.nudge.clone();
        let mut conn = conn;
        conn.wal_hook(Some(
            move |wal: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
                let pages = i64::from(pages);
                if pages >= frames.saturating_mul(4) {
                    wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE)
                        .map(|_| ())
                } else {
                    if pages >= frames {
                        // Full: a nudge is already pending.
                        let _ = nudge.try_send(());
                    }
                    Ok(())
                }
            },
        ))
        .map_err(sq)?;
        let queue = Arc::new(ReadQueue {
            state: Mutex::new(ReadQueueState {
                jobs: VecDeque::new(),
                idle: 0,
                closed: false,
            }),
            ready: Condvar::new(),
        });
        // On an early return, dropping `readers` stops the threads already started.
        let mut readers = Readers {
            queue,
            threads: Vec::with_capacity(READERS),
        };
        for i in 0..READERS {
            let reader = open_reader(path)?;
            let (queue, path) = (readers.queue.clone(), path.to_path_buf());
            let thread = std::thread::Builder::new()
                .name(format!("cairn-sqlite-reader-{i}"))
                .spawn(move || reader_loop(&path, reader, &queue))
                .map_err(|e| StoreError::Backend(format!("spawning an sqlite reader: {e}")))?;
            readers.threads.push(thread);
        }
        let mut inline = Vec::with_capacity(INLINE_READERS);
        for _ in 0..INLINE_READERS {
            inline.push(open_reader(path)?);
        }
        Self::start(conn, Some(readers), inline, Some(checkpointer))
    }

    pub(crate) fn open_memory(list: &[Migration]) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().map_err(sq)?;
        configure(&conn)?;
        migrate_conn(&conn, list)?;
        Self::start(conn, None, Vec::new(), None)
    }

    fn start(
        conn: Connection,
        readers: Option<Readers>,
        inline: Vec<Connection>,
        checkpointer: Option<Checkpointer>,
    ) -> Result<SqliteStore, StoreError> {
        let (sender, receiver) = mpsc::channel();
        // From here on, `Shared`'s drop stops whatever was started.
        let mut shared = Shared {
            sender: Some(sender),
            writer: None,
            readers,
            inline: Mutex::new(inline),
            checkpointer,
        };
        let writer = std::thread::Builder::new()
            .name("cairn-sqlite-writer".to_owned())
            .spawn(move || writer_loop(&conn, &receiver))
            .map_err(|e| StoreError::Backend(format!("spawning the sqlite writer: {e}")))?;
        shared.writer = Some(writer);
        Ok(SqliteStore {
            shared: Arc::new(shared),
        })
    }

    fn submit(&self, msg: Msg) -> Result<(), StoreError> {
        self.shared
            .sender
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(msg)
            .map_err(|_| StoreError::Closed)
    }

    fn submit_write<R, E, F>(&self, f: F, reply: Reply<Result<R, E>>) -> Result<(), StoreError>
    where
        F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.submit(Msg::Write(Box::new(UserWrite {
            f,
            outcome: Outcome::NotRun,
            reply,
        })))
    }

    pub(crate) async fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, rx) = async_pair();
        self.submit_write(f, reply)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) fn write_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, rx) = blocking_pair();
        self.submit_write(f, reply)?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    fn submit_claim(
        &self,
        kinds: Vec<String>,
        owner: String,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
        reply: Reply<Result<Vec<Job>, StoreError>>,
    ) -> Result<(), StoreError> {
        self.submit(Msg::Write(Box::new(ClaimWrite {
            kinds,
            owner,
            now_ms,
            lease_ms,
            limit,
            outcome: Outcome::NotRun,
            reply,
        })))
    }

    pub(crate) async fn claim_jobs(
        &self,
        kinds: Vec<String>,
        owner: String,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let (reply, rx) = async_pair();
        self.submit_claim(kinds, owner, now_ms, lease_ms, limit, reply)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) fn claim_jobs_blocking(
        &self,
        kinds: Vec<String>,
        owner: String,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let (reply, rx) = blocking_pair();
        self.submit_claim(kinds, owner, now_ms, lease_ms, limit, reply)?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    /// Queue `job` for a reader thread or, in memory, the writer thread.
    fn submit_read(&self, job: ReadJob) -> Result<(), StoreError> {
        match &self.shared.readers {
            Some(readers) => readers.queue.push(job),
            None => self.submit(Msg::Read(job)),
        }
    }

    /// Run `job` on a read connection.
    async fn on_read_conn<T, J>(&self, job: J) -> Result<T, StoreError>
    where
        T: Send + 'static,
        J: FnOnce(&Connection) -> T + Send + 'static,
    {
        let (reply, rx) = async_pair();
        self.submit_read(Box::new(move |conn| reply.send(job(conn))))?;
        rx.await.map_err(|_| StoreError::Closed)
    }

    fn on_read_conn_blocking<T, J>(&self, job: J) -> Result<T, StoreError>
    where
        T: Send + 'static,
        J: FnOnce(&Connection) -> T + Send + 'static,
    {
        let (reply, rx) = blocking_pair();
        self.submit_read(Box::new(move |conn| reply.send(job(conn))))?;
        rx.recv().map_err(|_| StoreError::Closed)
    }

    pub(crate) async fn read<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let borrowed = self
            .shared
            .inline
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop());
        if let Some(conn) = borrowed {
            let out = run_read(&conn, f);
            // A connection left inside a transaction (a failed ROLLBACK) is not reused.
            if conn.is_autocommit()
                && let Ok(mut pool) = self.shared.inline.lock()
            {
                pool.push(conn);
            }
            return out;
        }
        self.on_read_conn(move |conn| run_read(conn, f)).await?
    }

    pub(crate) fn read_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.on_read_conn_blocking(move |conn| run_read(conn, f))?
    }

    pub(crate) fn schema_version(&self) -> Result<i64, StoreError> {
        self.on_read_conn_blocking(read_version)?
    }
}

/// One read transaction: a deferred `BEGIN` pins a snapshot at the first read.
fn run_read<R, E, F>(conn: &Connection, f: F) -> Result<R, E>
where
    F: FnOnce(&mut dyn Tx) -> Result<R, E>,
    E: From<StoreError>,
{
    exec(conn, "BEGIN")?;
    let mut tx = SqliteTx {
        conn,
        read_only: true,
    };
    let out = catch_unwind(AssertUnwindSafe(|| f(&mut tx)));
    if let Err(e) = exec(conn, "ROLLBACK") {
        tracing::warn!(error = %e, "sqlite: ending a read transaction failed");
    }
    out.unwrap_or_else(|_| Err(E::from(panic_error())))
}

fn writer_loop(conn: &Connection, receiver: &mpsc::Receiver<Msg>) {
    let mut writes: Vec<Box<dyn WriteJob>> = Vec::new();
    let mut reads: Vec<ReadJob> = Vec::new();
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Write(w) => writes.push(w),
                Msg::Read(r) => reads.push(r),
            }
            next = if writes.len() + reads.len() < MAX_BATCH {
                receiver.try_recv().ok()
            } else {
                None
            };
        }
        if !writes.is_empty() {
            run_batch(conn, std::mem::take(&mut writes));
        }
        for read in reads.drain(..) {
            if catch_unwind(AssertUnwindSafe(|| read(conn))).is_err() {
                tracing::error!("sqlite: a read job panicked on the writer thread");
            }
            if !conn.is_autocommit() {
                drop(conn.execute_batch("ROLLBACK"));
            }
        }
    }
}

/// Run a batch of writes in one transaction, each in its own savepoint; one COMMIT.
fn run_batch(conn: &Connection, mut jobs: Vec<Box<dyn WriteJob>>) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        for job in jobs {
            job.finish(Err(e.clone()));
        }
        return;
    }
    let mut broken: Option<StoreError> = None;
    {
        let mut tx = SqliteTx {
            conn,
            read_only: false,
        };
        for job in &mut jobs {
            if let Err(e) = exec(conn, "SAVEPOINT cairn_w") {
                broken = Some(e);
                break;
            }
            let ok = catch_unwind(AssertUnwindSafe(|| job.run(&mut tx))).unwrap_or(false);
            let step = if ok {
                exec(conn, "RELEASE cairn_w")
            } else {
                exec(conn, "ROLLBACK TO cairn_w").and_then(|()| exec(conn, "RELEASE cairn_w"))
            };
            if let Err(e) = step {
                broken = Some(e);
                break;
            }
            if conn.is_autocommit() {
                // SQLite rolled the whole transaction back on its own (I/O error, disk full).
                broken = Some(StoreError::Backend(
                    "sqlite: transaction was rolled back by the database".to_owned(),
                ));
                break;
            }
        }
    }
    let commit = match broken {
        Some(e) => Err(e),
        None => exec(conn, "COMMIT"),
    };
    if commit.is_err() && !conn.is_autocommit() {
        drop(conn.execute_batch("ROLLBACK"));
    }
    if let Err(e) = &commit {
        tracing::error!(error = %e, batch = jobs.len(), "sqlite: write batch failed");
    }
    for job in jobs {
        job.finish(commit.clone());
    }
}

/// A transaction on one SQLite connection (the writer's inside a batch, or a reader's).
pub(crate) struct SqliteTx<'c> {
    conn: &'c Connection,
    read_only: bool,
}

fn job_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let attempts: i64 = row.get(3)?;
    Ok(Job {
        id: JobId(row.get(0)?),
        kind: row.get(1)?,
        payload: row.get(2)?,
        attempts: u32::try_from(attempts.max(0)).unwrap_or(u32::MAX),
        run_at_ms: row.get(4)?,
    })
}

impl SqliteTx<'_> {
    fn writable(&self) -> Result<(), StoreError> {
        if self.read_only {
            Err(StoreError::ReadOnly)
        } else {
            Ok(())
        }
    }

    fn claim(
        &mut self,
        kinds: &[String],
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        self.writable()?;
        let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("?{}", i + 5)).collect();
        let sql = format!(
            "UPDATE jobs SET lease_until = ?1, lease_owner = ?4 WHERE id IN (\
               SELECT id FROM jobs WHERE run_at <= ?2 \
               AND (lease_until IS NULL OR lease_until <= ?2) AND kind IN ({}) \
               ORDER BY run_at, id LIMIT ?3) \
             RETURNING id, kind, payload, attempts, run_at",
            placeholders.join(", ")
        );
        let lease_until = now_ms.saturating_add(lease_ms);
        let limit = sql_limit(limit);
        let mut args: Vec<&dyn ToSql> = vec![&lease_until, &now_ms, &limit, &owner];
        for k in kinds {
            args.push(k);
        }
        let mut stmt = self.conn.prepare_cached(&sql).map_err(sq)?;
        let mut jobs = stmt
            .query_map(args.as_slice(), job_from_row)
            .map_err(sq)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sq)?;
        jobs.sort_by_key(|j| (j.run_at_ms, j.id));
        Ok(jobs)
    }
}

impl Tx for SqliteTx<'_> {
    fn get(&mut self, space: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .prepare_cached("SELECT value FROM kv WHERE space = ?1 AND key = ?2")
            .and_then(|mut s| s.query_row(params![space, key], |r| r.get(0)).optional())
            .map_err(sq)
    }

    fn put(&mut self, space: &str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.writable()?;
        self.conn
            .prepare_cached(
                "INSERT INTO kv (space, key, value) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (space, key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut s| s.execute(params![space, key, value]))
            .map(|_| ())
            .map_err(sq)
    }

    fn delete(&mut self, space: &str, key: &[u8]) -> Result<bool, StoreError> {
        self.writable()?;
        self.conn
            .prepare_cached("DELETE FROM kv WHERE space = ?1 AND key = ?2")
            .and_then(|mut s| s.execute(params![space, key]))
            .map(|n| n > 0)
            .map_err(sq)
    }

    fn scan(&mut self, space: &str, scan: &Scan<'_>) -> Result<Vec<KvPair>, StoreError> {
        if scan.limit == 0 {
            return Ok(Vec::new());
        }
        let text = SQLITE_SCANS.get(sql::scan_shape(&scan.start, &scan.end, scan.reverse));
        let keys = sql::scan_keys(&scan.start, &scan.end);
        let limit = sql_limit(scan.limit);
        let mut args: Vec<&dyn ToSql> = Vec::with_capacity(4);
        args.push(&space);
        for k in &keys {
            args.push(k);
        }
        args.push(&limit);
        let mut stmt = self.conn.prepare_cached(text).map_err(sq)?;
        stmt.query_map(args.as_slice(), |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sq)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sq)
    }

    fn count(&mut self, space: &str, prefix: &[u8]) -> Result<u64, StoreError> {
        static COUNT: std::sync::LazyLock<[String; 3]> =
            std::sync::LazyLock::new(|| sql::count_sql(sql::Dialect::Sqlite));
        let [all, bounded, open] = &*COUNT;
        let successor = crate::prefix_successor(prefix);
        let n: i64 = if prefix.is_empty() {
            self.conn
                .prepare_cached(all)
                .and_then(|mut s| s.query_row(params![space], |r| r.get(0)))
        } else if let Some(end) = &successor {
            self.conn
                .prepare_cached(bounded)
                .and_then(|mut s| s.query_row(params![space, prefix, end], |r| r.get(0)))
        } else {
            self.conn
                .prepare_cached(open)
                .and_then(|mut s| s.query_row(params![space, prefix], |r| r.get(0)))
        }
        .map_err(sq)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn enqueue_job(
        &mut self,
        kind: &str,
        payload: &[u8],
        run_at_ms: i64,
    ) -> Result<JobId, StoreError> {
        self.writable()?;
        self.conn
            .prepare_cached(
                "INSERT INTO jobs (kind, payload, run_at, attempts, lease_until, created_at) \
                 VALUES (?1, ?2, ?3, 0, NULL, ?4) RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(params![kind, payload, run_at_ms, now_ms()], |r| r.get(0))
            })
            .map(JobId)
            .map_err(sq)
    }

    fn complete_job(&mut self, id: JobId) -> Result<(), StoreError> {
        self.writable()?;
        let n = self
            .conn
            .prepare_cached("DELETE FROM jobs WHERE id = ?1")
            .and_then(|mut s| s.execute(params![id.0]))
            .map_err(sq)?;
        if n == 0 {
            return Err(StoreError::JobNotFound(id));
        }
        Ok(())
    }

    fn reschedule_job(&mut self, id: JobId, run_at_ms: i64) -> Result<(), StoreError> {
        self.writable()?;
        let n = self
            .conn
            .prepare_cached(
                "UPDATE jobs SET run_at = ?2, lease_until = NULL, lease_owner = NULL, \
                 attempts = attempts + 1 \
                 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id.0, run_at_ms]))
            .map_err(sq)?;
        if n == 0 {
            return Err(StoreError::JobNotFound(id));
        }
        Ok(())
    }

    fn advance_job(&mut self, id: JobId, payload: &[u8], run_at_ms: i64) -> Result<(), StoreError> {
        self.writable()?;
        let n = self
            .conn
            .prepare_cached(
                "UPDATE jobs SET payload = ?2, run_at = ?3, lease_until = NULL, lease_owner = NULL, \
                 attempts = 0 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id.0, payload, run_at_ms]))
            .map_err(sq)?;
        if n == 0 {
            return Err(StoreError::JobNotFound(id));
        }
        Ok(())
    }

    fn job_counts(&mut self, now_ms: i64) -> Result<Vec<JobCount>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kind, COUNT(*), SUM(CASE WHEN lease_until > ?1 THEN 1 ELSE 0 END) \
                 FROM jobs GROUP BY kind ORDER BY kind",
            )
            .map_err(sq)?;
        let rows = stmt
            .query_map(params![now_ms], |r| {
                let total: i64 = r.get(1)?;
                let leased: i64 = r.get(2)?;
                Ok(JobCount {
                    kind: r.get(0)?,
                    total: u64::try_from(total).unwrap_or(0),
                    leased: u64::try_from(leased).unwrap_or(0),
                })
            })
            .map_err(sq)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sq)?;
        Ok(rows)
    }

    fn release_leases(&mut self, owner: &str) -> Result<u64, StoreError> {
        self.writable()?;
        self.conn
            .prepare_cached(
                "UPDATE jobs SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = ?1",
            )
            .and_then(|mut s| s.execute(params![owner]))
            .map(|n| n as u64)
            .map_err(sq)
    }

    fn job(&mut self, id: JobId) -> Result<Option<Job>, StoreError> {
        self.conn
            .prepare_cached("SELECT id, kind, payload, attempts, run_at FROM jobs WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![id.0], job_from_row).optional())
            .map_err(sq)
    }
}
