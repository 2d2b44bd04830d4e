//! The emails Organizations sends: the verification email of an account made by
//! `CreateAccount` and the invitation of `InviteAccountToOrganization`.
//!
//! Delivery: over plain SMTP to `CAIRN_SMTP_URL` (`smtp://host:port`) when it is set, else
//! written as `<data-dir>/outbox/<millis>-<id>.eml`. Mail is sent after the transaction that
//! caused it committed, never inside one; a failure is logged and never fails the call.
//! Nothing is sent before [`configure`] ran (the binary calls it through
//! `accounts::spawn_job_runner`).

use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Sender of every message.
const FROM: &str = "Cairn Organizations <no-reply@cairn.local>";

#[derive(Debug, Clone)]
struct Config {
    smtp_url: Option<String>,
    outbox: PathBuf,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// Where mail goes: `CAIRN_SMTP_URL` if set, else `<data_dir>/outbox/`. The first call wins.
pub fn configure(data_dir: PathBuf) {
    let smtp_url = std::env::var("CAIRN_SMTP_URL")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let _ = CONFIG.set(Config {
        smtp_url,
        outbox: data_dir.join("outbox"),
    });
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Unique part of the outbox file name (a request or handshake ID).
    pub tag: String,
}

/// The verification email of an account `CreateAccount` made.
pub fn account_verification(email: &str, name: &str, account_id: &str, org_id: &str) -> Mail {
    Mail {
        to: email.to_owned(),
        subject: format!("Verify the email address of your new AWS account {account_id}"),
        body: format!(
            "Hello,\n\nThe AWS account \"{name}\" ({account_id}) was created for this email \
             address as a member of the organization {org_id}.\n\nNo password was set for its \
             root user; the organization's management account reaches it through the role \
             created with it.\n\n-- Cairn\n"
        ),
        tag: format!("verify-{account_id}"),
    }
}

/// The invitation of `InviteAccountToOrganization`.
pub fn invitation(
    email: &str,
    account_id: &str,
    org_id: &str,
    management_email: &str,
    handshake_id: &str,
    notes: Option<&str>,
) -> Mail {
    let notes = notes
        .filter(|n| !n.is_empty())
        .map(|n| format!("\nNotes from the sender:\n{n}\n"))
        .unwrap_or_default();
    Mail {
        to: email.to_owned(),
        subject: format!(
            "Your AWS account {account_id} is invited to join the organization {org_id}"
        ),
        body: format!(
            "Hello,\n\nThe management account of the organization {org_id} ({management_email}) \
             invites your AWS account {account_id} to join it.\n{notes}\nTo accept, call \
             AcceptHandshake with HandshakeId {handshake_id} using the credentials of account \
             {account_id} (aws organizations accept-handshake --handshake-id {handshake_id}); \
             to decline, DeclineHandshake. The invitation expires in 15 days.\n\n-- Cairn\n"
        ),
        tag: format!("invite-{handshake_id}"),
    }
}

/// Sends `mail` in the background (after the caller's commit). Without a configuration or a
/// Tokio runtime nothing is sent (logged at debug level).
pub fn send_later(mail: Mail) {
    let Some(config) = CONFIG.get().cloned() else {
        tracing::debug!(to = %mail.to, "mail not configured; not sending");
        return;
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(async move {
                if let Err(e) = deliver(&config, &mail).await {
                    tracing::warn!(to = %mail.to, subject = %mail.subject, error = %e, "sending mail failed");
                }
            });
        }
        Err(_) => tracing::debug!(to = %mail.to, "no runtime; mail not sent"),
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

async fn deliver(config: &Config, mail: &Mail) -> Result<(), String> {
    let message = build(mail)?;
    match &config.smtp_url {
        Some(url) => {
            let (host, port) = smtp_host_port(url)
                .ok_or_else(|| format!("CAIRN_SMTP_URL must be smtp://host[:port], got {url:?}"))?;
            let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .port(port)
                .build();
            transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP: {e}"))
        }
        None => {
            tokio::fs::create_dir_all(&config.outbox)
                .await
                .map_err(|e| format!("creating {}: {e}", config.outbox.display()))?;
            let millis = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0);
            let path = config.outbox.join(format!("{millis}-{}.eml", mail.tag));
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
    fn messages_build() {
        let m = invitation(
            "a@example.com",
            "111122223333",
            "o-abcdefghij",
            "boss@example.com",
            "h-abcdefghij",
            Some("welcome"),
        );
        let text = String::from_utf8(build(&m).unwrap().formatted()).unwrap();
        assert!(text.contains("To: a@example.com"));
        assert!(text.contains("h-abcdefghij"));
        assert!(text.contains("welcome"));
        let v = account_verification("b@example.com", "B", "222233334444", "o-abcdefghij");
        assert!(build(&v).is_ok());
    }
}
