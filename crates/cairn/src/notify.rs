//! Delivering the notification jobs services enqueue (`cairn_core::notify`): Cairn has no
//! SNS, so each notification is written, in SNS's notification envelope (`Type`,
//! `MessageId`, `TopicArn`, `Subject`, `Message`, `Timestamp`, as SNS delivers to HTTP/SQS
//! subscribers), to `<data-dir>/outbox/sns/<tag>.json`. A failed write is retried with
//! backoff by the job runner; writing one twice writes the same file.

use cairn_core::Env;
use cairn_core::jobs::{BoxFuture, JobHandler, Retry, Step};
use cairn_core::notify::{NOTIFY_KIND, Notification};
use cairn_store::{Job, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

/// The `notify.publish` job kind.
pub struct NotifyJob {
    dir: PathBuf,
}

impl NotifyJob {
    /// Writes into `dir` (`<data-dir>/outbox/sns`).
    pub fn new(dir: PathBuf) -> Self {
        NotifyJob { dir }
    }
}

/// The SNS envelope of `n`.
fn envelope(n: &Notification) -> serde_json::Value {
    serde_json::json!({
        "Type": "Notification",
        "MessageId": n.tag,
        "TopicArn": n.topic_arn,
        "Subject": n.subject,
        "Message": n.message,
        "Timestamp": cairn_wire::Timestamp::from_millis(n.at_ms).to_iso8601(),
    })
}

impl JobHandler for NotifyJob {
    fn kind(&self) -> &'static str {
        NOTIFY_KIND
    }

    fn retry(&self) -> Retry {
        Retry {
            max_attempts: 12,
            base_ms: 1_000,
            max_ms: 600_000,
        }
    }

    fn run<'a>(&'a self, env: &'a Arc<Env>, job: &'a Job) -> BoxFuture<'a, Step> {
        Box::pin(async move {
            let id = job.id;
            let n: Notification = match serde_json::from_slice(&job.payload) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(job = %id, error = %e, "unreadable notification job; dropped");
                    let _ = env.store.write(move |tx| tx.complete_job(id)).await;
                    return Step::Done;
                }
            };
            if let Err(e) = tokio::fs::create_dir_all(&self.dir).await {
                return Step::Retry(format!("creating {}: {e}", self.dir.display()));
            }
            // Tags are service-made IDs; keep the file name plain whatever they hold.
            let name: String = n
                .tag
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = self.dir.join(format!("{name}.json"));
            let body = envelope(&n).to_string();
            if let Err(e) = tokio::fs::write(&path, body).await {
                return Step::Retry(format!("writing {}: {e}", path.display()));
            }
            tracing::info!(topic = %n.topic_arn, subject = %n.subject, "notification published");
            match env.store.write(move |tx| tx.complete_job(id)).await {
                Ok(()) | Err(StoreError::JobNotFound(_)) => Step::Done,
                Err(e) => {
                    tracing::warn!(job = %id, error = %e, "completing a notification job failed");
                    Step::Done
                }
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
            tracing::error!(job = %job.id, error, "notification could not be published; given up");
            let id = job.id;
            env.store.write(move |tx| tx.complete_job(id)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_carry_the_message_as_text() {
        let n = Notification {
            topic_arn: "arn:aws:sns:us-east-1:111122223333:t".into(),
            subject: "s".into(),
            message: r#"{"a":1}"#.into(),
            tag: "dr-x-finalized".into(),
            at_ms: 0,
        };
        let e = envelope(&n);
        assert_eq!(e["Type"], "Notification");
        assert_eq!(e["Message"], r#"{"a":1}"#);
        assert_eq!(e["Timestamp"], "1970-01-01T00:00:00Z");
    }
}
