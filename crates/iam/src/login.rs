//! Login profiles: an IAM user's console password, hashed with argon2id.
//!
//! | space       | key                       | value        |
//! |-------------|---------------------------|--------------|
//! | `iam.login` | `<account>/<lower user>`  | [`LoginRec`] |

use crate::account_settings::{check_password, password_policy};
use crate::common::{Ctx, fail, ts, validation};
use crate::records::{self, FORMAT, entity_key};
use crate::users::{named_or_caller, require_user};
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

pub(crate) const LOGIN: &str = "iam.login";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LoginRec {
    pub v: u32,
    /// The user's name as created.
    pub user: String,
    pub created_ms: i64,
    /// The argon2id hash in PHC string form (`$argon2id$v=19$m=…`).
    pub hash: String,
    pub reset_required: bool,
    #[serde(default)]
    pub max_signin_session_s: Option<i32>,
    /// Hashes of the passwords before this one, newest first, as many as a password policy
    /// may forbid reusing (24), for `PasswordReusePrevention`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<String>,
}

/// The most passwords `PasswordReusePrevention` may cover (API reference: 1–24).
const MAX_REMEMBERED: usize = 24;

/// The argon2id hash of `password` with a salt from the injected randomness (OWASP's
/// parameters, argon2's defaults: 19 MiB, two passes, one lane).
pub(crate) fn hash_password(c: &Ctx, password: &str) -> Result<String, Failure> {
    hash_password_with(c.ids.as_ref(), password)
}

/// [`hash_password`] with the randomness given (Identity Center's portal passwords).
pub fn hash_password_with(ids: &dyn cairn_core::Ids, password: &str) -> Result<String, Failure> {
    let mut salt = [0u8; 16];
    ids.fill(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|_| Failure(cairn_wire::ApiError::internal()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Failure(cairn_wire::ApiError::internal()))
}

std::thread_local! {
    /// argon2id's working memory (19 MiB at the default parameters), kept per thread from
    /// one verification to the next: a fresh allocation each time costs about as much kernel
    /// time, mapping and zeroing its pages, as the hash itself. A thread's buffer goes with
    /// it (tokio's blocking threads end after ten idle seconds).
    static ARGON2_BLOCKS: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` is the one `hash` (a PHC string: algorithm, version, parameters,
/// salt, output) was made from: the same computation as argon2's `verify_password`, on the
/// thread's reused working memory, compared in constant time.
pub fn verify_password(hash: &str, password: &str) -> bool {
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let Ok(params) = argon2::Params::try_from(&h) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(h.algorithm) else {
        return false;
    };
    let version = match h.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    let ctx = argon2::Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let hashed = ARGON2_BLOCKS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut memory) => {
            memory.resize(blocks, argon2::Block::default());
            ctx.hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut out,
                memory.as_mut_slice(),
            )
            .is_ok()
        }
        // Never re-entered; if it were, a buffer of its own.
        Err(_) => ctx
            .hash_password_into(password.as_bytes(), salt, &mut out)
            .is_ok(),
    });
    // `Output`'s equality is constant-time.
    hashed && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

pub(crate) fn login(
    tx: &mut dyn Tx,
    account: &str,
    user: &str,
) -> Result<Option<LoginRec>, StoreError> {
    records::load(tx, LOGIN, &entity_key(account, user))
}

/// Whether the user has a login profile (`DeleteUser` refuses while it does).
pub(crate) fn has_login(tx: &mut dyn Tx, account: &str, user: &str) -> Result<bool, StoreError> {
    Ok(tx
        .get(LOGIN, entity_key(account, user).as_bytes())?
        .is_some())
}

fn no_login(user: &str) -> Failure {
    // [M]: the text.
    fail(
        Error::NoSuchEntityException,
        format!("Login Profile for User {user} cannot be found."),
    )
}

/// A call about the root user's own password (no `UserName`, root credentials — in practice
/// an `sts:AssumeRoot` session auditing or deleting a member account's root credentials).
fn root_self(c: &Ctx, user_name: Option<&str>) -> bool {
    user_name.is_none() && c.principal.is_root()
}

/// Cairn's root users sign in with access keys only: none has a password (a console
/// password is not modelled), so its login profile is never found. [M]: the text.
fn no_root_password() -> Failure {
    no_login("root")
}

fn api(r: &LoginRec) -> types::LoginProfile {
    types::LoginProfile {
        create_date: ts(r.created_ms),
        max_signin_session_duration: r.max_signin_session_s,
        password_reset_required: Some(r.reset_required),
        user_name: r.user.clone(),
    }
}

pub(crate) fn create_login_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateLoginProfileRequest,
) -> Result<types::CreateLoginProfileResponse, Failure> {
    let name = named_or_caller(c, input.user_name.as_deref())?;
    let user = require_user(tx, &c.account, &name)?;
    // "It is required in all other cases" than an AssumeRoot session (API reference).
    let password = input
        .password
        .as_deref()
        .ok_or_else(|| validation("Password is required."))?;
    if login(tx, &c.account, &name)?.is_some() {
        // [M]: the text.
        return Err(fail(
            Error::EntityAlreadyExistsException,
            format!("Login Profile for user {} already exists.", user.name),
        ));
    }
    check_password(password_policy(tx, &c.account)?.as_ref(), password)?;
    let rec = LoginRec {
        v: FORMAT,
        user: user.name.clone(),
        created_ms: c.now_ms,
        hash: hash_password(c, password)?,
        reset_required: input.password_reset_required.unwrap_or(false),
        max_signin_session_s: input.max_signin_session_duration,
        previous: Vec::new(),
    };
    records::save(tx, LOGIN, &entity_key(&c.account, &name), &rec)?;
    Ok(types::CreateLoginProfileResponse {
        login_profile: api(&rec),
    })
}

pub(crate) fn get_login_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetLoginProfileRequest,
) -> Result<types::GetLoginProfileResponse, Failure> {
    if root_self(c, input.user_name.as_deref()) {
        return Err(no_root_password());
    }
    let name = named_or_caller(c, input.user_name.as_deref())?;
    require_user(tx, &c.account, &name)?;
    let rec = login(tx, &c.account, &name)?.ok_or_else(|| no_login(&name))?;
    Ok(types::GetLoginProfileResponse {
        login_profile: api(&rec),
    })
}

pub(crate) fn update_login_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateLoginProfileRequest,
) -> Result<(), Failure> {
    let name = &input.user_name;
    require_user(tx, &c.account, name)?;
    let mut rec = login(tx, &c.account, name)?.ok_or_else(|| no_login(name))?;
    if let Some(password) = &input.password {
        check_password(password_policy(tx, &c.account)?.as_ref(), password)?;
        rec.hash = hash_password(c, password)?;
    }
    if let Some(reset) = input.password_reset_required {
        rec.reset_required = reset;
    }
    if input.reset_max_signin_session_duration == Some(true) {
        rec.max_signin_session_s = None;
    } else if let Some(d) = input.max_signin_session_duration {
        rec.max_signin_session_s = Some(d);
    }
    records::save(tx, LOGIN, &entity_key(&c.account, name), &rec)?;
    Ok(())
}

/// `ChangePassword`: the calling IAM user changes their own console password (API
/// reference: "Changes the password of the IAM user who is calling this operation"; the
/// root user's password is not IAM's). The new password meets the account's password
/// policy, including `PasswordReusePrevention` (the current and previous passwords it
/// covers), and clears `PasswordResetRequired`.
pub(crate) fn change_password(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ChangePasswordRequest,
) -> Result<(), Failure> {
    let cairn_core::Principal::IamUser {
        user_name: name, ..
    } = &c.principal
    else {
        // [M]: the text.
        return Err(fail(
            Error::InvalidUserTypeException,
            "Only IAM users can change their own password.",
        ));
    };
    let name = name.clone();
    require_user(tx, &c.account, &name)?;
    let mut rec = login(tx, &c.account, &name)?.ok_or_else(|| no_login(&name))?;
    if !verify_password(&rec.hash, &input.old_password) {
        // [M]: the code and text AWS answers a wrong current password with.
        return Err(Failure(
            cairn_wire::CommonError::AccessDenied(String::from("The old password is incorrect."))
                .to_api_error(cairn_wire::model::Protocol::Query),
        ));
    }
    let policy = password_policy(tx, &c.account)?;
    check_password(policy.as_ref(), &input.new_password)?;
    let reuse = policy.as_ref().map_or(0, |p| {
        usize::try_from(p.reuse_prevention).unwrap_or(MAX_REMEMBERED)
    });
    if reuse > 0 {
        let reused = std::iter::once(&rec.hash)
            .chain(rec.previous.iter())
            .take(reuse)
            .any(|h| verify_password(h, &input.new_password));
        if reused {
            // The policy's refusal, as for the other rules (AWS names no rule).
            return Err(fail(
                Error::PasswordPolicyViolationException,
                "Password does not conform to the account password policy.",
            ));
        }
    }
    let old = std::mem::replace(&mut rec.hash, hash_password(c, &input.new_password)?);
    rec.previous.insert(0, old);
    rec.previous.truncate(MAX_REMEMBERED - 1);
    rec.reset_required = false;
    records::save(tx, LOGIN, &entity_key(&c.account, &name), &rec)?;
    Ok(())
}

pub(crate) fn delete_login_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeleteLoginProfileRequest,
) -> Result<(), Failure> {
    if root_self(c, input.user_name.as_deref()) {
        return Err(no_root_password());
    }
    let name = named_or_caller(c, input.user_name.as_deref())?;
    require_user(tx, &c.account, &name)?;
    if !tx.delete(LOGIN, entity_key(&c.account, &name).as_bytes())? {
        return Err(no_login(&name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let c = Ctx {
            account: "111122223333".into(),
            principal: cairn_core::Principal::Anonymous,
            now_ms: 0,
            ids: Arc::new(cairn_core::SeededIds::new(7)),
        };
        let h = hash_password(&c, "Correct-Horse-9").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify_password(&h, "Correct-Horse-9"));
        assert!(!verify_password(&h, "correct-horse-9"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(h, hash_password(&c, "Correct-Horse-9").unwrap(), "salted");
    }

    /// The reused-memory verification agrees with argon2's own, whatever the variant,
    /// version and parameters of the stored hash, and one thread's buffer serves hashes of
    /// different sizes one after the other.
    #[test]
    fn verification_on_reused_memory_agrees_with_argon2() {
        use argon2::password_hash::PasswordVerifier as _;
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let cases = [
            (
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                19_456,
                2,
                1,
            ),
            (argon2::Algorithm::Argon2i, argon2::Version::V0x10, 64, 3, 2),
            (
                argon2::Algorithm::Argon2d,
                argon2::Version::V0x13,
                256,
                1,
                1,
            ),
            (
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                19_456,
                2,
                1,
            ),
        ];
        for (alg, version, m, t, p) in cases {
            let params = argon2::Params::new(m, t, p, None).unwrap();
            let ctx = argon2::Argon2::new(alg, version, params);
            let h = ctx.hash_password(b"Correct-Horse-9", &salt).unwrap();
            let phc = h.to_string();
            assert!(ctx.verify_password(b"Correct-Horse-9", &h).is_ok());
            assert!(verify_password(&phc, "Correct-Horse-9"), "{phc}");
            assert!(!verify_password(&phc, "Correct-Horse-8"), "{phc}");
        }
    }
}
