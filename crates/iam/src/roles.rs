//! IAM roles: lifecycle, trust policy, tags, permissions boundary.

use crate::common::{
    Ctx, already_exists, api_tags_opt, delete_conflict, fail, merge_tags, no_such, paginate,
    path_or_root, policy_size, remove_tags, tag_page, ts, url_encode,
};
use crate::policies::{attach_in, check_boundary, owned_counts, set_boundary_index};
use crate::records::{self, EntityKind, FORMAT, ROLES, RoleRec, entity_arn, entity_key};
use crate::users::boundary_api;
use cairn_api::iam::{Error, types};
use cairn_core::{Failure, Ids};
use cairn_policy::{Policy, PolicyKind};
use cairn_store::{StoreError, Tx};

/// Largest trust policy (non-whitespace characters), IAM's default `ACLSizePerRole`.
pub(crate) const TRUST_POLICY_SIZE: usize = 2_048;
/// Session duration bounds and default, in seconds.
pub(crate) const DEFAULT_MAX_SESSION_S: i64 = 3_600;
const MAX_MAX_SESSION_S: i64 = 43_200;

/// `detail`: `GetRole`/`CreateRole` shape (tags, boundary, last used); `ListRoles` leaves those out.
pub(crate) fn role_api(account: &str, r: &RoleRec, detail: bool) -> types::Role {
    types::Role {
        arn: entity_arn(account, EntityKind::Role, &r.path, &r.name),
        assume_role_policy_document: Some(url_encode(&r.trust)),
        create_date: ts(r.created_ms),
        description: r.description.clone(),
        max_session_duration: Some(i32::try_from(r.max_session_s).unwrap_or(i32::MAX)),
        max_signin_session_duration: None,
        path: r.path.clone(),
        permissions_boundary: if detail {
            boundary_api(r.boundary.as_deref())
        } else {
            None
        },
        role_id: r.id.clone(),
        role_last_used: detail.then(types::RoleLastUsed::default),
        role_name: r.name.clone(),
        source_role_template: r.source.as_ref().map(crate::templates::source_api),
        tags: if detail { api_tags_opt(&r.tags) } else { None },
    }
}

fn require_role(tx: &mut dyn Tx, account: &str, name: &str) -> Result<RoleRec, Failure> {
    records::role(tx, account, name)?.ok_or_else(|| no_such(EntityKind::Role, name))
}

/// A role the IAM API may change: not a service's reserved one (`/aws-reserved/`).
fn require_mutable_role(tx: &mut dyn Tx, account: &str, name: &str) -> Result<RoleRec, Failure> {
    crate::reserved::check_mutable(tx, account, name)?;
    require_role(tx, account, name)
}

/// A role whose description the IAM API may change: service-linked roles' too.
fn require_describable_role(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
) -> Result<RoleRec, Failure> {
    crate::reserved::check_describable(tx, account, name)?;
    require_role(tx, account, name)
}

fn save_role(tx: &mut dyn Tx, account: &str, r: &RoleRec) -> Result<(), StoreError> {
    records::save(tx, ROLES, &entity_key(account, &r.name), r)
}

/// Validates a trust policy (`arn`: the role's, naming the policy in decisions).
pub(crate) fn check_trust(arn: &str, document: &str) -> Result<Policy, Failure> {
    if policy_size(document) > TRUST_POLICY_SIZE {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_SIZE}"),
        ));
    }
    Policy::parse(arn, document, PolicyKind::RoleTrust)
        .map_err(|e| fail(Error::MalformedPolicyDocumentException, e.message()))
}

/// What a new role is made of.
pub(crate) struct NewRole<'a> {
    pub name: &'a str,
    pub path: &'a str,
    pub trust: &'a str,
    pub description: Option<&'a str>,
    pub max_session_s: i64,
    pub boundary: Option<&'a str>,
    pub tags: &'a [types::Tag],
    pub attach: &'a [&'a str],
}

/// Creates a role inside a transaction.
pub(crate) fn create_role_tx(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    account: &str,
    spec: &NewRole<'_>,
) -> Result<RoleRec, Failure> {
    if records::role(tx, account, spec.name)?.is_some() {
        return Err(already_exists(EntityKind::Role, spec.name));
    }
    if !(DEFAULT_MAX_SESSION_S..=MAX_MAX_SESSION_S).contains(&spec.max_session_s) {
        return Err(fail(
            Error::InvalidInputException,
            "The requested MaxSessionDuration is not valid.",
        ));
    }
    check_trust(
        &entity_arn(account, EntityKind::Role, spec.path, spec.name),
        spec.trust,
    )?;
    if let Some(b) = spec.boundary {
        check_boundary(tx, account, b)?;
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, spec.tags)?;
    let rec = RoleRec {
        v: FORMAT,
        name: spec.name.to_owned(),
        id: format!("AROA{}", ids.upper_alnum(17)),
        path: spec.path.to_owned(),
        created_ms: now_ms,
        trust: spec.trust.to_owned(),
        description: spec.description.map(str::to_owned),
        max_session_s: spec.max_session_s,
        boundary: spec.boundary.map(str::to_owned),
        tags,
        source: None,
    };
    save_role(tx, account, &rec)?;
    set_boundary_index(
        tx,
        account,
        EntityKind::Role,
        spec.name,
        None,
        spec.boundary,
    )?;
    for arn in spec.attach {
        attach_in(tx, account, EntityKind::Role, spec.name, arn)?;
    }
    Ok(rec)
}

pub(crate) fn create_role(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateRoleRequest,
) -> Result<types::CreateRoleResponse, Failure> {
    let path = path_or_root(input.path.as_deref());
    let spec = NewRole {
        name: &input.role_name,
        path: &path,
        trust: &input.assume_role_policy_document,
        description: input.description.as_deref(),
        max_session_s: input
            .max_session_duration
            .map_or(DEFAULT_MAX_SESSION_S, i64::from),
        boundary: input.permissions_boundary.as_deref(),
        tags: input.tags.as_deref().unwrap_or_default(),
        attach: &[],
    };
    let rec = create_role_tx(tx, c.ids.as_ref(), c.now_ms, &c.account, &spec)?;
    let mut role = role_api(&c.account, &rec, true);
    // CreateRole's answer has no RoleLastUsed.
    role.role_last_used = None;
    Ok(types::CreateRoleResponse { role })
}

pub(crate) fn get_role(
    tx: &mut dyn Tx,
    c: &Ctx,
    name: &str,
) -> Result<types::GetRoleResponse, Failure> {
    let rec = require_role(tx, &c.account, name)?;
    Ok(types::GetRoleResponse {
        role: role_api(&c.account, &rec, true),
    })
}

pub(crate) fn list_roles(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListRolesRequest,
) -> Result<types::ListRolesResponse, Failure> {
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let all: Vec<(String, RoleRec)> = records::load_all(tx, ROLES, &format!("{}/", c.account))?;
    let items = all
        .into_iter()
        .filter(|(_, r)| r.path.starts_with(prefix))
        .map(|(k, r)| (k, role_api(&c.account, &r, false)))
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListRolesResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        roles: page.items,
    })
}

pub(crate) fn update_role(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateRoleRequest,
) -> Result<types::UpdateRoleResponse, Failure> {
    let mut rec = require_mutable_role(tx, &c.account, &input.role_name)?;
    if let Some(d) = &input.description {
        rec.description = Some(d.clone()).filter(|d| !d.is_empty());
    }
    if let Some(s) = input.max_session_duration {
        let s = i64::from(s);
        if !(DEFAULT_MAX_SESSION_S..=MAX_MAX_SESSION_S).contains(&s) {
            return Err(fail(
                Error::InvalidInputException,
                "The requested MaxSessionDuration is not valid.",
            ));
        }
        rec.max_session_s = s;
    }
    save_role(tx, &c.account, &rec)?;
    Ok(types::UpdateRoleResponse::default())
}

pub(crate) fn update_role_description(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateRoleDescriptionRequest,
) -> Result<types::UpdateRoleDescriptionResponse, Failure> {
    let mut rec = require_describable_role(tx, &c.account, &input.role_name)?;
    rec.description = Some(input.description.clone()).filter(|d| !d.is_empty());
    save_role(tx, &c.account, &rec)?;
    Ok(types::UpdateRoleDescriptionResponse {
        role: Some(role_api(&c.account, &rec, true)),
    })
}

pub(crate) fn update_assume_role_policy(
    tx: &mut dyn Tx,
    c: &Ctx,
    name: &str,
    document: &str,
) -> Result<(), Failure> {
    let mut rec = require_mutable_role(tx, &c.account, name)?;
    check_trust(
        &entity_arn(&c.account, EntityKind::Role, &rec.path, &rec.name),
        document,
    )?;
    rec.trust = document.to_owned();
    save_role(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn delete_role(tx: &mut dyn Tx, c: &Ctx, name: &str) -> Result<(), Failure> {
    let rec = require_mutable_role(tx, &c.account, name)?;
    if crate::instance_profiles::role_in_profile(tx, &c.account, name)? {
        return Err(delete_conflict("remove roles from instance profile"));
    }
    let (inline, attached) = owned_counts(tx, &c.account, EntityKind::Role, name)?;
    if attached > 0 {
        return Err(delete_conflict("detach all policies"));
    }
    if inline > 0 {
        return Err(delete_conflict("delete policies"));
    }
    set_boundary_index(
        tx,
        &c.account,
        EntityKind::Role,
        name,
        rec.boundary.as_deref(),
        None,
    )?;
    tx.delete(ROLES, entity_key(&c.account, name).as_bytes())?;
    Ok(())
}

pub(crate) fn tag_role(
    tx: &mut dyn Tx,
    c: &Ctx,
    name: &str,
    tags: &[types::Tag],
) -> Result<(), Failure> {
    let mut rec = require_mutable_role(tx, &c.account, name)?;
    merge_tags(&mut rec.tags, tags)?;
    save_role(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn untag_role(
    tx: &mut dyn Tx,
    c: &Ctx,
    name: &str,
    keys: &[String],
) -> Result<(), Failure> {
    let mut rec = require_mutable_role(tx, &c.account, name)?;
    remove_tags(&mut rec.tags, keys);
    save_role(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn list_role_tags(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListRoleTagsRequest,
) -> Result<types::ListRoleTagsResponse, Failure> {
    let rec = require_role(tx, &c.account, &input.role_name)?;
    let page = tag_page(&rec.tags, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListRoleTagsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        tags: page.items,
    })
}

pub(crate) fn set_role_boundary(
    tx: &mut dyn Tx,
    c: &Ctx,
    name: &str,
    boundary: Option<&str>,
) -> Result<(), Failure> {
    let mut rec = require_mutable_role(tx, &c.account, name)?;
    if let Some(b) = boundary {
        check_boundary(tx, &c.account, b)?;
    }
    set_boundary_index(
        tx,
        &c.account,
        EntityKind::Role,
        name,
        rec.boundary.as_deref(),
        boundary,
    )?;
    rec.boundary = boundary.map(str::to_owned);
    save_role(tx, &c.account, &rec)?;
    Ok(())
}
