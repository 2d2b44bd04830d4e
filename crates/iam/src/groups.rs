//! IAM groups and their members.

use crate::common::{
    Ctx, already_exists, delete_conflict, fail, no_such, paginate, path_or_root, ts,
};
use crate::policies::{owned_counts, rename_owned};
use crate::records::{
    self, EntityKind, FORMAT, GROUPS, GroupRec, MEMBER, entity_arn, entity_key, member_keys,
};
use crate::users::{require_user, user_api};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};

/// Most groups a user belongs to.
const MAX_GROUPS_PER_USER: usize = 10;

pub(crate) fn group_api(account: &str, r: &GroupRec) -> types::Group {
    types::Group {
        arn: entity_arn(account, EntityKind::Group, &r.path, &r.name),
        create_date: ts(r.created_ms),
        group_id: r.id.clone(),
        group_name: r.name.clone(),
        path: r.path.clone(),
    }
}

fn require_group(tx: &mut dyn Tx, account: &str, name: &str) -> Result<GroupRec, Failure> {
    records::group(tx, account, name)?.ok_or_else(|| no_such(EntityKind::Group, name))
}

fn save_group(tx: &mut dyn Tx, account: &str, r: &GroupRec) -> Result<(), StoreError> {
    records::save(tx, GROUPS, &entity_key(account, &r.name), r)
}

pub(crate) fn create_group(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateGroupRequest,
) -> Result<types::CreateGroupResponse, Failure> {
    let name = &input.group_name;
    if records::group(tx, &c.account, name)?.is_some() {
        return Err(already_exists(EntityKind::Group, name));
    }
    let rec = GroupRec {
        v: FORMAT,
        name: name.clone(),
        id: c.unique_id("AGPA"),
        path: path_or_root(input.path.as_deref()),
        created_ms: c.now_ms,
    };
    save_group(tx, &c.account, &rec)?;
    Ok(types::CreateGroupResponse {
        group: group_api(&c.account, &rec),
    })
}

pub(crate) fn get_group(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetGroupRequest,
) -> Result<types::GetGroupResponse, Failure> {
    let rec = require_group(tx, &c.account, &input.group_name)?;
    let mut users = Vec::new();
    for lname in records::members_of(tx, &c.account, &rec.name)? {
        if let Some(u) = records::user(tx, &c.account, &lname)? {
            users.push((lname, user_api(&c.account, &u, false)));
        }
    }
    let page = paginate(users, input.marker.as_deref(), input.max_items)?;
    Ok(types::GetGroupResponse {
        group: group_api(&c.account, &rec),
        is_truncated: page.truncated(),
        marker: page.marker,
        users: page.items,
    })
}

pub(crate) fn list_groups(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListGroupsRequest,
) -> Result<types::ListGroupsResponse, Failure> {
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let all: Vec<(String, GroupRec)> = records::load_all(tx, GROUPS, &format!("{}/", c.account))?;
    let items = all
        .into_iter()
        .filter(|(_, r)| r.path.starts_with(prefix))
        .map(|(k, r)| (k, group_api(&c.account, &r)))
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListGroupsResponse {
        groups: page.items,
        is_truncated: Some(page.marker.is_some()),
        marker: page.marker,
    })
}

pub(crate) fn update_group(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateGroupRequest,
) -> Result<(), Failure> {
    let old = require_group(tx, &c.account, &input.group_name)?;
    let mut new = old.clone();
    if let Some(n) = &input.new_group_name {
        new.name = n.clone();
    }
    if let Some(p) = &input.new_path {
        new.path = p.clone();
    }
    if old.name.to_lowercase() != new.name.to_lowercase() {
        if records::group(tx, &c.account, &new.name)?.is_some() {
            return Err(already_exists(EntityKind::Group, &new.name));
        }
        tx.delete(GROUPS, entity_key(&c.account, &old.name).as_bytes())?;
        rename_owned(
            tx,
            &c.account,
            EntityKind::Group,
            &old.name,
            &new.name,
            None,
        )?;
        records::rename_memberships(tx, &c.account, EntityKind::Group, &old.name, &new.name)?;
    }
    save_group(tx, &c.account, &new)?;
    Ok(())
}

pub(crate) fn delete_group(tx: &mut dyn Tx, c: &Ctx, name: &str) -> Result<(), Failure> {
    require_group(tx, &c.account, name)?;
    if !records::members_of(tx, &c.account, name)?.is_empty() {
        return Err(delete_conflict("remove users from group"));
    }
    let (inline, attached) = owned_counts(tx, &c.account, EntityKind::Group, name)?;
    if inline > 0 {
        return Err(delete_conflict("delete policies"));
    }
    if attached > 0 {
        return Err(delete_conflict("detach all policies"));
    }
    tx.delete(GROUPS, entity_key(&c.account, name).as_bytes())?;
    Ok(())
}

pub(crate) fn add_user_to_group(
    tx: &mut dyn Tx,
    c: &Ctx,
    group: &str,
    user: &str,
) -> Result<(), Failure> {
    require_group(tx, &c.account, group)?;
    require_user(tx, &c.account, user)?;
    let (by_user, by_group) = member_keys(&c.account, user, group);
    if tx.get(MEMBER, by_user.as_bytes())?.is_some() {
        return Ok(());
    }
    if records::groups_of(tx, &c.account, user)?.len() >= MAX_GROUPS_PER_USER {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}"),
        ));
    }
    tx.put(MEMBER, by_user.as_bytes(), b"")?;
    tx.put(MEMBER, by_group.as_bytes(), b"")?;
    Ok(())
}

pub(crate) fn remove_user_from_group(
    tx: &mut dyn Tx,
    c: &Ctx,
    group: &str,
    user: &str,
) -> Result<(), Failure> {
    require_group(tx, &c.account, group)?;
    require_user(tx, &c.account, user)?;
    let (by_user, by_group) = member_keys(&c.account, user, group);
    if !tx.delete(MEMBER, by_user.as_bytes())? {
        return Err(no_such(EntityKind::User, user));
    }
    tx.delete(MEMBER, by_group.as_bytes())?;
    Ok(())
}

pub(crate) fn list_groups_for_user(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListGroupsForUserRequest,
) -> Result<types::ListGroupsForUserResponse, Failure> {
    let user = require_user(tx, &c.account, &input.user_name)?;
    let mut items = Vec::new();
    for lname in records::groups_of(tx, &c.account, &user.name)? {
        if let Some(g) = records::group(tx, &c.account, &lname)? {
            items.push((lname, group_api(&c.account, &g)));
        }
    }
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListGroupsForUserResponse {
        groups: page.items,
        is_truncated: Some(page.marker.is_some()),
        marker: page.marker,
    })
}
