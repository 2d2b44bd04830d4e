//! Instance profiles: a container for (at most) one role, named by its own ARN
//! (`arn:aws:iam::<account>:instance-profile<path><name>`), with tags.
//!
//! | space        | key                                    | value                |
//! |--------------|----------------------------------------|----------------------|
//! | `iam.iprof`  | `<account>/<lower name>`               | [`InstanceProfileRec`] |
//! | `iam.iprole` | `<account>/<lower role>/<lower profile>` | empty (the role's profiles) |

use crate::common::{
    Ctx, api_tags_opt, delete_conflict, fail, merge_tags, paginate, path_or_root, remove_tags,
    tag_page, ts,
};
use crate::records::{self, EntityKind, FORMAT, entity_key};
use crate::roles::role_api;
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

const PROFILES: &str = "iam.iprof";
const ROLE_PROFILES: &str = "iam.iprole";

/// AWS: an instance profile holds one role ("InstanceSessionsPerInstanceProfile", IAM User
/// Guide, "IAM object quotas").
const ROLES_PER_PROFILE: usize = 1;
/// AWS's default quota of instance profiles per account.
const PROFILES_QUOTA: u64 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InstanceProfileRec {
    pub v: u32,
    pub name: String,
    /// `AIPA…`
    pub id: String,
    pub path: String,
    pub created_ms: i64,
    /// The roles' names as created (at most one).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

fn arn(account: &str, r: &InstanceProfileRec) -> String {
    format!(
        "arn:aws:iam::{account}:instance-profile{}{}",
        r.path, r.name
    )
}

fn role_key(account: &str, role: &str, profile: &str) -> String {
    format!(
        "{account}/{}/{}",
        role.to_lowercase(),
        profile.to_lowercase()
    )
}

/// How many instance profiles the account has (`GetAccountSummary`).
pub(crate) fn count(tx: &mut dyn Tx, account: &str) -> Result<i32, StoreError> {
    Ok(i32::try_from(tx.count(PROFILES, format!("{account}/").as_bytes())?).unwrap_or(i32::MAX))
}

/// Whether the role is in an instance profile (`DeleteRole` refuses while it is).
pub(crate) fn role_in_profile(
    tx: &mut dyn Tx,
    account: &str,
    role: &str,
) -> Result<bool, StoreError> {
    let prefix = format!("{account}/{}/", role.to_lowercase());
    Ok(tx.count(ROLE_PROFILES, prefix.as_bytes())? > 0)
}

fn no_such_profile(name: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("Instance Profile {name} cannot be found."),
    )
}

fn require(tx: &mut dyn Tx, account: &str, name: &str) -> Result<InstanceProfileRec, Failure> {
    records::load(tx, PROFILES, &entity_key(account, name))?.ok_or_else(|| no_such_profile(name))
}

fn save(tx: &mut dyn Tx, account: &str, r: &InstanceProfileRec) -> Result<(), StoreError> {
    records::save(tx, PROFILES, &entity_key(account, &r.name), r)
}

/// The profile as IAM answers it, its roles described (`Roles` is always present).
fn api(
    tx: &mut dyn Tx,
    account: &str,
    r: &InstanceProfileRec,
    tags: bool,
) -> Result<types::InstanceProfile, Failure> {
    let mut roles = Vec::new();
    for name in &r.roles {
        if let Some(role) = records::role(tx, account, name)? {
            roles.push(role_api(account, &role, false));
        }
    }
    Ok(types::InstanceProfile {
        arn: arn(account, r),
        create_date: ts(r.created_ms),
        instance_profile_id: r.id.clone(),
        instance_profile_name: r.name.clone(),
        path: r.path.clone(),
        roles,
        tags: if tags { api_tags_opt(&r.tags) } else { None },
    })
}

pub(crate) fn create_instance_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateInstanceProfileRequest,
) -> Result<types::CreateInstanceProfileResponse, Failure> {
    let name = &input.instance_profile_name;
    if records::load::<InstanceProfileRec>(tx, PROFILES, &entity_key(&c.account, name))?.is_some() {
        return Err(fail(
            Error::EntityAlreadyExistsException,
            format!("Instance Profile {name} already exists."),
        ));
    }
    if tx.count(PROFILES, format!("{}/", c.account).as_bytes())? >= PROFILES_QUOTA {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for InstanceProfilesPerAccount: {PROFILES_QUOTA}"),
        ));
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags.as_deref().unwrap_or_default())?;
    let rec = InstanceProfileRec {
        v: FORMAT,
        name: name.clone(),
        id: c.unique_id("AIPA"),
        path: path_or_root(input.path.as_deref()),
        created_ms: c.now_ms,
        roles: Vec::new(),
        tags,
    };
    save(tx, &c.account, &rec)?;
    Ok(types::CreateInstanceProfileResponse {
        instance_profile: api(tx, &c.account, &rec, true)?,
    })
}

pub(crate) fn get_instance_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    name: &str,
) -> Result<types::GetInstanceProfileResponse, Failure> {
    let rec = require(tx, &c.account, name)?;
    Ok(types::GetInstanceProfileResponse {
        instance_profile: api(tx, &c.account, &rec, true)?,
    })
}

pub(crate) fn delete_instance_profile(tx: &mut dyn Tx, c: &Ctx, name: &str) -> Result<(), Failure> {
    let rec = require(tx, &c.account, name)?;
    if !rec.roles.is_empty() {
        return Err(delete_conflict("remove roles from instance profile"));
    }
    tx.delete(PROFILES, entity_key(&c.account, name).as_bytes())?;
    Ok(())
}

pub(crate) fn list_instance_profiles(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListInstanceProfilesRequest,
) -> Result<types::ListInstanceProfilesResponse, Failure> {
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let all: Vec<(String, InstanceProfileRec)> =
        records::load_all(tx, PROFILES, &format!("{}/", c.account))?;
    let mut items = Vec::new();
    for (k, r) in all.into_iter().filter(|(_, r)| r.path.starts_with(prefix)) {
        items.push((k, api(tx, &c.account, &r, false)?));
    }
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListInstanceProfilesResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        instance_profiles: page.items,
    })
}

/// The instance profiles a role is in, keyed by lower-cased profile name.
fn role_profiles(
    tx: &mut dyn Tx,
    account: &str,
    role: &str,
) -> Result<Vec<(String, types::InstanceProfile)>, Failure> {
    let prefix = format!("{account}/{}/", role.to_lowercase());
    let mut items = Vec::new();
    for profile in records::suffixes(tx, ROLE_PROFILES, &prefix)? {
        if let Some(r) =
            records::load::<InstanceProfileRec>(tx, PROFILES, &entity_key(account, &profile))?
        {
            items.push((profile, api(tx, account, &r, false)?));
        }
    }
    Ok(items)
}

/// The instance profiles a role is in (`GetAccountAuthorizationDetails`).
pub(crate) fn profiles_of_role(
    tx: &mut dyn Tx,
    account: &str,
    role: &str,
) -> Result<Vec<types::InstanceProfile>, Failure> {
    Ok(role_profiles(tx, account, role)?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

pub(crate) fn list_instance_profiles_for_role(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListInstanceProfilesForRoleRequest,
) -> Result<types::ListInstanceProfilesForRoleResponse, Failure> {
    records::role(tx, &c.account, &input.role_name)?
        .ok_or_else(|| crate::common::no_such(EntityKind::Role, &input.role_name))?;
    let items = role_profiles(tx, &c.account, &input.role_name)?;
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListInstanceProfilesForRoleResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        instance_profiles: page.items,
    })
}

pub(crate) fn add_role_to_instance_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::AddRoleToInstanceProfileRequest,
) -> Result<(), Failure> {
    let mut rec = require(tx, &c.account, &input.instance_profile_name)?;
    let role = records::role(tx, &c.account, &input.role_name)?
        .ok_or_else(|| crate::common::no_such(EntityKind::Role, &input.role_name))?;
    if rec.roles.iter().any(|r| r.eq_ignore_ascii_case(&role.name)) {
        return Err(fail(
            Error::EntityAlreadyExistsException,
            format!(
                "Role {} is already associated with instance profile {}.",
                role.name, rec.name
            ),
        ));
    }
    if rec.roles.len() >= ROLES_PER_PROFILE {
        return Err(fail(
            Error::LimitExceededException,
            format!(
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: {ROLES_PER_PROFILE}"
            ),
        ));
    }
    rec.roles.push(role.name.clone());
    save(tx, &c.account, &rec)?;
    tx.put(
        ROLE_PROFILES,
        role_key(&c.account, &role.name, &rec.name).as_bytes(),
        b"",
    )?;
    Ok(())
}

pub(crate) fn remove_role_from_instance_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::RemoveRoleFromInstanceProfileRequest,
) -> Result<(), Failure> {
    let mut rec = require(tx, &c.account, &input.instance_profile_name)?;
    let before = rec.roles.len();
    rec.roles
        .retain(|r| !r.eq_ignore_ascii_case(&input.role_name));
    if rec.roles.len() == before {
        return Err(fail(
            Error::NoSuchEntityException,
            format!(
                "Role {} in Instance Profile {} cannot be found.",
                input.role_name, rec.name
            ),
        ));
    }
    save(tx, &c.account, &rec)?;
    tx.delete(
        ROLE_PROFILES,
        role_key(&c.account, &input.role_name, &rec.name).as_bytes(),
    )?;
    Ok(())
}

pub(crate) fn tag_instance_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::TagInstanceProfileRequest,
) -> Result<(), Failure> {
    let mut rec = require(tx, &c.account, &input.instance_profile_name)?;
    merge_tags(&mut rec.tags, &input.tags)?;
    save(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn untag_instance_profile(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UntagInstanceProfileRequest,
) -> Result<(), Failure> {
    let mut rec = require(tx, &c.account, &input.instance_profile_name)?;
    remove_tags(&mut rec.tags, &input.tag_keys);
    save(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn list_instance_profile_tags(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListInstanceProfileTagsRequest,
) -> Result<types::ListInstanceProfileTagsResponse, Failure> {
    let rec = require(tx, &c.account, &input.instance_profile_name)?;
    let page = tag_page(&rec.tags, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListInstanceProfileTagsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        tags: page.items,
    })
}
