//! Organizational units and the tree: `CreateOrganizationalUnit`,
//! `DeleteOrganizationalUnit`, `DescribeOrganizationalUnit`, `UpdateOrganizationalUnit`,
//! `ListOrganizationalUnitsForParent`, `ListChildren`, `ListParents`.
//!
//! Rules (Organizations API reference and quotas page):
//! - OUs nest at most 5 levels below the root → `ConstraintViolationException`
//!   `OU_DEPTH_LIMIT_EXCEEDED`; at most 2,000 OUs → `OU_NUMBER_LIMIT_EXCEEDED`.
//! - OU names are unique among the OUs of one parent (exact, case-sensitive comparison [M])
//!   → `DuplicateOrganizationalUnitException`, on create and on rename.
//! - A new OU starts with the AWS-managed full-access policy of every enabled type that has
//!   one (`FullAWSAccess`, `RCPFullAWSAccess`).
//! - Only an empty OU (no accounts, no OUs) can be deleted; its attachments and tags go with it.
//! - Mutations: the management account only. Reads: the management account and delegated
//!   administrators.
//! - Lists are ordered by ID (stable across pages).

use crate::authz;
use crate::model::{
    self, NodeKind, Org, OuRec, Page, quota, require_management, require_management_or_delegated,
    require_org,
};
use cairn_api::organizations::{Error, types};
use cairn_core::{Call, Failure};
use cairn_store::Tx;
use cairn_wire::ApiError;

fn ou_not_found() -> Failure {
    Failure(ApiError::new(
        Error::OrganizationalUnitNotFoundException,
        "We can't find an OU with the OrganizationalUnitId that you specified.",
    ))
}

fn parent_not_found() -> Failure {
    Failure(ApiError::new(
        Error::ParentNotFoundException,
        "We can't find a root or OU with the ParentId that you specified.",
    ))
}

fn duplicate_ou() -> Failure {
    Failure(ApiError::new(
        Error::DuplicateOrganizationalUnitException,
        "An OU with the same name already exists.",
    ))
}

/// The `OrganizationalUnit` shape (with its `Path`, `o-…/r-…/ou-…/`).
pub(crate) fn ou_api(
    tx: &mut dyn Tx,
    org: &Org,
    ou: &OuRec,
) -> Result<types::OrganizationalUnit, Failure> {
    Ok(types::OrganizationalUnit {
        arn: Some(org.ou_arn(&ou.id)),
        id: Some(ou.id.clone()),
        name: Some(ou.name.clone()),
        path: Some(model::org_path(tx, org, &ou.id)?),
    })
}

/// The root or an existing OU, else `ParentNotFoundException`.
fn require_parent(tx: &mut dyn Tx, org: &Org, parent_id: &str) -> Result<(), Failure> {
    let ok = match NodeKind::of(parent_id) {
        Some(NodeKind::Root | NodeKind::Ou) => model::node_exists(tx, org, parent_id)?,
        _ => false,
    };
    if ok { Ok(()) } else { Err(parent_not_found()) }
}

fn require_ou(tx: &mut dyn Tx, org: &Org, ou_id: &str) -> Result<OuRec, Failure> {
    model::get_ou(tx, org, ou_id)?.ok_or_else(ou_not_found)
}

/// Whether an OU other than `except` under `parent` already has `name`.
fn sibling_named(
    tx: &mut dyn Tx,
    org: &Org,
    parent: &str,
    name: &str,
    except: Option<&str>,
) -> Result<bool, Failure> {
    for id in model::children(tx, org, parent, NodeKind::Ou)? {
        if Some(id.as_str()) == except {
            continue;
        }
        if let Some(ou) = model::get_ou(tx, org, &id)?
            && ou.name == name
        {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(crate) async fn create_organizational_unit(
    ctx: &Call,
    input: types::CreateOrganizationalUnitRequest,
) -> Result<types::CreateOrganizationalUnitResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    let ids = ctx.ids_arc();
    let now = ctx.now_ms();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        require_parent(tx, &org, &input.parent_id)?;
        // The parent's path has the root first: its length is the new OU's depth.
        let depth = model::path_to(tx, &org, &input.parent_id)?.len();
        if depth > quota::OU_DEPTH {
            return Err(model::constraint(
                "OU_DEPTH_LIMIT_EXCEEDED",
                "You attempted to create an OU tree that is too many levels deep. Creating this OU would exceed the max depth allowed.",
            ));
        }
        if usize::try_from(tx.count(model::OUS, format!("{}/", org.id).as_bytes())?)
            .unwrap_or(usize::MAX)
            >= quota::OUS
        {
            return Err(model::constraint(
                "OU_NUMBER_LIMIT_EXCEEDED",
                "You have exceeded the maximum number of OUs that you can have in an organization.",
            ));
        }
        if sibling_named(tx, &org, &input.parent_id, &input.name, None)? {
            return Err(duplicate_ou());
        }
        let mut id = model::new_ou_id(ids.as_ref(), &org.root_id);
        while model::get_ou(tx, &org, &id)?.is_some() {
            id = model::new_ou_id(ids.as_ref(), &org.root_id);
        }
        let rec = OuRec {
            v: model::FORMAT,
            id: id.clone(),
            name: input.name.clone(),
            created_ms: now,
        };
        model::put_ou(tx, &org, &rec)?;
        model::set_parent(tx, &org, &id, &input.parent_id)?;
        model::attach_defaults(tx, &org, &id)?;
        if let Some(tags) = &input.tags {
            crate::tags::put_tags(tx, &org, &id, tags)?;
        }
        Ok(types::CreateOrganizationalUnitResponse {
            organizational_unit: Some(ou_api(tx, &org, &rec)?),
        })
    })
    .await
}

pub(crate) async fn delete_organizational_unit(
    ctx: &Call,
    input: types::DeleteOrganizationalUnitRequest,
) -> Result<(), ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        let ou = require_ou(tx, &org, &input.organizational_unit_id)?;
        let prefix = format!("{}/{}/", org.id, ou.id);
        if tx.count(model::CHILDREN, prefix.as_bytes())? > 0 {
            return Err(Failure(ApiError::new(
                Error::OrganizationalUnitNotEmptyException,
                "The specified OU is not empty. Move all accounts to another root or OU, and remove all child OUs, and then try the operation again.",
            )));
        }
        model::forget_node(tx, &org, &ou.id)?;
        model::unlink(tx, &org, &ou.id)?;
        tx.delete(model::OUS, format!("{}/{}", org.id, ou.id).as_bytes())?;
        Ok(())
    })
    .await
}

pub(crate) async fn describe_organizational_unit(
    ctx: &Call,
    input: types::DescribeOrganizationalUnitRequest,
) -> Result<types::DescribeOrganizationalUnitResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        let ou = require_ou(tx, &org, &input.organizational_unit_id)?;
        Ok(types::DescribeOrganizationalUnitResponse {
            organizational_unit: Some(ou_api(tx, &org, &ou)?),
        })
    })
    .await
}

pub(crate) async fn update_organizational_unit(
    ctx: &Call,
    input: types::UpdateOrganizationalUnitRequest,
) -> Result<types::UpdateOrganizationalUnitResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        let mut ou = require_ou(tx, &org, &input.organizational_unit_id)?;
        if let Some(name) = &input.name
            && *name != ou.name
        {
            let parent =
                model::parent_of(tx, &org, &ou.id)?.ok_or_else(|| model::corrupt("tree"))?;
            if sibling_named(tx, &org, &parent, name, Some(&ou.id))? {
                return Err(duplicate_ou());
            }
            ou.name = name.clone();
            model::put_ou(tx, &org, &ou)?;
        }
        Ok(types::UpdateOrganizationalUnitResponse {
            organizational_unit: Some(ou_api(tx, &org, &ou)?),
        })
    })
    .await
}

pub(crate) async fn list_organizational_units_for_parent(
    ctx: &Call,
    input: types::ListOrganizationalUnitsForParentRequest,
) -> Result<types::ListOrganizationalUnitsForParentResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        let page = Page::new(
            format!(
                "ListOrganizationalUnitsForParent/{account_id}/{}",
                input.parent_id
            ),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        require_parent(tx, &org, &input.parent_id)?;
        let ids = model::children(tx, &org, &input.parent_id, NodeKind::Ou)?;
        let (ids, next_token) = page.apply(ids, Clone::clone);
        let mut ous = Vec::with_capacity(ids.len());
        for id in ids {
            let ou = model::get_ou(tx, &org, &id)?.ok_or_else(|| model::corrupt("tree"))?;
            ous.push(ou_api(tx, &org, &ou)?);
        }
        Ok(types::ListOrganizationalUnitsForParentResponse {
            next_token,
            organizational_units: Some(ous),
        })
    })
    .await
}

pub(crate) async fn list_children(
    ctx: &Call,
    input: types::ListChildrenRequest,
) -> Result<types::ListChildrenResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        let page = Page::new(
            format!(
                "ListChildren/{account_id}/{}/{}",
                input.parent_id,
                input.child_type.as_str()
            ),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        require_parent(tx, &org, &input.parent_id)?;
        let kind = match input.child_type {
            types::ChildType::Account => NodeKind::Account,
            types::ChildType::OrganizationalUnit => NodeKind::Ou,
        };
        let ids = model::children(tx, &org, &input.parent_id, kind)?;
        let (ids, next_token) = page.apply(ids, Clone::clone);
        Ok(types::ListChildrenResponse {
            children: Some(
                ids.into_iter()
                    .map(|id| types::Child {
                        id: Some(id),
                        r#type: Some(input.child_type),
                    })
                    .collect(),
            ),
            next_token,
        })
    })
    .await
}

pub(crate) async fn list_parents(
    ctx: &Call,
    input: types::ListParentsRequest,
) -> Result<types::ListParentsResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        let page = Page::new(
            format!("ListParents/{account_id}/{}", input.child_id),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let child_ok = matches!(
            NodeKind::of(&input.child_id),
            Some(NodeKind::Ou | NodeKind::Account)
        ) && model::node_exists(tx, &org, &input.child_id)?;
        let parent = if child_ok {
            model::parent_of(tx, &org, &input.child_id)?
        } else {
            None
        };
        let Some(parent) = parent else {
            return Err(Failure(ApiError::new(
                Error::ChildNotFoundException,
                "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
            )));
        };
        let r#type = if parent == org.root_id {
            types::ParentType::Root
        } else {
            types::ParentType::OrganizationalUnit
        };
        let (parents, next_token) = page.apply(vec![parent], Clone::clone);
        Ok(types::ListParentsResponse {
            next_token,
            parents: Some(
                parents
                    .into_iter()
                    .map(|id| types::Parent {
                        id: Some(id),
                        r#type: Some(r#type),
                    })
                    .collect(),
            ),
        })
    })
    .await
}
