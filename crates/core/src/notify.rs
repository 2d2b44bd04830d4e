//! Notifications to an outside party's topic (IAM temporary delegation's `NotificationChannel`,
//! an SNS topic ARN) are jobs, like mail: the service enqueues a [`NOTIFY_KIND`] job in the
//! transaction of the change that causes it, and the binary's handler delivers it. Cairn has
//! no SNS, so the binary writes each notification, in SNS's notification envelope, into
//! `<data-dir>/outbox/sns/<tag>.json`, where the subscriber (a test, a script relaying it)
//! reads it. A notification exists if and only if its transaction committed.

use cairn_store::{JobId, StoreError, Tx};
use serde::{Deserialize, Serialize};

/// The job kind of a notification to publish.
pub const NOTIFY_KIND: &str = "notify.publish";

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The topic (`arn:aws:sns:<region>:<account>:<name>`).
    pub topic_arn: String,
    pub subject: String,
    /// The message, JSON text.
    pub message: String,
    /// Unique per notification: the SNS `MessageId` and the outbox file name, so one
    /// delivered twice (a crash after the write, before its job completed) is the same file.
    pub tag: String,
    /// When it was published (epoch millis): the envelope's `Timestamp`.
    pub at_ms: i64,
}

/// Queues `notification`, atomically with the rest of `tx`. Wake the runner after the commit
/// (`Call::kick_jobs`).
pub fn enqueue(tx: &mut dyn Tx, notification: &Notification) -> Result<JobId, StoreError> {
    let payload = serde_json::to_vec(notification)
        .map_err(|e| StoreError::Backend(format!("encoding a notification job: {e}")))?;
    tx.enqueue_job(NOTIFY_KIND, &payload, notification.at_ms)
}
