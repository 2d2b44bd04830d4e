//! The recorder: Cairn's [`AuditSink`], writing CloudTrail records into the store.
//!
//! Storage layout: see [`crate::layout`] (`trail.ev` for records, `trail.ix` for the
//! LookupEvents index).
//!
//! Three paths:
//!
//! * [`AuditSink::record_in`] — a mutation's record, written in the caller's transaction:
//!   the change and its record commit together or not at all.
//! * [`AuditSink::record`] of a **successful read-only** call — queued for the group-commit
//!   batcher, a tokio task that collects records for up to [`BATCH_WINDOW`] or
//!   [`MAX_BATCH`] records and writes them in one transaction. The future resolves once the
//!   record is queued; when the queue is full it waits (backpressure), it never drops.
//! * [`AuditSink::record`] of anything else (failures, denials, non-read-only calls that did
//!   not go through `Call::write`) — written in its own transaction; durable when the future
//!   resolves.
//!
//! **Durability guarantee: a crash may lose at most the last batch of read-only records
//! (those queued but not yet committed, i.e. a few milliseconds' worth), never a mutation's.**
//! [`Recorder::flush`] waits until everything queued so far is durable; call it at graceful
//! shutdown. A batch whose write fails is retried once; if the retry fails too, every record
//! of the batch is logged in full at `error` level (so it can be recovered from the logs) and
//! counted in [`Recorder::lost_events`] — never dropped silently.

use crate::layout::{Encoded, StoredEvent};
use crate::recent::Recent;
use cairn_core::{AuditEvent, AuditSink};
use cairn_store::{Store, StoreError, Tx};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The longest a queued read-only record waits before its batch is written.
pub const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// The most records written in one batch transaction.
pub const MAX_BATCH: usize = 1024;
/// Queued records beyond which `record` waits for the batcher.
pub const QUEUE_CAPACITY: usize = 4096;
/// Pause before the one retry of a failed batch.
const RETRY_DELAY: Duration = Duration::from_millis(50);

enum Msg {
    Event(Encoded),
    Flush(oneshot::Sender<()>),
}

/// Writes CloudTrail records into the store. See the module docs.
pub struct Recorder {
    store: Store,
    /// `None` when created outside a tokio runtime: every record is then written directly.
    queue: Option<mpsc::Sender<Msg>>,
    lost: Arc<AtomicU64>,
    /// Where records written are kept for the readers right after them.
    recent: Option<Arc<Recent>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("store", &self.store)
            .field("batching", &self.queue.is_some())
            .field("lost", &self.lost_events())
            .finish()
    }
}

impl Recorder {
    /// A recorder writing into `store`. Spawns the group-commit batcher on the current tokio
    /// runtime; outside a runtime there is no batcher and every record is written directly.
    /// The batcher stops (after writing what is queued) when the recorder is dropped.
    pub fn new(store: Store) -> Arc<Recorder> {
        Recorder::build(store, None)
    }

    /// [`Recorder::new`], keeping what it wrote in `recent` (for event streams and trail
    /// delivery, which read records right after they are written).
    pub fn with_recent(store: Store, recent: Arc<Recent>) -> Arc<Recorder> {
        Recorder::build(store, Some(recent))
    }

    fn build(store: Store, recent: Option<Arc<Recent>>) -> Arc<Recorder> {
        let lost = Arc::new(AtomicU64::new(0));
        let queue = match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
                handle.spawn(run_batcher(
                    store.clone(),
                    receiver,
                    Arc::clone(&lost),
                    recent.clone(),
                ));
                Some(sender)
            }
            Err(_) => {
                tracing::warn!(
                    "CloudTrail recorder created outside a tokio runtime: no group commit"
                );
                None
            }
        };
        Arc::new(Recorder {
            store,
            queue,
            lost,
            recent,
        })
    }

    /// The store records are written to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Waits until every record queued before this call is durable (or, if its batch failed
    /// twice, logged and counted in [`Recorder::lost_events`]).
    pub async fn flush(&self) {
        let Some(queue) = &self.queue else {
            return;
        };
        let (done, wait) = oneshot::channel();
        if queue.send(Msg::Flush(done)).await.is_err() {
            return;
        }
        // An error means the batcher is gone, and with it everything it could write.
        let _ = wait.await;
    }

    /// Read-only records whose batch could not be written even on retry (each was logged).
    pub fn lost_events(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    async fn write_now(&self, encoded: Encoded) -> Result<(), StoreError> {
        let Some(recent) = &self.recent else {
            return self.store.write(move |tx| encoded.put(tx)).await;
        };
        let batch = Arc::new(vec![encoded]);
        let written = Arc::clone(&batch);
        self.store
            .write(move |tx| crate::layout::put_batch(tx, &written))
            .await?;
        keep(recent, batch);
        Ok(())
    }

    async fn record_event(&self, event: AuditEvent) -> Result<(), StoreError> {
        let encoded = Encoded::new(&event)?;
        let success = event.error_code.is_none() && event.error_message.is_none();
        if event.read_only
            && success
            && let Some(queue) = &self.queue
        {
            return match queue.send(Msg::Event(encoded)).await {
                Ok(()) => Ok(()),
                // The batcher is gone (runtime shutting down): write it ourselves.
                Err(mpsc::error::SendError(Msg::Event(encoded))) => self.write_now(encoded).await,
                Err(mpsc::error::SendError(Msg::Flush(_))) => Ok(()),
            };
        }
        self.write_now(encoded).await
    }
}

impl AuditSink for Recorder {
    fn record_in(&self, tx: &mut dyn Tx, event: &AuditEvent) -> Result<(), StoreError> {
        let encoded = Encoded::new(event)?;
        encoded.put(tx)?;
        // Kept before the transaction commits: should it roll back, nothing lists the key
        // (the pending row goes with it), and no other record ever has that key.
        if let Some(recent) = &self.recent {
            recent.insert_all([(encoded.key, encoded.value)]);
        }
        Ok(())
    }

    fn record(
        &self,
        event: AuditEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + '_>> {
        Box::pin(self.record_event(event))
    }
}

/// Adds `msg` to the batch; `true` when it asks for an immediate commit.
fn absorb(msg: Msg, batch: &mut Vec<Encoded>, waiters: &mut Vec<oneshot::Sender<()>>) -> bool {
    match msg {
        Msg::Event(e) => {
            batch.push(e);
            false
        }
        Msg::Flush(w) => {
            waiters.push(w);
            true
        }
    }
}

/// Hands written records to `recent`, without copying them when nothing else holds them.
fn keep(recent: &Recent, batch: Arc<Vec<Encoded>>) {
    match Arc::try_unwrap(batch) {
        Ok(all) => recent.insert_all(all.into_iter().map(|e| (e.key, e.value))),
        Err(shared) => {
            recent.insert_all(shared.iter().map(|e| (e.key.clone(), e.value.clone())));
        }
    }
}

async fn run_batcher(
    store: Store,
    mut queue: mpsc::Receiver<Msg>,
    lost: Arc<AtomicU64>,
    recent: Option<Arc<Recent>>,
) {
    let mut waiters = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut batch = Vec::with_capacity(16);
        // Sleep out the window instead of waking for every record (one wake-up per batch,
        // not per call), then take what has queued.
        if !absorb(first, &mut batch, &mut waiters) {
            tokio::time::sleep(BATCH_WINDOW).await;
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(msg) => {
                    absorb(msg, &mut batch, &mut waiters);
                }
                Err(_) => break,
            }
        }
        commit(&store, batch, &lost, recent.as_deref()).await;
        for w in waiters.drain(..) {
            // The flusher may have gone away; nothing to tell it then.
            let _ = w.send(());
        }
    }
}

/// Writes one batch in one transaction, retrying once; logs every record if both fail.
async fn commit(store: &Store, batch: Vec<Encoded>, lost: &AtomicU64, recent: Option<&Recent>) {
    if batch.is_empty() {
        return;
    }
    let batch = Arc::new(batch);
    let attempt = |batch: Arc<Vec<Encoded>>| {
        store.write(move |tx: &mut dyn Tx| -> Result<(), StoreError> {
            crate::layout::put_batch(tx, &batch)
        })
    };
    let kept = |batch: Arc<Vec<Encoded>>| {
        if let Some(recent) = recent {
            keep(recent, batch);
        }
    };
    let Err(first) = attempt(Arc::clone(&batch)).await else {
        kept(batch);
        return;
    };
    tracing::warn!(error = %first, records = batch.len(), "CloudTrail batch write failed; retrying once");
    tokio::time::sleep(RETRY_DELAY).await;
    let Err(second) = attempt(Arc::clone(&batch)).await else {
        kept(batch);
        return;
    };
    let count = u64::try_from(batch.len()).unwrap_or(u64::MAX);
    lost.fetch_add(count, Ordering::Relaxed);
    tracing::error!(
        error = %second,
        records = batch.len(),
        "CloudTrail batch write failed twice; the records follow in the log and are NOT in the store"
    );
    for e in batch.iter() {
        match StoredEvent::decode(&e.value) {
            Ok(stored) => tracing::error!(
                event_id = stored.event_id,
                record = stored.record_json,
                "unstored CloudTrail record"
            ),
            Err(err) => tracing::error!(?err, "unstored CloudTrail record (undecodable)"),
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::layout::{EVENTS, INDEX, Tag, index_prefix};
    use crate::test_support::{ACCT, event};
    use cairn_store::Scan;

    fn count(store: &Store, space: &'static str) -> u64 {
        store.read_blocking(move |tx| tx.count(space, b"")).unwrap()
    }

    #[tokio::test]
    async fn record_in_commits_with_the_transaction() {
        let store = Store::open_sqlite_memory().unwrap();
        let rec = Recorder::new(store.clone());
        let e = event(1_000, "a", "CreateOrganization", false);
        let sink = Arc::clone(&rec);
        let ev = e.clone();
        store
            .write(move |tx| -> Result<(), StoreError> {
                tx.put("other", b"k", b"v")?;
                sink.record_in(tx, &ev)
            })
            .await
            .unwrap();
        assert_eq!(count(&store, EVENTS), 1);
        // A rolled-back transaction leaves neither the change nor the record.
        let sink = Arc::clone(&rec);
        let ev = event(2_000, "b", "CreateOrganization", false);
        let r: Result<(), StoreError> = store
            .write(move |tx| {
                sink.record_in(tx, &ev)?;
                Err(StoreError::Conflict)
            })
            .await;
        assert!(r.is_err());
        assert_eq!(count(&store, EVENTS), 1);
        let prefix = index_prefix(ACCT, Tag::All, "");
        let rows = store
            .read_blocking(move |tx| tx.scan_prefix(INDEX, &prefix, false, usize::MAX))
            .unwrap();
        assert_eq!(rows.len(), 1);
    }

    #[tokio::test]
    async fn mutations_and_failures_are_durable_on_return() {
        let store = Store::open_sqlite_memory().unwrap();
        let rec = Recorder::new(store.clone());
        rec.record(event(1_000, "w", "CreateOrganization", false))
            .await
            .unwrap();
        let mut failed = event(2_000, "f", "DescribeOrganization", true);
        failed.error_code = Some("AccessDeniedException".to_owned());
        failed.error_message = Some("denied".to_owned());
        rec.record(failed).await.unwrap();
        // No flush: both must already be there.
        assert_eq!(count(&store, EVENTS), 2);
    }

    #[tokio::test]
    async fn read_only_successes_are_batched_and_flushed() {
        let store = Store::open_sqlite_memory().unwrap();
        let rec = Recorder::new(store.clone());
        for i in 0..600 {
            rec.record(event(1_000 + i, &format!("r{i}"), "ListAccounts", true))
                .await
                .unwrap();
        }
        rec.flush().await;
        assert_eq!(count(&store, EVENTS), 600);
        assert_eq!(rec.lost_events(), 0);
        // Flushing with nothing queued returns promptly.
        rec.flush().await;
    }

    #[tokio::test]
    async fn batches_commit_without_flush_after_the_window() {
        let store = Store::open_sqlite_memory().unwrap();
        let rec = Recorder::new(store.clone());
        rec.record(event(1_000, "x", "ListAccounts", true))
            .await
            .unwrap();
        for _ in 0..200 {
            if count(&store, EVENTS) == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the batch was never committed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_with_backpressure() {
        let store = Store::open_sqlite_memory().unwrap();
        let rec = Recorder::new(store.clone());
        let mut tasks = Vec::new();
        for t in 0..8 {
            let rec = Arc::clone(&rec);
            tasks.push(tokio::spawn(async move {
                for i in 0..1_000 {
                    rec.record(event(10_000 + i, &format!("t{t}-{i}"), "ListRoots", true))
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        rec.flush().await;
        assert_eq!(count(&store, EVENTS), 8_000);
    }

    #[tokio::test]
    async fn dropping_the_recorder_writes_what_is_queued() {
        let store = Store::open_sqlite_memory().unwrap();
        let rec = Recorder::new(store.clone());
        for i in 0..10 {
            rec.record(event(1_000 + i, &format!("d{i}"), "ListAccounts", true))
                .await
                .unwrap();
        }
        drop(rec);
        for _ in 0..200 {
            if count(&store, EVENTS) == 10 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("queued records were not written after drop");
    }

    #[test]
    fn without_a_runtime_records_are_written_directly() {
        let store = Store::open_sqlite_memory().unwrap();
        let rec = Recorder::new(store.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            rec.record(event(1_000, "n", "ListAccounts", true))
                .await
                .unwrap();
            rec.flush().await;
        });
        assert_eq!(count(&store, EVENTS), 1);
        let rows = store
            .read_blocking(|tx| tx.scan(EVENTS, &Scan::all()))
            .unwrap();
        let (_, v) = rows.first().unwrap();
        assert_eq!(StoredEvent::decode(v).unwrap().event_id, "n");
    }
}
