//! The `sso.task` job kind: Identity Center's asynchronous work, one task per job —
//! activating a new instance, deleting one (its directory in batches), and the account
//! assignment and provisioning requests (`assign`). Each step commits its effect together
//! with the job's progress, so a crash repeats at most an idempotent step. A request that
//! fails has its step rolled back and the failure recorded in a second transaction.

use crate::{assign, instance, regions};
use cairn_core::jobs::{BoxFuture, JobHandler, Step};
use cairn_core::{Env, Failure};
use cairn_store::{Job, StoreError, Tx};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const KIND: &str = "sso.task";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task")]
pub enum Task {
    ActivateInstance {
        id: String,
    },
    DeleteInstance {
        id: String,
    },
    /// An account assignment or provisioning request; `cursor` is the last account done
    /// (provisioning to all accounts goes in steps).
    Request {
        instance: String,
        request: String,
        #[serde(default)]
        cursor: Option<String>,
    },
    /// `AddRegion`'s workflow.
    RegionAdded {
        instance: String,
        region: String,
    },
    /// `RemoveRegion`'s workflow.
    RegionRemoved {
        instance: String,
        region: String,
    },
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

fn run_task(
    tx: &mut dyn Tx,
    ids: &dyn cairn_core::Ids,
    job: &Job,
    task: &Task,
    now_ms: i64,
) -> Result<Outcome, Failure> {
    let out = match task {
        Task::Request {
            instance,
            request,
            cursor,
        } => match assign::run_request(tx, ids, now_ms, instance, request, cursor.as_deref())? {
            assign::Progress::Done => Outcome::Done,
            assign::Progress::Continue(last) => {
                let next = Task::Request {
                    instance: instance.clone(),
                    request: request.clone(),
                    cursor: Some(last),
                };
                let payload = serde_json::to_vec(&next)
                    .map_err(|_| Failure(cairn_wire::ApiError::internal()))?;
                tx.advance_job(job.id, &payload, now_ms)?;
                return Ok(Outcome::Again);
            }
        },
        Task::RegionAdded { instance, region } => {
            regions::finish_add(tx, instance, region)?;
            Outcome::Done
        }
        Task::RegionRemoved { instance, region } => {
            regions::finish_remove(tx, instance, region)?;
            Outcome::Done
        }
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
            let ids = Arc::clone(&env.ids);
            let task2 = task.clone();
            let result = env
                .store
                .write(move |tx| run_task(tx, ids.as_ref(), &job2, &task2, now))
                .await;
            let step = match result {
                Ok(Outcome::Done) => Step::Done,
                Ok(Outcome::Again) => Step::Next,
                Err(Failure(e)) if e.status >= 500 => Step::Retry(e.message),
                Err(Failure(e)) => {
                    // The request failed: its step is rolled back; record why.
                    let Task::Request {
                        instance, request, ..
                    } = task
                    else {
                        return Step::Retry(e.message);
                    };
                    let id = job.id;
                    let reason = e.message.clone();
                    let recorded = env
                        .store
                        .write(move |tx| {
                            assign::fail_request(tx, &instance, &request, &reason)?;
                            tx.complete_job(id)?;
                            Ok::<_, Failure>(())
                        })
                        .await;
                    match recorded {
                        Ok(()) => Step::Done,
                        Err(Failure(e)) => Step::Retry(e.message),
                    }
                }
            };
            // Roles may have changed in member accounts.
            env.generations.iam.bump();
            step
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
