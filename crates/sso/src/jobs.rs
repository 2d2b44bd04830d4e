//! The `sso.task` job kind: Identity Center's asynchronous work, one task per job —
//! activating a new instance, deleting one (its directory in batches). Each step commits its
//! effect together with the job's progress, so a crash repeats at most an idempotent step.

use crate::instance;
use cairn_core::jobs::{BoxFuture, JobHandler, Step};
use cairn_core::{Env, Failure};
use cairn_store::{Job, StoreError, Tx};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const KIND: &str = "sso.task";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task")]
pub enum Task {
    ActivateInstance { id: String },
    DeleteInstance { id: String },
}

/// Enqueues `task` in the caller's transaction (the caller kicks the runner after commit).
pub fn enqueue(tx: &mut dyn Tx, now_ms: i64, task: &Task) -> Result<(), Failure> {
    let payload =
        serde_json::to_vec(task).map_err(|_| Failure(cairn_wire::ApiError::internal()))?;
    tx.enqueue_job(KIND, &payload, now_ms)?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct SsoJob;

enum Outcome {
    Done,
    Again,
}

fn run_task(tx: &mut dyn Tx, job: &Job, task: &Task, now_ms: i64) -> Result<Outcome, Failure> {
    let out = match task {
        Task::ActivateInstance { id } => {
            instance::activate(tx, id)?;
            Outcome::Done
        }
        Task::DeleteInstance { id } => {
            if instance::purge(tx, id)? {
                Outcome::Done
            } else {
                Outcome::Again
            }
        }
    };
    match out {
        Outcome::Done => tx.complete_job(job.id)?,
        Outcome::Again => tx.advance_job(job.id, &job.payload, now_ms)?,
    }
    Ok(out)
}

impl JobHandler for SsoJob {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(&'a self, env: &'a Arc<Env>, job: &'a Job) -> BoxFuture<'a, Step> {
        Box::pin(async move {
            let Ok(task) = serde_json::from_slice::<Task>(&job.payload) else {
                tracing::error!(job = %job.id, "sso.task job with an unreadable payload; dropped");
                let id = job.id;
                let _ = env.store.write(move |tx| tx.complete_job(id)).await;
                return Step::Done;
            };
            let now = env.clock.now_millis();
            let job2 = job.clone();
            let result = env
                .store
                .write(move |tx| run_task(tx, &job2, &task, now))
                .await;
            match result {
                Ok(Outcome::Done) => Step::Done,
                Ok(Outcome::Again) => Step::Next,
                Err(Failure(e)) => Step::Retry(e.message),
            }
        })
    }

    fn give_up<'a>(
        &'a self,
        env: &'a Arc<Env>,
        job: &'a Job,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            tracing::error!(job = %job.id, error, "an Identity Center task kept failing; given up");
            let id = job.id;
            env.store.write(move |tx| tx.complete_job(id)).await
        })
    }
}
