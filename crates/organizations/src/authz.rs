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

    fn service_standing(
        &self,
        tx: &mut dyn Tx,
        account: &str,
        service_principal: &str,
    ) -> Result<Option<cairn_core::ServiceStanding>, StoreError> {
        crate::delegation::service_standing(tx, account, service_principal).map_err(from_failure)
    }
}
