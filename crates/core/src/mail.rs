//! Mail is a job: a service that sends an email (Organizations' account verification and
//! invitations) enqueues a [`MAIL_KIND`] job in the transaction of the change that causes it
//! — the job table is the outbox — and the binary's mail handler delivers it, retrying a
//! failing SMTP server with backoff. No service crate opens a socket, and a message is sent
//! if and only if its transaction committed.

use cairn_store::{JobId, StoreError, Tx};
use serde::{Deserialize, Serialize};

/// The job kind of a message to send.
pub const MAIL_KIND: &str = "mail.send";

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Unique per message (a request or handshake ID): the outbox file name and the
    /// `Message-ID`, so a message delivered twice (a crash after the send, before its job
    /// completed) is recognisably the same message.
    pub tag: String,
}

/// Queues `mail`, atomically with the rest of `tx`. Wake the runner after the commit
/// (`Env::jobs`).
pub fn enqueue(tx: &mut dyn Tx, mail: &Mail, now_ms: i64) -> Result<JobId, StoreError> {
    let payload = serde_json::to_vec(mail)
        .map_err(|e| StoreError::Backend(format!("encoding a mail job: {e}")))?;
    tx.enqueue_job(MAIL_KIND, &payload, now_ms)
}
