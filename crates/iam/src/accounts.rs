//! Accounts, their root users and access keys, in the store.
//!
//! Spaces: `iam.acct` (account id → [`Account`]), `iam.email` (lower-cased email → account
//! id, for uniqueness), `iam.akey` (access key id → [`AccessKey`]), `iam.akused` (access key
//! id → [`KeyLastUsed`], written lazily by the pipeline: see [`record_key_use`]).

use crate::seal::Sealer;
use cairn_core::{Ids, Principal};
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

const ACCOUNTS: &str = "iam.acct";
const EMAILS: &str = "iam.email";
const KEYS: &str = "iam.akey";
const KEY_USED: &str = "iam.akused";

/// Stored-format version of the records below.
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub v: u32,
    pub id: String,
    pub email: String,
    pub name: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum KeyOwner {
    Root,
    User {
        user_name: String,
        user_id: String,
        path: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub v: u32,
    pub access_key_id: String,
    pub account_id: String,
    pub owner: KeyOwner,
    /// Sealed secret access key.
    pub secret: String,
    pub active: bool,
    pub created_ms: i64,
}

/// A freshly minted key pair, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub email: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account with email {0} already exists")]
    EmailTaken(String),
    #[error("account {0} already exists")]
    IdTaken(String),
    #[error("could not seal the secret")]
    Seal,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt {what} record"))
}

pub fn get_account(tx: &mut dyn Tx, id: &str) -> Result<Option<Account>, StoreError> {
    match tx.get(ACCOUNTS, id.as_bytes())? {
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| corrupt("account")),
        None => Ok(None),
    }
}

pub fn list_accounts(tx: &mut dyn Tx) -> Result<Vec<Account>, StoreError> {
    tx.scan_prefix(ACCOUNTS, b"", false, usize::MAX)?
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v).map_err(|_| corrupt("account")))
        .collect()
}

/// Creates a standalone account with a root user and one root access key.
pub fn create_account(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    sealer: &Sealer,
    now_ms: i64,
    email: &str,
    name: &str,
    fixed_id: Option<&str>,
) -> Result<(Account, Credentials), AccountError> {
    let email_key = email.to_lowercase();
    if tx.get(EMAILS, email_key.as_bytes())?.is_some() {
        return Err(AccountError::EmailTaken(email.to_owned()));
    }
    let id = match fixed_id {
        Some(id) => {
            if tx.get(ACCOUNTS, id.as_bytes())?.is_some() {
                return Err(AccountError::IdTaken(id.to_owned()));
            }
            id.to_owned()
        }
        None => loop {
            // AWS account ids are 12 digits and never start with 0 in practice.
            let candidate = format!(
                "{}{}",
                1 + ids.digits(1).parse::<u8>().unwrap_or(0) % 9,
                ids.digits(11)
            );
            if tx.get(ACCOUNTS, candidate.as_bytes())?.is_none() {
                break candidate;
            }
        },
    };
    let account = Account {
        v: FORMAT,
        id: id.clone(),
        email: email.to_owned(),
        name: name.to_owned(),
        created_ms: now_ms,
    };
    let raw = serde_json::to_vec(&account).map_err(|_| corrupt("account"))?;
    tx.put(ACCOUNTS, id.as_bytes(), &raw)?;
    tx.put(EMAILS, email_key.as_bytes(), id.as_bytes())?;
    let creds = create_access_key(tx, ids, sealer, now_ms, &id, KeyOwner::Root, "AKIA")?;
    Ok((
        account,
        Credentials {
            account_id: id,
            access_key_id: creds.0,
            secret_access_key: creds.1,
            email: email.to_owned(),
        },
    ))
}

/// Mints an access key for `owner`; returns (access key id, secret).
pub fn create_access_key(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    sealer: &Sealer,
    now_ms: i64,
    account_id: &str,
    owner: KeyOwner,
    prefix: &str,
) -> Result<(String, String), AccountError> {
    let access_key_id = loop {
        let candidate = cairn_core::access_key_id(ids, prefix, account_id);
        if tx.get(KEYS, candidate.as_bytes())?.is_none() {
            break candidate;
        }
    };
    let secret = ids.secret();
    let mut nonce = [0u8; 12];
    ids.fill(&mut nonce);
    let sealed = sealer.seal(&secret, nonce).ok_or(AccountError::Seal)?;
    let key = AccessKey {
        v: FORMAT,
        access_key_id: access_key_id.clone(),
        account_id: account_id.to_owned(),
        owner,
        secret: sealed,
        active: true,
        created_ms: now_ms,
    };
    let raw = serde_json::to_vec(&key).map_err(|_| corrupt("access key"))?;
    tx.put(KEYS, access_key_id.as_bytes(), &raw)?;
    Ok((access_key_id, secret))
}

/// Resolves an access key id to its secret and principal; `None` if unknown or inactive.
pub fn resolve_access_key(
    tx: &mut dyn Tx,
    sealer: &Sealer,
    access_key_id: &str,
) -> Result<Option<(String, Principal)>, StoreError> {
    let Some(raw) = tx.get(KEYS, access_key_id.as_bytes())? else {
        return Ok(None);
    };
    let key: AccessKey = serde_json::from_slice(&raw).map_err(|_| corrupt("access key"))?;
    if !key.active {
        return Ok(None);
    }
    let Some(secret) = sealer.open(&key.secret) else {
        return Err(StoreError::Backend(String::from(
            "cannot unseal an access key: wrong master key for this database?",
        )));
    };
    let principal = match key.owner {
        KeyOwner::Root => Principal::Root {
            account_id: key.account_id,
            access_key_id: key.access_key_id,
            session: None,
        },
        KeyOwner::User {
            user_name,
            user_id,
            path,
        } => Principal::IamUser {
            account_id: key.account_id,
            user_name,
            user_id,
            path,
            access_key_id: key.access_key_id,
            session: None,
        },
    };
    Ok(Some((secret, principal)))
}

/// The stored access key record.
pub fn get_access_key(
    tx: &mut dyn Tx,
    access_key_id: &str,
) -> Result<Option<AccessKey>, StoreError> {
    match tx.get(KEYS, access_key_id.as_bytes())? {
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| corrupt("access key")),
        None => Ok(None),
    }
}

/// Replaces an access key record (status, owner after a rename).
pub fn put_access_key(tx: &mut dyn Tx, key: &AccessKey) -> Result<(), StoreError> {
    let raw = serde_json::to_vec(key).map_err(|_| corrupt("access key"))?;
    tx.put(KEYS, key.access_key_id.as_bytes(), &raw)
}

/// Deletes an access key (and what is known of its use); `true` if it existed.
pub fn delete_access_key(tx: &mut dyn Tx, access_key_id: &str) -> Result<bool, StoreError> {
    tx.delete(KEY_USED, access_key_id.as_bytes())?;
    tx.delete(KEYS, access_key_id.as_bytes())
}

/// The last authenticated use of a long-term access key, as `GetAccessKeyLastUsed` and the
/// credential report answer it. Approximate by design (AWS's is too): the pipeline writes it
/// at most once per key per interval, off the request path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLastUsed {
    pub v: u32,
    pub used_ms: i64,
    /// The signing name of the service called (`iam`, `sts`, `organizations`, …).
    pub service: String,
    pub region: String,
}

impl KeyLastUsed {
    pub fn new(used_ms: i64, service: &str, region: &str) -> Self {
        Self {
            v: FORMAT,
            used_ms,
            service: service.to_owned(),
            region: region.to_owned(),
        }
    }
}

/// Records a use of `access_key_id`, unless the key is gone (a write racing a delete must
/// not leave a row behind) or a later use is already recorded (writes from several
/// processes may arrive out of order). `true` if written.
pub fn record_key_use(
    tx: &mut dyn Tx,
    access_key_id: &str,
    used: &KeyLastUsed,
) -> Result<bool, StoreError> {
    if tx.get(KEYS, access_key_id.as_bytes())?.is_none() {
        return Ok(false);
    }
    if let Some(prev) = key_last_used(tx, access_key_id)?
        && prev.used_ms >= used.used_ms
    {
        return Ok(false);
    }
    let raw = serde_json::to_vec(used).map_err(|_| corrupt("access key use"))?;
    tx.put(KEY_USED, access_key_id.as_bytes(), &raw)?;
    Ok(true)
}

/// The last recorded use of `access_key_id`, if any.
pub fn key_last_used(
    tx: &mut dyn Tx,
    access_key_id: &str,
) -> Result<Option<KeyLastUsed>, StoreError> {
    match tx.get(KEY_USED, access_key_id.as_bytes())? {
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| corrupt("access key use")),
        None => Ok(None),
    }
}

/// The root user's access keys of `account`, by id. Root keys have no per-user index, so this
/// reads every key (root key management is rare).
pub fn root_access_keys(tx: &mut dyn Tx, account_id: &str) -> Result<Vec<AccessKey>, StoreError> {
    let mut out = Vec::new();
    for (_, raw) in tx.scan_prefix(KEYS, b"", false, usize::MAX)? {
        let key: AccessKey = serde_json::from_slice(&raw).map_err(|_| corrupt("access key"))?;
        if key.account_id == account_id && key.owner == KeyOwner::Root {
            out.push(key);
        }
    }
    Ok(out)
}
