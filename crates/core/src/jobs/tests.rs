use super::*;
use crate::{AuditEvent, AuditSink, ManualClock, SeededIds};
use cairn_store::{Store, Tx};
use std::sync::atomic::AtomicU32;

struct NoAudit;
impl AuditSink for NoAudit {
    fn record_in(&self, _: &mut dyn Tx, _: &AuditEvent) -> Result<(), StoreError> {
        Ok(())
    }
    fn record(&self, _: AuditEvent) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

fn env(clock: Arc<ManualClock>) -> Arc<Env> {
    Arc::new(Env {
        store: Store::open_sqlite_memory().unwrap(),
        clock,
        ids: Arc::new(SeededIds::new(1)),
        audit: Arc::new(NoAudit),
        node: String::from("node-a"),
        faults: Faults::default(),
        jobs: Arc::default(),
        generations: Default::default(),
    })
}

/// Two steps, each writing its effect and moving the job on in one transaction.
struct TwoSteps;
impl JobHandler for TwoSteps {
    fn kind(&self) -> &'static str {
        "test.two"
    }
    fn run<'a>(&'a self, env: &'a Arc<Env>, job: &'a Job) -> BoxFuture<'a, Step> {
        Box::pin(async move {
            let id = job.id;
            let payload = job.payload.clone();
            let r = env
                .store
                .write(move |tx| -> Result<Step, StoreError> {
                    if payload == b"1" {
                        tx.put("effects", b"one", b"")?;
                        tx.advance_job(id, b"2", 0)?;
                        Ok(Step::Next)
                    } else {
                        tx.put("effects", b"two", b"")?;
                        tx.complete_job(id)?;
                        Ok(Step::Done)
                    }
                })
                .await;
            r.unwrap_or_else(|e| Step::Retry(e.to_string()))
        })
    }
    fn give_up<'a>(
        &'a self,
        _: &'a Arc<Env>,
        _: &'a Job,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Fails `failures` times, then succeeds; records a give-up.
struct Flaky {
    failures: u32,
    runs: AtomicU32,
}
impl JobHandler for Flaky {
    fn kind(&self) -> &'static str {
        "test.flaky"
    }
    fn retry(&self) -> Retry {
        Retry {
            max_attempts: 3,
            base_ms: 100,
            max_ms: 1_000,
        }
    }
    fn run<'a>(&'a self, env: &'a Arc<Env>, job: &'a Job) -> BoxFuture<'a, Step> {
        Box::pin(async move {
            let n = self.runs.fetch_add(1, Ordering::SeqCst);
            if n < self.failures {
                return Step::Retry(format!("failure {n}"));
            }
            let id = job.id;
            let _ = env.store.write(move |tx| tx.complete_job(id)).await;
            Step::Done
        })
    }
    fn give_up<'a>(
        &'a self,
        env: &'a Arc<Env>,
        job: &'a Job,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let id = job.id;
        let error = error.to_owned();
        Box::pin(async move {
            env.store
                .write(move |tx| {
                    tx.put("gave-up", error.as_bytes(), b"")?;
                    tx.complete_job(id)
                })
                .await
        })
    }
}

async fn keys(env: &Env, space: &'static str) -> Vec<Vec<u8>> {
    env.store
        .read(move |tx| tx.scan(space, &cairn_store::Scan::all()))
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[tokio::test]
async fn steps_run_in_order_and_the_job_completes() {
    let clock = Arc::new(ManualClock::new(1_000));
    let env = env(clock);
    env.store
        .write(|tx| tx.enqueue_job("test.two", b"1", 0))
        .await
        .unwrap();
    let runner = Runner::new(Arc::clone(&env), vec![Arc::new(TwoSteps)]);
    assert_eq!(runner.run_until_idle().await, 2);
    assert_eq!(
        keys(&env, "effects").await,
        vec![b"one".to_vec(), b"two".to_vec()]
    );
    let counts = env.store.read(|tx| tx.job_counts(0)).await.unwrap();
    assert!(counts.is_empty(), "{counts:?}");
    let stats = env.jobs.stats(&counts);
    assert_eq!(stats[0].kind, "test.two");
    assert_eq!((stats[0].succeeded, stats[0].running), (1, 0));
}

#[tokio::test]
async fn a_failing_step_is_retried_with_backoff_then_succeeds() {
    let clock = Arc::new(ManualClock::new(1_000));
    let env = env(Arc::clone(&clock));
    env.store
        .write(|tx| tx.enqueue_job("test.flaky", b"", 0))
        .await
        .unwrap();
    let flaky = Arc::new(Flaky {
        failures: 2,
        runs: AtomicU32::new(0),
    });
    let runner = Runner::new(Arc::clone(&env), vec![flaky.clone()]);
    assert_eq!(runner.run_until_idle().await, 1, "first run fails");
    // Not due before its backoff (100 ms, then 200 ms).
    assert_eq!(runner.run_until_idle().await, 0);
    clock.advance(100);
    assert_eq!(runner.run_until_idle().await, 1, "second run fails");
    clock.advance(199);
    assert_eq!(runner.run_until_idle().await, 0);
    clock.advance(1);
    assert_eq!(runner.run_until_idle().await, 1, "third run succeeds");
    assert!(keys(&env, "gave-up").await.is_empty());
    let stats = env.jobs.stats(&[]);
    assert_eq!(
        (stats[0].retried, stats[0].succeeded, stats[0].failed),
        (2, 1, 0)
    );
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_given_up_once() {
    let clock = Arc::new(ManualClock::new(1_000));
    let env = env(Arc::clone(&clock));
    env.store
        .write(|tx| tx.enqueue_job("test.flaky", b"", 0))
        .await
        .unwrap();
    let flaky = Arc::new(Flaky {
        failures: 100,
        runs: AtomicU32::new(0),
    });
    let runner = Runner::new(Arc::clone(&env), vec![flaky.clone()]);
    for _ in 0..10 {
        runner.run_until_idle().await;
        clock.advance(10_000);
    }
    assert_eq!(flaky.runs.load(Ordering::SeqCst), 3, "max_attempts runs");
    assert_eq!(keys(&env, "gave-up").await, vec![b"failure 2".to_vec()]);
    assert_eq!(env.jobs.stats(&[])[0].failed, 1);
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let r = Retry {
        max_attempts: 9,
        base_ms: 500,
        max_ms: 4_000,
    };
    let waits: Vec<i64> = (0..6).map(|a| r.backoff_ms(a)).collect();
    assert_eq!(waits, vec![500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    assert_eq!(r.backoff_ms(u32::MAX), 4_000);
}
