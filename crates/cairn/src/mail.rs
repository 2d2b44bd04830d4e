//! Delivering the mail jobs services enqueue (`cairn_core::mail`): over plain SMTP to the
//! configured `smtp://host[:port]`, else as `<data-dir>/outbox/<tag>.eml`. A failure — the
//! server refuses, is down, times out — is retried with backoff by the job runner; a message
//! is never lost while its job exists.

use cairn_core::Env;
use cairn_core::jobs::{BoxFuture, JobHandler, Retry, Step};
use cairn_core::mail::{MAIL_KIND, Mail};
use cairn_store::{Job, StoreError};
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Sender of every message.
const FROM: &str = "Cairn <no-reply@cairn.local>";

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Transport {
    Smtp { host: String, port: u16 },
    Outbox(PathBuf),
}

impl Transport {
    /// `smtp_url` when set (`smtp://host[:port]`, port 25 by default), else the outbox
    /// directory.
    pub fn new(smtp_url: Option<&str>, outbox: PathBuf) -> Result<Transport, String> {
        match smtp_url {
            Some(url) => {
                let (host, port) = smtp_host_port(url).ok_or_else(|| {
                    format!("the SMTP URL must be smtp://host[:port], got {url:?}")
                })?;
                Ok(Transport::Smtp {
                    host: host.to_owned(),
                    port,
                })
            }
            None => Ok(Transport::Outbox(outbox)),
        }
    }
}

/// The `mail.send` job kind.
pub struct MailJob {
    transport: Transport,
}

impl MailJob {
    pub fn new(transport: Transport) -> Self {
        MailJob { transport }
    }
}

impl JobHandler for MailJob {
    fn kind(&self) -> &'static str {
        MAIL_KIND
    }

    /// An unreachable mail server is retried for about an hour (1 s, 2 s, … up to 10 min).
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
            let mail: Mail = match serde_json::from_slice(&job.payload) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(job = %id, error = %e, "unreadable mail job; dropped");
                    let _ = env.store.write(move |tx| tx.complete_job(id)).await;
                    return Step::Done;
                }
            };
            if let Err(e) = deliver(&self.transport, &mail).await {
                return Step::Retry(e);
            }
            tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
            // Sent: the job is done. (A crash right here sends it again after the restart,
            // with the same Message-ID.)
            match env.store.write(move |tx| tx.complete_job(id)).await {
                Ok(()) | Err(StoreError::JobNotFound(_)) => Step::Done,
                Err(e) => {
                    tracing::warn!(job = %id, error = %e, "completing a sent mail job failed");
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
            tracing::error!(job = %job.id, error, "mail could not be delivered; given up");
            let id = job.id;
            env.store.write(move |tx| tx.complete_job(id)).await
        })
    }
}

fn build(mail: &Mail) -> Result<Message, String> {
    let from: Mailbox = FROM.parse().map_err(|e| format!("sender: {e}"))?;
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| format!("recipient {:?}: {e}", mail.to))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@cairn.local>", mail.tag)))
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| format!("building the message: {e}"))
}

/// `smtp://host[:port]` (port 25 by default) → host and port. Plain SMTP only.
fn smtp_host_port(url: &str) -> Option<(&str, u16)> {
    let rest = url.trim().strip_prefix("smtp://")?;
    let rest = rest.trim_end_matches('/');
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => Some((host, port.parse().ok()?)),
        Some(_) => None,
        None if !rest.is_empty() => Some((rest, 25)),
        None => None,
    }
}

async fn deliver(transport: &Transport, mail: &Mail) -> Result<(), String> {
    let message = build(mail)?;
    match transport {
        Transport::Smtp { host, port } => {
            let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                .port(*port)
                .timeout(Some(Duration::from_secs(30)))
                .build();
            smtp.send(message)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP: {e}"))
        }
        Transport::Outbox(dir) => {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| format!("creating {}: {e}", dir.display()))?;
            // Named by the message's tag: delivering it twice writes the same file.
            let path = dir.join(format!("{}.eml", mail.tag));
            tokio::fs::write(&path, message.formatted())
                .await
                .map_err(|e| format!("writing {}: {e}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        assert_eq!(
            smtp_host_port("smtp://127.0.0.1:2525"),
            Some(("127.0.0.1", 2525))
        );
        assert_eq!(
            smtp_host_port("smtp://mail.local"),
            Some(("mail.local", 25))
        );
        assert_eq!(smtp_host_port("smtps://x:1"), None);
        assert_eq!(smtp_host_port("smtp://:25"), None);
    }

    #[test]
    fn messages_build_with_a_stable_message_id() {
        let m = Mail {
            to: "a@example.com".into(),
            subject: "s".into(),
            body: "welcome".into(),
            tag: "invite-h-abcdefghij".into(),
        };
        let text = String::from_utf8(build(&m).unwrap().formatted()).unwrap();
        assert!(text.contains("To: a@example.com"));
        assert!(text.contains("Message-ID: <invite-h-abcdefghij@cairn.local>"));
        assert!(text.contains("welcome"));
    }
}
