//! Identity Center instances: the organization instance (enabled with trusted access, as the
//! console's "Enable" does) and account instances (`CreateInstance`), with their lifecycle
//! `CREATE_IN_PROGRESS` → `ACTIVE` → `DELETE_IN_PROGRESS` → gone, driven by the `sso.task`
//! job. Facts: `notes/sso-admin-facts.md` §1–2.

use crate::directory;
use crate::jobs::{self, Task};
use crate::model::{self, InstanceRec, Page, SSO_PRINCIPAL};
use cairn_api::sso_admin::{Error, types};
use cairn_core::{Failure, Ids, ResourceFacts, TrustedAccess, TrustedAccessEvent};
use cairn_store::Tx;
use cairn_wire::ApiError;

/// The service-linked role Identity Center creates (IAM Identity Center User Guide,
/// "Using service-linked roles").
pub const SLR_NAME: &str = "AWSServiceRoleForSSO";
pub const SLR_PATH: &str = "/aws-service-role/sso.amazonaws.com/";
const SLR_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sso.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

pub fn access_denied(message: impl Into<String>) -> Failure {
    Failure(ApiError::new(Error::AccessDeniedException, message))
}

pub fn validation(message: impl Into<String>) -> Failure {
    Failure(ApiError::new(Error::ValidationException, message))
}

pub fn conflict(message: impl Into<String>) -> Failure {
    Failure(ApiError::new(Error::ConflictException, message))
}

/// The instance an `InstanceArn` names, as `account` may administer it. `DescribeInstance`
/// and most operations declare no `ResourceNotFoundException`: an instance that does not
/// exist, or is not the caller's, is refused as AWS does after a deletion — access denied.
pub fn require_instance(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<InstanceRec, Failure> {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    let denied = || {
        access_denied(format!(
            "User is not authorized to access the instance {arn}, or it does not exist."
        ))
    };
    let Some(inst) = model::instance(tx, id)? else {
        return Err(denied());
    };
    if inst.arn() != arn || !model::may_administer(tx, orgs, &inst, account)? {
        return Err(denied());
    }
    Ok(inst)
}

/// Like [`require_instance`], and `ACTIVE` (AWS: while `CREATE_IN_PROGRESS`, only
/// `DescribeInstance` and `DeleteInstance` may be called).
pub fn require_active(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<InstanceRec, Failure> {
    let inst = require_instance(tx, orgs, account, arn)?;
    if inst.status != "ACTIVE" {
        return Err(conflict(format!(
            "The instance {arn} is {}; try again when it is ACTIVE.",
            inst.status
        )));
    }
    Ok(inst)
}

/// Creates the service-linked role in `account` unless it is there.
pub fn ensure_service_linked_role(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    account: &str,
) -> Result<(), Failure> {
    if cairn_iam::authz::role_by_name(tx, account, SLR_NAME)?.is_some() {
        return Ok(());
    }
    let attach: &[&str] = if cairn_iam::authz::managed_policy(tx, SLR_POLICY)?.is_some() {
        &[SLR_POLICY]
    } else {
        &[]
    };
    cairn_iam::authz::create_role_in(
        tx, ids, now_ms, account, SLR_NAME, SLR_PATH, SLR_TRUST, attach,
    )?;
    Ok(())
}

const SLR_POLICY: &str = "arn:aws:iam::aws:policy/aws-service-role/AWSSSOServiceRolePolicy";

/// Enabling trusted access for `sso.amazonaws.com` creates the organization's instance and
/// the service-linked role in the management account (Cairn's stand-in for the console's
/// "Enable IAM Identity Center", which has no API).
#[derive(Debug, Default)]
pub struct SsoTrustedAccess;

impl TrustedAccess for SsoTrustedAccess {
    fn service_principal(&self) -> &'static str {
        SSO_PRINCIPAL
    }

    fn enabled(&self, tx: &mut dyn Tx, ev: &TrustedAccessEvent<'_>) -> Result<(), Failure> {
        enable_organization_instance(
            tx,
            ev.ids,
            ev.now_ms,
            ev.management_account,
            ev.org_id,
            ev.region,
        )
        .map(|_| ())
    }

    fn account_left(&self, tx: &mut dyn Tx, org_id: &str, account: &str) -> Result<(), Failure> {
        let Some(mgmt) =
            cairn_organizations::model::get_org(tx, org_id)?.map(|o| o.management_account_id)
        else {
            return Ok(());
        };
        match model::instance_of_account(tx, &mgmt)? {
            Some(inst) if inst.org_id.as_deref() == Some(org_id) => {
                crate::assign::remove_account(tx, &inst, account)
            }
            _ => Ok(()),
        }
    }
}

/// The organization instance of `org_id` (created when missing), owned by its management
/// account. An account instance the management account already has stays as it is.
pub fn enable_organization_instance(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    management: &str,
    org_id: &str,
    region: &str,
) -> Result<InstanceRec, Failure> {
    if let Some(existing) = model::instance_of_account(tx, management)? {
        return Ok(existing);
    }
    let inst = model::new_instance(ids, now_ms, management, Some(org_id), region, None);
    model::save_instance(tx, &inst)?;
    ensure_service_linked_role(tx, ids, now_ms, management)?;
    jobs::enqueue(
        tx,
        now_ms,
        &Task::ActivateInstance {
            id: inst.id.clone(),
        },
    )?;
    Ok(inst)
}

pub fn create_instance(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    account: &str,
    region: &str,
    input: &types::CreateInstanceRequest,
) -> Result<types::CreateInstanceResponse, Failure> {
    if let Some(org) = cairn_organizations::org_of(tx, account)?
        && org.management_account_id == account
    {
        // Seen live (aws-controllers-k8s/test-infra#1063); the code is our reading [M].
        return Err(validation(
            "Organization management account is not allowed to perform the operation.",
        ));
    }
    if let Some(existing) = model::instance_of_account(tx, account)? {
        // Idempotent retry with the same client token.
        if input.client_token.is_some() && existing.client_token == input.client_token {
            return Ok(types::CreateInstanceResponse {
                instance_arn: Some(existing.arn()),
            });
        }
        return Err(conflict(
            "You are limited to one instance of IAM Identity Center per AWS account.",
        ));
    }
    let mut inst = model::new_instance(ids, now_ms, account, None, region, input.name.clone());
    inst.client_token = input.client_token.clone();
    inst.tags = crate::tags::merge(&[], input.tags.as_deref().unwrap_or_default())?;
    model::save_instance(tx, &inst)?;
    jobs::enqueue(
        tx,
        now_ms,
        &Task::ActivateInstance {
            id: inst.id.clone(),
        },
    )?;
    Ok(types::CreateInstanceResponse {
        instance_arn: Some(inst.arn()),
    })
}

fn created(inst: &InstanceRec) -> Option<cairn_wire::Timestamp> {
    Some(cairn_wire::Timestamp::from_millis(inst.created_ms))
}

pub fn describe_instance(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    input: &types::DescribeInstanceRequest,
) -> Result<types::DescribeInstanceResponse, Failure> {
    let inst = require_instance(tx, orgs, account, &input.instance_arn)?;
    Ok(types::DescribeInstanceResponse {
        created_date: created(&inst),
        identity_store_arn: Some(inst.store_arn()),
        identity_store_id: Some(inst.store_id.clone()),
        instance_arn: Some(inst.arn()),
        name: inst.name.clone(),
        owner_account_id: Some(inst.owner.clone()),
        permission_sets_enabled: Some(inst.org_id.is_some() || inst.permission_sets_enabled),
        primary_region: Some(inst.region.clone()),
        regions: Some(crate::regions::all(tx, &inst)?),
        status: types::InstanceStatus::from_wire(&inst.status),
        ..Default::default()
    })
}

pub fn list_instances(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    input: &types::ListInstancesRequest,
) -> Result<types::ListInstancesResponse, Failure> {
    let mut visible = Vec::new();
    for (_, raw) in tx.scan_prefix(model::INSTANCES, b"", false, usize::MAX)? {
        let inst: InstanceRec =
            serde_json::from_slice(&raw).map_err(|_| model::corrupt(model::INSTANCES))?;
        if model::may_administer(tx, orgs, &inst, account)? {
            visible.push(inst);
        }
    }
    // At most 10 per page (the model's InstanceList).
    let page = Page::with_default(
        format!("ListInstances/{account}"),
        input.next_token.as_deref(),
        input.max_results.map(|m| m.min(10)),
        10,
        || validation("The provided NextToken is not valid."),
    )?;
    let (items, next_token) = page.apply(visible, |i| i.id.clone());
    Ok(types::ListInstancesResponse {
        instances: Some(
            items
                .iter()
                .map(|inst| types::InstanceMetadata {
                    created_date: created(inst),
                    identity_store_arn: Some(inst.store_arn()),
                    identity_store_id: Some(inst.store_id.clone()),
                    instance_arn: Some(inst.arn()),
                    name: inst.name.clone(),
                    owner_account_id: Some(inst.owner.clone()),
                    primary_region: Some(inst.region.clone()),
                    status: types::InstanceStatus::from_wire(&inst.status),
                    ..Default::default()
                })
                .collect(),
        ),
        next_token,
    })
}

pub fn update_instance(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    input: &types::UpdateInstanceRequest,
) -> Result<types::UpdateInstanceResponse, Failure> {
    let mut inst = require_active(tx, orgs, account, &input.instance_arn)?;
    if inst.owner != account {
        return Err(access_denied(
            "Only the account that owns the instance can update it.",
        ));
    }
    let parts = [
        input.encryption_configuration.is_some(),
        input.permission_sets_enabled.is_some(),
        input.network_configuration.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if parts > 1 {
        return Err(validation(
            "Specify only one of EncryptionConfiguration, PermissionSetsEnabled and NetworkConfiguration.",
        ));
    }
    if let Some(enc) = &input.encryption_configuration {
        let customer = enc.key_type.as_str() == "CUSTOMER_MANAGED_KEY";
        if customer != enc.kms_key_arn.is_some() {
            return Err(validation(
                "KmsKeyArn is required when KeyType is CUSTOMER_MANAGED_KEY and cannot be specified when KeyType is AWS_OWNED_KMS_KEY.",
            ));
        }
    }
    if let Some(enabled) = input.permission_sets_enabled {
        if !enabled {
            return Err(validation(
                "PermissionSetsEnabled can only be set to true; permission sets cannot be disabled.",
            ));
        }
        inst.permission_sets_enabled = true;
    }
    if let Some(name) = &input.name {
        inst.name = Some(name.clone());
    }
    model::save_instance(tx, &inst)?;
    Ok(types::UpdateInstanceResponse {})
}

pub fn delete_instance(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    now_ms: i64,
    account: &str,
    input: &types::DeleteInstanceRequest,
) -> Result<types::DeleteInstanceResponse, Failure> {
    let mut inst = require_instance(tx, orgs, account, &input.instance_arn)?;
    if inst.owner != account {
        // API Reference: only the account that owns the instance can call this API.
        return Err(access_denied(
            "Only the account that owns the instance can delete it.",
        ));
    }
    if inst.status == "DELETE_IN_PROGRESS" {
        return Ok(types::DeleteInstanceResponse {});
    }
    inst.status = String::from("DELETE_IN_PROGRESS");
    model::save_instance(tx, &inst)?;
    jobs::enqueue(
        tx,
        now_ms,
        &Task::DeleteInstance {
            id: inst.id.clone(),
        },
    )?;
    Ok(types::DeleteInstanceResponse {})
}

/// The `ActivateInstance` step: `CREATE_IN_PROGRESS` → `ACTIVE`.
pub fn activate(tx: &mut dyn Tx, id: &str) -> Result<(), Failure> {
    if let Some(mut inst) = model::instance(tx, id)?
        && inst.status == "CREATE_IN_PROGRESS"
    {
        inst.status = String::from("ACTIVE");
        model::save_instance(tx, &inst)?;
    }
    Ok(())
}

/// The `DeleteInstance` step: everything the instance holds, then the instance. Returns
/// whether it is gone (a large directory is removed over several steps).
pub fn purge(tx: &mut dyn Tx, id: &str) -> Result<bool, Failure> {
    let Some(inst) = model::instance(tx, id)? else {
        return Ok(true);
    };
    let prefix = format!("{}/", inst.store_id);
    let mut budget = PURGE_BATCH;
    for space in directory::STORE_SPACES {
        let rows = tx.scan_prefix(space, prefix.as_bytes(), false, budget)?;
        budget = budget.saturating_sub(rows.len());
        for (k, _) in rows {
            tx.delete(space, &k)?;
        }
        if budget == 0 {
            return Ok(false);
        }
    }
    if !crate::admin::purge_instance(tx, &inst, &mut budget)? {
        return Ok(false);
    }
    tx.delete(directory::NETWORK, inst.store_id.as_bytes())?;
    model::remove_instance(tx, &inst)?;
    Ok(true)
}

/// Rows one purge step deletes at most.
const PURGE_BATCH: usize = 2_000;

/// The instance a taggable resource ARN names (`arn:…:sso:::instance/ssoins-…`), when it is
/// one.
fn tagged_instance(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<Option<InstanceRec>, Failure> {
    if !arn.contains(":instance/") {
        return Ok(None);
    }
    let inst = require_instance(tx, orgs, account, arn)?;
    Ok(Some(inst))
}

fn not_taggable(arn: &str) -> Failure {
    Failure(ApiError::new(
        Error::ResourceNotFoundException,
        format!("The resource {arn} does not exist."),
    ))
}

pub fn tag_resource(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    input: &types::TagResourceRequest,
) -> Result<types::TagResourceResponse, Failure> {
    let Some(mut inst) = tagged_instance(tx, orgs, account, &input.resource_arn)? else {
        return crate::admin::tag_resource(tx, orgs, account, input)
            .and_then(|done| done.ok_or_else(|| not_taggable(&input.resource_arn)));
    };
    inst.tags = crate::tags::merge(&inst.tags, &input.tags)?;
    model::save_instance(tx, &inst)?;
    Ok(types::TagResourceResponse {})
}

pub fn untag_resource(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    input: &types::UntagResourceRequest,
) -> Result<types::UntagResourceResponse, Failure> {
    let Some(mut inst) = tagged_instance(tx, orgs, account, &input.resource_arn)? else {
        return crate::admin::untag_resource(tx, orgs, account, input)
            .and_then(|done| done.ok_or_else(|| not_taggable(&input.resource_arn)));
    };
    inst.tags.retain(|(k, _)| !input.tag_keys.contains(k));
    model::save_instance(tx, &inst)?;
    Ok(types::UntagResourceResponse {})
}

pub fn list_tags_for_resource(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    input: &types::ListTagsForResourceRequest,
) -> Result<types::ListTagsForResourceResponse, Failure> {
    let tags = match tagged_instance(tx, orgs, account, &input.resource_arn)? {
        Some(inst) => inst.tags,
        None => crate::admin::resource_tags(tx, orgs, account, &input.resource_arn)?
            .ok_or_else(|| not_taggable(&input.resource_arn))?,
    };
    let page = Page::with_default(
        format!("ListTagsForResource/{account}/{}", input.resource_arn),
        input.next_token.as_deref(),
        None,
        50,
        || validation("The provided NextToken is not valid."),
    )?;
    let (items, next_token) = page.apply(tags, |(k, _)| k.clone());
    Ok(types::ListTagsForResourceResponse {
        next_token,
        tags: Some(crate::tags::api(&items)),
    })
}
