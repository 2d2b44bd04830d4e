//! The emails Organizations sends: the verification email of an account made by
//! `CreateAccount` and the invitation of `InviteAccountToOrganization`. Each is enqueued as a
//! mail job ([`enqueue`]) in the transaction of the change it reports; the binary delivers it
//! (`cairn_core::mail`).

pub use cairn_core::mail::{Mail, enqueue};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_they_are_about() {
        let m = invitation(
            "a@example.com",
            "111122223333",
            "o-abcdefghij",
            "boss@example.com",
            "h-abcdefghij",
            Some("welcome"),
        );
        assert_eq!(m.to, "a@example.com");
        assert!(m.body.contains("h-abcdefghij") && m.body.contains("welcome"));
        assert_eq!(m.tag, "invite-h-abcdefghij");
        let v = account_verification("b@example.com", "Dev", "444455556666", "o-abcdefghij");
        assert!(v.subject.contains("444455556666"));
        assert_eq!(v.tag, "verify-444455556666");
    }
}
