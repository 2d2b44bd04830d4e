//! The one durable job runner: every asynchronous workflow (CreateAccount, mail, and the
//! provisioning, delivery and digest work to come) is a *kind* of job in the store's job
//! table, run here.
//!
//! - **Durable.** A job is enqueued in the transaction that asks for it
//!   (`Tx::enqueue_job`), so it exists exactly when that transaction committed.
//! - **Steps.** A [`JobHandler`] runs the job's current step in a transaction of its own and,
//!   in that same transaction, completes the job (`Tx::complete_job`) or moves it to its next
//!   step (`Tx::advance_job`, a new payload). A step's effects and the job's progress commit
//!   together: a crash before the commit reruns the step (its effects were rolled back), a
//!   crash after it resumes at the next step — every step takes effect exactly once.
//! - **Leases.** A runner claims due jobs with a lease in its node's name
//!   ([`Env::node`]); a crashed node's leases are released when it restarts
//!   (`Tx::release_leases`), a dead node's expire.
//! - **Retries.** A step that fails ([`Step::Retry`]) runs again after an exponential
//!   backoff, up to the kind's [`Retry::max_attempts`]; then [`JobHandler::give_up`] records
//!   the failure (a request marked `FAILED`) and completes the job.
//! - **Metrics.** Per kind: queued and running (from the table), run, retried and failed
//!   (counted here), on `/metrics`.
//!
//! Domain crates only define handlers and enqueue jobs; the binary builds the [`Runner`]
//! with every handler and spawns it.

use crate::{Env, Faults};
use cairn_store::{Job, JobCount, StoreError};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a kind retries a failing step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Runs of one step before the job is given up (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub base_ms: i64,
    /// The longest wait between two runs.
    pub max_ms: i64,
}

impl Retry {
    pub const DEFAULT: Retry = Retry {
        max_attempts: 5,
        base_ms: 500,
        max_ms: 60_000,
    };

    /// The wait before the run that follows `attempts` failed ones.
    pub fn backoff_ms(&self, attempts: u32) -> i64 {
        let doubled = self
            .base_ms
            .saturating_mul(1_i64.checked_shl(attempts.min(32)).unwrap_or(i64::MAX));
        doubled.clamp(0, self.max_ms.max(0))
    }
}

/// What one run of a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The job is finished: the step completed it in its transaction.
    Done,
    /// The step moved the job to its next step (`Tx::advance_job`) in its transaction: run
    /// that at once.
    Next,
    /// The step rescheduled the job for later (`Tx::advance_job` with a future `run_at_ms`)
    /// in its transaction: a recurring job (trail delivery) between two rounds.
    Later,
    /// The step failed and changed nothing; run it again after the backoff.
    Retry(String),
}

/// One kind of job.
pub trait JobHandler: Send + Sync + 'static {
    /// The kind stored with the job (`org.create_account`, `mail.send`).
    fn kind(&self) -> &'static str;

    fn retry(&self) -> Retry {
        Retry::DEFAULT
    }

    /// How long a claim holds; a step must commit well within it.
    fn lease_ms(&self) -> i64 {
        30_000
    }

    /// Runs the job's current step (its payload says which). Must be idempotent: the same
    /// step may run again after a crash that came before its commit.
    fn run<'a>(&'a self, env: &'a Arc<Env>, job: &'a Job) -> BoxFuture<'a, Step>;

    /// The step failed [`Retry::max_attempts`] times: record the failure the way the
    /// workflow's API reports it, and complete the job — in one transaction.
    fn give_up<'a>(
        &'a self,
        env: &'a Arc<Env>,
        job: &'a Job,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Makes sure the one job of a *recurring* kind exists (call at start; idempotent, and safe
/// with several nodes on one store: check and enqueue are one transaction). Its ID is kept
/// under `mark` (space, key). A job due later than `now_ms + within_ms` (its cadence was
/// shortened) is brought forward to now.
pub fn ensure_recurring(
    tx: &mut dyn cairn_store::Tx,
    kind: &str,
    mark: (&str, &[u8]),
    now_ms: i64,
    within_ms: i64,
) -> Result<(), StoreError> {
    if let Some(v) = tx.get(mark.0, mark.1)?
        && let Ok(bytes) = <[u8; 8]>::try_from(v.as_slice())
        && let Some(job) = tx.job(cairn_store::JobId(i64::from_be_bytes(bytes)))?
    {
        if job.run_at_ms > now_ms.saturating_add(within_ms) {
            tx.advance_job(job.id, &job.payload, now_ms)?;
        }
        return Ok(());
    }
    let id = tx.enqueue_job(kind, b"{}", now_ms)?;
    tx.put(mark.0, mark.1, &id.0.to_be_bytes())
}

/// The end of a recurring job's round: the next one `interval_ms` from now
/// ([`Step::Later`]), or a retry if rescheduling failed.
pub async fn run_again_in(env: &Env, job: &Job, interval_ms: i64) -> Step {
    let next = env.clock.now_millis().saturating_add(interval_ms);
    let id = job.id;
    match env
        .store
        .write(move |tx| tx.advance_job(id, b"{}", next))
        .await
    {
        Ok(()) => Step::Later,
        Err(e) => Step::Retry(e.to_string()),
    }
}

/// Counters of one kind, kept by this process.
#[derive(Debug, Default)]
struct KindCounters {
    running: AtomicU64,
    succeeded: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

/// One kind's figures for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KindStats {
    pub kind: String,
    /// In the table, not leased.
    pub queued: u64,
    /// Running in this process.
    pub running: u64,
    /// Finished here.
    pub succeeded: u64,
    /// Steps that failed here and were scheduled again.
    pub retried: u64,
    /// Given up here after their last attempt.
    pub failed: u64,
}

/// The handle domain code holds (in [`Env`]): wake the runner after enqueueing, and read the
/// counters.
#[derive(Debug, Default)]
pub struct Jobs {
    wake: Notify,
    counters: Mutex<BTreeMap<&'static str, Arc<KindCounters>>>,
}

impl Jobs {
    /// Asks the runner to claim due jobs now (call after the commit that enqueued one).
    pub fn kick(&self) {
        self.wake.notify_one();
    }

    fn counters(&self, kind: &'static str) -> Arc<KindCounters> {
        match self.counters.lock() {
            Ok(mut map) => Arc::clone(map.entry(kind).or_default()),
            Err(poisoned) => Arc::clone(poisoned.into_inner().entry(kind).or_default()),
        }
    }

    /// Per kind: what the table holds (`counts`, from `Tx::job_counts`) and this process's
    /// counters, sorted by kind.
    pub fn stats(&self, counts: &[JobCount]) -> Vec<KindStats> {
        let mut out: BTreeMap<String, KindStats> = BTreeMap::new();
        for c in counts {
            let s = out.entry(c.kind.clone()).or_default();
            s.kind = c.kind.clone();
            s.queued = c.total.saturating_sub(c.leased);
        }
        let counters: Vec<(&'static str, Arc<KindCounters>)> = match self.counters.lock() {
            Ok(map) => map.iter().map(|(k, v)| (*k, Arc::clone(v))).collect(),
            Err(_) => Vec::new(),
        };
        for (kind, c) in counters {
            let s = out.entry(kind.to_owned()).or_default();
            s.kind = kind.to_owned();
            s.running = c.running.load(Ordering::Relaxed);
            s.succeeded = c.succeeded.load(Ordering::Relaxed);
            s.retried = c.retried.load(Ordering::Relaxed);
            s.failed = c.failed.load(Ordering::Relaxed);
        }
        out.into_values().collect()
    }
}

/// How often the runner looks for due jobs when nothing wakes it (retries, leases of dead
/// nodes).
pub const POLL: Duration = Duration::from_millis(500);
/// Jobs run at once by one runner.
const CONCURRENCY: usize = 8;

/// Runs every registered kind's jobs.
pub struct Runner {
    env: Arc<Env>,
    handlers: Vec<Arc<dyn JobHandler>>,
    slots: Arc<Semaphore>,
}

impl Runner {
    pub fn new(env: Arc<Env>, handlers: Vec<Arc<dyn JobHandler>>) -> Arc<Runner> {
        Arc::new(Runner {
            env,
            handlers,
            slots: Arc::new(Semaphore::new(CONCURRENCY)),
        })
    }

    /// Polls until the returned handle is dropped or stopped. Call inside a Tokio runtime.
    pub fn spawn(self: &Arc<Self>) -> RunnerHandle {
        let runner = Arc::clone(self);
        let handle = tokio::spawn(async move {
            loop {
                runner.claim_and_start().await;
                tokio::select! {
                    () = runner.env.jobs.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        });
        RunnerHandle(handle)
    }

    /// Claims the due jobs of every kind (as many as there are free slots) and starts them;
    /// returns how many it started.
    pub async fn claim_and_start(self: &Arc<Self>) -> usize {
        let mut started = 0;
        for handler in &self.handlers {
            let free = self.slots.available_permits();
            if free == 0 {
                break;
            }
            let now = self.env.clock.now_millis();
            let claimed = self
                .env
                .store
                .claim_jobs(
                    &[handler.kind()],
                    &self.env.node,
                    now,
                    handler.lease_ms(),
                    free,
                )
                .await;
            let jobs = match claimed {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(kind = handler.kind(), error = %e, "claiming jobs failed");
                    continue;
                }
            };
            for job in jobs {
                let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
                    return started;
                };
                let runner = Arc::clone(self);
                let handler = Arc::clone(handler);
                started += 1;
                tokio::spawn(async move {
                    runner.run_job(handler.as_ref(), job).await;
                    drop(permit);
                    // A slot is free: there may be more due work.
                    runner.env.jobs.kick();
                });
            }
        }
        started
    }

    /// Runs claimed jobs until none is due; returns how many steps ran (tests).
    pub async fn run_until_idle(self: &Arc<Self>) -> usize {
        let mut ran = 0;
        loop {
            let mut any = false;
            for handler in &self.handlers {
                let now = self.env.clock.now_millis();
                let jobs = match self
                    .env
                    .store
                    .claim_jobs(
                        &[handler.kind()],
                        &self.env.node,
                        now,
                        handler.lease_ms(),
                        8,
                    )
                    .await
                {
                    Ok(jobs) => jobs,
                    Err(_) => return ran,
                };
                for job in jobs {
                    any = true;
                    ran += self.run_job(handler.as_ref(), job).await;
                }
            }
            if !any {
                return ran;
            }
        }
    }

    /// Runs the job's steps while they advance; returns how many ran.
    async fn run_job(&self, handler: &dyn JobHandler, mut job: Job) -> usize {
        let env = &self.env;
        let kind = handler.kind();
        let counters = env.jobs.counters(kind);
        counters.running.fetch_add(1, Ordering::Relaxed);
        let mut steps = 0;
        loop {
            crash_point(&env.faults, kind, "claimed");
            let outcome = handler.run(env, &job).await;
            steps += 1;
            match outcome {
                Step::Done | Step::Later => {
                    counters.succeeded.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Step::Next => {
                    crash_point(&env.faults, kind, "between-steps");
                    // Re-read the job: the step stored the next payload.
                    let id = job.id;
                    match env.store.read(move |tx| tx.job(id)).await {
                        Ok(Some(next)) => job = next,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(kind, job = %job.id, error = %e, "reading the next step failed; it runs after its lease");
                            break;
                        }
                    }
                }
                Step::Retry(error) => {
                    self.failed_step(handler, &job, &error, &counters).await;
                    break;
                }
            }
        }
        counters.running.fetch_sub(1, Ordering::Relaxed);
        steps
    }

    async fn failed_step(
        &self,
        handler: &dyn JobHandler,
        job: &Job,
        error: &str,
        counters: &KindCounters,
    ) {
        let env = &self.env;
        let retry = handler.retry();
        if job.attempts.saturating_add(1) >= retry.max_attempts.max(1) {
            tracing::warn!(kind = handler.kind(), job = %job.id, attempts = job.attempts + 1, error, "job failed for the last time; giving up");
            counters.failed.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = handler.give_up(env, job, error).await {
                tracing::warn!(kind = handler.kind(), job = %job.id, error = %e, "recording a given-up job failed; it runs again after its lease");
            }
            return;
        }
        counters.retried.fetch_add(1, Ordering::Relaxed);
        let run_at = env
            .clock
            .now_millis()
            .saturating_add(retry.backoff_ms(job.attempts));
        tracing::info!(kind = handler.kind(), job = %job.id, attempts = job.attempts + 1, error, "job step failed; retrying");
        let id = job.id;
        if let Err(e) = env
            .store
            .write(move |tx| tx.reschedule_job(id, run_at))
            .await
        {
            tracing::warn!(kind = handler.kind(), job = %job.id, error = %e, "rescheduling a job failed; it runs again after its lease");
        }
    }
}

/// `job:<kind>:<at>` (`claimed`, `between-steps`), when the tests armed any point.
fn crash_point(faults: &Faults, kind: &str, at: &str) {
    if faults.any() {
        faults.crash_at(&format!("job:{kind}:{at}"));
    }
}

/// Stops the runner's polling when stopped or dropped (a step in flight finishes its
/// transaction or is rolled back; its job is claimed again after the restart).
#[derive(Debug)]
pub struct RunnerHandle(tokio::task::JoinHandle<()>);

impl RunnerHandle {
    pub fn stop(self) {
        self.0.abort();
    }
}

impl Drop for RunnerHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests;
