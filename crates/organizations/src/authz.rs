//! What the authorize step needs from Organizations: where an account sits in its
//! organization (for `aws:PrincipalOrgID` / `aws:PrincipalOrgPaths` and the resource ARNs of
//! Organizations calls) and the SCPs that apply along that path.

use crate::model::{self, NodeKind};
use cairn_core::Failure;
use cairn_policy::PolicyKind;
use cairn_store::{StoreError, Tx};

/// Every Organizations mutation goes through here: `Call::write` (the change and its
/// CloudTrail record in one transaction), then, once committed, the generation moves — so no
/// handler can forget to invalidate the caches built on it (authorization's organization
/// context and resource tags, `DescribeOrganization`'s answers).
pub(crate) async fn write<R, F>(ctx: &cairn_core::Call, f: F) -> Result<R, cairn_wire::ApiError>
where
    R: serde::Serialize + Send + 'static,
    F: FnMut(&mut dyn Tx) -> Result<R, Failure> + Send + 'static,
{
    let out = ctx.write(f).await?;
    ctx.generations().orgs.bump();
    Ok(out)
}

/// A resource-ARN template variable that Organizations reads from the stored resource the
/// request names (`resolve: store` in the authorization catalogue), as `caller` sees it:
/// - a handshake's (`HandshakeId`) `HandshakeType` (its action, lower-cased: `invite`),
///   `OrganizationId` and owning `Account` (its organization's management account) — the
///   invitee of an invitation is not in that organization yet;
/// - a responsibility transfer's (`Id` / `ResourceId`) `TransferType` (`billing`) and
///   `TransferDirection` (`inbound` when the caller's organization receives it);
/// - `ResourcePolicyId`: the ID of the organization's resource policy, when it has one.
pub fn stored_var(
    tx: &mut dyn Tx,
    caller: &str,
    var: &str,
    input: &serde_json::Value,
) -> Result<Option<String>, StoreError> {
    stored_var_inner(tx, caller, var, input).map_err(from_failure)
}

fn stored_var_inner(
    tx: &mut dyn Tx,
    caller: &str,
    var: &str,
    input: &serde_json::Value,
) -> Result<Option<String>, Failure> {
    let member = |name: &str| input.get(name).and_then(serde_json::Value::as_str);
    match var {
        "HandshakeType" | "OrganizationId" | "Account" if member("HandshakeId").is_some() => {
            let Some(hs) = crate::hs::load(tx, member("HandshakeId").unwrap_or(""))? else {
                return Ok(None);
            };
            Ok(match var {
                "HandshakeType" => Some(hs.action.to_ascii_lowercase()),
                "OrganizationId" => Some(hs.org_id.clone()),
                _ => model::get_org(tx, &hs.org_id)?.map(|o| o.management_account_id),
            })
        }
        "TransferType" | "TransferDirection" => {
            let Some(id) = member("Id").or_else(|| member("ResourceId")) else {
                return Ok(None);
            };
            let Some(rec) = crate::transfers::load(tx, id)? else {
                return Ok(None);
            };
            Ok(Some(if var == "TransferType" {
                rec.transfer_type.to_ascii_lowercase()
            } else {
                let viewer = model::org_of(tx, caller)?;
                let inbound = viewer.is_some_and(|o| o.management_account_id == rec.target_account);
                String::from(if inbound { "inbound" } else { "outbound" })
            }))
        }
        "ResourcePolicyId" => {
            let Some(org) = model::org_of(tx, caller)? else {
                return Ok(None);
            };
            Ok(crate::delegation::resource_policy_id(tx, &org)?)
        }
        _ => Ok(None),
    }
}

pub use cairn_core::facts::OrgContext;

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

/// The entity `entity_path` names in organization `org_id` (see
/// [`cairn_core::ResourceFacts::org_entity`]): every ID must exist and be the parent of the
/// next, from the organization's root; a trailing `/` is allowed.
pub fn entity(
    tx: &mut dyn Tx,
    org_id: &str,
    entity_path: &str,
) -> Result<Option<cairn_core::OrgEntity>, StoreError> {
    entity_inner(tx, org_id, entity_path).map_err(from_failure)
}

fn entity_inner(
    tx: &mut dyn Tx,
    org_id: &str,
    entity_path: &str,
) -> Result<Option<cairn_core::OrgEntity>, Failure> {
    let Some(org) = model::get_org(tx, org_id)? else {
        return Ok(None);
    };
    let mut ids: Vec<&str> = entity_path
        .strip_suffix('/')
        .unwrap_or(entity_path)
        .split('/')
        .collect();
    if ids.first() != Some(&org.id.as_str()) || ids.len() < 2 {
        return Ok(None);
    }
    ids.remove(0);
    let Some(&node) = ids.last() else {
        return Ok(None);
    };
    // An account names itself only as the last ID: no node has an account as its parent.
    if !model::node_exists(tx, &org, node)? || model::path_to(tx, &org, node)? != ids {
        return Ok(None);
    }
    let scp_enabled = org.type_enabled("SERVICE_CONTROL_POLICY");
    let mut scp_levels = Vec::new();
    if scp_enabled {
        for id in &ids {
            let mut level = Vec::new();
            for p in model::attached_of_type(tx, &org, id, "SERVICE_CONTROL_POLICY")? {
                if let Some(parsed) =
                    cairn_iam::authz::parsed(&p.arn(&org), &p.content, PolicyKind::ServiceControl)
                {
                    level.push(parsed);
                }
            }
            scp_levels.push(level);
        }
    }
    // The subtree, breadth first; accounts sorted at the end.
    let mut accounts = Vec::new();
    let mut queue = std::collections::VecDeque::from([node.to_owned()]);
    while let Some(at) = queue.pop_front() {
        if NodeKind::of(&at) == Some(NodeKind::Account) {
            let path = format!("{}{at}", model::org_path(tx, &org, &at)?);
            accounts.push((at, path));
            continue;
        }
        queue.extend(model::children(tx, &org, &at, NodeKind::Ou)?);
        queue.extend(model::children(tx, &org, &at, NodeKind::Account)?);
    }
    accounts.sort();
    Ok(Some(cairn_core::OrgEntity {
        scp_enabled,
        scp_levels,
        accounts,
    }))
}

/// The policy `policy_id` of organization `org_id`: its type and parsed document.
pub fn policy(
    tx: &mut dyn Tx,
    org_id: &str,
    policy_id: &str,
) -> Result<Option<(String, std::sync::Arc<cairn_policy::Policy>)>, StoreError> {
    (|| {
        let Some(org) = model::get_org(tx, org_id)? else {
            return Ok(None);
        };
        let Some(p) = model::get_policy(tx, &org, policy_id)? else {
            return Ok(None);
        };
        let kind = match p.policy_type.as_str() {
            "SERVICE_CONTROL_POLICY" => PolicyKind::ServiceControl,
            "RESOURCE_CONTROL_POLICY" => PolicyKind::ResourceControl,
            // Other types (tag, backup, …) are not IAM policies: no document to evaluate.
            _ => return Ok(None),
        };
        Ok(cairn_iam::authz::parsed(&p.arn(&org), &p.content, kind).map(|d| (p.policy_type, d)))
    })()
    .map_err(from_failure)
}

/// The organization and resource ID an Organizations ARN names, when that resource can carry
/// tags (an account, OU, root or customer-managed policy).
fn tag_target(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:organizations::")?;
    let (_owner, resource) = rest.split_once(':')?;
    let mut parts = resource.split('/');
    let kind = parts.next()?;
    let org_id = parts.next()?;
    let id = parts.next_back()?;
    (matches!(kind, "account" | "ou" | "root" | "policy")
        && org_id.starts_with("o-")
        && !id.is_empty()
        && !id.contains('*'))
    .then_some((org_id, id))
}

/// Whether `arn` names an Organizations resource that carries tags.
pub fn is_taggable(arn: &str) -> bool {
    tag_target(arn).is_some()
}

/// The tags of the account, OU, root or policy `arn` names, for `aws:ResourceTag/*`; `None`
/// for other ARNs.
pub fn resource_tags(
    tx: &mut dyn Tx,
    arn: &str,
) -> Result<Option<Vec<(String, String)>>, StoreError> {
    let Some((org_id, id)) = tag_target(arn) else {
        return Ok(None);
    };
    let prefix = format!("{org_id}/{id}/");
    let mut tags = Vec::new();
    for (k, v) in tx.scan_prefix(model::TAGS, prefix.as_bytes(), false, usize::MAX)? {
        let (Ok(k), Ok(v)) = (String::from_utf8(k), String::from_utf8(v)) else {
            return Err(StoreError::Backend(
                "organization tag: not UTF-8".to_owned(),
            ));
        };
        tags.push((k.get(prefix.len()..).unwrap_or_default().to_owned(), v));
    }
    Ok(Some(tags))
}

/// Organizations' answers to the authorize step (see [`cairn_core::facts`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct OrgFacts;

/// The Organizations policy the input names (`PolicyId`, or a `ResourceId` that is one).
fn named_policy(
    tx: &mut dyn Tx,
    caller: &str,
    input: &serde_json::Value,
) -> Result<Option<model::AnyPolicy>, StoreError> {
    let Some(id) = ["PolicyId", "ResourceId"]
        .iter()
        .find_map(|m| input.get(*m).and_then(serde_json::Value::as_str))
        .filter(|id| id.starts_with("p-"))
    else {
        return Ok(None);
    };
    (|| match model::org_of(tx, caller)? {
        Some(org) => model::get_policy(tx, &org, id),
        None => Ok(None),
    })()
    .map_err(from_failure)
}

impl cairn_core::ResourceFacts for OrgFacts {
    fn service(&self) -> &'static str {
        "organizations"
    }

    fn owned_by_management(&self) -> bool {
        true
    }

    fn stored_var(
        &self,
        tx: &mut dyn Tx,
        caller: &str,
        var: &str,
        input: &serde_json::Value,
    ) -> Result<Option<String>, StoreError> {
        if var == "PolicyType" {
            // In ARNs the type is lower-cased: `policy/o-…/service_control_policy/p-…`.
            return Ok(named_policy(tx, caller, input)?.map(|p| p.policy_type.to_ascii_lowercase()));
        }
        stored_var(tx, caller, var, input)
    }

    fn names_aws_managed(
        &self,
        tx: &mut dyn Tx,
        caller: &str,
        input: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        Ok(named_policy(tx, caller, input)?.is_some_and(|p| p.aws_managed))
    }

    fn stored_condition_key(
        &self,
        tx: &mut dyn Tx,
        caller: &str,
        key: &str,
        input: &serde_json::Value,
    ) -> Result<Option<String>, StoreError> {
        if key == "organizations:PolicyType" {
            return Ok(named_policy(tx, caller, input)?.map(|p| p.policy_type));
        }
        Ok(None)
    }

    fn is_taggable(&self, arn: &str) -> bool {
        is_taggable(arn)
    }

    fn resource_tags(
        &self,
        tx: &mut dyn Tx,
        arn: &str,
    ) -> Result<Option<Vec<(String, String)>>, StoreError> {
        resource_tags(tx, arn)
    }

    fn organization(
        &self,
        tx: &mut dyn Tx,
        account: &str,
    ) -> Result<Option<OrgContext>, StoreError> {
        context(tx, account)
    }

    fn is_delegated_admin(
        &self,
        tx: &mut dyn Tx,
        account: &str,
        service_principal: &str,
    ) -> Result<bool, StoreError> {
        crate::delegation::is_delegated_admin(tx, account, service_principal).map_err(from_failure)
    }

    fn org_entity(
        &self,
        tx: &mut dyn Tx,
        org_id: &str,
        entity_path: &str,
    ) -> Result<Option<cairn_core::OrgEntity>, StoreError> {
        entity(tx, org_id, entity_path)
    }

    fn org_policy(
        &self,
        tx: &mut dyn Tx,
        org_id: &str,
        policy_id: &str,
    ) -> Result<Option<(String, std::sync::Arc<cairn_policy::Policy>)>, StoreError> {
        policy(tx, org_id, policy_id)
    }

    fn service_standing(
        &self,
        tx: &mut dyn Tx,
        account: &str,
        service_principal: &str,
    ) -> Result<Option<cairn_core::ServiceStanding>, StoreError> {
        crate::delegation::service_standing(tx, account, service_principal).map_err(from_failure)
    }
}
