//! The access portal's second factor: TOTP authenticator apps (RFC 6238: SHA-1, six digits,
//! 30-second steps — what authenticator apps and IAM's virtual MFA devices use), registered
//! at sign-in, asked for per the instance's MFA setting ([`PortalSettings`]). A sign-in that
//! passed the password but still owes the second factor is a *pending sign-in*, named by a
//! short-lived cookie; a browser that completed MFA is remembered for context-aware prompts.
//!
//! Spaces:
//! - `sso.mfa` — `<store>/<user id>` → [`MfaRec`] (the seed sealed with the master key);
//! - `sso.signin_pending` — `<hash>` → [`PendingRec`];
//! - `sso.trusted_browser` — `<store>/<user id>/<hash>` → expiry (epoch ms, decimal).

use crate::directory::UserRec;
use crate::model::{
    self, FORMAT, InstanceRec, MFA_ALWAYS_ON, MFA_DISABLED, NO_DEVICE_ALLOW, NO_DEVICE_BLOCK,
};
use crate::signin::{hash_secret, new_secret};
use cairn_core::{Failure, Ids};
use cairn_iam::Sealer;
use cairn_iam::mfa::{base32_decode, base32_encode, step_of, totp_code};
use cairn_store::Tx;
use cairn_wire::ApiError;
use serde::{Deserialize, Serialize};

pub const MFA_DEVICES: &str = "sso.mfa";
pub const PENDING: &str = "sso.signin_pending";
pub const TRUSTED: &str = "sso.trusted_browser";

/// A pending sign-in lasts 5 minutes [M: ours].
const PENDING_TTL_MS: i64 = 5 * 60 * 1000;
/// A browser that completed MFA is trusted for context-aware prompts this long [M: AWS
/// does not publish how long it remembers a sign-in context; ours].
pub const TRUST_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// Codes of the steps next to the current one are accepted (clock drift of ±30 s).
const WINDOW: i64 = 1;

/// A user's registered authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaRec {
    pub v: u32,
    /// The base32 seed, sealed.
    pub seed: String,
    pub registered_ms: i64,
    /// The last step a code was accepted for: a code is good once.
    pub last_step: i64,
}

/// A sign-in that passed the password and owes the second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRec {
    pub v: u32,
    pub instance_id: String,
    pub store: String,
    pub user_id: String,
    pub user_name: String,
    /// Where to go after signing in.
    pub next: String,
    pub expires_ms: i64,
    /// Registering: the new seed (base32, sealed), shown until a code from it is given.
    #[serde(default)]
    pub enroll_seed: Option<String>,
}

/// What a sign-in still needs after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing: sign in.
    Done,
    /// A code from the registered app.
    Verify,
    /// Register an app, then a code from it.
    Register,
    /// MFA is required and the user has no device: sign-in blocked.
    Blocked,
}

fn sealer_missing() -> Failure {
    tracing::error!("the portal has no master key to seal MFA seeds with");
    Failure(ApiError::internal())
}

pub fn device(tx: &mut dyn Tx, store: &str, user_id: &str) -> Result<Option<MfaRec>, Failure> {
    model::get_json(tx, MFA_DEVICES, &format!("{store}/{user_id}"))
}

fn trusted(
    tx: &mut dyn Tx,
    now_ms: i64,
    store: &str,
    user_id: &str,
    browser: Option<&str>,
) -> Result<bool, Failure> {
    let Some(b) = browser else { return Ok(false) };
    let key = format!("{store}/{user_id}/{}", hash_secret(b));
    Ok(tx
        .get(TRUSTED, key.as_bytes())?
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse::<i64>().ok())
        .is_some_and(|until| now_ms < until))
}

/// What the user's sign-in needs, per the instance's setting, given the browser's
/// remembered-context cookie.
pub fn next_step(
    tx: &mut dyn Tx,
    now_ms: i64,
    inst: &InstanceRec,
    user_id: &str,
    browser: Option<&str>,
) -> Result<Step, Failure> {
    let mode = inst.portal.mfa.as_str();
    if mode == MFA_DISABLED {
        return Ok(Step::Done);
    }
    if device(tx, &inst.store_id, user_id)?.is_some() {
        if mode != MFA_ALWAYS_ON && trusted(tx, now_ms, &inst.store_id, user_id, browser)? {
            return Ok(Step::Done);
        }
        return Ok(Step::Verify);
    }
    Ok(match inst.portal.without_device.as_str() {
        NO_DEVICE_ALLOW => Step::Done,
        NO_DEVICE_BLOCK => Step::Blocked,
        _ => Step::Register,
    })
}

/// Starts a pending sign-in; answers its cookie value.
#[allow(clippy::too_many_arguments, reason = "the parts of one sign-in, named")]
pub fn start_pending(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    sealer: Option<&Sealer>,
    now_ms: i64,
    inst: &InstanceRec,
    user: &UserRec,
    next: &str,
    register: bool,
) -> Result<String, Failure> {
    let enroll_seed = if register {
        let sealer = sealer.ok_or_else(sealer_missing)?;
        // A 160-bit seed (RFC 4226's recommended length), 32 base32 characters.
        let mut seed = [0u8; 20];
        ids.fill(&mut seed);
        let mut nonce = [0u8; 12];
        ids.fill(&mut nonce);
        Some(
            sealer
                .seal(&base32_encode(&seed), nonce)
                .ok_or_else(|| Failure(ApiError::internal()))?,
        )
    } else {
        None
    };
    let secret = new_secret(ids, 43);
    let rec = PendingRec {
        v: FORMAT,
        instance_id: inst.id.clone(),
        store: inst.store_id.clone(),
        user_id: user.id.clone(),
        user_name: user.user_name().unwrap_or_default().to_owned(),
        next: next.to_owned(),
        expires_ms: now_ms + PENDING_TTL_MS,
        enroll_seed,
    };
    model::put_json(tx, PENDING, &hash_secret(&secret), &rec)?;
    Ok(secret)
}

pub fn pending(tx: &mut dyn Tx, now_ms: i64, secret: &str) -> Result<Option<PendingRec>, Failure> {
    let rec: Option<PendingRec> = model::get_json(tx, PENDING, &hash_secret(secret))?;
    Ok(rec.filter(|r| now_ms < r.expires_ms))
}

/// The base32 seed a registering user is shown, and the `otpauth://` URI of its QR code.
pub fn enrollment(
    sealer: Option<&Sealer>,
    inst: &InstanceRec,
    p: &PendingRec,
) -> Result<Option<(String, String)>, Failure> {
    let Some(sealed) = &p.enroll_seed else {
        return Ok(None);
    };
    let sealer = sealer.ok_or_else(sealer_missing)?;
    let b32 = sealer
        .open(sealed)
        .ok_or_else(|| Failure(ApiError::internal()))?;
    // Key URI format (Google Authenticator's): issuer and account label, the secret.
    let label = format!("AWS SSO ({}):{}", inst.store_id, p.user_name);
    let uri = format!(
        "otpauth://totp/{}?secret={b32}&issuer={}",
        uri_escape(&label),
        uri_escape("AWS SSO")
    );
    Ok(Some((b32, uri)))
}

fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A PNG of the QR code of `uri`.
pub fn qr_png(uri: &str) -> Option<Vec<u8>> {
    cairn_iam::mfa::qr_png(uri)
}

/// How a code was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right: the pending sign-in is spent; the user signs in.
    Ok(PendingRec),
    Wrong,
    /// Wrong, and now (or already) locked out.
    Locked,
    /// No such pending sign-in (expired, spent).
    Gone,
}

/// Checks a code for a pending sign-in: against the seed being registered (which becomes
/// the user's device) or the registered device. Wrong codes count towards the lockout.
pub fn check_code(
    tx: &mut dyn Tx,
    sealer: Option<&Sealer>,
    now_ms: i64,
    secret: &str,
    code: &str,
) -> Result<CodeCheck, Failure> {
    let Some(p) = pending(tx, now_ms, secret)? else {
        return Ok(CodeCheck::Gone);
    };
    if crate::signin::is_locked(tx, now_ms, &p.store, &p.user_id)? {
        return Ok(CodeCheck::Locked);
    }
    let sealer = sealer.ok_or_else(sealer_missing)?;
    let code = code.trim();
    let center = step_of(now_ms);
    let (sealed, last_step, registering) = match (&p.enroll_seed, device(tx, &p.store, &p.user_id)?)
    {
        (Some(s), _) => (s.clone(), i64::MIN, true),
        (None, Some(d)) => (d.seed.clone(), d.last_step, false),
        (None, None) => return Ok(CodeCheck::Gone),
    };
    let seed = sealer
        .open(&sealed)
        .and_then(|b32| base32_decode(&b32))
        .ok_or_else(|| Failure(ApiError::internal()))?;
    let matched = (center - WINDOW..=center + WINDOW)
        .filter(|s| *s > last_step)
        .find(|s| code.len() == 6 && totp_code(&seed, *s) == code);
    let Some(step) = matched else {
        let locked = crate::signin::note_failure(tx, now_ms, &p.store, &p.user_id)?;
        return Ok(if locked {
            tx.delete(PENDING, hash_secret(secret).as_bytes())?;
            CodeCheck::Locked
        } else {
            CodeCheck::Wrong
        });
    };
    let rec = MfaRec {
        v: FORMAT,
        seed: sealed,
        registered_ms: if registering {
            now_ms
        } else {
            device(tx, &p.store, &p.user_id)?.map_or(now_ms, |d| d.registered_ms)
        },
        last_step: step,
    };
    model::put_json(tx, MFA_DEVICES, &format!("{}/{}", p.store, p.user_id), &rec)?;
    tx.delete(PENDING, hash_secret(secret).as_bytes())?;
    Ok(CodeCheck::Ok(p))
}

/// Remembers this browser for the user (context-aware prompts); answers the cookie value.
pub fn trust_browser(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    store: &str,
    user_id: &str,
) -> Result<String, Failure> {
    let secret = new_secret(ids, 43);
    tx.put(
        TRUSTED,
        format!("{store}/{user_id}/{}", hash_secret(&secret)).as_bytes(),
        (now_ms + TRUST_TTL_MS).to_string().as_bytes(),
    )?;
    Ok(secret)
}

/// Removes what MFA kept of a deleted user.
pub fn forget_user(tx: &mut dyn Tx, store: &str, user_id: &str) -> Result<(), Failure> {
    tx.delete(MFA_DEVICES, format!("{store}/{user_id}").as_bytes())?;
    let prefix = format!("{store}/{user_id}/");
    for (k, _) in tx.scan_prefix(TRUSTED, prefix.as_bytes(), false, usize::MAX)? {
        tx.delete(TRUSTED, &k)?;
    }
    Ok(())
}
