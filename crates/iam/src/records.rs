//! Stored IAM entities (users, groups, roles, inline and managed policies) and their indexes.
//!
//! Everything is per account. IAM names are unique case-insensitively but keep the case they
//! were given, so keys hold the lower-cased name and records the original:
//!
//! | space           | key                                   | value              |
//! |-----------------|---------------------------------------|--------------------|
//! | `iam.user`      | `<account>/<name>`                    | [`UserRec`]        |
//! | `iam.group`     | `<account>/<name>`                    | [`GroupRec`]       |
//! | `iam.role`      | `<account>/<name>`                    | [`RoleRec`]        |
//! | `iam.policy`    | `<account>/<name>` (customer managed) | [`PolicyRec`]      |
//! | `iam.inline`    | `<account>/<k>/<entity>/<policy name>`| [`InlineRec`]      |
//! | `iam.attach`    | `<account>/<k>/<entity>/<policy arn>` | empty              |
//! | `iam.attached`  | `<account>/<policy arn>\|<k>/<entity>` | empty (reverse)    |
//! | `iam.boundary`  | `<account>/<policy arn>\|<k>/<entity>` | empty (boundaries) |
//! | `iam.member`    | `<account>/u/<user>/<group>` and `<account>/g/<group>/<user>` | empty |
//! | `iam.ukey`      | `<account>/<user>/<access key id>`    | empty              |
//!
//! `<k>` is `u`, `g` or `r`; `<entity>` and `<name>` are lower-cased. Names never contain `/`
//! or `|`, so every prefix above is unambiguous.

use cairn_store::{StoreError, Tx};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub(crate) const USERS: &str = "iam.user";
pub(crate) const GROUPS: &str = "iam.group";
pub(crate) const ROLES: &str = "iam.role";
pub(crate) const POLICIES: &str = "iam.policy";
pub(crate) const INLINE: &str = "iam.inline";
pub(crate) const ATTACH: &str = "iam.attach";
pub(crate) const ATTACHED: &str = "iam.attached";
pub(crate) const BOUNDARY: &str = "iam.boundary";
pub(crate) const MEMBER: &str = "iam.member";
pub(crate) const USER_KEYS: &str = "iam.ukey";

/// Stored-format version of the records below.
pub(crate) const FORMAT: u32 = 1;

/// A user, group or role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    User,
    Group,
    Role,
}

impl EntityKind {
    pub(crate) fn letter(self) -> &'static str {
        match self {
            Self::User => "u",
            Self::Group => "g",
            Self::Role => "r",
        }
    }

    /// The ARN resource type (`user`, `group`, `role`).
    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Role => "role",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserRec {
    pub v: u32,
    pub name: String,
    pub id: String,
    pub path: String,
    pub created_ms: i64,
    #[serde(default)]
    pub boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupRec {
    pub v: u32,
    pub name: String,
    pub id: String,
    pub path: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RoleRec {
    pub v: u32,
    pub name: String,
    pub id: String,
    pub path: String,
    pub created_ms: i64,
    /// The trust policy document as given.
    pub trust: String,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session_s: i64,
    #[serde(default)]
    pub boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The role template the role was made from (`AcquireRole`); absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::templates::SourceRec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InlineRec {
    pub v: u32,
    pub name: String,
    pub document: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VersionRec {
    /// `v<n>`.
    pub n: u32,
    pub document: String,
    pub created_ms: i64,
}

/// A customer managed policy with its versions (at most five).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PolicyRec {
    pub v: u32,
    pub name: String,
    pub id: String,
    pub path: String,
    #[serde(default)]
    pub description: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub default_version: u32,
    pub next_version: u32,
    pub versions: Vec<VersionRec>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

impl PolicyRec {
    pub(crate) fn default_document(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| v.n == self.default_version)
            .map(|v| v.document.as_str())
    }
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt {what} record"))
}

pub(crate) fn load<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    space: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match tx.get(space, key.as_bytes())? {
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| corrupt(space)),
        None => Ok(None),
    }
}

pub(crate) fn save<T: Serialize>(
    tx: &mut dyn Tx,
    space: &str,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    let raw = serde_json::to_vec(value).map_err(|_| corrupt(space))?;
    tx.put(space, key.as_bytes(), &raw)
}

/// Every record under `prefix`, in key order, with the key suffix after the prefix.
pub(crate) fn load_all<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    space: &str,
    prefix: &str,
) -> Result<Vec<(String, T)>, StoreError> {
    tx.scan_prefix(space, prefix.as_bytes(), false, usize::MAX)?
        .into_iter()
        .map(|(k, v)| {
            let rest =
                String::from_utf8_lossy(k.get(prefix.len()..).unwrap_or_default()).into_owned();
            serde_json::from_slice(&v)
                .map(|rec| (rest, rec))
                .map_err(|_| corrupt(space))
        })
        .collect()
}

/// The key suffixes (after `prefix`) of every key under `prefix`, in key order.
pub(crate) fn suffixes(
    tx: &mut dyn Tx,
    space: &str,
    prefix: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(tx
        .scan_prefix(space, prefix.as_bytes(), false, usize::MAX)?
        .into_iter()
        .map(|(k, _)| {
            String::from_utf8_lossy(k.get(prefix.len()..).unwrap_or_default()).into_owned()
        })
        .collect())
}

// ------------------------------------------------------------------------------------ keys

/// `<account>/<lower name>`.
pub(crate) fn entity_key(account: &str, name: &str) -> String {
    format!("{account}/{}", name.to_lowercase())
}

/// `<account>/<k>/<lower entity>/` — the prefix of an entity's inline policies or attachments.
pub(crate) fn owned_prefix(account: &str, kind: EntityKind, name: &str) -> String {
    format!("{account}/{}/{}/", kind.letter(), name.to_lowercase())
}

/// `<account>/<policy arn>|` — the prefix of a policy's attachments (or boundary uses).
pub(crate) fn usage_prefix(account: &str, arn: &str) -> String {
    format!("{account}/{arn}|")
}

/// `<account>/<policy arn>|<k>/<lower entity>`.
pub(crate) fn usage_key(account: &str, arn: &str, kind: EntityKind, name: &str) -> String {
    format!("{account}/{arn}|{}/{}", kind.letter(), name.to_lowercase())
}

/// Splits a usage key suffix (`<k>/<lower entity>`) into kind and lower-cased name.
pub(crate) fn parse_usage_suffix(suffix: &str) -> Option<(EntityKind, &str)> {
    let (k, name) = suffix.split_once('/')?;
    let kind = match k {
        "u" => EntityKind::User,
        "g" => EntityKind::Group,
        "r" => EntityKind::Role,
        _ => return None,
    };
    Some((kind, name))
}

// --------------------------------------------------------------------------------- lookups

pub(crate) fn user(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
) -> Result<Option<UserRec>, StoreError> {
    load(tx, USERS, &entity_key(account, name))
}

pub(crate) fn group(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
) -> Result<Option<GroupRec>, StoreError> {
    load(tx, GROUPS, &entity_key(account, name))
}

pub(crate) fn role(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
) -> Result<Option<RoleRec>, StoreError> {
    load(tx, ROLES, &entity_key(account, name))
}

/// The inline policies of an entity, by name.
pub(crate) fn inline_policies(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    name: &str,
) -> Result<Vec<InlineRec>, StoreError> {
    Ok(
        load_all::<InlineRec>(tx, INLINE, &owned_prefix(account, kind, name))?
            .into_iter()
            .map(|(_, rec)| rec)
            .collect(),
    )
}

/// The ARNs of the managed policies attached to an entity, in key order.
pub(crate) fn attached_arns(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    name: &str,
) -> Result<Vec<String>, StoreError> {
    suffixes(tx, ATTACH, &owned_prefix(account, kind, name))
}

/// The lower-cased names of the groups a user belongs to.
pub(crate) fn groups_of(
    tx: &mut dyn Tx,
    account: &str,
    user: &str,
) -> Result<Vec<String>, StoreError> {
    suffixes(tx, MEMBER, &owned_prefix(account, EntityKind::User, user))
}

/// The lower-cased names of a group's members.
pub(crate) fn members_of(
    tx: &mut dyn Tx,
    account: &str,
    group: &str,
) -> Result<Vec<String>, StoreError> {
    suffixes(tx, MEMBER, &owned_prefix(account, EntityKind::Group, group))
}

/// The parts of a managed policy ARN: (`aws` or account id, path, name).
pub(crate) fn parse_policy_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_name = resource.strip_prefix("policy")?;
    if !path_name.starts_with('/') {
        return None;
    }
    let cut = path_name.rfind('/')?;
    let (path, name) = path_name.split_at(cut + 1);
    if name.is_empty() || account.is_empty() {
        return None;
    }
    Some((account, path, name))
}

/// The customer managed policy an ARN names, if it exists (path included).
pub(crate) fn customer_policy(tx: &mut dyn Tx, arn: &str) -> Result<Option<PolicyRec>, StoreError> {
    let Some((account, path, name)) = parse_policy_arn(arn) else {
        return Ok(None);
    };
    if account == "aws" {
        return Ok(None);
    }
    let rec: Option<PolicyRec> = load(tx, POLICIES, &entity_key(account, name))?;
    Ok(rec.filter(|p| p.path == path && p.name == name))
}

/// `arn:aws:iam::<account>:<word><path><name>`.
pub(crate) fn entity_arn(account: &str, kind: EntityKind, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{}{path}{name}", kind.word())
}

pub(crate) fn policy_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:policy{path}{name}")
}

/// `<account>/u/<user>/<group>` and its mirror `<account>/g/<group>/<user>`.
pub(crate) fn member_keys(account: &str, user: &str, group: &str) -> (String, String) {
    (
        format!(
            "{}{}",
            owned_prefix(account, EntityKind::User, user),
            group.to_lowercase()
        ),
        format!(
            "{}{}",
            owned_prefix(account, EntityKind::Group, group),
            user.to_lowercase()
        ),
    )
}

/// Moves the group memberships of a renamed user (or the members of a renamed group).
pub(crate) fn rename_memberships(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    old: &str,
    new: &str,
) -> Result<(), StoreError> {
    let others = suffixes(tx, MEMBER, &owned_prefix(account, kind, old))?;
    for other in others {
        let (old_pair, new_pair) = match kind {
            EntityKind::Group => (
                member_keys(account, &other, old),
                member_keys(account, &other, new),
            ),
            _ => (
                member_keys(account, old, &other),
                member_keys(account, new, &other),
            ),
        };
        tx.delete(MEMBER, old_pair.0.as_bytes())?;
        tx.delete(MEMBER, old_pair.1.as_bytes())?;
        tx.put(MEMBER, new_pair.0.as_bytes(), b"")?;
        tx.put(MEMBER, new_pair.1.as_bytes(), b"")?;
    }
    Ok(())
}

/// `<account>/<user>/` — the prefix of a user's access key index.
pub(crate) fn user_keys_prefix(account: &str, user: &str) -> String {
    format!("{account}/{}/", user.to_lowercase())
}
