//! Signing in to the access portal: users' passwords (argon2id, Identity Center's password
//! rules), the one-time links that set them (invitation and reset emails), lockout after
//! repeated failures, and browser sessions (opaque cookies, stored hashed, with a CSRF
//! token, idle and absolute timeouts, revocable).
//!
//! Spaces (`<store>` is the identity store ID; `<hash>` the hex SHA-256 of a secret, so a
//! copy of the database holds no usable secret):
//! - `sso.password` — `<store>/<user id>` → [`PasswordRec`];
//! - `sso.setup_link` — `<hash>` → [`LinkRec`] (password setup and reset links);
//! - `sso.web_session` — `<hash>` → [`WebSessionRec`];
//! - `sso.user_session` — `<store>/<user id>/<hash>` → `""` (a user's sessions, to revoke).

use crate::directory::{self, UserRec};
use crate::model::{self, FORMAT, InstanceRec};
use cairn_core::{Failure, Ids};
use cairn_store::Tx;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const PASSWORDS: &str = "sso.password";
pub const SETUP_LINKS: &str = "sso.setup_link";
pub const WEB_SESSIONS: &str = "sso.web_session";
pub const USER_SESSIONS: &str = "sso.user_session";

/// Failed sign-ins in a row that lock a user out, and for how long. AWS locks an Identity
/// Center user after repeated failures and says so on the sign-in page [M: the count and
/// the duration are not published; these are ours].
pub const MAX_FAILURES: u32 = 5;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
/// How long a password setup link stays valid: seven days (User Guide, "Send email OTP …":
/// the invitation to set a password expires after 7 days).
pub const LINK_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// A browser session unused this long ends (ours: AWS states no idle timeout for the portal).
pub const IDLE_TTL_MS: i64 = 60 * 60 * 1000;
/// The passwords a user may not reuse (User Guide, "Password requirements when managing
/// identities in IAM Identity Center": "the last three passwords cannot be reused").
const REMEMBERED: usize = 3;

/// A user's password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordRec {
    pub v: u32,
    /// argon2id (PHC string); `None` until the user sets one.
    #[serde(default)]
    pub hash: Option<String>,
    #[serde(default)]
    pub previous: Vec<String>,
    pub set_ms: i64,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub locked_until_ms: Option<i64>,
}

/// A one-time link that sets a user's password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRec {
    pub v: u32,
    pub store: String,
    pub user_id: String,
    pub expires_ms: i64,
    /// `invitation` or `reset`.
    pub purpose: String,
}

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSessionRec {
    pub v: u32,
    pub instance_id: String,
    pub store: String,
    pub user_id: String,
    pub user_name: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    pub expires_ms: i64,
    /// The token every state-changing form of this session must carry.
    pub csrf: String,
}

pub fn hash_secret(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random secret for a cookie, link or token: 32 bytes, URL-safe.
pub fn new_secret(ids: &dyn Ids, len: usize) -> String {
    ids.pick(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        len,
    )
}

/// Identity Center's password rules (User Guide, "Password requirements when managing
/// identities in IAM Identity Center"): 8 to 64 characters, at least one lower-case letter,
/// one upper-case letter, one number and one non-alphanumeric character. The message is the
/// one the portal shows [M: wording ours].
pub fn check_rules(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    let ok = (8..=64).contains(&n)
        && password.chars().any(|c| c.is_ascii_lowercase())
        && password.chars().any(|c| c.is_ascii_uppercase())
        && password.chars().any(|c| c.is_ascii_digit())
        && password.chars().any(|c| !c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(
            "Passwords must be 8 to 64 characters long and contain at least one lower-case letter, one upper-case letter, one number and one non-alphanumeric character.",
        )
    }
}

pub fn password(
    tx: &mut dyn Tx,
    store: &str,
    user_id: &str,
) -> Result<Option<PasswordRec>, Failure> {
    model::get_json(tx, PASSWORDS, &format!("{store}/{user_id}"))
}

/// Creates a one-time link for `user`; answers the secret to put in the URL.
pub fn create_link(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    store: &str,
    user_id: &str,
    purpose: &str,
) -> Result<String, Failure> {
    let secret = new_secret(ids, 43);
    let rec = LinkRec {
        v: FORMAT,
        store: store.to_owned(),
        user_id: user_id.to_owned(),
        expires_ms: now_ms + LINK_TTL_MS,
        purpose: purpose.to_owned(),
    };
    model::put_json(tx, SETUP_LINKS, &hash_secret(&secret), &rec)?;
    Ok(secret)
}

/// The link behind `secret`, if it is current.
pub fn link(tx: &mut dyn Tx, now_ms: i64, secret: &str) -> Result<Option<LinkRec>, Failure> {
    let rec: Option<LinkRec> = model::get_json(tx, SETUP_LINKS, &hash_secret(secret))?;
    Ok(rec.filter(|r| now_ms < r.expires_ms))
}

/// Why a password could not be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// The link is unknown, used or expired.
    BadLink,
    Rules(&'static str),
    Reused,
}

/// Sets the password through a one-time link, consuming it, and ends the user's sessions
/// and tokens (a reset revokes what the old password opened).
pub fn set_password_with_link(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    secret: &str,
    new_password: &str,
) -> Result<Result<LinkRec, SetError>, Failure> {
    let Some(link) = link(tx, now_ms, secret)? else {
        return Ok(Err(SetError::BadLink));
    };
    if directory::user(tx, &link.store, &link.user_id)?.is_none() {
        return Ok(Err(SetError::BadLink));
    }
    if let Err(m) = check_rules(new_password) {
        return Ok(Err(SetError::Rules(m)));
    }
    let mut rec = password(tx, &link.store, &link.user_id)?.unwrap_or(PasswordRec {
        v: FORMAT,
        hash: None,
        previous: Vec::new(),
        set_ms: now_ms,
        failures: 0,
        locked_until_ms: None,
    });
    let reused = rec
        .hash
        .iter()
        .chain(rec.previous.iter())
        .any(|h| cairn_iam::login::verify_password(h, new_password));
    if reused {
        return Ok(Err(SetError::Reused));
    }
    let hash = cairn_iam::login::hash_password_with(ids, new_password)?;
    if let Some(old) = rec.hash.take() {
        rec.previous.insert(0, old);
        rec.previous.truncate(REMEMBERED - 1);
    }
    rec.hash = Some(hash);
    rec.set_ms = now_ms;
    rec.failures = 0;
    rec.locked_until_ms = None;
    model::put_json(
        tx,
        PASSWORDS,
        &format!("{}/{}", link.store, link.user_id),
        &rec,
    )?;
    tx.delete(SETUP_LINKS, hash_secret(secret).as_bytes())?;
    revoke_user(tx, &link.store, &link.user_id)?;
    Ok(Ok(link))
}

/// How a sign-in ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SignIn {
    Ok(UserRec),
    /// Unknown user, no password yet, or a wrong password (one answer for all three, so
    /// the page does not tell which user names exist).
    Failed,
    Locked,
}

/// A sign-in's password, read for verification. argon2id costs tens of milliseconds: the
/// portal verifies it outside any transaction, so that sign-ins do not hold the store's
/// writer, and then counts the outcome with [`count_password`]; five failures in a row lock
/// the user for [`LOCKOUT_MS`].
#[derive(Debug, Clone)]
pub enum PasswordCheck {
    /// Decided without the password: no such user, no password set, or locked.
    Decided(SignIn, Option<UserRec>),
    /// Verify the password against `hash` (`None`: the user has none, which fails and
    /// counts as a failure).
    Verify { user: UserRec, hash: Option<String> },
}

/// Reads what a sign-in of `user_name` needs to verify (a read transaction).
pub fn password_to_verify(
    tx: &mut dyn Tx,
    now_ms: i64,
    inst: &InstanceRec,
    user_name: &str,
) -> Result<PasswordCheck, Failure> {
    let store = inst.store_id.as_str();
    let Some(user) = directory::user_by_name(tx, store, user_name)? else {
        return Ok(PasswordCheck::Decided(SignIn::Failed, None));
    };
    let Some(rec) = password(tx, store, &user.id)? else {
        return Ok(PasswordCheck::Decided(SignIn::Failed, Some(user)));
    };
    if rec.locked_until_ms.is_some_and(|t| now_ms < t) {
        return Ok(PasswordCheck::Decided(SignIn::Locked, Some(user)));
    }
    Ok(PasswordCheck::Verify {
        user,
        hash: rec.hash,
    })
}

/// Counts a verified sign-in (a write transaction): a success clears the failure count, a
/// failure adds to it and the fifth locks the user. Read again here, the password record
/// decides against a verification that raced a change: a lockout since is a lockout, and
/// a password changed since fails the sign-in without counting.
pub fn count_password(
    tx: &mut dyn Tx,
    now_ms: i64,
    inst: &InstanceRec,
    check: PasswordCheck,
    verified: bool,
) -> Result<(SignIn, Option<UserRec>), Failure> {
    let (user, checked_hash) = match check {
        PasswordCheck::Decided(result, user) => return Ok((result, user)),
        PasswordCheck::Verify { user, hash } => (user, hash),
    };
    let store = inst.store_id.as_str();
    let key = format!("{store}/{}", user.id);
    let Some(mut rec) = password(tx, store, &user.id)? else {
        return Ok((SignIn::Failed, Some(user)));
    };
    if rec.locked_until_ms.is_some_and(|t| now_ms < t) {
        return Ok((SignIn::Locked, Some(user)));
    }
    if rec.hash != checked_hash {
        return Ok((SignIn::Failed, Some(user)));
    }
    if verified {
        if rec.failures != 0 || rec.locked_until_ms.is_some() {
            rec.failures = 0;
            rec.locked_until_ms = None;
            model::put_json(tx, PASSWORDS, &key, &rec)?;
        }
        return Ok((SignIn::Ok(user.clone()), Some(user)));
    }
    rec.failures += 1;
    let locked = rec.failures >= MAX_FAILURES;
    if locked {
        rec.failures = 0;
        rec.locked_until_ms = Some(now_ms + LOCKOUT_MS);
    }
    model::put_json(tx, PASSWORDS, &key, &rec)?;
    Ok((
        if locked {
            SignIn::Locked
        } else {
            SignIn::Failed
        },
        Some(user),
    ))
}

/// Counts a failed second factor towards the same lockout as passwords; answers whether the
/// user is now locked.
pub fn note_failure(
    tx: &mut dyn Tx,
    now_ms: i64,
    store: &str,
    user_id: &str,
) -> Result<bool, Failure> {
    let key = format!("{store}/{user_id}");
    let Some(mut rec) = password(tx, store, user_id)? else {
        return Ok(false);
    };
    rec.failures += 1;
    let locked = rec.failures >= MAX_FAILURES;
    if locked {
        rec.failures = 0;
        rec.locked_until_ms = Some(now_ms + LOCKOUT_MS);
    }
    model::put_json(tx, PASSWORDS, &key, &rec)?;
    Ok(locked)
}

/// Whether the user is locked out now.
pub fn is_locked(
    tx: &mut dyn Tx,
    now_ms: i64,
    store: &str,
    user_id: &str,
) -> Result<bool, Failure> {
    Ok(
        password(tx, store, user_id)?
            .is_some_and(|r| r.locked_until_ms.is_some_and(|t| now_ms < t)),
    )
}

/// Starts a browser session; answers the cookie value (shown once, stored hashed).
pub fn start_session(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    inst: &InstanceRec,
    user: &UserRec,
) -> Result<(String, WebSessionRec), Failure> {
    let secret = new_secret(ids, 43);
    let rec = WebSessionRec {
        v: FORMAT,
        instance_id: inst.id.clone(),
        store: inst.store_id.clone(),
        user_id: user.id.clone(),
        user_name: user.user_name().unwrap_or_default().to_owned(),
        created_ms: now_ms,
        last_seen_ms: now_ms,
        expires_ms: now_ms + inst.portal.session_duration_s * 1000,
        csrf: new_secret(ids, 32),
    };
    let h = hash_secret(&secret);
    model::put_json(tx, WEB_SESSIONS, &h, &rec)?;
    tx.put(
        USER_SESSIONS,
        format!("{}/{}/{h}", rec.store, rec.user_id).as_bytes(),
        b"",
    )?;
    Ok((secret, rec))
}

/// The session behind a cookie, if it is current (not expired, not idle too long, its user
/// still in the directory).
pub fn session(
    tx: &mut dyn Tx,
    now_ms: i64,
    cookie: &str,
) -> Result<Option<WebSessionRec>, Failure> {
    let rec: Option<WebSessionRec> = model::get_json(tx, WEB_SESSIONS, &hash_secret(cookie))?;
    let Some(rec) = rec else { return Ok(None) };
    if now_ms >= rec.expires_ms || now_ms - rec.last_seen_ms >= IDLE_TTL_MS {
        return Ok(None);
    }
    if directory::user(tx, &rec.store, &rec.user_id)?.is_none() {
        return Ok(None);
    }
    Ok(Some(rec))
}

/// Notes that the session was used (the idle timeout counts from here). Writes at most once
/// a minute per session.
pub fn touch(tx: &mut dyn Tx, now_ms: i64, cookie: &str) -> Result<(), Failure> {
    let h = hash_secret(cookie);
    let rec: Option<WebSessionRec> = model::get_json(tx, WEB_SESSIONS, &h)?;
    if let Some(mut rec) = rec
        && now_ms - rec.last_seen_ms >= 60_000
    {
        rec.last_seen_ms = now_ms;
        model::put_json(tx, WEB_SESSIONS, &h, &rec)?;
    }
    Ok(())
}

/// Ends one browser session (sign-out).
pub fn end_session(tx: &mut dyn Tx, cookie: &str) -> Result<(), Failure> {
    end_session_hash(tx, &hash_secret(cookie)).map(|_| ())
}

/// [`end_session`] by the cookie's stored hash; answers whether the session was there.
pub fn end_session_hash(tx: &mut dyn Tx, h: &str) -> Result<bool, Failure> {
    let rec: Option<WebSessionRec> = model::get_json(tx, WEB_SESSIONS, h)?;
    let found = rec.is_some();
    if let Some(rec) = rec {
        tx.delete(
            USER_SESSIONS,
            format!("{}/{}/{h}", rec.store, rec.user_id).as_bytes(),
        )?;
    }
    tx.delete(WEB_SESSIONS, h.as_bytes())?;
    Ok(found)
}

/// Ends every browser session and OIDC token of a user (password reset, user deleted).
pub fn revoke_user(tx: &mut dyn Tx, store: &str, user_id: &str) -> Result<(), Failure> {
    let prefix = format!("{store}/{user_id}/");
    for (k, _) in tx.scan_prefix(USER_SESSIONS, prefix.as_bytes(), false, usize::MAX)? {
        if let Some(h) = k.get(prefix.len()..) {
            tx.delete(WEB_SESSIONS, h)?;
        }
        tx.delete(USER_SESSIONS, &k)?;
    }
    crate::oidc::revoke_user_tokens(tx, store, user_id)
}

/// The start URL of an instance's access portal under `base` (`--public-url`).
pub fn start_url(base: &str, inst: &InstanceRec) -> String {
    format!("{}/start/{}", base.trim_end_matches('/'), inst.store_id)
}

/// Emails `user` a link to set their password (`invitation`: a new user; `reset`: a
/// forgotten password). Users without an email get none. The mail is a job in this
/// transaction: sent if and only if the change commits.
pub fn invite(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    inst: &InstanceRec,
    user: &UserRec,
    base: &str,
    purpose: &str,
) -> Result<(), Failure> {
    let Some(to) = user.emails().into_iter().next() else {
        return Ok(());
    };
    let secret = create_link(tx, ids, now_ms, &inst.store_id, &user.id, purpose)?;
    let start = start_url(base, inst);
    let link = format!("{start}/setup?token={secret}");
    let name = user.user_name().unwrap_or_default();
    let (subject, body) = if purpose == "reset" {
        (
            String::from("Reset your AWS IAM Identity Center password"),
            format!(
                "Hello {name},\n\nSomeone asked to reset the password of your user {name} at {start}.\nTo choose a new password, open this link within 7 days:\n\n{link}\n\nIf you did not ask for this, ignore this message.\n"
            ),
        )
    } else {
        (
            String::from("Invitation to join AWS IAM Identity Center"),
            format!(
                "Hello {name},\n\nYou have been invited to the AWS access portal at {start}.\nYour user name is: {name}\n\nTo accept the invitation and set your password, open this link within 7 days:\n\n{link}\n"
            ),
        )
    };
    let mail = cairn_core::mail::Mail {
        to,
        subject,
        body,
        tag: format!(
            "sso-{purpose}-{}",
            hash_secret(&secret).get(..16).unwrap_or_default()
        ),
    };
    cairn_core::mail::enqueue(tx, &mail, now_ms)?;
    Ok(())
}

/// Removes what signing in kept of a deleted user.
pub fn forget_user(tx: &mut dyn Tx, store: &str, user_id: &str) -> Result<(), Failure> {
    tx.delete(PASSWORDS, format!("{store}/{user_id}").as_bytes())?;
    crate::mfa::forget_user(tx, store, user_id)?;
    revoke_user(tx, store, user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules_are_identity_centers() {
        assert!(check_rules("Passw0rd!").is_ok());
        assert!(check_rules("short1!").is_err());
        assert!(check_rules("alllower1!").is_err());
        assert!(check_rules("ALLUPPER1!").is_err());
        assert!(check_rules("NoDigits!!").is_err());
        assert!(check_rules("NoSymbol12").is_err());
        assert!(check_rules(&format!("Aa1!{}", "x".repeat(61))).is_err());
        assert!(check_rules(&format!("Aa1!{}", "x".repeat(60))).is_ok());
    }
}
