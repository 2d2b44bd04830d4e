//! What the authorize step needs from Organizations: where an account sits in its
//! organization (for `aws:PrincipalOrgID` / `aws:PrincipalOrgPaths` and the resource ARNs of
//! Organizations calls) and the SCPs that apply along that path.

use crate::model::{self, NodeKind};
use cairn_core::Failure;
use cairn_policy::{Policy, PolicyKind};
use cairn_store::{StoreError, Tx};
use std::sync::Arc;

static GENERATION: cairn_core::Generation = cairn_core::Generation::new();

/// Bumped after every committed change to an organization's membership, structure,
/// policies, attachments or enabled policy types; caches of [`OrgContext`] (and
/// `DescribeOrganization`'s) compare it. See [`cairn_core::generation`].
pub fn generation() -> u64 {
    GENERATION.get()
}

/// Call after (never before) the transaction that changed the organization committed.
pub fn bump_generation() {
    GENERATION.bump();
}

/// An account's place in its organization.
#[derive(Debug, Clone)]
pub struct OrgContext {
    pub org_id: String,
    pub management_account_id: String,
    /// `aws:PrincipalOrgPaths` / `aws:ResourceOrgPaths` form: `o-…/r-…/ou-…/` (trailing `/`).
    pub path: String,
    /// SCPs by level, root first and the account last. Empty when SCPs do not apply: the
    /// management account, or an organization without the SCP policy type enabled.
    pub scp_levels: Vec<Vec<Arc<Policy>>>,
    /// RCPs by level, for resources this account owns; empty likewise (the management
    /// account, or RCPs not enabled).
    pub rcp_levels: Vec<Vec<Arc<Policy>>>,
}

fn from_failure(f: Failure) -> StoreError {
    StoreError::Backend(format!("organization lookup: {}", f.0))
}

/// The context of `account_id`, `None` when it belongs to no organization.
pub fn context(tx: &mut dyn Tx, account_id: &str) -> Result<Option<OrgContext>, StoreError> {
    let Some(org) = model::org_of(tx, account_id).map_err(from_failure)? else {
        return Ok(None);
    };
    let path = model::org_path(tx, &org, account_id).map_err(from_failure)?;
    let member = org.management_account_id != account_id;
    let mut scp_levels = Vec::new();
    let mut rcp_levels = Vec::new();
    for (policy_type, kind, levels) in [
        (
            "SERVICE_CONTROL_POLICY",
            PolicyKind::ServiceControl,
            &mut scp_levels,
        ),
        (
            "RESOURCE_CONTROL_POLICY",
            PolicyKind::ResourceControl,
            &mut rcp_levels,
        ),
    ] {
        if !member || !org.type_enabled(policy_type) {
            continue;
        }
        for node in model::path_to(tx, &org, account_id).map_err(from_failure)? {
            if NodeKind::of(&node).is_none() {
                continue;
            }
            let mut level = Vec::new();
            for p in model::attached_of_type(tx, &org, &node, policy_type).map_err(from_failure)? {
                if let Some(parsed) = cairn_iam::authz::parsed(&p.arn(&org), &p.content, kind) {
                    level.push(parsed);
                }
            }
            levels.push(level);
        }
    }
    Ok(Some(OrgContext {
        path,
        org_id: org.id,
        management_account_id: org.management_account_id,
        scp_levels,
        rcp_levels,
    }))
}
