//! IAM users: lifecycle, tags, permissions boundary.

use crate::accounts::{self, KeyOwner};
use crate::common::{
    Ctx, already_exists, api_tags_opt, delete_conflict, merge_tags, no_such, paginate,
    path_or_root, remove_tags, tag_page, ts, validation,
};
use crate::policies::{check_boundary, owned_counts, rename_owned, set_boundary_index};
use crate::records::{
    self, EntityKind, FORMAT, USER_KEYS, USERS, UserRec, entity_arn, entity_key, user_keys_prefix,
};
use cairn_api::iam::types;
use cairn_core::{Failure, Principal};
use cairn_store::{StoreError, Tx};

pub(crate) fn user_api(account: &str, r: &UserRec, detail: bool) -> types::User {
    types::User {
        arn: entity_arn(account, EntityKind::User, &r.path, &r.name),
        create_date: ts(r.created_ms),
        password_last_used: None,
        path: r.path.clone(),
        permissions_boundary: if detail {
            boundary_api(r.boundary.as_deref())
        } else {
            None
        },
        tags: if detail { api_tags_opt(&r.tags) } else { None },
        user_id: r.id.clone(),
        user_name: r.name.clone(),
    }
}

pub(crate) fn boundary_api(arn: Option<&str>) -> Option<types::AttachedPermissionsBoundary> {
    arn.map(|a| types::AttachedPermissionsBoundary {
        permissions_boundary_arn: Some(a.to_owned()),
        permissions_boundary_type: Some(
            types::PermissionsBoundaryAttachmentType::PermissionsBoundaryPolicy,
        ),
    })
}

pub(crate) fn require_user(tx: &mut dyn Tx, account: &str, name: &str) -> Result<UserRec, Failure> {
    records::user(tx, account, name)?.ok_or_else(|| no_such(EntityKind::User, name))
}

fn save_user(tx: &mut dyn Tx, account: &str, r: &UserRec) -> Result<(), StoreError> {
    records::save(tx, USERS, &entity_key(account, &r.name), r)
}

pub(crate) fn create_user(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateUserRequest,
) -> Result<types::CreateUserResponse, Failure> {
    let name = &input.user_name;
    if records::user(tx, &c.account, name)?.is_some() {
        return Err(already_exists(EntityKind::User, name));
    }
    if let Some(b) = &input.permissions_boundary {
        check_boundary(tx, &c.account, b)?;
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags.as_deref().unwrap_or_default())?;
    let rec = UserRec {
        v: FORMAT,
        name: name.clone(),
        id: c.unique_id("AIDA"),
        path: path_or_root(input.path.as_deref()),
        created_ms: c.now_ms,
        boundary: input.permissions_boundary.clone(),
        tags,
    };
    save_user(tx, &c.account, &rec)?;
    set_boundary_index(
        tx,
        &c.account,
        EntityKind::User,
        name,
        None,
        rec.boundary.as_deref(),
    )?;
    Ok(types::CreateUserResponse {
        user: Some(user_api(&c.account, &rec, true)),
    })
}

/// The user a call without `UserName` is about: the calling IAM user. Root and role
/// sessions have no IAM user.
pub(crate) fn caller_user_name(principal: &Principal) -> Result<Option<String>, Failure> {
    match principal {
        Principal::IamUser { user_name, .. } => Ok(Some(user_name.clone())),
        Principal::Root { .. } => Ok(None),
        _ => Err(validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

/// The user a call is about: the one named, or the calling IAM user (the API reference's
/// "defaults to the principal making the request"); the root and role sessions have none.
pub(crate) fn named_or_caller(c: &Ctx, name: Option<&str>) -> Result<String, Failure> {
    match name {
        Some(n) => Ok(n.to_owned()),
        None => caller_user_name(&c.principal)?.ok_or_else(|| {
            validation("Must specify userName when calling with non-User credentials")
        }),
    }
}

pub(crate) fn get_user(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetUserRequest,
) -> Result<types::GetUserResponse, Failure> {
    let name = match &input.user_name {
        Some(n) => n.clone(),
        None => match caller_user_name(&c.principal)? {
            Some(n) => n,
            None => {
                // The root user, as IAM describes it: the account id as its id.
                let created = accounts::get_account(tx, &c.account)?.map_or(0, |a| a.created_ms);
                return Ok(types::GetUserResponse {
                    user: types::User {
                        arn: format!("arn:aws:iam::{}:root", c.account),
                        create_date: ts(created),
                        user_id: c.account.clone(),
                        ..types::User::default()
                    },
                });
            }
        },
    };
    let rec = require_user(tx, &c.account, &name)?;
    Ok(types::GetUserResponse {
        user: user_api(&c.account, &rec, true),
    })
}

pub(crate) fn list_users(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListUsersRequest,
) -> Result<types::ListUsersResponse, Failure> {
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let all: Vec<(String, UserRec)> = records::load_all(tx, USERS, &format!("{}/", c.account))?;
    let items = all
        .into_iter()
        .filter(|(_, r)| r.path.starts_with(prefix))
        .map(|(k, r)| (k, user_api(&c.account, &r, false)))
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListUsersResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        users: page.items,
    })
}

pub(crate) fn update_user(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateUserRequest,
) -> Result<(), Failure> {
    let old = require_user(tx, &c.account, &input.user_name)?;
    let mut new = old.clone();
    if let Some(n) = &input.new_user_name {
        new.name = n.clone();
    }
    if let Some(p) = &input.new_path {
        new.path = p.clone();
    }
    let renamed = old.name.to_lowercase() != new.name.to_lowercase();
    if renamed {
        if records::user(tx, &c.account, &new.name)?.is_some() {
            return Err(already_exists(EntityKind::User, &new.name));
        }
        tx.delete(USERS, entity_key(&c.account, &old.name).as_bytes())?;
        rename_owned(
            tx,
            &c.account,
            EntityKind::User,
            &old.name,
            &new.name,
            old.boundary.as_deref(),
        )?;
        records::rename_memberships(tx, &c.account, EntityKind::User, &old.name, &new.name)?;
    }
    save_user(tx, &c.account, &new)?;
    // Access keys carry their owner's name and path (the authenticated principal).
    let old_prefix = user_keys_prefix(&c.account, &old.name);
    for akid in records::suffixes(tx, USER_KEYS, &old_prefix)? {
        if renamed {
            tx.delete(USER_KEYS, format!("{old_prefix}{akid}").as_bytes())?;
            tx.put(
                USER_KEYS,
                format!("{}{akid}", user_keys_prefix(&c.account, &new.name)).as_bytes(),
                b"",
            )?;
        }
        if let Some(mut key) = accounts::get_access_key(tx, &akid)? {
            key.owner = KeyOwner::User {
                user_name: new.name.clone(),
                user_id: new.id.clone(),
                path: new.path.clone(),
            };
            accounts::put_access_key(tx, &key)?;
        }
    }
    Ok(())
}

pub(crate) fn delete_user(tx: &mut dyn Tx, c: &Ctx, name: &str) -> Result<(), Failure> {
    let rec = require_user(tx, &c.account, name)?;
    // The password goes first among what DeleteUser requires deleted (API reference,
    // DeleteUser: password, access keys, … ); the text is `delete_conflict`'s.
    if crate::login::has_login(tx, &c.account, name)? {
        return Err(delete_conflict("delete login profile"));
    }
    if tx.count(USER_KEYS, user_keys_prefix(&c.account, name).as_bytes())? > 0 {
        return Err(delete_conflict("delete access keys"));
    }
    if crate::mfa::has_devices(tx, &c.account, name)? {
        return Err(delete_conflict("delete MFA device"));
    }
    // [M]: the text, and signing certificates' place in the order.
    if crate::certificates::has_signing_certificates(tx, &c.account, name)? {
        return Err(delete_conflict("delete signing certificates"));
    }
    if crate::ssh_keys::has_keys(tx, &c.account, name)? {
        return Err(delete_conflict("delete SSH public keys"));
    }
    if crate::service_credentials::has_credentials(tx, &c.account, name)? {
        return Err(delete_conflict("delete service specific credentials"));
    }
    let (inline, attached) = owned_counts(tx, &c.account, EntityKind::User, name)?;
    if inline > 0 {
        return Err(delete_conflict("delete policies"));
    }
    if attached > 0 {
        return Err(delete_conflict("detach all policies"));
    }
    if !records::groups_of(tx, &c.account, name)?.is_empty() {
        return Err(delete_conflict("remove users from group"));
    }
    set_boundary_index(
        tx,
        &c.account,
        EntityKind::User,
        name,
        rec.boundary.as_deref(),
        None,
    )?;
    tx.delete(USERS, entity_key(&c.account, name).as_bytes())?;
    Ok(())
}

pub(crate) fn tag_user(
    tx: &mut dyn Tx,
    c: &Ctx,
    name: &str,
    tags: &[types::Tag],
) -> Result<(), Failure> {
    let mut rec = require_user(tx, &c.account, name)?;
    merge_tags(&mut rec.tags, tags)?;
    save_user(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn untag_user(
    tx: &mut dyn Tx,
    c: &Ctx,
    name: &str,
    keys: &[String],
) -> Result<(), Failure> {
    let mut rec = require_user(tx, &c.account, name)?;
    remove_tags(&mut rec.tags, keys);
    save_user(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn list_user_tags(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListUserTagsRequest,
) -> Result<types::ListUserTagsResponse, Failure> {
    let rec = require_user(tx, &c.account, &input.user_name)?;
    let page = tag_page(&rec.tags, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListUserTagsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        tags: page.items,
    })
}

pub(crate) fn set_user_boundary(
    tx: &mut dyn Tx,
    c: &Ctx,
    name: &str,
    boundary: Option<&str>,
) -> Result<(), Failure> {
    let mut rec = require_user(tx, &c.account, name)?;
    if let Some(b) = boundary {
        check_boundary(tx, &c.account, b)?;
    }
    set_boundary_index(
        tx,
        &c.account,
        EntityKind::User,
        name,
        rec.boundary.as_deref(),
        boundary,
    )?;
    rec.boundary = boundary.map(str::to_owned);
    save_user(tx, &c.account, &rec)?;
    Ok(())
}
