//! Tags on the resources beyond instances (permission sets, applications, trusted token
//! issuers), and what an instance's deletion removes beyond its directory.

use crate::model::InstanceRec;
use crate::{abac, apps, assign, permsets, regions, tags, tti};
use cairn_api::sso_admin::types;
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;

/// Removes what `inst` holds beyond its directory, within `budget` rows; `true` when done.
pub fn purge_instance(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    budget: &mut usize,
) -> Result<bool, Failure> {
    if !(assign::purge(tx, inst, budget)?
        && permsets::purge(tx, inst, budget)?
        && tti::purge(tx, inst, budget)?
        && apps::purge(tx, inst, budget)?)
    {
        return Ok(false);
    }
    abac::purge(tx, inst)?;
    regions::purge(tx, inst)?;
    Ok(true)
}

fn current_tags(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<Option<Vec<(String, String)>>, Failure> {
    if arn.contains(":permissionSet/") {
        permsets::resource_tags(tx, orgs, account, arn)
    } else if arn.contains(":trustedTokenIssuer/") {
        tti::resource_tags(tx, orgs, account, arn)
    } else {
        apps::resource_tags(tx, orgs, account, arn)
    }
}

fn set_tags(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
    tags: &[(String, String)],
) -> Result<Option<()>, Failure> {
    if arn.contains(":permissionSet/") {
        permsets::set_resource_tags(tx, orgs, account, arn, tags)
    } else if arn.contains(":trustedTokenIssuer/") {
        tti::set_resource_tags(tx, orgs, account, arn, tags)
    } else {
        apps::set_resource_tags(tx, orgs, account, arn, tags)
    }
}

/// Tags a permission set, application or trusted token issuer; `None` when the ARN names
/// none of them.
pub fn tag_resource(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    input: &types::TagResourceRequest,
) -> Result<Option<types::TagResourceResponse>, Failure> {
    let Some(old) = current_tags(tx, orgs, account, &input.resource_arn)? else {
        return Ok(None);
    };
    let new = tags::merge(&old, &input.tags)?;
    Ok(set_tags(tx, orgs, account, &input.resource_arn, &new)?
        .map(|()| types::TagResourceResponse {}))
}

pub fn untag_resource(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    input: &types::UntagResourceRequest,
) -> Result<Option<types::UntagResourceResponse>, Failure> {
    let Some(mut tags) = current_tags(tx, orgs, account, &input.resource_arn)? else {
        return Ok(None);
    };
    tags.retain(|(k, _)| !input.tag_keys.contains(k));
    Ok(set_tags(tx, orgs, account, &input.resource_arn, &tags)?
        .map(|()| types::UntagResourceResponse {}))
}

pub fn resource_tags(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<Option<Vec<(String, String)>>, Failure> {
    current_tags(tx, orgs, account, arn)
}

/// A user or group was deleted from `inst`'s directory: its account assignments (and the
/// roles where it was the last) and application assignments go with it.
pub fn remove_principal(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    now_ms: i64,
    principal_type: &str,
    principal_id: &str,
) -> Result<(), Failure> {
    assign::remove_principal(tx, inst, now_ms, principal_type, principal_id)?;
    apps::remove_principal(tx, inst, principal_type, principal_id)
}
