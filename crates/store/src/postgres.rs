//! PostgreSQL backend (for several Cairn processes sharing one database).
//!
//! **Connections.** A small pool of synchronous `postgres::Client`s, each with every statement
//! the store uses prepared once at connect time (one round trip per operation afterwards).
//! Async callers take a semaphore permit, then run the whole transaction on a blocking thread
//! (`spawn_blocking`). The sync driver runs a private Tokio runtime per client, which must not
//! be entered from inside another runtime's worker, so everything that can touch a client from
//! a caller's thread (opening, the `_blocking` API, shutdown) hops to a plain thread when a
//! runtime is present.
//!
//! **Isolation.** Writes run at `SERIALIZABLE`, which gives the same guarantees as SQLite's
//! single writer (no lost updates, no write skew across scans). Serialization failures and
//! deadlocks (SQLSTATE 40001/40P01) are retried transparently, up to [`MAX_ATTEMPTS`] runs of
//! the closure with jittered exponential backoff — which is why write closures are `FnMut`.
//! Retries are pessimistic: a retried transaction first takes `LOCK TABLE write_lock IN
//! EXCLUSIVE MODE` (a lock statement takes no snapshot, so the snapshot starts after the lock
//! is held), so contending retries serialize among themselves instead of conflicting forever;
//! the optimistic first attempt keeps unrelated writes fully concurrent. Reads run at
//! `REPEATABLE READ READ ONLY` (one snapshot, never blocks, never fails to serialize).
//!
//! PostgreSQL aborts a transaction on any statement error; [`PgTx`] records that, fails later
//! calls, and refuses to commit a closure that swallowed such an error and returned `Ok`.
//!
//! **Jobs** are claimed with `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)` in a
//! `READ COMMITTED` transaction, so concurrent workers in any number of processes claim
//! disjoint jobs without blocking each other.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row, Statement};
use tokio::sync::Semaphore;

use crate::migrate::{self, Migration};
use crate::pool::Pool;
use crate::sql::{self, POSTGRES_SCANS};
use crate::{Job, JobCount, JobId, KvPair, Scan, StoreError, Tx, now_ms, panic_error, sql_limit};

/// Connections per store.
const POOL_SIZE: usize = 8;
/// Runs of a write closure before [`StoreError::Conflict`] is surfaced.
pub(crate) const MAX_ATTEMPTS: u32 = 12;
/// Key of the advisory lock serializing concurrent migrations (any schema).
const MIGRATION_LOCK_KEY: i64 = 0x00ca_1e5e_0001;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn is_conflict(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

fn pg(e: postgres::Error) -> StoreError {
    if is_conflict(&e) {
        return StoreError::Conflict;
    }
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!(
            "postgres: {} (SQLSTATE {})",
            db.message(),
            db.code().code()
        )),
        None => StoreError::Backend(format!("postgres: {e}")),
    }
}

/// Run `f` where the sync driver may block: directly, or on a fresh thread when the caller is
/// inside a Tokio runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, StoreError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(f).join()).map_err(|_| panic_error())
    } else {
        Ok(f())
    }
}

fn valid_schema(schema: &str) -> bool {
    let mut chars = schema.chars();
    schema.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Prepared statements of one connection.
struct Statements {
    get: Statement,
    put: Statement,
    delete: Statement,
    scans: Vec<Statement>,
    count_all: Statement,
    count_bounded: Statement,
    count_open: Statement,
    enqueue: Statement,
    complete: Statement,
    reschedule: Statement,
    job: Statement,
    claim: Statement,
    release: Statement,
    advance: Statement,
    counts: Statement,
    version: Statement,
}

impl Statements {
    fn prepare(c: &mut Client) -> Result<Statements, postgres::Error> {
        let mut scans = Vec::with_capacity(POSTGRES_SCANS.len());
        for shape in 0..POSTGRES_SCANS.len() {
            scans.push(c.prepare(POSTGRES_SCANS.get(shape))?);
        }
        let [all, bounded, open] = sql::count_sql(sql::Dialect::Postgres);
        Ok(Statements {
            get: c.prepare("SELECT value FROM kv WHERE space = $1 AND key = $2")?,
            put: c.prepare(
                "INSERT INTO kv (space, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (space, key) DO UPDATE SET value = EXCLUDED.value",
            )?,
            delete: c.prepare("DELETE FROM kv WHERE space = $1 AND key = $2")?,
            scans,
            count_all: c.prepare(&all)?,
            count_bounded: c.prepare(&bounded)?,
            count_open: c.prepare(&open)?,
            enqueue: c.prepare(
                "INSERT INTO jobs (kind, payload, run_at, attempts, lease_until, created_at) \
                 VALUES ($1, $2, $3, 0, NULL, $4) RETURNING id",
            )?,
            complete: c.prepare("DELETE FROM jobs WHERE id = $1")?,
            reschedule: c.prepare(
                "UPDATE jobs SET run_at = $2, lease_until = NULL, lease_owner = NULL, \
                 attempts = attempts + 1 \
                 WHERE id = $1",
            )?,
            job: c.prepare("SELECT id, kind, payload, attempts, run_at FROM jobs WHERE id = $1")?,
            claim: c.prepare(
                "UPDATE jobs SET lease_until = $1, lease_owner = $5 WHERE id IN (\
                   SELECT id FROM jobs WHERE run_at <= $2 \
                   AND (lease_until IS NULL OR lease_until <= $2) AND kind = ANY($4) \
                   ORDER BY run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, kind, payload, attempts, run_at",
            )?,
            advance: c.prepare(
                "UPDATE jobs SET payload = $2, run_at = $3, lease_until = NULL, lease_owner = NULL, \
                 attempts = 0 WHERE id = $1",
            )?,
            counts: c.prepare(
                "SELECT kind, COUNT(*)::BIGINT, \
                 COALESCE(SUM(CASE WHEN lease_until > $1 THEN 1 ELSE 0 END), 0)::BIGINT \
                 FROM jobs GROUP BY kind ORDER BY kind",
            )?,
            release: c.prepare(
                "UPDATE jobs SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = $1",
            )?,
            version: c.prepare("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version")?,
        })
    }
}

struct PgConn {
    client: Client,
    st: Statements,
}

impl PgConn {
    fn new(mut client: Client) -> Result<PgConn, StoreError> {
        let st = Statements::prepare(&mut client).map_err(pg)?;
        Ok(PgConn { client, st })
    }

    /// End the current transaction; `true` if the connection is reusable afterwards.
    fn rollback(&mut self) -> bool {
        self.client.batch_execute("ROLLBACK").is_ok() && !self.client.is_closed()
    }
}

fn connect(config: &Config, schema: Option<&str>) -> Result<Client, StoreError> {
    let mut client = config.connect(NoTls).map_err(pg)?;
    if let Some(schema) = schema {
        client
            .batch_execute(&format!("SET search_path TO \"{schema}\""))
            .map_err(pg)?;
    }
    Ok(client)
}

fn migrate_client(
    client: &mut Client,
    schema: Option<&str>,
    list: &[Migration],
) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .map_err(pg)?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\""
        ))
        .map_err(pg)?;
    }
    tx.batch_execute(migrate::SCHEMA_VERSION_DDL).map_err(pg)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(pg)?;
    for m in migrate::pending(list, current)? {
        tx.batch_execute(m.sql).map_err(|e| {
            StoreError::Backend(format!(
                "postgres migration {} ({}): {}",
                m.version,
                m.name,
                pg(e)
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &now_ms()],
        )
        .map_err(pg)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "postgres: applied migration"
        );
    }
    tx.commit().map_err(pg)
}

struct PgInner {
    pool: Pool<PgConn>,
    permits: Arc<Semaphore>,
}

impl Drop for PgInner {
    fn drop(&mut self) {
        let conns = self.pool.drain();
        // Closing a client blocks on its private runtime: never do that on a runtime worker.
        drop(off_runtime(move || drop(conns)));
    }
}

#[derive(Clone)]
pub(crate) struct PgStore {
    inner: Arc<PgInner>,
}

enum Attempt<R, E> {
    Done(Result<R, E>),
    Retry,
}

fn backoff(attempt: u32) {
    let base_us = 500u64 << attempt.min(7);
    let mut h = RandomState::new().build_hasher();
    h.write_u32(attempt);
    let jitter = h.finish() % base_us.max(1);
    std::thread::sleep(Duration::from_micros(base_us / 2 + jitter));
}

impl PgStore {
    pub(crate) fn open(
        url: &str,
        schema: Option<&str>,
        list: &'static [Migration],
    ) -> Result<PgStore, StoreError> {
        if let Some(s) = schema
            && !valid_schema(s)
        {
            return Err(StoreError::Backend(format!(
                "invalid schema name {s:?} (letters, digits and _ only)"
            )));
        }
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid postgres url: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let schema = schema.map(str::to_owned);
        off_runtime(move || {
            let mut client = connect(&config, None)?;
            migrate_client(&mut client, schema.as_deref(), list)?;
            let first = PgConn::new(client)?;
            let factory = Box::new(move || PgConn::new(connect(&config, schema.as_deref())?));
            Ok(PgStore {
                inner: Arc::new(PgInner {
                    pool: Pool::new(POOL_SIZE, vec![first], factory),
                    permits: Arc::new(Semaphore::new(POOL_SIZE)),
                }),
            })
        })?
    }

    /// Run `job` with a pooled connection on a blocking thread.
    async fn on_conn<T, J>(&self, job: J) -> Result<T, StoreError>
    where
        T: Send + 'static,
        J: FnOnce(&PgInner) -> T + Send + 'static,
    {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let inner = self.inner.clone();
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::Backend("the async API needs a Tokio runtime".to_owned()))?;
        runtime
            .spawn_blocking(move || {
                let _permit = permit;
                job(&inner)
            })
            .await
            .map_err(|_| panic_error())
    }

    fn on_conn_blocking<T, J>(&self, job: J) -> Result<T, StoreError>
    where
        T: Send,
        J: FnOnce(&PgInner) -> T + Send,
    {
        let inner = self.inner.clone();
        off_runtime(move || job(&inner))
    }

    pub(crate) async fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.on_conn(move |inner| inner.write(f)).await?
    }

    pub(crate) fn write_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.on_conn_blocking(move |inner| inner.write(f))?
    }

    pub(crate) async fn read<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.on_conn(move |inner| inner.read(f)).await?
    }

    pub(crate) fn read_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.on_conn_blocking(move |inner| inner.read(f))?
    }

    pub(crate) async fn claim_jobs(
        &self,
        kinds: Vec<String>,
        owner: String,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        self.on_conn(move |inner| inner.claim(&kinds, &owner, now_ms, lease_ms, limit))
            .await?
    }

    pub(crate) fn claim_jobs_blocking(
        &self,
        kinds: Vec<String>,
        owner: String,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        self.on_conn_blocking(move |inner| inner.claim(&kinds, &owner, now_ms, lease_ms, limit))?
    }

    pub(crate) fn schema_version(&self) -> Result<i64, StoreError> {
        self.on_conn_blocking(PgInner::schema_version)?
    }
}

impl PgInner {
    fn write<R, E, F>(&self, mut f: F) -> Result<R, E>
    where
        F: FnMut(&mut dyn Tx) -> Result<R, E>,
        E: From<StoreError>,
    {
        let mut guard = self.pool.get()?;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt);
            }
            guard.set_clean(false);
            let (outcome, clean) = write_attempt(guard.conn()?, &mut f, attempt > 0);
            guard.set_clean(clean);
            match outcome {
                Attempt::Done(result) => return result,
                Attempt::Retry if clean => {}
                Attempt::Retry => return Err(E::from(StoreError::Conflict)),
            }
        }
        tracing::warn!(
            attempts = MAX_ATTEMPTS,
            "postgres: write transaction kept conflicting"
        );
        Err(E::from(StoreError::Conflict))
    }

    fn read<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, E>,
        E: From<StoreError>,
    {
        let mut guard = self.pool.get()?;
        guard.set_clean(false);
        let conn = guard.conn()?;
        conn.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(pg)?;
        let mut tx = PgTx {
            conn: &mut *conn,
            read_only: true,
            failed: None,
            conflicted: false,
        };
        let out = catch_unwind(AssertUnwindSafe(|| f(&mut tx)));
        let clean = conn.rollback();
        guard.set_clean(clean);
        out.unwrap_or_else(|_| Err(E::from(panic_error())))
    }

    fn claim(
        &self,
        kinds: &[String],
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let mut guard = self.pool.get()?;
        guard.set_clean(false);
        let conn = guard.conn()?;
        let lease_until = now_ms.saturating_add(lease_ms);
        let limit = sql_limit(limit);
        let result = conn
            .client
            .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            .and_then(|()| {
                conn.client.query(
                    &conn.st.claim,
                    &[&lease_until, &now_ms, &limit, &kinds, &owner],
                )
            })
            .map_err(pg)
            .and_then(|rows| rows.iter().map(job_from_row).collect::<Result<Vec<_>, _>>());
        let result = match result {
            Ok(jobs) => conn
                .client
                .batch_execute("COMMIT")
                .map_err(pg)
                .map(|()| jobs),
            Err(e) => Err(e),
        };
        let clean = conn.rollback();
        guard.set_clean(clean);
        let mut jobs = result?;
        jobs.sort_by_key(|j| (j.run_at_ms, j.id));
        Ok(jobs)
    }

    fn schema_version(&self) -> Result<i64, StoreError> {
        let mut guard = self.pool.get()?;
        let conn = guard.conn()?;
        conn.client
            .query_one(&conn.st.version, &[])
            .and_then(|r| r.try_get(0))
            .map_err(pg)
    }
}

/// One run of a write closure in its own transaction. Returns the outcome and whether the
/// connection is idle and reusable afterwards.
fn write_attempt<R, E, F>(conn: &mut PgConn, f: &mut F, pessimistic: bool) -> (Attempt<R, E>, bool)
where
    F: FnMut(&mut dyn Tx) -> Result<R, E>,
    E: From<StoreError>,
{
    let begin = if pessimistic {
        "BEGIN ISOLATION LEVEL SERIALIZABLE; LOCK TABLE write_lock IN EXCLUSIVE MODE"
    } else {
        "BEGIN ISOLATION LEVEL SERIALIZABLE"
    };
    if let Err(e) = conn.client.batch_execute(begin) {
        let conflict = is_conflict(&e);
        let clean = conn.rollback();
        let outcome = if conflict {
            Attempt::Retry
        } else {
            Attempt::Done(Err(E::from(pg(e))))
        };
        return (outcome, clean);
    }
    let mut tx = PgTx {
        conn: &mut *conn,
        read_only: false,
        failed: None,
        conflicted: false,
    };
    let out = catch_unwind(AssertUnwindSafe(|| f(&mut tx)));
    let (failed, conflicted) = (tx.failed.take(), tx.conflicted);
    match out {
        Err(_) => (Attempt::Done(Err(E::from(panic_error()))), conn.rollback()),
        Ok(Err(e)) => {
            let clean = conn.rollback();
            if conflicted {
                (Attempt::Retry, clean)
            } else {
                (Attempt::Done(Err(e)), clean)
            }
        }
        Ok(Ok(r)) => {
            if let Some(e) = failed {
                // The closure swallowed an error; PostgreSQL already aborted the transaction.
                let clean = conn.rollback();
                return if conflicted {
                    (Attempt::Retry, clean)
                } else {
                    (Attempt::Done(Err(E::from(e))), clean)
                };
            }
            match conn.client.batch_execute("COMMIT") {
                Ok(()) => (Attempt::Done(Ok(r)), !conn.client.is_closed()),
                Err(e) => {
                    // A failed COMMIT has ended the transaction; the ROLLBACK only confirms
                    // the connection is usable.
                    let conflict = is_conflict(&e);
                    let clean = conn.rollback();
                    if conflict {
                        (Attempt::Retry, clean)
                    } else {
                        (Attempt::Done(Err(E::from(pg(e)))), clean)
                    }
                }
            }
        }
    }
}

fn job_from_row(row: &Row) -> Result<Job, StoreError> {
    let attempts: i32 = row.try_get(3).map_err(pg)?;
    Ok(Job {
        id: JobId(row.try_get(0).map_err(pg)?),
        kind: row.try_get(1).map_err(pg)?,
        payload: row.try_get(2).map_err(pg)?,
        attempts: u32::try_from(attempts.max(0)).unwrap_or(0),
        run_at_ms: row.try_get(4).map_err(pg)?,
    })
}

/// A transaction on one pooled connection.
struct PgTx<'c> {
    conn: &'c mut PgConn,
    read_only: bool,
    /// First error seen: PostgreSQL has aborted the transaction.
    failed: Option<StoreError>,
    /// A serialization failure or deadlock was seen: the closure should be retried.
    conflicted: bool,
}

impl PgTx<'_> {
    fn usable(&self, write: bool) -> Result<(), StoreError> {
        if write && self.read_only {
            return Err(StoreError::ReadOnly);
        }
        match &self.failed {
            Some(StoreError::Conflict) => Err(StoreError::Conflict),
            Some(e) => Err(StoreError::Backend(format!(
                "transaction aborted by an earlier error: {e}"
            ))),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: postgres::Error) -> StoreError {
        let err = pg(e);
        if matches!(err, StoreError::Conflict) {
            self.conflicted = true;
        }
        if self.failed.is_none() {
            self.failed = Some(err.clone());
        }
        err
    }

    fn query(
        &mut self,
        write: bool,
        pick: fn(&Statements) -> &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        self.usable(write)?;
        let PgConn { client, st } = &mut *self.conn;
        let result = client.query(pick(st), params);
        result.map_err(|e| self.fail(e))
    }

    fn execute(
        &mut self,
        pick: fn(&Statements) -> &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.usable(true)?;
        let PgConn { client, st } = &mut *self.conn;
        let result = client.execute(pick(st), params);
        result.map_err(|e| self.fail(e))
    }

    fn column<'r, T: postgres::types::FromSql<'r>>(
        &mut self,
        row: &'r Row,
        idx: usize,
    ) -> Result<T, StoreError> {
        row.try_get(idx).map_err(|e| self.fail(e))
    }
}

impl Tx for PgTx<'_> {
    fn get(&mut self, space: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.query(false, |s| &s.get, &[&space, &key])?;
        match rows.first() {
            Some(row) => self.column(row, 0).map(Some),
            None => Ok(None),
        }
    }

    fn put(&mut self, space: &str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.execute(|s| &s.put, &[&space, &key, &value])
            .map(|_| ())
    }

    fn delete(&mut self, space: &str, key: &[u8]) -> Result<bool, StoreError> {
        self.execute(|s| &s.delete, &[&space, &key]).map(|n| n > 0)
    }

    fn scan(&mut self, space: &str, scan: &Scan<'_>) -> Result<Vec<KvPair>, StoreError> {
        self.usable(false)?;
        if scan.limit == 0 {
            return Ok(Vec::new());
        }
        let shape = sql::scan_shape(&scan.start, &scan.end, scan.reverse);
        let keys = sql::scan_keys(&scan.start, &scan.end);
        let limit = sql_limit(scan.limit);
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(4);
        params.push(&space);
        for k in &keys {
            params.push(k);
        }
        params.push(&limit);
        let PgConn { client, st } = &mut *self.conn;
        let statement = st
            .scans
            .get(shape)
            .ok_or_else(|| StoreError::Backend("unknown scan shape".to_owned()))?;
        let result = client.query(statement, &params);
        let rows = result.map_err(|e| self.fail(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push((self.column(row, 0)?, self.column(row, 1)?));
        }
        Ok(out)
    }

    fn count(&mut self, space: &str, prefix: &[u8]) -> Result<u64, StoreError> {
        let successor = crate::prefix_successor(prefix);
        let rows = if prefix.is_empty() {
            self.query(false, |s| &s.count_all, &[&space])?
        } else if let Some(end) = &successor {
            self.query(false, |s| &s.count_bounded, &[&space, &prefix, end])?
        } else {
            self.query(false, |s| &s.count_open, &[&space, &prefix])?
        };
        let n: i64 = match rows.first() {
            Some(row) => self.column(row, 0)?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn enqueue_job(
        &mut self,
        kind: &str,
        payload: &[u8],
        run_at_ms: i64,
    ) -> Result<JobId, StoreError> {
        let now = now_ms();
        let rows = self.query(true, |s| &s.enqueue, &[&kind, &payload, &run_at_ms, &now])?;
        match rows.first() {
            Some(row) => self.column(row, 0).map(JobId),
            None => Err(StoreError::Backend(
                "INSERT … RETURNING gave no row".to_owned(),
            )),
        }
    }

    fn complete_job(&mut self, id: JobId) -> Result<(), StoreError> {
        match self.execute(|s| &s.complete, &[&id.0])? {
            0 => Err(StoreError::JobNotFound(id)),
            _ => Ok(()),
        }
    }

    fn reschedule_job(&mut self, id: JobId, run_at_ms: i64) -> Result<(), StoreError> {
        match self.execute(|s| &s.reschedule, &[&id.0, &run_at_ms])? {
            0 => Err(StoreError::JobNotFound(id)),
            _ => Ok(()),
        }
    }

    fn advance_job(&mut self, id: JobId, payload: &[u8], run_at_ms: i64) -> Result<(), StoreError> {
        match self.execute(|s| &s.advance, &[&id.0, &payload, &run_at_ms])? {
            0 => Err(StoreError::JobNotFound(id)),
            _ => Ok(()),
        }
    }

    fn job_counts(&mut self, now_ms: i64) -> Result<Vec<JobCount>, StoreError> {
        let rows = self.query(false, |s| &s.counts, &[&now_ms])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind: String = self.column(row, 0)?;
            let total: i64 = self.column(row, 1)?;
            let leased: i64 = self.column(row, 2)?;
            out.push(JobCount {
                kind,
                total: u64::try_from(total).unwrap_or(0),
                leased: u64::try_from(leased).unwrap_or(0),
            });
        }
        Ok(out)
    }

    fn release_leases(&mut self, owner: &str) -> Result<u64, StoreError> {
        self.execute(|s| &s.release, &[&owner])
    }

    fn job(&mut self, id: JobId) -> Result<Option<Job>, StoreError> {
        let rows = self.query(false, |s| &s.job, &[&id.0])?;
        match rows.first() {
            Some(row) => job_from_row(row).map(Some),
            None => Ok(None),
        }
    }
}
