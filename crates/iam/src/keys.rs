//! Access keys of IAM users (and of the root user, for calls without `UserName`).

use crate::accounts::{self, AccessKey, AccountError, KeyOwner};
use crate::common::{Ctx, fail, paginate, ts};
use crate::records::{self, USER_KEYS, user_keys_prefix};
use crate::seal::Sealer;
use crate::users::{caller_user_name, require_user};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};

/// Most access keys per user (and for the root user).
pub(crate) const MAX_KEYS: usize = 2;

/// Whose keys a call manages: a named user, else the caller (IAM user or root).
enum Target {
    User {
        name: String,
        id: String,
        path: String,
    },
    Root,
}

fn target(tx: &mut dyn Tx, c: &Ctx, user_name: Option<&str>) -> Result<Target, Failure> {
    let name = match user_name {
        Some(n) => n.to_owned(),
        None => match caller_user_name(&c.principal)? {
            Some(n) => n,
            None => return Ok(Target::Root),
        },
    };
    let rec = require_user(tx, &c.account, &name)?;
    Ok(Target::User {
        name: rec.name,
        id: rec.id,
        path: rec.path,
    })
}

fn keys_of(tx: &mut dyn Tx, c: &Ctx, t: &Target) -> Result<Vec<AccessKey>, StoreError> {
    match t {
        Target::Root => accounts::root_access_keys(tx, &c.account),
        Target::User { name, .. } => {
            let mut out = Vec::new();
            for akid in records::suffixes(tx, USER_KEYS, &user_keys_prefix(&c.account, name))? {
                if let Some(k) = accounts::get_access_key(tx, &akid)? {
                    out.push(k);
                }
            }
            Ok(out)
        }
    }
}

fn owner_name(key: &AccessKey) -> Option<String> {
    match &key.owner {
        KeyOwner::User { user_name, .. } => Some(user_name.clone()),
        KeyOwner::Root => None,
    }
}

/// `Active` / `Inactive`, as IAM answers a credential's state.
pub(crate) fn status(active: bool) -> types::StatusType {
    if active {
        types::StatusType::Active
    } else {
        types::StatusType::Inactive
    }
}

fn no_such_key(id: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("The Access Key with id {id} cannot be found."),
    )
}

/// The key `id` if it belongs to the target.
fn owned_key(tx: &mut dyn Tx, c: &Ctx, t: &Target, id: &str) -> Result<AccessKey, Failure> {
    let key = accounts::get_access_key(tx, id)?.ok_or_else(|| no_such_key(id))?;
    let mine = key.account_id == c.account
        && match (t, &key.owner) {
            (Target::Root, KeyOwner::Root) => true,
            (Target::User { id: uid, .. }, KeyOwner::User { user_id, .. }) => uid == user_id,
            _ => false,
        };
    if !mine {
        return Err(no_such_key(id));
    }
    Ok(key)
}

pub(crate) fn create_access_key(
    tx: &mut dyn Tx,
    c: &Ctx,
    sealer: Option<&Sealer>,
    user_name: Option<&str>,
) -> Result<types::CreateAccessKeyResponse, Failure> {
    let t = target(tx, c, user_name)?;
    if keys_of(tx, c, &t)?.len() >= MAX_KEYS {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}"),
        ));
    }
    let Some(sealer) = sealer else {
        tracing::error!("no master key to seal a new access key with");
        return Err(fail(
            Error::ServiceFailureException,
            "The request processing has failed because of an unknown error, exception or failure.",
        ));
    };
    let (owner, user) = match &t {
        Target::Root => (KeyOwner::Root, String::new()),
        Target::User { name, id, path } => (
            KeyOwner::User {
                user_name: name.clone(),
                user_id: id.clone(),
                path: path.clone(),
            },
            name.clone(),
        ),
    };
    let (id, secret) = accounts::create_access_key(
        tx,
        c.ids.as_ref(),
        sealer,
        c.now_ms,
        &c.account,
        owner,
        "AKIA",
    )
    .map_err(|e| match e {
        AccountError::Store(s) => Failure::from(s),
        _ => Failure::from(StoreError::Backend(String::from(
            "cannot seal an access key",
        ))),
    })?;
    if let Target::User { name, .. } = &t {
        tx.put(
            USER_KEYS,
            format!("{}{id}", user_keys_prefix(&c.account, name)).as_bytes(),
            b"",
        )?;
    }
    Ok(types::CreateAccessKeyResponse {
        access_key: types::AccessKey {
            access_key_id: id,
            create_date: Some(ts(c.now_ms)),
            secret_access_key: secret,
            status: types::StatusType::Active,
            user_name: user,
        },
    })
}

pub(crate) fn list_access_keys(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListAccessKeysRequest,
) -> Result<types::ListAccessKeysResponse, Failure> {
    let t = target(tx, c, input.user_name.as_deref())?;
    let items = keys_of(tx, c, &t)?
        .into_iter()
        .map(|k| {
            let meta = types::AccessKeyMetadata {
                access_key_id: Some(k.access_key_id.clone()),
                create_date: Some(ts(k.created_ms)),
                status: Some(status(k.active)),
                user_name: owner_name(&k),
            };
            (k.access_key_id, meta)
        })
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListAccessKeysResponse {
        access_key_metadata: page.items,
        is_truncated: Some(page.marker.is_some()),
        marker: page.marker,
    })
}

pub(crate) fn update_access_key(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateAccessKeyRequest,
) -> Result<(), Failure> {
    let t = target(tx, c, input.user_name.as_deref())?;
    let mut key = owned_key(tx, c, &t, &input.access_key_id)?;
    key.active = input.status == types::StatusType::Active;
    accounts::put_access_key(tx, &key)?;
    Ok(())
}

pub(crate) fn delete_access_key(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeleteAccessKeyRequest,
) -> Result<(), Failure> {
    let t = target(tx, c, input.user_name.as_deref())?;
    let key = owned_key(tx, c, &t, &input.access_key_id)?;
    accounts::delete_access_key(tx, &key.access_key_id)?;
    if let Target::User { name, .. } = &t {
        tx.delete(
            USER_KEYS,
            format!(
                "{}{}",
                user_keys_prefix(&c.account, name),
                key.access_key_id
            )
            .as_bytes(),
        )?;
    }
    Ok(())
}

/// The key's last recorded use; a key never used answers IAM's `N/A` and no date.
pub(crate) fn get_access_key_last_used(
    tx: &mut dyn Tx,
    c: &Ctx,
    id: &str,
) -> Result<types::GetAccessKeyLastUsedResponse, Failure> {
    let key = accounts::get_access_key(tx, id)?
        .filter(|k| k.account_id == c.account)
        .ok_or_else(|| no_such_key(id))?;
    let used = accounts::key_last_used(tx, id)?;
    Ok(types::GetAccessKeyLastUsedResponse {
        access_key_last_used: Some(match used {
            Some(u) => types::AccessKeyLastUsed {
                last_used_date: Some(ts(u.used_ms)),
                region: u.region,
                service_name: u.service,
            },
            None => types::AccessKeyLastUsed {
                last_used_date: None,
                region: String::from("N/A"),
                service_name: String::from("N/A"),
            },
        }),
        user_name: Some(owner_name(&key).unwrap_or_else(|| String::from("root"))),
    })
}
